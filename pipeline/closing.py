"""Closing a round (issue 16): remove its personal data on the board's schedule, keep every figure, keep a record.

`close_round` is one library call for `case-audit close`. Without `confirm` it
only plans: the files it would remove (path, size, sha256), the files it keeps
and what it would change, and what would stop it. With `confirm` it acts on
exactly that plan:

- removes the files that name children: issued forms (outbox/forms), returned
  files (everything under inbox/, the processed and rejected ones included),
  the archive's originals, feedback notes, status.xlsx, staging and temporary
  files, and the caches under .case-audit/ (cycle.json holds the names; the
  charts and the results digest are worked out again when needed);
- scrubs every text in the store with `child_names.redact` (the one matcher,
  folded as the privacy guard folds), then VACUUMs it so no old page lingers;
- rebuilds results.xlsx from the scrubbed store, scrubs and rebuilds the
  learning log, scrubs any other workbook kept under outbox/;
- replaces each child's name in cycle.xlsx with "[removed]" (case references
  stay, so every figure, table and later comparison still reads the round);
- writes outbox/closure-record.xlsx and closes the store's closure row: when,
  by whom, the retention decision, each removed file's path, size and sha256.

One transaction from the officer's point of view: the closure row is written
first as a journal (state 'closing'), and the round counts as closed only when
the last step marks it 'closed'. Every step can be done again, and the names
are needed only by steps done before cycle.xlsx loses them (it is replaced
last), so after a kill the next `close --confirm` finishes the job. While a
closure is unfinished, as after it, `generate-forms` and `ingest` refuse.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import io
import os
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Optional

from .child_names import NameTerms, name_terms, redact
from .problems import CaseAuditError, Problem, ProblemReport, Severity
from .store import Store
from .workspace import Workspace, atomic_write_bytes, replace_or_explain

if TYPE_CHECKING:  # `status` reads the retention date from the plain kept cycle, without pydantic
    from .models import Cycle

REMOVED_NAME = "[removed]"  # what a child's name becomes in cycle.xlsx
RECORD_NAME = "closure-record.xlsx"
CLOSING_DIR = "closing"  # .case-audit/closing/: the scrubbed cycle workbook until it replaces cycle.xlsx
CACHES = ("cycle.json", "results.digest")  # files under .case-audit/ that are worked out again when needed
CACHE_DIRS = ("charts", "staging", "tmp")  # folders under .case-audit/ emptied
KEPT_STATE = {"store.sqlite3", "workspace.lock", "workspace.lock.holder"}


@dataclass(frozen=True)
class RemovedFile:
    """One removed file as the record shows it: no content, and no child's name even in its path."""

    path: str
    size: int
    sha256: str


@dataclass
class CloseResult:
    """The plan (dry run), or what was done (`confirmed`); `problems` holds what stops it."""

    confirmed: bool
    remove: list[str] = field(default_factory=list)  # workspace-relative paths, as they are on disk
    record_files: list[RemovedFile] = field(default_factory=list)
    keep: list[str] = field(default_factory=list)
    change: list[str] = field(default_factory=list)
    problems: ProblemReport = field(default_factory=ProblemReport)
    resumed: bool = False  # a closure a killed run started was finished
    already_closed: Optional[dict] = None  # the store's closure row when the round was closed before
    record_path: Optional[Path] = None
    closed_at: Optional[str] = None

    @property
    def refused(self) -> bool:
        return not self.problems.ok


# --- the library call -----------------------------------------------------------------------


def close_round(ws: Workspace, cycle: Cycle, *, confirm: bool = False, force: bool = False,
                now_reason: Optional[str] = None, by: str = "", today: Optional[date] = None) -> CloseResult:
    """Plan closing the round, and with `confirm` do it (raises CaseAuditError, changing nothing, when refused)."""
    today = today or date.today()
    with ws.lock():
        with contextlib.closing(Store.open(ws.store_path)) as store:
            closure = store.closure()
            if closure is not None and closure["state"] == "closed":
                return CloseResult(confirmed=confirm, already_closed=closure,
                                   record_path=ws.outbox / RECORD_NAME)
            resumed = closure is not None
            result = plan_closing(ws, cycle, store, force=force, now_reason=now_reason, today=today,
                                  refusals=not resumed)
            result.confirmed, result.resumed = confirm, resumed
            if not confirm:
                return result
            if result.refused:
                raise CaseAuditError("The round was not closed: nothing was removed or changed.", result.problems)
            fields = _closure_fields(cycle, by=by, now_reason=now_reason, force=force, store=store)
            _act(ws, cycle, store, result, closure, fields)
            return result


def plan_closing(ws: Workspace, cycle: Cycle, store: Store, *, force: bool, now_reason: Optional[str], today: date,
                 refusals: bool = True) -> CloseResult:
    """What closing would remove, keep and change, and (unless resuming) what stops it."""
    terms = name_terms(cycle)
    result = CloseResult(confirmed=False)
    if refusals:
        result.problems.extend(_refusals(ws, cycle, store, force=force, now_reason=now_reason, today=today))
    removing = files_to_remove(ws)
    result.remove = [ws.relative(p) for p in removing]
    result.record_files = [_record_entry(ws, p, terms) for p in removing]
    gone = set(removing)
    result.keep = [ws.relative(p) for p in _all_files(ws.root) if p not in gone and not _transient(ws, p)]
    result.change = _changes(ws, cycle, store, terms)
    return result


def _changes(ws: Workspace, cycle: Cycle, store: Store, terms: NameTerms) -> list[str]:
    named = sum(1 for c in cycle.cases if c.child_name.strip() != REMOVED_NAME)
    texts = store.scrub_texts(lambda t: redact(t, terms), keep=False)
    changes = [f"{ws.cycle_path.name}: {named} child's name(s) replaced with {REMOVED_NAME} (case references kept)",
               f"record store: {texts} text(s) naming a child scrubbed (folded matching, as the privacy guard), "
               "then compacted so no old text is left in the file"]
    if ws.results_path.is_file() or store.received_files():
        changes.append(f"{ws.relative(ws.results_path)}: rebuilt from the scrubbed store")
    if ws.learning_log_path.is_file():
        changes.append(f"{ws.relative(ws.learning_log_path)}: names scrubbed, then rebuilt from the closed workbook")
    for path in _other_workbooks(ws):
        changes.append(f"{ws.relative(path)}: names scrubbed cell by cell")
    changes.append(f"{ws.relative(ws.outbox / RECORD_NAME)}: written (what was removed, when, by whom, why)")
    return changes


# --- what goes --------------------------------------------------------------------------------


def files_to_remove(ws: Workspace) -> list[Path]:
    """Every file that names (or may name) a child and is not kept, sorted: the dry run and the confirmed run alike."""
    found: list[Path] = []
    for folder in (ws.forms_dir, ws.feedback_dir, ws.inbox, ws.archive_dir,
                   *(ws.state_dir / d for d in CACHE_DIRS)):
        found += _all_files(folder)
    for path in (ws.outbox / "status.xlsx", *(ws.state_dir / c for c in CACHES)):
        if path.is_file():
            found.append(path)
    found += [p for p in ws.outbox.glob(".~tmp-*") if p.is_file()]
    return sorted(dict.fromkeys(found), key=lambda p: ws.relative(p))


def _all_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _transient(ws: Workspace, path: Path) -> bool:
    """Files that are neither kept nor removed: the lock, and the closure's own work folder."""
    rel = path.relative_to(ws.root).parts
    return rel[0] == ws.state_dir.name and (rel[1] in KEPT_STATE - {"store.sqlite3"} or rel[1] == CLOSING_DIR)


def _record_entry(ws: Workspace, path: Path, terms: NameTerms) -> RemovedFile:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return RemovedFile(path=redact(ws.relative(path), terms), size=path.stat().st_size, sha256=h.hexdigest())


def _other_workbooks(ws: Workspace) -> list[Path]:
    """Workbooks kept under outbox/ besides results, the learning log and the record (e.g. a learning-log backup)."""
    own = {ws.results_path, ws.learning_log_path, ws.outbox / RECORD_NAME, ws.outbox / "status.xlsx"}
    removed = {ws.forms_dir, ws.feedback_dir}
    return sorted(p for p in ws.outbox.rglob("*.xlsx")
                  if p.is_file() and p not in own and not any(f in p.parents for f in removed)
                  and not p.name.startswith((".~", "~$")))


# --- what stops it ------------------------------------------------------------------------------


def _refusals(ws: Workspace, cycle: Cycle, store: Store, *, force: bool, now_reason: Optional[str],
              today: date) -> list[Problem]:
    report = ProblemReport()
    until = cycle.settings.keep_personal_data_until
    cycle_file = ws.relative(ws.cycle_path)
    if not now_reason:
        if until is None:
            report.add("close.retention-not-decided", file=cycle_file, location="Settings")
        elif today < until:
            report.add("close.before-retention-date", file=cycle_file, location="Settings",
                       until=f"{until:%d/%m/%Y}", today=f"{today:%d/%m/%Y}")
    if not force:
        outstanding = outstanding_forms(store, cycle)
        if outstanding:
            report.add("close.forms-outstanding", count=outstanding)
        unread = unread_inbox_files(ws)
        if unread:
            report.add("close.inbox-not-ingested", count=len(unread), example=ws.relative(unread[0]))
    report.extend(kept_files_naming_a_child(ws, cycle))
    return list(report)


def outstanding_forms(store: Store, cycle: Cycle) -> int:
    from .status import status_from_store

    return status_from_store(store, cycle).totals["outstanding"]


def unread_inbox_files(ws: Workspace) -> list[Path]:
    done = {ws.inbox / "processed", ws.inbox / "rejected"}
    return [p for p in _all_files(ws.inbox) if not any(d in p.parents for d in done)]


def kept_files_naming_a_child(ws: Workspace, cycle: Cycle) -> list[Problem]:
    """The reports kept under outbox/report/ are checked as build-report checks them: a comms edit may add a name."""
    from .ooxml.package import read_parts
    from .report.privacy import find_child_names

    report = ProblemReport()
    for path in sorted(ws.report_dir.rglob("*.docx")) if ws.report_dir.is_dir() else ():
        if path.name.startswith(("~$", ".~")):
            continue
        try:
            hits = find_child_names(read_parts(path.read_bytes()), cycle)
        except Exception:  # not a readable Word file: kept as it is, not ours to judge
            continue
        if hits:
            hit = hits[0]
            report.add("close.kept-file-names-child", file=ws.relative(path), case_ref=hit.case_ref,
                       which=hit.which, where=hit.where)
    return list(report)


# --- acting -------------------------------------------------------------------------------------


def _closure_fields(cycle: Cycle, *, by: str, now_reason: Optional[str], force: bool, store: Store) -> dict:
    until = cycle.settings.keep_personal_data_until
    return {"cycle_id": cycle.settings.cycle_id, "started_at": _now(), "os_user": _os_user(), "closed_by": by or "",
            "keep_until": until.isoformat() if until else None, "decided_by": cycle.settings.retention_decided_by,
            "now_reason": now_reason or "", "forced": int(force), "outstanding": outstanding_forms(store, cycle)}


def _act(ws: Workspace, cycle: Cycle, store: Store, result: CloseResult, closure: Optional[dict],
         fields: dict) -> None:
    """The steps, each safe to do again; the names are used only before cycle.xlsx is replaced."""
    files = _merged_files(closure["files"] if closure else [], result.record_files)
    result.record_files = files
    if closure is None:
        closure_id = store.begin_closure({**fields, "files": [asdict(f) for f in files], "changes": result.change})
    else:
        closure_id = store.begin_closure({"files": [asdict(f) for f in files], "changes": result.change})
        fields = {k: closure[k] for k in fields}
    terms = name_terms(cycle)
    store.scrub_texts(lambda t: redact(t, terms))
    store.compact()
    staged = ws.state_dir / CLOSING_DIR / ws.cycle_path.name
    atomic_write_bytes(staged, scrubbed_workbook(ws.cycle_path.read_bytes(), cycle, terms, names=True))
    from .workbook import load_cycle

    closed_cycle = load_cycle(staged)
    _rebuild_outputs(ws, closed_cycle, store, terms)
    for path in files_to_remove(ws):
        remove_file(path)
    _remove_empty_folders(ws)
    replace_or_explain(staged, ws.cycle_path)
    with contextlib.suppress(OSError):
        staged.parent.rmdir()
    for name in CACHES:  # the steps above may have kept something again
        (ws.state_dir / name).unlink(missing_ok=True)
    result.closed_at = _now()
    result.record_path = write_closure_record(ws, closed_cycle, {**fields, "finished_at": result.closed_at},
                                              files, result.change)
    store.finish_closure(closure_id, result.closed_at, result.change)


def _merged_files(recorded: Iterable[dict], found: Iterable[RemovedFile]) -> list[RemovedFile]:
    """What a killed run recorded (some of it already gone) and what is there now, each path once.

    A path the killed run recorded keeps its first entry: the file as it was when closing began (a
    cache the run wrote again before it was killed is the same file to the board).
    """
    merged = {f["path"]: RemovedFile(**f) for f in recorded}
    for f in found:
        merged.setdefault(f.path, f)
    return sorted(merged.values(), key=lambda f: f.path)


def remove_file(path: Path) -> None:
    """One file removed (a file already gone was removed by a run that was cut short)."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _remove_empty_folders(ws: Workspace) -> None:
    """Sub-folders left empty (an agency's folder, an inbox sub-folder an agency's name may have named)."""
    for top in (ws.forms_dir, ws.feedback_dir, ws.inbox, ws.archive_dir, *(ws.state_dir / d for d in CACHE_DIRS)):
        if not top.is_dir():
            continue
        for folder in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):
                folder.rmdir()


def _rebuild_outputs(ws: Workspace, cycle: Cycle, store: Store, terms: NameTerms) -> None:
    """results.xlsx from the scrubbed store; the learning log scrubbed then rebuilt; other kept workbooks scrubbed."""
    from .report.learning_log import write_learning_log
    from .results import write_results

    if ws.results_path.is_file() or store.received_files():
        (ws.state_dir / "results.digest").unlink(missing_ok=True)
        write_results(ws, cycle, store)
    for path in ([ws.learning_log_path] if ws.learning_log_path.is_file() else []) + _other_workbooks(ws):
        atomic_write_bytes(path, scrubbed_workbook(path.read_bytes(), cycle, terms))
    if ws.learning_log_path.is_file() or cycle.learning_actions or cycle.agency_actions:
        write_learning_log(ws, cycle)


def scrubbed_workbook(data: bytes, cycle: Cycle, terms: NameTerms, *, names: bool = False) -> bytes:
    """A workbook with every child's name taken out of every text cell; with `names`, the cycle workbook's own
    child's-name cells (the cell beside a case reference holding exactly its child's name) become [removed]."""
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data))
    children = {c.ref: c.child_name.strip() for c in cycle.cases}
    for sheet in wb.worksheets:
        for row in sheet.iter_rows():
            refs = {str(c.value).strip() for c in row if isinstance(c.value, str)} & set(children) if names else ()
            own = {children[r] for r in refs}
            for c in row:
                if not isinstance(c.value, str):
                    continue
                if c.value.strip() in own:
                    c.value = REMOVED_NAME
                else:
                    cleaned = redact(c.value, terms)
                    if cleaned != c.value:
                        c.value = cleaned
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _now() -> str:
    return datetime.now().isoformat(timespec="seconds")


def _os_user() -> str:
    with contextlib.suppress(Exception):
        return getpass.getuser()
    return os.environ.get("USERNAME") or os.environ.get("USER") or ""


# --- the record ---------------------------------------------------------------------------------


def write_closure_record(ws: Workspace, cycle: Cycle, fields: dict, files: list[RemovedFile],
                         changes: list[str]) -> Path:
    """outbox/closure-record.xlsx: what the board can show was removed, when, by whom and why (never content)."""
    from openpyxl import Workbook

    from .excel_style import NAVY, WRAP_TOP, filter_rows, heading_row
    from .results import fill_sheet

    wb = Workbook()
    sheet = wb.active
    sheet.title = "Closure"
    heading_row(sheet, [("What", 34), ("Record", 90)], NAVY)
    for label, value in _record_lines(cycle, fields, len(files), changes):
        sheet.append([label, value])
        sheet.cell(sheet.max_row, 2).alignment = WRAP_TOP
    filter_rows(sheet, [("What", 34), ("Record", 90)], sheet.max_row)
    rows = [[f.path, f.size, f.sha256] for f in files]
    fill_sheet(wb.create_sheet("Removed files"), [("Path (in the workspace)", 70), ("Size (bytes)", 14),
                                                  ("SHA-256", 70)], rows)
    wb.properties.title = f"Closure record: {cycle.settings.cycle_name}"
    out = io.BytesIO()
    wb.save(out)
    path = ws.outbox / RECORD_NAME
    atomic_write_bytes(path, out.getvalue())
    return path


def _record_lines(cycle: Cycle, fields: dict, count: int, changes: list[str]) -> list[tuple[str, str]]:
    until = fields.get("keep_until")
    lines = [
        ("Board", cycle.settings.board_name),
        ("Round", f"{cycle.settings.cycle_name} ({cycle.settings.cycle_id})"),
        ("Closing started", fields.get("started_at") or ""),
        ("Closed", fields.get("finished_at") or ""),
        ("Closed by (computer user)", fields.get("os_user") or ""),
        ("Closed by (as given with --by)", fields.get("closed_by") or ""),
        ("Keep personal data until", date.fromisoformat(until).strftime("%d/%m/%Y") if until else "not decided"),
        ("Retention decided by", fields.get("decided_by") or ""),
        ("Closed before that date because (--now)", fields.get("now_reason") or ""),
        ("Forms outstanding when closed", str(fields.get("outstanding", 0))
         + (" (closed with --force)" if fields.get("forced") else "")),
        ("Files removed", f"{count} (listed on the 'Removed files' sheet: path, size and SHA-256, never content)"),
    ]
    lines += [("Changed" if i == 0 else "", text) for i, text in enumerate(changes)]
    return lines


# --- the round's state, for the other commands ----------------------------------------------------


def closure_of(ws: Workspace) -> Optional[dict]:
    """The round's closure row (closing or closed), or None; never creates a store."""
    if not ws.store_path.is_file():
        return None
    with contextlib.closing(Store.open(ws.store_path)) as store:
        return store.closure()


def refuse_if_closed(ws: Workspace, what: str) -> None:
    """`generate-forms` and `ingest` on a round closed (or being closed): a clear refusal, nothing done."""
    closure = closure_of(ws)
    if closure is None:
        return
    if closure["state"] == "closed":
        raise CaseAuditError.single("round.closed", when=_shown(closure["finished_at"]), what=what, file=ws.root)
    raise CaseAuditError.single("round.closing-unfinished", when=_shown(closure["started_at"]), what=what,
                                file=ws.root)


def _shown(stamp: Optional[str]) -> str:
    return datetime.fromisoformat(stamp).strftime("%d %b %Y %H:%M") if stamp else "an unknown date"


def retention_notes(ws: Workspace, cycle: Cycle, today: Optional[date] = None) -> list[Problem]:
    """For `check` and `status`: the retention date has passed, or no date was decided though the report exists."""
    today = today or date.today()
    closure = closure_of(ws)
    if closure is not None and closure["state"] == "closed":
        return []
    report = ProblemReport()
    until = cycle.settings.keep_personal_data_until
    where = ws.relative(ws.cycle_path)
    if until is not None and today > until:
        report.add("close.retention-date-passed", until=f"{until:%d/%m/%Y}", file=where, location="Settings",
                   severity=Severity.WARNING)
    elif until is None and _report_exists(ws):
        report.add("close.retention-not-set", file=where, location="Settings", severity=Severity.WARNING)
    return list(report)


def _report_exists(ws: Workspace) -> bool:
    return ws.report_dir.is_dir() and any(not p.name.startswith(("~$", ".~")) for p in ws.report_dir.rglob("*.docx"))


def closed_line(closure: dict, ws: Workspace) -> str:
    """How `status` says the round is closed (or closing)."""
    if closure["state"] == "closed":
        return (f"This round was closed on {_shown(closure['finished_at'])}: its personal data was removed "
                f"(see {ws.relative(ws.outbox / RECORD_NAME)}).")
    return (f"Closing this round started on {_shown(closure['started_at'])} but did not finish: "
            "run 'case-audit close --confirm' to finish it.")

