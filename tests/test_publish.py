"""`case-audit publish` (issue 15): the report saved last, as a tagged PDF checked with pikepdf.

Against real files: the report build-report writes for the shipped example,
exported by the installed LibreOffice and read back with pikepdf. Skipped with
the reason where LibreOffice is not installed.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from docx import Document

from pipeline import libreoffice, pdf
from pipeline.cli import cli
from pipeline.ooxml.contents import document_headings
from pipeline.publish import PDF_NAME, publish
from pipeline.report import build_report
from pipeline.workspace import init_workspace


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
    comms = report.with_name("Overview report FINAL (comms).docx")
    doc = Document(str(report))
    doc.add_paragraph("Published after the comms team's edits.")
    doc.save(str(comms))
    try:
        result = publish(ws)
        assert result.report == comms
        assert "Published after the comms team" in pdf_text(result.pdf)
    finally:
        comms.unlink()
        result.pdf.unlink()


def pdf_text(path: Path) -> str:
    """The PDF's text as a reader copies it (poppler's pdftotext, installed with LibreOffice by .ci/run)."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed; .ci/run installs it")
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_publish_without_libreoffice_exits_2_and_names_the_package(built, monkeypatch):
    ws, report = built
    report.with_name(PDF_NAME).unlink(missing_ok=True)
    monkeypatch.setattr(libreoffice, "find_soffice", lambda: None)
    out = CliRunner().invoke(cli, ["publish", "-w", str(ws.root)], catch_exceptions=False)
    assert out.exit_code == 2
    assert "LibreOffice is not installed" in out.output and "libreoffice-writer" in out.output
    assert not report.with_name(PDF_NAME).exists()


def test_publish_with_no_report_says_build_one_first(tmp_path):
    ws = init_workspace(tmp_path / "ws", example=True)
    out = CliRunner().invoke(cli, ["publish", "-w", str(ws.root)], catch_exceptions=False)
    assert out.exit_code == 2
    assert "build-report" in out.output
