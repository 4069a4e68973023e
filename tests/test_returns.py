"""Reading one returned file: real generated forms, filled the way Word fills them, then changed the ways people change them.

The helpers at the top (an issued workspace, filling, XML surgery, LibreOffice
re-save) are shared with test_ingest.py and test_status.py.
"""

from __future__ import annotations

import copy
import io
import random
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import pytest
from lxml import etree

from pipeline.contract import SUMMARY, evidence_tag, rating_tag, reason_tag
from pipeline.forms import GenerateResult, generate_forms
from pipeline.models import Cycle, FormKind, RatingKind
from pipeline.ooxml.controls import fill_controls, replace_parts
from pipeline.problems import CaseAuditError
from pipeline.problem_codes import needs_action
from pipeline.returns import Outcome, read_return
from pipeline.store import Store
from pipeline.workspace import Workspace, init_workspace

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NS = {"w": W}
DOC = "word/document.xml"
CUSTOM = "docProps/custom.xml"



# --- shared helpers ----------------------------------------------------------------


@dataclass
class Issued:
    """A workspace whose forms have been generated, as an officer would have it after generate-forms."""

    ws: Workspace
    cycle: Cycle
    generated: GenerateResult

    def path(self, agency: str, case_ref: Optional[str] = None, kloes: Optional[tuple[int, ...]] = None) -> Path:
        for w in self.generated.written:
            if w.agency == agency and w.case_ref == case_ref and (kloes is None or w.kloes == kloes):
                return self.ws.root / w.path
        raise KeyError((agency, case_ref, kloes))

    def form_id(self, agency: str, case_ref: Optional[str] = None) -> str:
        for w in self.generated.written:
            if w.agency == agency and w.case_ref == case_ref:
                return w.form_id
        raise KeyError((agency, case_ref))

    def blank(self, agency: str, case_ref: Optional[str] = None, kloes=None) -> bytes:
        return self.path(agency, case_ref, kloes).read_bytes()

    def filled(self, agency: str, case_ref: Optional[str] = None, values: Optional[dict] = None, kloes=None) -> bytes:
        if values is None:
            values = complete_answers(self.cycle, kloes) if case_ref else summary_answers()
        return fill_controls(self.blank(agency, case_ref, kloes), values)

    def read(self, data: bytes, filename: str = "returned.docx", cycle: Optional[Cycle] = None):
        with Store.open(self.ws.store_path) as store:
            return read_return(data, filename=filename, cycle=cycle or self.cycle, register=store)


def issue_forms(root: Path, cycle: Cycle, **options) -> Issued:
    ws = init_workspace(root, example=True)
    return Issued(ws, cycle, generate_forms(ws, cycle, **options))


def complete_answers(cycle: Cycle, kloes=None, **special: tuple) -> dict:
    """Every standard met with evidence, except `S<n>=(rating, evidence, reason)` overrides."""
    values: dict = {}
    for s in cycle.standards:
        if kloes is not None and s.kloe not in kloes:
            continue
        rating, evidence, reason = special.get(f"S{s.number}", ("Met or exceeded", f"Evidence for standard {s.number}: seen in the case file.", ""))
        values[rating_tag(s.number)] = rating
        values[evidence_tag(s.number)] = evidence
        values[reason_tag(s.number)] = reason
    return values


def summary_answers() -> dict:
    return {SUMMARY.tag("improvements"): "Refresher training on consent.",
            SUMMARY.tag("partnership"): "Invite housing to core groups.",
            SUMMARY.tag("comments"): "None."}


def edit_document(data: bytes, change: Callable[[etree._Element], None], extra_parts: Optional[dict] = None) -> bytes:
    """Apply `change` to word/document.xml, as a person editing the file in Word would."""
    root = etree.fromstring(zipfile.ZipFile(io.BytesIO(data)).read(DOC))
    change(root)
    parts = {DOC: etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)}
    parts.update(extra_parts or {})
    return replace_parts(data, parts)


def edit_custom_properties(data: bytes, **new: str) -> bytes:
    root = etree.fromstring(zipfile.ZipFile(io.BytesIO(data)).read(CUSTOM))
    for prop in root:
        short = prop.get("name").split(".", 1)[1]
        if short in new:
            prop[0].text = new[short]
    return replace_parts(data, {CUSTOM: etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)})


def without_part(data: bytes, part: str) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != part:
                dst.writestr(info, src.read(info))
    return out.getvalue()


def standard_row(root: etree._Element, number: int) -> etree._Element:
    for tr in root.iter(f"{{{W}}}tr"):
        first = tr.find(f"{{{W}}}tc")
        if first is not None and "".join(first.itertext()).strip().startswith(f"Standard {number}"):
            return tr
    raise KeyError(number)


def cell(root: etree._Element, number: int, column: int) -> etree._Element:
    return standard_row(root, number).findall(f"{{{W}}}tc")[column]


def type_into_cell(tc: etree._Element, text: str) -> None:
    """What an auditor does after deleting the content control: types straight into the cell."""
    for sdt in list(tc.iter(f"{{{W}}}sdt")):
        sdt.getparent().remove(sdt)
    p = tc.find(f"{{{W}}}p")
    run = etree.SubElement(p, f"{{{W}}}r")
    etree.SubElement(run, f"{{{W}}}t").text = text


# --- fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def issued(tmp_path_factory, example_cycle) -> Issued:
    return issue_forms(tmp_path_factory.mktemp("returns") / "ws", example_cycle)


def codes(outcome) -> list[str]:
    return [p.code for p in outcome.problems]


def errors(outcome) -> list[str]:
    return [p.code for p in outcome.problems.errors]


# --- a form filled in Word -------------------------------------------------------------


def test_a_completely_filled_form_is_accepted_with_every_answer_as_typed(issued):
    values = complete_answers(issued.cycle, S7=("Not met", "", "Consent was not recorded.\nNo note on file."),
                              S8=("Not applicable", "", "No referral was needed."))
    outcome = issued.read(issued.filled("POLICE", "N-01", values))
    assert outcome.outcome is Outcome.ACCEPTED, [p.render() for p in outcome.problems]
    ret = outcome.audit
    assert ret.identity.agency == "POLICE" and ret.identity.case_ref == "N-01"
    assert ret.identity.form_id == issued.form_id("POLICE", "N-01")
    assert len(ret.answers) == len(issued.cycle.standards)
    assert ret.answer(1).rating is RatingKind.MET and ret.answer(1).evidence == "Evidence for standard 1: seen in the case file."
    assert ret.answer(7).rating is RatingKind.NOT_MET and ret.answer(7).reason == "Consent was not recorded.\nNo note on file."
    assert ret.answer(8).rating is RatingKind.NOT_APPLICABLE and ret.answer(8).rating_label == "Not applicable"
    assert ret.complete and not ret.no_involvement and not ret.had_tracked_changes
    assert set(outcome.sources.values()) == {"control"}  # Word keeps the tags: every field came from its control


def test_the_agency_summary_form_is_read_into_its_three_fields(issued):
    outcome = issued.read(issued.filled("POLICE"))
    assert outcome.outcome is Outcome.ACCEPTED
    assert outcome.summary.identity.kind is FormKind.SUMMARY
    assert (outcome.summary.improvements, outcome.summary.partnership, outcome.summary.comments) == (
        "Refresher training on consent.", "Invite housing to core groups.", "None.")


def test_no_involvement_ticked_with_a_reason_needs_no_ratings(issued):
    values = {"ca:no-involvement": True, "ca:no-involvement-reason": "The family moved before we were involved."}
    outcome = issued.read(issued.filled("CCG", "N-01", values))
    assert outcome.outcome is Outcome.ACCEPTED, [p.render() for p in outcome.problems]
    assert outcome.audit.no_involvement and outcome.audit.no_involvement_reason.startswith("The family moved")


def test_no_involvement_ticked_without_a_reason_is_incomplete(issued):
    outcome = issued.read(issued.filled("CCG", "N-01", {"ca:no-involvement": True}))
    assert outcome.outcome is Outcome.INCOMPLETE
    assert errors(outcome) == ["return.no-involvement-without-reason"]
    assert outcome.audit.no_involvement  # the tick is kept


def test_an_incomplete_form_is_kept_with_every_gap_named_by_kloe_and_standard(issued):
    values = complete_answers(issued.cycle,
                              S3=("Met or exceeded", "", ""),            # met without evidence
                              S5=("", "", ""),                            # no rating
                              S7=("Not met", "", ""),                     # not met without a reason
                              S1=("Not applicable", "", "Not our role"),  # N/A where the standard does not allow it
                              S9=("Not applicable", "", ""))              # N/A allowed, but no reason
    outcome = issued.read(issued.filled("POLICE", "N-02", values))
    assert outcome.outcome is Outcome.INCOMPLETE
    found = {(p.code, p.location) for p in outcome.problems.errors}
    assert found == {
        ("return.missing-evidence", "KLOE 1 table, Standard 3"),
        ("return.missing-rating", "KLOE 2 table, Standard 5"),
        ("return.missing-reason", "KLOE 2 table, Standard 7"),
        ("return.na-not-allowed", "KLOE 1 table, Standard 1"),
        ("return.missing-reason", "KLOE 2 table, Standard 9"),
    }
    ret = outcome.audit
    assert not ret.complete
    assert ret.answer(2).evidence.startswith("Evidence for standard 2")  # the answers given are kept
    assert ret.answer(7).rating is RatingKind.NOT_MET
    every_fix = " ".join(p.fix for p in outcome.problems.errors)
    assert "Rating" in every_fix and "evidence" in every_fix


def test_not_applicable_where_the_form_does_not_allow_it_counts_as_blank_everywhere(issued):
    from pipeline.findings import compute_findings
    from pipeline.wording import returns_rows

    assert not issued.cycle.standard(1).na_allowed
    values = complete_answers(issued.cycle, S1=("Not applicable", "", "Not our role"))
    outcome = issued.read(issued.filled("POLICE", "N-02", values))
    assert errors(outcome) == ["return.na-not-allowed"]
    answer = outcome.audit.answer(1)
    assert answer.rating is None and answer.rating_label == "Not applicable"  # the agency's word kept for the record
    findings = compute_findings(issued.cycle, [outcome.audit])
    s1 = findings.standard(1)
    assert (s1.responses_not_applicable, s1.responses_missing, s1.responses_rated) == (0, 1, 0)
    assert not s1.na_reasons
    dq = findings.data_quality
    assert (dq.not_applicable_total, dq.missing_total, dq.not_allowed_total) == (0, 1, 1)
    assert ("Answers the form does not allow (counted as blank)", 1) in returns_rows(dq)


def test_an_untouched_form_is_rejected_with_one_problem_not_twenty_two(issued):
    outcome = issued.read(issued.blank("POLICE", "N-03"))
    assert outcome.outcome is Outcome.REJECTED and outcome.audit is None  # never stored, so it replaces nothing
    assert [(p.code, p.location) for p in outcome.problems.errors] == [("return.blank-form", "Whole form")]
    assert outcome.identity.case_ref == "N-03"  # feedback still goes to the right agency


def test_an_untouched_summary_form_is_rejected_like_an_untouched_audit_form(issued):
    outcome = issued.read(issued.blank("POLICE"))
    assert outcome.outcome is Outcome.REJECTED and outcome.summary is None  # never stored: the agency stays chased
    assert [(p.code, p.location) for p in outcome.problems.errors] == [("return.empty-summary", "Summary table")]
    assert outcome.identity.agency == "POLICE"


def test_a_summary_form_with_one_answer_is_accepted(issued):
    outcome = issued.read(issued.filled("POLICE", values={SUMMARY.tag("comments"): "Nothing to add."}))
    assert outcome.outcome is Outcome.ACCEPTED and outcome.summary.comments == "Nothing to add."


# --- what people do to forms -------------------------------------------------------------


def test_tracked_changes_count_insertions_not_deletions_and_comments_are_flagged(issued):
    filled = issued.filled("POLICE", "CSE-01")

    def change(root):
        tc = cell(root, 2, 2)
        p = tc.find(".//w:p", NS)
        ins = etree.SubElement(p, f"{{{W}}}ins", {f"{{{W}}}id": "901", f"{{{W}}}author": "Auditor"})
        etree.SubElement(etree.SubElement(ins, f"{{{W}}}r"), f"{{{W}}}t").text = " Added later."
        deleted = etree.SubElement(p, f"{{{W}}}del", {f"{{{W}}}id": "902", f"{{{W}}}author": "Auditor"})
        etree.SubElement(etree.SubElement(deleted, f"{{{W}}}r"), f"{{{W}}}delText").text = " Struck out."
        etree.SubElement(p, f"{{{W}}}commentRangeStart", {f"{{{W}}}id": "0"})
        ref_run = etree.SubElement(p, f"{{{W}}}r")
        etree.SubElement(ref_run, f"{{{W}}}commentReference", {f"{{{W}}}id": "0"})

    comments = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:comments xmlns:w="{W}">'
                f'<w:comment w:id="0" w:author="Manager"><w:p><w:r><w:t>Check this</w:t></w:r></w:p></w:comment></w:comments>')
    outcome = issued.read(edit_document(filled, change, {"word/comments.xml": comments.encode()}))
    assert outcome.outcome is Outcome.ACCEPTED
    assert outcome.audit.answer(2).evidence == "Evidence for standard 2: seen in the case file. Added later."
    assert outcome.had_tracked_changes and outcome.had_comments
    assert outcome.audit.had_tracked_changes and outcome.audit.had_comments
    assert {"return.tracked-changes", "return.comments"} <= set(codes(outcome))
    assert all(needs_action(p) for p in outcome.problems)  # the officer has to look at these


def test_a_deletion_inside_a_compatibility_fallback_is_read_as_the_choice_shows(issued):
    """Text hidden twice over (struck out, in the copy kept for older readers) is taken out once, not a fault."""
    filled = issued.filled("POLICE", "CSE-01")
    mc = "http://schemas.openxmlformats.org/markup-compatibility/2006"

    def change(root):
        p = cell(root, 2, 2).find(".//w:p", NS)
        run = etree.SubElement(p, f"{{{W}}}r")
        alternate = etree.SubElement(run, f"{{{mc}}}AlternateContent")
        etree.SubElement(alternate, f"{{{mc}}}Choice", Requires="w14")
        fallback = etree.SubElement(alternate, f"{{{mc}}}Fallback")
        deleted = etree.SubElement(fallback, f"{{{W}}}del", {f"{{{W}}}id": "903", f"{{{W}}}author": "Auditor"})
        old = etree.SubElement(deleted, f"{{{W}}}r")
        etree.SubElement(old, f"{{{W}}}tab")
        etree.SubElement(old, f"{{{W}}}delText").text = "Older wording"

    outcome = issued.read(edit_document(filled, change))
    assert outcome.outcome is Outcome.ACCEPTED, outcome.problems
    assert outcome.audit.answer(2).evidence == "Evidence for standard 2: seen in the case file."
    assert "Older wording" not in outcome.audit.answer(2).evidence and outcome.had_tracked_changes


def test_an_auditor_who_deleted_the_controls_and_typed_in_the_cells_is_still_read(issued):
    values = complete_answers(issued.cycle)
    del values["ca:rating:S6"], values["ca:evidence:S6"], values["ca:reason:S6"]
    del values["ca:rating:S8"], values["ca:reason:S8"]
    filled = issued.filled("POLICE", "CSE-02", values)

    def change(root):
        type_into_cell(cell(root, 6, 1), "Not met")
        type_into_cell(cell(root, 6, 3), "No referral route was known.")
        type_into_cell(cell(root, 8, 1), "N/A")
        type_into_cell(cell(root, 8, 3), "Nothing was referred.")

    outcome = issued.read(edit_document(filled, change))
    assert outcome.outcome is Outcome.ACCEPTED, [p.render() for p in outcome.problems]
    six, eight = outcome.audit.answer(6), outcome.audit.answer(8)
    assert (six.rating, six.reason) == (RatingKind.NOT_MET, "No referral route was known.")
    assert (eight.rating, eight.rating_label, eight.reason) == (RatingKind.NOT_APPLICABLE, "Not applicable", "Nothing was referred.")
    assert outcome.sources["S6.rating"] == "position" and outcome.sources["S5.rating"] == "control"


def test_a_typed_rating_that_is_not_on_the_scale_is_named_with_the_choices(issued):
    filled = issued.filled("POLICE", "CSE-03", complete_answers(issued.cycle))
    outcome = issued.read(edit_document(filled, lambda root: type_into_cell(cell(root, 4, 1), "Partly")))
    assert outcome.outcome is Outcome.INCOMPLETE
    [problem] = outcome.problems.errors
    assert (problem.code, problem.value, problem.location) == ("return.unknown-rating", "Partly", "KLOE 1 table, Standard 4")
    assert "'Met or exceeded'" in problem.fix and "'Not met'" in problem.fix


def test_a_control_dragged_into_another_row_does_not_answer_for_the_row_it_names(issued):
    filled = issued.filled("POLICE", "CSE-04", complete_answers(issued.cycle, S10=("Not met", "", "No threshold document used.")))

    def change(root):  # swap the rating cells' content of standards 10 and 11: each control now sits in the other's row
        a, b = cell(root, 10, 1), cell(root, 11, 1)
        pa, pb = a.find("w:p", NS), b.find("w:p", NS)
        a.replace(pa, pb)
        b.insert(1, pa)

    outcome = issued.read(edit_document(filled, change))
    assert outcome.audit.answer(11).rating is RatingKind.NOT_MET  # read where it sits: standard 11's row
    assert outcome.sources["S11.rating"] == "position"
    assert "return.missing-reason" in errors(outcome)


# --- which form is this -------------------------------------------------------------------


def test_a_form_issued_by_another_workspace_is_not_a_form_of_this_cycle(issued, tmp_path, example_cycle):
    other = issue_forms(tmp_path / "other", example_cycle, agencies=["POLICE"], cases=["N-01"])
    outcome = issued.read(other.filled("POLICE", "N-01"))
    assert outcome.outcome is Outcome.REJECTED
    assert errors(outcome) == ["return.unknown-form"]
    assert "not a form issued for this cycle" in outcome.problems.errors[0].message
    assert outcome.identity.agency == "POLICE"  # still addressed to the agency that sent it


def test_a_form_of_another_cycle_is_rejected(issued):
    outcome = issued.read(edit_custom_properties(issued.filled("POLICE", "N-01"), CycleId="2014-15"))
    assert errors(outcome) == ["return.wrong-cycle"]


def test_a_form_whose_identity_disagrees_with_the_register_is_rejected(issued):
    outcome = issued.read(edit_custom_properties(issued.filled("POLICE", "N-01"), Agency="CCG"))
    assert errors(outcome) == ["return.identity-mismatch"]


def test_a_visible_case_reference_changed_by_hand_is_rejected(issued):
    filled = issued.filled("POLICE", "N-01")

    def change(root):
        for t in root.iter(f"{{{W}}}t"):  # "Case reference: N-01" under the title, and the details table
            if t.text and "N-01" in t.text:
                t.text = t.text.replace("N-01", "N-02")

    outcome = issued.read(edit_document(filled, change))
    assert errors(outcome) == ["return.identity-mismatch"]
    assert outcome.problems.errors[0].value == "N-02"


def test_a_form_made_before_the_standards_changed_is_refused_with_a_fresh_form_advised(issued):
    changed = issued.cycle.model_copy(update={"standards": tuple(
        s.model_copy(update={"text": s.text + " (revised)"}) if s.number == 5 else s for s in issued.cycle.standards)})
    outcome = issued.read(issued.filled("POLICE", "N-01"), cycle=changed)
    assert errors(outcome) == ["return.old-toolkit"]
    assert "older version of the toolkit" in outcome.problems.errors[0].message
    assert "fresh form" in outcome.problems.errors[0].fix


def test_a_form_that_lost_its_document_properties_is_matched_by_its_printed_form_id(issued):
    outcome = issued.read(without_part(issued.filled("POLICE", "N-01"), CUSTOM))
    assert outcome.outcome is Outcome.ACCEPTED
    assert outcome.audit.identity.form_id == issued.form_id("POLICE", "N-01")
    assert "return.properties-missing" in codes(outcome)


def test_a_return_of_a_replaced_form_is_accepted_with_a_warning(tmp_path, example_cycle):
    first = issue_forms(tmp_path / "ws", example_cycle, agencies=["CCG"], cases=["N-04"])
    old = first.filled("CCG", "N-04")
    generate_forms(first.ws, example_cycle, agencies=["CCG"], cases=["N-04"], reissue=True)
    outcome = first.read(old)
    assert outcome.outcome is Outcome.ACCEPTED
    assert codes(outcome) == ["return.superseded-form"]
    assert not any(needs_action(p) for p in outcome.problems)  # a note: nothing for anyone to do


# --- per-KLOE forms --------------------------------------------------------------------------


def test_a_per_kloe_form_is_complete_with_only_its_own_standards(tmp_path, example_cycle):
    per_kloe = issue_forms(tmp_path / "ws", example_cycle, per_kloe=True, agencies=["EY"])
    outcome = per_kloe.read(per_kloe.filled("EY", "EH-02", complete_answers(example_cycle, kloes=(3,)), kloes=(3,)))
    assert outcome.outcome is Outcome.ACCEPTED, [p.render() for p in outcome.problems]
    assert outcome.audit.identity.kloes == (3,)
    assert [a.standard for a in outcome.audit.answers] == [s.number for s in example_cycle.standards_for(3)]


def test_no_involvement_on_one_kloe_form_but_ratings_on_another_is_flagged(tmp_path, example_cycle):
    from pipeline.ingest import ingest_inbox

    per_kloe = issue_forms(tmp_path / "ws", example_cycle, per_kloe=True, agencies=["EY"])
    forms = [w.kloes for w in per_kloe.generated.written if w.agency == "EY" and w.case_ref == "EH-02"]
    first, second = forms[0], forms[1]
    none = {"ca:no-involvement": True, "ca:no-involvement-reason": "Not known to the setting."}
    (per_kloe.ws.inbox / "first.docx").write_bytes(per_kloe.filled("EY", "EH-02", none, kloes=first))
    earlier = ingest_inbox(per_kloe.ws, example_cycle).files[0]
    assert "return.no-involvement-mix" not in [p.code for p in earlier.problems]
    rated = complete_answers(example_cycle, kloes=second)
    (per_kloe.ws.inbox / "second.docx").write_bytes(per_kloe.filled("EY", "EH-02", rated, kloes=second))
    later = ingest_inbox(per_kloe.ws, example_cycle).files[0]
    mix = [p for p in later.problems if p.code == "return.no-involvement-mix"]
    assert len(mix) == 1 and mix[0].severity.value == "warning", [p.render() for p in later.problems]
    assert f"KLOE {first[0]}" in mix[0].message and "EH-02" in mix[0].message


def test_no_involvement_on_every_kloe_form_is_not_flagged(tmp_path, example_cycle):
    from pipeline.ingest import ingest_inbox

    per_kloe = issue_forms(tmp_path / "ws", example_cycle, per_kloe=True, agencies=["EY"])
    forms = [w.kloes for w in per_kloe.generated.written if w.agency == "EY" and w.case_ref == "EH-02"]
    none = {"ca:no-involvement": True, "ca:no-involvement-reason": "Not known to the setting."}
    for n, kloes in enumerate(forms[:2]):
        (per_kloe.ws.inbox / f"form{n}.docx").write_bytes(per_kloe.filled("EY", "EH-02", none, kloes=kloes))
    result = ingest_inbox(per_kloe.ws, example_cycle)
    assert not [p for f in result.files for p in f.problems if p.code == "return.no-involvement-mix"]


def test_per_kloe_returns_are_counted_as_agency_case_audits_and_appendix_1_says_how_forms_were_sent(tmp_path, example_cycle):
    """Five per-KLOE forms for one case are one agency's audit of that case: the data-quality table, its
    bullets and Appendix 1 must not count them as five audits."""
    from docx import Document

    from pipeline.ingest import ingest_inbox
    from pipeline.report import build_report
    from pipeline.wording import data_quality_sentences, returns_rows

    per_kloe = issue_forms(tmp_path / "ws", example_cycle, per_kloe=True, agencies=["SCH"])
    sch_cases = [c.ref for c in example_cycle.cases_for("SCH")]
    assert len(sch_cases) >= 2
    full, part = sch_cases[0], sch_cases[1]
    written = [w for w in per_kloe.generated.written if w.agency == "SCH" and w.case_ref in (full, part)]
    for n, w in enumerate(written):
        if w.case_ref == part and w.kloes != written[-1].kloes:
            continue  # only one of the part-returned case's KLOE forms comes back
        values = complete_answers(example_cycle, kloes=w.kloes)
        (per_kloe.ws.inbox / f"sch-{n}.docx").write_bytes(per_kloe.filled("SCH", w.case_ref, values, kloes=w.kloes))
    ingest_inbox(per_kloe.ws, example_cycle)
    result = build_report(per_kloe.ws, example_cycle)
    dq = result.findings.data_quality
    kloe_forms = len(example_cycle.kloes)
    assert dq.returns_received == kloe_forms + 1  # forms counted in the figures ...
    assert (dq.audits_returned, dq.audits_partly_returned) == (1, 1)  # ... make two audits, one of them in part
    assert dq.audits_expected == sum(len(c.agencies) for c in example_cycle.cases)
    rows = dict(returns_rows(dq))
    assert rows["Agency case audits returned in full"] == 1
    assert rows["Agency case audits returned in part (some per-KLOE forms outstanding)"] == 1
    assert rows["Agency case audits with nothing received"] == dq.audits_expected - 2
    assert data_quality_sentences(dq)[0].startswith("Agencies were sent one form per KLOE: 1 of the ")

    doc = Document(str(result.path))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "Each agency received one form for each case it was involved in and each key line of enquiry" in text
    table = next(t for t in doc.tables if t.rows[0].cells[0].text == "Returns and answers")
    printed = {r.cells[0].text: r.cells[1].text for r in table.rows[1:]}
    assert printed["Agency case audits returned in full"] == "1"
    assert printed[f"Forms issued ({dq.per_kloe_forms_issued} of them one per KLOE)"] == str(dq.forms_issued)


def test_appendix_1_says_one_form_per_case_when_whole_forms_were_sent(issued):
    from pipeline.findings import compute_findings
    from pipeline.wording import form_arrangement_sentence

    with Store.open(issued.ws.store_path) as store:
        forms = store.issued_forms(current_only=True)
    findings = compute_findings(issued.cycle, [], issued=forms)
    assert findings.data_quality.whole_forms_issued and not findings.data_quality.per_kloe_forms_issued
    assert form_arrangement_sentence(findings.data_quality) == (
        "Each agency received one form for each case it was involved in.")


# --- LibreOffice ------------------------------------------------------------------------------


@pytest.mark.libreoffice
def test_forms_resaved_by_libreoffice_give_identical_records(issued, tmp_path, resave_with_libreoffice):
    values = complete_answers(issued.cycle, S7=("Not met", "", "Consent was not recorded.\nNo note on file."),
                              S8=("Not applicable", "", "No referral was needed."), S12=("", "Some notes", ""))
    originals = {
        "POLICE_N-01.docx": issued.filled("POLICE", "N-01", values),
        "CCG_N-01.docx": issued.filled("CCG", "N-01", {"ca:no-involvement": True,
                                                      "ca:no-involvement-reason": "Not known to the GP practice."}),
        "POLICE_summary.docx": issued.filled("POLICE"),
        "HEFT_N-02.docx": issued.blank("HEFT", "N-02"),
    }
    folder = tmp_path / "as-sent"
    folder.mkdir()
    for name, data in originals.items():
        (folder / name).write_bytes(data)
    saved = resave_with_libreoffice(sorted(folder.iterdir()), tmp_path / "libreoffice")
    for path in saved:
        before = issued.read(originals[path.name], filename=path.name)
        after = issued.read(path.read_bytes(), filename=path.name)
        assert b"ca:rating" not in zipfile.ZipFile(path).read(DOC)  # LibreOffice really dropped the tags
        assert after.outcome is before.outcome, (path.name, [p.render() for p in after.problems])
        assert [(p.code, p.location) for p in after.problems.errors] == [(p.code, p.location) for p in before.problems.errors]
        if before.audit is not None:
            assert after.audit.answers == before.audit.answers
            assert (after.audit.no_involvement, after.audit.no_involvement_reason) == (
                before.audit.no_involvement, before.audit.no_involvement_reason)
            assert after.audit.identity == before.audit.identity
            assert set(after.sources.values()) == {"position"}
        elif before.summary is not None:
            assert after.summary.model_dump(exclude={"file_sha256"}) == before.summary.model_dump(exclude={"file_sha256"})
        else:  # the blank HEFT form: rejected either way, as the same form
            assert path.name == "HEFT_N-02.docx" and after.identity == before.identity


# --- files that are not forms ----------------------------------------------------------------


def _zip(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize("make, code", [
    (lambda f: b"", "file.empty"),
    (lambda f: b"%PDF-1.7\n1 0 obj<<>>endobj\n", "file.pdf"),
    (lambda f: b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "file.image"),
    (lambda f: b"{\\rtf1\\ansi Hello}", "file.not-word"),
    (lambda f: "Just some text the officer saved by mistake".encode(), "file.not-word"),
    (lambda f: f[: len(f) // 2], "file.corrupt"),  # a truncated download
    (lambda f: b"PK\x05\x06" + b"\x00" * 18, "file.empty"),  # a zip with nothing in it
    (lambda f: _zip({"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<x/>"}), "file.not-word"),
    (lambda f: _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>" + b" " * (4 * 1024 * 1024)}),
     "file.zip-bomb"),  # 4 MB that packs into a few KB
    (lambda f: edit_document(f, lambda r: None, {DOC: b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'}),
     "file.unsafe-xml"),
])
def test_files_that_are_not_usable_forms_are_rejected_with_a_specific_reason(issued, make, code):
    outcome = issued.read(make(issued.filled("POLICE", "N-01")))
    assert outcome.outcome is Outcome.REJECTED
    assert errors(outcome) == [code]
    problem = outcome.problems.errors[0]
    assert problem.message and problem.fix and "Traceback" not in problem.message


def _damage_member(data: bytes, member: str) -> bytes:
    """Scramble the middle of one member's compressed bytes, as a bad download or disk does."""
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(member)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    middle = start + info.compress_size // 2
    return data[:middle] + bytes(range(7, 7 + 64)) + data[middle + 64:]


def _newer_zip_version(data: bytes) -> bytes:
    """Say every member needs zip version 9.9 in the central directory, which Python's zipfile refuses."""
    central = data.rfind(b"PK\x01\x02")
    while central != -1:
        data = data[:central + 6] + bytes([99, 0]) + data[central + 8:]
        central = data.rfind(b"PK\x01\x02", 0, central)
    return data


@pytest.mark.parametrize("damage", [lambda f: _damage_member(f, DOC), _newer_zip_version])
def test_a_damaged_zip_is_refused_as_damaged_not_with_a_traceback(issued, damage):
    outcome = issued.read(damage(issued.filled("POLICE", "N-01")))
    assert outcome.outcome is Outcome.REJECTED and errors(outcome) == ["file.corrupt"]


def test_a_macro_enabled_copy_of_a_real_form_is_refused(issued):
    def macro(data: bytes) -> bytes:
        ct = zipfile.ZipFile(io.BytesIO(data)).read("[Content_Types].xml").replace(
            b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
            b"application/vnd.ms-word.document.macroEnabled.main+xml")
        return replace_parts(data, {"[Content_Types].xml": ct, "word/vbaProject.bin": b"\xd0\xcf\x11\xe0fake"})

    outcome = issued.read(macro(issued.filled("POLICE", "N-01")), filename="POLICE_N-01.docm")
    assert errors(outcome) == ["file.macro"]


def test_a_word_document_that_is_not_a_form_says_so(issued, tmp_path):
    import docx

    document = docx.Document()
    document.add_paragraph("Minutes of the core group meeting")
    document.add_table(rows=2, cols=2).cell(0, 0).text = "Attendees"
    buffer = io.BytesIO()
    document.save(buffer)
    outcome = issued.read(buffer.getvalue(), filename="minutes.docx")
    assert errors(outcome) == ["file.not-a-form"]


def test_a_form_with_its_identity_removed_entirely_is_recognised_but_not_guessed(issued):
    data = without_part(issued.filled("POLICE", "N-01"), CUSTOM)

    def change(root):
        for t in root.iter(f"{{{W}}}t"):
            if t.text and "Form ID" in t.text:
                t.text = t.text.replace("Form ID", "Form")
        for t in root.iter(f"{{{W}}}t"):
            if t.text and issued.form_id("POLICE", "N-01") in t.text:
                t.text = ""

    outcome = issued.read(edit_document(data, change))
    assert errors(outcome) == ["return.no-identity"]


def test_text_typed_into_a_control_whose_placeholder_flag_was_left_set_is_still_read(issued):
    """Word clears showingPlcHdr when someone types; an editor that leaves it set must not lose the answer."""
    values = complete_answers(issued.cycle)
    del values["ca:evidence:S3"]
    filled = issued.filled("POLICE", "N-02", values)

    def type_next_to_the_placeholder(root):
        sdt = cell(root, 3, 2).find(f".//{{{W}}}sdt")
        content = sdt.find(f"{{{W}}}sdtContent")
        run = etree.SubElement(content, f"{{{W}}}r")
        etree.SubElement(run, f"{{{W}}}t").text = "Strategy meeting minutes show the protocol was followed."

    outcome = issued.read(edit_document(filled, type_next_to_the_placeholder))
    assert outcome.outcome is Outcome.ACCEPTED, [p.render() for p in outcome.problems]
    assert outcome.audit.answer(3).evidence == "Strategy meeting minutes show the protocol was followed."
    untouched = issued.read(filled)  # the placeholder alone still reads as empty
    assert untouched.audit.answer(3).evidence == ""


# --- answers that are ambiguous -------------------------------------------------------------


def _rating_sdt(root: etree._Element, number: int) -> etree._Element:
    return cell(root, number, 1).find(f".//{{{W}}}sdt")


def _show(sdt: etree._Element, text: str) -> None:
    """Make a drop-down show `text` the way Word does when an item is picked."""
    content = sdt.find(f"{{{W}}}sdtContent")
    for t in content.iter(f"{{{W}}}t"):
        t.text = ""
    content.find(f".//{{{W}}}t").text = text


def copy_rating_control(number: int, shows: str, *, new_paragraph: bool = False):
    """An auditor copies the Rating drop-down of a standard and pastes it beside itself (or below), then picks `shows`."""
    def change(root):
        original = _rating_sdt(root, number)
        twin = copy.deepcopy(original)
        _show(twin, shows)
        if new_paragraph:
            p = etree.SubElement(cell(root, number, 1), f"{{{W}}}p")
            p.append(twin)
        else:
            original.addnext(twin)
    return change


@pytest.mark.parametrize("first, second", [("Met or exceeded", "Not met"), ("Not met", "Met or exceeded")])
@pytest.mark.parametrize("new_paragraph", [False, True])
def test_two_rating_drop_downs_that_disagree_are_two_ratings_not_the_first(issued, first, second, new_paragraph):
    values = complete_answers(issued.cycle, S5=(first, "Core group minutes on file.", "The plan was not reviewed."))
    data = edit_document(issued.filled("POLICE", "N-01", values), copy_rating_control(5, second, new_paragraph=new_paragraph))
    outcome = issued.read(data)
    assert outcome.outcome is Outcome.INCOMPLETE
    assert errors(outcome) == ["return.two-ratings"]
    (problem,) = outcome.problems.errors
    assert f"two ratings given ({first} and {second})" in problem.message
    assert problem.location == "KLOE 2 table, Standard 5"
    assert outcome.audit.answer(5).rating is None and not outcome.audit.complete


def test_a_copied_drop_down_showing_the_same_rating_is_one_rating(issued):
    data = edit_document(issued.filled("POLICE", "N-01"), copy_rating_control(5, "Met or exceeded"))
    outcome = issued.read(data)
    assert outcome.outcome is Outcome.ACCEPTED, [p.render() for p in outcome.problems]
    assert outcome.audit.answer(5).rating is RatingKind.MET


def test_a_copied_drop_down_still_showing_its_placeholder_is_no_second_rating(issued):
    def change(root):
        twin = copy.deepcopy(_rating_sdt(root, 5))
        _show(twin, "Choose a rating")  # the copy kept its grey text but lost the flag saying so
        _rating_sdt(root, 5).addnext(twin)
    outcome = issued.read(edit_document(issued.filled("POLICE", "N-01"), change))
    assert outcome.outcome is Outcome.ACCEPTED, [p.render() for p in outcome.problems]


def test_two_different_evidence_texts_in_one_cell_are_both_kept(issued):
    values = complete_answers(issued.cycle)

    def change(root):
        original = cell(root, 6, 2).find(f".//{{{W}}}sdt")
        twin = copy.deepcopy(original)
        twin.find(f".//{{{W}}}t").text = "Also: the chronology."
        p = etree.SubElement(cell(root, 6, 2), f"{{{W}}}p")
        p.append(twin)
    outcome = issued.read(edit_document(issued.filled("POLICE", "N-01", values), change))
    assert outcome.outcome is Outcome.ACCEPTED
    assert outcome.audit.answer(6).evidence == values["ca:evidence:S6"] + "\nAlso: the chronology."


@pytest.mark.libreoffice
def test_two_rating_drop_downs_saved_again_by_libreoffice_are_still_two_ratings(issued, tmp_path,
                                                                                  resave_with_libreoffice):
    values = complete_answers(issued.cycle, S5=("Met or exceeded", "Core group minutes on file.", ""))
    source = tmp_path / "POLICE_N-01.docx"
    source.write_bytes(edit_document(issued.filled("POLICE", "N-01", values), copy_rating_control(5, "Not met")))
    (saved,) = resave_with_libreoffice([source], tmp_path / "libreoffice")
    outcome = issued.read(saved.read_bytes())
    assert errors(outcome) == ["return.two-ratings"]
    assert outcome.audit.answer(5).rating is None


def _evidence_sdt(root: etree._Element, number: int) -> etree._Element:
    return cell(root, number, 2).find(f".//{{{W}}}sdt")


def _flag_cleared(root):
    flag = _evidence_sdt(root, 3).find(f"{{{W}}}sdtPr/{{{W}}}showingPlcHdr")
    flag.getparent().remove(flag)


def _properties_lost(root):
    sdt = _evidence_sdt(root, 3)
    sdt.remove(sdt.find(f"{{{W}}}sdtPr"))


def _control_unwrapped(root):
    """The control is gone; its grey words stay behind as ordinary text in the cell."""
    sdt = _evidence_sdt(root, 3)
    run = sdt.find(f"{{{W}}}sdtContent/{{{W}}}r")
    run.remove(run.find(f"{{{W}}}rPr"))
    sdt.addprevious(run)
    sdt.getparent().remove(sdt)


def _retyped_differently(root):
    _flag_cleared(root)
    _evidence_sdt(root, 3).find(f".//{{{W}}}t").text = "click or tap  to enter\u00a0evidence."


@pytest.mark.parametrize("damage", [_flag_cleared, _properties_lost, _control_unwrapped, _retyped_differently])
def test_placeholder_text_is_never_evidence_whether_or_not_it_is_marked_as_one(issued, damage):
    values = complete_answers(issued.cycle)
    del values["ca:evidence:S3"]  # rated Met, evidence box left showing its grey text
    outcome = issued.read(edit_document(issued.filled("POLICE", "N-02", values), damage))
    assert outcome.outcome is Outcome.INCOMPLETE
    assert errors(outcome) == ["return.missing-evidence"]
    assert outcome.audit.answer(3).evidence == ""


def test_text_typed_after_grey_words_left_behind_is_read_without_them(issued):
    values = complete_answers(issued.cycle)
    del values["ca:evidence:S3"]

    def unwrap_and_type(root):
        _control_unwrapped(root)
        etree.SubElement(etree.SubElement(cell(root, 3, 2).find(f"{{{W}}}p"), f"{{{W}}}r"),
                         f"{{{W}}}t").text = "Strategy meeting minutes."
    outcome = issued.read(edit_document(issued.filled("POLICE", "N-02", values), unwrap_and_type))
    assert outcome.outcome is Outcome.ACCEPTED, [p.render() for p in outcome.problems]
    assert outcome.audit.answer(3).evidence == "Strategy meeting minutes."


def test_a_rating_drop_down_that_lost_its_placeholder_flag_is_not_rated(issued):
    values = complete_answers(issued.cycle)
    del values["ca:rating:S4"]

    def change(root):
        flag = _rating_sdt(root, 4).find(f"{{{W}}}sdtPr/{{{W}}}showingPlcHdr")
        flag.getparent().remove(flag)
    outcome = issued.read(edit_document(issued.filled("POLICE", "N-02", values), change))
    assert errors(outcome) == ["return.missing-rating"]  # not 'Choose a rating' as an unknown rating


def test_every_placeholder_in_the_shipped_forms_is_known_to_the_reader(issued):
    from pipeline.contract import PLACEHOLDER_TEXTS

    known = {" ".join(t.casefold().rstrip(".").split()) for t in PLACEHOLDER_TEXTS}
    for path in (issued.path("POLICE", "N-01"), issued.path("POLICE")):
        root = etree.fromstring(zipfile.ZipFile(path).read(DOC))
        shown = {"".join(sdt.find("w:sdtContent", NS).itertext()) for sdt in root.iter(f"{{{W}}}sdt")
                 if sdt.find("w:sdtPr/w:showingPlcHdr", NS) is not None}
        assert shown and {" ".join(t.casefold().rstrip(".").split()) for t in shown} <= known


# --- inputs that cost too much ----------------------------------------------------------------

_MEASURE = """
import resource, sys
from pathlib import Path
from pipeline.returns import read_return
from pipeline.store import Store
from pipeline.workbook import load_cycle
from pipeline.workspace import Workspace
ws = Workspace(sys.argv[1])
cycle = load_cycle(ws.cycle_path)
data = Path(sys.argv[2]).read_bytes()
with Store.open(ws.store_path) as store:
    read_return(data[:100], filename="warm-up", cycle=cycle, register=store)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcome = read_return(data, filename="big.docx", cycle=cycle, register=store)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(outcome.outcome.value, ",".join(p.code for p in outcome.problems.errors), (after - before) / 1024, sep="|")
"""


def read_in_a_fresh_process(issued: Issued, data: bytes, tmp_path: Path) -> tuple[str, list[str], float]:
    """Outcome, error codes and how far reading `data` raised the process's peak memory (MiB)."""
    pytest.importorskip("resource", reason="peak memory is measured with the POSIX resource module")
    path = tmp_path / "big.docx"
    path.write_bytes(data)
    done = subprocess.run([sys.executable, "-c", _MEASURE, str(issued.ws.root), str(path)], capture_output=True,
                          text=True, timeout=300, cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr
    outcome, codes_, grown = done.stdout.strip().split("|")
    return outcome, [c for c in codes_.split(",") if c], float(grown)


_WORDS = ("the practitioner recorded the child's views at each visit and shared the plan with school, health and "
          "police partners; the core group met monthly and actions were reviewed against the timescales set").split()


def long_text(n_chars: int, seed: int) -> str:
    """Plausible evidence of about `n_chars` characters, in paragraphs."""
    words, i = [], seed
    while sum(map(len, words)) + len(words) < n_chars:
        words.append(_WORDS[(i * 7 + i // 3) % len(_WORDS)] + ("." if i % 23 == 22 else ""))
        i += 1
    lines = [" ".join(words[k:k + 60]) for k in range(0, len(words), 60)]
    return "\n".join(lines)


def with_pictures(data: bytes, megabytes: int) -> bytes:
    """Pasted photos of case notes: incompressible media parts, referenced from the document's relationships."""
    rels_name = "word/_rels/document.xml.rels"
    z = zipfile.ZipFile(io.BytesIO(data))
    rels = etree.fromstring(z.read(rels_name))
    types = etree.fromstring(z.read("[Content_Types].xml"))
    etree.SubElement(types, "{http://schemas.openxmlformats.org/package/2006/content-types}Default",
                     Extension="png", ContentType="image/png")
    parts = {}
    for i in range(megabytes):
        name = f"media/evidence{i}.png"
        parts["word/" + name] = b"\x89PNG\r\n\x1a\n" + random.Random(i).randbytes(1024 * 1024)
        etree.SubElement(rels, "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship",
                         Id=f"rIdPic{i}", Target=name,
                         Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image")
    parts[rels_name] = etree.tostring(rels, xml_declaration=True, encoding="UTF-8", standalone=True)
    parts["[Content_Types].xml"] = etree.tostring(types, xml_declaration=True, encoding="UTF-8", standalone=True)
    return replace_parts(data, parts)


def pasted_formatting(runs_per_answer: int):
    """Evidence pasted from another document: a run per word, each with its own fonts, colour and size."""
    def change(root):
        for number in range(1, 23):
            content = _evidence_sdt(root, number).find(f"{{{W}}}sdtContent")
            for i in range(runs_per_answer):
                run = etree.SubElement(content, f"{{{W}}}r", {f"{{{W}}}rsidR": f"00{i:06X}"})
                props = etree.SubElement(run, f"{{{W}}}rPr")
                etree.SubElement(props, f"{{{W}}}rFonts", {f"{{{W}}}ascii": "Arial", f"{{{W}}}hAnsi": "Arial",
                                                          f"{{{W}}}cs": "Arial"})
                etree.SubElement(props, f"{{{W}}}color", {f"{{{W}}}val": f"{i * 2654435761 % 16777216:06X}"})
                etree.SubElement(props, f"{{{W}}}sz", {f"{{{W}}}val": "20"})
                etree.SubElement(run, f"{{{W}}}t", {XML_SPACE: "preserve"}).text = f"{_WORDS[i % len(_WORDS)]} "
    return change


XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"


def document_size(data: bytes) -> int:
    return zipfile.ZipFile(io.BytesIO(data)).getinfo(DOC).file_size


def test_a_5_mb_return_with_pictures_and_long_answers_is_read_in_bounded_memory(issued, tmp_path):
    values = complete_answers(issued.cycle)
    for s in issued.cycle.standards:
        values[f"ca:evidence:S{s.number}"] = long_text(15000, s.number)
    data = with_pictures(issued.filled("POLICE", "N-01", values), 5)
    assert len(data) > 5 * 1024 * 1024
    outcome, codes_, grown = read_in_a_fresh_process(issued, data, tmp_path)
    assert (outcome, codes_) == ("accepted", [])
    assert grown < 150, f"reading one return raised peak memory by {grown:.0f} MiB"


def test_the_costliest_return_under_the_size_limit_is_still_read_in_bounded_memory(issued, tmp_path):
    from pipeline.returns import MAX_XML_PART_BYTES

    data = edit_document(issued.filled("POLICE", "N-01"), pasted_formatting(2000))
    assert 0.8 * MAX_XML_PART_BYTES < document_size(data) <= MAX_XML_PART_BYTES
    outcome, codes_, grown = read_in_a_fresh_process(issued, data, tmp_path)
    assert (outcome, codes_) == ("accepted", [])
    assert grown < 150, f"reading one return raised peak memory by {grown:.0f} MiB"


def test_a_return_with_pages_of_pasted_formatting_is_refused_before_it_is_parsed(issued, tmp_path):
    data = edit_document(issued.filled("POLICE", "N-01"), pasted_formatting(20000))
    assert len(data) < 6 * 1024 * 1024 and document_size(data) > 40 * 1024 * 1024  # was 1.4 GB to read
    outcome, codes_, grown = read_in_a_fresh_process(issued, data, tmp_path)
    assert (outcome, codes_) == ("rejected", ["file.too-large"])
    assert grown < 50, f"refusing the return raised peak memory by {grown:.0f} MiB"
    problem = issued.read(data).problems.errors[0]
    assert "form's text" in problem.message and "MB once unpacked" in problem.message
    assert "plain text" in problem.fix


def test_an_answer_longer_than_any_answer_should_be_is_refused_with_its_standard_named(issued):
    from pipeline.returns import MAX_ANSWER_CHARS

    values = complete_answers(issued.cycle)
    values["ca:evidence:S9"] = long_text(MAX_ANSWER_CHARS + 500, 9)
    values["ca:evidence:S10"] = long_text(MAX_ANSWER_CHARS - 500, 10)  # long, but an answer
    outcome = issued.read(issued.filled("POLICE", "N-01", values))
    assert outcome.outcome is Outcome.REJECTED and errors(outcome) == ["return.answer-too-long"]
    problem = outcome.problems.errors[0]
    assert problem.message.startswith("The evidence for Standard 9 is 20,")
    assert problem.location.endswith("Standard 9") and outcome.audit is None


# --- a custom template is checked by reading it back as a return ----------------------------------


def _issue_with_template(tmp_path: Path, cycle: Cycle, edit: Callable[[str], str], agency: str = "EY") -> Issued:
    from test_forms import _custom_template

    ws = init_workspace(tmp_path / "ws", example=True)
    _custom_template(ws, edit)
    return Issued(ws, cycle, generate_forms(ws, cycle, agencies=[agency]))


def test_a_template_printing_the_form_id_only_in_a_table_is_refused_as_returns_could_not_be_identified(
        tmp_path, example_cycle):
    """The reader finds the printed form ID in the body's paragraphs (when the hidden properties are lost): a
    template that prints it only in a table cell makes forms whose returns could not be matched to a form."""
    from pipeline.forms import check_form_template
    from test_forms import _custom_template

    ws = init_workspace(tmp_path / "ws", example=True)
    path = _custom_template(ws, lambda xml: xml.replace("Form ID: {{ form_id }}", "Audit form", 1).replace(
        "{{ agency.name }}</w:t>", "{{ agency.name }}, Form ID: {{ form_id }}</w:t>", 1))
    with pytest.raises(CaseAuditError) as err:
        check_form_template(path, example_cycle)
    assert [(p.code, p.value) for p in err.value.report] == [("template.missing-variable", "form_id")]


def test_a_template_with_a_longer_no_involvement_label_is_accepted_and_its_returns_read(tmp_path, example_cycle):
    """The reader matches a row by the start of its label, so the check must not refuse a label with words added."""
    issued = _issue_with_template(tmp_path, example_cycle, lambda xml: xml.replace(
        ">No involvement in this case</w:t>", ">No involvement in this case (tick if so)</w:t>", 1))
    case_ref = next(w.case_ref for w in issued.generated.written if w.case_ref)
    values = {"ca:no-involvement": True, "ca:no-involvement-reason": "Not known to the setting."}
    outcome = issued.read(without_part(issued.filled("EY", case_ref, values), CUSTOM))
    assert outcome.outcome is Outcome.ACCEPTED and outcome.audit.no_involvement
    assert outcome.audit.no_involvement_reason == "Not known to the setting."


def test_a_template_with_kloe_headings_without_a_colon_is_accepted_and_its_returns_read(
        tmp_path, example_cycle):
    """'KLOE 2 - question' is read as KLOE 2's heading by the reader, so the check accepts it too."""
    issued = _issue_with_template(tmp_path, example_cycle, lambda xml: xml.replace(
        "KLOE {{ kloe.number }}: {{ kloe.question }}", "KLOE {{ kloe.number }} - {{ kloe.question }}", 1))
    case_ref = next(w.case_ref for w in issued.generated.written if w.case_ref)
    last = max(s.number for s in example_cycle.standards_for(2))
    values = complete_answers(example_cycle)
    del values[rating_tag(last)]
    outcome = issued.read(issued.filled("EY", case_ref, values))
    assert [(p.code, p.location) for p in outcome.problems.errors] == [
        ("return.missing-rating", f"KLOE 2 table, Standard {last}")]
