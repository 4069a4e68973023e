"""The ingest run: every file in the inbox archived, read, stored and moved, with nothing lost.

Order per file, so a crash or kill at any point loses nothing:
  1. the original bytes go to `.case-audit/archive/<sha256><ext>` (fsynced) before anything else;
  2. one store transaction records the file and, if it was a form, its return and answers;
  3. only then does the file move to `inbox/processed/` or `inbox/rejected/` (never overwriting).
A re-run finds an interrupted file either not yet recorded (it is read again, with the
same result) or recorded but not moved ("already ingested", and moved now).

"Already ingested" means the same bytes were stored as a return before. A file
that was rejected is read again whenever it is back in the inbox: the cycle
workbook or the register may have changed since (a standard's wording reverted,
a form reissued), so the same bytes can now be accepted.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tempfile
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Optional, Sequence

from .child_names import NameTerms, name_terms, redact
from .containers import (CONVERTED_NOTE, SEND_DOCX, Member, container_kind, convert_for_reading, convertible,
                         junk_reason, unwrap)
from .faults import environment_failure, kind_of
from .models import Cycle, FormIdentity, FormKind, IssuedForm
from .origins import agency_from_file_name, file_name, member_path
from .ooxml.package import MAX_PACKAGE_BYTES
from .problem_codes import codes_where
from .problems import CaseAuditError, Problem, ProblemReport, Severity
from .results import SheetWriter, write_results
from .problem_codes import needs_action
from .returns import CHILD_NAMED, Outcome, ReadOutcome, agency_fix, flag_child_names, flag_no_involvement_mix, \
    read_return
from .store import ReceivedFile, Store, return_slot
from .workspace import (Workspace, durable_write_bytes, fsync_folder, publish, recover_staged, safe_name, stage_bytes,
                        unique_path)

PROCESSED, REJECTED = "processed", "rejected"
CONVERTED = "file.converted"  # an .odt or .doc return read after LibreOffice converted it

# What the officer sees for each file.
ACCEPTED = "accepted"
ACCEPTED_WITH_PROBLEMS = "accepted with problems"
ALREADY_INGESTED = "already ingested"
REJECTED_LINE = "rejected"
NOT_READ = "not read"


@dataclass
class FileResult:
    """One line of the ingest listing."""

    file: str  # relative to the inbox, forward slashes
    outcome: str  # accepted | accepted with problems | already ingested | rejected | not read
    message: str
    agency: Optional[str] = None
    case_ref: Optional[str] = None
    form_id: Optional[str] = None
    problems: list[Problem] = field(default_factory=list)
    moved_to: Optional[str] = None  # relative to the workspace
    members: list["FileResult"] = field(default_factory=list)  # a .zip or saved email: one line per file inside

    def lines(self) -> list["FileResult"]:
        """The listing lines: a container shows its files (and itself too when nothing in it could be read)."""
        if not self.members:
            return [self]
        return [*self.members, self] if self.outcome in (REJECTED_LINE, NOT_READ) else list(self.members)


@dataclass
class IngestResult:
    files: list[FileResult] = field(default_factory=list)
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (file, why)
    feedback_files: list[Path] = field(default_factory=list)
    results_path: Optional[Path] = None
    results_written: bool = False
    results_problem: Optional[Problem] = None
    problems: ProblemReport = field(default_factory=ProblemReport)  # about the run itself (moves that failed...)

    def totals(self) -> dict[str, int]:
        counts = {ACCEPTED: 0, ACCEPTED_WITH_PROBLEMS: 0, ALREADY_INGESTED: 0, REJECTED_LINE: 0, NOT_READ: 0}
        for f in self.files:
            counts[f.outcome] += 1
        return counts

    def totals_line(self) -> str:
        t = self.totals()
        parts = [f"{t[ACCEPTED]} accepted", f"{t[ACCEPTED_WITH_PROBLEMS]} accepted with problems",
                 f"{t[ALREADY_INGESTED]} already ingested", f"{t[REJECTED_LINE]} rejected"]
        if t[NOT_READ]:
            parts.append(f"{t[NOT_READ]} not read")
        if self.ignored:
            parts.append(f"{len(self.ignored)} ignored")
        return ", ".join(parts)

    @property
    def needs_attention(self) -> bool:
        t = self.totals()
        return bool(t[ACCEPTED_WITH_PROBLEMS] or t[REJECTED_LINE] or t[NOT_READ] or not self.results_written
                    or self.problems.errors)


# --- the run ---------------------------------------------------------------------


def ingest_inbox(
    ws: Workspace,
    cycle: Cycle,
    *,
    progress: Callable[[int, int], None] | None = None,
    lock_timeout: float = 60.0,
    extra_sheets: Optional[Sequence[SheetWriter]] = None,
    on_file: Optional[Callable[[FileResult], None]] = None,
) -> IngestResult:
    """Ingest every file under `inbox/`; refresh feedback and `outbox/results.xlsx`.

    `on_file(line)` is called as each file is recorded, before feedback and
    results.xlsx are written, so what was accepted or rejected is known even
    when those outputs then cannot be written.

    A second run at the same time waits for the first (up to `lock_timeout`
    seconds), then refuses with a plain message; it never double-ingests.
    """
    ws.ensure_folders()
    result = IngestResult()
    with ws.lock(timeout=lock_timeout):
        from .closing import refuse_if_closed

        refuse_if_closed(ws, "take in returns")  # its forms and archive are gone (issue 16)
        store = Store.open(ws.store_path)
        try:
            candidates, result.ignored = scan_inbox(ws)
            total = len(candidates)
            if progress:
                progress(0, total)
            def report(done_file: FileResult) -> None:
                for line in done_file.lines():
                    result.files.append(line)
                    if on_file:
                        on_file(line)

            with Recorder(ws, store, result.problems, report) as recorder:
                for done, path in enumerate(candidates, start=1):
                    done_file = ingest_file(ws, cycle, store, path, result.problems, recorder)
                    if done_file is not None:  # not left recording: said after the file before it
                        recorder.settle()
                        report(done_file)
                    if progress:
                        progress(done, total)
            from .moderation import sync_moderation  # decisions typed in moderation.xlsx recorded (issue 14)
            result.problems.extend(sync_moderation(ws, cycle, store).problems)
            result.feedback_files = write_feedback(ws, cycle, store)
            from .moderation import write_moderation_feedback
            result.feedback_files += write_moderation_feedback(ws, cycle, store)
            try:
                result.results_path = write_results(ws, cycle, store, extra_sheets=extra_sheets)
                result.results_written = True
            except CaseAuditError as exc:
                result.results_problem = exc.report.problems[0] if exc.report.problems else Problem(
                    code="file.locked", message=exc.summary)
        finally:
            store.close()
    return result


def scan_inbox(ws: Workspace) -> tuple[list[Path], list[tuple[str, str]]]:
    """Files waiting in the inbox (any sub-folder), oldest first; and those left alone, with why."""
    found: list[tuple[float, str, Path]] = []
    ignored: list[tuple[str, str]] = []
    inbox = ws.inbox
    if not inbox.is_dir():
        return [], []
    for folder, dirs, files in os.walk(inbox):
        here = Path(folder)
        if here == inbox:
            dirs[:] = [d for d in dirs if d not in (PROCESSED, REJECTED)]
        kept_dirs = []
        for d in dirs:
            why = _ignore_reason(here / d, d)
            if why is None:
                kept_dirs.append(d)
        dirs[:] = sorted(kept_dirs)
        for name in files:
            path = here / name
            rel = path.relative_to(inbox).as_posix()
            why = _ignore_reason(path, name)
            if why is None and not path.is_file():
                why = "not a regular file"
            if why:
                if name != ".gitkeep":
                    ignored.append((rel, why))
                continue
            try:
                mtime = path.stat().st_mtime
            except OSError:
                mtime = 0.0
            found.append((mtime, rel, path))
    found.sort(key=lambda t: (t[0], t[1]))
    return [p for _, _, p in found], ignored


def _ignore_reason(path: Path, name: str) -> Optional[str]:
    why = junk_reason(name)
    if why:
        return why
    try:
        attrs = getattr(path.lstat(), "st_file_attributes", 0)
    except OSError:
        return None
    if attrs & (getattr(stat, "FILE_ATTRIBUTE_HIDDEN", 2) | getattr(stat, "FILE_ATTRIBUTE_SYSTEM", 4)):
        return "hidden file"
    return None


# --- one file --------------------------------------------------------------------


def ingest_file(ws: Workspace, cycle: Cycle, store: Store, path: Path, run_problems: ProblemReport,
                recorder: Optional["Recorder"] = None) -> Optional[FileResult]:
    """Archive, read, record and move one inbox file; the caller holds the workspace lock.

    Given a `recorder`, the file is read before the store is touched (the file before it may still
    be being recorded), and its archive copy and record are left to the recorder's threads: None is
    returned and its line is reported once it is recorded and moved. Otherwise all of it is done here.
    """
    rel = path.relative_to(ws.inbox).as_posix()
    settle = recorder.settle if recorder is not None else (lambda: None)
    register = recorder.register if recorder is not None else store
    try:
        taken = take_bytes(path)
    except OSError as exc:
        return _not_archived(rel, exc)
    received_at = datetime.now()
    if taken is None:  # too large to be a form: copied into the archive as it is hashed, never read
        settle()
        return _ingest_large(ws, store, path, rel, received_at, run_problems)
    sha, data = taken
    container = container_kind(rel, data)
    read = None if container else _read_file(ws, cycle, register, settle, rel, sha, data, received_at, run_problems)
    settle()  # from here on the store is this thread's
    existing = store.received_file(sha)
    archive_name = existing.archive_name if existing else _archive_name(sha, path)
    already = existing is not None and existing.outcome != Outcome.REJECTED.value
    arrived = (rel, sha, len(data), archive_name, received_at)
    if recorder is not None and read is not None and not (already or container):
        recorder.record(ws.archive_dir / archive_name, data, *_recording(ws, store, read, path, arrived, run_problems),
                        rel)
        return None
    failed = _archive_or_why(ws, rel, archive_name, data)  # a copy lost since is put back before the file moves
    if failed is not None:
        return failed
    if already:
        return _move_already(ws, store, path, rel, sha, existing, run_problems)
    if container:
        return _ingest_container(ws, cycle, store, path, (rel, sha, data, len(data)), existing, received_at,
                                 run_problems)
    if read is None:
        return FileResult(rel, NOT_READ, FAULT_LINE.format("read"))
    record, finish = _recording(ws, store, read, path, arrived, run_problems)
    return finish(record())


def _archive_or_why(ws: Workspace, rel: str, archive_name: str, data: bytes) -> Optional[FileResult]:
    """The file's bytes kept in the archive (see `archive_bytes`); else the line saying why it was not read."""
    try:
        archive_bytes(ws, archive_name, data)
    except OSError as exc:
        return _not_archived(rel, exc)
    return None


def _move_already(ws: Workspace, store: Store, path: Path, rel: str, sha: str, existing: ReceivedFile,
                  run_problems: ProblemReport) -> FileResult:
    """A file whose bytes were recorded before: moved out of the inbox, nothing else changed."""
    moved = _move_out(ws, path, rel, PROCESSED, run_problems)
    if moved:
        store.set_moved_to(sha, moved)
    return _already(rel, existing, moved)


def _recording(ws: Workspace, store: Store, read: ReadOutcome, path: Path,
               arrived: tuple[str, str, int, str, datetime],
               run_problems: ProblemReport) -> tuple[Callable[[], str], Callable[[str], FileResult]]:
    """What recording a read file takes: its one transaction, then (once that is done) its move and line.

    `arrived`: (path in the inbox, sha256, size, archive name, received at).
    """
    rel, sha, size, archive_name, received_at = arrived
    folder = REJECTED if read.outcome is Outcome.REJECTED else PROCESSED
    target = _destination(ws, folder, rel)
    planned = ws.relative(target)

    def record() -> str:
        return _record(store, read, rel, sha, size, archive_name, received_at, planned)

    def finish(message: str) -> FileResult:
        moved = _move_out(ws, path, rel, folder, run_problems, target)
        if moved != planned:
            store.set_moved_to(sha, moved)
        return _line(rel, read, message, moved)
    return record, finish


class Recorder:
    """Records each file on threads of its own while ingest reads the next: the waits on the disk (the
    archive copy's syncs, the store's durable commit) overlap the reading, which is most of a file's cost.

    Still one durable transaction per file, in inbox order, and nothing is recorded before its archive
    copy is safe nor moved before it is recorded. The store is used by one thread at a time: `settle()`,
    called before the reading thread touches the store, waits for the file being recorded, moves it
    and reports its line. The issued-forms register is read once, so reading a return needs no store.
    """

    def __init__(self, ws: Workspace, store: Store, run_problems: ProblemReport, report: Callable[[FileResult], None]):
        self.ws, self.store, self.report = ws, store, report
        self.pending: Optional[tuple[Future, Callable[[str], FileResult], str]] = None
        self.register = KnownForms(store, self.settle)
        self._archiver = ThreadPoolExecutor(max_workers=1, thread_name_prefix="case-audit-archive")
        self._committer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="case-audit-record")

    def record(self, archive_to: Path, data: bytes, record: Callable[[], str], finish: Callable[[str], FileResult],
               rel: str) -> None:
        """Archive `data`, then run `record` (one transaction), then `finish` (move, line) once settled."""
        self.settle()
        copied = self._archiver.submit(_keep, archive_to, data)

        def archived_then_recorded() -> str:
            copied.result()  # raises what the archive copy raised: then nothing is recorded
            return record()
        self.pending = (self._committer.submit(archived_then_recorded), finish, rel)

    def settle(self) -> None:
        """Wait for the file being recorded; move it and report its line (or why it could not be archived)."""
        if self.pending is None:
            return
        recording, finish, rel = self.pending
        self.pending = None
        try:
            message = recording.result()
        except OSError as exc:  # its archive copy could not be written: left in the inbox, nothing recorded
            _stop_if_the_archive_cannot_be_written(self.ws, exc)
            self.report(_not_archived(rel, exc))
            return
        self.report(finish(message))

    def __enter__(self) -> "Recorder":
        return self

    def __exit__(self, kind, exc, tb) -> None:
        try:
            if exc is None:
                self.settle()
            elif self.pending is not None:  # the run is stopping: let the file being recorded finish, unmoved
                self.pending[0].exception()
        finally:
            self._committer.shutdown(wait=True)
            self._archiver.shutdown(wait=True)


class KnownForms:
    """The issued-forms register for reading returns, read once per run (no form is issued while ingest runs)."""

    def __init__(self, store: Store, settle: Callable[[], None]):
        self.store, self.settle = store, settle
        self.forms: Optional[dict[str, IssuedForm]] = None
        self._audit_forms_per_case: Optional[Counter] = None

    def _issued(self) -> dict[str, IssuedForm]:
        if self.forms is None:
            self.settle()
            self.forms = {f.identity.form_id: f for f in self.store.issued_forms()}
        return self.forms

    def issued_form(self, form_id: str) -> Optional[IssuedForm]:
        return self._issued().get(form_id)

    def shares_its_case(self, ident: FormIdentity) -> bool:
        """Was another audit form issued to the agency for this case (per-KLOE forms)? Only then can two disagree."""
        if self._audit_forms_per_case is None:
            self._audit_forms_per_case = Counter((f.identity.agency, f.identity.case_ref)
                                                 for f in self._issued().values() if f.identity.kind is FormKind.AUDIT)
        return self._audit_forms_per_case[(ident.agency, ident.case_ref)] > 1

    def issued_actions(self, form_id: str) -> list[str]:
        self.settle()
        return self.store.issued_actions(form_id)


def _not_archived(rel: str, exc: OSError) -> FileResult:
    if isinstance(exc, PermissionError):
        return FileResult(rel, NOT_READ, "could not be read: it is open in another program. Close it and run ingest again.")
    if isinstance(exc, FileNotFoundError):
        return FileResult(rel, NOT_READ, "disappeared while ingest was running; run ingest again.")
    return FileResult(rel, NOT_READ, f"could not be read or archived ({exc.strerror or exc}); run ingest again.")


FAULT_LINE = "could not be {} because of a fault in case-audit; left in the inbox to be read again after the fault is fixed."


def _internal_error(run_problems: ProblemReport, rel: str, exc: Exception, doing: str = "read") -> FileResult:
    run_problems.add("ingest.internal-error", f"{rel} could not be {doing} because of a fault in case-audit "
                     f"({type(exc).__name__}: {exc}). It was archived and left in the inbox.",
                     "Report this to whoever supports case-audit; run ingest again after the fix.", file=rel)
    return FileResult(rel, NOT_READ, FAULT_LINE.format(doing))


def _issued_copy(ws: Workspace) -> Callable[[IssuedForm], Optional[bytes]]:
    """The form as issued, from the outbox, when it is still there unchanged (None otherwise)."""
    def read(form: IssuedForm) -> Optional[bytes]:
        try:
            data = (ws.root / form.path).read_bytes()
        except OSError:  # moved, deleted or locked: the return is read without it
            return None
        return data if hashlib.sha256(data).hexdigest() == form.file_sha256 else None
    return read


def _already(rel: str, existing: ReceivedFile, moved: Optional[str]) -> FileResult:
    when = existing.received_at.strftime("%d %b %Y %H:%M")
    return FileResult(rel, ALREADY_INGESTED, f"the same file as {existing.original_path}, received {when}; nothing changed",
                      existing.agency, existing.case_ref, existing.form_id, moved_to=moved)


def _read_file(ws: Workspace, cycle: Cycle, register, settle: Callable[[], None], rel: str, sha: str,
               data: bytes, received_at: datetime,
               run_problems: ProblemReport) -> Optional[ReadOutcome]:
    """What the file is and says; None (and a run problem) when case-audit itself failed on it.

    `register`: the issued forms (the store, or a `Recorder`'s copy); `settle()` is called before the store
    itself is asked anything else.
    """
    try:
        read = read_return(data, filename=rel, cycle=cycle, register=register, sha256=sha,
                           received_at=received_at, issued_copy=_issued_copy(ws))
        # an .odt or .doc (refused as it is) is read as the .docx LibreOffice makes of it, where it can;
        # asked only of a refused file, so a .docx is opened once
        kind = convertible(data) if read.outcome is Outcome.REJECTED else None
        converted = convert_for_reading(data, kind) if kind else None
        if converted:
            read = read_return(converted, filename=rel, cycle=cycle, register=register, sha256=sha,
                               received_at=received_at, issued_copy=_issued_copy(ws))
    except Exception as exc:  # a fault in case-audit, not in the file: keep it waiting, go on with the rest
        _internal_error(run_problems, rel, exc)
        return None
    if converted:
        read.problems.add(CONVERTED, CONVERTED_NOTE[kind], SEND_DOCX, file=rel, severity=Severity.WARNING)
    flag_child_names(read, cycle)  # accepted as it is, but the agency is asked to use the case reference
    known = isinstance(register, KnownForms)
    if read.audit is not None and (not known or register.shares_its_case(read.audit.identity)):
        # per-KLOE forms of one agency and case that disagree on involvement
        ident = read.audit.identity
        store = register.store if known else register

        def current() -> list:
            settle()  # the file before this one may be one of them
            return store.current_audit_returns_of(ident.agency, ident.case_ref or "")
        flag_no_involvement_mix(read, current)
    return read


def _record(store: Store, read: ReadOutcome, rel: str, sha: str, size: int, archive_name: str,
            received_at: datetime, moved_to: Optional[str], message: Optional[str] = None) -> str:
    """One transaction: the file's receipt and, for a form, its return. The listing's message for it."""
    ident = read.identity
    message = message or read.message
    record = ReceivedFile(
        sha256=sha, original_path=rel, archive_name=archive_name, size=size, received_at=received_at,
        outcome=read.outcome.value, message=message, problems=tuple(read.problems),
        form_id=ident.form_id if ident else None, agency=ident.agency if ident else None,
        case_ref=ident.case_ref if ident else None, kind=ident.kind.value if ident else None,
        had_tracked_changes=read.had_tracked_changes, had_comments=read.had_comments, moved_to=moved_to,
    )
    with store.transaction() as conn:
        replaced = store.latest_in_slot(return_slot(read.record.identity)) if read.record is not None else None
        file_id = store.record_received_file(record, conn)
        if read.record is not None:
            store.record_return(file_id, read.record, conn)
    if replaced is not None:
        message += f"; replaces {Path(replaced[0]).name} received {replaced[1]:%d %b %Y %H:%M}, which is kept"
    return message


def _line(rel: str, read: ReadOutcome, message: str, moved: Optional[str]) -> FileResult:
    line = {Outcome.ACCEPTED: ACCEPTED, Outcome.INCOMPLETE: ACCEPTED_WITH_PROBLEMS, Outcome.REJECTED: REJECTED_LINE}[read.outcome]
    if line == ACCEPTED and any(needs_action(p) for p in read.problems):  # notes that need nothing doing leave it accepted
        line = ACCEPTED_WITH_PROBLEMS
    ident = read.identity
    return FileResult(rel, line, message, ident.agency if ident else None, ident.case_ref if ident else None,
                      ident.form_id if ident else None, list(read.problems), moved)


# --- a .zip or saved email: each file inside read as if saved into the inbox by itself ---------------


def _ingest_container(ws: Workspace, cycle: Cycle, store: Store, path: Path, arrived: tuple[str, str, bytes, int],
                      existing: Optional[ReceivedFile], received_at: datetime, run_problems: ProblemReport) -> FileResult:
    """The container is archived already; each member is archived and recorded, then the container, then it moves.

    A run cut short is safe to repeat: members already recorded are 'already ingested', and the
    container itself is recorded (and so counted as done) only after all of its members.
    """
    rel, sha, data, size = arrived
    try:
        box = unwrap(rel, data)
    except Exception as exc:  # a fault in case-audit, not in the file: keep it waiting, go on with the rest
        return _internal_error(run_problems, rel, exc, "unpacked")
    members = [_ingest_member(ws, cycle, store, member_path(rel, m.name), m, received_at, run_problems)
               for m in box.members]
    if any(m.outcome == NOT_READ for m in members):  # case-audit failed on one: all of it is read again next run
        return FileResult(rel, NOT_READ, "left in the inbox to be read again after the fault is fixed", members=members)
    read = ReadOutcome(Outcome.REJECTED if not any(m.data is not None for m in box.members) else Outcome.ACCEPTED,
                       ProblemReport())
    severity = Severity.ERROR if read.outcome is Outcome.REJECTED else Severity.WARNING
    for refusal, where in [(box.refusal, rel)] + [(m.refusal, member_path(rel, m.name)) for m in box.members
                                                  if m.data is None]:
        if refusal is not None:
            read.problems.add(refusal.code, refusal.message, refusal.fix, file=where, severity=severity)
    if read.outcome is Outcome.REJECTED and not read.problems.problems:
        read.problems.add("container.empty", f"The file is {box.what} with no files in it.",
                          "Ask the agency to attach the completed .docx form to the email by itself.", file=rel)
    folder = REJECTED if read.outcome is Outcome.REJECTED else PROCESSED
    target = _destination(ws, folder, rel)
    archive_name = existing.archive_name if existing else _archive_name(sha, path)
    summary = None if read.outcome is Outcome.REJECTED else \
        f"{box.what} holding {len(box.members)} file{'s' if len(box.members) != 1 else ''}, each read on its own"
    message = _record(store, read, rel, sha, size, archive_name, received_at, ws.relative(target), summary)
    moved = _move_out(ws, path, rel, folder, run_problems, target)
    if moved != ws.relative(target):
        store.set_moved_to(sha, moved)
    line = _line(rel, read, message, moved)
    line.members = members
    return line


def _ingest_member(ws: Workspace, cycle: Cycle, store: Store, rel: str, member: Member, received_at: datetime,
                   run_problems: ProblemReport) -> FileResult:
    if member.data is None:  # too large or damaged: said on the container's own record
        return FileResult(rel, REJECTED_LINE, member.refusal.message if member.refusal else "could not be taken out")
    sha = hashlib.sha256(member.data).hexdigest()
    existing = store.received_file(sha)
    archive_name = existing.archive_name if existing else _archive_name(sha, Path(member.name))
    try:
        archive_bytes(ws, archive_name, member.data)
    except OSError as exc:
        return FileResult(rel, NOT_READ, f"could not be archived ({exc.strerror or exc}); run ingest again.")
    if existing is not None and existing.outcome != Outcome.REJECTED.value:
        return _already(rel, existing, None)
    if member.refusal is not None:
        read = ReadOutcome(Outcome.REJECTED, ProblemReport())
        read.problems.add(member.refusal.code, member.refusal.message, member.refusal.fix, file=rel)
    else:
        read = _read_file(ws, cycle, store, lambda: None, rel, sha, member.data, received_at, run_problems)
        if read is None:
            return FileResult(rel, NOT_READ, "could not be read because of a fault in case-audit; the file holding "
                              "it is left in the inbox to be read again after the fault is fixed.")
    return _line(rel, read, _record(store, read, rel, sha, len(member.data), archive_name, received_at, None), None)


def _archive_name(sha: str, path: Path) -> str:
    suffix = path.suffix.lower()
    return sha + (suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else ".bin")


def take_bytes(path: Path) -> Optional[tuple[str, bytes]]:
    """The file's sha256 and bytes; None when it is too large to be a form (see `_ingest_large`)."""
    if path.stat().st_size > MAX_PACKAGE_BYTES:
        return None
    data = path.read_bytes()
    return hashlib.sha256(data).hexdigest(), data


def archive_bytes(ws: Workspace, archive_name: str, data: bytes) -> None:
    """Keep bytes taken out of a container in the archive, durably, before anything reads them."""
    try:
        _keep(ws.archive_dir / archive_name, data)
    except OSError as exc:
        _stop_if_the_archive_cannot_be_written(ws, exc)
        raise


def _stop_if_the_archive_cannot_be_written(ws: Workspace, exc: OSError) -> None:
    """A full disk or read-only archive stops the run (CaseAuditError): every file after this one would fail
    the same way, and nothing is recorded unarchived."""
    if kind_of(exc) in ("disk-full", "read-only"):
        raise environment_failure(exc, where=ws.relative(ws.archive_dir)) from None


def _keep(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if not (target.exists() and target.stat().st_size == len(data)):
        durable_write_bytes(target, data)


def _ingest_large(ws: Workspace, store: Store, path: Path, rel: str, received_at: datetime,
                  run_problems: ProblemReport) -> FileResult:
    """A file too large to be a form: copied into the archive as it is hashed (never held whole), then refused."""
    try:
        sha, size, existing, archive_name = _copy_hashing(ws, path, store)
    except OSError as exc:
        _stop_if_the_archive_cannot_be_written(ws, exc)
        return _not_archived(rel, exc)
    if existing is not None and existing.outcome != Outcome.REJECTED.value:
        return _move_already(ws, store, path, rel, sha, existing, run_problems)
    read = ReadOutcome(Outcome.REJECTED, ProblemReport())
    read.problems.add("file.too-large", f"The file is {size / 1024 / 1024:.0f} MB; an audit form is well under 1 MB.",
                      "Check the right attachment was saved; ask the agency to send the audit form on its own.",
                      file=rel)
    record, finish = _recording(ws, store, read, path, (rel, sha, size, archive_name, received_at), run_problems)
    return finish(record())


def _copy_hashing(ws: Workspace, path: Path, store: Store) -> tuple[str, int, Optional[ReceivedFile], str]:
    """(sha256, size, the store's record of these bytes if any, the archive name), the copy synced."""
    archive = ws.archive_dir
    archive.mkdir(parents=True, exist_ok=True)
    size = 0
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(prefix=".~incoming-", dir=archive)
    try:
        with os.fdopen(fd, "wb") as out, path.open("rb") as src:
            for chunk in iter(lambda: src.read(1024 * 1024), b""):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        sha = digest.hexdigest()
        known = store.received_file(sha)
        target = archive / (known.archive_name if known else _archive_name(sha, path))
        if target.exists():
            os.unlink(tmp)
        else:
            os.replace(tmp, target)
            fsync_folder(archive)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return sha, size, known, target.name


def _destination(ws: Workspace, folder: str, rel: str) -> Path:
    return unique_path(ws.inbox / folder / Path(rel))


def _move_out(ws: Workspace, path: Path, rel: str, folder: str, run_problems: ProblemReport,
              target: Optional[Path] = None) -> Optional[str]:
    """Move an ingested file out of the inbox; a locked file stays put and is 'already ingested' next time."""
    target = target if target is not None and not target.exists() else _destination(ws, folder, rel)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(path, target)
    except FileNotFoundError:
        return None
    except OSError:
        run_problems.add("ingest.move-failed", f"{rel} was ingested but could not be moved to inbox/{folder}/ "
                         "(it is probably open in Word).", "Close it; the next ingest moves it and changes nothing else.",
                         file=rel, severity=Severity.WARNING)
        return ws.relative(path)
    return ws.relative(target)


# --- feedback the officer can forward ----------------------------------------------

UNIDENTIFIED = "_unidentified"
AGENCY_WARNINGS = codes_where("tell_agency")  # warnings on an accepted return that the agency is told about


def write_feedback(ws: Workspace, cycle: Cycle, store: Store, now: Optional[datetime] = None) -> list[Path]:
    """One plain-text note per agency for its rejected or incomplete returns not yet covered; never overwrites.

    Files nobody can be identified as sending go to `_unidentified/`, for the officer.
    Idempotent under a kill: each note is staged, recorded, then moved into place,
    so a re-run either publishes the recorded note or writes it once, never twice.
    """
    now = now or datetime.now()
    published, _never_recorded = recover_staged(ws, ws.feedback_dir, store.feedback_files().__contains__)
    written = [ws.root / rel for rel in published]
    by_agency: dict[str, list[ReceivedFile]] = {}
    for f in store.files_needing_feedback(also_accepted_with=AGENCY_WARNINGS):
        by_agency.setdefault(f.agency or agency_from_file_name(f.original_path, cycle) or UNIDENTIFIED, []).append(f)
    for code, items in sorted(by_agency.items()):
        folder = ws.feedback_dir / safe_name(code, empty=UNIDENTIFIED)
        target = unique_path(folder / f"feedback {now:%Y-%m-%d %H%M}.txt")
        text = feedback_text(cycle, code, items, now)
        staged = stage_bytes(ws, target, text.replace("\n", os.linesep).encode("utf-8-sig"))
        store.mark_feedback([f.sha256 for f in items], ws.relative(target))
        publish(staged, target)
        written.append(target)
    return written


def feedback_text(cycle: Cycle, agency_code: str, items: list[ReceivedFile], now: datetime) -> str:
    """The note itself: which form, which standard, what is wrong, what to do.

    A note for an agency names each file by its name alone (the officer's
    inbox folders are the officer's business); anything the agency or the
    officer typed has children's names taken out, as the note travels by email.
    """
    settings = cycle.settings
    agency = next((a for a in cycle.agencies if a.code == agency_code), None)
    names = name_terms(cycle)
    lines = [f"{settings.board_name}: multi-agency case audit {settings.cycle_name}",
             f"Feedback on returned audit forms, {now:%d %B %Y %H:%M}", ""]
    if agency is not None:
        contact = f" ({agency.contact_name}, {agency.secure_email})" if agency.contact_name and agency.secure_email else ""
        lines.append(f"To: {agency.name}{contact}")
        lines += ["", "Thank you for returning your audit forms. The forms below need something put right. "
                      "Please correct the form you sent and return it by secure email; a corrected form replaces the earlier one."]
        if settings.return_deadline:
            lines.append(f"Forms are due by {settings.return_deadline:%d %B %Y}.")
    else:
        lines += ["For the case audit officer: these files could not be matched to an agency.",
                  "Find out who sent each one and ask them for the form they were sent."]
    for number, item in enumerate(items, start=1):
        shown = file_name(item.original_path) if agency is not None else item.original_path
        lines += ["", f"{number}. File: {_scrub(shown, names)}"]
        ident = ([f"Case reference {item.case_ref}"] if item.case_ref else []) + \
            ([f"Form ID {item.form_id}"] if item.form_id else [])
        if ident:
            lines.append("   " + ", ".join(ident))
        if item.outcome == Outcome.REJECTED.value:
            lines.append("   Result: NOT ACCEPTED - nothing from this file has been counted.")
        elif item.outcome == Outcome.ACCEPTED.value:
            lines.append("   Result: ACCEPTED and counted - but some answers need rewording (below)."
                         if any(p.code == CHILD_NAMED for p in item.problems) else
                         "   Result: ACCEPTED and counted - please see the note below.")
        else:
            lines.append("   Result: received but INCOMPLETE - the answers given have been kept.")
        for problem in item.problems:
            if problem.severity is not Severity.ERROR and problem.code not in AGENCY_WARNINGS:
                continue
            where = f"{_scrub(problem.location, names)}: " if problem.location else ""
            found = f" (found: '{_scrub(problem.value, names)}')" if problem.value else ""
            lines.append(f"   - {where}{_scrub(problem.message, names)}{found}")
            fix = agency_fix(problem.code, problem.fix) if agency is not None else problem.fix
            if fix:
                lines.append(f"     What to do: {_scrub(fix, names)}")
    if settings.return_instructions and agency is not None:
        lines += ["", settings.return_instructions]
    return "\n".join(lines) + "\n"


def _scrub(text: str, names: NameTerms) -> str:
    """Feedback travels by email: a child's name (or any part of it) an agency put in a file name or answer is taken out."""
    return redact(text, names)
