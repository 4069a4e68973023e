"""A programme of audits: starting a round from an earlier one, and the earlier round read back.

- `start_round(new, old)` (`case-audit init NEW --from OLD`) copies the earlier
  round's cycle workbook and keeps its toolkit (priority areas, KLOEs, standards
  with their wording and 'In this round' marks, rating scale, counting rule),
  its agencies and contacts, and its open actions (learning and agency): each
  keeps its action ID and the round that raised it, with its latest status and
  progress from the progress forms received (read from a copy of the earlier
  store); completed actions are not carried. Cases, children's
  names, learning-event rows, returns and forms are never copied: the Cases
  sheet keeps its headings only, and every text carried is checked for the
  earlier round's children's names (`child_names`) and any name taken out.
- `previous_round(ws, cycle)` reads the round named by Settings 'Previous
  round': its cycle workbook and its record store, read from a copy (the
  earlier workspace is never written, not even its caches), and computes its
  findings. A missing or unreadable one is a warning, never a failure.
- `wording_changes(current, previous)`: which standards were reworded.

The comparison figures themselves are in `pipeline/comparison.py`.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from .models import Cycle
from .problems import CaseAuditError, ProblemReport
from .workspace import CYCLE_WORKBOOK, Workspace, atomic_write_bytes, init_workspace

CYCLE_REF = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass
class CarryResult:
    """What `init --from` did: the new workspace, what it carried and what the officer must fill in."""

    workspace: Workspace
    previous: Path
    previous_setting: str  # as written in the new workbook's Settings
    carried: list[str] = field(default_factory=list)
    to_fill_in: list[str] = field(default_factory=list)
    problems: ProblemReport = field(default_factory=ProblemReport)


def start_round(new_folder: Path | str, old_folder: Path | str) -> CarryResult:
    """Start a round in `new_folder` from the earlier round in `old_folder` (which is only read)."""
    from .actions import latest_updates
    from .carry import carried_rows
    from .carry_workbook import carried_workbook
    from .workbook import AGENCY_ACTIONS, LEARNING_ACTIONS, read_cycle

    old = Path(old_folder).resolve()
    if not (old / CYCLE_WORKBOOK).is_file():
        raise CaseAuditError.single("init.from-not-a-workspace", folder=old, file=old)
    read = read_cycle(old / CYCLE_WORKBOOK)
    if read.cycle is None or not read.report.ok:
        raise CaseAuditError.single("init.from-unreadable", folder=old, count=max(len(read.report.errors), 1),
                                    file=old / CYCLE_WORKBOOK)
    ws = init_workspace(new_folder)
    setting = relative_folder(old, ws.root)
    updates = latest_updates(_progress_from_store_copy(Workspace(old).store_path, read.cycle))
    actions = carried_rows(read.cycle, updates)
    for number, row in enumerate(actions[LEARNING_ACTIONS], start=1):  # Table 1 numbered afresh; IDs kept
        row["number"] = number
    learning, agency_actions = actions[LEARNING_ACTIONS], actions[AGENCY_ACTIONS]
    result = CarryResult(ws, old, setting)
    new_id, new_name = next_cycle(read.cycle.settings.cycle_id, read.cycle.settings.cycle_name)
    data = carried_workbook((old / CYCLE_WORKBOOK).read_bytes(), read.cycle, actions=actions,
                            settings={"cycle_id": new_id, "cycle_name": new_name, "return_deadline": None,
                                      "round_name": None, "theme": None, "previous_round": setting},
                            problems=result.problems)
    atomic_write_bytes(ws.cycle_path, data)
    c = read.cycle
    in_round = c.in_round()
    result.carried = [
        f"the toolkit: {len(c.priority_areas)} priority area(s), {len(c.kloes)} KLOE(s) and {len(c.standards)} "
        f"standard(s) with their wording ({len(in_round.standards)} marked in the round), the rating scale and "
        f"the '{c.settings.counting_rule.value}' counting rule",
        f"{len(c.agencies)} agencies with their contacts and secure emails",
        f"{len(learning)} open learning action(s) and {len(agency_actions)} open agency action(s), each with its "
        "action ID, owner, due date, round raised and latest status and progress (completed ones are not carried)",
        f"Previous round: {setting} (Settings sheet; compared in the report, followed by 'case-audit trend')",
    ]
    result.to_fill_in = [
        "the cases: one row each on the Cases sheet (none are carried; nor are children's names, returns or forms)",
        "the return deadline (Settings)",
        "the round's name, and its theme if it has one (Settings)",
        f"the cycle reference and name: set to {new_id} / {new_name}; change them if this round is not that year",
        "which KLOEs and standards this round asks about: 'In this round' on the KLOEs and Standards sheets",
        "the learning-event sheets, after this round's event",
    ]
    return result


def relative_folder(target: Path, start: Path) -> str:
    """`target` as the Settings sheet holds it: relative to `start`, forward slashes (absolute across drives)."""
    try:
        return Path(os.path.relpath(target, start)).as_posix()
    except ValueError:  # another drive on Windows
        return target.as_posix()


def next_cycle(cycle_id: str, cycle_name: str) -> tuple[str, str]:
    """2015-16 / 2015-2016 -> 2016-17 / 2016-2017; any other reference gets '-next' to be replaced."""
    m = CYCLE_REF.match(cycle_id)
    if m:
        y = int(m.group(1)) + 1
        return f"{y}-{(y + 1) % 100:02d}", f"{y}-{y + 1}"
    return f"{cycle_id}-next"[:30], f"{cycle_name} (next round)"


# --- the previous round, read back ------------------------------------------------------------


@dataclass
class PreviousRound:
    """An earlier round as this one compares with it: its workspace, its cycle (as it asked it), its findings."""

    root: Path
    cycle: Cycle
    findings: Any  # findings.Findings


def previous_folder(ws: Workspace, cycle: Cycle) -> Optional[Path]:
    setting = cycle.settings.previous_round.strip()
    if not setting:
        return None
    path = Path(setting)
    return (path if path.is_absolute() else ws.root / path).resolve()


def read_round(root: Path, problems: ProblemReport, *, figures: bool = True) -> Optional[PreviousRound]:
    """The round in `root`, read without writing anything there; None (with a warning) when it cannot be.

    `figures=False` reads its cycle workbook only (its findings are then None)."""
    from .findings import compute_findings
    from .workbook import load_cycle

    root = Path(root)
    if not (root / CYCLE_WORKBOOK).is_file():
        problems.add("round.previous-missing", folder=root, file=root)
        return None
    try:
        cycle = load_cycle(root / CYCLE_WORKBOOK)  # not the cached load: that would write into the old workspace
        findings = None
        if figures:
            store_path = Workspace(root).store_path
            returns, summaries, issued = [], [], []
            if store_path.is_file():
                returns, summaries, issued = _read_store_copy(store_path, cycle)
            findings = compute_findings(cycle, returns, summaries, issued)
    except CaseAuditError as exc:
        problems.add("round.previous-unreadable", folder=root, reason=exc.summary, file=root)
        return None
    except Exception as exc:  # a damaged store or workbook there must not stop this round
        problems.add("round.previous-unreadable", folder=root, reason=f"{type(exc).__name__}: {exc}"[:160],
                     file=root)
        return None
    return PreviousRound(root, cycle, findings)


def _read_store_copy(store_path: Path, cycle: Cycle):
    """Returns, summaries and issued forms from a copy of the store: opening the store itself could upgrade it."""
    return _from_store_copy(store_path, lambda store: (
        list(store.current_audit_returns(cycle)), list(store.current_summary_returns()), list(store.issued_forms())))


def _progress_from_store_copy(store_path: Path, cycle: Cycle) -> list:
    """The earlier round's progress returns (none without a store), read from a copy as `_read_store_copy` does."""
    if not store_path.is_file():
        return []
    return _from_store_copy(store_path, lambda store: store.progress_returns(cycle.settings.cycle_id))


def _from_store_copy(store_path: Path, read: Callable[[Any], Any]) -> Any:
    from .store import Store

    with tempfile.TemporaryDirectory(prefix="case-audit-previous-") as tmp:
        copy = Path(tmp) / store_path.name
        shutil.copyfile(store_path, copy)
        store = Store.open(copy)
        try:
            return read(store)
        finally:
            store.close()


def previous_round(ws: Workspace, cycle: Cycle, problems: ProblemReport, *,
                   figures: bool = True) -> Optional[PreviousRound]:
    """The round Settings 'Previous round' names, or None (nothing set, or a warning in `problems`)."""
    folder = previous_folder(ws, cycle)
    if folder is None:
        return None
    if folder == ws.root:
        problems.add("trend.chain-loop", folder=folder, file=folder)
        return None
    return read_round(folder, problems, figures=figures)


def round_label(cycle: Cycle) -> str:
    """How a round is named beside its figures: its cycle reference ('2015-16')."""
    return cycle.settings.cycle_id


def wording_changes(current: Cycle, previous: Cycle) -> list[int]:
    """Numbers of the standards in both rounds whose wording changed (spacing aside)."""
    before = {s.number: s.identity for s in previous.standards}
    return [s.number for s in current.standards if s.number in before and before[s.number] != s.identity]


def check_against_previous(ws: Workspace, cycle: Cycle) -> ProblemReport:
    """What `check` says about the previous round: not found, reworded standards, a changed counting rule."""
    problems = ProblemReport()
    previous = previous_round(ws, cycle, problems, figures=False)
    if previous is None:
        return problems
    label = f"the previous round ({round_label(previous.cycle)})"
    for number in wording_changes(cycle.in_round(), previous.cycle):
        problems.add("round.standard-reworded", number=number, previous=label,
                     location=f"Standards, standard {number}")
    if previous.cycle.settings.counting_rule is not cycle.settings.counting_rule:
        problems.add("round.counting-rule-changed", now=cycle.settings.counting_rule.value, previous=label,
                     then=previous.cycle.settings.counting_rule.value, location="Settings, Counting rule")
    return problems

