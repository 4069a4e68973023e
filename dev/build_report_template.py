"""Rebuild templates/word/overview-report.docx, the docxtpl template of the board's overview report.

    python dev/build_report_template.py

The template is an ordinary Word document: the communications team can open
it in Word, restyle it (fonts, colours, logo in the header) and save it as
their workspace's templates/word/overview-report.docx. Its wording is the
shipped default, taken from the 2015-16 report and made general; every name,
number, KLOE and standard comes from the cycle and the findings at build time.

Where the words live. Words that never depend on a figure (headings, the
introduction, captions, notes) are written here, in the template, so the comms
team can change them in Word. Every sentence or label made from a figure (the
headline of each standard, the counting notes, the data-quality bullets,
table labels, chart titles) comes from `pipeline/wording.py` and reaches the
template as `{{ words.* }}` or through the tables' rows.

Narrative regions sit between {{ narrative_begin("id") }} and {{ narrative_end() }}
paragraphs, directly under a heading: their text is the first draft, and
once someone edits it in the report, rebuilds keep their words.
"""

from __future__ import annotations

import io
import re
import sys
import zipfile
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Cm, Pt, RGBColor

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from pipeline.ooxml.report_parts import set_update_fields_on_open  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "templates" / "word" / "overview-report.docx"

NAVY = RGBColor(0x1F, 0x38, 0x64)
TEAL = RGBColor(0x1D, 0x5C, 0x7A)
GREY = RGBColor(0x59, 0x59, 0x59)
HEADER_FILL = "1F3864"
FONT = "Arial"


# --- styles ------------------------------------------------------------------


def set_font(style, size: float, *, bold=None, italic=None, color=None, name=FONT):
    style.font.name = name
    rpr = style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = parse_xml(f"<w:rFonts {nsdecls('w')}/>")
        rpr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), name)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:cstheme", "w:eastAsiaTheme"):
        fonts.attrib.pop(qn(attr), None)
    style.font.size = Pt(size)
    if bold is not None:
        style.font.bold = bold
    if italic is not None:
        style.font.italic = italic
    if color is not None:
        style.font.color.rgb = color


def spacing(style, before=0, after=6, line=None, keep_next=None):
    pf = style.paragraph_format
    pf.space_before = Pt(before)
    pf.space_after = Pt(after)
    if line is not None:
        pf.line_spacing = line
    if keep_next is not None:
        pf.keep_with_next = keep_next


def add_raw_style(doc, xml: str) -> None:
    doc.styles.element.append(parse_xml(xml))


def build_styles(doc) -> None:
    _restyle_builtin(doc)
    _add_report_styles(doc)
    _set_language(doc)


def _restyle_builtin(doc) -> None:
    """Word's own styles (Normal, headings, title, caption, lists...) in the report's fonts and colours."""
    styles = doc.styles
    set_font(styles["Normal"], 11)
    spacing(styles["Normal"], 0, 8, 1.15)
    for name, size, color, before, after in (
        ("Heading 1", 18, NAVY, 18, 8),
        ("Heading 2", 14, TEAL, 14, 6),
        ("Heading 3", 12, NAVY, 10, 4),
    ):
        st = styles[name]
        set_font(st, size, bold=True, italic=False, color=color)
        spacing(st, before, after, 1.0, keep_next=True)
        st.paragraph_format.keep_together = True
    h1 = styles["Heading 1"].element.get_or_add_pPr()
    h1.find(qn("w:spacing")).addprevious(parse_xml(  # schema order: pBdr comes before spacing
        f'<w:pBdr {nsdecls("w")}><w:bottom w:val="single" w:sz="8" w:space="4" w:color="{HEADER_FILL}"/></w:pBdr>'))
    set_font(styles["Title"], 30, bold=True, color=NAVY)
    spacing(styles["Title"], 0, 12, 1.0)
    title_ppr = styles["Title"].element.get_or_add_pPr()
    for old in title_ppr.findall(qn("w:pBdr")):
        title_ppr.remove(old)
    set_font(styles["Subtitle"], 18, bold=False, italic=False, color=TEAL)
    spacing(styles["Subtitle"], 0, 10, 1.0)
    set_font(styles["Caption"], 10, bold=True, italic=False, color=NAVY)
    spacing(styles["Caption"], 10, 4, 1.0, keep_next=True)
    set_font(styles["TOC Heading"], 18, bold=True, color=NAVY)
    spacing(styles["TOC Heading"], 0, 12, 1.0)
    set_font(styles["List Bullet"], 11)
    spacing(styles["List Bullet"], 0, 4, 1.15)
    set_font(styles["Header"], 8.5, color=GREY)
    set_font(styles["Footer"], 8.5, color=GREY)
    set_font(styles["Quote"], 10.5, italic=True, color=GREY)


def _add_report_styles(doc) -> None:
    """The report's own styles: table text, headings, labels, quotes and bullets, figures, notes, cover, TOC."""
    w = nsdecls("w")
    add_raw_style(doc, f'''<w:style {w} w:type="paragraph" w:customStyle="1" w:styleId="TableText">
      <w:name w:val="Table Text"/><w:basedOn w:val="Normal"/><w:qFormat/>
      <w:pPr><w:spacing w:before="20" w:after="40" w:line="240" w:lineRule="auto"/></w:pPr>
      <w:rPr><w:sz w:val="18"/><w:szCs w:val="18"/></w:rPr></w:style>''')
    add_raw_style(doc, f'''<w:style {w} w:type="paragraph" w:customStyle="1" w:styleId="TableHeading">
      <w:name w:val="Table Heading"/><w:basedOn w:val="TableText"/><w:qFormat/>
      <w:rPr><w:b/><w:bCs/><w:color w:val="FFFFFF"/></w:rPr></w:style>''')
    add_raw_style(doc, f'''<w:style {w} w:type="paragraph" w:customStyle="1" w:styleId="TableLabel">
      <w:name w:val="Table Label"/><w:basedOn w:val="TableText"/><w:qFormat/>
      <w:pPr><w:spacing w:before="80" w:after="20"/></w:pPr>
      <w:rPr><w:b/><w:bCs/><w:color w:val="1F3864"/></w:rPr></w:style>''')
    add_raw_style(doc, f'''<w:style {w} w:type="paragraph" w:customStyle="1" w:styleId="TableQuote">
      <w:name w:val="Table Quote"/><w:basedOn w:val="TableText"/><w:qFormat/>
      <w:pPr><w:ind w:left="113"/></w:pPr>
      <w:rPr><w:i/><w:iCs/><w:color w:val="404040"/></w:rPr></w:style>''')
    add_raw_style(doc, f'''<w:style {w} w:type="paragraph" w:customStyle="1" w:styleId="TableBullet">
      <w:name w:val="Table Bullet"/><w:basedOn w:val="TableText"/><w:qFormat/>
      <w:pPr><w:numPr><w:numId w:val="{bullet_num_id(doc)}"/></w:numPr><w:ind w:left="227" w:hanging="170"/></w:pPr></w:style>''')
    add_raw_style(doc, f'''<w:style {w} w:type="paragraph" w:customStyle="1" w:styleId="Figure">
      <w:name w:val="Figure"/><w:basedOn w:val="Normal"/><w:qFormat/>
      <w:pPr><w:keepNext/><w:spacing w:before="120" w:after="0"/><w:jc w:val="center"/></w:pPr></w:style>''')
    add_raw_style(doc, f'''<w:style {w} w:type="paragraph" w:customStyle="1" w:styleId="Note">
      <w:name w:val="Note"/><w:basedOn w:val="Normal"/><w:qFormat/>
      <w:pPr><w:spacing w:before="60" w:after="120"/></w:pPr>
      <w:rPr><w:color w:val="404040"/><w:sz w:val="19"/><w:szCs w:val="19"/></w:rPr></w:style>''')
    add_raw_style(doc, f'''<w:style {w} w:type="paragraph" w:customStyle="1" w:styleId="CoverBoard">
      <w:name w:val="Cover Board"/><w:basedOn w:val="Normal"/><w:qFormat/>
      <w:pPr><w:spacing w:before="2400" w:after="360"/></w:pPr>
      <w:rPr><w:b/><w:color w:val="1D5C7A"/><w:sz w:val="32"/><w:szCs w:val="32"/></w:rPr></w:style>''')
    add_raw_style(doc, f'''<w:style {w} w:type="paragraph" w:customStyle="1" w:styleId="CoverNote">
      <w:name w:val="Cover Note"/><w:basedOn w:val="Normal"/><w:qFormat/>
      <w:pPr><w:spacing w:before="1200" w:after="60"/></w:pPr>
      <w:rPr><w:color w:val="595959"/><w:sz w:val="20"/><w:szCs w:val="20"/></w:rPr></w:style>''')
    for level, indent in ((1, 0), (2, 284), (3, 567)):
        add_raw_style(doc, f'''<w:style {w} w:type="paragraph" w:styleId="TOC{level}">
          <w:name w:val="toc {level}"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:uiPriority w:val="39"/>
          <w:unhideWhenUsed/>
          <w:pPr><w:tabs><w:tab w:val="right" w:leader="dot" w:pos="9628"/></w:tabs>
          <w:spacing w:before="{80 if level == 1 else 0}" w:after="20" w:line="240" w:lineRule="auto"/><w:ind w:left="{indent}"/></w:pPr>
          <w:rPr>{"<w:b/>" if level == 1 else ""}<w:sz w:val="{20 if level == 1 else 19}"/></w:rPr></w:style>''')
    add_raw_style(doc, f'''<w:style {w} w:type="table" w:customStyle="1" w:styleId="ReportTable">
      <w:name w:val="Report Table"/><w:basedOn w:val="TableNormal"/><w:uiPriority w:val="59"/>
      <w:pPr><w:spacing w:after="0" w:line="240" w:lineRule="auto"/></w:pPr>
      <w:tblPr><w:tblBorders>
        <w:top w:val="single" w:sz="4" w:space="0" w:color="A6A6A6"/>
        <w:left w:val="single" w:sz="4" w:space="0" w:color="A6A6A6"/>
        <w:bottom w:val="single" w:sz="4" w:space="0" w:color="A6A6A6"/>
        <w:right w:val="single" w:sz="4" w:space="0" w:color="A6A6A6"/>
        <w:insideH w:val="single" w:sz="4" w:space="0" w:color="A6A6A6"/>
        <w:insideV w:val="single" w:sz="4" w:space="0" w:color="A6A6A6"/>
      </w:tblBorders>
      <w:tblCellMar><w:top w:w="57" w:type="dxa"/><w:left w:w="85" w:type="dxa"/>
        <w:bottom w:w="57" w:type="dxa"/><w:right w:w="85" w:type="dxa"/></w:tblCellMar></w:tblPr>
      <w:tblStylePr w:type="firstRow"><w:rPr><w:b/><w:color w:val="FFFFFF"/></w:rPr>
        <w:tcPr><w:shd w:val="clear" w:color="auto" w:fill="{HEADER_FILL}"/></w:tcPr></w:tblStylePr>
    </w:style>''')


def _set_language(doc) -> None:
    """The language of the whole document, for spelling and screen readers."""
    rpr_default = doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    lang = rpr_default.find(qn("w:lang"))
    if lang is None:
        lang = parse_xml(f"<w:lang {nsdecls('w')}/>")
        rpr_default.append(lang)
    lang.set(qn("w:val"), "en-GB")
    lang.set(qn("w:eastAsia"), "en-GB")
    lang.set(qn("w:bidi"), "ar-SA")


def bullet_num_id(doc) -> str:
    """The numbering instance the List Bullet style uses, reused for bullets inside table cells."""
    ppr = doc.styles["List Bullet"].element.pPr
    return ppr.numPr.numId.val.__str__() if ppr is not None and ppr.numPr is not None else "1"


# --- building blocks ------------------------------------------------------------


class Builder:
    def __init__(self, doc):
        self.doc = doc

    def p(self, text: str = "", style: str = "Normal", *, align=None):
        para = self.doc.add_paragraph(style=style)
        if text:
            para.add_run(text)
        if align is not None:
            para.alignment = align
        return para

    def tag(self, text: str):
        """A paragraph holding only a docxtpl tag such as {%p for ... %}; it vanishes on render."""
        return self.p(text)

    def h(self, text: str, level: int):
        return self.doc.add_heading(text, level)

    def bullets(self, loop: str, item: str = "{{ item }}", style: str = "List Bullet"):
        self.tag("{%p for item in " + loop + " %}")
        self.p(item, style)
        self.tag("{%p endfor %}")

    def region(self, region_id_expr: str, body) -> None:
        self.p("{{ narrative_begin(" + region_id_expr + ") }}")
        body()
        self.p("{{ narrative_end() }}")

    def page_break(self):
        para = self.doc.add_paragraph()
        para.add_run().add_break(WD_BREAK.PAGE)
        para.paragraph_format.space_after = Pt(0)
        return para

    def caption(self, text: str):
        return self.p(text, "Caption")

    def table(self, headers: list[str], widths_cm: list[float], loop: str | None, cells, *, total_row=None,
              keep_rows=False, empty: str | None = None):
        """Header row, then one row per item of `loop` (docxtpl {%tr %} rows); `cells` fills each data cell.

        `keep_rows`: a row is never split across two pages (for tables of short rows).
        `empty`: a full-width row said instead when `loop` has no items (a sheet not yet filled in).
        """
        rows = 1 + (3 if loop else 1) + (2 if loop and empty else 0) + (1 if total_row else 0)
        table = self.doc.add_table(rows=rows, cols=len(headers))
        table.style = self.doc.styles["Report Table"]
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        table.autofit = False
        tblpr = table._tbl.tblPr
        look = tblpr.find(qn("w:tblLook"))
        if look is None:
            look = parse_xml(f"<w:tblLook {nsdecls('w')}/>")
            tblpr.append(look)
        for k, v in (("w:val", "04A0"), ("w:firstRow", "1"), ("w:lastRow", "0"), ("w:firstColumn", "0"),
                     ("w:lastColumn", "0"), ("w:noHBand", "1"), ("w:noVBand", "1")):
            look.set(qn(k), v)
        for i, width in enumerate(widths_cm):
            for row in table.rows:
                row.cells[i].width = Cm(width)
        grid = table._tbl.tblGrid
        for col, width in zip(grid.findall(qn("w:gridCol")), widths_cm):
            col.set(qn("w:w"), str(int(width * 567)))
        header = table.rows[0]
        trpr = header._tr.get_or_add_trPr()
        trpr.append(parse_xml(f'<w:cantSplit {nsdecls("w")}/>'))
        trpr.append(parse_xml(f'<w:tblHeader {nsdecls("w")}/>'))
        for cell, text in zip(header.cells, headers):
            shade(cell, HEADER_FILL)
            para = cell.paragraphs[0]
            para.style = self.doc.styles["Table Heading"]
            para.add_run(text)
        data_row = 2 if loop else 1
        if loop:
            self._only(table.rows[1].cells[0], "{%tr for row in " + loop + " %}")
            if empty:
                self._only(table.rows[3].cells[0], "{%tr else %}")
                note = table.rows[4].cells[0].merge(table.rows[4].cells[-1])
                note.paragraphs[0].style = self.doc.styles["Table Text"]
                note.paragraphs[0].add_run(empty).italic = True
                self._only(table.rows[5].cells[0], "{%tr endfor %}")
            else:
                self._only(table.rows[3].cells[0], "{%tr endfor %}")
        for i, cell in enumerate(table.rows[data_row].cells):
            cell.paragraphs[0].style = self.doc.styles["Table Text"]
            cells(i, CellWriter(self.doc, cell))
        if keep_rows:
            table.rows[data_row]._tr.get_or_add_trPr().append(parse_xml(f'<w:cantSplit {nsdecls("w")}/>'))
        if total_row:
            last = table.rows[-1]
            for i, cell in enumerate(last.cells):
                cell.paragraphs[0].style = self.doc.styles["Table Text"]
                shade(cell, "E7ECF3")
                total_row(i, CellWriter(self.doc, cell))
        return table

    @staticmethod
    def _only(cell, text: str):
        cell.paragraphs[0].add_run(text)


class CellWriter:
    """Writes the paragraphs of one template table cell (the first paragraph is reused)."""

    def __init__(self, doc, cell):
        self.doc = doc
        self.cell = cell
        self.used = False

    def p(self, text: str, style: str = "Table Text"):
        para = self.cell.paragraphs[0] if not self.used else self.cell.add_paragraph()
        self.used = True
        para.style = self.doc.styles[style]
        if text:
            para.add_run(text)
        return para

    def loop(self, items: str, item: str = "{{ item }}", style: str = "Table Bullet"):
        self.p("{%p for item in " + items + " %}")
        self.p(item, style)
        self.p("{%p endfor %}")

    def styled_items(self, items: str):
        """Items with a kind: 'label' (bold line), 'quote' (italic) or plain text."""
        self.p("{%p for item in " + items + " %}")
        self.p("{%p if item.kind == 'label' %}")
        self.p("{{ item.text }}", "Table Label")
        self.p("{%p elif item.kind == 'quote' %}")
        self.p("{{ item.text }}", "Table Quote")
        self.p("{%p elif item.kind == 'bullet' %}")
        self.p("{{ item.text }}", "Table Bullet")
        self.p("{%p else %}")
        self.p("{{ item.text }}", "Table Text")
        self.p("{%p endif %}")
        self.p("{%p endfor %}")


def shade(cell, fill: str) -> None:
    tcpr = cell._tc.get_or_add_tcPr()
    for old in tcpr.findall(qn("w:shd")):
        tcpr.remove(old)
    tcpr.append(parse_xml(f'<w:shd {nsdecls("w")} w:val="clear" w:color="auto" w:fill="{fill}"/>'))


def field_runs(paragraph, instruction: str, placeholder: str = "1") -> None:
    w = nsdecls("w")
    for xml in (
        f'<w:r {w}><w:fldChar w:fldCharType="begin"/></w:r>',
        f'<w:r {w}><w:instrText xml:space="preserve"> {instruction} </w:instrText></w:r>',
        f'<w:r {w}><w:fldChar w:fldCharType="separate"/></w:r>',
        f'<w:r {w}><w:t>{placeholder}</w:t></w:r>',
        f'<w:r {w}><w:fldChar w:fldCharType="end"/></w:r>',
    ):
        paragraph._p.append(parse_xml(xml))


def page_setup(section, *, landscape=False) -> None:
    width, height = Cm(21.0), Cm(29.7)
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = (height, width) if landscape else (width, height)
    margin = Cm(2.0)
    section.left_margin = section.right_margin = margin
    section.top_margin = Cm(2.2)
    section.bottom_margin = Cm(2.0)
    section.header_distance = Cm(1.0)
    section.footer_distance = Cm(1.0)


# --- the report --------------------------------------------------------------------


def _page_frame(b: Builder) -> None:
    """Header and footer of every page: the report title, "Page n of m"."""
    doc = b.doc
    section = doc.sections[0]
    page_setup(section)
    section.different_first_page_header_footer = True
    hp = section.header.paragraphs[0]
    hp.style = doc.styles["Header"]
    hp.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    hp.add_run("{{ report_title }} {{ cycle_name }}")
    fp = section.footer.paragraphs[0]
    fp.style = doc.styles["Footer"]
    fp.alignment = WD_ALIGN_PARAGRAPH.CENTER
    fp.add_run("Page ")
    field_runs(fp, "PAGE")
    fp.add_run(" of ")
    field_runs(fp, "NUMPAGES")


def _cover_and_contents(b: Builder) -> None:
    """The cover page and the table of contents (filled in by the build)."""
    # cover
    b.p("{{ board_name }}", "Cover Board")
    b.p("{{ report_title }}", "Title")
    b.p("{{ cycle_name }}", "Subtitle")
    b.tag("{%p if round_line %}")
    b.p("{{ round_line }}", "Cover Note")
    b.tag("{%p endif %}")
    b.p("Built from the returns received up to {{ built_on }}.", "Cover Note")
    b.p("This report does not name any child. Cases are referred to by their audit reference only.", "Note")
    b.page_break()

    # contents
    b.p("Contents", "TOC Heading")
    toc = b.p("", "toc 1")
    field_runs(toc, 'TOC \\o "1-3" \\h \\z \\u', "Right-click and choose Update Field to show the contents.")
    b.page_break()


def _executive_summary(b: Builder) -> None:
    """Executive Summary and Table 1."""
    # Executive summary
    b.h("Executive Summary", 1)

    def executive():
        b.p("This report gives an overview of the findings of the {{ cycle_name }} multi-agency case audit. "
            "{{ words.methodology }}")
        b.tag("{%p if met_in_every_case %}")
        b.p("The audit found areas of good practice. In particular:")
        b.bullets("met_in_every_case")
        b.tag("{%p endif %}")
        b.tag("{%p if comparison and comparison.movement %}")
        b.p("{{ comparison.movement }}")
        b.tag("{%p endif %}")
        b.p("The audit also highlighted key areas of development to make sure that practice keeps improving. "
            "Table 1 sets out these areas, the action already being taken and the recommended next steps "
            "from the Board.")
    b.region('"executive-summary"', executive)
    b.caption("Table 1: Learning points, action being undertaken and next steps from the Board")

    def t1(i, c):
        if i == 0:
            c.p("{{ row.number }}. {{ row.learning_point }}")
        elif i == 1:
            c.loop("row.actions")
            c.p("{%p if row.status %}")
            c.p("{{ row.status }}", "Table Label")
            c.p("{%p endif %}")
        else:
            c.loop("row.next_steps")
    b.table(["Learning point", "Action being undertaken", "Next steps from the Board"], [5.2, 6.2, 5.6],
            "table1", t1,
            empty="No learning actions recorded yet: fill in the cycle workbook's Learning actions sheet.")


def _introduction(b: Builder) -> None:
    """Introduction, and Aims and Objectives."""
    # Introduction
    b.h("Introduction", 1)

    def introduction():
        b.p("Under section 14 of the Children Act 2004, a Local Safeguarding Children Board has two statutory "
            "objectives:")
        b.p("(a) to co-ordinate what is done by each person or body represented on the Board for the purposes of "
            "safeguarding and promoting the welfare of children in the area; and", "List Continue")
        b.p("(b) to ensure the effectiveness of what is done by each such person or body for those purposes.",
            "List Continue")
        b.p("This report relates to (b) and is about multi-agency case audit, one of several strands of the "
            "Board's learning and improvement framework. Performance data, section 11 audits, case reviews and "
            "training evaluation are the other strands. Together they make sure that board members and agencies "
            "learn from experience and challenge, to improve outcomes for children and young people.")
        b.p("The audit was carried out by the Case Audit Sub-Group of {{ board_name }}. Audit activity was "
            "concentrated in a three-month period, and the learning was drawn together at an event designed for "
            "multi-agency analysis.")
        b.p("Cases were selected to look at practice in the Board's priority areas:")
        b.bullets("priority_areas")
        b.p("Cases were selected to support learning on the following key lines of enquiry (KLOEs):")
        b.bullets("kloe_questions")
    b.region('"introduction"', introduction)

    b.h("Aims and Objectives of Case Audit", 1)
    b.h("Aims", 2)
    b.region('"aims"', lambda: b.p(
        "To contribute to the Board's statutory function to monitor the effectiveness of what is done by partner "
        "agencies for the purpose of safeguarding children and promoting their welfare. The case audit aimed to "
        "establish the extent to which the Board is effective in supporting partnerships to continually improve "
        "practice in safeguarding children and promoting their welfare."))
    b.h("Objectives", 2)

    def objectives():
        b.p("At the end of the {{ cycle_name }} case audit programme, the Board should have gathered information "
            "from the front line about children in its priority areas:")
        b.bullets("priority_areas")
        b.p("This information will be used to improve practice.")
    b.region('"objectives"', objectives)


def _methodology(b: Builder) -> None:
    """Methodology and the cases-by-priority-area table."""
    # Methodology
    b.h("Methodology", 1)

    def methodology():
        b.p("Each partner agency audited its own cases and presented its findings to a multi-agency audience. "
            "{{ words.methodology }} These were a snapshot of cases over a period of time.")
        b.p("Key lines of enquiry were agreed by the Case Audit Sub-Group and phrased as questions the Board "
            "should be asking about front-line practice. Standards of performance that might be expected against "
            "each line of enquiry were also agreed, and auditors rated their cases against these standards. "
            "The key lines of enquiry and standards are set out in Appendix 1.")
        b.p("Audits were carried out by managers in each agency, who were encouraged to include the practitioners "
            "who worked on the cases. Agencies audited only the cases they had been involved in.")
    b.region('"methodology"', methodology)
    b.tag("{%p if moderation %}")
    b.p("{{ moderation.methodology }}")
    b.tag("{%p endif %}")
    b.caption("Cases audited by priority area")

    def cases_cells(i, c):
        c.p(["{{ row.name }}", "{{ row.cases_selected }}", "{{ row.cases_audited }}"][i])

    def cases_total(i, c):
        c.p(["Total", "{{ findings.methodology.cases_selected }}", "{{ findings.methodology.cases_audited }}"][i])
    b.table(["Priority area", "Cases selected", "Cases audited"], [9.0, 4.0, 4.0],
            "findings.methodology.priority_areas", cases_cells, total_row=cases_total, keep_rows=True)
    b.tag("{%p if comparison %}")
    b.p("Comparing with the previous audit. {{ comparison.rule }}", "Note")
    b.tag("{%p endif %}")


def _findings(b: Builder) -> None:
    """Findings, Future Learning (with the returns table) and Methodology: Next Steps."""
    # Findings and future learning
    b.h("Findings", 1)

    def findings_intro():
        b.p("Findings of the case audits were drawn together at a practitioner-led learning event. As well as "
            "completing detailed audits, each agency presented its findings at the event: the standards met, "
            "the standards not met and why, and how its own work and partnership working could be improved. "
            "These presentations are summarised in Appendix 2.")
        b.p("Following the presentations, partners analysed the findings against the Board's priorities, "
            "considering strengths, areas for development and next steps for multi-agency work. This gives a "
            "picture of practitioners' views of current multi-agency working.")
    b.region('"findings"', findings_intro)
    _case_grades(b)
    b.h("Future Learning", 2)

    def future_learning():
        b.tag("{%p for s in words.data_quality %}")
        b.p("{{ s }}", "List Bullet")
        b.tag("{%p endfor %}")
        b.p("Where an agency answered 'not applicable', the answer is recorded and shown beside the figures, "
            "but it is not counted as a rating of the case; every figure in this report states the number of "
            "cases it is based on.")
        b.p("A wider group of practitioners and managers at the learning event would enrich the debate, inform "
            "the analysis and help make sure that key learning is shared more widely.")
    b.region('"future-learning"', future_learning)
    b.caption("Returns received")

    def dq_cells(i, c):
        c.p(["{{ row.label }}", "{{ row.value }}"][i])
    b.table(["Returns and answers", "Number"], [13.0, 4.0], "returns_rows", dq_cells, keep_rows=True)

    b.h("Methodology: Next Steps", 2)

    def next_steps():
        for text in (
            "To continue with this methodology for case audits.",
            "Future case audits should ask auditors, where concerns are identified with other agencies, to "
            "reflect on how those concerns were taken forward in their own work.",
            "Review the standards that drew 'not applicable' answers, so that fewer standards can be answered "
            "that way.",
            "Invite a wider audience to the next learning event to inform the analysis further.",
        ):
            b.p(text, "List Bullet")
    b.region('"methodology-next-steps"', next_steps)


def _case_grades(b: Builder) -> None:
    """The moderation panel's case grades by priority area (issue 14): only when the panel graded a case."""
    b.tag("{%p if moderation and moderation.graded %}")
    b.h("Case grades", 2)
    b.p("After the agencies' audits, a multi-agency moderation panel gave each case an overall grade.")
    b.tag("{%p for s in moderation.grade_sentences %}")
    b.p("{{ s }}", "List Bullet")
    b.tag("{%p endfor %}")
    b.caption("Case grades by priority area")

    def grade_cells(i, c):
        c.p(["{{ row.area }}", "{{ row.grade }}", "{{ row.count }}", "{{ row.cases }}"][i])
    b.table(["Priority area", "Grade", "Cases", "Case references"], [5.0, 4.5, 2.0, 5.5],
            "moderation.grade_rows", grade_cells, keep_rows=True)
    b.tag("{%p if moderation.escalations %}")
    b.p("{{ moderation.escalations }}")
    b.tag("{%p endif %}")
    b.tag("{%p endif %}")


def _summary_of_findings(b: Builder) -> None:
    """Summary of Findings: per KLOE its commentary, chart and table; then the agency grid."""
    # Summary of findings
    b.h("Summary of Findings", 1)
    b.p("How the figures are counted. {{ words.counting_rule }} {{ words.rounding_rule }} "
        "{{ words.exception_rule }}", "Note")
    b.tag("{%p for k in kloes %}")
    b.h("KLOE {{ k.number }}: {{ k.question }}", 2)

    def kloe_region():
        b.p("{{ k.headlines }}")
        b.tag("{%p if k.exceptions %}")
        b.p("{{ k.exceptions }}")
        b.tag("{%p endif %}")
        b.tag("{%p if k.reasons %}")
        b.p("Where a standard was not met, agencies gave reasons such as these:")
        b.bullets("k.reasons")
        b.tag("{%p endif %}")
    b.region("k.region", kloe_region)
    b.p("{{ k.chart }}", "Figure")
    b.caption("{{ k.chart_caption }}")

    def kloe_cells(i, c):
        c.p(["{{ row.standard }}", "{{ row.cases }}", "{{ row.percent }}", "{{ row.responses }}",
             "{{ row.not_applicable }}", "{{ row.blank }}"][i])
    b.table(["Standard", "Cases meeting it", "%", "Agency answers met", "Not applicable", "Blank"],
            [5.6, 3.1, 1.4, 2.8, 2.2, 1.9], "k.rows", kloe_cells, keep_rows=True)
    b.tag("{%p endfor %}")
    b.h("Agency answers by standard", 2)
    b.p("The chart below shows, for each agency, how many of its answers on each standard said the standard "
        "was met, out of the answers that rated it. Blank cells mean the agency gave no rating for that standard.",
        "Note")
    b.p("{{ grid_chart }}", "Figure")
    b.caption("{{ grid_caption }}")


def _comparison(b: Builder) -> None:
    """Compared with the previous audit (a round with a previous round only): each standard then and now."""
    b.tag("{%p if comparison %}")
    b.h("{{ comparison.heading }}", 1)
    b.p("{{ comparison.intro }}")
    b.p("{{ comparison.counting }}", "Note")
    b.tag("{%p for note in comparison.notes %}")
    b.p("{{ note }}", "Note")
    b.tag("{%p endfor %}")
    b.bullets("comparison.sentences")
    b.tag("{%p if comparison.chart %}")
    b.p("{{ comparison.chart }}", "Figure")
    b.caption("{{ comparison.chart_caption }}")
    b.tag("{%p endif %}")
    b.tag("{%p endif %}")


def _learning_event(b: Builder) -> None:
    """The Learning Event: attendance (Table 2) and group work (Table 3)."""
    # Learning event
    b.h("The Learning Event", 1)

    def learning_event():
        b.p("The learning event was a key part of the case audit methodology. It brought together a multi-agency "
            "forum of auditors and practitioners to analyse the findings. {{ words.learning_event }} "
            "Table 2 shows attendance by agency.")
    b.region('"learning-event"', learning_event)
    b.caption("Table 2: Attendance at the learning event")

    def att_cells(i, c):
        c.p(["{{ row.agency }}", "{{ row.count }}"][i])

    def att_total(i, c):
        c.p(["Total: {{ findings.learning_event.agencies_attending }} agencies",
             "{{ findings.learning_event.total_practitioners }}"][i])
    b.table(["Agency", "Attendance"], [12.0, 5.0], "attendance", att_cells, total_row=att_total, keep_rows=True,
            empty="No attendance recorded yet: fill in the cycle workbook's Event attendance sheet.")
    b.h("Group Work", 2)

    def group_work():
        b.p("Each agency presented the standards met, the standards not met and why, and how its own work and "
            "partnership working could be improved. Practitioners then worked in groups on the Board's "
            "priorities, considering strengths, areas for development and next steps. Table 3 sets out the "
            "findings of this work.")
    b.region('"group-work"', group_work)
    b.caption("Table 3: Learning event group work")

    def gw_cells(i, c):
        if i == 0:
            c.p("{{ row.priority_area }}", "Table Label")
        else:
            c.loop(["", "row.strengths", "row.development", "row.next_steps"][i])
    b.table(["Priority area", "Strengths", "Areas for development", "Next steps"], [2.9, 4.7, 4.7, 4.7],
            "group_work", gw_cells,
            empty="No group work recorded yet: fill in the cycle workbook's Event group work sheet.")


def _conclusions(b: Builder) -> None:
    """Conclusion, each Key Area of Development, and Single Agency Learning."""
    # Conclusions
    b.h("Conclusion and Recommendations", 1)

    def conclusion():
        b.p("Overall, the case audit highlighted both areas of good practice and areas for development, to make "
            "sure that safeguarding practice across the partnership is effective. The methodology kept the audit "
            "focused on the Board's priorities and supported analysis and debate about the findings.")
        b.p("The areas for development below set out what action is already being taken and the next steps the "
            "Board recommends. These recommendations will inform the Board's improvement plan.")
    b.region('"conclusion"', conclusion)
    b.h("Progress on actions", 2)
    b.region('"progress-on-actions"', lambda: b.p("{{ actions_progress.sentence }}"))
    b.tag("{%p if actions_progress.completed_since %}")
    b.p("{{ actions_progress.completed_since_intro }}")
    b.bullets("actions_progress.completed_since")
    b.tag("{%p endif %}")
    b.tag("{%p for ka in key_areas %}")
    b.h("Key Area of Development {{ ka.number }}", 2)
    b.region("ka.region", lambda: b.p("{{ ka.learning_point }}"))

    def ka_cells(i, c):
        c.loop(["ka.actions", "ka.next_steps"][i])
    b.table(["What action is being undertaken?", "Next steps from the Board"], [8.5, 8.5], None, ka_cells)
    b.tag("{%p endfor %}")

    b.h("Single Agency Learning", 1)
    b.region('"single-agency"', lambda: b.p(
        "The case audit also identified areas of development within agencies' own practice. These have been "
        "brought together in a single-agency action plan, which will form part of the Board's improvement plan "
        "and will be monitored to make sure that actions are carried out. The plan is in Appendix 3."))


def _appendix_1(b: Builder) -> None:
    """Appendix 1: the toolkit, its KLOEs and standards, and the blank form tables."""
    # Appendix 1
    b.page_break()
    b.h("Appendix 1: Case Audit Toolkit", 1)

    def toolkit_intro():
        b.p("The toolkit gives a structure for multi-agency case audit, with enough flexibility to follow the "
            "Board's priorities as they change from year to year. Case audit is the examination of a number of "
            "cases to consider whether agreed standards and key lines of enquiry are being met; it is not the same "
            "as case review, which is an in-depth enquiry into one case.")
        b.p("Key lines of enquiry are the questions the Board wants to answer about practice. Standards are what "
            "we expect or hope to find when we ask those questions.")
        b.p("Ten steps make up the one-year programme:")
        for step in ("Create a model together.", "Agree the overall design.", "Agree the case selection criteria.",
                     "Agree the key lines of enquiry.", "Agree the standards.", "Test the toolkit.",
                     "Carry out single-agency audits.", "Carry out multi-agency analysis.", "Report to the Board.",
                     "Deliver on impact through the learning log."):
            b.p(step, "List Number")
    b.region('"toolkit"', toolkit_intro)
    b.h("Key lines of enquiry and standards", 2)
    b.tag("{%p for k in toolkit %}")
    b.h("KLOE {{ k.number }}: {{ k.question }}", 3)
    b.tag("{%p for s in k.standards %}")
    b.p("{{ s.head }}", "List Bullet")
    b.bullets("s.points", style="List Bullet 2")
    b.tag("{%p endfor %}")
    b.tag("{%p endfor %}")
    b.h("The audit form", 2)
    b.p("{{ words.form_arrangement }} For every standard the auditor chose "
        "one rating: {{ rating_options }}. A rating of met needs evidence; any other rating needs a reason. "
        "The form tables, blank, were:", "Normal")
    b.tag("{%p for k in toolkit %}")
    b.caption("KLOE {{ k.number }}: {{ k.question }}")

    def form_cells(i, c):
        if i == 0:
            c.p("{{ row.head }}")
            c.loop("row.points")
        else:
            c.p("")
    b.table(["Standard", "Rating", "Evidence (met) or reason (not met / not applicable)"], [8.0, 3.0, 6.0],
            "k.standards", form_cells, keep_rows=True)
    b.tag("{%p endfor %}")


def _appendices_2_and_3(b: Builder) -> None:
    """Appendices 2 and 3, in a landscape section."""
    doc = b.doc
    # Appendix 2 and 3, landscape
    new = doc.add_section(WD_SECTION.NEW_PAGE)
    page_setup(new, landscape=True)
    new.different_first_page_header_footer = False
    b.h("Appendix 2: Summary of Findings by Agency", 1)
    b.p("From each agency's audit returns and its summary form. Quotations are the agencies' own words, shortened "
        "where long; case references replace any names.", "Note")

    def a2_cells(i, c):
        if i == 0:
            c.p("{{ row.agency }}", "Table Label")
        else:
            c.styled_items(["", "row.met", "row.not_met", "row.improvements", "row.partnership"][i])
    b.table(["Agency", "Standards met", "Standards not met and why", "Improvements to be made",
             "Improvement to partnership working"], [3.0, 6.6, 6.6, 5.2, 4.3], "appendix2", a2_cells)

    b.page_break()
    b.h("Appendix 3: Single Agency Improvement Plan", 1)

    def a3_cells(i, c):
        if i == 0:
            c.p("{{ row.agency }}", "Table Label")
        elif i == 2:
            c.p("{{ row.status }}", "Table Label")
            c.p("{{ row.note }}", "Table Quote")
        else:
            c.p(["", "{{ row.action }}", "", "{{ row.completed }}"][i])
    b.table(["Agency", "Actions to be taken", "Progress", "Completed?"], [4.5, 11.0, 7.0, 3.2], "appendix3", a3_cells, keep_rows=True,
            empty="No single-agency actions recorded yet: fill in the cycle workbook's Agency actions sheet.")


def build() -> bytes:
    doc = Document()
    build_styles(doc)
    b = Builder(doc)

    for part in (_page_frame, _cover_and_contents, _executive_summary, _introduction, _methodology, _findings,
                 _summary_of_findings, _comparison, _learning_event, _conclusions, _appendix_1, _appendices_2_and_3):
        part(b)

    # fields refresh when Word opens the report (the table of contents gets its page numbers)
    set_update_fields_on_open(doc.settings.element)
    # python-docx's default settings say <w:zoom w:val="bestFit"/>; the schema requires w:percent (Word is strict)
    for zoom in doc.settings.element.findall(qn("w:zoom")):
        if zoom.get(qn("w:percent")) is None:
            zoom.set(qn("w:percent"), "100")

    props = doc.core_properties
    props.title = "Multi-Agency Case Audit: Overview Report"
    props.subject = "Multi-agency case audit"
    props.author = "case-audit"
    props.language = "en-GB"
    props.comments = "Template for the board overview report. Restyle freely; keep the tags in double braces."
    props.keywords = ""

    buf = io.BytesIO()
    doc.save(buf)
    return normalise_zip(buf.getvalue())


def normalise_zip(data: bytes) -> bytes:
    """Fixed timestamps so rebuilding an unchanged template gives identical bytes."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            blob = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                blob = re.sub(rb"<dcterms:(created|modified)([^>]*)>[^<]*</dcterms:\1>",
                              rb"<dcterms:\1\2>2016-01-01T00:00:00Z</dcterms:\1>", blob)
            zi = zipfile.ZipInfo(info.filename, date_time=(2016, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(zi, blob)
    return out.getvalue()


def main() -> int:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(build())
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
