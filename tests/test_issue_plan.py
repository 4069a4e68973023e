"""generate-forms' decide step: which forms a run writes, from the cycle and the register alone (no files)."""

from __future__ import annotations

from datetime import datetime, timezone

from pipeline.forms import IssueRequest, decide_forms
from pipeline.models import Cycle, FormIdentity, FormKind, IssuedForm

# The example cycle's involvement, as the board recorded it (SMBC was involved in no case).
EXAMPLE_INVOLVEMENT = {"POLICE": 9, "CSWS": 8, "CCG": 5, "SCH": 3, "SIAS": 2, "EY": 1, "HEFT": 4, "EDU": 6,
                       "VOL": 2, "CRC": 1, "SMBC": 0}


def everything(cycle: Cycle, **options) -> IssueRequest:
    return IssueRequest(agency_codes=[a.code for a in cycle.agencies], case_refs=[c.ref for c in cycle.cases],
                        **options)


def issued(cycle: Cycle, agency: str, case_ref: str | None, kloes: tuple[int, ...], fingerprint: str | None = None):
    kind = FormKind.AUDIT if case_ref else FormKind.SUMMARY
    identity = FormIdentity(form_id=f"{agency}-{case_ref}-{kloes}", cycle_id=cycle.settings.cycle_id, agency=agency,
                            kind=kind, case_ref=case_ref, kloes=kloes,
                            fingerprint=cycle.fingerprint(kloes) if fingerprint is None else fingerprint)
    return IssuedForm(identity=identity, path=f"outbox/forms/{agency}/{agency}_{case_ref}.docx", file_sha256="0" * 64,
                      template_fingerprint="t", issued_at=datetime(2026, 1, 1, tzinfo=timezone.utc))


def test_an_empty_register_plans_one_form_per_agency_and_case_and_a_summary_per_involved_agency(example_cycle):
    plan = decide_forms(example_cycle, [], everything(example_cycle))
    audits = [j for j in plan.jobs if j.kind is FormKind.AUDIT]
    summaries = [j.agency for j in plan.jobs if j.kind is FormKind.SUMMARY]
    assert {a: sum(1 for j in audits if j.agency == a) for a in EXAMPLE_INVOLVEMENT} == EXAMPLE_INVOLVEMENT
    assert sorted(summaries) == sorted(a for a, n in EXAMPLE_INVOLVEMENT.items() if n)
    all_kloes = tuple(sorted(k.number for k in example_cycle.kloes))
    assert all(j.kloes == all_kloes and not j.replaces for j in audits)
    assert not plan.skipped and not plan.stale


def test_issued_forms_are_skipped_and_only_the_kloes_they_miss_are_planned(example_cycle):
    case = next(c for c in example_cycle.cases if "POLICE" in c.agencies)
    kloes = tuple(sorted(k.number for k in example_cycle.kloes))
    current = [issued(example_cycle, "POLICE", case.ref, kloes[:1]), issued(example_cycle, "POLICE", None, ())]
    request = IssueRequest(agency_codes=["POLICE"], case_refs=[case.ref], per_kloe=True)
    plan = decide_forms(example_cycle, current, request)
    assert [(j.kind, j.kloes) for j in plan.jobs] == [(FormKind.AUDIT, (k,)) for k in kloes[1:]]
    assert [j.stem for j in plan.jobs] == [f"POLICE_{case.ref}_KLOE{k}" for k in kloes[1:]]
    assert {s.form_id for s in plan.skipped} == {f.identity.form_id for f in current}


def test_reissue_plans_replacements_and_changed_wording_is_reported_not_rewritten(example_cycle):
    case = next(c for c in example_cycle.cases if "POLICE" in c.agencies)
    kloes = tuple(sorted(k.number for k in example_cycle.kloes))
    old = issued(example_cycle, "POLICE", case.ref, kloes, fingerprint="older wording")
    request = IssueRequest(agency_codes=["POLICE"], case_refs=[case.ref], case_filter=True)
    plan = decide_forms(example_cycle, [old], request)
    assert plan.jobs == [] and plan.stale == [old]
    again = decide_forms(example_cycle, [old], IssueRequest(["POLICE"], [case.ref], reissue=True, case_filter=True))
    assert [(j.case.ref, j.replaces) for j in again.jobs] == [(case.ref, [old.identity.form_id])]
    assert not again.skipped and not again.stale
