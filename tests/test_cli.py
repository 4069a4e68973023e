"""The command line as the officer uses it: messages, exit codes, --json, and the demo end to end."""

from __future__ import annotations

import json
import shutil

from click.testing import CliRunner
from openpyxl import load_workbook

from pipeline.cli import cli
from pipeline.workspace import init_workspace


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_check_on_the_example_summarises_cases_and_forms(tmp_path):
    ws = init_workspace(tmp_path / "ws", example=True)
    result = run("check", "-w", str(ws.root))
    assert result.exit_code == 0, result.output
    assert "is ready" in result.output
    assert "Neglect: 4 case(s)" in result.output
    assert "41 audit form(s) + 10 summary form(s) = 51" in result.output


def test_workspace_option_works_before_the_command_too(tmp_path):
    ws = init_workspace(tmp_path / "ws", example=True)
    assert run("-w", str(ws.root), "check").exit_code == 0


def test_check_on_a_blank_cycle_explains_what_to_fill_in_and_exits_2(tmp_path):
    ws = init_workspace(tmp_path / "ws")
    result = run("check", "-w", str(ws.root))
    assert result.exit_code == 2
    assert "Cases!A2" in result.output and "no cases" in result.output
    assert "Traceback" not in result.output


def test_check_json_lists_problems_with_codes_and_cells(tmp_path):
    ws = init_workspace(tmp_path / "ws")
    result = run("--json", "check", "-w", str(ws.root))
    assert result.exit_code == 2
    payload = json.loads(result.output)
    assert payload["ok"] is False
    where = {p["code"]: p["location"] for p in payload["problems"]}
    assert where["workbook.no-cases"] == "Cases!A2"
    assert where["workbook.placeholder"].startswith("Settings!")  # the blank board name is still a placeholder


def test_a_command_outside_a_workspace_says_how_to_start_one(tmp_path):
    result = run("generate-forms", "-w", str(tmp_path))
    assert result.exit_code == 2
    assert "case-audit init" in result.output


def test_a_workbook_that_is_not_excel_gets_a_message_not_a_traceback(tmp_path):
    ws = init_workspace(tmp_path / "ws", example=True)
    ws.cycle_path.write_bytes(b"%PDF-1.4 not a workbook")
    result = run("check", "-w", str(ws.root))
    assert result.exit_code == 2
    assert "cycle.xlsx" in result.output
    assert "Traceback" not in result.output


def test_generate_forms_prints_a_table_and_a_rerun_writes_nothing(tmp_path):
    ws = init_workspace(tmp_path / "ws", example=True)
    first = run("generate-forms", "-w", str(ws.root))
    assert first.exit_code == 0, first.output
    assert "51 form(s) written" in first.output
    assert "POLICE" in first.output and "outbox/forms/POLICE/" in first.output
    before = sorted(p.relative_to(ws.root) for p in ws.forms_dir.rglob("*.docx"))
    second = run("generate-forms", "-w", str(ws.root))
    assert second.exit_code == 0
    assert "Nothing new to write" in second.output
    assert sorted(p.relative_to(ws.root) for p in ws.forms_dir.rglob("*.docx")) == before


def test_generate_forms_unknown_agency_names_the_valid_codes(tmp_path):
    ws = init_workspace(tmp_path / "ws", example=True)
    result = run("generate-forms", "-w", str(ws.root), "--agency", "NOPE")
    assert result.exit_code == 2
    assert "NOPE" in result.output and "POLICE" in result.output
    assert not ws.forms_dir.exists() or not any(ws.forms_dir.rglob("*.docx"))


def test_ingest_reports_each_file_and_exits_1_when_something_needs_attention(tmp_path):
    ws = init_workspace(tmp_path / "ws", example=True)
    run("generate-forms", "-w", str(ws.root))
    from pipeline.ooxml.controls import fill_controls

    blank = (ws.forms_dir / "SCH" / "SCH_N-01.docx").read_bytes()
    (ws.inbox / "SCH_N-01.docx").write_bytes(fill_controls(blank, {"ca:rating:S1": "Met or exceeded"}))
    (ws.inbox / "scan.pdf").write_bytes(b"%PDF-1.7\n...")
    result = run("ingest", "-w", str(ws.root))
    assert result.exit_code == 1
    assert "SCH_N-01.docx" in result.output and "accepted with problems" in result.output
    assert "scan.pdf" in result.output and "rejected" in result.output
    assert "Totals:" in result.output
    assert (ws.inbox / "rejected").is_dir() and (ws.inbox / "processed").is_dir()
    assert any(p.is_file() for p in (ws.feedback_dir / "SCH").iterdir())


def test_status_chase_lists_outstanding_forms_with_the_agency_contact(tmp_path, example_cycle):
    ws = init_workspace(tmp_path / "ws", example=True)
    run("generate-forms", "-w", str(ws.root))
    result = run("status", "-w", str(ws.root), "--chase", "--xlsx")
    assert result.exit_code == 0, result.output
    police = example_cycle.agency("POLICE")
    assert police.secure_email in result.output
    assert "case N-01: POLICE_N-01.docx" in result.output
    assert (ws.outbox / "status.xlsx").is_file()


def test_demo_runs_the_whole_year_and_the_report_holds_the_seed_figures(tmp_path):
    folder = tmp_path / "demo"
    result = run("demo", str(folder))
    assert result.exit_code == 0, result.output
    assert "51 accepted" in result.output
    report = folder / "outbox" / "report" / "overview-report.docx"
    assert report.is_file()
    assert (folder / "outbox" / "results.xlsx").is_file()
    assert (folder / "outbox" / "learning-log.xlsx").is_file()
    import docx

    text = "\n".join(p.text for p in docx.Document(str(report)).paragraphs)
    assert "In 82% of cases (9 of 11), the right agencies were involved." in text
    responses = load_workbook(folder / "outbox" / "results.xlsx")["Responses"]
    rows = [r for r in responses.iter_rows(min_row=2, values_only=True) if any(r)]
    assert len(rows) == 41 * 22  # one per agency x case x standard


def test_demo_twice_in_the_same_folder_refuses_rather_than_clobbering(tmp_path):
    folder = tmp_path / "demo"
    assert run("demo", str(folder)).exit_code == 0
    again = run("demo", str(folder))
    assert again.exit_code == 2
    assert "not empty" in again.output


def test_build_report_json_names_the_report_and_its_outputs(tmp_path):
    folder = tmp_path / "demo"
    assert run("demo", str(folder)).exit_code == 0
    result = run("--json", "build-report", "-w", str(folder))
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["report"] == "outbox/report/overview-report-v2.docx"
    assert payload["narrative_from"] == "outbox/report/overview-report.docx"
    assert payload["stale"] == []


def test_status_says_which_version_of_a_resent_form_counts(tmp_path, simulated):
    from pipeline.ooxml.controls import fill_controls

    ws = init_workspace(tmp_path / "ws", example=True)
    run("generate-forms", "-w", str(ws.root))
    values = simulated.values("SCH", "N-01")
    blank = (ws.forms_dir / "SCH" / "SCH_N-01.docx").read_bytes()
    first = dict(values)
    first.pop("ca:rating:S5")
    (ws.inbox / "first attempt.docx").write_bytes(fill_controls(blank, first))
    assert run("ingest", "-w", str(ws.root)).exit_code == 1  # incomplete: standard 5 has no rating
    (ws.inbox / "corrected").mkdir()
    (ws.inbox / "corrected" / "SCH_N-01.docx").write_bytes(fill_controls(blank, values))
    second = run("ingest", "-w", str(ws.root))
    assert second.exit_code == 0
    assert "replaces first attempt.docx received" in second.output and "which is kept" in second.output
    result = run("status", "-w", str(ws.root))
    assert "SCH case N-01: 2 versions; counting corrected/SCH_N-01.docx" in result.output
    sch = next(line for line in result.output.splitlines() if line.startswith("SCH "))
    assert sch.split()[1:5] == ["4", "1", "0", "0"]  # issued, complete, incomplete, no involvement


def test_changing_a_standards_wording_after_issue_warns_once_that_returns_will_be_rejected(tmp_path):
    from openpyxl import load_workbook as open_book

    ws = init_workspace(tmp_path / "ws", example=True)
    run("generate-forms", "-w", str(ws.root))
    book = open_book(ws.cycle_path)
    sheet = book["Standards"]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == 2)
    row[2].value = str(row[2].value) + " (revised)"
    book.save(ws.cycle_path)
    result = run("generate-forms", "-w", str(ws.root))
    assert result.exit_code == 0
    assert result.output.count("wording that has since changed") == 1
    assert "41 issued form(s)" in result.output  # every audit form covers KLOE 1; summary forms ask no standard
    assert "REJECTED" in result.output and "--reissue" in result.output


def test_a_file_the_computer_will_not_let_us_write_is_a_message_not_an_internal_error(tmp_path, monkeypatch):
    import pipeline.forms

    ws = init_workspace(tmp_path / "ws", example=True)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(ws.outbox / "forms"))

    monkeypatch.setattr(pipeline.forms, "generate_forms", refuse)
    result = CliRunner().invoke(cli, ["generate-forms", "-w", str(ws.root)])
    assert result.exit_code == 1
    assert "permission denied" in result.output and "read-only" in result.output
    assert "Internal error" not in result.output and "Traceback" not in result.output


def test_json_and_debug_work_after_the_command_name_too(tmp_path):
    ws = init_workspace(tmp_path / "ws", example=True)
    result = run("check", "-w", str(ws.root), "--json")
    assert result.exit_code == 0
    assert json.loads(result.output)["ok"] is True
    assert run("status", "--debug", "-w", str(ws.root)).exit_code == 0


def test_a_report_built_before_the_returns_are_in_says_it_is_provisional(tmp_path):
    ws = init_workspace(tmp_path / "ws", example=True)
    run("generate-forms", "-w", str(ws.root))
    result = run("build-report", "-w", str(ws.root))
    assert result.exit_code == 1, result.output
    assert "51 of 51 issued forms have not come back yet" in result.output
    assert (ws.report_dir / "overview-report.docx").is_file()


def test_a_blank_form_sent_back_later_never_replaces_a_filled_in_return(tmp_path):
    folder = tmp_path / "demo"
    assert run("demo", str(folder)).exit_code == 0
    shutil.copy(folder / "outbox" / "forms" / "POLICE" / "POLICE_N-01.docx", folder / "inbox" / "resent.docx")
    result = run("ingest", "-w", str(folder))
    assert result.exit_code == 1
    assert "rejected" in result.output and "Nothing is filled in" in result.output
    status = run("status", "-w", str(folder))
    assert "POLICE case N-01" not in status.output  # still one version: the filled-in one counts
    report = run("--json", "build-report", "-w", str(folder))
    import docx

    text = "\n".join(p.text for p in docx.Document(str(folder / json.loads(report.output)["report"])).paragraphs)
    assert "In 7 of the 9 cases audited by the Police, there was no evidence of consent being obtained." in text
