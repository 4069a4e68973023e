"""The cycle workbook: the shipped workbooks load, every mistake an officer can make is named by
sheet and cell, and no file from the wild gets past the loader as anything but a clean message."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tracemalloc
import zipfile
from collections import Counter
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from openpyxl.styles import PatternFill

from pipeline.models import CountingRule, RatingKind
from pipeline.problems import CaseAuditError, Severity
from pipeline.workbook import (
    AGENCY_ACTIONS,
    ATTENDANCE,
    CASES,
    KLOES,
    RATING_SCALE,
    SETTINGS,
    STANDARDS,
    load_cycle,
    read_cycle,
    split_lines,
    summarise,
)
from pipeline.workspace import shipped_template

REPO = Path(__file__).resolve().parent.parent
SHARED = Path("/work/shared")
SEED = SHARED / "seed" / "000_2a8970bcd3b7a0ed.txt"
CORPUS_XLSX = SHARED / "corpus" / "xlsx"

INVOLVEMENT = {"POLICE": 9, "CSWS": 8, "CCG": 5, "SCH": 3, "SIAS": 2, "EY": 1, "HEFT": 4, "EDU": 6, "VOL": 2,
               "CRC": 1, "SMBC": 0}

STANDARD_1 = "The right agencies are involved"
STANDARD_4 = (
    "Relevant multi-agency meetings (e.g Core Groups, MASE, early help meetings and child protection conferences);\n"
    "• Are arranged and held in a timely manner\n"
    "• Are attended by all relevant partners\n"
    "• Are recorded and the record is shared in a timely manner with attendees, with actions assigned accordingly.\n"
    "• The practitioner reads the record of the meeting, reviews them and takes appropriate action e.g. making "
    "amendments.\n"
    "• Case recording complies with standards set by the organisation and evidences that the welfare of the child "
    "is considered."
)
STANDARD_22 = (
    "Supervision process evidences management oversight and support that assesses practitioners compliance, and, "
    "professional competence/confidence with regard to adhering to local policies, protocols and procedures, and "
    "promotes timely progression of the case."
)


def problems_of(path: Path) -> list:
    return list(read_cycle(path).report)


def found(path: Path) -> set[tuple[str, str | None]]:
    return {(p.code, p.location) for p in problems_of(path) if p.severity is Severity.ERROR}


def broken_copy(source: Path, tmp_path: Path, *changes) -> Path:
    """The workbook re-saved by openpyxl after each change(wb): what an officer's slip looks like on disk."""
    wb = openpyxl.load_workbook(source)
    for change in changes:
        change(wb)
    target = tmp_path / "cycle.xlsx"
    wb.save(target)
    return target


def set_cell(sheet: str, ref: str, value):
    def change(wb):
        wb[sheet][ref] = value
    return change


def delete_rows(sheet: str, first: int, count: int = 1):
    def change(wb):
        wb[sheet].delete_rows(first, count)
    return change


# --- the shipped example --------------------------------------------------------


def test_example_is_the_2015_16_solihull_cycle(example_cycle):
    s = example_cycle.settings
    assert s.board_name == "Solihull Local Safeguarding Children Board"
    assert (s.cycle_id, s.cycle_name) == ("2015-16", "2015-2016")
    assert s.counting_rule is CountingRule.MAJORITY
    assert isinstance(s.return_deadline, date)
    # Every page of a report made from the demo says it is not a real board's report.
    assert s.report_title == "Multi-Agency Case Audit: Overview Report (demonstration, simulated returns)"


def test_example_loads_without_a_single_problem_or_placeholder(example_workbook_path):
    assert [p.render() for p in read_cycle(example_workbook_path).report] == []


def test_example_has_the_seed_toolkit(example_cycle):
    assert [p.name for p in example_cycle.priority_areas] == ["Child Sexual Exploitation (CSE)", "Neglect", "Early Help"]
    assert [k.number for k in example_cycle.kloes] == [1, 2, 3, 4, 5]
    assert example_cycle.kloe(3).question == "Is it evident that the voice of the child has been heard?"
    assert example_cycle.kloe(3).title == "The voice of the child"
    assert [s.number for s in example_cycle.standards] == list(range(1, 23))
    assert [len(example_cycle.standards_for(k)) for k in range(1, 6)] == [4, 7, 3, 4, 4]
    assert {s.number for s in example_cycle.standards if s.na_allowed} == {8, 9, 16, 17}
    assert [(o.label, o.kind) for o in example_cycle.rating_scale.options] == [
        ("Met or exceeded", RatingKind.MET), ("Not met", RatingKind.NOT_MET),
        ("Not applicable", RatingKind.NOT_APPLICABLE)]


def test_standards_1_4_and_22_are_word_for_word(example_cycle):
    assert example_cycle.standard(1).text == STANDARD_1
    assert example_cycle.standard(4).text == STANDARD_4
    assert example_cycle.standard(22).text == STANDARD_22


def test_findings_complete_the_report_sentences(example_cycle):
    assert example_cycle.standard(1).finding_met == "the right agencies were involved"
    assert example_cycle.standard(2).finding_not_met == "the agency did not play a part in multi-agency planning"
    assert example_cycle.standard(7).finding_not_met == "there was no evidence of consent being obtained"
    assert example_cycle.standard(13).finding_not_met == "the voice of the child had not been gathered"
    for s in example_cycle.standards:
        # Both phrases slot into a sentence: lower-case start, no full stop of their own.
        assert s.finding_met and s.finding_not_met, s.number
        assert s.finding_met[0].islower() and not s.finding_met.endswith("."), s.number
        assert s.finding_not_met[0].islower() and not s.finding_not_met.endswith("."), s.number


@pytest.mark.skipif(not SEED.is_file(), reason="the seed report is not available outside the development machine")
def test_every_standard_matches_the_seed_toolkit(example_cycle):
    lines = SEED.read_text(encoding="utf-8").splitlines()
    start = lines.index("STANDARDS FOR CASE AUDIT")
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("Single agency audit"))
    seed: dict[int, list[str]] = {}
    current = None
    for line in lines[start:end]:
        m = re.match(r"^Standard (\d+)[:.]?\s+(.*)$", line)
        if m:
            current = int(m.group(1))
            seed[current] = [m.group(2).strip()]
        elif current == 4 and line.startswith("- "):
            seed[4].append("• " + line[2:].strip())
        elif line.startswith("KLOE"):
            current = None
    assert {n: "\n".join(t) for n, t in seed.items()} == {s.number: s.text for s in example_cycle.standards}


def test_example_cases_match_the_seed_involvement(example_cycle):
    assert len(example_cycle.cases) == 11
    assert Counter(c.priority_area for c in example_cycle.cases) == {
        "Neglect": 4, "Child Sexual Exploitation (CSE)": 4, "Early Help": 3}
    assert {a.code: len(example_cycle.cases_for(a.code)) for a in example_cycle.agencies} == INVOLVEMENT
    assert all(len(c.agencies) >= 2 for c in example_cycle.cases)
    housing = Counter(c.priority_area for c in example_cycle.cases_for("SCH"))
    assert housing == {"Neglect": 2, "Early Help": 1}


def test_example_children_are_invented_and_never_in_a_case_ref(example_cycle):
    names = [c.child_name for c in example_cycle.cases]
    assert len(set(names)) == 11
    assert any(not n.isascii() for n in names) and any("'" in n for n in names)
    for case in example_cycle.cases:
        assert re.fullmatch(r"(N|CSE|EH)-0\d", case.ref)
        assert case.child_name not in repr(case)


def test_example_event_and_learning_sheets(example_cycle):
    assert sum(a.count for a in example_cycle.attendance) == 22
    assert {a.agency: a.count for a in example_cycle.attendance}["SMBC"] == 5
    assert [g.priority_area for g in example_cycle.group_work] == ["Early Help", "Neglect",
                                                                   "Child Sexual Exploitation (CSE)"]
    early_help = example_cycle.group_work[0]
    assert early_help.strengths[3] == "Appears less ‘threatening’ to families than CSWS involvement"
    assert early_help.next_steps[-1] == "Thrive Model and 9 impact factors"
    assert len(example_cycle.learning_actions) == 7
    first, second = example_cycle.learning_actions[:2]
    assert first.next_steps == () and len(first.actions) == 3
    assert second.next_steps == ("Performance reporting to LSCB on MASH.",)
    assert [la.kloe for la in example_cycle.learning_actions] == [1, 2, 2, 2, 3, 4, 5]
    police = [a.action for a in example_cycle.agency_actions if a.agency == "POLICE"]
    assert police == ["Engage and understand", "Predict and prevent", "Respond and resolved", "Evaluate and innovate"]
    assert not any(a.completed for a in example_cycle.agency_actions)


def test_summary_counts_the_forms_each_agency_will_get(example_cycle):
    summary = summarise(example_cycle)
    loads = {a.code: (a.audit_forms, a.summary_forms) for a in summary.agencies}
    assert loads["POLICE"] == (9, 1) and loads["SMBC"] == (0, 0)
    assert summary.total_audit_forms == 41 and summary.total_summary_forms == 10 and summary.total_forms == 51
    assert summary.cases_per_priority_area == {"Child Sexual Exploitation (CSE)": 4, "Neglect": 4, "Early Help": 3}
    assert any("POLICE" in line and "9 + 1" in line for line in summary.lines())


# --- the blank workbook -------------------------------------------------------------


def test_blank_workbook_has_the_default_toolkit_and_only_lacks_cases_and_real_settings(example_cycle):
    result = read_cycle(shipped_template("excel", "cycle.xlsx"))
    assert [(p.code, p.location, p.severity) for p in result.report] == [
        ("workbook.placeholder", "Settings!B2", Severity.ERROR),  # board name
        ("workbook.placeholder", "Settings!B6", Severity.ERROR),  # how to return forms
        ("workbook.no-cases", "Cases!A2", Severity.ERROR)]
    assert all(p.fix.startswith("Replace the placeholder") for p in result.report if p.code == "workbook.placeholder")
    blank = result.cycle
    assert blank.standards == example_cycle.standards
    assert blank.kloes == example_cycle.kloes
    assert blank.priority_areas == example_cycle.priority_areas
    assert blank.rating_scale == example_cycle.rating_scale
    assert blank.fingerprint() == example_cycle.fingerprint()
    assert [a.code for a in blank.agencies] == [a.code for a in example_cycle.agencies]
    assert sorted(a.code for a in blank.agencies) == sorted(INVOLVEMENT)
    assert all(a.contact_name == "" and a.secure_email == "" for a in blank.agencies)
    assert blank.settings.counting_rule is CountingRule.ALL
    assert "Your" in blank.settings.board_name
    assert blank.settings.report_title == "Multi-Agency Case Audit: Overview Report"
    assert blank.attendance == blank.group_work == blank.learning_actions == blank.agency_actions == ()


def test_loading_the_blank_workbook_stops_with_plain_placeholder_and_no_cases_messages():
    with pytest.raises(CaseAuditError) as err:
        load_cycle(shipped_template("excel", "cycle.xlsx"))
    assert err.value.exit_code == 2
    assert err.value.summary == "The cycle workbook has 3 problem(s)."
    problems = {p.location: p for p in err.value.report.problems}
    assert problems["Cases!A2"].code == "workbook.no-cases" and "Y under each agency" in problems["Cases!A2"].fix
    board = problems["Settings!B2"]
    assert board.code == "workbook.placeholder"
    assert "Settings!B2" in board.render() and "'Your Local Safeguarding Children Board'" in board.render()


def test_blank_workbook_with_its_placeholders_replaced_and_a_case_added_is_ready(tmp_path):
    def fill_in(wb):
        wb[SETTINGS]["B2"] = "Anytown Safeguarding Children Partnership"
        wb[SETTINGS]["B6"] = "Email the completed forms to audit@anytown.example.org by the deadline."
        wb[CASES].append(["N-01", "Neglect", "A.B.", "Y", "N", "Y"])  # CCG and POLICE involved
    result = read_cycle(broken_copy(shipped_template("excel", "cycle.xlsx"), tmp_path, fill_in))
    assert result.report.ok, [p.render() for p in result.report.errors]
    assert result.cycle.settings.board_name == "Anytown Safeguarding Children Partnership"
    # The blank agencies have no emails: the two involved agencies are named, the other nine are not.
    assert [(p.code, p.location) for p in result.report.warnings] == [
        ("workbook.no-secure-email", "Agencies!E2"), ("workbook.no-secure-email", "Agencies!E4")]


def test_only_half_replacing_a_bracketed_placeholder_is_still_caught(tmp_path):
    path = broken_copy(shipped_template("excel", "cycle.xlsx"), tmp_path,
                       set_cell(SETTINGS, "B6", "Email the completed forms to [secure email] by 30 November."),
                       set_cell(SETTINGS, "B9", "Case Audit Report [draft title]"))
    placeholders = [p for p in problems_of(path) if p.code == "workbook.placeholder"]
    assert [p.location for p in placeholders] == ["Settings!B2", "Settings!B6", "Settings!B9"]
    assert "[secure email]" in placeholders[1].message and "[draft title]" in placeholders[2].message


def test_square_brackets_without_words_are_not_taken_for_a_placeholder(example_workbook_path, tmp_path):
    path = broken_copy(example_workbook_path, tmp_path, set_cell(SETTINGS, "B9", "Case Audit Report [2015-16]"))
    assert "workbook.placeholder" not in {p.code for p in problems_of(path)}


# --- warnings that do not stop the forms, but that the officer should see ---------------


def test_an_involved_agency_without_a_secure_email_is_warned_about(example_workbook_path, tmp_path):
    path = broken_copy(example_workbook_path, tmp_path, set_cell("Agencies", "E2", None),  # CCG: 5 cases
                       set_cell("Agencies", "E12", None))  # SMBC: no cases, so no forms to send
    result = read_cycle(path)
    (warning,) = result.report.warnings
    assert (warning.code, warning.location) == ("workbook.no-secure-email", "Agencies!E2")
    assert "CCG" in warning.message and "forms and chase emails need it" in warning.message
    assert "Agencies!E2" in warning.fix
    load_cycle(path)  # a warning, not a stop


def test_a_deleted_secure_email_column_names_every_involved_agency(example_workbook_path, tmp_path):
    path = broken_copy(example_workbook_path, tmp_path, lambda wb: wb["Agencies"].delete_cols(5))
    warnings = read_cycle(path).report.warnings
    assert {p.code for p in warnings} == {"workbook.no-secure-email"}
    assert len(warnings) == 10 and not any("SMBC" in p.message for p in warnings)
    assert all(p.location == "Agencies" and "Secure email" in p.fix for p in warnings)


@pytest.mark.parametrize("deadline, cycle_ref, cycle_name, warned", [
    (date(2014, 11, 27), "2015-16", "2015-2016", True),   # last year's deadline left in
    ("27/11/2014", "2015-16", "2015-2016", True),         # typed as text
    (date(2015, 11, 27), "2015-16", "2015-2016", False),
    (date(2016, 3, 31), "2015-16", "2015-2016", False),
    (date(2014, 11, 27), "AUTUMN", "Autumn 2015", True),   # the year from the name when the reference has none
    (date(2014, 11, 27), "AUTUMN", "Autumn audit", False),  # no year to compare with
], ids=["date", "typed", "same year", "next year", "year in the name", "no year"])
def test_a_deadline_before_the_cycle_began_is_warned_about(example_workbook_path, tmp_path, deadline, cycle_ref,
                                                           cycle_name, warned):
    path = broken_copy(example_workbook_path, tmp_path, set_cell(SETTINGS, "B5", deadline),
                       set_cell(SETTINGS, "B3", cycle_ref), set_cell(SETTINGS, "B4", cycle_name))
    result = read_cycle(path)
    assert result.report.ok
    found_warnings = [(p.code, p.location) for p in result.report.warnings]
    assert found_warnings == ([("workbook.deadline-before-cycle", "Settings!B5")] if warned else [])
    if warned:
        assert "27/11/2014" in result.report.warnings[0].render()


def _builder():
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_workbooks", REPO / "dev" / "build_workbooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not (REPO / "dev" / "build_workbooks.py").is_file(), reason="needs a source checkout")
@pytest.mark.parametrize("built_on, cycle_ref, cycle_name", [
    (date(2026, 11, 15), "2026-27", "2026-2027"),
    (date(2027, 3, 31), "2026-27", "2026-2027"),
    (date(2027, 4, 1), "2027-28", "2027-2028"),
    (date(2099, 12, 1), "2099-00", "2099-2100"),
])
def test_blank_workbook_is_for_the_april_to_march_cycle_running_when_built(tmp_path, built_on, cycle_ref,
                                                                           cycle_name):
    path = tmp_path / "cycle.xlsx"
    _builder().build(False, today=built_on).save(path)
    settings = read_cycle(path).cycle.settings
    assert (settings.cycle_id, settings.cycle_name) == (cycle_ref, cycle_name)


def test_shipped_workbooks_offer_drop_downs_and_frozen_headings(example_workbook_path):
    wb = openpyxl.load_workbook(example_workbook_path)
    cases = wb[CASES]
    assert cases.freeze_panes == "D2"
    formulas = {dv.formula1 for dv in cases.data_validations.dataValidation}
    assert "'Priority areas'!$A$2:$A$500" in formulas and '"Y,N"' in formulas
    assert any("Agencies!" in dv.formula1 for dv in wb[ATTENDANCE].data_validations.dataValidation)
    assert cases["A1"].font.bold and wb[STANDARDS]["A1"].font.bold


@pytest.mark.skipif(not (REPO / "dev" / "build_workbooks.py").is_file(), reason="needs a source checkout")
def test_shipped_example_is_what_the_build_script_makes_today(tmp_path, example_workbook_path):
    subprocess.run([sys.executable, str(REPO / "dev" / "build_workbooks.py"), str(tmp_path)], check=True,
                   capture_output=True)
    def contents(path):
        wb = openpyxl.load_workbook(path)
        return {ws.title: (list(ws.iter_rows(values_only=True)),
                           sorted((dv.formula1, str(dv.sqref)) for dv in ws.data_validations.dataValidation))
                for ws in wb.worksheets}
    # Cell by cell rather than byte for byte: another openpyxl version writes its own name into the file.
    assert contents(tmp_path / "example-cycle.xlsx") == contents(example_workbook_path), \
        "templates/excel/example-cycle.xlsx is out of date: run python dev/build_workbooks.py"


# --- an officer's mistakes -------------------------------------------------------------

MISTAKES = [
    ("duplicate case ref", [set_cell(CASES, "A3", "N-01")], "workbook.duplicate-case-ref", "Cases!A3"),
    ("case ref differing only in case", [set_cell(CASES, "A3", "n-01")], "workbook.duplicate-case-ref", "Cases!A3"),
    ("agency column not on Agencies", [set_cell(CASES, "D1", "GP")], "workbook.unknown-agency", "Cases!D1"),
    ("case with no agency", [set_cell(CASES, "H12", "N"), set_cell(CASES, "K12", "n")],
     "workbook.case-without-agency", "Cases!A12"),
    ("standard under an unknown KLOE", [set_cell(STANDARDS, "B5", 9)], "workbook.unknown-kloe", "Standards!B5"),
    ("blank agency name", [set_cell("Agencies", "B4", None)], "workbook.blank-cell", "Agencies!B4"),
    ("blank child's name", [set_cell(CASES, "C6", "  ")], "workbook.blank-cell", "Cases!C6"),
    ("unknown priority area", [set_cell(CASES, "B2", "Domestic abuse")], "workbook.unknown-priority-area", "Cases!B2"),
    ("attendance by unknown agency", [set_cell(ATTENDANCE, "A2", "NHS")], "workbook.attendance-unknown-agency",
     "Event attendance!A2"),
    ("agency action by unknown agency", [set_cell(AGENCY_ACTIONS, "A2", "GPs")], "workbook.unknown-agency",
     "Agency actions!A2"),
    ("Y/N cell with another word", [set_cell(CASES, "F3", "maybe")], "workbook.bad-yes-no", "Cases!F3"),
    ("attendance not a number", [set_cell(ATTENDANCE, "B3", "lots")], "workbook.bad-number", "Event attendance!B3"),
    ("deadline not a date", [set_cell(SETTINGS, "B5", "next Friday")], "workbook.bad-date", "Settings!B5"),
    ("counting rule not in the list", [set_cell(SETTINGS, "B7", "most")], "workbook.bad-choice", "Settings!B7"),
    ("duplicate standard number", [set_cell(STANDARDS, "A3", 1)], "workbook.duplicate-standard", "Standards!A3"),
    ("duplicate agency code", [set_cell("Agencies", "A3", "ccg")], "workbook.duplicate-agency", "Agencies!A3"),
    ("KLOEs sheet deleted", [lambda wb: wb.remove(wb[KLOES])], "workbook.missing-sheet", "KLOEs"),
    ("KLOE 5's standards deleted", [delete_rows(STANDARDS, 20, 4)], "workbook.kloe-without-standards", "KLOEs!A6"),
    ("every case deleted", [delete_rows(CASES, 2, 11)], "workbook.no-cases", "Cases!A2"),
    ("rating scale without not met", [set_cell(RATING_SCALE, "B3", "not applicable")],
     "workbook.rating-scale-incomplete", "Rating scale!B2"),
    ("case ref naming the child", [set_cell(CASES, "A4", "FARZI-1")], "workbook.case-ref-names-child", "Cases!A4"),
    ("case ref with a slash", [set_cell(CASES, "A4", "N/03")], "workbook.bad-case-ref", "Cases!A4"),
    ("agency code Windows cannot use as a folder", [set_cell("Agencies", "A12", "CON"), set_cell(CASES, "N1", "CON")],
     "workbook.bad-agency-code", "Agencies!A12"),
    ("agency code Windows reserves even with an extension", [set_cell("Agencies", "A12", "NUL.1"),
                                                             set_cell(CASES, "N1", "NUL.1")],
     "workbook.bad-agency-code", "Agencies!A12"),
    ("cycle reference with spaces", [set_cell(SETTINGS, "B3", "2015 16")], "workbook.bad-cycle-ref", "Settings!B3"),
    ("blank board name", [set_cell(SETTINGS, "B2", None)], "workbook.blank-cell", "Settings!B2"),
    ("Question heading removed", [set_cell(KLOES, "B1", None)], "workbook.missing-column", "KLOEs!1:1"),
    ("formula error in a name", [set_cell("Agencies", "B5", "#REF!")], "workbook.formula-error", "Agencies!B5"),
    ("template board name left in", [set_cell(SETTINGS, "B2", "Your Local Safeguarding Children Board")],
     "workbook.placeholder", "Settings!B2"),
    ("bracketed placeholder left in", [set_cell(SETTINGS, "B6", "Email the forms to [your secure email address].")],
     "workbook.placeholder", "Settings!B6"),
]


@pytest.mark.parametrize("changes, code, location", [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_each_mistake_is_named_with_its_sheet_and_cell(example_workbook_path, tmp_path, changes, code, location):
    path = broken_copy(example_workbook_path, tmp_path, *changes)
    with pytest.raises(CaseAuditError) as err:
        load_cycle(path)
    assert err.value.exit_code == 2
    assert (code, location) in {(p.code, p.location) for p in err.value.report}
    problem = next(p for p in err.value.report if p.code == code)
    assert problem.file == str(path) and problem.message and problem.fix
    assert "Traceback" not in problem.render()


def test_several_mistakes_are_all_reported_at_once(example_workbook_path, tmp_path):
    path = broken_copy(example_workbook_path, tmp_path, set_cell(CASES, "A3", "N-01"),
                       set_cell(STANDARDS, "B5", 9), set_cell(ATTENDANCE, "A2", "NHS"),
                       set_cell(SETTINGS, "B5", "soon"))
    with pytest.raises(CaseAuditError) as err:
        load_cycle(path)
    assert err.value.summary == "The cycle workbook has 4 problem(s)."
    assert {(p.code, p.location) for p in err.value.report} == {
        ("workbook.duplicate-case-ref", "Cases!A3"), ("workbook.unknown-kloe", "Standards!B5"),
        ("workbook.attendance-unknown-agency", "Event attendance!A2"), ("workbook.bad-date", "Settings!B5")}


def test_messages_say_what_was_found_and_what_to_do(example_workbook_path, tmp_path):
    path = broken_copy(example_workbook_path, tmp_path, set_cell(CASES, "B2", "Domestic abuse"))
    problem = next(p for p in problems_of(path) if p.code == "workbook.unknown-priority-area")
    text = problem.render()
    assert "Cases!B2" in text and "'Domestic abuse'" in text and "'Neglect'" in text


@pytest.mark.parametrize("changes, code", [
    ([set_cell("Agencies", "B4", None)], "workbook.blank-cell"),
    ([set_cell("Agencies", "B5", "#REF!")], "workbook.formula-error"),
    ([set_cell("Agencies", "A4", "WM POLICE"), set_cell(CASES, "F1", "WM POLICE"),
      set_cell(ATTENDANCE, "A12", "wm police")] + [set_cell(AGENCY_ACTIONS, f"A{r}", "WM POLICE") for r in range(7, 11)],
     "workbook.bad-agency-code"),
    ([set_cell(KLOES, "B6", None)], "workbook.blank-cell"),
], ids=["agency without a name", "agency name is an Excel error", "agency code with a space", "KLOE without a question"])
def test_one_slip_on_a_row_is_one_problem_not_a_page_of_them(example_workbook_path, tmp_path, changes, code):
    # The agency's cases, attendance and actions, or the KLOE's standards, refer to the faulty row:
    # they are not reported again.
    assert [p.code for p in problems_of(broken_copy(example_workbook_path, tmp_path, *changes))] == [code]


def test_missing_sheet_problem_is_not_buried_under_follow_on_errors(example_workbook_path, tmp_path):
    path = broken_copy(example_workbook_path, tmp_path, lambda wb: wb.remove(wb["Agencies"]))
    codes = [p.code for p in problems_of(path)]
    assert codes == ["workbook.missing-sheet"]


# --- what the officer may do without upsetting anything -------------------------------------


def test_stray_spaces_words_for_yes_text_numbers_and_typed_dates_are_understood(example_workbook_path, tmp_path):
    path = broken_copy(
        example_workbook_path, tmp_path,
        set_cell(CASES, "F2", " yes "), set_cell(CASES, "D2", "y"), set_cell(CASES, "B2", "  neglect "),
        set_cell(CASES, "A2", " N-01 "), set_cell(STANDARDS, "A2", "1"), set_cell(STANDARDS, "B2", " 1 "),
        set_cell(ATTENDANCE, "B2", "2"), set_cell(SETTINGS, "B5", "27/11/2015"),
        set_cell("Learning actions", "G2", "2016-03-31"), set_cell(AGENCY_ACTIONS, "D2", "Yes"),
        set_cell(RATING_SCALE, "B2", "Met"), set_cell(SETTINGS, "B7", "Majority"),
        set_cell(CASES, "A30", None),  # touches a row far below: trailing blank rows
    )
    cycle = load_cycle(path)
    n01 = cycle.case("N-01")
    assert n01.priority_area == "Neglect" and {"CCG", "POLICE"} <= set(n01.agencies)
    assert cycle.standard(1).kloe == 1
    assert cycle.settings.return_deadline == date(2015, 11, 27)
    assert cycle.settings.counting_rule is CountingRule.MAJORITY
    assert cycle.learning_actions[0].due == date(2016, 3, 31)
    assert cycle.agency_actions[0].completed is True
    assert len(cycle.cases) == 11


def test_columns_may_move_and_a_title_row_and_notes_column_may_be_added(example_workbook_path, tmp_path,
                                                                        example_cycle):
    def rearrange(wb):
        wb[CASES].insert_cols(4)
        wb[CASES]["D1"] = "Notes"
        wb[CASES]["D3"] = "moved school in May"
        wb["Agencies"].insert_rows(1)
        wb["Agencies"]["A1"] = "Agencies taking part in 2015-16"
        wb[STANDARDS].move_range("C1:C23", cols=10)  # 'Standard text' column now far to the right
    cycle = load_cycle(broken_copy(example_workbook_path, tmp_path, rearrange))
    assert cycle.cases == example_cycle.cases
    assert cycle.agencies == example_cycle.agencies
    assert cycle.standards == example_cycle.standards


def test_notes_the_officer_jots_beside_or_below_a_list_are_not_read_as_rows(example_workbook_path, tmp_path,
                                                                           example_cycle):
    def jot(wb):
        wb[STANDARDS]["H1"] = "My notes"
        wb[STANDARDS]["H30"] = "check wording of S4 with chair"
        wb[CASES]["O1"] = "Notes"
        wb[CASES]["O20"] = "two more cases to come from CSWS"
    cycle = load_cycle(broken_copy(example_workbook_path, tmp_path, jot))
    assert cycle.standards == example_cycle.standards and cycle.cases == example_cycle.cases


def test_a_list_cell_becomes_its_items_without_bullets():
    assert split_lines("• one\n- two\r\n\n* three\n  four  ") == ("one", "two", "three", "four")
    assert split_lines(None) == ()


def test_cycle_reference_turned_into_a_date_by_excel_is_explained(example_workbook_path, tmp_path):
    path = broken_copy(example_workbook_path, tmp_path, set_cell(SETTINGS, "B3", date(2015, 5, 16)))
    problem = next(p for p in problems_of(path) if p.code == "workbook.bad-cycle-ref")
    assert "Text" in problem.fix


# --- files that are not a usable workbook ---------------------------------------------------


def test_a_workbook_locked_by_excel_gets_a_close_it_message(example_workbook_path, monkeypatch):
    def locked(self):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(Path, "read_bytes", locked)
    with pytest.raises(CaseAuditError) as err:
        load_cycle(example_workbook_path)
    problem = err.value.report.problems[0]
    assert problem.code == "workbook.locked" and "Close it in Excel" in problem.fix


def test_a_workbook_open_in_excel_still_loads_with_a_warning(tmp_workspace):
    (tmp_workspace.root / "~$cycle.xlsx").write_bytes(b"owner")
    result = read_cycle(tmp_workspace.cycle_path)
    assert result.report.ok and result.cycle is not None
    assert [p.code for p in result.report.warnings] == ["workbook.open-in-excel"]
    load_cycle(tmp_workspace.cycle_path)  # a warning does not stop the load


def test_a_folder_instead_of_a_file_is_named_as_such(tmp_path):
    (problem,) = problems_of(tmp_path)
    assert problem.code == "workbook.not-xlsx" and "folder" in problem.message


def test_missing_file_is_a_plain_problem(tmp_path):
    with pytest.raises(CaseAuditError) as err:
        load_cycle(tmp_path / "cycle.xlsx")
    assert err.value.report.problems[0].code == "workbook.not-found"


@pytest.mark.parametrize("content, code", [
    (b"", "workbook.not-xlsx"),
    (b"Case ref,Priority area\nN-01,Neglect\n", "workbook.not-xlsx"),
    (b"%PDF-1.7\n", "workbook.not-xlsx"),
    (b"PK\x03\x04 truncated", "workbook.corrupt"),
], ids=["empty", "csv renamed", "pdf renamed", "broken zip"])
def test_files_that_are_not_workbooks(tmp_path, content, code):
    path = tmp_path / "cycle.xlsx"
    path.write_bytes(content)
    assert [p.code for p in problems_of(path)] == [code]


@pytest.mark.parametrize("content, message", [
    (b"Case ref,Priority area\nN-01,Neglect\n", "This file is not an Excel workbook (.xlsx)."),
    (b"%PDF-1.7\n", "This file is a PDF, not an Excel workbook (.xlsx)."),
    (b"", "This file is empty (0 bytes), not an Excel workbook (.xlsx)."),
], ids=["text", "pdf", "empty"])
def test_a_file_that_is_not_a_workbook_is_said_so_plainly(tmp_path, content, message):
    path = tmp_path / "cycle.xlsx"
    path.write_bytes(content)
    (problem,) = problems_of(path)
    assert problem.message == message


def test_half_a_workbook_is_corrupt(example_workbook_path, tmp_path):
    data = example_workbook_path.read_bytes()
    path = tmp_path / "cycle.xlsx"
    path.write_bytes(data[: len(data) // 2])
    assert [p.code for p in problems_of(path)] == ["workbook.corrupt"]


def test_a_word_document_is_recognised(tmp_path):
    import docx

    path = tmp_path / "cycle.xlsx"
    docx.Document().save(path)
    (problem,) = problems_of(path)
    assert problem.code == "workbook.not-xlsx"
    assert problem.message == "This file is a Word document, not an Excel workbook (.xlsx)."
    # The officer is told what the file is, not shown its internal content type.
    assert problem.value is None and "application/" not in problem.render()


def test_a_zip_bomb_is_refused_before_it_is_expanded(tmp_path):
    path = tmp_path / "cycle.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"\0" * (20 * 1024 * 1024))
    assert [p.code for p in problems_of(path)] == ["workbook.too-large"]


def test_an_xml_entity_in_any_part_is_refused(example_workbook_path, tmp_path):
    path = tmp_path / "cycle.xlsx"
    with zipfile.ZipFile(example_workbook_path) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "docProps/app.xml":
                body = b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + body
            dst.writestr(info, body)
    assert [p.code for p in problems_of(path)] == ["workbook.unsafe-xml"]


CORPUS_FILES = sorted(CORPUS_XLSX.iterdir()) if CORPUS_XLSX.is_dir() else []
CORPUS_EXPECTED = {
    "poi_protect.xlsx": "workbook.encrypted",
    "poi_protected_passtika.xlsx": "workbook.encrypted",
    "poi_protected_sha512.xlsx": "workbook.encrypted",
    "poi_poc-xmlbomb.xlsx": "workbook.unsafe-xml",
    "poi_SimpleMacro.xlsm": "workbook.macro-enabled",
    "poi_xlmmacro.xlsm": "workbook.macro-enabled",
    "poi_xlsx-corrupted.xlsx": "workbook.corrupt",
    "poi_clusterfuzz-testcase-minimized-XLSX2CSVFuzzer-5636439151607808.xlsx": "workbook.corrupt",
    "poi_duplicate-filename.xlsx": "workbook.corrupt",
    "poi_invalid.xlsx": "workbook.corrupt",
    "poi_SimpleStrict.xlsx": "workbook.strict",
    "poi_DataValidations-49244.xlsx": "workbook.missing-sheet",
    "poi_workbookProtection-workbook_password-2013.xlsx": "workbook.missing-sheet",
    "poi_57893-many-merges.xlsx": "workbook.missing-sheet",
}


@pytest.mark.skipif(not CORPUS_FILES, reason=f"the robustness corpus is not at {CORPUS_XLSX}")
@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_every_corpus_file_gives_a_clean_workbook_problem(path):
    with pytest.raises(CaseAuditError) as err:
        load_cycle(path)
    problems = err.value.report.problems
    assert problems and all(p.code.startswith("workbook.") and p.message and p.fix for p in problems)
    if path.name in CORPUS_EXPECTED:
        assert problems[0].code == CORPUS_EXPECTED[path.name]


@pytest.mark.skipif(not CORPUS_FILES, reason=f"the robustness corpus is not at {CORPUS_XLSX}")
def test_strict_and_unrelated_workbooks_say_what_to_do():
    (strict,) = problems_of(CORPUS_XLSX / "poi_SimpleStrict.xlsx")
    assert "Strict Open XML" in strict.message and "Excel Workbook (*.xlsx)" in strict.fix
    unrelated = problems_of(CORPUS_XLSX / "poi_DataValidations-49244.xlsx")
    assert {p.location for p in unrelated} == {"Settings", "Priority areas", "Agencies", "Cases", "KLOEs",
                                               "Standards", "Rating scale"}
    assert "'Sheet1'" in unrelated[0].message


@pytest.mark.skipif(not CORPUS_FILES, reason=f"the robustness corpus is not at {CORPUS_XLSX}")
def test_macros_are_found_by_content_not_just_by_extension(tmp_path):
    path = tmp_path / "cycle.xlsx"
    shutil.copy(CORPUS_XLSX / "poi_SimpleMacro.xlsm", path)
    (problem,) = problems_of(path)
    assert problem.code == "workbook.macro-enabled" and "Save As" in problem.fix


@pytest.mark.skipif(not CORPUS_FILES, reason=f"the robustness corpus is not at {CORPUS_XLSX}")
def test_an_encrypted_workbook_asks_for_the_password_to_be_removed():
    (problem,) = problems_of(CORPUS_XLSX / "poi_protected_passtika.xlsx")
    assert "password" in problem.message and "remove the password" in problem.fix


# --- what a workbook costs to read -------------------------------------------------------------


def _formatted(*refs: str, sheet: str = CASES):
    """A fill colour on empty cells: what selecting whole columns or rows and colouring them leaves."""
    def change(wb):
        for ref in refs:
            wb[sheet][ref].fill = PatternFill("solid", fgColor="FFFF00")
    return change


def _peak_mib(action) -> tuple[object, float]:
    tracemalloc.start()
    try:
        result = action()
        return result, tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def test_a_formatted_empty_cell_at_the_last_row_costs_nothing(example_workbook_path, example_cycle, tmp_path):
    path = broken_copy(example_workbook_path, tmp_path, _formatted("A1048576"))
    assert openpyxl.load_workbook(path, read_only=True)[CASES].max_row == 1048576  # the stated size
    result, peak = _peak_mib(lambda: read_cycle(path))
    assert result.report.ok and result.cycle == example_cycle
    assert peak < 100, f"reading the workbook took {peak:.0f} MiB"  # was 3.3 GB and 87 s


def test_formatted_cells_at_every_far_corner_of_every_sheet_change_nothing(example_workbook_path, example_cycle,
                                                                          tmp_path):
    corners = ("A1048576", "XFD1", "XFD1048576")
    changes = [_formatted(*corners, sheet=name) for name in (SETTINGS, CASES, KLOES, STANDARDS, RATING_SCALE,
                                                             "Agencies", "Priority areas", ATTENDANCE)]
    path = broken_copy(example_workbook_path, tmp_path, *changes)
    result, peak = _peak_mib(lambda: read_cycle(path))
    assert result.report.ok and result.cycle == example_cycle
    assert peak < 100, f"reading the workbook took {peak:.0f} MiB"


def test_check_on_a_workbook_with_a_formatted_last_row_prints_the_same_summary(tmp_workspace):
    from click.testing import CliRunner

    from pipeline.cli import cli

    before = CliRunner().invoke(cli, ["check", "-w", str(tmp_workspace.root)], catch_exceptions=False)
    wb = openpyxl.load_workbook(tmp_workspace.cycle_path)
    _formatted("A1048576")(wb)
    wb.save(tmp_workspace.cycle_path)
    after = CliRunner().invoke(cli, ["check", "-w", str(tmp_workspace.root)], catch_exceptions=False)
    assert before.exit_code == after.exit_code == 0, after.output
    assert after.output == before.output and "41 audit form(s) + 10 summary form(s) = 51" in after.output


def test_mistakes_keep_their_exact_cells_beside_a_formatted_last_row(example_workbook_path, tmp_path):
    path = broken_copy(example_workbook_path, tmp_path, _formatted("A1048576", "XFD1048576"),
                       set_cell(CASES, "C4", None), set_cell(STANDARDS, "B23", 9))
    assert found(path) == {("workbook.blank-cell", "Cases!C4"), ("workbook.unknown-kloe", "Standards!B23")}


def test_a_case_far_below_a_gap_of_empty_rows_is_still_read(example_workbook_path, example_cycle, tmp_path):
    def far_case(wb):
        ws = wb[CASES]
        for column, cell in enumerate(ws[2], start=1):
            ws.cell(60000, column, cell.value)
        ws.cell(60000, 1, "N-99")
    cycle = load_cycle(broken_copy(example_workbook_path, tmp_path, far_case, _formatted("A1048576")))
    assert [c.ref for c in cycle.cases] == [c.ref for c in example_cycle.cases] + ["N-99"]
    assert cycle.cases[-1].agencies == example_cycle.cases[0].agencies


def test_without_openpyxls_sheet_parser_the_public_rows_give_the_same_cycle(example_workbook_path, example_cycle,
                                                                           tmp_path, monkeypatch):
    """Should a later openpyxl move its parser, reading stays right (only gaps cost more)."""
    path = broken_copy(example_workbook_path, tmp_path, _formatted("A200"), set_cell(CASES, "C4", None))
    expected = found(path)
    monkeypatch.setitem(sys.modules, "openpyxl.worksheet._reader", None)  # 'import' now fails
    assert found(path) == expected == {("workbook.blank-cell", "Cases!C4")}
    assert load_cycle(example_workbook_path) == example_cycle


# --- a real spreadsheet program -----------------------------------------------------------------


@pytest.mark.libreoffice("calc")
def test_example_saved_again_by_libreoffice_calc_loads_the_same(example_workbook_path, example_cycle, tmp_path,
                                                                convert_with_libreoffice):
    out = tmp_path / "out"
    convert_with_libreoffice([example_workbook_path], out, "xlsx:Calc MS Excel 2007 XML")
    resaved = out / "example-cycle.xlsx"
    assert resaved.is_file() and resaved.read_bytes() != example_workbook_path.read_bytes()
    cycle = load_cycle(resaved)
    assert cycle == example_cycle


@pytest.mark.libreoffice("calc")
def test_a_formatted_last_row_saved_again_by_libreoffice_calc_still_costs_nothing(example_workbook_path,
                                                                                example_cycle, tmp_path,
                                                                                convert_with_libreoffice):
    """Calc (7.x) writes the officer's 500 template rows but drops far-off formatting: still read the same, cheaply."""
    source = broken_copy(example_workbook_path, tmp_path, _formatted("A1048576", "XFD1"))
    out = tmp_path / "out"
    convert_with_libreoffice([source], out, "xlsx:Calc MS Excel 2007 XML")
    result, peak = _peak_mib(lambda: read_cycle(out / source.name))
    assert result.report.ok and result.cycle == example_cycle
    assert peak < 100, f"reading the workbook took {peak:.0f} MiB"
