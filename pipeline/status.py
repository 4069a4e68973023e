"""Who has returned what: per agency, per form, and the chase list for late or faulty returns.

Read-only over the store. A form counts as returned when a return in its slot
(same agency, case and KLOEs: a reissued form shares the slot of the form it
replaced) was accepted; the latest such return is the version that counts.
"""

from __future__ import annotations

import dataclasses
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from .child_names import NameTerms, redact, terms_for
from .actions import TrackedAction, latest_updates, tracked_actions
from .kinds import ActionStatus, FormKind
from .origins import agency_from_file_name, file_name, split_origin
from .problems import Problem, Severity
from .store import IssuedRecord, ReceivedFile, Store, StoredReturn
from .versions import counting, return_slot, versions_by_slot
from .workspace import Workspace, atomic_write_bytes

if TYPE_CHECKING:  # status reads the store's rows as plain records and starts without pydantic
    from .models import Agency, Cycle

OUTSTANDING, COMPLETE, INCOMPLETE, NO_INVOLVEMENT = "outstanding", "complete", "incomplete", "no involvement"
REJECTED = "rejected"  # a received file's outcome
# returns.CHILD_NAMED (a test holds them equal): importing it would load the whole form reader into every `status`
CHILD_NAMED = "return.child-named"


@dataclass
class FormStatus:
    form: IssuedRecord
    state: str  # outstanding | complete | incomplete | no involvement
    counting: Optional[StoredReturn] = None  # the version that counts
    versions: int = 0  # returns received for this form (all versions)
    problems: list[Problem] = field(default_factory=list)  # what is wrong with the version that counts
    per_kloe: bool = False
    not_accepted: list[ReceivedFile] = field(default_factory=list)  # rejected files sent for it, while outstanding

    @property
    def label(self) -> str:
        """How the officer and the agency name the form: case and KLOEs, or 'agency summary'."""
        ident = self.form.identity
        if ident.kind is FormKind.SUMMARY:
            return "agency summary form"
        if ident.kind is FormKind.PROGRESS:
            return "action progress form"
        kloes = f" (KLOE {', '.join(map(str, ident.kloes))})" if ident.kloes and self.per_kloe else ""
        return f"case {ident.case_ref}{kloes}"

    @property
    def names_a_child(self) -> list[Problem]:
        """Where answers of the version that counts name a child (kept and counted; the agency is asked to reword)."""
        return [p for p in self.problems if p.code == CHILD_NAMED]

    @property
    def to_put_right(self) -> list[Problem]:
        """What the agency must put right: errors, and answers that name a child."""
        return [p for p in self.problems if p.severity is Severity.ERROR or p.code == CHILD_NAMED]


@dataclass
class AgencyStatus:
    agency: Agency
    forms: list[FormStatus]
    rejected_files: int = 0
    last_return: Optional[datetime] = None

    def count(self, state: str) -> int:
        return sum(1 for f in self.forms if f.state == state)

    @property
    def issued(self) -> int:
        return len(self.forms)

    @property
    def complete(self) -> int:
        return self.count(COMPLETE)

    @property
    def incomplete(self) -> int:
        return self.count(INCOMPLETE)

    @property
    def no_involvement(self) -> int:
        return self.count(NO_INVOLVEMENT)

    @property
    def outstanding(self) -> int:
        return self.count(OUTSTANDING)

    @property
    def child_named(self) -> int:
        """Forms whose counted answers name a child."""
        return sum(1 for f in self.forms if f.names_a_child)


@dataclass
class StatusReport:
    cycle_id: str
    agencies: list[AgencyStatus]
    unidentified_files: list[ReceivedFile] = field(default_factory=list)  # rejected, no agency known
    returns_without_issued_form: list[StoredReturn] = field(default_factory=list)
    terms: NameTerms = field(default_factory=lambda: NameTerms((), frozenset()))  # to keep names out of what is sent
    overdue: dict[str, list[TrackedAction]] = field(default_factory=dict)  # agency code ("" = board) -> actions

    @property
    def totals(self) -> dict[str, int]:
        keys = ("issued", "complete", "incomplete", "no_involvement", "outstanding", "rejected_files", "child_named")
        return {k: sum(getattr(a, k) for a in self.agencies) for k in keys}

    @property
    def last_return(self) -> Optional[datetime]:
        times = [a.last_return for a in self.agencies if a.last_return]
        return max(times) if times else None


def agency_status(ws: Workspace, cycle: Cycle) -> StatusReport:
    with Store.open(ws.store_path) as store:
        return status_from_store(store, cycle)


def status_from_store(store: Store, cycle: Cycle) -> StatusReport:
    all_kloes = tuple(k.number for k in cycle.kloes)
    history = [r for r in store.return_history(plain=True) if r.identity.cycle_id == cycle.settings.cycle_id]
    files = store.received_files()
    problems_by_sha = {f.sha256: list(f.problems) for f in files}
    by_slot = versions_by_slot(history)

    issued = [f for f in store.issued_forms(current_only=True, plain=True)
              if f.identity.cycle_id == cycle.settings.cycle_id]
    used_slots: set[str] = set()
    forms_by_agency: dict[str, list[FormStatus]] = {}
    for form in issued:
        ident = form.identity
        if ident.kind is FormKind.AUDIT and not ident.kloes:
            ident = dataclasses.replace(ident, kloes=all_kloes)
        slot = return_slot(ident)
        used_slots.add(slot)
        versions = by_slot.get(slot, [])
        status = FormStatus(form, OUTSTANDING, versions=len(versions),
                            per_kloe=ident.kind is FormKind.AUDIT and set(ident.kloes) != set(all_kloes))
        if versions:
            latest = counting(versions)
            status.counting = latest
            if latest.no_involvement and latest.complete:
                status.state = NO_INVOLVEMENT
            elif latest.complete:
                status.state = COMPLETE
            else:
                status.state = INCOMPLETE
            status.problems = problems_by_sha.get(latest.file_sha256, [])
        forms_by_agency.setdefault(ident.agency, []).append(status)

    senders = {f.sha256: sender_of(f, cycle) for f in files}
    for f in files:
        if f.outcome == REJECTED and senders[f.sha256]:
            _attach_rejected(f, forms_by_agency.get(senders[f.sha256], []))
    report = StatusReport(cycle.settings.cycle_id, [], terms=terms_for(cycle))
    for agency in cycle.agencies:
        forms = sorted(forms_by_agency.pop(agency.code, []),
                       key=lambda s: (s.form.identity.kind is FormKind.SUMMARY, s.form.identity.case_ref or "",
                                      s.form.identity.kloes))
        mine = [f for f in files if senders[f.sha256] == agency.code]
        report.agencies.append(AgencyStatus(
            agency, forms, rejected_files=sum(1 for f in mine if f.outcome == REJECTED),
            last_return=max((f.received_at for f in mine), default=None),
        ))
    for code, forms in forms_by_agency.items():  # forms issued to an agency since removed from the workbook
        from .models import Agency  # seldom: here, so that `status` starts without pydantic

        report.agencies.append(AgencyStatus(Agency(code=code, name=code, short_name=code), forms))
    report.unidentified_files = [f for f in files if f.outcome == REJECTED and not senders[f.sha256]]
    report.returns_without_issued_form = [r for r in history if r.counts and return_slot(r.identity) not in used_slots]
    report.overdue = overdue_actions(store, cycle)
    return report


def overdue_actions(store: Store, cycle: Cycle, today: Optional[date] = None) -> dict[str, list[TrackedAction]]:
    """Actions past their due date and not complete, by owning agency ("" for the board's learning actions)."""
    updates = latest_updates(store.progress_returns(cycle.settings.cycle_id, plain=True))
    found: dict[str, list[TrackedAction]] = {}
    for a in tracked_actions(cycle, updates, today):
        if a.status is ActionStatus.OVERDUE:
            found.setdefault(a.agency, []).append(a)
    return found


def sender_of(f: ReceivedFile, cycle: Cycle) -> Optional[str]:
    """The agency that sent a file: by the identity read from it, else by its name ("POLICE_N-01.pdf")."""
    return f.agency or agency_from_file_name(f.original_path, cycle)


def _attach_rejected(f: ReceivedFile, forms: list[FormStatus]) -> None:
    """Note a rejected file against the outstanding form it was meant to be (by identity, else by file name)."""
    form = _form_for(f, forms)
    if form is not None and form.state == OUTSTANDING:
        form.not_accepted.append(f)


def _form_for(f: ReceivedFile, forms: list[FormStatus]) -> Optional[FormStatus]:
    if f.form_id:
        found = next((s for s in forms if s.form.identity.form_id == f.form_id), None)
        if found is not None:
            return found
    if f.case_ref:
        found = next((s for s in forms if s.form.identity.case_ref == f.case_ref
                      and s.form.identity.kind is FormKind.AUDIT), None)
        if found is not None:
            return found
    sent = Path(split_origin(f.original_path)[1].replace("\\", "/")).stem.casefold()
    named = [s for s in forms if _names(sent, Path(s.form.path).stem.casefold())]
    return max(named, key=lambda s: len(Path(s.form.path).stem), default=None)


def _names(sent: str, issued: str) -> bool:
    """'police_n-01 (2)' names 'police_n-01'; 'police_n-010' does not."""
    if not sent.startswith(issued):
        return False
    rest = sent[len(issued):]
    return not rest or not (rest[0].isalnum() or rest[0] == "-")


# --- chasing ------------------------------------------------------------------------


@dataclass
class ChaseEntry:
    agency: Agency
    outstanding: list[FormStatus]
    incomplete: list[FormStatus]
    named: list[FormStatus] = field(default_factory=list)  # complete, but answers name a child
    overdue: list[TrackedAction] = field(default_factory=list)  # the agency's actions past their due date

    def text(self, cycle: Cycle) -> str:
        """An email body the officer can paste: what is missing, what needs putting right; no child's name in it."""
        return redact(self._text(cycle), terms_for(cycle))

    def _text(self, cycle: Cycle) -> str:
        a = self.agency
        settings = cycle.settings
        lines = [f"To: {a.contact_name or a.name}" + (f" <{a.secure_email}>" if a.secure_email else " (no secure email in the workbook)"),
                 f"Subject: {settings.board_name} case audit {settings.cycle_name}: forms still needed from {a.short_name or a.name}",
                 "",
                 f"Dear {a.contact_name or a.name},", ""]
        never = [f for f in self.outstanding if not f.not_accepted]
        refused = [f for f in self.outstanding if f.not_accepted]
        if never:
            lines.append("We have not yet received these audit forms:")
            lines += [f"  - {f.label}: {Path(f.form.path).name}" for f in never]
            lines.append("")
        if refused:
            lines.append("We received files for these forms but could NOT ACCEPT them, so nothing from them has "
                         "been counted yet:")
            for f in refused:
                lines += _refused_lines(f)
            lines.append("")
        if self.incomplete:
            lines.append("These forms were received but need something put right:")
            for f in self.incomplete:
                lines.append(f"  - {f.label}: {Path(f.form.path).name}")
                for p in f.to_put_right:
                    lines.append(f"      {p.location + ': ' if p.location else ''}{p.message}")
            lines.append("")
        if self.named:
            lines.append("These forms were received and counted, but answers name a child. Please send them again "
                         "referring to the child by the case reference only:")
            for f in self.named:
                lines.append(f"  - {f.label}: {Path(f.form.path).name}")
                lines += [f"      {p.location}" for p in f.names_a_child if p.location]
            lines.append("")
        if self.overdue:
            lines.append("These actions from the case audit are past their due date and not yet complete. Please "
                         "send an update on the action progress form (status, progress and evidence of impact):")
            lines += [f"  - {a.action_id} (due {a.due:%d %B %Y}): {a.text}" for a in self.overdue if a.due]
            lines.append("")
        if settings.return_deadline and (self.outstanding or self.incomplete or self.named):
            lines.append(f"Please return them by {settings.return_deadline:%d %B %Y}.")
        if settings.return_instructions:
            lines.append(settings.return_instructions)
        lines += ["", "Thank you."]
        return "\n".join(lines)


def _refused_lines(f: FormStatus) -> list[str]:
    """Which file came, why it was not accepted, and what to send instead."""
    issued = Path(f.form.path).name
    lines = [f"  - {f.label}: {issued}"]
    for sent in f.not_accepted:
        lines.append(f"      You sent {file_name(sent.original_path)} on {sent.received_at:%d %B %Y}.")
        errors = [p for p in sent.problems if p.severity is Severity.ERROR] or \
            [Problem(code="return.rejected", message=sent.message)]
        fixes = []
        from .returns import agency_fix  # here: plain `status` starts without the form reader
        for p in errors:
            lines.append(f"      Why it was not accepted: {p.message}")
            fixes += [fix] if (fix := agency_fix(p.code, p.fix)) and fix not in fixes else []
        for fix in fixes or [f"Please send the Word form {issued}, filled in and saved as a Word document (.docx)."]:
            lines.append(f"      What to send instead: {fix}")
    return lines


def chase_list(ws: Workspace, cycle: Cycle, report: Optional[StatusReport] = None) -> list[ChaseEntry]:
    """Agencies with outstanding or incomplete forms, with contact and secure email from the workbook."""
    report = report or agency_status(ws, cycle)
    entries = []
    for a in report.agencies:
        outstanding = [f for f in a.forms if f.state == OUTSTANDING]
        incomplete = [f for f in a.forms if f.state == INCOMPLETE]
        named = [f for f in a.forms if f.state != INCOMPLETE and f.names_a_child]
        overdue = report.overdue.get(a.agency.code, [])
        if outstanding or incomplete or named or overdue:
            entries.append(ChaseEntry(a.agency, outstanding, incomplete, named, overdue))
    return entries


# --- the same as a workbook -------------------------------------------------------------


def write_status_xlsx(ws: Workspace, report: StatusReport, chase: Optional[list[ChaseEntry]] = None) -> Path:
    """outbox/status.xlsx: per agency, per form, and (given a chase list) who to chase; written whole or not at all.

    Made to be shared (the chase sheet is for emailing): no child's name goes in,
    not even in the name an agency gave the file it sent back.
    """
    from openpyxl import Workbook  # here, not at the top: plain `status` starts without openpyxl (and numpy)

    from .results import fill_sheet

    wb = Workbook(write_only=True)
    sheet = wb.create_sheet("Status")
    rows = [[a.agency.code, a.agency.name, a.issued, a.complete, a.incomplete, a.no_involvement, a.outstanding,
             a.rejected_files, a.child_named, a.last_return] for a in report.agencies]
    t = report.totals
    rows.append(["Total", "", t["issued"], t["complete"], t["incomplete"], t["no_involvement"], t["outstanding"],
                 t["rejected_files"], t["child_named"], report.last_return])
    fill_sheet(sheet, [("Agency", 10), ("Agency name", 30), ("Forms issued", 10), ("Returned complete", 11),
                       ("Returned incomplete", 11), ("No involvement", 11), ("Outstanding", 11),
                       ("Files rejected", 10), ("Answers name a child", 11), ("Last return", 17)], rows)
    form_rows = []
    for a in report.agencies:
        for f in a.forms:
            ident = f.form.identity
            c = f.counting
            form_rows.append([a.agency.code, ident.kind.value, ident.case_ref, ", ".join(map(str, ident.kloes)),
                              _state(f), f.versions, redact(c.source_file, report.terms) if c else "",
                              c.received_at if c else None, _wrong(f, report.terms), ident.form_id, f.form.path])
    fill_sheet(wb.create_sheet("Forms"), [("Agency", 10), ("Kind", 9), ("Case ref", 12), ("KLOEs", 10),
                                          ("State", 14), ("Versions received", 9), ("Version that counts", 36),
                                          ("Received", 17), ("What is wrong", 60), ("Form ID", 22), ("Issued as", 40)],
               form_rows)
    if chase is not None:
        chase_rows = []
        for entry in chase:
            for f in entry.outstanding + entry.incomplete + entry.named:
                chase_rows.append([entry.agency.code, entry.agency.name, entry.agency.contact_name,
                                   entry.agency.secure_email, f.label, _state(f), Path(f.form.path).name,
                                   _wrong(f, report.terms)])
        fill_sheet(wb.create_sheet("Chase"), [("Agency", 10), ("Agency name", 30), ("Contact", 22),
                                              ("Secure email", 30), ("Form", 24), ("State", 12), ("File sent", 30),
                                              ("What is wrong", 60)], chase_rows)
    buffer = io.BytesIO()
    wb.save(buffer)
    path = ws.outbox / "status.xlsx"
    atomic_write_bytes(path, buffer.getvalue())
    return path


def _state(f: FormStatus) -> str:
    return "not accepted" if f.not_accepted else f.state


def _wrong(f: FormStatus, terms: NameTerms) -> str:
    said = [f"{p.location}: {p.message}" if p.code == CHILD_NAMED else p.message for p in f.to_put_right]
    for sent in f.not_accepted:  # outstanding: what came was refused, and why
        why = [p.message for p in sent.problems if p.severity is Severity.ERROR] or [sent.message]
        said.append(f"{file_name(sent.original_path)} not accepted: {' '.join(why)}")
    return redact("; ".join(said), terms)
