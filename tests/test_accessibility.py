"""The built-in accessibility check (issue 15): each rule caught on a deliberately broken copy of a real report.

The report build-report writes for the shipped example passes every rule; each
test breaks one thing the way an editor could (in python-docx, as Word would
save it) and expects exactly that rule to fail, with where it is.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from docx import Document
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt, RGBColor

from pipeline import libreoffice
from pipeline.accessibility import check_document, contrast_ratio
from pipeline.cli import cli
from pipeline.publish import HTML_NAME, PDF_NAME
from pipeline.report import build_report
from pipeline.workspace import init_workspace


@pytest.fixture(scope="module")
def report(tmp_path_factory, example_cycle, simulated) -> Path:
    ws = init_workspace(tmp_path_factory.mktemp("a11y") / "ws", example=True)
    return build_report(ws, example_cycle, returns=simulated.returns, summaries=simulated.summary_returns,
                        issued=()).path


def codes(path: Path) -> list[str]:
    return [p.code for p in check_document(path.read_bytes(), file=path.name)]


def broken(report: Path, tmp_path: Path, breaks) -> Path:
    doc = Document(str(report))
    breaks(doc)
    target = tmp_path / "broken.docx"
    doc.save(str(target))
    return target


def test_the_report_build_report_writes_passes_every_rule(report):
    assert codes(report) == []


def _heading_3_under_heading_1(doc):
    at = next(p for p in doc.paragraphs if p.style.name == "Heading 1" and p.text == "Introduction")
    at.insert_paragraph_before("A heading two levels down", style="Heading 3")


def _picture_without_alt(doc):
    doc.inline_shapes[0]._inline.docPr.set("descr", "")
    doc.inline_shapes[0]._inline.docPr.set("title", "")


def _table_without_header_row(doc):
    tr_pr = doc.tables[0].rows[0]._tr.trPr
    tr_pr.remove(tr_pr.find(qn("w:tblHeader")))


def _no_title(doc):
    doc.core_properties.title = ""


def _no_language(doc):
    doc.core_properties.language = ""
    lang = doc.styles.element.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}/{qn('w:lang')}")
    lang.getparent().remove(lang)


def _small_body_text(doc):
    paragraph = next(p for p in doc.paragraphs if p.style.name == "Normal" and len(p.text) > 80)
    paragraph.runs[0].font.size = Pt(9)


def _click_here_link(doc):
    paragraph = next(p for p in doc.paragraphs if p.style.name == "Normal" and len(p.text) > 80)
    rid = doc.part.relate_to("https://www.example.org/guidance", RT.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), rid)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "click here"
    run.append(text)
    link.append(run)
    paragraph._p.append(link)


def _faint_style(doc):
    doc.styles["Note"].font.color.rgb = RGBColor(0xA6, 0xA6, 0xA6)


@pytest.mark.parametrize("breaks, code, said", [
    (_heading_3_under_heading_1, "accessibility.heading-skip", "A heading two levels down"),
    (_picture_without_alt, "accessibility.image-alt", "under 'KLOE 1"),
    (_table_without_header_row, "accessibility.table-header", "under 'Executive Summary'"),
    (_no_title, "accessibility.title", "no title"),
    (_no_language, "accessibility.language", "language"),
    (_small_body_text, "accessibility.small-text", "9"),
    (_click_here_link, "accessibility.link-text", "click here"),
    (_faint_style, "accessibility.contrast", "Note"),
], ids=["heading-skip", "image-alt", "table-header", "title", "language", "small-text", "link-text", "contrast"])
def test_each_rule_catches_its_fault_in_a_broken_report(report, tmp_path, breaks, code, said):
    path = broken(report, tmp_path, breaks)
    problems = check_document(path.read_bytes(), file=path.name)
    assert [p.code for p in problems] == [code]
    assert said in problems[0].render()


def test_contrast_is_computed_as_wcag_says():
    assert round(contrast_ratio("000000", "FFFFFF"), 1) == 21.0
    assert round(contrast_ratio("767676", "FFFFFF"), 2) == 4.54  # the lightest grey that passes on white
    assert contrast_ratio("777777", "FFFFFF") < 4.5


@pytest.mark.libreoffice
def test_publish_fails_on_an_accessibility_error_and_keeps_the_files(report, tmp_path):
    workspace = tmp_path / "ws"
    shutil.copytree(report.parents[2], workspace)
    target = broken(report, workspace / "outbox" / "report", _no_title)
    out = CliRunner().invoke(cli, ["publish", "-w", str(workspace), "--report", str(target)],
                             catch_exceptions=False)
    assert out.exit_code == 1
    assert "Accessibility check: 1 problem" in out.output and "accessibility.title" not in out.output
    assert "no title" in out.output
    assert target.with_name(PDF_NAME).is_file() and target.with_name(HTML_NAME).is_file()


def test_build_report_runs_the_check_too(tmp_path, example_cycle, simulated, monkeypatch):
    from pipeline.ooxml import accessibility as facts_reader

    real = facts_reader.read_document_facts

    def without_title(docx):
        facts = real(docx)
        facts.title = ""
        return facts

    monkeypatch.setattr("pipeline.accessibility.read_document_facts", without_title)
    ws = init_workspace(tmp_path / "ws", example=True)
    result = build_report(ws, example_cycle, returns=simulated.returns, summaries=simulated.summary_returns,
                          issued=())
    assert "accessibility.title" in {p.code for p in result.problems} and result.path.is_file()
