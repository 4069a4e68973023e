"""The overview report as the board reads it: sections, figures, tables, charts, accessibility, outputs.

Built from the shipped example cycle and its simulated returns (the counts of the
real 2015-16 report), into a real .docx read back with python-docx and lxml.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date

import pytest
from docx import Document
from docx.shared import RGBColor
from lxml import etree
from openpyxl import Workbook, load_workbook

from pipeline import wording
from pipeline.findings import percent
from pipeline.ooxml.package import read_parts, write_parts
from pipeline.problems import CaseAuditError
from pipeline.report import build_report, latest_report
from pipeline.report.excel import BY_AGENCY, BY_STANDARD, add_summary_sheets
from pipeline.report.learning_log import write_learning_log
from pipeline.wording import ROUNDING_RULE
from pipeline.workspace import init_workspace, shipped_template

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@pytest.fixture(scope="module")
def example_inputs(simulated):
    return simulated.returns, simulated.summary_returns


@pytest.fixture(scope="module")
def built(tmp_path_factory, example_cycle, example_inputs):
    ws = init_workspace(tmp_path_factory.mktemp("report") / "ws", example=True)
    returns, summaries = example_inputs
    result = build_report(ws, example_cycle, returns=returns, summaries=summaries, issued=())
    return ws, result, Document(str(result.path))


def body_texts(doc) -> list[str]:
    """Every paragraph of the body, table cells included, in document order."""
    return ["".join(t.text or "" for t in p.iter(f"{W}t")) for p in doc.element.body.iter(f"{W}p")]


def headings(doc, levels=("Heading 1", "Heading 2")) -> list[str]:
    return [p.text for p in doc.paragraphs if p.style.name in levels]


def table_after_caption(doc, caption_start: str):
    body = doc.element.body
    for el in body:
        if el.tag == f"{W}p" and "".join(t.text or "" for t in el.iter(f"{W}t")).startswith(caption_start):
            nxt = el.getnext()
            while nxt is not None and nxt.tag != f"{W}tbl":
                nxt = nxt.getnext()
            return next(t for t in doc.tables if t._tbl is nxt)
    raise AssertionError(f"no table captioned {caption_start!r}")


def cell_paragraphs(cell) -> list[str]:
    return [p.text for p in cell.paragraphs if p.text.strip()]


# --- sections and figures ------------------------------------------------------------------


def test_sections_appear_in_the_seed_reports_order(built, example_cycle):
    _, _, doc = built
    found = headings(doc)
    expected = (["Executive Summary", "Introduction", "Aims and Objectives of Case Audit", "Methodology", "Findings",
                 "Future Learning", "Methodology: Next Steps", "Summary of Findings"]
                + [f"KLOE {k.number}: {k.question}" for k in example_cycle.kloes]
                + ["The Learning Event", "Conclusion and Recommendations"]
                + [f"Key Area of Development {la.number}" for la in example_cycle.learning_actions]
                + ["Single Agency Learning", "Appendix 1: Case Audit Toolkit", "Appendix 2: Summary of Findings by Agency",
                   "Appendix 3: Single Agency Improvement Plan"])
    positions = []
    for title in expected:
        assert title in found, f"section {title!r} is missing"
        positions.append(found.index(title))
    assert positions == sorted(positions), "sections are out of the seed report's order"


def test_every_percentage_is_computed_from_the_counts_printed_beside_it(built, example_cycle):
    _, _, doc = built
    checked = in_tables = 0
    for text in body_texts(doc):
        for m in re.finditer(r"(\d+)% of cases \((\d+) of (\d+)\)", text):
            p, a, b = map(int, m.groups())
            assert percent(a, b) == p, f"{m.group(0)} should be {percent(a, b)}%"
            checked += 1
        for m in re.finditer(r"(\d+) of (\d+) \((\d+)%\)", text):
            a, b, p = map(int, m.groups())
            assert percent(a, b) == p, m.group(0)
            checked += 1
    for table in doc.tables:
        header = [c.text for c in table.rows[0].cells]
        if "Cases meeting it" in header and "%" in header:
            i, j = header.index("Cases meeting it"), header.index("%")
            for row in table.rows[1:]:
                m = re.fullmatch(r"(\d+) of (\d+)", row.cells[i].text)
                if m:
                    assert f"{percent(int(m.group(1)), int(m.group(2)))}%" == row.cells[j].text
                    in_tables += 1
    assert in_tables == len(example_cycle.standards)
    assert checked >= 10


def test_rounding_rule_is_stated_exactly_once(built):
    _, result, doc = built
    rule = ROUNDING_RULE
    assert sum(text.count(rule) for text in body_texts(doc)) == 1


# Every count domain.md quotes from the 2015-16 report (over 11 cases).
DOMAIN_CASES_MET = {1: 9, 2: 7, 3: 11, 5: 8, 6: 11, 8: 8, 9: 9, 10: 8, 11: 11, 14: 9, 18: 6, 19: 8, 20: 8, 22: 9}
DOMAIN_EXCEPTIONS = [("POLICE", 7, 7, 9), ("POLICE", 13, 8, 9), ("POLICE", 15, 8, 9), ("POLICE", 19, 4, 9),
                     ("CCG", 2, 4, 5), ("CCG", 10, 4, 5), ("SCH", 4, 2, 3), ("SCH", 5, 3, 3), ("CSWS", 21, 3, 8)]


def test_kloe_figures_equal_every_count_the_domain_notes_quote(built, example_cycle):
    _, _, doc = built
    text = "\n".join(body_texts(doc))
    for number, met in DOMAIN_CASES_MET.items():
        phrase = example_cycle.standard(number).finding_met
        expected = f"In all 11 cases, {phrase}." if met == 11 else f"In {percent(met, 11)}% of cases ({met} of 11), {phrase}."
        assert expected in text, f"Standard {number}: {expected!r} not in the report"
    for code, number, not_met, audited in DOMAIN_EXCEPTIONS:
        agency = example_cycle.agency(code)
        lead = (f"In all {audited} cases audited by {agency.short_name}" if not_met == audited
                else f"In {not_met} of the {audited} cases audited by {agency.short_name}")
        assert f"{lead}, {example_cycle.standard(number).finding_not_met}." in text
    assert "In total, 22 practitioners across 11 agencies attended the event." in text


def test_charts_carry_alt_text_stating_their_figures(built, example_cycle):
    _, result, doc = built
    descrs = [d.get("descr") for d in doc.element.body.iter(
        "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}docPr")]
    assert len(descrs) == len(example_cycle.kloes) + 1
    assert all(descrs), "a chart has no alt text"
    s1 = result.findings.standard(1)
    assert f"Standard 1: met in {s1.cases_met} of {s1.cases_assessed} cases assessed ({s1.percent_met}%)" in descrs[0]
    police = result.findings.agency("POLICE")
    assert f"{police.met} of {police.met + police.not_met} answers met" in descrs[-1]


def test_charts_are_sharp_when_printed_and_drawn_on_white(built):
    """Each chart is a PNG of at least 200 pixels per inch at the width it is placed (the report is printed
    for the board), opaque: no transparency for a printer or a dark-mode viewer to show through."""
    from PIL import Image

    ws, result, doc = built
    with zipfile.ZipFile(result.path) as zf:
        media = sorted(n for n in zf.namelist() if n.startswith("word/media/"))
        images = [Image.open(io.BytesIO(zf.read(n))) for n in media]
    extents = [int(e.get("cx")) for e in doc.element.body.iter(
        "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}extent")]
    assert len(images) == len(extents) == 6
    for image, cx in zip(images, extents):
        assert image.format == "PNG"
        inches = cx / 914400
        assert image.width / inches >= 199.9, f"{image.width} px over {inches:.2f} in"
        assert image.mode == "RGB" or image.convert("RGBA").getextrema()[3] == (255, 255)



def test_a_chart_png_holds_exactly_the_pixels_drawn_at_200_dpi():
    """Charts are encoded to PNG by hand (unfiltered rows, zlib): PIL must read back every pixel the canvas drew,
    in RGB, with 200 pixels per inch recorded for Word and LibreOffice."""
    import numpy as np
    from PIL import Image

    from pipeline.report import charts

    fig, ax = charts._figure(1.3)
    ax.barh([0, 1], [30, 80], color=charts.MET_COLOUR)
    ax.text(31, 0, "3 of 10 (30%)", va="center")
    png = charts._png(fig)
    image = Image.open(io.BytesIO(png))
    image.load()  # every chunk's checksum checked
    drawn = np.asarray(fig.canvas.buffer_rgba())[:, :, :3]
    assert image.format == "PNG" and image.mode == "RGB" and image.size == (drawn.shape[1], drawn.shape[0])
    assert np.array_equal(np.asarray(image), drawn)
    assert [round(d) for d in image.info["dpi"]] == [200, 200]

# --- tables carry the workbook cell for cell ---------------------------------------------------


def test_table_1_carries_the_learning_actions_cell_for_cell(built, example_cycle):
    _, _, doc = built
    table = table_after_caption(doc, "Table 1")
    rows = table.rows[1:]
    assert len(rows) == len(example_cycle.learning_actions)
    for row, la in zip(rows, sorted(example_cycle.learning_actions, key=lambda la: la.number)):
        assert row.cells[0].text == f"{la.number}. {la.learning_point}"
        assert cell_paragraphs(row.cells[1]) == list(la.actions) + ["Status: Not started"]  # no progress yet
        assert cell_paragraphs(row.cells[2]) == list(la.next_steps)


def test_table_2_carries_attendance_and_its_computed_totals(built, example_cycle):
    _, _, doc = built
    table = table_after_caption(doc, "Table 2")
    rows = [[c.text for c in r.cells] for r in table.rows[1:]]
    expected = [[example_cycle.agency(a.agency).name, str(a.count)] for a in example_cycle.attendance]
    assert rows[:-1] == expected
    total = sum(a.count for a in example_cycle.attendance)
    agencies = sum(1 for a in example_cycle.attendance if a.count)
    assert rows[-1] == [f"Total: {agencies} agencies", str(total)]


def test_table_3_carries_the_group_work_cell_for_cell(built, example_cycle):
    _, _, doc = built
    table = table_after_caption(doc, "Table 3")
    for row, gw in zip(table.rows[1:], example_cycle.group_work, strict=True):
        assert row.cells[0].text == gw.priority_area
        assert cell_paragraphs(row.cells[1]) == list(gw.strengths)
        assert cell_paragraphs(row.cells[2]) == list(gw.development)
        assert cell_paragraphs(row.cells[3]) == list(gw.next_steps)


def test_appendix_3_carries_every_agency_action_cell_for_cell(built, example_cycle):
    _, _, doc = built
    appendix = next(t for t in doc.tables if [c.text for c in t.rows[0].cells][:2] == ["Agency", "Actions to be taken"])
    rows = appendix.rows[1:]
    assert len(rows) == len(example_cycle.agency_actions)
    for row, action in zip(rows, example_cycle.agency_actions):  # Progress: the status, then the latest note
        assert [c.text for c in row.cells] == [example_cycle.agency(action.agency).name, action.action,
                                               "Status: Not started\nNo update received yet.",
                                               "Yes" if action.completed else "No"]


# --- accessibility ---------------------------------------------------------------------------


def test_report_is_navigable_and_accessible(built, example_cycle):
    ws, result, doc = built
    with zipfile.ZipFile(result.path) as zf:
        document = etree.fromstring(zf.read("word/document.xml"))
        settings = etree.fromstring(zf.read("word/settings.xml"))
        styles = etree.fromstring(zf.read("word/styles.xml"))
    instr = " ".join(i.text for i in document.iter(f"{W}instrText"))
    assert 'TOC \\o "1-3" \\h \\z \\u' in instr
    assert settings.find(f"{W}updateFields").get(f"{W}val") == "true"
    # the table of contents lists the headings (linked), before Word even updates it
    toc_links = [h.get(f"{W}anchor") for h in document.iter(f"{W}hyperlink") if h.get(f"{W}anchor", "").startswith("_Toc")]
    assert len(toc_links) >= len(headings(doc))
    for table in doc.tables:
        if len(table.rows) > 1:
            assert table.rows[0]._tr.trPr.find(f"{W}tblHeader") is not None, table.rows[0].cells[0].text
    lang = styles.find(f"{W}docDefaults/{W}rPrDefault/{W}rPr/{W}lang")
    assert lang.get(f"{W}val") == "en-GB"
    assert doc.core_properties.language == "en-GB"
    assert doc.core_properties.title == f"{example_cycle.settings.report_title} {example_cycle.settings.cycle_name}"
    assert {p.style.name for p in doc.paragraphs if p.text.startswith("KLOE 1:")} >= {"Heading 2"}


# --- versions, learning log, Excel -------------------------------------------------------------


def test_rebuild_writes_a_new_version_and_never_touches_the_earlier_one(tmp_workspace, example_cycle, example_inputs):
    returns, summaries = example_inputs
    first = build_report(tmp_workspace, example_cycle, returns=returns, summaries=summaries, issued=())
    before = first.path.read_bytes()
    (first.path.parent / "~$erview-report.docx").write_bytes(b"Word lock file")
    (first.path.parent / ".~lock.overview-report.docx#").write_bytes(b"LibreOffice lock file")
    second = build_report(tmp_workspace, example_cycle, returns=returns, summaries=summaries, issued=())
    assert first.path.name == "overview-report.docx" and second.path.name == "overview-report-v2.docx"
    assert first.path.read_bytes() == before
    assert second.previous == first.path
    assert latest_report(tmp_workspace.report_dir) == second.path


def test_the_learning_log_is_the_action_tracker_and_keeps_other_rounds_rows(tmp_workspace, example_cycle):
    path = write_learning_log(tmp_workspace, example_cycle, today=date(2016, 1, 1))
    wb = load_workbook(path)
    sheet = wb["Learning log"]
    titles = [c.value for c in sheet[1]]
    assert titles == ["Action ID", "Round raised", "Type", "Agency", "Lesson", "Action", "Owner", "Due date", "Status",
                      "Latest progress", "Progress date", "Evidence of impact"]
    assert sheet.max_row - 1 == len(example_cycle.learning_actions) + len(example_cycle.agency_actions)
    sheet.append(["2014-15-L1", "2014-15", "Learning action", None, "1. An older lesson", "Something from last year",
                  "Board", None, "Complete", "Done", None, "Audit showed it"])
    wb.save(path)
    write_learning_log(tmp_workspace, example_cycle, today=date(2016, 1, 1))
    rows = {r[0]: r for r in load_workbook(path)["Learning log"].iter_rows(min_row=2, values_only=True)}
    assert rows["2014-15-L1"][5] == "Something from last year" and rows["2014-15-L1"][8] == "Complete"
    assert rows["POLICE-2"][2:4] == ("Agency action", "POLICE") and rows["POLICE-2"][8] == "Not started"


def test_a_learning_log_from_before_the_tracker_is_copied_aside(tmp_workspace, example_cycle):
    path = tmp_workspace.learning_log_path
    path.parent.mkdir(parents=True, exist_ok=True)
    old = Workbook()
    old.active.title = "Learning log"
    old.active.append(["Ref", "Lesson", "Source cycle", "KLOE", "Type", "Action", "Owner", "Due date", "Progress",
                       "Completed"])
    old.active.append(["2015-16/L1/abc123", "1. A lesson", "2015-2016", 1, "Action", "An action", "Board", None,
                       "Typed progress", "No"])
    old.save(path)
    write_learning_log(tmp_workspace, example_cycle)
    [backup] = path.parent.glob("learning-log (before *).xlsx")
    assert load_workbook(backup).active.cell(2, 9).value == "Typed progress"
    assert load_workbook(path)["Learning log"].cell(1, 1).value == "Action ID"


def test_summary_sheets_match_the_report_and_carry_native_bar_charts(built):
    from openpyxl import Workbook
    _, result, _ = built
    wb = Workbook()
    assert add_summary_sheets(wb, result.findings) == [BY_STANDARD, BY_AGENCY]
    data = io.BytesIO()
    wb.save(data)
    book = load_workbook(data)
    by_standard = book[BY_STANDARD]
    for row, s in zip(by_standard.iter_rows(min_row=2, values_only=True), result.findings.standards):
        assert row[1] == s.number and row[3] == s.cases_met and row[4] == s.cases_assessed
        assert row[5] == pytest.approx(s.percent_met / 100)
    with zipfile.ZipFile(data) as zf:
        charts = [n for n in zf.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) == 2
        assert all(b"barChart>" in zf.read(n) for n in charts)


# --- templates ------------------------------------------------------------------------------------


def test_a_restyled_workspace_template_is_used(tmp_workspace, example_cycle, example_inputs):
    doc = Document(str(shipped_template("word", "overview-report.docx")))
    doc.styles["Heading 1"].font.color.rgb = RGBColor(0x8B, 0x00, 0x00)
    doc.styles["Normal"].font.name = "Georgia"
    own = tmp_workspace.templates_dir / "word" / "overview-report.docx"
    own.parent.mkdir(parents=True)
    doc.save(str(own))
    returns, summaries = example_inputs
    result = build_report(tmp_workspace, example_cycle, returns=returns, summaries=summaries, issued=())
    out = Document(str(result.path))
    assert out.styles["Heading 1"].font.color.rgb == RGBColor(0x8B, 0x00, 0x00)
    assert out.styles["Normal"].font.name == "Georgia"
    assert "Executive Summary" in headings(out)


EARLIER_TAGS = [  # how templates shipped before pipeline/wording.py named the sentences
    (b"{{ words.methodology }}", b"{{ findings.methodology.sentence }}"),
    (b"{%p for s in words.data_quality %}", b"{%p for s in findings.data_quality.sentences %}"),
    (b"{{ words.counting_rule }} {{ words.rounding_rule }} {{ words.exception_rule }}",
     b"{{ findings.counting_rule_sentence }} {{ findings.rounding_rule }} {{ findings.exception_rule }}"),
    (b"{{ words.learning_event }}", b"{{ findings.learning_event.sentence }}"),
    (b"{{ words.form_arrangement }}", b"Each agency received one form for each case it was involved in."),
]


def test_a_workspace_copy_of_an_earlier_template_still_builds(tmp_workspace, example_cycle, example_inputs):
    parts = read_parts(shipped_template("word", "overview-report.docx").read_bytes())
    xml = parts["word/document.xml"]
    for now, before in EARLIER_TAGS:
        assert now in xml
        xml = xml.replace(now, before)
    assert b"words." not in xml
    parts["word/document.xml"] = xml
    own = tmp_workspace.templates_dir / "word" / "overview-report.docx"
    own.parent.mkdir(parents=True)
    own.write_bytes(write_parts(parts))
    returns, summaries = example_inputs
    result = build_report(tmp_workspace, example_cycle, returns=returns, summaries=summaries, issued=())
    text = "\n".join(body_texts(Document(str(result.path))))
    words = wording.report_words(result.findings)
    for sentence in (words.methodology, words.rounding_rule, words.counting_rule, words.learning_event,
                     *words.data_quality):
        assert sentence and sentence in text


def test_a_template_tag_the_build_does_not_know_is_named_in_the_error(tmp_workspace, example_cycle, example_inputs):
    doc = Document(str(shipped_template("word", "overview-report.docx")))
    doc.add_paragraph("Prepared by {{ report_author }}")
    own = tmp_workspace.templates_dir / "word" / "overview-report.docx"
    own.parent.mkdir(parents=True)
    doc.save(str(own))
    returns, summaries = example_inputs
    with pytest.raises(CaseAuditError) as err:
        build_report(tmp_workspace, example_cycle, returns=returns, summaries=summaries, issued=())
    problem = err.value.report.problems[0]
    assert problem.code == "report.template-variable" and problem.value == "report_author"
    assert "report_author" in problem.message
    assert not tmp_workspace.report_dir.exists() or not any(tmp_workspace.report_dir.iterdir())


@pytest.mark.libreoffice
def test_the_report_converts_to_pdf_with_libreoffice(built, tmp_path, convert_with_libreoffice):
    _, result, _ = built
    convert_with_libreoffice([result.path], tmp_path, "pdf")
    pdf = tmp_path / (result.path.stem + ".pdf")
    assert pdf.is_file() and pdf.read_bytes().startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))
    assert pages >= 15


def test_edits_saved_into_an_older_version_are_the_ones_carried_over(tmp_workspace, example_cycle, example_inputs):
    """Comms kept editing v1 while the officer rebuilt v2: v3 must take their words, not v2's draft."""
    import os
    import time

    from docx import Document

    returns, summaries = example_inputs
    first = build_report(tmp_workspace, example_cycle, returns=returns, summaries=summaries, issued=())
    second = build_report(tmp_workspace, example_cycle, returns=returns, summaries=summaries, issued=())
    doc = Document(str(first.path))
    paragraphs = doc.paragraphs
    at = next(i for i, p in enumerate(paragraphs) if p.style.name == "Heading 2" and p.text.startswith("KLOE 3:"))
    paragraphs[at + 1].text = "Comms rewrote this passage in the copy they had open."
    doc.save(str(first.path))
    later = time.time() + 5
    os.utime(first.path, (later, later))
    third = build_report(tmp_workspace, example_cycle, returns=returns, summaries=summaries, issued=())
    assert third.previous == first.path
    assert "kloe-3" in third.carried
    texts = [p.text for p in Document(str(third.path)).paragraphs]
    assert "Comms rewrote this passage in the copy they had open." in texts
    assert [p.code for p in third.problems] == ["report.narrative-from-older-version"]
    assert second.path.name in third.problems.problems[0].message


def test_learning_log_keeps_the_officers_own_columns_formulas_and_sheets(tmp_workspace, example_cycle):
    path = write_learning_log(tmp_workspace, example_cycle)
    wb = load_workbook(path)
    sheet = wb["Learning log"]
    sheet.cell(row=1, column=13, value="Officer notes")
    sheet.cell(row=2, column=13, value="Chased the sub-group in May")
    sheet.cell(row=1, column=14, value="Minutes")
    sheet.cell(row=3, column=14, value='=CONCATENATE("see ", "minutes")')
    wb.create_sheet("Board actions").append(["kept by the officer"])
    wb.save(path)
    write_learning_log(tmp_workspace, example_cycle)
    book = load_workbook(path)
    log = book["Learning log"]
    assert log.cell(row=1, column=13).value == "Officer notes"
    assert log.cell(row=2, column=13).value == "Chased the sub-group in May"
    assert log.cell(row=3, column=14).value == '=CONCATENATE("see ", "minutes")'
    backups = [p for p in path.parent.glob("learning-log (before *).xlsx")]
    assert len(backups) == 1 and "Board actions" in load_workbook(backups[0]).sheetnames


def test_sheets_not_yet_filled_in_say_so_in_the_report_and_to_the_officer(tmp_workspace, example_cycle, example_inputs):
    from docx import Document

    returns, summaries = example_inputs
    bare = example_cycle.model_copy(update={"learning_actions": (), "attendance": (), "group_work": (),
                                            "agency_actions": ()})
    result = build_report(tmp_workspace, bare, returns=returns, summaries=summaries, issued=())
    said = [row.cells[0].text for t in Document(str(result.path)).tables for row in t.rows]
    for sheet in ("Learning actions", "Event attendance", "Event group work", "Agency actions"):
        assert any(f"cycle workbook's {sheet} sheet" in text for text in said), sheet
        assert any(p.code == "report.empty-sheet" and p.location == f"{sheet}!A2" for p in result.problems)
    full = build_report(tmp_workspace, example_cycle, returns=returns, summaries=summaries, issued=())
    assert not any("recorded yet" in row.cells[0].text
                   for t in Document(str(full.path)).tables for row in t.rows)
