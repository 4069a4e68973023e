"""`case-audit publish` (issue 15): the report saved last, as a tagged PDF checked with pikepdf.

Against real files: the report build-report writes for the shipped example,
exported by the installed LibreOffice and read back with pikepdf. Skipped with
the reason where LibreOffice is not installed.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from docx import Document

from pipeline import libreoffice, pdf
from pipeline.cli import cli
from pipeline.ooxml.contents import contents_lines, document_headings, updates_fields_on_open
from pipeline.publish import HTML_NAME, PDF_NAME, publish
from pipeline.report import build_report
from pipeline.workspace import Workspace, init_workspace


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def built(tmp_path_factory, example_cycle, simulated):
    ws = init_workspace(tmp_path_factory.mktemp("publish") / "ws", example=True)
    result = build_report(ws, example_cycle, returns=simulated.returns, summaries=simulated.summary_returns,
                          issued=())
    return ws, result.path


@pytest.fixture(scope="module")
def published(built):
    if libreoffice.find_soffice() is None:
        pytest.skip("LibreOffice (soffice) is not installed; .ci/run installs it")
    ws, report = built
    before = digest(report)
    result = publish(ws)
    return ws, report, before, result


@pytest.mark.libreoffice
def test_publish_writes_a_tagged_pdf_with_title_language_and_a_bookmark_per_heading(published, example_cycle):
    ws, report, before, result = published
    assert result.pdf == report.with_name(PDF_NAME) and result.pdf.is_file()
    assert result.html == report.with_name(HTML_NAME) and "<html lang=\"en-GB\">" in result.html.read_text("utf-8")
    facts = pdf.read_pdf(result.pdf.read_bytes())
    assert facts.tagged and facts.marked
    assert facts.language == "en-GB"
    assert facts.title == f"{example_cycle.settings.report_title} {example_cycle.settings.cycle_name}"
    assert facts.shows_title
    headings = [pdf.normalise(h.text) for h in document_headings(report.read_bytes())]
    assert len(headings) > 30
    bookmarked = [e.title for e in facts.outline if e.page]
    assert [h for h in headings if h not in bookmarked] == []
    assert facts.tags.get("TH", 0) >= 20  # every table's header row is tagged as header cells
    assert facts.tags.get("Figure", 0) >= 6 and facts.figures_without_alt == 0
    assert list(result.problems) == []


@pytest.mark.libreoffice
def test_publish_never_changes_the_report_it_reads(published):
    ws, report, before, result = published
    assert digest(report) == before


@pytest.mark.libreoffice
def test_an_untagged_pdf_without_bookmarks_is_reported(built):
    ws, report = built
    no_bookmarks = 'pdf:writer_pdf_Export:{"ExportBookmarks":{"type":"boolean","value":"false"}}'
    plain = libreoffice.convert(report.read_bytes(), ".docx", no_bookmarks)  # untagged (the default), no outline
    facts = pdf.read_pdf(plain)
    problems = pdf.pdf_problems(facts, file="plain.pdf", title="Another title", language="en-GB",
                                headings=[h.text for h in document_headings(report.read_bytes())], tables=5)
    codes = {p.code for p in problems}
    assert {"publish.pdf-untagged", "publish.pdf-not-marked", "publish.pdf-outline", "publish.pdf-title"} <= codes


@pytest.mark.libreoffice
def test_publish_takes_the_report_saved_last_whatever_its_name(built, tmp_path):
    ws, report = built
    shutil.copytree(ws.root, tmp_path / "ws", ignore=shutil.ignore_patterns("*.pdf", "*.html"))
    copy = Workspace(tmp_path / "ws")
    comms = copy.report_dir / "Overview report FINAL (comms).docx"
    doc = Document(str(copy.report_dir / report.name))
    doc.add_paragraph("Published after the comms team's edits.")
    doc.save(str(comms))
    result = publish(copy)
    assert result.report == comms and result.pdf == comms.with_name(PDF_NAME)
    assert "Published after the comms team" in pdf_text(result.pdf)


def pdf_text(path: Path) -> str:
    """The PDF's text as a reader copies it (poppler's pdftotext, installed with LibreOffice by .ci/run)."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed; .ci/run installs it")
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_publish_without_libreoffice_exits_2_and_names_the_package(built, monkeypatch, tmp_path):
    ws, report = built
    copy = tmp_path / "ws"
    shutil.copytree(ws.root, copy, ignore=shutil.ignore_patterns("*.pdf", "*.html"))
    monkeypatch.setattr(libreoffice, "find_soffice", lambda: None)
    out = CliRunner().invoke(cli, ["publish", "-w", str(copy)], catch_exceptions=False)
    assert out.exit_code == 2
    assert "LibreOffice is not installed" in out.output and "libreoffice-writer" in out.output
    assert not (copy / report.relative_to(ws.root)).with_name(PDF_NAME).exists()
    assert (copy / report.relative_to(ws.root)).with_name(HTML_NAME).is_file()  # the web page needs no LibreOffice


def test_publish_with_no_report_says_build_one_first(tmp_path):
    ws = init_workspace(tmp_path / "ws", example=True)
    out = CliRunner().invoke(cli, ["publish", "-w", str(ws.root)], catch_exceptions=False)
    assert out.exit_code == 2
    assert "build-report" in out.output


# --- contents page numbers (build-report) ------------------------------------------------------


@pytest.fixture(scope="module")
def numbered(tmp_path_factory, example_cycle, simulated):
    if libreoffice.find_soffice() is None:
        pytest.skip("LibreOffice (soffice) is not installed; .ci/run installs it")
    ws = init_workspace(tmp_path_factory.mktemp("numbered") / "ws", example=True)
    result = build_report(ws, example_cycle, returns=simulated.returns, summaries=simulated.summary_returns,
                          issued=(), contents_page_numbers=True)
    return ws, result


@pytest.mark.libreoffice
def test_the_built_report_opens_with_contents_page_numbers_matching_its_pages(numbered):
    ws, result = numbered
    docx = result.path.read_bytes()
    lines = contents_lines(docx)
    assert len(lines) > 30 and all(line.page for line in lines)
    facts = pdf.read_pdf(pdf.render_pdf(docx))
    pages = pdf.heading_pages(facts, [(line.anchor, line.text) for line in lines])
    assert [(line.text, line.page) for line in lines] == [(line.text, pages.get(line.anchor)) for line in lines]
    assert len({line.page for line in lines}) > 10  # real page numbers, not one number everywhere
    assert not updates_fields_on_open(docx)  # no "update fields" prompt in Word
    assert "report.contents-page-numbers" not in {p.code for p in result.problems}


@pytest.mark.libreoffice
def test_a_rebuild_of_a_numbered_report_is_numbered_again_and_sees_no_edits(numbered, example_cycle, simulated):
    ws, first = numbered
    again = build_report(ws, example_cycle, returns=simulated.returns, summaries=simulated.summary_returns,
                         issued=(), contents_page_numbers=True)
    assert again.path != first.path
    assert [(l.text, l.page) for l in contents_lines(again.path.read_bytes())] == \
        [(l.text, l.page) for l in contents_lines(first.path.read_bytes())]
    assert "report.built-text-edited" not in {p.code for p in again.problems}


def test_without_libreoffice_the_contents_has_its_entries_and_the_build_says_so(tmp_path, example_cycle, simulated,
                                                                                monkeypatch):
    monkeypatch.setattr(libreoffice, "find_soffice", lambda: None)
    ws = init_workspace(tmp_path / "ws", example=True)
    result = build_report(ws, example_cycle, returns=simulated.returns, summaries=simulated.summary_returns,
                          issued=(), contents_page_numbers=True)
    lines = contents_lines(result.path.read_bytes())
    assert len(lines) > 30 and not any(line.page for line in lines)
    said = [p for p in result.problems if p.code == "report.contents-page-numbers"]
    assert said and "LibreOffice is not installed" in said[0].message
    assert updates_fields_on_open(result.path.read_bytes())  # Word fills them in on opening


def test_build_report_without_libreoffice_does_not_ask_for_attention_for_the_contents(tmp_path, monkeypatch):
    """Most officers have Word and no LibreOffice: Word numbers the contents on opening, so the missing page
    numbers are a note, and the command's exit code is what it would be with the pass turned off."""
    monkeypatch.setattr(libreoffice, "find_soffice", lambda: None)
    ws = init_workspace(tmp_path / "ws", example=True)
    runner = CliRunner()
    off = runner.invoke(cli, ["build-report", "-w", str(ws.root)], env={"CASE_AUDIT_CONTENTS_PAGES": "0"})
    on = runner.invoke(cli, ["build-report", "-w", str(ws.root)], env={"CASE_AUDIT_CONTENTS_PAGES": "1"})
    assert "Contents without page numbers" in on.output or "page numbers" in on.output, on.output
    assert on.exit_code == off.exit_code, (off.output, on.output)


@pytest.mark.libreoffice
def test_the_pdfs_contents_page_shows_the_pages_its_headings_are_on(published):
    ws, report, before, result = published
    text = subprocess.run(["pdftotext", "-layout", "-f", "2", "-l", "3", str(result.pdf), "-"],
                          capture_output=True, text=True, check=True).stdout
    outline = {e.title: e.page for e in result.facts.outline if e.level == 1}
    shown = {}
    for heading in ("Executive Summary", "Introduction", "Methodology", "The Learning Event",
                    "Appendix 3: Single Agency Improvement Plan"):
        match = re.search(re.escape(heading) + r"\s*\.{3,}\s*(\d+)", text)
        shown[heading] = int(match.group(1)) if match else None
    assert shown == {h: outline[h] for h in shown}


@pytest.mark.libreoffice
def test_the_numbered_report_is_valid_ooxml(numbered):
    validator = Path(os.environ.get("CASE_AUDIT_SHARED", Path(__file__).resolve().parents[1].parent / "shared")) \
        / "tools" / "ooxml-validate" / "validate.py"
    if not validator.is_file():
        pytest.skip(f"the OOXML validator is not at {validator}")
    ws, result = numbered
    done = subprocess.run([sys.executable, str(validator), str(result.path)], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0 and " 0 errors" in done.stdout, done.stdout + done.stderr


# --- the demo ----------------------------------------------------------------------------------


@pytest.mark.libreoffice
def test_the_demo_ends_by_publishing_the_report(tmp_path):
    from pipeline.demo import run_demo

    result = run_demo(tmp_path / "demo")
    steps = dict(result.steps)
    assert "accessibility check passed" in steps["publish"]
    outputs = dict(result.outputs)
    assert outputs["Report as PDF"].is_file() and outputs["Report as web page"].is_file()


def test_the_demo_without_libreoffice_skips_publishing_and_says_so(tmp_path, monkeypatch):
    from pipeline.demo import run_demo

    monkeypatch.setattr(libreoffice, "find_soffice", lambda: None)
    result = run_demo(tmp_path / "demo")
    steps = dict(result.steps)
    assert steps["publish"].startswith("skipped: LibreOffice is not installed") and "libreoffice-writer" in steps["publish"]
    assert not list((tmp_path / "demo" / "outbox" / "report").glob("*.pdf"))
