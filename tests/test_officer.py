"""What the officer sees is true (issue 10): files that arrived in the wrong format are counted against their
agency and the chase text says they were refused; commands find their workspace from a sub-folder; files open in
Word, Excel or LibreOffice are said; each ingested file is shown as it is recorded; the narrative comes from the
report saved last, whatever it was renamed to.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from pipeline.cli import cli
from pipeline.ingest import ingest_inbox
from pipeline.status import OUTSTANDING, agency_status, chase_list

from test_ingest import drop
from test_returns import Issued, issue_forms


def run(*args: str, cwd: Path | None = None):
    runner = CliRunner()
    if cwd is None:
        return runner.invoke(cli, list(args), catch_exceptions=False)
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return runner.invoke(cli, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)


# --- files sent in the wrong format ------------------------------------------------------------------


@pytest.fixture(scope="module")
def wrong_formats(tmp_path_factory, example_cycle, convert_with_libreoffice) -> Issued:
    """POLICE sends three forms as .pdf, .doc and .odt (saved so by LibreOffice), CCG one as .pdf; a scan nobody named."""
    issued = issue_forms(tmp_path_factory.mktemp("wrong-formats") / "ws", example_cycle)
    police = [issued.path("POLICE", c.ref) for c in example_cycle.cases_for("POLICE")[:3]]
    ccg = issued.path("CCG", example_cycle.cases_for("CCG")[0].ref)
    out = tmp_path_factory.mktemp("converted")
    saved = [*convert_with_libreoffice([police[0], ccg], out / "pdf", "pdf"),
             *convert_with_libreoffice([police[1]], out / "doc", "doc:MS Word 97"),
             *convert_with_libreoffice([police[2]], out / "odt", "odt")]
    for path in saved:
        drop(issued, f"from email/{path.name}", path.read_bytes())
    drop(issued, "scan0001.pdf", saved[0].read_bytes().replace(b"%%EOF", b"%%EOF\n% scanned\n"))
    result = ingest_inbox(issued.ws, example_cycle)
    assert [f.outcome for f in result.files] == ["rejected"] * 5, [(f.file, f.message) for f in result.files]
    issued.refused = {"POLICE": [p.stem for p in police], "CCG": [ccg.stem]}  # type: ignore[attr-defined]
    return issued


@pytest.mark.libreoffice
def test_rejected_files_are_counted_against_the_agency_their_name_says(wrong_formats):
    report = agency_status(wrong_formats.ws, wrong_formats.cycle)
    by_code = {a.agency.code: a for a in report.agencies}
    assert by_code["POLICE"].rejected_files == 3
    assert by_code["CCG"].rejected_files == 1
    assert report.totals["rejected_files"] == 4
    assert [f.original_path for f in report.unidentified_files] == ["scan0001.pdf"]
    assert by_code["POLICE"].last_return is not None  # something did arrive from them


@pytest.mark.libreoffice
def test_status_json_table_and_workbook_all_count_the_rejected_files(wrong_formats):
    root = str(wrong_formats.ws.root)
    data = json.loads(run("status", "--json", "-w", root).output)
    rejected = {a["agency"]: a["rejected_files"] for a in data["agencies"]}
    assert (rejected["POLICE"], rejected["CCG"], rejected["EY"]) == (3, 1, 0)
    assert data["totals"]["rejected_files"] == 4
    assert data["rejected_sender_unknown"] == ["scan0001.pdf"]

    table = run("status", "-w", root).output.splitlines()
    assert table[0].split()[:8] == ["Agency", "Issued", "Complete", "Incomplete", "No", "inv.", "Outstanding",
                                    "Rejected"]
    police = next(line for line in table if line.startswith("POLICE ")).split()
    assert police[6] == "3"  # Agency, Issued, Complete, Incomplete, No inv., Outstanding, Rejected
    assert "5 file(s) were rejected (1 from a sender not known)" in run("status", "-w", root).output

    run("status", "--xlsx", "-w", root)
    sheet = load_workbook(wrong_formats.ws.outbox / "status.xlsx", read_only=True)["Status"]
    rows = {r[0]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    assert rows["POLICE"][header.index("Files rejected")] == 3
    assert rows["Total"][header.index("Files rejected")] == 4


@pytest.mark.libreoffice
def test_the_results_returns_sheet_names_the_agency_of_each_rejected_file(wrong_formats):
    sheet = load_workbook(wrong_formats.ws.results_path, read_only=True)["Returns"]
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    agency = {Path(r[header.index("File")]).name: r[header.index("Agency")]
              for r in sheet.iter_rows(min_row=2, values_only=True)}
    stems = wrong_formats.refused
    assert {name: code for name, code in agency.items() if code} == {
        **{f"{stems['POLICE'][0]}.pdf": "POLICE", f"{stems['POLICE'][1]}.doc": "POLICE",
           f"{stems['POLICE'][2]}.odt": "POLICE", f"{stems['CCG'][0]}.pdf": "CCG"}}
    assert agency["scan0001.pdf"] is None


@pytest.mark.libreoffice
def test_the_chase_text_says_which_forms_came_in_the_wrong_format_and_what_to_send(wrong_formats):
    cycle = wrong_formats.cycle
    entry = next(e for e in chase_list(wrong_formats.ws, cycle) if e.agency.code == "POLICE")
    text = entry.text(cycle)
    never, _, refused = text.partition("could NOT ACCEPT")
    assert refused, text
    for stem in wrong_formats.refused["POLICE"]:
        assert f"{stem}.docx" not in never.split("We have not yet received", 1)[-1].split("We received")[0]
        assert f"{stem}.docx" in refused
    # the PDF is refused for its format; the .doc and .odt are converted through LibreOffice and read, and
    # refused because the forms in them are blank (the fixture saves the issued, unfilled forms)
    assert "is a PDF" in refused and refused.count("Nothing is filled in") == 2
    assert refused.count("What to send instead: ") == 3 and refused.count("Why it was not accepted: ") == 3
    others = [f for f in entry.outstanding if not f.not_accepted]
    assert others and all(f.state == OUTSTANDING for f in others)
    assert all(Path(f.form.path).name in never for f in others)  # the rest were never received, and said so


# --- where the command runs ------------------------------------------------------------------------


def test_a_command_run_from_a_subfolder_finds_its_workspace(tmp_workspace):
    (tmp_workspace.inbox / "from email").mkdir()
    result = run("check", cwd=tmp_workspace.inbox / "from email")
    assert result.exit_code == 0, result.output
    assert "is ready" in result.output
    result = run("status", "--json", cwd=tmp_workspace.outbox)
    assert result.exit_code == 0, result.output
    assert not (tmp_workspace.inbox / "cycle.xlsx").exists() and not (tmp_workspace.inbox / ".case-audit").exists()


def test_outside_any_workspace_the_message_says_none_was_found_above(tmp_path):
    result = run("status", cwd=tmp_path)
    assert result.exit_code == 2
    assert "or any folder above it" in result.output


def test_init_refuses_a_workspace_inside_another(tmp_workspace):
    result = run("init", str(tmp_workspace.inbox / "audit-2027"))
    assert result.exit_code == 2
    assert f"inside the workspace {tmp_workspace.root}" in result.output
    assert not (tmp_workspace.inbox / "audit-2027").exists()
    result = run("init", "audit-2027", cwd=tmp_workspace.inbox)
    assert result.exit_code == 2 and not (tmp_workspace.inbox / "audit-2027").exists()
    assert run("init", str(tmp_workspace.root.parent / "audit-2027")).exit_code == 0  # beside it is fine


# --- each file shown as it is recorded -----------------------------------------------------------


def test_ingest_shows_each_file_even_when_the_outputs_cannot_be_written(tmp_path, example_cycle):
    issued = issue_forms(tmp_path / "ws", example_cycle)
    case = example_cycle.cases_for("POLICE")[0].ref
    drop(issued, f"POLICE_{case}.docx", issued.filled("POLICE", case))
    drop(issued, "notes.txt", b"Please find our forms attached.")
    issued.ws.results_path.mkdir(parents=True)  # results.xlsx cannot be written: a folder holds its name
    shutil.rmtree(issued.ws.feedback_dir, ignore_errors=True)
    issued.ws.feedback_dir.write_bytes(b"")  # nor can feedback: a file holds the folder's name
    result = run("ingest", "-w", str(issued.ws.root))
    assert result.exit_code != 0
    assert f"accepted  POLICE_{case}.docx" in result.output
    assert "rejected  notes.txt" in result.output
    records = run("status", "--json", "-w", str(issued.ws.root))
    assert json.loads(records.output)["totals"]["complete"] == 1  # recorded, as the lines said


def test_ingest_lists_each_file_once(tmp_path, example_cycle):
    issued = issue_forms(tmp_path / "ws", example_cycle)
    case = example_cycle.cases_for("POLICE")[0].ref
    drop(issued, f"POLICE_{case}.docx", issued.filled("POLICE", case))
    result = run("ingest", "-w", str(issued.ws.root))
    assert result.output.count(f"POLICE_{case}.docx:") == 1, result.output
    assert "Totals: 1 accepted" in result.output


# --- files open in Word, Excel or LibreOffice -------------------------------------------------------

LO_LOCK = b",officer,LAPTOP-7,04.12.2026 18:55,file:///C:/Users/officer/AppData/Roaming/LibreOffice/4;"


def test_check_and_generate_forms_say_the_cycle_workbook_is_open_in_excel(tmp_workspace):
    (tmp_workspace.root / "~$cycle.xlsx").write_bytes(b"\x07officer" + b" " * 47)  # what Excel leaves beside it
    said = "cycle.xlsx is open in Excel: unsaved changes there are not included"
    result = run("check", "-w", str(tmp_workspace.root))
    assert result.exit_code == 0 and said in result.output
    result = run("generate-forms", "--agency", "POLICE", "-w", str(tmp_workspace.root))
    assert result.exit_code == 0 and said in result.output
    (tmp_workspace.root / "~$cycle.xlsx").unlink()
    (tmp_workspace.root / ".~lock.cycle.xlsx#").write_bytes(LO_LOCK)
    assert "cycle.xlsx is open in LibreOffice" in run("check", "-w", str(tmp_workspace.root)).output
    (tmp_workspace.root / ".~lock.cycle.xlsx#").unlink()
    assert "is open in" not in run("generate-forms", "-w", str(tmp_workspace.root)).output
    (tmp_workspace.root / "~$cycle.xlsx").write_bytes(b"\x07officer")
    data = json.loads(run("check", "--json", "-w", str(tmp_workspace.root)).output)
    assert [p["message"] for p in data["problems"]] == [f"{said}."]  # said once, by the workbook reader


def test_build_report_says_which_of_its_files_are_open_and_where(tmp_workspace):
    root = str(tmp_workspace.root)
    assert run("build-report", "-w", root).exit_code in (0, 1)
    quiet = run("build-report", "-w", root).output
    assert "is open in" not in quiet
    (tmp_workspace.report_dir / "~$erview-report-v2.docx").write_bytes(b"\x07officer")  # Word drops two letters
    (tmp_workspace.outbox / ".~lock.results.xlsx#").write_bytes(LO_LOCK)
    (tmp_workspace.root / ".~lock.cycle.xlsx#").write_bytes(LO_LOCK)
    result = run("build-report", "-w", root)
    assert "Narrative taken from outbox/report/overview-report-v2.docx" in result.output
    assert "overview-report-v2.docx is open in Word: unsaved changes there are not included" in result.output
    assert "results.xlsx is open in LibreOffice: unsaved changes there are not included" in result.output
    assert "cycle.xlsx is open in LibreOffice: unsaved changes there are not included" in result.output
    assert "learning-log.xlsx is open" not in result.output


# --- the narrative the comms team edited, under their own name -----------------------------------


COMMS_SENTENCE = "The Board will ask each agency to report progress at its spring meeting."


def add_comms_sentence(path: Path) -> None:
    """What the comms team does in Word: add a sentence of their own under the KLOE 2 heading."""
    from docx import Document

    doc = Document(str(path))
    paragraphs = doc.paragraphs
    at = next(i for i, p in enumerate(paragraphs) if p.style.name == "Heading 2" and p.text.startswith("KLOE 2:"))
    paragraphs[at + 2].insert_paragraph_before(COMMS_SENTENCE)
    doc.save(str(path))


def text_of(path: Path) -> str:
    from docx import Document

    return "\n".join(p.text for p in Document(str(path)).paragraphs)


def saved_minutes_ago(minutes: int, *paths: Path) -> None:
    for path in paths:
        when = path.stat().st_mtime - 60 * minutes
        os.utime(path, (when, when))


@pytest.mark.libreoffice
def test_the_narrative_comes_from_the_report_saved_last_whatever_its_name(tmp_path, simulated,
                                                                         resave_with_libreoffice):
    ws = issue_forms(tmp_path / "ws", simulated_cycle := load_example()).ws
    from pipeline.report import build_report

    first = build_report(ws, simulated_cycle, returns=simulated.returns, summaries=simulated.summary_returns,
                         issued=())
    for n in range(2, 6):  # a few rebuilds: overview-report-v5.docx is the highest version
        build_report(ws, simulated_cycle, returns=simulated.returns, summaries=simulated.summary_returns, issued=())
    v5 = ws.report_dir / "overview-report-v5.docx"
    comms = ws.report_dir / "Overview report FINAL (comms).docx"
    shutil.copyfile(v5, comms)
    add_comms_sentence(comms)
    resave_with_libreoffice(comms)  # they use LibreOffice at home
    saved_minutes_ago(10, *ws.report_dir.glob("overview-report*.docx"))
    saved_minutes_ago(5, comms)  # the newest there, though v5 has the highest number
    assert first.path.is_file()

    result = run("build-report", "-w", str(ws.root))
    assert "Narrative taken from outbox/report/Overview report FINAL (comms).docx" in result.output, result.output
    assert COMMS_SENTENCE in text_of(ws.report_dir / "overview-report-v6.docx")
    data = json.loads(run("build-report", "--json", "-w", str(ws.root)).output)
    assert data["narrative_from"] == "outbox/report/overview-report-v6.docx"  # v6 is now the one saved last


def test_a_newer_word_file_that_is_not_our_report_is_said(tmp_path, simulated):
    from docx import Document
    from pipeline.report import build_report

    ws = issue_forms(tmp_path / "ws", cycle := load_example()).ws
    build_report(ws, cycle, returns=simulated.returns, summaries=simulated.summary_returns, issued=())
    pasted = ws.report_dir / "drafts" / "report text for the board.docx"  # copied into a new document
    pasted.parent.mkdir()
    doc = Document()
    doc.add_paragraph(COMMS_SENTENCE)
    doc.save(str(pasted))
    saved_minutes_ago(10, ws.report_dir / "overview-report.docx")
    result = run("build-report", "-w", str(ws.root))
    assert "Narrative taken from outbox/report/overview-report.docx" in result.output
    assert "report text for the board.docx was saved after every report case-audit built, but it is not one of " \
           "them" in result.output
    assert COMMS_SENTENCE not in text_of(ws.report_dir / "overview-report-v2.docx")


def load_example():
    from pipeline.workbook import load_cycle
    from pipeline.workspace import shipped_template

    return load_cycle(shipped_template("excel", "example-cycle.xlsx"))
