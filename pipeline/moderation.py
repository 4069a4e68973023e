"""moderation.xlsx: the moderation panel's judgement, typed in Excel, recorded with reasons, used by every figure.

After the agencies have audited their cases alone, a multi-agency panel looks
at their ratings, may change one (with a reason), and gives each case an
overall grade on the cycle's scale (Settings: Case grades). `case-audit
moderate` writes moderation.xlsx beside cycle.xlsx:

- "Ratings": one row per agency x case x standard returned, the agency's own
  rating and words, then the panel's Moderated rating (a drop-down of the
  rating scale), Reason for change, Moderated by and Date;
- "Case grades": one row per case, its priority area, the agencies involved,
  the share of standards met (moderated figures), then Grade (a drop-down of
  the grade scale), Reason, Escalate?, Graded by and Date.

Running it again (after late returns) reads what was typed first, records it,
and writes the file afresh: every decision typed is kept, new returns add rows,
and a row whose agency answer has changed since the panel decided on it says
so in "Look again" (the decision is then not used until the panel confirms it
by clearing that cell, or changes it).

`ingest`, `status` and `build-report` read the file too (`sync_moderation`):
each new or changed decision is recorded in the store, never updated or
deleted (a changed decision is a new record; a cleared one a withdrawal), so
`case-audit moderate --log` can print the history. `moderated` then gives the
returns with the panel's ratings in place of the agencies' (each answer keeps
the agency's own on it), so every figure `findings` computes is moderated
without the counting code knowing; `moderation_findings` adds the few figures
moderation has of its own.

The workbook shows case references, never children's names: an agency's words
that name a child are shown with the name removed (`child_names.redact`).
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

from .child_names import find_name, redact, terms_for
from .models import AuditReturn, Answer, Cycle, FormKind, ModerationDecision, RatingKind, normalise_label
from .problems import ProblemReport
from .workspace import MODERATION_WORKBOOK, Workspace, atomic_write_bytes

FILE_NAME = MODERATION_WORKBOOK
RATINGS, GRADES, READ_ME = "Ratings", "Case grades", "Read me"
RATING, GRADE = "rating", "grade"

RATINGS_COLUMNS = [("Agency", 10), ("Case", 10), ("Priority area", 18), ("KLOE", 6), ("Standard", 9),
                   ("Agency rating", 16), ("Agency evidence/reason", 50), ("Moderated rating", 18),
                   ("Reason for change", 40), ("Moderated by", 16), ("Date", 12), ("Look again", 44)]
GRADES_COLUMNS = [("Case", 10), ("Priority area", 18), ("Agencies involved", 26), ("Share of standards met", 20),
                  ("Grade", 22), ("Reason", 40), ("Escalate?", 10), ("Graded by", 16), ("Date", 12)]
READ_ME_LINES = (
    "Moderation: the panel's judgement on the agencies' ratings, and a grade per case.",
    "Ratings: where the panel changes an agency's rating, pick the Moderated rating and say why in Reason for "
    "change (required), who decided and when. Leave Moderated rating blank to keep the agency's rating.",
    "Case grades: give each case a Grade from the drop-down, with a Reason. Escalate? defaults to the cycle "
    "workbook's Grades to escalate; type Y or N to decide otherwise.",
    "Look again: the agency's answer changed after the decision. The decision is not used until you confirm it "
    "(clear the Look again cell) or change it.",
    "Run 'case-audit moderate' again after late returns: it keeps everything typed here and adds the new rows. "
    "Every decision is recorded with who, when and why ('case-audit moderate --log').",
    "Case references only: never type a child's name here.",
)
SIMULATED_NOTE = "SIMULATED: the decisions and grades in this workbook were made up for the demonstration."
DATE_FORMAT = "dd/mm/yyyy"
REMOVED_NOTE = "[a child's name was removed here]"


def moderation_path(ws: Workspace) -> Path:
    return ws.moderation_path


# --- what the agencies said ------------------------------------------------------------------


@dataclass(frozen=True)
class AgencyAnswer:
    """One agency's current answer to one standard for one case (per-KLOE forms combined, latest version)."""

    agency: str
    case_ref: str
    standard: int
    label: str  # the agency's rating as it picked it ("" when blank)
    kind: Optional[RatingKind]
    said: str  # its evidence (met) or reason


def _own(a: Answer) -> tuple[str, Optional[RatingKind]]:
    return (a.agency_rating_label or "", a.agency_rating) if a.moderated else (a.rating_label, a.rating)


def current_answers(cycle: Cycle, returns: Iterable[AuditReturn]) -> dict[tuple[str, str, int], AgencyAnswer]:
    """Every standard returned, by (agency, case, standard): later forms win, a blank never hides a rating."""
    cases = {c.ref for c in cycle.cases}
    out: dict[tuple[str, str, int], AgencyAnswer] = {}
    for r in returns:
        ident = r.identity
        if (r.no_involvement or ident.kind is not FormKind.AUDIT or ident.cycle_id != cycle.settings.cycle_id
                or ident.case_ref not in cases):
            continue
        for std in cycle.standards:
            if ident.kloes and std.kloe not in ident.kloes:
                continue
            key = (ident.agency, ident.case_ref, std.number)
            a = r.answer(std.number)
            label, kind = _own(a) if a is not None else ("", None)
            if kind is None and key in out:
                continue
            said = "" if a is None else (a.evidence if kind is RatingKind.MET else a.reason)
            out[key] = AgencyAnswer(ident.agency, ident.case_ref, std.number, label if kind else "", kind, said)
    order_case = {c.ref: i for i, c in enumerate(cycle.cases)}
    order_agency = {a.code: i for i, a in enumerate(cycle.agencies)}
    return dict(sorted(out.items(), key=lambda kv: (order_case[kv[0][1]], order_agency.get(kv[0][0], 999),
                                                    kv[0][2])))


def same_label(a: str, b: str) -> bool:
    return normalise_label(a or "") == normalise_label(b or "")


# --- the store: decisions, append-only ----------------------------------------------------------


def recorded_decisions(store) -> list[ModerationDecision]:
    """Every decision ever recorded, oldest first."""
    rows = store.conn.execute("SELECT * FROM moderation_decisions ORDER BY id").fetchall()
    return [ModerationDecision(
        kind=r["kind"], agency=r["agency"], case_ref=r["case_ref"], standard=r["standard"],
        from_label=r["from_label"], to_label=r["to_label"], reason=r["reason"], decided_by=r["decided_by"],
        decided_on=date.fromisoformat(r["decided_on"]) if r["decided_on"] else None,
        escalate=None if r["escalate"] is None else bool(r["escalate"]),
        recorded_at=datetime.fromisoformat(r["recorded_at"]),
    ) for r in rows]


def latest_decisions(store) -> dict[tuple, ModerationDecision]:
    """The decision that stands for each row (the last recorded), withdrawn ones included (to_label "")."""
    return {d.key: d for d in recorded_decisions(store)}


def record_decisions(store, decisions: Sequence[ModerationDecision], now: Optional[datetime] = None) -> None:
    """Add decisions to the history in one transaction (they are never updated or deleted)."""
    if not decisions:
        return
    stamp = (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    with store.transaction() as conn:
        for d in decisions:
            conn.execute(
                "INSERT INTO moderation_decisions (kind, agency, case_ref, standard, from_label, to_label, reason, "
                "decided_by, decided_on, escalate, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (d.kind, d.agency, d.case_ref, d.standard, d.from_label, d.to_label, d.reason, d.decided_by,
                 d.decided_on.isoformat() if d.decided_on else None,
                 None if d.escalate is None else int(d.escalate),
                 d.recorded_at.isoformat(timespec="seconds") if d.recorded_at else stamp))


# --- reading what the panel typed -------------------------------------------------------------------


@dataclass
class TypedRating:
    """A Ratings row as typed: which answer, what the sheet showed as the agency's rating, and the decision."""

    agency: str
    case_ref: str
    standard: int
    shown: str  # the Agency rating cell: what the panel saw when it decided
    to_label: str
    reason: str
    by: str
    on: Optional[date]
    look_again: str
    location: str

    @property
    def decided(self) -> bool:
        return bool(self.to_label or self.reason or self.by)


@dataclass
class TypedGrade:
    case_ref: str
    grade: str
    reason: str
    escalate: Optional[bool]
    by: str
    on: Optional[date]
    location: str

    @property
    def decided(self) -> bool:
        return bool(self.grade or self.reason or self.by)


@dataclass
class ModerationSheet:
    """What moderation.xlsx holds (rows with a problem are left out), and every problem, by cell."""

    found: bool = False
    simulated: bool = False
    ratings: list[TypedRating] = field(default_factory=list)
    grades: list[TypedGrade] = field(default_factory=list)
    cleared: set[tuple] = field(default_factory=set)  # decision keys of rows whose decision cells are all blank
    problems: ProblemReport = field(default_factory=ProblemReport)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value).strip()


def _number(value: Any) -> Optional[int]:
    text = _text(value)
    return int(text) if text.isdigit() else None


def _date(value: Any) -> tuple[Optional[date], bool]:
    """The date typed (None when blank) and whether it could be read."""
    if value is None or _text(value) == "":
        return None, True
    if isinstance(value, datetime):
        return value.date(), True
    if isinstance(value, date):
        return value, True
    for fmt in ("%d/%m/%Y", "%Y-%m-%d", "%d/%m/%y", "%d-%m-%Y", "%d %B %Y", "%d %b %Y"):
        try:
            return datetime.strptime(_text(value), fmt).date(), True
        except ValueError:
            continue
    return None, False


class _Rows:
    """A sheet's rows by column heading (found in the first rows, in any order), with each cell's address."""

    def __init__(self, ws, columns: Sequence[tuple[str, float]]):
        self.name = ws.title
        wanted = {normalise_label(title): title for title, _ in columns}
        self.header_row, self.index = 0, {}
        for n, row in enumerate(ws.iter_rows(min_row=1, max_row=5, values_only=True), start=1):
            found = {wanted[normalise_label(_text(v))]: i for i, v in enumerate(row)
                     if normalise_label(_text(v)) in wanted}
            if len(found) > len(self.index):
                self.header_row, self.index = n, found
        self.missing = [title for title, _ in columns if title not in self.index]
        self.ws = ws

    def rows(self) -> Iterable[tuple[int, dict[str, Any]]]:
        for n, row in enumerate(self.ws.iter_rows(min_row=self.header_row + 1, values_only=True),
                                start=self.header_row + 1):
            values = {title: (row[i] if i < len(row) else None) for title, i in self.index.items()}
            if any(_text(v) for v in values.values()):
                yield n, values

    def at(self, row: int, title: str) -> str:
        from openpyxl.utils import get_column_letter

        return f"{self.name}!{get_column_letter(self.index[title] + 1)}{row}"


def read_sheet(path: Path, cycle: Cycle) -> ModerationSheet:
    """moderation.xlsx as typed, checked cell by cell; `found` False when there is no such file."""
    from openpyxl import load_workbook  # only when there is a workbook: `status` starts without openpyxl

    sheet = ModerationSheet()
    if not path.is_file():
        return sheet
    sheet.found = True
    try:
        # streamed (read-only): 22,000 rows at a thousand returns
        wb = load_workbook(io.BytesIO(path.read_bytes()), data_only=True, read_only=True)
    except PermissionError:
        raise
    except Exception as exc:  # not an xlsx, damaged, encrypted: said as one problem, nothing read
        sheet.problems.add("moderation.unreadable", file=path, reason=type(exc).__name__)
        return sheet
    if READ_ME in wb.sheetnames:
        sheet.simulated = any(_text(r[0]).startswith("SIMULATED") for r in wb[READ_ME].iter_rows(values_only=True)
                              if r)
    check = _Checker(path, cycle, sheet.problems, sheet.cleared)
    for name, columns, reader in ((RATINGS, RATINGS_COLUMNS, check.rating),
                                  (GRADES, GRADES_COLUMNS, check.grade)):
        if name not in wb.sheetnames:
            sheet.problems.add("moderation.missing-sheet", file=path, location=name, sheet=name)
            continue
        rows = _Rows(wb[name], columns)
        if rows.missing:
            sheet.problems.add("moderation.missing-column", file=path, location=f"{name}!1:1", sheet=name,
                               columns=", ".join(rows.missing))
            continue
        out = sheet.ratings if name == RATINGS else sheet.grades
        out.extend(made for n, values in rows.rows() for made in [reader(rows, n, values)] if made is not None)
    return sheet


class _Checker:
    """Turns a typed row into a decision, or into problems naming the cells to put right."""

    def __init__(self, path: Path, cycle: Cycle, problems: ProblemReport, cleared: set[tuple]):
        self.path, self.cycle, self.problems, self.cleared = path, cycle, problems, cleared
        self.cases = {normalise_label(c.ref): c.ref for c in cycle.cases}
        self.agencies = {normalise_label(a.code): a.code for a in cycle.agencies}
        self.standards = {s.number for s in cycle.standards}
        self.terms = terms_for(cycle)

    def add(self, code: str, rows: _Rows, n: int, title: str, value: Any = None, **fields) -> None:
        self.problems.add(code, file=self.path, location=rows.at(n, title),
                          value=_text(value) if _text(value) else None, **fields)

    def _case(self, rows: _Rows, n: int, value: Any) -> Optional[str]:
        ref = self.cases.get(normalise_label(_text(value)))
        if ref is None:
            self.add("moderation.unknown-case", rows, n, "Case", value, case=_text(value))
        return ref

    def _common(self, rows: _Rows, n: int, reason_title: str, reason: str, when: Any) -> tuple[bool, Optional[date]]:
        ok = True
        if reason and find_name(reason, self.terms) is not None:
            self.add("moderation.names-child", rows, n, reason_title)
            ok = False
        on, readable = _date(when)
        if not readable:
            self.add("moderation.bad-date", rows, n, "Date", when)
            ok = False
        return ok, on

    def rating(self, rows: _Rows, n: int, v: dict[str, Any]) -> Optional[TypedRating]:
        to, reason, by = _text(v["Moderated rating"]), _text(v["Reason for change"]), _text(v["Moderated by"])
        if not (to or reason or by):  # the agency's rating stands (an earlier decision here was withdrawn)
            case = self.cases.get(normalise_label(_text(v["Case"])))
            agency = self.agencies.get(normalise_label(_text(v["Agency"])))
            self.cleared.add((RATING, agency, case, _number(v["Standard"])))
            return None
        ok, on = self._common(rows, n, "Reason for change", reason, v["Date"])
        case = self._case(rows, n, v["Case"])
        agency = self.agencies.get(normalise_label(_text(v["Agency"])))
        if agency is None:
            self.add("moderation.unknown-agency", rows, n, "Agency", v["Agency"], agency=_text(v["Agency"]))
        standard = _number(v["Standard"])
        if standard not in self.standards:
            self.add("moderation.unknown-standard", rows, n, "Standard", v["Standard"])
        option = self.cycle.rating_scale.find(to) if to else None
        if to and option is None:
            self.add("moderation.rating-not-on-scale", rows, n, "Moderated rating", to,
                     scale=", ".join(self.cycle.rating_scale.labels))
        if to and not reason:
            self.add("moderation.no-reason", rows, n, "Reason for change")
        if not (ok and case and agency and standard in self.standards and (not to or option) and (reason or not to)):
            return None
        return TypedRating(agency, case, standard, _text(v["Agency rating"]), option.label if option else "",
                           reason, by, on, _text(v["Look again"]), rows.at(n, "Moderated rating"))

    def grade(self, rows: _Rows, n: int, v: dict[str, Any]) -> Optional[TypedGrade]:
        typed, reason, by = _text(v["Grade"]), _text(v["Reason"]), _text(v["Graded by"])
        escalate_text = normalise_label(_text(v["Escalate?"]))
        if not (typed or reason or by or escalate_text):
            self.cleared.add((GRADE, "", self.cases.get(normalise_label(_text(v["Case"]))), 0))
            return None
        ok, on = self._common(rows, n, "Reason", reason, v["Date"])
        case = self._case(rows, n, v["Case"])
        grade = self.cycle.settings.grade(typed) if typed else ""
        if grade is None:
            self.add("moderation.grade-not-on-scale", rows, n, "Grade", typed,
                     scale="; ".join(self.cycle.settings.case_grades))
        escalate = {"": None, "y": True, "yes": True, "n": False, "no": False}.get(escalate_text, "bad")
        if escalate == "bad":
            self.add("moderation.bad-yes-no", rows, n, "Escalate?", v["Escalate?"])
        if not (ok and case and grade is not None and escalate != "bad"):
            return None
        return TypedGrade(case, grade, reason, escalate, by, on, rows.at(n, "Grade"))


# --- from the sheet to the history ----------------------------------------------------------------


def _differs(a: ModerationDecision, b: ModerationDecision) -> bool:
    return (not same_label(a.to_label, b.to_label) or a.reason.strip() != b.reason.strip()
            or a.decided_by.strip() != b.decided_by.strip() or a.decided_on != b.decided_on
            or a.escalate != b.escalate)


def new_decisions(sheet: ModerationSheet, latest: dict[tuple, ModerationDecision]) -> list[ModerationDecision]:
    """What the sheet says that the history does not yet: new and changed decisions, confirmations, withdrawals.

    A decision whose agency answer changed since (its Look again cell filled in by a refresh) is confirmed
    when the panel clears that cell: it is recorded again against the agency rating the row now shows.
    """
    out: list[ModerationDecision] = []
    for t in sheet.ratings:
        made = ModerationDecision(kind=RATING, agency=t.agency, case_ref=t.case_ref, standard=t.standard,
                                  from_label=t.shown, to_label=t.to_label, reason=t.reason, decided_by=t.by,
                                  decided_on=t.on)
        last = latest.get(made.key)
        if last is None or not last.to_label:
            if t.to_label and (last is None or _differs(made, last) or not same_label(t.shown, last.from_label)):
                out.append(made)
        elif _differs(made, last) or (not t.look_again and not same_label(t.shown, last.from_label)):
            out.append(made)
    for g in sheet.grades:
        made = ModerationDecision(kind=GRADE, case_ref=g.case_ref, to_label=g.grade, reason=g.reason,
                                  decided_by=g.by, decided_on=g.on, escalate=g.escalate)
        last = latest.get(made.key)
        if (last is None and g.grade) or (last is not None and _differs(made, last)):
            out.append(made)
    for key in sheet.cleared:
        last = latest.get(key)
        if last is not None and last.to_label:
            out.append(last.model_copy(update={"to_label": "", "reason": "cleared in moderation.xlsx",
                                               "decided_by": "", "decided_on": None, "escalate": None,
                                               "recorded_at": None}))
    return out


# --- the panel's ratings in place of the agencies' ---------------------------------------------------


@dataclass(frozen=True)
class Stale:
    """A decision made on an agency answer that has changed since: not used until the panel looks again."""

    decision: ModerationDecision
    now: Optional[AgencyAnswer]  # None: the agency no longer returns this standard for this case

    @property
    def now_label(self) -> str:
        if self.now is None:
            return "no answer"
        return self.now.label or "blank"


def standing(cycle: Cycle, answers: dict[tuple[str, str, int], AgencyAnswer],
             latest: dict[tuple, ModerationDecision]) -> tuple[dict[tuple[str, str, int], ModerationDecision],
                                                               list[Stale]]:
    """The rating decisions that change a rating today, by answer, and those waiting for another look."""
    use: dict[tuple[str, str, int], ModerationDecision] = {}
    stale: list[Stale] = []
    for d in latest.values():
        if d.kind != RATING or not d.to_label or cycle.rating_scale.find(d.to_label) is None:
            continue
        now = answers.get((d.agency, d.case_ref, d.standard))
        if now is None or not same_label(now.label, d.from_label):
            stale.append(Stale(d, now))
        elif not same_label(d.to_label, d.from_label):
            use[(d.agency, d.case_ref, d.standard)] = d
    return use, stale


def moderated(cycle: Cycle, returns: Sequence[AuditReturn],
              latest: dict[tuple, ModerationDecision]) -> list[AuditReturn]:
    """The returns with the panel's rating in place of the agency's wherever a standing decision changed it.

    Each changed answer keeps the agency's own rating (`agency_rating`, `agency_rating_label`) and the
    panel's reason, so results.xlsx and the feedback can show both; everything else is untouched.
    """
    if not any(d.kind == RATING and d.to_label for d in latest.values()):
        return list(returns)  # nothing decided: the returns as they are, without looking through them
    use, _ = standing(cycle, current_answers(cycle, returns), latest)
    if not use:
        return list(returns)
    done: set[tuple[str, str, int]] = set()
    last_cover: dict[tuple[str, str, int], int] = {}
    out: list[AuditReturn] = []
    for i, r in enumerate(returns):
        ident = r.identity
        if r.no_involvement or ident.kind is not FormKind.AUDIT:
            out.append(r)
            continue
        for s in cycle.standards:
            if not ident.kloes or s.kloe in ident.kloes:
                last_cover[(ident.agency, ident.case_ref, s.number)] = i
        answers = []
        for a in r.answers:
            key = (ident.agency, ident.case_ref, a.standard)
            if key in use and not a.moderated:
                a = _changed(cycle, a, use[key])
                done.add(key)
            answers.append(a)
        out.append(r.model_copy(update={"answers": tuple(answers)}))
    for key in set(use) - done:  # the agency left it blank and its form has no answer for it at all
        if key in last_cover:
            i = last_cover[key]
            blank = _changed(cycle, Answer(standard=key[2]), use[key])
            out[i] = out[i].model_copy(update={"answers": tuple(sorted((*out[i].answers, blank),
                                                                       key=lambda a: a.standard))})
    return out


def _changed(cycle: Cycle, a: Answer, d: ModerationDecision) -> Answer:
    option = cycle.rating_scale.find(d.to_label)
    return a.model_copy(update={"rating": option.kind, "rating_label": option.label,
                                "agency_rating": a.rating, "agency_rating_label": a.rating_label,
                                "moderation_reason": d.reason})


# --- reading, recording and checking: what ingest, status, build-report and moderate share -------------


@dataclass
class ModerationState:
    """Where moderation stands: the decisions that stand, those waiting for another look, and problems."""

    found: bool = False
    simulated: bool = False
    latest: dict[tuple, ModerationDecision] = field(default_factory=dict)
    stale: list[Stale] = field(default_factory=list)
    recorded: int = 0
    problems: ProblemReport = field(default_factory=ProblemReport)

    def grade(self, case_ref: str) -> Optional[ModerationDecision]:
        d = self.latest.get((GRADE, "", case_ref, 0))
        return d if d is not None and d.to_label else None


def sync_moderation(ws: Workspace, cycle: Cycle, store, returns: Optional[Sequence[AuditReturn]] = None,
                    *, now: Optional[datetime] = None) -> ModerationState:
    """Read moderation.xlsx when there is one, record what is new in the store, and say what needs a look.

    The caller holds the workspace lock. Rows with a problem are not recorded (the problems say which cells).
    """
    if returns is None:
        returns = store.current_audit_returns(cycle)
    path = moderation_path(ws)
    sheet = read_sheet(path, cycle)
    state = ModerationState(found=sheet.found, simulated=sheet.simulated, problems=sheet.problems)
    fresh = new_decisions(sheet, latest_decisions(store))
    record_decisions(store, fresh, now)
    state.recorded = len(fresh)
    state.latest = latest_decisions(store)
    if any(d.kind == RATING and d.to_label for d in state.latest.values()):
        _, state.stale = standing(cycle, current_answers(cycle, returns), state.latest)
    for s in state.stale:
        d = s.decision
        state.problems.add("moderation.answer-changed", file=path if sheet.found else None,
                           location=f"{RATINGS}: {d.agency} {d.case_ref} standard {d.standard}",
                           agency=d.agency, case=d.case_ref, standard=d.standard, was=d.from_label or "blank",
                           now=s.now_label)
    return state


# --- writing moderation.xlsx ------------------------------------------------------------------------


@dataclass
class ModerateResult:
    path: Path
    rating_rows: int
    grade_rows: int
    decisions: int  # rows with a standing decision (ratings and grades)
    look_again: int
    recorded: int  # decisions newly recorded from what was typed
    problems: ProblemReport
    feedback: list[Path] = field(default_factory=list)  # notes telling agencies which ratings the panel changed


def write_moderation(ws: Workspace, cycle: Cycle, *, simulated: bool = False,
                     now: Optional[datetime] = None) -> ModerateResult:
    """Write or refresh moderation.xlsx; raises CaseAuditError (nothing written) when what was typed has errors."""
    from .problems import CaseAuditError
    from .store import Store

    with ws.lock():
        store = Store.open(ws.store_path)
        try:
            returns = store.current_audit_returns(cycle)
            state = sync_moderation(ws, cycle, store, returns, now=now)
            if state.problems.errors:
                raise CaseAuditError(f"{FILE_NAME} has {len(state.problems.errors)} problem(s) to put right "
                                     "before it can be refreshed (nothing was changed).", state.problems)
            book, counts = moderation_workbook(cycle, returns, state, simulated=simulated or state.simulated)
            buffer = io.BytesIO()
            book.save(buffer)
            path = moderation_path(ws)
            atomic_write_bytes(path, buffer.getvalue())
            feedback = write_moderation_feedback(ws, cycle, store, now=now)
        finally:
            store.close()
    return ModerateResult(path, *counts, recorded=state.recorded, problems=state.problems, feedback=feedback)


def moderation_workbook(cycle: Cycle, returns: Sequence[AuditReturn], state: ModerationState, *,
                        simulated: bool = False):
    """The workbook, and (rating rows, grade rows, standing decisions, rows to look at again)."""
    from openpyxl import Workbook

    from .findings import compute_findings

    wb = Workbook()
    _read_me(wb.active, simulated)
    lists = wb.create_sheet("Lists")
    lists.sheet_state = "hidden"
    lists.append(["Ratings", "Grades", "Y/N"])
    scale, grades = cycle.rating_scale.labels, list(cycle.settings.case_grades)
    for i in range(max(len(scale), len(grades), 2)):
        lists.append([scale[i] if i < len(scale) else None, grades[i] if i < len(grades) else None,
                      ("Y", "N")[i] if i < 2 else None])
    ratings = wb.create_sheet(RATINGS)
    rating_rows, decided, stale = _rating_rows(cycle, returns, state)
    _fill(ratings, RATINGS_COLUMNS, rating_rows, text_columns=(1, 2))
    _validate(ratings, "H", len(rating_rows), f"Lists!$A$2:$A${len(scale) + 1}", "a rating from the rating scale")
    findings = compute_findings(cycle, moderated(cycle, returns, state.latest))
    grade_rows = _grade_rows(cycle, findings, state)
    sheet = wb.create_sheet(GRADES)
    _fill(sheet, GRADES_COLUMNS, grade_rows, text_columns=(0,))
    _validate(sheet, "E", len(grade_rows), f"Lists!$B$2:$B${len(grades) + 1}", "a grade from the cycle's scale")
    _validate(sheet, "G", len(grade_rows), "Lists!$C$2:$C$3", "Y or N")
    graded = sum(1 for r in grade_rows if r[4])
    return wb, (len(rating_rows), len(grade_rows), decided + graded, stale)


def _read_me(ws, simulated: bool) -> None:
    from .excel_style import WRAP_TOP

    ws.title = READ_ME
    ws.column_dimensions["A"].width = 110
    lines = ((SIMULATED_NOTE,) if simulated else ()) + READ_ME_LINES
    for line in lines:
        ws.append([line])
        ws.cell(ws.max_row, 1).alignment = WRAP_TOP


def _rating_rows(cycle: Cycle, returns: Sequence[AuditReturn], state: ModerationState) -> tuple[list[list], int, int]:
    """One row per answer returned (and per standing decision whose answer is no longer returned)."""
    answers = current_answers(cycle, returns)
    stale = {s.decision.key: s for s in state.stale}
    kloe = {s.number: s.kloe for s in cycle.standards}
    area = {c.ref: c.priority_area for c in cycle.cases}
    terms = terms_for(cycle)
    rows, decided = [], 0
    keys = list(answers) + [(d.agency, d.case_ref, d.standard) for d in state.latest.values()
                            if d.kind == RATING and d.to_label and (d.agency, d.case_ref, d.standard) not in answers]
    for key in keys:
        agency, case_ref, number = key
        now = answers.get(key)
        d = state.latest.get((RATING, agency, case_ref, number))
        d = d if d is not None and d.to_label else None
        said = redact(now.said, terms, REMOVED_NOTE) if now else ""
        note = ""
        if d is not None and (RATING, agency, case_ref, number) in stale:
            s = stale[(RATING, agency, case_ref, number)]
            note = (f"The agency's answer changed from '{d.from_label or 'blank'}' to '{s.now_label}' after this "
                    "decision: clear this cell to confirm the moderated rating, or change it.")
        decided += d is not None and not note
        shown = now.label if now else ""  # today's; the panel confirms a Look again row against it
        rows.append([agency, case_ref, area.get(case_ref, ""), kloe.get(number), number, shown, said,
                     d.to_label if d else None, d.reason if d else None, d.decided_by if d else None,
                     d.decided_on if d else None, note or None])
    return rows, decided, len(stale)


def _grade_rows(cycle: Cycle, findings, state: ModerationState) -> list[list]:
    met = Counter(o.case_ref for s in findings.standards for o in s.by_case if o.outcome == "met")
    assessed = Counter(o.case_ref for s in findings.standards for o in s.by_case if o.outcome in ("met", "not met"))
    rows = []
    for c in cycle.cases:
        d = state.grade(c.ref)
        share = (f"{met[c.ref]} of {assessed[c.ref]} ({_percent(met[c.ref], assessed[c.ref])}%)"
                 if assessed[c.ref] else "not yet assessed")
        escalate = None if d is None or d.escalate is None else ("Y" if d.escalate else "N")
        rows.append([c.ref, c.priority_area, ", ".join(c.agencies), share, d.to_label if d else None,
                     d.reason if d else None, escalate, d.decided_by if d else None, d.decided_on if d else None])
    return rows


def _percent(part: int, whole: int) -> int:
    from .findings import percent
    return percent(part, whole)


def _fill(ws, columns, rows: list[list], text_columns: tuple[int, ...] = ()) -> None:
    from openpyxl.utils import get_column_letter

    from .excel_style import PLAIN, WRAP_TOP, cell, heading_row

    heading_row(ws, columns, PLAIN)
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(rows) + 1}"
    date_col = next(i for i, (title, _) in enumerate(columns) if title == "Date")
    for row in rows:
        ws.append([cell(ws, v, alignment=WRAP_TOP if width >= 36 else None,
                        number_format=DATE_FORMAT if i == date_col else ("@" if i in text_columns else None))
                   for i, (v, (_, width)) in enumerate(zip(row, columns))])


def _validate(ws, column: str, count: int, source: str, what: str) -> None:
    from openpyxl.worksheet.datavalidation import DataValidation

    dv = DataValidation(type="list", formula1=source, allow_blank=True, showDropDown=False)
    dv.errorTitle, dv.error = "Not in the list", f"Pick {what}."
    dv.promptTitle, dv.prompt = "Pick from the list", f"Pick {what}, or leave blank."
    dv.showErrorMessage = dv.showInputMessage = True
    ws.add_data_validation(dv)
    dv.add(f"{column}2:{column}{max(count, 1) + 1}")


# --- the history ----------------------------------------------------------------------------------


def history_lines(cycle: Cycle, decisions: Sequence[ModerationDecision]) -> list[str]:
    """The history in plain words, oldest first: one line per decision recorded."""
    lines = []
    for d in decisions:
        when = f"{d.recorded_at:%d %b %Y %H:%M}" if d.recorded_at else ""
        who = f" by {d.decided_by}" if d.decided_by else ""
        on = f" on {d.decided_on:%d/%m/%Y}" if d.decided_on else ""
        if d.kind == GRADE:
            what = f"case {d.case_ref} grade: {d.to_label or 'withdrawn'}"
            if d.escalate is not None:
                what += f" (escalate: {'Y' if d.escalate else 'N'})"
        else:
            what = (f"{d.agency} case {d.case_ref} standard {d.standard}: '{d.from_label or 'blank'}' -> "
                    f"'{d.to_label or 'withdrawn (agency rating stands)'}'")
        reason = f" - {d.reason}" if d.reason else ""
        lines.append(f"{when}  {what}{who}{on}{reason}")
    return lines


def moderation_history(ws: Workspace, cycle: Cycle) -> list[ModerationDecision]:
    """Every decision recorded, after recording what moderation.xlsx holds now."""
    from .store import Store

    with ws.lock():
        store = Store.open(ws.store_path)
        try:
            sync_moderation(ws, cycle, store)
            return recorded_decisions(store)
        finally:
            store.close()


# --- the demo's second round -----------------------------------------------------------------------


SIMULATED_BY = "Moderation panel (simulated)"
GRADE_BANDS = (90, 75, 55)  # share of standards met at or above which a simulated grade is the 1st, 2nd, 3rd


def simulate_moderation(ws: Workspace, cycle: Cycle, *, decided_on: Optional[date] = None,
                        now: Optional[datetime] = None) -> Path:
    """Write moderation.xlsx with a few simulated decisions and a simulated grade for every case, and record them.

    For `case-audit demo --rounds 2`: call it in the second round after that round's ingest and before its
    build-report, which then shows moderation. Every reason says SIMULATED and the Read me sheet says so too.
    Changes about one 'met' rating in 150 to 'not met', and the first two 'not met' ratings to 'met'.
    """
    from openpyxl import load_workbook

    write_moderation(ws, cycle, simulated=True, now=now)
    path = moderation_path(ws)
    wb = load_workbook(path)
    on = decided_on or (now or datetime.now(timezone.utc)).date()
    labels = {o.kind: o.label for o in reversed(cycle.rating_scale.options)}
    _simulate_ratings(wb[RATINGS], labels, on)
    _simulate_grades(wb[GRADES], cycle, on)
    buffer = io.BytesIO()
    wb.save(buffer)
    atomic_write_bytes(path, buffer.getvalue())
    write_moderation(ws, cycle, simulated=True, now=now)
    return path


def _heads(ws) -> dict[str, int]:
    return {_text(c.value): i for i, c in enumerate(ws[1])}


def _simulate_ratings(ws, labels: dict[RatingKind, str], on: date) -> None:
    h = _heads(ws)
    rows = list(ws.iter_rows(min_row=2))
    met = [r for r in rows if same_label(_text(r[h["Agency rating"]].value), labels.get(RatingKind.MET, ""))]
    not_met = [r for r in rows if same_label(_text(r[h["Agency rating"]].value), labels.get(RatingKind.NOT_MET, ""))]
    changes = [(r, RatingKind.NOT_MET, "SIMULATED: the panel found no record of this in the case file.")
               for r in met[75::150]]
    changes += [(r, RatingKind.MET, "SIMULATED: the panel saw evidence the agency had not cited.") for r in not_met[:2]]
    for row, kind, reason in changes:
        if kind not in labels:
            continue
        row[h["Moderated rating"]].value = labels[kind]
        row[h["Reason for change"]].value = reason
        row[h["Moderated by"]].value = SIMULATED_BY
        row[h["Date"]].value = on


def _simulate_grades(ws, cycle: Cycle, on: date) -> None:
    h = _heads(ws)
    grades = cycle.settings.case_grades
    for row in ws.iter_rows(min_row=2):
        share = _text(row[h["Share of standards met"]].value)
        if "(" not in share:
            continue
        pct = int(share.split("(")[1].rstrip("%)"))
        band = sum(1 for edge in GRADE_BANDS if pct < edge)
        row[h["Grade"]].value = grades[min(band, len(grades) - 1)]
        row[h["Reason"]].value = f"SIMULATED: {share} of the standards assessed were met."
        row[h["Graded by"]].value = SIMULATED_BY
        row[h["Date"]].value = on


# --- what the figures use ------------------------------------------------------------------------------


def apply_moderation(ws: Workspace, cycle: Cycle, store, returns: Sequence[AuditReturn]
                     ) -> tuple[list[AuditReturn], ModerationState]:
    """Read and record moderation.xlsx, then the returns as the figures count them (the panel's ratings)."""
    state = sync_moderation(ws, cycle, store, returns)
    return moderated(cycle, returns, state.latest), state


def moderated_from_store(cycle: Cycle, store, returns: Optional[Sequence[AuditReturn]] = None) -> list[AuditReturn]:
    """The store's current returns with the decisions already recorded applied (moderation.xlsx is not read)."""
    if returns is None:
        returns = store.current_audit_returns(cycle)
    return moderated(cycle, returns, latest_decisions(store))


def with_moderation(findings, cycle: Cycle, returns: Sequence[AuditReturn], state: ModerationState):
    """The findings with the panel's own figures, when the panel has decided anything that stands."""
    from .findings import moderation_findings

    grades = [d for d in state.latest.values() if d.kind == GRADE and d.to_label]
    made = moderation_findings(cycle, returns, grades, awaiting=len(state.stale), simulated=state.simulated)
    if not (made.ratings_changed or made.cases_graded or made.awaiting_another_look):
        return findings
    return findings.model_copy(update={"moderation": made})


# --- status: what the officer follows up --------------------------------------------------------------


@dataclass
class ModerationStatus:
    found: bool
    escalated: list[tuple[str, str, str]]  # (case, priority area, grade)
    graded: int
    changed: int
    problems: ProblemReport


def moderation_status(ws: Workspace, cycle: Cycle) -> ModerationStatus:
    """Read and record moderation.xlsx; the cases graded for escalation, and what needs putting right."""
    from .store import Store

    if not moderation_path(ws).is_file() and not ws.store_path.is_file():
        return ModerationStatus(False, [], 0, 0, ProblemReport())
    with ws.lock():
        store = Store.open(ws.store_path)
        try:
            decided = store.conn.execute("SELECT 1 FROM moderation_decisions LIMIT 1").fetchone()
            if not decided and not moderation_path(ws).is_file():  # `status` without moderation stays light
                return ModerationStatus(False, [], 0, 0, ProblemReport())
            returns, state = apply_moderation(ws, cycle, store, store.current_audit_returns(cycle))
        finally:
            store.close()
    from .findings import moderation_findings

    grades = [d for d in state.latest.values() if d.kind == GRADE and d.to_label]
    made = moderation_findings(cycle, returns, grades, awaiting=len(state.stale))
    return ModerationStatus(state.found, [(g.case_ref, g.priority_area, g.grade) for g in made.escalated],
                            made.cases_graded, made.ratings_changed, state.problems)


# --- feedback: each agency told which of its ratings the panel changed, and why ----------------------------

FEEDBACK_STATE = "moderation-feedback.json"  # in .case-audit/: what each agency was last told


def feedback_note(cycle: Cycle, agency_code: str, changes, now: datetime) -> str:
    """The note for one agency: every rating of its returns the panel changed (standing today), with the reason."""
    settings = cycle.settings
    agency = cycle.agency(agency_code)
    lines = [f"{settings.board_name}: multi-agency case audit {settings.cycle_name}",
             f"Moderation: ratings the panel changed, {now:%d %B %Y %H:%M}", "", f"To: {agency.name}", "",
             "After the agencies' audits, the multi-agency moderation panel reviewed the ratings. It changed the "
             "ratings below on your returns; the board's figures use the panel's rating. Please share the reasons "
             "with the auditors and practitioners concerned, for your agency's own learning."]
    if not changes:
        lines += ["", "The panel has withdrawn the changes it told you about earlier: your own ratings stand."]
    for number, c in enumerate(changes, start=1):
        lines += ["", f"{number}. Case reference {c.case_ref}, standard {c.standard}",
                  f"   Your rating: {c.from_label or 'blank'}", f"   Panel's rating: {c.to_label}",
                  f"   Reason: {c.reason}"]
    return "\n".join(lines) + "\n"


def write_moderation_feedback(ws: Workspace, cycle: Cycle, store, now: Optional[datetime] = None) -> list[Path]:
    """A note per agency whose changed ratings differ from what it was last told; never overwrites a note."""
    import json
    import os

    from .findings import moderation_findings
    from .workspace import safe_name, unique_path

    now = now or datetime.now()
    made = moderation_findings(cycle, moderated_from_store(cycle, store), [])
    state_path = ws.state_dir / FEEDBACK_STATE
    try:
        told = json.loads(state_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        told = {}
    written = []
    for a in cycle.agencies:
        changes = made.changes_for(a.code)
        key = [[c.case_ref, c.standard, c.from_label, c.to_label, c.reason] for c in changes]
        if key == told.get(a.code, []):
            continue
        target = unique_path(ws.feedback_dir / safe_name(a.code) / f"moderation {now:%Y-%m-%d %H%M}.txt")
        atomic_write_bytes(target, feedback_note(cycle, a.code, changes, now).replace("\n", os.linesep)
                           .encode("utf-8-sig"))
        told[a.code] = key
        written.append(target)
    if written:
        atomic_write_bytes(state_path, json.dumps(told).encode("utf-8"))
    return written
