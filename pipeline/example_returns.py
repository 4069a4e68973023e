"""SIMULATED agency returns for the demo: the shipped 2015-16 example, answered.

Nothing here is real audit data. The answers live in a data file shipped with
the templates (`templates/demo/example-returns.json`): for each agency and case
of the example cycle, the rating picked for each standard with its evidence or
reason, and each agency's summary form. They were made by
`dev/solve_example_returns.py` so that the demo's report, counted under the
example cycle's majority rule, quotes the same figures as the real 2015-16
overview report; the tests check that they still do.

This module only loads that file, checks that the loaded workbook is the cycle
the answers were made for, and fills issued forms with them.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Iterable, Literal, Optional

from pydantic import ValidationError

from .contract import AUDIT, SUMMARY, evidence_tag, rating_tag, reason_tag
from .forms import WrittenForm
from .models import (
    Answer,
    AuditReturn,
    CountingRule,
    Cycle,
    FormIdentity,
    FormKind,
    Model,
    RatingKind,
    SummaryReturn,
)
from .ooxml.controls import fill_controls
from .problems import CaseAuditError, ProblemReport
from .workspace import Workspace, shipped_template

SIMULATED = True
LABEL = "simulated returns"
DATA_FILE = ("demo", "example-returns.json")  # under the shipped templates


# --- the data file, as written by dev/solve_example_returns.py ------------------------------


class DataAnswer(Model):
    standard: int
    rating: str  # the rating scale's label, as picked on the form
    evidence: str = ""
    reason: str = ""


class DataAuditForm(Model):
    agency: str
    case_ref: str
    no_involvement: bool = False
    no_involvement_reason: str = ""
    answers: tuple[DataAnswer, ...] = ()


class DataSummaryForm(Model):
    agency: str
    improvements: str
    partnership: str
    comments: str = ""


class ExampleData(Model):
    about: str
    simulated: Literal[True]
    example_cycle: str
    counting_rule: CountingRule
    audit_forms: tuple[DataAuditForm, ...]
    summary_forms: tuple[DataSummaryForm, ...]


def data_path() -> Path:
    return shipped_template(*DATA_FILE)


def load_data(path: Optional[Path] = None) -> ExampleData:
    """The simulated answers in `path` (default: the shipped file)."""
    path = path or data_path()
    try:
        return ExampleData.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, ValidationError) as err:  # json's errors are ValueErrors
        raise CaseAuditError.single("demo.example-data", name=path.name, reason=_first_line(err), file=path,
                                    exit_code=1) from None


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


# --- what the demo hands on --------------------------------------------------------------


class SimulatedAnswer(Model):
    standard: int
    kind: RatingKind
    rating_label: str
    evidence: str = ""
    reason: str = ""


class SimulatedForm(Model):
    """One agency's simulated audit of one case (all KLOEs)."""

    cycle_id: str
    agency: str
    case_ref: str
    no_involvement: bool = False
    no_involvement_reason: str = ""
    answers: tuple[SimulatedAnswer, ...] = ()
    simulated: bool = True


class SimulatedSummary(Model):
    cycle_id: str
    agency: str
    improvements: str
    partnership: str
    comments: str = ""
    simulated: bool = True


def simulated_returns(cycle: Cycle, data: Optional[ExampleData] = None) -> list[SimulatedForm]:
    """Every involved agency's simulated audit of every case it was involved in, in case then agency order."""
    data = data or load_data()
    check_example_cycle(cycle, data)
    kinds = {o.label: o.kind for o in cycle.rating_scale.options}
    return [SimulatedForm(cycle_id=cycle.settings.cycle_id, agency=f.agency, case_ref=f.case_ref,
                          no_involvement=f.no_involvement, no_involvement_reason=f.no_involvement_reason,
                          answers=tuple(SimulatedAnswer(standard=a.standard, kind=kinds[a.rating], rating_label=a.rating,
                                                        evidence=a.evidence, reason=a.reason) for a in f.answers))
            for f in data.audit_forms]


def simulated_summaries(cycle: Cycle, data: Optional[ExampleData] = None) -> list[SimulatedSummary]:
    """Each involved agency's summary form: the seed's Appendix 2 words where it has them."""
    data = data or load_data()
    check_example_cycle(cycle, data)
    return [SimulatedSummary(cycle_id=cycle.settings.cycle_id, agency=s.agency, improvements=s.improvements,
                             partnership=s.partnership, comments=s.comments)
            for s in data.summary_forms]


# --- is this the cycle the answers were made for? ------------------------------------------


def _mismatch(message: str, fix: str = "") -> CaseAuditError:
    report = ProblemReport()
    report.add("demo.example-mismatch", message, fix)  # the catalogue's fix unless one is given
    return CaseAuditError("The simulated returns only fit the shipped 2015-16 example cycle.", report, exit_code=1)


def check_example_cycle(cycle: Cycle, data: ExampleData) -> None:
    """Refuse any cycle but the one the answers were made for: they only add up on its cases."""
    _check_involvement(cycle, data)
    numbers = sorted(s.number for s in cycle.standards)
    for form in data.audit_forms:
        if sorted(a.standard for a in form.answers) != numbers:
            raise _mismatch(f"The simulated answers rate standards {_numbers(a.standard for a in form.answers)}; "
                            f"the cycle's standards are {_numbers(numbers)}.")
    kinds = {o.label: o.kind for o in cycle.rating_scale.options}
    unknown = sorted({a.rating for f in data.audit_forms for a in f.answers} - set(kinds))
    if unknown:
        raise _mismatch(f"The rating scale has no '{unknown[0]}' option, which the simulated answers use.")
    for number in sorted({a.standard for f in data.audit_forms for a in f.answers
                          if kinds[a.rating] is RatingKind.NOT_APPLICABLE}):
        if not cycle.standard(number).na_allowed:
            raise _mismatch(f"Standard {number} does not allow 'not applicable', which the simulation uses.")
    if cycle.settings.counting_rule is not data.counting_rule:
        raise _mismatch(f"The example's figures hold under the {data.counting_rule.value} counting rule; this cycle "
                        f"uses '{cycle.settings.counting_rule.value}'.",
                        f"Set the counting rule back to {data.counting_rule.value}.")


def _check_involvement(cycle: Cycle, data: ExampleData) -> None:
    expected = Counter(f.agency for f in data.audit_forms)
    codes = {a.code for a in cycle.agencies}
    if not set(expected) <= codes:
        raise _mismatch(f"The cycle's agencies are {', '.join(sorted(codes))}; the simulation expects "
                        f"{', '.join(sorted(expected))}.")
    refs = {f.case_ref for f in data.audit_forms}
    if len(cycle.cases) != len(refs):
        raise _mismatch(f"The cycle has {len(cycle.cases)} cases; the simulation expects {len(refs)}.")
    found = {a.code: len(cycle.cases_for(a.code)) for a in cycle.agencies}
    wrong = [f"{code} is involved in {found[code]} cases, expected {expected[code]}"
             for code in found if found[code] != expected[code]]
    pairs = {(a, c.ref) for c in cycle.cases for a in c.agencies}
    wrong = wrong or [f"{a} is not involved in case {c}" for a, c in
                      sorted({(f.agency, f.case_ref) for f in data.audit_forms} - pairs)]
    if wrong:
        raise _mismatch("The cases' agency involvement differs from the example: " + "; ".join(wrong) + ".")


def _numbers(numbers: Iterable[int]) -> str:
    return ", ".join(str(n) for n in sorted(numbers)) or "none"


# --- filling the issued forms ------------------------------------------------------------------


def audit_values(form: SimulatedForm, standards: Optional[Iterable[int]] = None) -> dict[str, object]:
    """The `{tag: value}` that `pipeline.ooxml.controls.fill_controls` writes into an issued audit form.

    Only what an auditor would actually fill in: blank boxes and an unticked "no involvement" are left
    alone. `standards` restricts the answers to those a per-KLOE form asks about.
    """
    wanted = None if standards is None else set(standards)
    values: dict[str, object] = {}
    if form.no_involvement:
        values[AUDIT.tag("no-involvement")] = True
        if form.no_involvement_reason:
            values[AUDIT.tag("no-involvement-reason")] = form.no_involvement_reason
    for a in form.answers:
        if wanted is not None and a.standard not in wanted:
            continue
        values[rating_tag(a.standard)] = a.rating_label
        if a.evidence:
            values[evidence_tag(a.standard)] = a.evidence
        if a.reason:
            values[reason_tag(a.standard)] = a.reason
    return values


def summary_values(summary: SimulatedSummary) -> dict[str, str]:
    """The `{tag: value}` for an agency's summary form: each of the contract's summary rows, by its field."""
    return {row.control.tag: getattr(summary, row.key) for row in SUMMARY.rows}


def filled_forms(ws: Workspace, cycle: Cycle, written: Iterable[WrittenForm],
                 data: Optional[ExampleData] = None) -> list[tuple[WrittenForm, bytes]]:
    """Each issued form, filled in with its agency's simulated answers: (the form, the filled file's bytes)."""
    data = data or load_data()
    audits = {(f.agency, f.case_ref): f for f in simulated_returns(cycle, data)}
    summaries = {s.agency: s for s in simulated_summaries(cycle, data)}
    out = []
    for form in written:
        if form.kind is FormKind.SUMMARY:
            sim = summaries.get(form.agency)
            values = summary_values(sim) if sim else None
        else:
            sim = audits.get((form.agency, form.case_ref))
            asked = [s.number for k in form.kloes for s in cycle.standards_for(k)] if form.kloes else None
            values = audit_values(sim, asked) if sim else None
        if values is None:
            raise CaseAuditError.single("demo.no-simulated-answers", agency=form.agency,
                                        form=form.case_ref or "summary", exit_code=1)
        out.append((form, fill_controls((ws.root / form.path).read_bytes(), values)))
    return out


# --- as ingest would record them (for tests that do not go through Word) -------------------------


def simulated_form_id(cycle_id: str, agency: str, case_ref: Optional[str]) -> str:
    return f"SIM-{cycle_id}-{agency}-{case_ref or 'SUMMARY'}"


def to_audit_returns(forms: Iterable[SimulatedForm]) -> list[AuditReturn]:
    """The returns ingest would make of the filled forms, for tests that do not go through Word."""
    out = []
    for f in forms:
        out.append(AuditReturn(
            identity=FormIdentity(form_id=simulated_form_id(f.cycle_id, f.agency, f.case_ref), cycle_id=f.cycle_id,
                                  agency=f.agency, kind=FormKind.AUDIT, case_ref=f.case_ref),
            no_involvement=f.no_involvement, no_involvement_reason=f.no_involvement_reason,
            answers=tuple(Answer(standard=a.standard, rating=a.kind, rating_label=a.rating_label,
                                 evidence=a.evidence, reason=a.reason) for a in f.answers),
            complete=True, source_file="simulated",
        ))
    return out


def to_summary_returns(summaries: Iterable[SimulatedSummary]) -> list[SummaryReturn]:
    return [SummaryReturn(identity=FormIdentity(form_id=simulated_form_id(s.cycle_id, s.agency, None),
                                                cycle_id=s.cycle_id, agency=s.agency, kind=FormKind.SUMMARY),
                          improvements=s.improvements, partnership=s.partnership, comments=s.comments,
                          source_file="simulated")
            for s in summaries]
