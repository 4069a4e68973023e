"""status: who has returned what, which version counts, and a chase list ready to paste into an email."""

from __future__ import annotations

import json
import re
from pathlib import Path

import openpyxl
import pytest

from pipeline.cache import plain_cycle
from pipeline.forms import generate_forms
from pipeline.ingest import ingest_inbox
from pipeline.status import (COMPLETE, INCOMPLETE, NO_INVOLVEMENT, OUTSTANDING, agency_status, chase_list,
                             write_status_xlsx)

from test_ingest import drop
from test_returns import Issued, complete_answers, issue_forms


@pytest.fixture(scope="module")
def returned(tmp_path_factory, example_cycle) -> Issued:
    """POLICE: N-01 complete, N-02 incomplete then corrected, N-03 incomplete; CCG: N-01 no involvement; POLICE summary."""
    issued = issue_forms(tmp_path_factory.mktemp("status") / "ws", example_cycle)
    cycle = example_cycle
    drop(issued, "POLICE_N-01.docx", issued.filled("POLICE", "N-01"))
    drop(issued, "POLICE_N-02.docx", issued.filled("POLICE", "N-02", complete_answers(cycle, S7=("Not met", "", ""))))
    drop(issued, "POLICE_N-03.docx", issued.filled("POLICE", "N-03", complete_answers(cycle, S12=("", "", ""))))
    drop(issued, "CCG_N-01.docx", issued.filled("CCG", "N-01", {"ca:no-involvement": True,
                                                               "ca:no-involvement-reason": "Not known to us."}))
    drop(issued, "POLICE_summary.docx", issued.filled("POLICE"))
    ingest_inbox(issued.ws, cycle)
    drop(issued, "POLICE_N-02 corrected.docx",
         issued.filled("POLICE", "N-02", complete_answers(cycle, S7=("Not met", "", "No consent recorded."))))
    ingest_inbox(issued.ws, cycle)
    return issued


def test_each_agency_shows_issued_returned_incomplete_no_involvement_and_outstanding(returned):
    cycle = returned.cycle
    report = agency_status(returned.ws, cycle)
    by_code = {a.agency.code: a for a in report.agencies}
    assert [a.agency.code for a in report.agencies] == [a.code for a in cycle.agencies]  # workbook order

    police = by_code["POLICE"]
    police_cases = len(cycle.cases_for("POLICE"))
    assert police.issued == police_cases + 1  # one form per case, plus the summary form
    assert (police.complete, police.incomplete, police.no_involvement) == (3, 1, 0)  # N-01, N-02 (corrected), summary
    assert police.outstanding == police.issued - 4
    assert police.last_return is not None

    ccg = by_code["CCG"]
    assert (ccg.complete, ccg.incomplete, ccg.no_involvement) == (0, 0, 1)
    assert ccg.outstanding == ccg.issued - 1
    assert by_code["EY"].last_return is None and by_code["EY"].outstanding == by_code["EY"].issued

    totals = report.totals
    assert totals["issued"] == sum(a.issued for a in report.agencies) == len(returned.generated.written)
    assert totals["complete"] + totals["incomplete"] + totals["no_involvement"] + totals["outstanding"] == totals["issued"]


def test_the_version_that_counts_is_the_latest_and_both_versions_are_listed(returned):
    police = {a.agency.code: a for a in agency_status(returned.ws, returned.cycle).agencies}["POLICE"]
    n02 = next(f for f in police.forms if f.form.identity.case_ref == "N-02")
    assert n02.state == COMPLETE and n02.versions == 2
    assert n02.counting.source_file == "POLICE_N-02 corrected.docx"
    n03 = next(f for f in police.forms if f.form.identity.case_ref == "N-03")
    assert n03.state == INCOMPLETE
    assert [(p.code, p.location) for p in n03.problems if p.severity.value == "error"] == [
        ("return.missing-rating", "KLOE 3 table, Standard 12")]
    assert {f.state for f in police.forms} == {COMPLETE, INCOMPLETE, OUTSTANDING}


def test_the_chase_list_names_contacts_and_what_is_missing_or_wrong(returned):
    cycle = returned.cycle
    chase = {entry.agency.code: entry for entry in chase_list(returned.ws, cycle)}
    assert set(chase) == {a.code for a in cycle.agencies if cycle.cases_for(a.code)}  # every agency still owes something
    police = chase["POLICE"]
    assert [f.form.identity.case_ref for f in police.incomplete] == ["N-03"]
    assert "N-01" not in {f.form.identity.case_ref for f in police.outstanding}
    text = police.text(cycle)
    agency = cycle.agency("POLICE")
    assert f"To: {agency.contact_name} <{agency.secure_email}>" in text
    assert "POLICE_N-04.docx" in text  # an outstanding form, by the file name the agency was sent
    assert "Standard 12 has no rating" in text
    assert "27 November 2015" in text  # the return deadline from the workbook
    for case in cycle.cases:
        assert case.child_name not in text


def test_status_from_the_kept_plain_cycle_is_the_status_from_the_models(returned):
    """`case-audit status` reads the cycle as plain data from the copy kept in .case-audit/ (no pydantic to load):
    every figure, form state and chase email is the one the cycle's models give."""
    cycle = returned.cycle
    plain = plain_cycle(json.loads(cycle.model_dump_json()))

    def seen(report):
        return [(a.agency.code, a.agency.name, a.issued, a.complete, a.incomplete, a.no_involvement, a.outstanding,
                 a.rejected_files, a.child_named, a.last_return, [(f.label, f.state, f.versions) for f in a.forms])
                for a in report.agencies]

    by_models, by_plain = agency_status(returned.ws, cycle), agency_status(returned.ws, plain)
    assert seen(by_plain) == seen(by_models) and seen(by_models)
    emails = [e.text(cycle) for e in chase_list(returned.ws, cycle, by_models)]
    assert [e.text(plain) for e in chase_list(returned.ws, plain, by_plain)] == emails
    assert any("27 November 2015" in text for text in emails)  # the deadline, a date in both


def test_forms_issued_to_an_agency_since_removed_from_the_workbook_are_still_counted(returned):
    cycle = returned.cycle
    without = cycle.model_copy(update={"agencies": tuple(a for a in cycle.agencies if a.code != "POLICE")})
    for given in (without, plain_cycle(json.loads(without.model_dump_json()))):
        report = agency_status(returned.ws, given)
        last = report.agencies[-1]
        assert (last.agency.code, last.agency.name) == ("POLICE", "POLICE")
        assert (last.issued, last.complete, last.incomplete) == (len(cycle.cases_for("POLICE")) + 1, 3, 1)


def test_status_workbook_holds_the_same_figures(returned):
    report = agency_status(returned.ws, returned.cycle)
    path = write_status_xlsx(returned.ws, report, chase_list(returned.ws, returned.cycle, report))
    assert path == returned.ws.outbox / "status.xlsx"
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Status", "Forms", "Chase"]
    sheet = book["Status"]
    header = [c.value for c in sheet[1]]
    rows = {r[0]: dict(zip(header, r)) for r in sheet.iter_rows(min_row=2, values_only=True)}
    police = next(a for a in report.agencies if a.agency.code == "POLICE")
    assert rows["POLICE"]["Forms issued"] == police.issued and rows["POLICE"]["Outstanding"] == police.outstanding
    assert rows["Total"]["Forms issued"] == report.totals["issued"]
    assert sheet.auto_filter.ref and sheet.freeze_panes == "A2"
    forms = [dict(zip([c.value for c in book["Forms"][1]], r)) for r in book["Forms"].iter_rows(min_row=2, values_only=True)]
    n02 = next(r for r in forms if r["Agency"] == "POLICE" and r["Case ref"] == "N-02")
    assert (n02["State"], n02["Versions received"], n02["Version that counts"]) == ("complete", 2, "POLICE_N-02 corrected.docx")
    chase_rows = list(book["Chase"].iter_rows(min_row=2, values_only=True))
    assert any(r[0] == "POLICE" and r[3] == "police.ppu@example.org" for r in chase_rows)


def test_a_reissued_form_still_counts_the_return_of_the_form_it_replaced(tmp_path, example_cycle):
    issued = issue_forms(tmp_path / "ws", example_cycle, agencies=["VOL"])
    drop(issued, "VOL_N-04.docx", issued.filled("VOL", "N-04"))
    ingest_inbox(issued.ws, example_cycle)
    generate_forms(issued.ws, example_cycle, agencies=["VOL"], cases=["N-04"], reissue=True)
    vol = agency_status(issued.ws, example_cycle).agencies
    vol = next(a for a in vol if a.agency.code == "VOL")
    n04 = next(f for f in vol.forms if f.form.identity.case_ref == "N-04")
    assert n04.state == COMPLETE and n04.form.superseded_by is None  # the new form, answered by the old one's return
    assert n04.counting.identity.form_id != n04.form.identity.form_id


def test_status_of_a_workspace_with_nothing_returned(tmp_path, example_cycle):
    issued = issue_forms(tmp_path / "ws", example_cycle, agencies=["SMBC", "EY"])
    report = agency_status(issued.ws, example_cycle)
    ey = next(a for a in report.agencies if a.agency.code == "EY")
    assert ey.outstanding == ey.issued == len(example_cycle.cases_for("EY")) + 1
    assert report.totals["complete"] == 0 and report.last_return is None
    assert {f.state for a in report.agencies for f in a.forms} == {OUTSTANDING}
    assert NO_INVOLVEMENT not in {f.state for a in report.agencies for f in a.forms}


# --- a return whose answers name a child ------------------------------------------------------


def _no_name_in(text: str, cycle, refs=("N-01", "N-02")) -> None:
    from pipeline.child_names import fold

    folded = fold(text).text
    for ref in refs:
        for part in re.split(r"[\s\-']+", cycle.case(ref).child_name):
            assert fold(part).text not in folded, f"{part!r} in {text!r}"


@pytest.fixture(scope="module")
def named(tmp_path_factory, example_cycle) -> Issued:
    """POLICE N-01 names its child (accent-free) and N-02's child (zero-width split): accepted, flagged, fed back."""
    issued = issue_forms(tmp_path_factory.mktemp("named") / "ws", example_cycle, agencies=["POLICE"],
                         cases=["N-01", "N-02"])
    values = complete_answers(example_cycle,
                              S7=("Met or exceeded", "Sian was seen alone and her views recorded.", ""),
                              S9=("Not met", "", "Her friend Z\u200bofia WYMYSLONA was not spoken to."))
    drop(issued, "POLICE_N-01 Sian.docx", issued.filled("POLICE", "N-01", values))
    drop(issued, "POLICE_N-02.docx", issued.filled("POLICE", "N-02"))
    issued.result = ingest_inbox(issued.ws, example_cycle)
    return issued


def test_a_return_naming_a_child_is_accepted_but_flagged_per_standard_without_the_name(named):
    from pipeline.ingest import ACCEPTED, ACCEPTED_WITH_PROBLEMS

    lines = {f.file: f for f in named.result.files}
    flagged, clean = lines["POLICE_N-01 Sian.docx"], lines["POLICE_N-02.docx"]
    assert clean.outcome == ACCEPTED and flagged.outcome == ACCEPTED_WITH_PROBLEMS
    child_named = [p for p in flagged.problems if p.code == "return.child-named"]
    kloe = {s.number: s.kloe for s in named.cycle.standards}
    assert [p.location for p in child_named] == [f"KLOE {kloe[7]} table, Standard 7",
                                                 f"KLOE {kloe[9]} table, Standard 9"]
    assert "case N-02" in child_named[1].message and "this case" in child_named[0].message
    for p in child_named:
        assert p.severity.value == "warning"
        _no_name_in(f"{p.message} {p.fix} {p.location} {p.value}", named.cycle)
    _no_name_in(flagged.message, named.cycle)


def test_the_agencys_feedback_says_which_standard_names_a_child_and_asks_for_the_case_reference(named):
    [note] = named.result.feedback_files
    text = note.read_text(encoding="utf-8-sig")
    assert note.parent.name == "POLICE"
    assert "File: POLICE_N-01 [name removed].docx" in text
    assert "ACCEPTED and counted" in text
    assert "Standard 7: This answer names a child" in text and "Standard 9: This answer names a child" in text
    assert "referred to as case N-01" in text and "referred to as case N-02" in text
    assert "POLICE_N-02.docx" not in text  # the clean return needs nothing
    _no_name_in(text, named.cycle)


def test_status_and_the_chase_list_show_the_flag_without_the_name(named):
    cycle = named.cycle
    report = agency_status(named.ws, cycle)
    police = next(a for a in report.agencies if a.agency.code == "POLICE")
    n01 = next(f for f in police.forms if f.form.identity.case_ref == "N-01")
    assert n01.state == COMPLETE and [p.location.rsplit(" ", 1)[-1] for p in n01.names_a_child] == ["7", "9"]
    assert police.child_named == 1 and report.totals["child_named"] == 1
    entry = next(e for e in chase_list(named.ws, cycle, report) if e.agency.code == "POLICE")
    assert [f.form.identity.case_ref for f in entry.named] == ["N-01"]
    text = entry.text(cycle)
    assert "answers name a child" in text and "Standard 7" in text
    _no_name_in(text, cycle)
    path = write_status_xlsx(named.ws, report, chase_list(named.ws, cycle, report))
    book = openpyxl.load_workbook(path)
    cells = " ".join(str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row if v)
    assert "[name removed]" in cells  # the file name the agency gave its return
    _no_name_in(cells, cycle)


def test_the_status_command_lists_returns_naming_a_child(named):
    from click.testing import CliRunner

    from pipeline.cli import cli

    result = CliRunner().invoke(cli, ["status", "-w", str(named.ws.root)], catch_exceptions=False)
    assert "Returns whose answers name a child" in result.output
    assert "POLICE case N-01: KLOE" in result.output and "Standard 9" in result.output


@pytest.mark.libreoffice
def test_a_return_saved_by_libreoffice_that_names_a_child_is_flagged_the_same(tmp_path, example_cycle,
                                                                               resave_with_libreoffice):
    """LibreOffice drops the control tags, so answers are read by position: the flag must not depend on tags."""
    issued = issue_forms(tmp_path / "ws", example_cycle, agencies=["CCG"])
    folder = tmp_path / "as-sent"
    folder.mkdir()
    values = complete_answers(example_cycle, S3=("Met or exceeded", "LUCJA attended every review.", ""))
    (folder / "CCG_CSE-01.docx").write_bytes(issued.filled("CCG", "CSE-01", values))
    (folder / "CCG_summary.docx").write_bytes(issued.filled("CCG", None, {
        "ca:summary:improvements": "Share plans with Nieprawdziwa family early.",
        "ca:summary:partnership": "More joint visits.", "ca:summary:comments": ""}))
    for path in resave_with_libreoffice(sorted(folder.iterdir()), tmp_path / "libreoffice"):
        drop(issued, path.name, path.read_bytes())
    result = ingest_inbox(issued.ws, example_cycle)
    flagged = {f.file: [p.location for p in f.problems if p.code == "return.child-named"] for f in result.files}
    kloe = next(s.kloe for s in example_cycle.standards if s.number == 3)
    assert flagged == {"CCG_CSE-01.docx": [f"KLOE {kloe} table, Standard 3"],
                       "CCG_summary.docx": ["Improvements to be made in your agency"]}
    [note] = result.feedback_files
    _no_name_in(note.read_text(encoding="utf-8-sig"), example_cycle, refs=("CSE-01",))


def test_a_blank_summary_form_sent_back_keeps_the_agency_on_the_chase_list(tmp_path, example_cycle):
    issued = issue_forms(tmp_path / "ws", example_cycle, agencies=["CCG"])
    for w in issued.generated.written:  # every case form answered; the summary form sent back as issued
        drop(issued, Path(w.path).name, issued.filled("CCG", w.case_ref) if w.case_ref else issued.blank("CCG"))
    result = ingest_inbox(issued.ws, example_cycle)
    assert [f.outcome for f in result.files if "summary" in f.file] == ["rejected"]
    [entry] = chase_list(issued.ws, example_cycle)
    assert [f.form.identity.case_ref for f in entry.outstanding] == [None]  # the summary form is still owed
