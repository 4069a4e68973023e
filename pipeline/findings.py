"""Where every figure in the board report comes from.

One call, `compute_findings`, turns the cycle and the current returns into a
`Findings` tree of numbers (counts, percentages, structured comparisons and
digests of the counts) that the report and results.xlsx read. Every
percentage goes through `percent`. There are no sentences here: `wording`
turns these numbers into English, always printing a percentage beside the
counts it came from, so the report can never say "85% (9 of 11)".

Counting rules (how several agencies' ratings of one case become "the case met
the standard") are in `case_outcome`. 'Not applicable' and blank answers are
never a rating of the case: a case nobody rated met / not met is "not assessed"
for that standard and is left out of the denominator, which is always printed.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Optional, Sequence, Union

from pydantic import BaseModel

from .models import (
    Agency,
    Answer,
    AuditReturn,
    CountingRule,
    Cycle,
    FormKind,
    IssuedForm,
    Model,
    RatingKind,
    SummaryReturn,
    normalise_label,
)
from .versions import counting_versions, in_order_received
from .returns import not_allowed

# Agency-level exceptions: an agency is called out under a standard when its
# practice stands well below the rest of the partnership. All three must hold:
EXCEPTION_MIN_NOT_MET = 2  # it said "not met" in at least two cases (one case is an anecdote, not a pattern)
EXCEPTION_MIN_NOT_MET_SHARE = Fraction(1, 3)  # not met in at least a third of the cases it audited
EXCEPTION_MIN_GAP = Fraction(25, 100)  # its met-rate is at least 25 points below the other agencies' combined

QUOTE_LIMIT = 160

MET, NOT_MET, NOT_ASSESSED = "met", "not met", "not assessed"


# --- the two arithmetic rules ------------------------------------------------


def percent(part: int, whole: int) -> int:
    """The one place a percentage is made: halves round up, 0 of 0 is 0 (never printed without its counts)."""
    if whole <= 0:
        return 0
    value = Decimal(part) * 100 / Decimal(whole)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def case_outcome(rule: CountingRule, met: int, not_met: int) -> str:
    """Combine the agencies' ratings of one case; N/A and blanks are already left out of the counts."""
    rated = met + not_met
    if rated == 0:
        return NOT_ASSESSED
    if rule is CountingRule.ALL:
        ok = not_met == 0
    elif rule is CountingRule.MAJORITY:
        ok = met * 2 > rated  # a tie is not a majority
    else:
        ok = met >= 1
    return MET if ok else NOT_MET


# --- the findings tree --------------------------------------------------------


class Quote(Model):
    """Words an agency wrote, attributed and shortened; never edited otherwise.

    A child's name in them is not removed here: the report's privacy gate
    refuses to write a report that would quote one, and says where it is.
    """

    agency: str
    agency_name: str
    case_ref: str
    standard: int
    text: str
    shortened: bool = False


class CaseOutcome(Model):
    case_ref: str
    priority_area: str
    outcome: str  # "met" / "not met" / "not assessed"
    met: int
    not_met: int
    not_applicable: int
    missing: int


class AgencyStandardFigures(Model):
    """One agency's answers to one standard across the cases it audited.

    `audited` counts the cases whose returned form asked this standard: with per-KLOE forms
    a case can be audited for one KLOE while the form for another is still outstanding.
    """

    agency: str
    standard: int
    met: int
    not_met: int
    not_applicable: int
    missing: int
    audited: int

    @property
    def rated(self) -> int:
        return self.met + self.not_met


class AgencyException(Model):
    agency: str
    standard: int
    not_met: int
    audited: int
    agency_met_percent: int
    others_met_percent: int


class StandardFindings(Model):
    number: int
    kloe: int
    text: str
    finding_met: str
    finding_not_met: str
    na_allowed: bool
    cases_total: int
    cases_assessed: int
    cases_met: int
    cases_not_met: int
    cases_not_assessed: int
    percent_met: int
    responses_met: int
    responses_rated: int
    responses_not_applicable: int
    responses_missing: int
    percent_responses_met: int
    by_case: tuple[CaseOutcome, ...]
    by_agency: tuple[AgencyStandardFigures, ...]
    exceptions: tuple[AgencyException, ...]
    reasons: tuple[Quote, ...]
    na_reasons: tuple[Quote, ...]
    evidence: tuple[Quote, ...]
    digest: str


class KloeFindings(Model):
    number: int
    question: str
    title: str
    standards: tuple[StandardFindings, ...]
    digest: str


class AgencyKloeFindings(Model):
    """Appendix 2, one agency, one KLOE: what was met, what was not and why."""

    kloe: int
    title: str
    met: tuple[AgencyStandardFigures, ...]
    not_met: tuple[AgencyStandardFigures, ...]
    evidence: tuple[Quote, ...]
    reasons: tuple[Quote, ...]


class AgencyFindings(Model):
    code: str
    name: str
    short_name: str
    cases_involved: int
    cases_audited: int
    audited_case_refs: tuple[str, ...]
    no_involvement_case_refs: tuple[str, ...]
    met: int
    not_met: int
    not_applicable: int
    missing: int
    standards: tuple[AgencyStandardFigures, ...]
    standards_met_in_every_case: tuple[int, ...]
    standards_met_in_some_cases: tuple[int, ...]
    standards_not_met: tuple[int, ...]
    by_kloe: tuple[AgencyKloeFindings, ...]
    summary_returned: bool
    improvements: str
    partnership: str
    comments: str
    digest: str


class FormRef(Model):
    form_id: str
    kind: str
    agency: str
    agency_name: str
    case_ref: Optional[str] = None
    kloes: tuple[int, ...] = ()
    path: str = ""


class ReturnNote(Model):
    form_id: str
    agency: str
    case_ref: Optional[str] = None
    note: str = ""


class CaseAwaiting(Model):
    """An involved agency that has sent nothing at all for a case."""

    agency: str
    agency_name: str
    case_ref: str


class StandardCount(Model):
    standard: int
    count: int


class DataQuality(Model):
    """The Future Learning section: how complete the evidence behind the figures is."""

    forms_issued: int
    forms_returned: int
    forms_outstanding: int
    outstanding: tuple[FormRef, ...]
    returns_received: int
    incomplete: tuple[ReturnNote, ...]
    no_involvement: tuple[ReturnNote, ...]
    ignored: tuple[ReturnNote, ...]
    awaiting: tuple[CaseAwaiting, ...]
    not_applicable_total: int
    not_applicable_by_standard: tuple[StandardCount, ...]
    missing_total: int
    missing_by_standard: tuple[StandardCount, ...]
    not_allowed_total: int  # answers the form does not allow: counted as blank, within missing_total
    summaries_expected: int
    summaries_returned: int
    # counted by agency-case audit (one agency's audit of one case), however many forms it took
    audits_expected: int = 0
    audits_returned: int = 0  # every form issued for it came back
    audits_partly_returned: int = 0  # some of its per-KLOE forms came back, some are outstanding
    audits_incomplete: int = 0
    audits_no_involvement: int = 0
    per_kloe_forms_issued: int = 0  # current audit forms covering fewer than all KLOEs
    whole_forms_issued: int = 0
    digest: str


class PriorityAreaFigures(Model):
    name: str
    cases_selected: int
    cases_audited: int


class Methodology(Model):
    cases_selected: int
    cases_audited: int
    priority_areas: tuple[PriorityAreaFigures, ...]
    agencies_involved: int
    agencies_returned: tuple[str, ...]
    agency_names_returned: tuple[str, ...]
    digest: str


class AttendanceRow(Model):
    agency: str
    name: str  # the agency's full name, as Table 2 prints it
    count: int


class LearningEvent(Model):
    total_practitioners: int
    agencies_attending: int
    rows: tuple[AttendanceRow, ...]
    digest: str


class StandardHeadline(Model):
    standard: int
    cases_met: int
    cases_assessed: int
    percent_met: int


class ExecutiveSummary(Model):
    cases_selected: int
    cases_audited: int
    standards: tuple[StandardHeadline, ...]
    standards_met_in_every_case: tuple[int, ...]
    digest: str


class RatingChange(Model):
    """One rating the moderation panel changed: the agency's rating, the panel's, and why."""

    agency: str
    case_ref: str
    standard: int
    from_label: str  # "" when the agency left it blank
    to_label: str
    from_kind: str  # "met" / "not met" / "not applicable" / "blank"
    to_kind: str
    reason: str


class DirectionCount(Model):
    from_kind: str
    to_kind: str
    count: int


class AreaGrades(Model):
    """One priority area's cases by the panel's grade: `counts` and `case_refs` follow the grade scale's order."""

    name: str
    cases: int
    graded: int
    counts: tuple[int, ...]
    case_refs: tuple[tuple[str, ...], ...]


class CaseGrade(Model):
    case_ref: str
    priority_area: str
    grade: str
    escalate: bool


class ModerationFindings(Model):
    """What the moderation panel did: ratings changed (and which way), case grades by priority area, escalations."""

    simulated: bool = False
    ratings_changed: int
    directions: tuple[DirectionCount, ...]
    changes: tuple[RatingChange, ...]
    awaiting_another_look: int
    grades: tuple[str, ...]
    by_area: tuple[AreaGrades, ...]
    cases_graded: int
    case_grades: tuple[CaseGrade, ...]
    escalated: tuple[CaseGrade, ...]
    escalations_in_report: bool
    digest: str

    def changes_for(self, agency: str) -> tuple[RatingChange, ...]:
        return tuple(c for c in self.changes if c.agency == agency)


class Findings(Model):
    cycle_id: str
    cycle_name: str
    counting_rule: CountingRule
    standards: tuple[StandardFindings, ...]
    kloes: tuple[KloeFindings, ...]
    agencies: tuple[AgencyFindings, ...]
    data_quality: DataQuality
    methodology: Methodology
    learning_event: LearningEvent
    executive_summary: ExecutiveSummary
    moderation: Optional[ModerationFindings] = None  # set by `with_moderation` when the panel has decided anything

    def standard(self, number: int) -> StandardFindings:
        for s in self.standards:
            if s.number == number:
                return s
        raise KeyError(number)

    def kloe(self, number: int) -> KloeFindings:
        for k in self.kloes:
            if k.number == number:
                return k
        raise KeyError(number)

    def agency(self, code: str) -> AgencyFindings:
        for a in self.agencies:
            if a.code == code:
                return a
        raise KeyError(code)


# --- digest ------------------------------------------------------------------

_ITEM_KEYS = ("number", "standard", "code", "agency", "case_ref", "form_id")  # what names a row
_WORDS_ONLY = {"digest", "reasons", "na_reasons", "evidence"}  # agencies' words, not figures


def _counts(value, path: str, out: list) -> None:
    # Models are walked field by field, as model_dump would list them, but never dumped: a dump copied every
    # quote of every return (three times over: standards, KLOEs, agencies) only for the words to be skipped.
    # Leaves first: most values are counts or words, and isinstance(_, BaseModel) is slow.
    if type(value) is int:
        out.append((path, value))
    elif value is None or type(value) is str:
        return
    elif isinstance(value, BaseModel):
        for key in sorted(type(value).model_fields):
            if key not in _WORDS_ONLY:
                _counts(getattr(value, key), f"{path}.{key}", out)
    elif isinstance(value, dict):
        for key in sorted(value):
            if key in _WORDS_ONLY:
                continue
            _counts(value[key], f"{path}.{key}", out)
    elif isinstance(value, (list, tuple)):
        out.append((f"{path}#", len(value)))  # how many rows: incomplete returns, cases outstanding...
        for i, item in enumerate(value):
            _counts(item, f"{path}[{_row_label(item) or i}]", out)
    elif isinstance(value, int) and not isinstance(value, bool):
        out.append((path, value))


def _row_label(item) -> str:
    """What names a row in the digest ("standard=7,agency=POLICE"); empty when nothing does."""
    if isinstance(item, BaseModel):
        fields = type(item).model_fields
        named = ((k, getattr(item, k)) for k in _ITEM_KEYS if k in fields)
    elif isinstance(item, dict):
        named = ((k, item.get(k)) for k in _ITEM_KEYS)
    else:
        return ""
    return ",".join(f"{k}={v}" for k, v in named if v is not None)


def figures_digest(finding_subset) -> str:
    """A fingerprint of the counts alone, so edited narrative is flagged only when its figures moved.

    Wording, quotes and evidence do not change it; any count, or the number of rows in a list
    (cases outstanding, incomplete returns), does.
    """
    out: list = []
    _counts(finding_subset, "", out)
    blob = json.dumps(sorted(out), separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


# --- the figures a passage quotes ----------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One figure a report passage states, as numbers: what it is about, and its values.

    `kind` and `about` name it (a standard's headline is ("standard", (7,)), an
    agency exception ("exception", (7, "POLICE"))); `values` are its counts.
    A rebuild compares the figures an edited passage was written against with
    today's, key by key; `wording.figure_sentence` says each one in words.
    """

    kind: str
    about: tuple[Union[int, str], ...]
    values: tuple[int, ...]

    @property
    def key(self) -> tuple:
        return (self.kind, self.about)

    def to_json(self) -> list:
        return [self.kind, list(self.about), list(self.values)]

    @classmethod
    def from_json(cls, data) -> "Figure":
        kind, about, values = data
        return cls(str(kind), tuple(about), tuple(int(v) for v in values))


def headline_figure(s: StandardFindings) -> Figure:
    return Figure("standard", (s.number,), (s.cases_met, s.cases_assessed, s.cases_total))


def exception_figure(e: AgencyException) -> Figure:
    return Figure("exception", (e.standard, e.agency), (e.not_met, e.audited))


def kloe_figures(k: KloeFindings) -> tuple[Figure, ...]:
    """The KLOE commentary's figures: each standard's headline, then each agency exception."""
    return (tuple(headline_figure(s) for s in k.standards)
            + tuple(exception_figure(e) for s in k.standards for e in s.exceptions))


def methodology_figure(m: Methodology) -> Figure:
    return Figure("cases-audited", tuple(r.name for r in m.priority_areas),
                  (m.cases_selected, m.cases_audited, *(r.cases_audited for r in m.priority_areas)))


def returns_figures(dq: DataQuality) -> tuple[Figure, ...]:
    """Future Learning's figures; incomplete and no-involvement are counted per agency-case audit."""
    returns = Figure("returns", (), (dq.forms_issued, dq.forms_outstanding, len(dq.awaiting), dq.audits_incomplete,
                                     dq.audits_no_involvement, dq.not_applicable_total, dq.missing_total))
    if not dq.per_kloe_forms_issued:
        return (returns,)
    return (Figure("audits", (), (dq.audits_expected, dq.audits_returned, dq.audits_partly_returned)), returns)


def attendance_figures(ev: LearningEvent) -> tuple[Figure, ...]:
    return (Figure("attendance", (), (ev.total_practitioners, ev.agencies_attending)),) if ev.rows else ()


_SPACES = re.compile(r"\s+")


def shorten(text: str, limit: int = QUOTE_LIMIT) -> tuple[str, bool]:
    """Keep quotes short enough for a report paragraph, cut at a word boundary."""
    if text.isprintable() and "  " not in text:  # its only white space is single spaces: the same as below
        text = text.strip()
    else:
        text = _SPACES.sub(" ", text).strip()
    if len(text) <= limit:
        return text, False
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(" ,;:-.")
    return cut + "\u2026", True


# --- combining returns -----------------------------------------------------------


class _Pair:
    """What one agency said about one case, combined across its per-KLOE forms."""

    def __init__(self) -> None:
        self.returns: list[AuditReturn] = []
        self.answers: dict[int, Answer] = {}
        self.covered: set[int] = set()
        self.no_involvement = False
        self.no_involvement_reason = ""


def _combine(cycle: Cycle, returns: Sequence[AuditReturn]) -> tuple[dict[tuple[str, str], _Pair], list[ReturnNote], list[AuditReturn]]:
    agencies = {a.code for a in cycle.agencies}
    cases = {c.ref for c in cycle.cases}
    standard_numbers = {s.number for s in cycle.standards}
    ignored: list[ReturnNote] = []

    # Keep the version of each form that counts; later forms win where forms overlap.
    valid: list[AuditReturn] = []
    for r in returns:
        ident = r.identity
        note = None
        if ident.kind is not FormKind.AUDIT:
            note = "not an audit form"
        elif ident.cycle_id != cycle.settings.cycle_id:
            note = f"belongs to cycle {ident.cycle_id}, not {cycle.settings.cycle_id}"
        elif ident.agency not in agencies:
            note = f"agency {ident.agency} is not in this cycle"
        elif ident.case_ref not in cases:
            note = f"case {ident.case_ref} is not in this cycle"
        if note:
            ignored.append(ReturnNote(form_id=ident.form_id, agency=ident.agency, case_ref=ident.case_ref, note=note))
            continue
        valid.append(r)
    kept = in_order_received(counting_versions(in_order_received(valid)).values())

    pairs: dict[tuple[str, str], _Pair] = {}
    for r in kept:
        pair = pairs.setdefault((r.identity.agency, r.identity.case_ref), _Pair())
        pair.returns.append(r)
    for pair in pairs.values():
        ticked = [r for r in pair.returns if r.no_involvement]
        # Only when every form for the case says "no involvement" is the case not audited by the agency.
        if ticked and len(ticked) == len(pair.returns):
            pair.no_involvement = True
            pair.no_involvement_reason = ticked[-1].no_involvement_reason
            continue
        for r in pair.returns:
            if r.no_involvement:
                continue
            kloes = r.identity.kloes or tuple(k.number for k in cycle.kloes)
            pair.covered.update(s.number for s in cycle.standards if s.kloe in kloes)
            for a in r.answers:
                if a.standard in standard_numbers:
                    if a.rating is not None or a.standard not in pair.answers:  # a blank never hides a rating
                        pair.answers[a.standard] = a
                    pair.covered.add(a.standard)
    return pairs, ignored, kept


# --- the computation -----------------------------------------------------------


@dataclass
class _Inputs:
    """What every part of the computation reads: the cycle, its lookups, and who audited which case."""

    cycle: Cycle
    pairs: dict[tuple[str, str], _Pair]
    agency_by_code: dict[str, Agency]
    audited: dict[str, list[str]]  # agency -> case refs audited, in cycle order
    no_inv: dict[str, list[str]]  # agency -> case refs it reported no involvement in
    audits: dict[str, list[tuple[str, _Pair]]]  # case ref -> (agency, what it said), agencies in cycle order

    def quote(self, agency: str, case_ref: str, standard: int, text: str) -> Quote:
        short, cut = shorten(text)
        return _shared(Quote, agency=agency, agency_name=self.agency_by_code[agency].name, case_ref=case_ref,
                        standard=standard, text=short, shortened=cut)


_ALL_FIELDS: dict[type, set[str]] = {}


def _shared(model: type[BaseModel], **values):
    """A model of which there are very many, every field given already of its type, built without validation.

    Every answer with words becomes a `Quote` and every case a `CaseOutcome` per standard: 220,000
    quotes at 10,000 returns. Their values come typed from the validated cycle and returns (str, int,
    bool), so validating them again only cost time (half of it; `model_construct` costs more than
    validating). The models share one set of the fields given: each model's own copy
    (`model_fields_set`, 730 bytes) cost twice the model itself; it is never changed in place (a frozen
    model cannot be assigned to, and `model_copy` copies it first). tests/test_findings.py checks that
    a model built here equals the validated one.
    """
    fields = _ALL_FIELDS.get(model)
    if fields is None:
        fields = _ALL_FIELDS[model] = set(model.model_fields)
    if values.keys() != fields:
        raise TypeError(f"{model.__name__} needs every field given: {sorted(fields ^ values.keys())}")
    made = model.__new__(model)
    object.__setattr__(made, "__dict__", values)
    object.__setattr__(made, "__pydantic_fields_set__", fields)
    object.__setattr__(made, "__pydantic_extra__", None)
    object.__setattr__(made, "__pydantic_private__", None)
    return made


def _with_digest(made):
    return made.model_copy(update={"digest": figures_digest(made)})


def compute_findings(
    cycle: Cycle,
    returns: Sequence[AuditReturn],
    summaries: Sequence[SummaryReturn] = (),
    issued: Sequence[IssuedForm] = (),
) -> Findings:
    """Every figure of the board report, from the cycle and the current version of each return."""
    pairs, ignored, kept = _combine(cycle, returns)
    audited: dict[str, list[str]] = {a.code: [] for a in cycle.agencies}
    no_inv: dict[str, list[str]] = {a.code: [] for a in cycle.agencies}
    audits: dict[str, list[tuple[str, _Pair]]] = {}
    for case in cycle.cases:
        audits[case.ref] = []
        for agency in cycle.agencies:
            pair = pairs.get((agency.code, case.ref))
            if pair is not None:
                (no_inv if pair.no_involvement else audited)[agency.code].append(case.ref)
                if not pair.no_involvement:
                    audits[case.ref].append((agency.code, pair))
    inputs = _Inputs(cycle, pairs, {a.code: a for a in cycle.agencies}, audited, no_inv, audits)

    standard_findings = [_standard_findings(inputs, std) for std in cycle.standards]
    kloe_findings = [_kloe_findings(k, standard_findings) for k in cycle.kloes]
    agency_findings = _agency_findings(inputs, standard_findings, summaries)
    data_quality = _data_quality(cycle, pairs, kept, ignored, standard_findings, summaries, issued,
                                 inputs.agency_by_code)
    methodology = _methodology(cycle, audited, pairs)
    return Findings(
        cycle_id=cycle.settings.cycle_id, cycle_name=cycle.settings.cycle_name,
        counting_rule=cycle.settings.counting_rule,
        standards=tuple(standard_findings), kloes=tuple(kloe_findings), agencies=tuple(agency_findings),
        data_quality=data_quality, methodology=methodology, learning_event=_learning_event(cycle),
        executive_summary=_executive_summary(methodology, standard_findings),
    )


def _standard_findings(inputs: _Inputs, std) -> StandardFindings:
    """One standard: each case's outcome under the counting rule, each agency's answers, exceptions, quotes."""
    cycle = inputs.cycle
    by_case: list[CaseOutcome] = []
    per_agency: dict[str, list[int]] = {a.code: [0, 0, 0, 0] for a in cycle.agencies}  # met, not, na, missing
    quotes: dict[RatingKind, list[Quote]] = {RatingKind.MET: [], RatingKind.NOT_MET: [], RatingKind.NOT_APPLICABLE: []}
    slot = {RatingKind.MET: 0, RatingKind.NOT_MET: 1, RatingKind.NOT_APPLICABLE: 2}
    for case in cycle.cases:
        counts = [0, 0, 0, 0]
        for code, pair in inputs.audits[case.ref]:
            if std.number not in pair.covered:
                continue
            ans = pair.answers.get(std.number)
            kind = ans.rating if ans is not None else None
            i = slot.get(kind, 3)
            counts[i] += 1
            per_agency[code][i] += 1
            said = "" if i == 3 else (ans.evidence if kind is RatingKind.MET else ans.reason)
            if said.strip():
                quotes[kind].append(inputs.quote(code, case.ref, std.number, said))
        m, n, na, miss = counts
        by_case.append(_shared(CaseOutcome, case_ref=case.ref, priority_area=case.priority_area,
                                outcome=case_outcome(cycle.settings.counting_rule, m, n), met=m, not_met=n,
                                not_applicable=na, missing=miss))
    figures = tuple(
        AgencyStandardFigures(agency=a.code, standard=std.number, met=v[0], not_met=v[1],
                              not_applicable=v[2], missing=v[3], audited=sum(v))
        for a in cycle.agencies
        for v in [per_agency[a.code]]
        if inputs.audited[a.code] or cycle.cases_for(a.code)
    )
    cases_met = sum(1 for c in by_case if c.outcome == MET)
    cases_not_met = sum(1 for c in by_case if c.outcome == NOT_MET)
    assessed = cases_met + cases_not_met
    r_met = sum(f.met for f in figures)
    r_rated = sum(f.rated for f in figures)
    return _with_digest(StandardFindings(
        number=std.number, kloe=std.kloe, text=std.text, finding_met=std.finding_met,
        finding_not_met=std.finding_not_met, na_allowed=std.na_allowed,
        cases_total=len(cycle.cases), cases_assessed=assessed, cases_met=cases_met,
        cases_not_met=cases_not_met, cases_not_assessed=len(cycle.cases) - assessed,
        percent_met=percent(cases_met, assessed),
        responses_met=r_met, responses_rated=r_rated,
        responses_not_applicable=sum(f.not_applicable for f in figures),
        responses_missing=sum(f.missing for f in figures),
        percent_responses_met=percent(r_met, r_rated),
        by_case=tuple(by_case), by_agency=figures, exceptions=_exceptions(std, figures),
        reasons=tuple(quotes[RatingKind.NOT_MET]), na_reasons=tuple(quotes[RatingKind.NOT_APPLICABLE]),
        evidence=tuple(quotes[RatingKind.MET]), digest="",
    ))


def _kloe_findings(k, standard_findings: Sequence[StandardFindings]) -> KloeFindings:
    stds = tuple(s for s in standard_findings if s.kloe == k.number)
    return _with_digest(KloeFindings(number=k.number, question=k.question, title=k.title or k.question,
                                     standards=stds, digest=""))


def _agency_findings(inputs: _Inputs, standard_findings: Sequence[StandardFindings],
                     summaries: Sequence[SummaryReturn]) -> list[AgencyFindings]:
    cycle = inputs.cycle
    ours = [s for s in summaries
            if s.identity.cycle_id == cycle.settings.cycle_id and s.identity.agency in inputs.agency_by_code]
    # One summary form per agency: the agency is its slot.
    latest_summary = counting_versions(in_order_received(ours), slot=lambda s: s.identity.agency)
    # Each agency's words under each standard, in the standard's order: sorted out once, not once per agency.
    said: dict[tuple[str, int], tuple[list[Quote], list[Quote]]] = {}
    for s in standard_findings:
        for q in s.evidence:
            said.setdefault((q.agency, s.number), ([], []))[0].append(q)
        for q in s.reasons:
            said.setdefault((q.agency, s.number), ([], []))[1].append(q)
    out = []
    for a in cycle.agencies:
        if (inputs.audited[a.code] or inputs.no_inv[a.code] or cycle.cases_for(a.code)
                or a.code in latest_summary):
            out.append(_one_agency(inputs, a, standard_findings, latest_summary.get(a.code), said))
    return out


_NONE: tuple[list, list] = ([], [])


def _one_agency(inputs: _Inputs, a: Agency, standard_findings: Sequence[StandardFindings],
                summary: Optional[SummaryReturn],
                said: dict[tuple[str, int], tuple[list[Quote], list[Quote]]]) -> AgencyFindings:
    """Appendix 2's row for one agency: its answers per standard and per KLOE, and its summary form."""
    cycle = inputs.cycle
    figs = tuple(f for s in standard_findings for f in s.by_agency if f.agency == a.code)
    if not figs:
        figs = tuple(AgencyStandardFigures(agency=a.code, standard=s.number, met=0, not_met=0,
                                           not_applicable=0, missing=0, audited=0) for s in cycle.standards)
    by_kloe = []
    for k in cycle.kloes:
        in_k = {s.number for s in cycle.standards_for(k.number)}
        kf = [f for f in figs if f.standard in in_k]
        words = [said.get((a.code, s.number), _NONE) for s in standard_findings if s.number in in_k]
        by_kloe.append(AgencyKloeFindings(
            kloe=k.number, title=k.title or k.question,
            met=tuple(f for f in kf if f.met), not_met=tuple(f for f in kf if f.not_met),
            evidence=tuple(q for evidence, _ in words for q in evidence),
            reasons=tuple(q for _, reasons in words for q in reasons),
        ))
    return _with_digest(AgencyFindings(
        code=a.code, name=a.name, short_name=a.short_name,
        cases_involved=len(cycle.cases_for(a.code)), cases_audited=len(inputs.audited[a.code]),
        audited_case_refs=tuple(inputs.audited[a.code]), no_involvement_case_refs=tuple(inputs.no_inv[a.code]),
        met=sum(f.met for f in figs), not_met=sum(f.not_met for f in figs),
        not_applicable=sum(f.not_applicable for f in figs), missing=sum(f.missing for f in figs),
        standards=figs,
        standards_met_in_every_case=tuple(f.standard for f in figs if f.met and not f.not_met),
        standards_met_in_some_cases=tuple(f.standard for f in figs if f.met and f.not_met),
        standards_not_met=tuple(f.standard for f in figs if f.not_met and not f.met),
        by_kloe=tuple(by_kloe),
        summary_returned=summary is not None,
        improvements=summary.improvements if summary else "",
        partnership=summary.partnership if summary else "",
        comments=summary.comments if summary else "",
        digest="",
    ))


def _executive_summary(methodology: Methodology, standard_findings: Sequence[StandardFindings]) -> ExecutiveSummary:
    headlines = tuple(StandardHeadline(standard=s.number, cases_met=s.cases_met, cases_assessed=s.cases_assessed,
                                       percent_met=s.percent_met) for s in standard_findings)
    return _with_digest(ExecutiveSummary(
        cases_selected=methodology.cases_selected, cases_audited=methodology.cases_audited,
        standards=headlines,
        standards_met_in_every_case=tuple(s.number for s in standard_findings
                                          if s.cases_assessed and s.cases_met == s.cases_assessed),
        digest="",
    ))


def _exceptions(std, figures: Sequence[AgencyStandardFigures]) -> tuple[AgencyException, ...]:
    """Agencies whose practice on this standard stands well below the rest (see `wording.EXCEPTION_RULE`)."""
    if not std.finding_not_met.strip():
        return ()
    out = []
    for f in figures:
        if f.not_met < EXCEPTION_MIN_NOT_MET or f.rated == 0:
            continue
        if Fraction(f.not_met, f.audited) < EXCEPTION_MIN_NOT_MET_SHARE:
            continue
        others_met = sum(o.met for o in figures if o.agency != f.agency)
        others_rated = sum(o.rated for o in figures if o.agency != f.agency)
        if others_rated == 0:
            continue
        own, rest = Fraction(f.met, f.rated), Fraction(others_met, others_rated)
        if rest - own < EXCEPTION_MIN_GAP:
            continue
        out.append(AgencyException(
            agency=f.agency, standard=std.number, not_met=f.not_met, audited=f.audited,
            agency_met_percent=percent(f.met, f.rated), others_met_percent=percent(others_met, others_rated),
        ))
    return tuple(out)


def _current_form(form_id: str, successor: dict[str, Optional[str]]) -> str:
    seen = set()
    while successor.get(form_id) and form_id not in seen:
        seen.add(form_id)
        form_id = successor[form_id]
    return form_id


def _data_quality(cycle, pairs, kept, ignored, standard_findings, summaries, issued, agency_by_code) -> DataQuality:
    successor = {f.identity.form_id: f.superseded_by for f in issued}
    current = [f for f in issued if not f.superseded_by]
    got = {_current_form(r.identity.form_id, successor) for r in kept}
    got |= {_current_form(s.identity.form_id, successor) for s in summaries}
    outstanding = tuple(
        FormRef(form_id=f.identity.form_id, kind=f.identity.kind.value, agency=f.identity.agency,
                agency_name=agency_by_code[f.identity.agency].name if f.identity.agency in agency_by_code else f.identity.agency,
                case_ref=f.identity.case_ref, kloes=f.identity.kloes, path=f.path)
        for f in current if f.identity.form_id not in got
    )
    incomplete = tuple(ReturnNote(form_id=r.identity.form_id, agency=r.identity.agency, case_ref=r.identity.case_ref,
                                  note="incomplete") for r in kept if not r.complete and not r.no_involvement)
    no_involvement = tuple(ReturnNote(form_id=r.identity.form_id, agency=r.identity.agency, case_ref=r.identity.case_ref,
                                      note=r.no_involvement_reason)
                           for r in kept if r.no_involvement)
    awaiting = tuple(CaseAwaiting(agency=a.code, agency_name=a.name, case_ref=c.ref)
                     for c in cycle.cases for a in cycle.agencies
                     if a.code in c.agencies and (a.code, c.ref) not in pairs)
    na_by = tuple(StandardCount(standard=s.number, count=s.responses_not_applicable) for s in standard_findings)
    miss_by = tuple(StandardCount(standard=s.number, count=s.responses_missing) for s in standard_findings)
    na_total = sum(c.count for c in na_by)
    miss_total = sum(c.count for c in miss_by)
    options = cycle.rating_scale.options
    not_allowed_total = sum(1 for r in kept if not r.no_involvement for a in r.answers if not_allowed(a, options))
    summary_agencies = {s.identity.agency for s in summaries if s.identity.cycle_id == cycle.settings.cycle_id}
    expected_summaries = [a.code for a in cycle.agencies if cycle.cases_for(a.code)]
    audits = _audit_counts(cycle, pairs, current, got)

    made = DataQuality(
        forms_issued=len(current), forms_returned=len(current) - len(outstanding), forms_outstanding=len(outstanding),
        outstanding=outstanding, returns_received=len(kept), incomplete=incomplete, no_involvement=no_involvement,
        ignored=tuple(ignored), awaiting=awaiting,
        not_applicable_total=na_total, not_applicable_by_standard=na_by,
        missing_total=miss_total, missing_by_standard=miss_by, not_allowed_total=not_allowed_total,
        summaries_expected=len(expected_summaries),
        summaries_returned=len(summary_agencies & {a.code for a in cycle.agencies}),
        **audits, digest="",
    )
    return _with_digest(made)


def _audit_counts(cycle, pairs, current, got) -> dict[str, int]:
    """The data-quality figures per agency-case audit, so per-KLOE forms do not multiply them."""
    all_kloes = {k.number for k in cycle.kloes}
    agencies = {a.code for a in cycle.agencies}
    expected = [(code, c.ref) for c in cycle.cases for code in c.agencies if code in agencies]
    forms_of: dict[tuple[str, str], list[str]] = {}
    per_kloe = whole = 0
    for f in current:
        if f.identity.kind is not FormKind.AUDIT:
            continue
        forms_of.setdefault((f.identity.agency, f.identity.case_ref), []).append(f.identity.form_id)
        if f.identity.kloes and set(f.identity.kloes) != all_kloes:
            per_kloe += 1
        else:
            whole += 1
    returned = partly = 0
    for key in expected:
        if key not in pairs:
            continue
        if all(form_id in got for form_id in forms_of.get(key, ())):
            returned += 1
        else:
            partly += 1
    in_cycle = [pairs[key] for key in expected if key in pairs]
    return {
        "audits_expected": len(expected), "audits_returned": returned, "audits_partly_returned": partly,
        "audits_incomplete": sum(1 for p in in_cycle if not p.no_involvement
                                 and any(not r.complete and not r.no_involvement for r in p.returns)),
        "audits_no_involvement": sum(1 for p in in_cycle if p.no_involvement),
        "per_kloe_forms_issued": per_kloe, "whole_forms_issued": whole,
    }


def _methodology(cycle, audited, pairs) -> Methodology:
    audited_refs = {ref for refs in audited.values() for ref in refs}
    areas: list[tuple[str, str]] = [(normalise_label(p.name), p.name) for p in cycle.priority_areas]
    for c in cycle.cases:  # a case naming an area the list lacks still counts, after the listed ones
        if normalise_label(c.priority_area) not in {k for k, _ in areas}:
            areas.append((normalise_label(c.priority_area), c.priority_area))
    rows = []
    for key, name in areas:
        in_area = [c for c in cycle.cases if normalise_label(c.priority_area) == key]
        rows.append(PriorityAreaFigures(name=name, cases_selected=len(in_area),
                                        cases_audited=sum(1 for c in in_area if c.ref in audited_refs)))
    returned = [a for a in cycle.agencies if any(k[0] == a.code for k in pairs)]
    n_sel, n_aud = len(cycle.cases), len(audited_refs)
    made = Methodology(
        cases_selected=n_sel, cases_audited=n_aud, priority_areas=tuple(rows),
        agencies_involved=sum(1 for a in cycle.agencies if cycle.cases_for(a.code)),
        agencies_returned=tuple(a.code for a in returned), agency_names_returned=tuple(a.name for a in returned),
        digest="",
    )
    return _with_digest(made)


def _learning_event(cycle) -> LearningEvent:
    names = {a.code: a.name for a in cycle.agencies}
    rows = tuple(AttendanceRow(agency=a.agency, name=names.get(a.agency, a.agency), count=a.count)
                 for a in cycle.attendance)
    total = sum(r.count for r in rows)
    attending = sum(1 for r in rows if r.count > 0)
    return _with_digest(LearningEvent(total_practitioners=total, agencies_attending=attending, rows=rows, digest=""))


# --- moderation (issue 14) ------------------------------------------------------------------


def _kind_name(kind: Optional[RatingKind]) -> str:
    return kind.value if kind is not None else "blank"


def moderation_findings(cycle: Cycle, returns: Sequence[AuditReturn], grades: Sequence, *,
                        awaiting: int = 0, simulated: bool = False) -> ModerationFindings:
    """The panel's figures from the moderated returns (each changed answer carries the agency's own rating)
    and the standing grade decisions (`models.ModerationDecision`, kind "grade")."""
    kept = in_order_received(counting_versions(in_order_received(
        [r for r in returns if r.identity.cycle_id == cycle.settings.cycle_id])).values())
    changes: dict[tuple[str, str, int], RatingChange] = {}
    for r in kept:
        for a in r.answers:
            if a.moderated:
                changes[(r.identity.agency, r.identity.case_ref or "", a.standard)] = RatingChange(
                    agency=r.identity.agency, case_ref=r.identity.case_ref or "", standard=a.standard,
                    from_label=a.agency_rating_label or "", to_label=a.rating_label,
                    from_kind=_kind_name(a.agency_rating), to_kind=_kind_name(a.rating), reason=a.moderation_reason)
    case_order = {c.ref: i for i, c in enumerate(cycle.cases)}
    ordered = sorted(changes.values(), key=lambda c: (case_order.get(c.case_ref, 0), c.agency, c.standard))
    directions: dict[tuple[str, str], int] = {}
    for c in ordered:
        directions[(c.from_kind, c.to_kind)] = directions.get((c.from_kind, c.to_kind), 0) + 1
    scale = cycle.settings.case_grades
    case_grades = tuple(
        CaseGrade(case_ref=c.ref, priority_area=c.priority_area, grade=d.to_label,
                  escalate=d.escalate if d.escalate is not None else d.to_label in cycle.settings.escalate_grades)
        for c in cycle.cases for d in grades if d.case_ref == c.ref and d.to_label in scale)
    by_area = []
    for area in [p.name for p in cycle.priority_areas]:
        in_area = [g for g in case_grades if normalise_label(g.priority_area) == normalise_label(area)]
        refs = tuple(tuple(g.case_ref for g in in_area if g.grade == grade) for grade in scale)
        by_area.append(AreaGrades(name=area, graded=len(in_area), counts=tuple(len(r) for r in refs), case_refs=refs,
                                  cases=sum(1 for c in cycle.cases
                                            if normalise_label(c.priority_area) == normalise_label(area))))
    return _with_digest(ModerationFindings(
        simulated=simulated, ratings_changed=len(ordered),
        directions=tuple(DirectionCount(from_kind=f, to_kind=t, count=n)
                         for (f, t), n in sorted(directions.items(), key=lambda kv: -kv[1])),
        changes=tuple(ordered), awaiting_another_look=awaiting, grades=tuple(scale), by_area=tuple(by_area),
        cases_graded=len(case_grades), case_grades=case_grades,
        escalated=tuple(g for g in case_grades if g.escalate),
        escalations_in_report=cycle.settings.escalations_in_report, digest="",
    ))
