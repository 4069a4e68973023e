"""The figures: counting rules, percentages, sentences, exceptions and digests, on small hand-built cycles."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from pipeline import wording
from pipeline.findings import (
    compute_findings,
    figures_digest,
    percent,
)
from pipeline.models import (
    Agency,
    Answer,
    Attendance,
    AuditReturn,
    Case,
    CountingRule,
    Cycle,
    CycleSettings,
    FormIdentity,
    FormKind,
    IssuedForm,
    Kloe,
    PriorityArea,
    RatingKind,
    Standard,
    SummaryReturn,
)
from pipeline.wording import ROUNDING_RULE

M, N, NA = RatingKind.MET, RatingKind.NOT_MET, RatingKind.NOT_APPLICABLE


def make_cycle(rule=CountingRule.MAJORITY, cases=None, attendance=()) -> Cycle:
    agencies = (
        Agency(code="POL", name="West Midlands Police", short_name="the Police"),
        Agency(code="HEA", name="Health Trust", short_name="Health"),
        Agency(code="SCH", name="Schools", short_name="Education"),
        Agency(code="HOU", name="Housing", short_name="Housing"),
    )
    if cases is None:
        cases = (
            Case(ref="N-01", priority_area="Neglect", child_name="Amelia Thornbury", agencies=("POL", "HEA", "SCH")),
            Case(ref="N-02", priority_area="Neglect", child_name="Jayden Okoro", agencies=("POL", "HEA")),
            Case(ref="EH-01", priority_area="Early Help", child_name="Poppy Lindqvist", agencies=("POL", "SCH", "HOU")),
        )
    return Cycle(
        settings=CycleSettings(board_name="Test LSCB", cycle_id="2099-00", cycle_name="2099-2100", counting_rule=rule),
        priority_areas=(PriorityArea(name="Neglect"), PriorityArea(name="Early Help")),
        agencies=agencies,
        cases=cases,
        kloes=(Kloe(number=1, question="Is information shared?", title="Information sharing"),
               Kloe(number=2, question="Is the child heard?", title="Voice of the child")),
        standards=(
            Standard(number=1, kloe=1, text="The right agencies are involved",
                     finding_met="the right agencies were involved",
                     finding_not_met="the right agencies were not involved"),
            Standard(number=2, kloe=1, text="Feedback received", finding_met="feedback was received",
                     finding_not_met="no feedback was received", na_allowed=True),
            Standard(number=3, kloe=2, text="Wishes and feelings gathered",
                     finding_met="the child's wishes and feelings were gathered",
                     finding_not_met="the voice of the child was not gathered"),
        ),
        attendance=attendance,
    )


def ret(agency, case, ratings: dict, *, kloes=(), no_involvement=False, reason="", complete=True,
        form_id=None, received=None, texts=None) -> AuditReturn:
    texts = texts or {}
    answers = []
    for n, kind in ratings.items():
        if kind is None:
            answers.append(Answer(standard=n))
            continue
        text = texts.get(n, f"{agency} note on standard {n}")
        answers.append(Answer(standard=n, rating=kind, rating_label=kind.value,
                              evidence=text if kind is M else "", reason="" if kind is M else text))
    return AuditReturn(
        identity=FormIdentity(form_id=form_id or f"F-{agency}-{case}-{'-'.join(map(str, kloes)) or 'all'}",
                              cycle_id="2099-00", agency=agency, case_ref=case, kloes=tuple(kloes)),
        no_involvement=no_involvement, no_involvement_reason=reason, answers=tuple(answers),
        complete=complete, received_at=received,
    )


def outcomes(findings, standard):
    return {c.case_ref: c.outcome for c in findings.standard(standard).by_case}


# --- percent -----------------------------------------------------------------


@pytest.mark.parametrize("part,whole,expected", [
    (9, 11, 82), (7, 11, 64), (3, 11, 27), (8, 11, 73), (6, 11, 55), (1, 8, 13), (3, 8, 38),
    (1, 2, 50), (1, 3, 33), (2, 3, 67), (0, 5, 0), (5, 5, 100), (1, 200, 1), (1, 201, 0),
])
def test_percent_rounds_to_nearest_whole_with_halves_up(part, whole, expected):
    assert percent(part, whole) == expected


def test_percent_of_nothing_is_zero_not_a_crash():
    assert percent(0, 0) == 0


def test_rounding_rule_is_printed_with_the_findings():
    f = compute_findings(make_cycle(), [])
    words = wording.report_words(f)
    assert words.rounding_rule == ROUNDING_RULE
    assert "halves rounded up" in words.rounding_rule


# --- counting rules ----------------------------------------------------------


def split_returns():
    # N-01: POL met, HEA not met, SCH met  -> 2 of 3 met
    # N-02: POL met, HEA not met           -> tie
    # EH-01: POL not met, SCH not met, HOU met -> 1 of 3 met
    return [
        ret("POL", "N-01", {1: M, 2: M, 3: M}), ret("HEA", "N-01", {1: N, 2: M, 3: M}),
        ret("SCH", "N-01", {1: M, 2: M, 3: M}),
        ret("POL", "N-02", {1: M, 2: M, 3: M}), ret("HEA", "N-02", {1: N, 2: M, 3: M}),
        ret("POL", "EH-01", {1: N, 2: M, 3: M}), ret("SCH", "EH-01", {1: N, 2: M, 3: M}),
        ret("HOU", "EH-01", {1: M, 2: M, 3: M}),
    ]


def test_majority_needs_more_than_half_and_a_tie_is_not_met():
    f = compute_findings(make_cycle(CountingRule.MAJORITY), split_returns())
    assert outcomes(f, 1) == {"N-01": "met", "N-02": "not met", "EH-01": "not met"}
    s1 = f.standard(1)
    assert (s1.cases_met, s1.cases_assessed) == (1, 3)
    assert "even split counts as not met" in wording.counting_rule(f.counting_rule)


def test_all_needs_every_rating_agency_to_say_met():
    f = compute_findings(make_cycle(CountingRule.ALL), split_returns())
    assert outcomes(f, 1) == {"N-01": "not met", "N-02": "not met", "EH-01": "not met"}
    assert f.standard(1).cases_met == 0
    assert f.standard(2).cases_met == 3


def test_any_needs_one_agency_to_say_met():
    f = compute_findings(make_cycle(CountingRule.ANY), split_returns())
    assert outcomes(f, 1) == {"N-01": "met", "N-02": "met", "EH-01": "met"}


def test_not_applicable_and_blank_answers_are_not_ratings_of_the_case():
    returns = [
        # N-01: one met, one N/A, one blank -> met under ALL (only one rating)
        ret("POL", "N-01", {1: M, 2: M, 3: M}), ret("HEA", "N-01", {1: M, 2: NA, 3: M}),
        ret("SCH", "N-01", {1: M, 2: None, 3: M}, complete=False),
        # N-02: both N/A -> not assessed
        ret("POL", "N-02", {1: M, 2: NA, 3: M}), ret("HEA", "N-02", {1: M, 2: NA, 3: M}),
        # EH-01: one not met, two N/A -> not met
        ret("POL", "EH-01", {1: M, 2: N, 3: M}), ret("SCH", "EH-01", {1: M, 2: NA, 3: M}),
        ret("HOU", "EH-01", {1: M, 2: NA, 3: M}),
    ]
    f = compute_findings(make_cycle(CountingRule.ALL), returns)
    s2 = f.standard(2)
    assert outcomes(f, 2) == {"N-01": "met", "N-02": "not assessed", "EH-01": "not met"}
    assert (s2.cases_met, s2.cases_assessed, s2.cases_not_assessed) == (1, 2, 1)
    assert (s2.responses_met, s2.responses_rated, s2.responses_not_applicable, s2.responses_missing) == (1, 2, 5, 1)
    assert wording.headline(s2) == ("In 50% of cases (1 of 2), feedback was received. "
                           "1 of the 3 cases was not assessed against this standard.")
    sch = next(a for a in s2.by_agency if a.agency == "SCH")
    assert (sch.met, sch.not_met, sch.not_applicable, sch.missing, sch.audited) == (0, 0, 1, 1, 2)
    dq = f.data_quality
    assert dq.not_applicable_total == 5 and dq.missing_total == 1
    assert {c.standard: c.count for c in dq.not_applicable_by_standard} == {1: 0, 2: 5, 3: 0}
    assert [n.form_id for n in dq.incomplete] == ["F-SCH-N-01-all"]


def test_no_involvement_means_not_audited_and_not_counted():
    returns = [
        ret("POL", "N-01", {1: N, 2: N, 3: N}), ret("HEA", "N-01", {}, no_involvement=True,
                                                   reason="The family moved before referral"),
        ret("SCH", "N-01", {1: M, 2: M, 3: M}),
    ]
    f = compute_findings(make_cycle(CountingRule.MAJORITY), returns)
    assert outcomes(f, 1)["N-01"] == "not met"  # 1 met, 1 not met: a tie; HEA's form is not a rating
    hea = f.agency("HEA")
    assert hea.cases_audited == 0 and hea.no_involvement_case_refs == ("N-01",)
    assert f.agency("POL").cases_audited == 1
    assert [(n.agency, n.case_ref, n.note) for n in f.data_quality.no_involvement] == [
        ("HEA", "N-01", "The family moved before referral")]
    # HEA's answers are not missing: it said it was not involved
    assert f.standard(1).responses_missing == 0


def test_per_kloe_forms_for_one_case_combine_into_one_agency_answer():
    returns = [
        ret("POL", "N-01", {1: M, 2: M}, kloes=(1,)),
        ret("POL", "N-01", {3: N}, kloes=(2,)),
        ret("HEA", "N-01", {1: M, 2: N}, kloes=(1,)),  # HEA's KLOE 2 form not back yet
    ]
    f = compute_findings(make_cycle(CountingRule.ALL), returns)
    assert f.agency("POL").cases_audited == 1  # two forms, one case
    assert outcomes(f, 3)["N-01"] == "not met"
    s3 = f.standard(3)
    # HEA's missing KLOE 2 form is outstanding, not a blank answer
    assert s3.responses_missing == 0 and s3.responses_rated == 1
    hea3 = next(a for a in s3.by_agency if a.agency == "HEA")
    assert (hea3.audited, f.agency("HEA").cases_audited) == (0, 1)
    assert outcomes(f, 2)["N-01"] == "not met"


def test_a_later_version_of_the_same_form_replaces_the_earlier_one():
    first = ret("POL", "N-01", {1: N, 2: N, 3: N}, form_id="F1", received=datetime(2015, 10, 1))
    second = ret("POL", "N-01", {1: M, 2: M, 3: M}, form_id="F1", received=datetime(2015, 10, 9))
    f = compute_findings(make_cycle(CountingRule.ALL), [second, first])
    assert f.standard(1).cases_met == 1 and f.standard(1).responses_rated == 1


def test_returns_for_another_cycle_or_unknown_case_are_ignored_and_listed():
    stray = ret("POL", "N-99", {1: M})
    other = AuditReturn(identity=FormIdentity(form_id="OLD", cycle_id="2014-15", agency="POL", case_ref="N-01"))
    f = compute_findings(make_cycle(), [stray, other])
    assert [(n.form_id, n.note) for n in f.data_quality.ignored] == [
        ("F-POL-N-99-all", "case N-99 is not in this cycle"), ("OLD", "belongs to cycle 2014-15, not 2099-00")]
    assert f.methodology.cases_audited == 0


# --- sentences -----------------------------------------------------------------


def eleven_case_cycle(rule=CountingRule.MAJORITY):
    cases = tuple(Case(ref=f"C-{i:02d}", priority_area="Neglect" if i <= 6 else "Early Help",
                       child_name=f"Child{i} Surname{i}", agencies=("POL", "HEA")) for i in range(1, 12))
    return make_cycle(rule, cases=cases)


def test_headline_sentence_prints_the_percentage_of_the_counts_beside_it():
    cycle = eleven_case_cycle(CountingRule.ALL)
    returns = []
    for i, case in enumerate(cycle.cases):
        returns.append(ret("POL", case.ref, {1: M if i < 9 else N, 2: M, 3: N}))
        returns.append(ret("HEA", case.ref, {1: M, 2: M, 3: N}))
    f = compute_findings(cycle, returns)
    assert wording.headline(f.standard(1)) == "In 82% of cases (9 of 11), the right agencies were involved."
    assert wording.headline(f.standard(2)) == "In all 11 cases, feedback was received."
    # no case met it: said the way round that reads true, with the 'not met' phrase
    assert wording.headline(f.standard(3)) == "In all 11 cases, the voice of the child was not gathered."
    from pipeline.wording import standard_sentence
    assert standard_sentence(0, 4, 4, "x were gathered") == "In none of the 4 cases, x were gathered."
    for s in f.standards:
        for pct, a, b in re.findall(r"(\d+)% of cases \((\d+) of (\d+)\)", " ".join(wording.standard_sentences(f, s))):
            assert int(pct) == percent(int(a), int(b))


def test_kloe_findings_keep_their_standards_in_order():
    f = compute_findings(make_cycle(), split_returns())
    assert [k.number for k in f.kloes] == [1, 2]
    assert [s.number for s in f.kloe(1).standards] == [1, 2]
    assert wording.kloe_sentences(f, f.kloe(1))[0] == wording.headline(f.standard(1))
    assert f.kloe(2).title == "Voice of the child"


def test_standard_nobody_rated_says_so():
    f = compute_findings(make_cycle(), [])
    assert wording.headline(f.standard(1)) == "None of the 3 cases was assessed against this standard."
    assert f.standard(1).percent_met == 0


# --- agency exceptions ------------------------------------------------------------


def exception_cycle_returns(police_not_met: int, health_not_met: int = 0):
    cycle = eleven_case_cycle()
    returns = []
    for i, case in enumerate(cycle.cases[:9]):
        returns.append(ret("POL", case.ref, {1: M, 2: M, 3: N if i < police_not_met else M}))
    for i, case in enumerate(cycle.cases):
        returns.append(ret("HEA", case.ref, {1: M, 2: M, 3: N if i < health_not_met else M}))
    return cycle, returns


def test_agency_well_below_the_rest_is_named_with_its_own_counts():
    cycle, returns = exception_cycle_returns(police_not_met=7)
    f = compute_findings(cycle, returns)
    s3 = f.standard(3)
    assert list(wording.exceptions(f, s3)) == [
        "In 7 of the 9 cases audited by the Police, the voice of the child was not gathered."]
    e = s3.exceptions[0]
    assert (e.not_met, e.audited, e.agency_met_percent, e.others_met_percent) == (7, 9, 22, 100)
    assert wording.standard_sentences(f, s3)[1] == wording.exception(f, s3, e)
    assert wording.exception(f, s3, e) in wording.kloe_sentences(f, f.kloe(2))


def test_agency_not_named_when_under_a_third_of_its_cases_fall_short():
    cycle, returns = exception_cycle_returns(police_not_met=2)  # 2 of 9: below a third
    assert compute_findings(cycle, returns).standard(3).exceptions == ()
    cycle, returns = exception_cycle_returns(police_not_met=3)  # 3 of 9: exactly a third, 33 points below
    assert [e.agency for e in compute_findings(cycle, returns).standard(3).exceptions] == ["POL"]


def test_agency_not_named_when_the_others_do_no_better():
    cycle, returns = exception_cycle_returns(police_not_met=5, health_not_met=4)
    # Police met 4/9 = 44%, Health 7/11 = 64%: a gap of 20 points, under 25
    assert compute_findings(cycle, returns).standard(3).exceptions == ()


def test_a_single_shortfall_is_never_an_exception():
    cycle = make_cycle()
    # Housing: its one case not met; Education: 1 of its 2 cases not met - both 100 / 50 points below the rest
    returns = [ret("HOU", "EH-01", {1: N, 2: N, 3: N}), ret("POL", "EH-01", {1: M, 2: M, 3: M}),
               ret("SCH", "EH-01", {1: N, 2: M, 3: M}), ret("SCH", "N-01", {1: M, 2: M, 3: M}),
               ret("POL", "N-01", {1: M, 2: M, 3: M}), ret("HEA", "N-01", {1: M, 2: M, 3: M})]
    assert compute_findings(cycle, returns).standard(1).exceptions == ()


def test_exception_wording_when_every_case_fell_short():
    cycle = make_cycle()
    returns = [ret("SCH", "N-01", {1: N, 2: M, 3: M}), ret("SCH", "EH-01", {1: N, 2: M, 3: M}),
               ret("POL", "N-01", {1: M, 2: M, 3: M}), ret("POL", "N-02", {1: M, 2: M, 3: M}),
               ret("POL", "EH-01", {1: M, 2: M, 3: M}), ret("HEA", "N-01", {1: M, 2: M, 3: M})]
    f = compute_findings(cycle, returns)
    (e,) = f.standard(1).exceptions
    assert wording.exception(f, f.standard(1), e) == "In both cases audited by Education, the right agencies were not involved."
    from pipeline.wording import exception_sentence
    assert exception_sentence(3, 3, "Housing", "x") == "In all 3 cases audited by Housing, x."
    assert exception_sentence(1, 1, "Early Years", "x.") == "In the one case audited by Early Years, x."


# --- reasons, evidence and privacy ---------------------------------------------------


def test_reasons_are_attributed_and_shortened_but_otherwise_quoted_as_written():
    long_reason = ("Mother was seen at home but the views of the child were not recorded; "
                   + "the record is adult focused " * 10)
    returns = [ret("POL", "N-01", {3: N}, kloes=(2,), texts={3: long_reason}),
               ret("HEA", "N-01", {3: M}, kloes=(2,), texts={3: "Spoke with the child alone at clinic."})]
    f = compute_findings(make_cycle(), returns)
    s3 = f.standard(3)
    (reason,) = s3.reasons
    assert (reason.agency, reason.case_ref, reason.shortened) == ("POL", "N-01", True)
    assert reason.text.startswith("Mother was seen at home") and reason.text.endswith("\u2026")
    assert len(reason.text) <= 161
    assert wording.reason_sentences(f, s3)[0].startswith("The Police (case N-01): \u201cMother was seen")
    assert wording.reason_sentences(f, s3)[0].endswith("\u2026\u201d")
    # the agency's own words; a child's name in them is the report's privacy gate to refuse, not ours to edit
    assert s3.evidence[0].text == "Spoke with the child alone at clinic."


# --- appendix 2, data quality, methodology, learning event ------------------------------


def test_agency_appendix_groups_standards_by_kloe_and_carries_its_summary():
    summary = SummaryReturn(identity=FormIdentity(form_id="S-POL", cycle_id="2099-00", agency="POL",
                                                  kind=FormKind.SUMMARY),
                            improvements="Engage and understand", partnership="Flagging on all relevant IT systems")
    f = compute_findings(make_cycle(), split_returns(), summaries=[summary])
    pol = f.agency("POL")
    assert (pol.cases_involved, pol.cases_audited, pol.met, pol.not_met) == (3, 3, 8, 1)
    assert pol.standards_met_in_every_case == (2, 3) and pol.standards_met_in_some_cases == (1,)
    k1 = pol.by_kloe[0]
    assert (k1.kloe, k1.title) == (1, "Information sharing")
    assert [s.standard for s in k1.met] == [1, 2] and [s.standard for s in k1.not_met] == [1]
    assert [q.case_ref for q in k1.reasons] == ["EH-01"]
    assert pol.summary_returned and pol.improvements == "Engage and understand"
    assert not f.agency("HEA").summary_returned


def issued_form(form_id, agency, case_ref=None, superseded_by=None, kind=FormKind.AUDIT):
    return IssuedForm(identity=FormIdentity(form_id=form_id, cycle_id="2099-00", agency=agency, kind=kind,
                                            case_ref=case_ref),
                      path=f"outbox/forms/{agency}/{form_id}.docx", file_sha256="0" * 64,
                      template_fingerprint="t", issued_at=datetime(2015, 9, 1), superseded_by=superseded_by)


def test_data_quality_counts_current_forms_issued_returned_and_outstanding():
    issued = [
        issued_form("F-POL-N-01-all", "POL", "N-01"),
        issued_form("OLD-HEA", "HEA", "N-01", superseded_by="F-HEA-N-01-all"),
        issued_form("F-HEA-N-01-all", "HEA", "N-01"),
        issued_form("F-SCH-N-01-all", "SCH", "N-01"),
        issued_form("S-POL", "POL", kind=FormKind.SUMMARY),
    ]
    returns = [ret("POL", "N-01", {1: M, 2: M, 3: M}),
               ret("HEA", "N-01", {1: M, 2: M, 3: M}, form_id="OLD-HEA")]  # returned on the superseded form
    f = compute_findings(make_cycle(), returns, issued=issued)
    dq = f.data_quality
    assert (dq.forms_issued, dq.forms_returned, dq.forms_outstanding) == (4, 2, 2)
    assert [o.form_id for o in dq.outstanding] == ["F-SCH-N-01-all", "S-POL"]
    assert wording.data_quality_sentences(dq)[0] == "2 of the 4 forms issued were returned; 2 are outstanding."
    assert {(a.agency, a.case_ref) for a in dq.awaiting} == {
        ("SCH", "N-01"), ("POL", "N-02"), ("HEA", "N-02"), ("POL", "EH-01"), ("SCH", "EH-01"), ("HOU", "EH-01")}


def test_methodology_counts_cases_per_priority_area_in_the_cycle_order():
    f = compute_findings(make_cycle(), split_returns())
    m = f.methodology
    assert [(p.name, p.cases_selected, p.cases_audited) for p in m.priority_areas] == [
        ("Neglect", 2, 2), ("Early Help", 1, 1)]
    assert wording.methodology_sentence(m) == "A total of 3 cases were audited, with 2 covering Neglect and 1 covering Early Help."
    assert m.agencies_returned == ("POL", "HEA", "SCH", "HOU")
    partial = compute_findings(make_cycle(), [ret("POL", "N-01", {1: M})]).methodology
    assert wording.methodology_sentence(partial) == "Of the 3 cases selected, 1 was audited, with 1 covering Neglect."


def test_learning_event_counts_only_agencies_that_sent_someone():
    cycle = make_cycle(attendance=(Attendance(agency="Police", count=4), Attendance(agency="Health", count=0),
                                   Attendance(agency="Housing", count=3)))
    ev = compute_findings(cycle, []).learning_event
    assert (ev.total_practitioners, ev.agencies_attending, len(ev.rows)) == (7, 2, 3)
    assert wording.learning_event_sentence(ev) == "In total, 7 practitioners across 2 agencies attended the event."


# --- digests ------------------------------------------------------------------------------


def test_digest_changes_when_a_count_changes_and_not_when_only_words_do():
    cycle = make_cycle()
    base = compute_findings(cycle, split_returns())
    reworded = [r.model_copy(update={"answers": tuple(a.model_copy(update={
        "evidence": a.evidence and "Different words", "reason": a.reason and "Other words"}) for a in r.answers)})
        for r in split_returns()]
    same = compute_findings(cycle, reworded)
    assert same.kloe(1).digest == base.kloe(1).digest
    assert same.executive_summary.digest == base.executive_summary.digest
    assert same.standard(1).reasons != base.standard(1).reasons

    incomplete = split_returns()
    incomplete[0] = incomplete[0].model_copy(update={"complete": False})  # same ratings, now listed as incomplete
    assert compute_findings(cycle, incomplete).data_quality.digest != base.data_quality.digest
    assert compute_findings(cycle, incomplete).kloe(1).digest == base.kloe(1).digest

    flipped = split_returns()
    flipped[1] = ret("HEA", "N-01", {1: M, 2: M, 3: N})  # HEA now: standard 1 met, standard 3 not met
    changed = compute_findings(cycle, flipped)
    assert changed.kloe(2).digest != base.kloe(2).digest
    assert changed.kloe(1).digest != base.kloe(1).digest  # standard 1: HEA now met in N-01
    assert changed.methodology.digest == base.methodology.digest


def test_digest_tells_which_agency_a_count_belongs_to():
    cycle = make_cycle()
    a = compute_findings(cycle, [ret("POL", "N-01", {1: M}), ret("HEA", "N-01", {1: N})])
    b = compute_findings(cycle, [ret("POL", "N-01", {1: N}), ret("HEA", "N-01", {1: M})])
    assert (a.standard(1).cases_met, a.standard(1).responses_met) == (b.standard(1).cases_met, b.standard(1).responses_met)
    assert a.kloe(1).digest != b.kloe(1).digest


def test_digest_of_the_same_figures_is_stable_across_runs_and_ignores_received_time():
    a = compute_findings(make_cycle(), split_returns())
    later = [r.model_copy(update={"received_at": datetime(2016, 1, 1)}) for r in split_returns()]
    b = compute_findings(make_cycle(), later)
    assert [k.digest for k in a.kloes] == [k.digest for k in b.kloes]
    assert figures_digest(a.kloes) == figures_digest(b.kloes)
    assert len(a.kloe(1).digest) == 16
    other = a.standard(1).model_copy(update={"cases_met": a.standard(1).cases_met + 1})
    assert figures_digest(other) != figures_digest(a.standard(1))


def test_digests_are_those_earlier_versions_stored_in_their_reports():
    """A report keeps each passage's digest; a rebuild compares it with today's. Were the digest of the same
    figures to change (say, by computing it another way), every passage the comms team edited would be
    flagged as stale on the first rebuild after an upgrade. These were computed at commit 9b41756, before digests
    were made without model_dump; the data-quality one at 0fd0dba, when it gained the agency-case audit counts
    (the old method gives the same value), so an edited Future Learning passage is flagged once for re-reading."""
    f = compute_findings(make_cycle(), split_returns())
    assert [k.digest for k in f.kloes] == ["1e45b7b0ddd93d9d", "4f2301a2497ce8e5"]
    assert [f.data_quality.digest, f.methodology.digest, f.executive_summary.digest, f.learning_event.digest] == [
        "0f3ac8ddad78f486", "28540b1c01f185f5", "422c900fa96756b3", "f2afb041e5cd031b"]
    assert [a.digest for a in f.agencies] + [s.digest for s in f.standards] == [
        "efaaf5c6bcbaed59", "c9bbd91836c732ab", "f917aaa819e0ea1a", "44b2391b7b0de586",
        "0d6057e6ea682e5f", "20caf7953518f66d", "98cd47e09a3e5ce7"]


def test_quotes_and_case_outcomes_built_without_validation_equal_validated_ones():
    """Quotes and case outcomes (one per answer with words, one per case and standard) are built without pydantic's
    validation, their values being typed already: each must be the model validation would have made, value for
    value and type for type (a str where an int belongs would print the same but count differently)."""
    long_words = "The plan was reviewed at each meeting and the child's views were recorded. " * 4
    f = compute_findings(make_cycle(), split_returns() + [ret("HOU", "N-01", {1: NA}, texts={1: long_words})])
    made = [q for s in f.standards for q in (*s.evidence, *s.reasons, *s.na_reasons)] + [
        c for s in f.standards for c in s.by_case]
    assert {type(m).__name__ for m in made} == {"Quote", "CaseOutcome"}
    assert any(getattr(m, "shortened", False) for m in made)
    for m in made:
        validated = type(m).model_validate(m.model_dump())
        assert m == validated
        assert [(k, type(v)) for k, v in m] == [(k, type(v)) for k, v in validated]
        assert m.model_dump_json() == validated.model_dump_json() and hash(m) == hash(validated)
        assert m.model_fields_set == set(type(m).model_fields)
