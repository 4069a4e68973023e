"""The board's vocabulary: cycle, agency, case, KLOE, standard, rating, return.

Every stage speaks these models; none of them knows about files, Word or Excel.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime
from enum import Enum
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field

from .kinds import ActionStatus, FormKind  # noqa: F401 (part of the vocabulary; kept apart so `status` can use it without pydantic)


def normalise_label(text: str) -> str:
    """Compare labels the way a person reads them: case, spacing and dashes ignored."""
    text = text.replace("\u2013", "-").replace("\u2014", "-").replace("\u00a0", " ")
    return re.sub(r"\s+", " ", text).strip().casefold()


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- cycle configuration -------------------------------------------------


class CountingRule(str, Enum):
    """How the agencies' ratings of one case combine into 'the case met the standard'."""

    ALL = "all"
    MAJORITY = "majority"
    ANY = "any"


class FormProtection(str, Enum):
    """Word 'Restrict Editing' on issued forms. Off by default: Word for the web cannot edit protected forms."""

    NONE = "none"
    FILLING_IN_FORMS = "filling in forms"


class RatingKind(str, Enum):
    MET = "met"
    NOT_MET = "not met"
    NOT_APPLICABLE = "not applicable"


class RatingOption(Model):
    """One entry of the dropdown an auditor picks from, and what it counts as."""

    label: str
    kind: RatingKind

    @property
    def needs(self) -> str:
        """Met needs evidence; not met and N/A need a reason."""
        return "evidence" if self.kind is RatingKind.MET else "reason"


DEFAULT_RATING_OPTIONS = (
    RatingOption(label="Met or exceeded", kind=RatingKind.MET),
    RatingOption(label="Not met", kind=RatingKind.NOT_MET),
    RatingOption(label="Not applicable", kind=RatingKind.NOT_APPLICABLE),
)


class RatingScale(Model):
    options: tuple[RatingOption, ...] = DEFAULT_RATING_OPTIONS

    def find(self, label: str) -> Optional[RatingOption]:
        wanted = normalise_label(label)
        for option in self.options:
            if normalise_label(option.label) == wanted:
                return option
        return None

    @property
    def labels(self) -> list[str]:
        return [o.label for o in self.options]


DEFAULT_CASE_GRADES = ("Outstanding", "Good", "Requires improvement", "Inadequate")
DEFAULT_ESCALATE_GRADES = ("Inadequate",)


class CycleSettings(Model):
    board_name: str
    cycle_id: str = Field(description="Short stable reference written into every form, e.g. 2015-16")
    cycle_name: str = Field(description="As printed on forms and the report, e.g. 2015-2016")
    return_deadline: Optional[date] = None
    return_instructions: str = ""
    counting_rule: CountingRule = CountingRule.ALL
    form_protection: FormProtection = FormProtection.NONE
    report_title: str = "Multi-Agency Case Audit: Overview Report"
    round_name: str = Field("", description="This round of the audit programme, e.g. '2016-17 neglect round'")
    theme: str = Field("", description="A themed round's theme, e.g. 'Neglect'")
    previous_round: str = Field("", description="The previous round's workspace, relative to this one")
    # moderation: the panel's overall grade per case (best first), which grades are escalated, and whether the
    # board report lists escalated cases (otherwise only `status` does)
    case_grades: tuple[str, ...] = DEFAULT_CASE_GRADES
    escalate_grades: tuple[str, ...] = DEFAULT_ESCALATE_GRADES
    escalations_in_report: bool = False

    def grade(self, label: str) -> Optional[str]:
        """The grade on the scale that `label` names (case and spacing ignored), or None."""
        wanted = normalise_label(label)
        return next((g for g in self.case_grades if normalise_label(g) == wanted), None)
    keep_personal_data_until: Optional[date] = Field(
        None, description="Retention: the date the round's personal data may be removed (`close`); None = not decided")
    retention_decided_by: str = Field("", description="Who decided the retention date, e.g. the board minute")


class PriorityArea(Model):
    name: str
    description: str = ""


class Agency(Model):
    code: str
    name: str
    short_name: str
    contact_name: str = ""
    secure_email: str = ""


class Case(Model):
    ref: str
    priority_area: str
    child_name: str = Field(repr=False, description="Private: on forms for involved agencies only, never in the report")
    agencies: tuple[str, ...]


class Kloe(Model):
    number: int
    question: str
    title: str = Field("", description="Short heading used in Appendix 2, e.g. 'Voice of the child'")
    in_round: bool = Field(True, description="Asked in this round (a themed round may use a subset)")


class Standard(Model):
    number: int
    kloe: int
    text: str
    finding_met: str = Field(description="Completes 'In n% of cases (a of b), ...', e.g. 'the right agencies were involved'")
    finding_not_met: str = Field("", description="Completes 'In a of the b cases audited by X, ...'")
    na_allowed: bool = False
    in_round: bool = Field(True, description="Asked in this round (a themed round may use a subset)")

    @property
    def wording_fingerprint(self) -> str:
        """The wording, spacing ignored: the same standard in another round has the same fingerprint."""
        return wording_fingerprint(self.text)

    @property
    def identity(self) -> str:
        """Who this standard is across rounds: its number and its wording; a reworded standard is another one."""
        return f"{self.number}:{self.wording_fingerprint}"


def wording_fingerprint(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()[:12]


class Attendance(Model):
    agency: str
    count: int


class GroupWork(Model):
    priority_area: str
    strengths: tuple[str, ...] = ()
    development: tuple[str, ...] = ()
    next_steps: tuple[str, ...] = ()


class LearningAction(Model):
    """A row of Table 1 and a Key Area of Development; also a learning-log entry."""

    number: int
    learning_point: str
    actions: tuple[str, ...] = ()
    next_steps: tuple[str, ...] = ()
    kloe: Optional[int] = None
    owner: str = ""
    due: Optional[date] = None
    # tracked (issue 13): see pipeline/actions.py
    action_id: str = ""
    status: Optional["ActionStatus"] = None
    progress: str = ""
    evidence: str = ""
    round_raised: str = ""


class AgencyAction(Model):
    """A row of Appendix 3, the single-agency improvement plan."""

    agency: str
    action: str
    progress: str = ""
    completed: bool = False
    # tracked (issue 13): see pipeline/actions.py
    action_id: str = ""
    owner: str = ""
    due: Optional[date] = None
    status: Optional["ActionStatus"] = None
    evidence: str = ""
    round_raised: str = ""


class Cycle(Model):
    """One year's audit, as loaded and cross-checked from the cycle workbook."""

    settings: CycleSettings
    priority_areas: tuple[PriorityArea, ...]
    agencies: tuple[Agency, ...]
    cases: tuple[Case, ...]
    kloes: tuple[Kloe, ...]
    standards: tuple[Standard, ...]
    rating_scale: RatingScale = RatingScale()
    attendance: tuple[Attendance, ...] = ()
    group_work: tuple[GroupWork, ...] = ()
    learning_actions: tuple[LearningAction, ...] = ()
    agency_actions: tuple[AgencyAction, ...] = ()

    def in_round(self) -> "Cycle":
        """The cycle as this round asks it: only the KLOEs and standards marked in this round.

        A KLOE out of the round takes its standards with it; a KLOE none of whose
        standards is in the round is left out too.
        """
        kloes_in = {k.number for k in self.kloes if k.in_round}
        standards = tuple(s for s in self.standards if s.in_round and s.kloe in kloes_in)
        asked = {s.kloe for s in standards}
        kloes = tuple(k for k in self.kloes if k.number in asked)
        if kloes == self.kloes and standards == self.standards:
            return self
        return self.model_copy(update={"kloes": kloes, "standards": standards})

    def agency(self, code: str) -> Agency:
        for a in self.agencies:
            if a.code == code:
                return a
        raise KeyError(code)

    def case(self, ref: str) -> Case:
        for c in self.cases:
            if c.ref == ref:
                return c
        raise KeyError(ref)

    def kloe(self, number: int) -> Kloe:
        for k in self.kloes:
            if k.number == number:
                return k
        raise KeyError(number)

    def standard(self, number: int) -> Standard:
        for s in self.standards:
            if s.number == number:
                return s
        raise KeyError(number)

    def standards_for(self, kloe: int) -> tuple[Standard, ...]:
        return tuple(s for s in self.standards if s.kloe == kloe)

    def cases_for(self, agency_code: str) -> tuple[Case, ...]:
        return tuple(c for c in self.cases if agency_code in c.agencies)

    def fingerprint(self, kloes: tuple[int, ...] | None = None) -> str:
        """Identifies the exact wording of the standards a form asks about.

        A return whose fingerprint differs was made from an older toolkit and
        cannot be read against today's standards.
        """
        wanted = set(kloes) if kloes is not None else {k.number for k in self.kloes}
        h = hashlib.sha256()
        for k in sorted(self.kloes, key=lambda k: k.number):
            if k.number not in wanted:
                continue
            h.update(f"K{k.number}\x1f{k.question}\x1e".encode())
            for s in sorted(self.standards_for(k.number), key=lambda s: s.number):
                h.update(f"S{s.number}\x1f{s.text}\x1f{int(s.na_allowed)}\x1e".encode())
        for o in self.rating_scale.options:
            h.update(f"R{o.label}\x1f{o.kind.value}\x1e".encode())
        return h.hexdigest()[:16]


# --- forms and returns ---------------------------------------------------


class FormIdentity(Model):
    """What a form says it is. Written to custom document properties, checked on return."""

    form_id: str
    cycle_id: str
    agency: str
    kind: FormKind = FormKind.AUDIT
    case_ref: Optional[str] = None
    kloes: tuple[int, ...] = ()
    fingerprint: str = ""


class IssuedForm(Model):
    """A row of the issued-forms register."""

    identity: FormIdentity
    path: str = Field(description="Relative to the workspace, with forward slashes")
    file_sha256: str
    template_fingerprint: str
    issued_at: datetime
    superseded_by: Optional[str] = None
    # Digests of the paragraphs printed outside the form's tables (`returns.paragraph_digest`), so a return's
    # other text is found without the issued file; None for forms recorded before they were kept.
    printed: Optional[tuple[str, ...]] = None


class Answer(Model):
    """One agency's answer for one standard in one case."""

    standard: int
    rating: Optional[RatingKind] = None
    rating_label: str = ""
    evidence: str = ""
    reason: str = ""
    # Set only when the moderation panel changed this rating (`rating` is then the panel's): what the agency said
    agency_rating: Optional[RatingKind] = None
    agency_rating_label: Optional[str] = None
    moderation_reason: str = ""

    @property
    def moderated(self) -> bool:
        return self.agency_rating_label is not None


class ModerationDecision(Model):
    """One decision of the moderation panel, as recorded: never changed, never deleted (a new one supersedes it).

    kind "rating": the panel's rating of one agency's answer (agency, case_ref, standard), made against the
    agency's rating `from_label`; kind "grade": the panel's overall grade of a case (agency "" and standard 0).
    `to_label` "" withdraws an earlier decision.
    """

    kind: str
    agency: str = ""
    case_ref: str
    standard: int = 0
    from_label: str = ""
    to_label: str = ""
    reason: str = ""
    decided_by: str = ""
    decided_on: Optional[date] = None
    escalate: Optional[bool] = None
    recorded_at: Optional[datetime] = None

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.kind, self.agency, self.case_ref, self.standard)


class OtherText(Model):
    """Text the form did not ask for, typed outside its boxes: kept with the return, never read as an answer."""

    where: str  # e.g. "after the last table", "KLOE 2 table, Standard 3 wording"
    text: str


class AuditReturn(Model):
    """A returned audit form, read and validated; kept even when incomplete."""

    identity: FormIdentity
    no_involvement: bool = False
    no_involvement_reason: str = ""
    answers: tuple[Answer, ...] = ()
    complete: bool = True
    source_file: str = ""
    file_sha256: str = ""
    received_at: Optional[datetime] = None
    had_tracked_changes: bool = False
    had_comments: bool = False
    other_text: tuple[OtherText, ...] = ()

    def answer(self, standard: int) -> Optional[Answer]:
        for a in self.answers:
            if a.standard == standard:
                return a
        return None


class SummaryReturn(Model):
    """An agency's summary form: what Appendix 2 needs beyond the ratings."""

    identity: FormIdentity
    improvements: str = ""
    partnership: str = ""
    comments: str = ""
    source_file: str = ""
    file_sha256: str = ""
    received_at: Optional[datetime] = None
    other_text: tuple[OtherText, ...] = ()


class ActionUpdate(Model):
    """One action's row of a returned progress form: the agency's new status, progress and evidence of impact."""

    action_id: str
    status: Optional[ActionStatus] = None
    status_label: str = ""
    progress: str = ""
    evidence: str = ""


class ProgressReturn(Model):
    """An agency's action progress form, read and validated."""

    identity: FormIdentity
    updates: tuple[ActionUpdate, ...] = ()
    complete: bool = True
    source_file: str = ""
    file_sha256: str = ""
    received_at: Optional[datetime] = None
    other_text: tuple[OtherText, ...] = ()

    def update(self, action_id: str) -> Optional[ActionUpdate]:
        for u in self.updates:
            if u.action_id == action_id:
                return u
        return None
