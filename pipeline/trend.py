"""`case-audit trend`: every round of the programme, standard by standard, in outbox/trend.xlsx.

Follows the chain of previous rounds (Settings 'Previous round', each round's
own setting leading to the one before) from this workspace back; a missing or
unreadable round, or a loop, stops the chain with a warning, never a failure.
Earlier rounds are read without writing anything in their workspaces.

trend.xlsx: sheet 'Trend', one row per standard (number and wording: a
reworded standard is a row of its own), one column group per round, oldest
first (cases meeting / cases audited / %); sheet 'Charts', a native Excel line
chart per KLOE of the share of cases meeting each standard, round by round,
beside the figures it is drawn from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Optional

from .findings import percent
from .models import Cycle
from .problems import ProblemReport
from .workspace import Workspace, atomic_write_bytes

TREND_NAME = "trend.xlsx"


@dataclass
class TrendRound:
    label: str  # the cycle reference
    name: str  # the round's name (may be blank)
    root: Path
    cells: dict[str, tuple[int, int]]  # standard identity -> (cases meeting, cases audited)


@dataclass
class TrendRow:
    number: int
    kloe: int
    identity: str
    finding: str
    label: str


@dataclass
class TrendResult:
    path: Path
    rounds: list[TrendRound]  # oldest first
    rows: list[TrendRow]
    problems: ProblemReport = field(default_factory=ProblemReport)

    def table(self) -> list[str]:
        """A short table for the terminal: each standard's % per round."""
        head = f"{'Standard':<24}" + "".join(f"{r.label:>12}" for r in self.rounds)
        lines = [head]
        for row in self.rows:
            cells = []
            for r in self.rounds:
                got = r.cells.get(row.identity)
                cells.append(f"{percent(*got)}% ({got[0]}/{got[1]})" if got and got[1] else "-")
            lines.append(f"{row.label:<24}" + "".join(f"{c:>12}" for c in cells))
        return lines


def _round_of(root: Path, cycle: Cycle, findings) -> TrendRound:
    cells = {}
    for s in cycle.standards:
        try:
            f = findings.standard(s.number)
        except KeyError:
            continue
        cells[s.identity] = (f.cases_met, f.cases_assessed)
    return TrendRound(cycle.settings.cycle_id, cycle.settings.round_name, root, cells)


def chain(ws: Workspace, cycle: Cycle, problems: ProblemReport) -> list[tuple[TrendRound, Cycle]]:
    """This round and every earlier one reachable, oldest first."""
    from .findings import compute_findings
    from .rounds import previous_folder, read_round
    from .store import Store

    with ws.lock():
        store = Store.open(ws.store_path)
        try:
            findings = compute_findings(cycle, store.current_audit_returns(cycle), store.current_summary_returns(),
                                        store.issued_forms())
        finally:
            store.close()
    found = [(_round_of(ws.root, cycle, findings), cycle)]
    seen = {ws.root.resolve()}
    here, here_cycle = ws.root, cycle
    while True:
        folder = previous_folder(Workspace(here), here_cycle)
        if folder is None:
            break
        if folder in seen:
            problems.add("trend.chain-loop", folder=folder, file=folder)
            break
        seen.add(folder)
        earlier = read_round(folder, problems)
        if earlier is None:
            break
        found.append((_round_of(folder, earlier.cycle, earlier.findings), earlier.cycle))
        here, here_cycle = folder, earlier.cycle
    return list(reversed(found))


def _rows(rounds: list[tuple[TrendRound, Cycle]]) -> list[TrendRow]:
    rows: dict[str, TrendRow] = {}
    numbers_seen: dict[int, int] = {}
    for r, cycle in rounds:
        for s in cycle.standards:
            if s.identity in rows:
                continue
            numbers_seen[s.number] = numbers_seen.get(s.number, 0) + 1
            label = f"Standard {s.number}" + (f" (as worded in {r.label})" if numbers_seen[s.number] > 1 else "")
            rows[s.identity] = TrendRow(s.number, s.kloe, s.identity, s.finding_met, label)
    return sorted(rows.values(), key=lambda row: (row.number, list(rows).index(row.identity)))


def write_trend(ws: Workspace, cycle: Cycle) -> TrendResult:
    """Write outbox/trend.xlsx for this round and the rounds before it; what was written and any warnings."""
    problems = ProblemReport()
    rounds = chain(ws, cycle, problems)
    rows = _rows(rounds)
    result = TrendResult(ws.outbox / TREND_NAME, [r for r, _ in rounds], rows, problems)
    from .trend_workbook import trend_workbook

    book = trend_workbook(result)
    buf = BytesIO()
    book.save(buf)
    ws.outbox.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(result.path, buf.getvalue())
    return result


def previous_label(result: TrendResult) -> Optional[str]:
    return result.rounds[-2].label if len(result.rounds) > 1 else None
