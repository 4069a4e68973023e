"""Which version of a return counts is decided once (pipeline/versions.py): findings agree with the store and status."""

from __future__ import annotations

from datetime import datetime

from pipeline.findings import compute_findings
from pipeline.models import (
    Agency,
    Answer,
    AuditReturn,
    Case,
    Cycle,
    CycleSettings,
    FormIdentity,
    Kloe,
    PriorityArea,
    RatingKind,
    Standard,
)
from pipeline.versions import counting_versions, in_order_received, return_slot

M, N = RatingKind.MET, RatingKind.NOT_MET


def _cycle() -> Cycle:
    return Cycle(
        settings=CycleSettings(board_name="Test LSCB", cycle_id="2099-00", cycle_name="2099-2100"),
        priority_areas=(PriorityArea(name="Neglect"),),
        agencies=(Agency(code="POL", name="Police", short_name="the Police"), Agency(code="HEA", name="Health", short_name="Health")),
        cases=(Case(ref="N-01", priority_area="Neglect", child_name="Amelia Thornbury", agencies=("POL", "HEA")),),
        kloes=(Kloe(number=1, question="Is information shared?"), Kloe(number=2, question="Is the child heard?")),
        standards=(Standard(number=1, kloe=1, text="Agencies involved", finding_met="agencies were involved"),
                   Standard(number=2, kloe=2, text="Wishes gathered", finding_met="wishes were gathered")),
    )


def _return(form_id: str, ratings: dict, received: datetime, agency: str = "POL") -> AuditReturn:
    answers = tuple(Answer(standard=n) if kind is None else Answer(standard=n, rating=kind, rating_label=kind.value)
                    for n, kind in ratings.items())
    return AuditReturn(identity=FormIdentity(form_id=form_id, cycle_id="2099-00", agency=agency, case_ref="N-01"),
                       answers=answers, received_at=received)


def test_a_reissued_forms_return_replaces_the_old_forms_return_in_the_findings_as_in_status():
    # The form was reissued (F2 replaces F1, same slot); the agency answered the old one, then the new one,
    # leaving standard 2 blank. Status and the store count the new return alone: so must the findings.
    old = _return("F1", {1: M, 2: N}, datetime(2099, 10, 1))
    new = _return("F2", {1: M, 2: None}, datetime(2099, 10, 9))
    assert return_slot(old.identity) == return_slot(new.identity)
    f = compute_findings(_cycle(), [new, old])
    assert f.data_quality.returns_received == 1
    assert (f.standard(2).responses_rated, f.standard(2).responses_missing) == (0, 1)
    assert f.standard(1).responses_rated == 1


def test_the_version_received_last_counts_and_a_tie_goes_to_the_one_recorded_later():
    first = _return("F1", {1: N}, datetime(2099, 10, 1, 9))
    second = _return("F1", {1: M}, datetime(2099, 10, 1, 9))
    earlier = _return("F1", {1: N}, datetime(2099, 9, 1))
    other = _return("F9", {1: N}, datetime(2099, 9, 2), agency="HEA")
    current = counting_versions(in_order_received([first, second, earlier, other]))
    assert list(current.values()) == [second, other]
    assert current[return_slot(first.identity)] is second


def test_one_agency_and_cases_returns_read_through_the_index_are_the_counting_ones(tmp_path, example_cycle):
    """Ingest asks the store for one agency x case's returns for every file: the indexed read must give exactly
    what the full read gives for that agency and case (the version that counts of each per-KLOE form)."""
    from pipeline.ingest import ingest_inbox
    from pipeline.store import Store
    from test_returns import complete_answers, issue_forms

    per_kloe = issue_forms(tmp_path / "ws", example_cycle, per_kloe=True, agencies=["EY", "EDU"])
    forms = [w.kloes for w in per_kloe.generated.written if w.agency == "EY" and w.case_ref == "EH-02"]
    for n, kloes in enumerate(forms[:2]):
        values = complete_answers(example_cycle, kloes=kloes)
        (per_kloe.ws.inbox / f"EY{n}.docx").write_bytes(per_kloe.filled("EY", "EH-02", values, kloes=kloes))
    other = [w.kloes for w in per_kloe.generated.written if w.agency == "EDU" and w.case_ref == "EH-02"][0]
    (per_kloe.ws.inbox / "EDU.docx").write_bytes(
        per_kloe.filled("EDU", "EH-02", complete_answers(example_cycle, kloes=other), kloes=other))
    ingest_inbox(per_kloe.ws, example_cycle)
    resent = complete_answers(example_cycle, kloes=forms[0])
    tag = next(t for t in resent if t.startswith("ca:evidence:"))
    resent[tag] = "Corrected: the chronology shows the referral on time."
    (per_kloe.ws.inbox / "EY0 again.docx").write_bytes(per_kloe.filled("EY", "EH-02", resent, kloes=forms[0]))
    ingest_inbox(per_kloe.ws, example_cycle)
    with Store.open(per_kloe.ws.store_path) as store:
        full = [r for r in store.current_audit_returns(example_cycle)
                if r.identity.agency == "EY" and r.identity.case_ref == "EH-02"]
        indexed = store.current_audit_returns_of("EY", "EH-02")
    assert len(full) == 2 and indexed == full
    assert [r.source_file for r in indexed if r.identity.kloes == forms[0]] == ["EY0 again.docx"]
