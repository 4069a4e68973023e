"""Build the shipped Word form templates: templates/word/audit-form.docx, agency-summary.docx and
action-progress.docx.

Run from the project root after changing the layout:  python3 dev/build_word_forms.py
The packages are written from scratch (no Word install needed) so every byte is
deliberate: inline content controls inside table-cell paragraphs, docxtpl tags
in whole runs, A4 portrait, a header row that repeats on every page.

What a return is read by (content-control tags and kinds, grey text, row labels,
table headers, the printed form ID) comes from pipeline/contract.py, as the
reader takes it; only layout and wording for people are written here.

The templates are docxtpl (Jinja) documents. What they may use is listed in
pipeline/forms.py (AUDIT_VARIABLES / SUMMARY_VARIABLES); a board can open them
in Word, restyle them and save a copy as <workspace>/templates/word/<name>.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.contract import AUDIT, LABEL_CASE_REF, LABEL_FORM_ID, SUMMARY, Control  # noqa: E402
from pipeline.contract import LABEL_AGENCY, PROGRESS, PROGRESS_STATUS_ITEMS  # noqa: E402
from pipeline.ooxml.controls import checkbox_control_xml, dropdown_control_xml, rich_text_control_xml  # noqa: E402
from pipeline.ooxml.writing import check_well_formed, package_from_text  # noqa: E402
from pipeline.ooxml.writing import xml_text as escape  # noqa: E402

OUT = ROOT / "templates" / "word"

# A4 portrait, 2 cm margins: 11906 - 2 * 1134 = 9638 twips of text width.
PAGE_W, PAGE_H, MARGIN = 11906, 16838, 1134
TEXT_W = PAGE_W - 2 * MARGIN
DARK = "1F3864"  # header rows and headings
LABEL_FILL = "E8ECF4"
BORDER = "8C8C8C"

NS_DECL = (
    'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'xmlns:w14="http://schemas.microsoft.com/office/word/2010/wordml" '
    'xmlns:w15="http://schemas.microsoft.com/office/word/2012/wordml" '
    'mc:Ignorable="w14 w15"'
)
XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


# --- small XML builders ---------------------------------------------------------


def run(text: str, *, bold: bool = False, italic: bool = False, size: int | None = None, color: str = "") -> str:
    """One run; `text` may hold a docxtpl tag, which must stay within a single run."""
    props = ("<w:b/>" if bold else "") + ("<w:i/>" if italic else "") + (f'<w:color w:val="{color}"/>' if color else "") \
        + (f'<w:sz w:val="{size}"/><w:szCs w:val="{size}"/>' if size else "")
    rpr = f"<w:rPr>{props}</w:rPr>" if props else ""
    return f'<w:r>{rpr}<w:t xml:space="preserve">{escape(text)}</w:t></w:r>'


TAB = "<w:r><w:tab/></w:r>"


def para(*runs: str, style: str = "", keep_next: bool = False, align: str = "", extra_ppr: str = "") -> str:
    ppr = (f'<w:pStyle w:val="{style}"/>' if style else "") + ("<w:keepNext/>" if keep_next else "") + extra_ppr \
        + (f'<w:jc w:val="{align}"/>' if align else "")
    return f"<w:p>{f'<w:pPr>{ppr}</w:pPr>' if ppr else ''}{''.join(runs)}</w:p>"


def tag_para(tag: str) -> str:
    """A paragraph holding only a docxtpl block tag ({%p ...%} or {%tr ...%}); docxtpl removes it."""
    return f'<w:p><w:r><w:t xml:space="preserve">{escape(tag)}</w:t></w:r></w:p>'


def cell(width: int, *paragraphs: str, fill: str = "", valign: str = "") -> str:
    props = f'<w:tcW w:w="{width}" w:type="dxa"/>' + (f'<w:shd w:val="clear" w:color="auto" w:fill="{fill}"/>' if fill else "") \
        + (f'<w:vAlign w:val="{valign}"/>' if valign else "")
    return f"<w:tc><w:tcPr>{props}</w:tcPr>{''.join(paragraphs)}</w:tc>"


def row(*cells: str, header: bool = False, min_height: int = 0) -> str:
    props = ("<w:cantSplit/><w:tblHeader/>" if header else "") + \
        (f'<w:trHeight w:val="{min_height}" w:hRule="atLeast"/>' if min_height else "")
    return f"<w:tr>{f'<w:trPr>{props}</w:trPr>' if props else ''}{''.join(cells)}</w:tr>"


def table(widths: list[int], *rows: str, caption: str = "") -> str:
    grid = "".join(f'<w:gridCol w:w="{w}"/>' for w in widths)
    cap = f"<w:tblCaption w:val=\"{escape(caption)}\"/>" if caption else ""
    return (
        f'<w:tbl><w:tblPr><w:tblStyle w:val="FormTable"/><w:tblW w:w="{sum(widths)}" w:type="dxa"/>'
        f'<w:tblLayout w:type="fixed"/><w:tblLook w:val="04A0" w:firstRow="1" w:lastRow="0" w:firstColumn="1" '
        f'w:lastColumn="0" w:noHBand="0" w:noVBand="1"/>{cap}</w:tblPr>'
        f"<w:tblGrid>{grid}</w:tblGrid>{''.join(rows)}</w:tbl>"
    )


def control_para(control_xml: str) -> str:
    """The control sits INLINE inside the cell's own paragraph (never wrapping the cell or paragraph)."""
    return f'<w:p><w:pPr><w:pStyle w:val="TableText"/></w:pPr>{control_xml}</w:p>'


def control_xml(control: Control, items: tuple[str, ...] = ()) -> str:
    """The contract's control as the templates hold it: inline, tagged, with its grey text and title."""
    if control.kind == "checkbox":
        return checkbox_control_xml(control.tag, alias=control.alias)
    if control.kind == "dropdown":
        return dropdown_control_xml(control.tag, items, control.placeholder, alias=control.alias)
    return rich_text_control_xml(control.tag, control.placeholder, alias=control.alias)


def details_rows(pairs: list[tuple[str, str]], widths: tuple[int, int]) -> list[str]:
    return [row(cell(widths[0], para(run(label), style="TableLabel"), fill=LABEL_FILL),
                cell(widths[1], para(run(value), style="TableText"))) for label, value in pairs]


def section_properties() -> str:
    return (
        '<w:sectPr><w:headerReference w:type="default" r:id="rIdHeader1"/>'
        '<w:footerReference w:type="default" r:id="rIdFooter1"/>'
        f'<w:pgSz w:w="{PAGE_W}" w:h="{PAGE_H}"/>'
        f'<w:pgMar w:top="{MARGIN}" w:right="{MARGIN}" w:bottom="{MARGIN}" w:left="{MARGIN}" '
        'w:header="567" w:footer="567" w:gutter="0"/><w:cols w:space="708"/></w:sectPr>'
    )


def document(body: str) -> str:
    return f"{XML_HEAD}<w:document {NS_DECL}><w:body>{body}{section_properties()}</w:body></w:document>"


# --- the audit form ----------------------------------------------------------------

STANDARDS = AUDIT.standards
DEFAULT_RATINGS = ("Met or exceeded", "Not met", "Not applicable")  # generate-forms puts the cycle's own in
FORM_ID_LINE = LABEL_FORM_ID + "{{ form_id }}"
CASE_REF_LINE = LABEL_CASE_REF + "{{ case.ref }}"
RETURN_BY = '{{ return_deadline if return_deadline else "By the date in the board\'s covering email" }}'
HOW_TO_RETURN = '{{ return_instructions if return_instructions else "Email the completed form to the board office by secure email." }}'


def audit_body() -> str:
    label_w, value_w = 2700, TEXT_W - 2700
    std_w, rating_w = 3300, 1660
    answer_w = (TEXT_W - std_w - rating_w) // 2
    widths = [std_w, rating_w, answer_w, TEXT_W - std_w - rating_w - answer_w]

    head = [
        para(run("{{ board_name }}"), style="Title"),
        para(run("Multi-agency case audit {{ cycle_name }}: single agency audit form"), style="Subtitle"),
        para(run(FORM_ID_LINE), TAB, run(CASE_REF_LINE), style="FormIdentity"),
        table([label_w, value_w], *details_rows([
            ("Agency", "{{ agency.name }}"),
            ("Case reference", "{{ case.ref }}"),
            ("Priority area", "{{ case.priority_area }}"),
            ("Child's name", "{{ case.child_name }}"),
            ("Key lines of enquiry on this form", "{{ kloe_list }}"),
            ("Return by", RETURN_BY),
            ("How to return it", HOW_TO_RETURN),
        ], (label_w, value_w)), caption="Form details"),
        para(run("This form names a child. It is OFFICIAL-SENSITIVE: keep it secure and send it only by "
                 "secure email. Do not put the child's name in the file name or the email subject."),
             style="Notice"),
        para(run("How to complete this form"), style="Heading2"),
        para(run("Complete the form together with the practitioner(s) who worked with the child."), style="ListBullet"),
        para(run("For each standard, choose a rating from the list. If the standard was met or exceeded, give the "
                 "evidence. If it was not met, or does not apply to this case, say why."), style="ListBullet"),
        para(run("Click on the grey text in a box and type over it. Please do not delete, move or add rows, "
                 "and do not change the wording of the standards."), style="ListBullet"),
        para(run("Keep the form as a Word document (.docx) with the same file name. Please do not convert it to PDF."),
             style="ListBullet"),
        para(run("No involvement"), style="Heading2"),
        para(run("If your agency had no involvement with this child, tick the box, say why, and return the form "
                 "without completing the tables below."), style="BodyText"),
        table([label_w, value_w],
              *[row(cell(label_w, para(run(r.label), style="TableLabel"), fill=LABEL_FILL),
                    cell(value_w, control_para(control_xml(r.control)))) for r in AUDIT.rows],
              caption="No involvement"),
    ]

    standard_row = row(
        cell(widths[0],
             para(run(STANDARDS.row_label.format(number="{{ s.number }}"), bold=True), style="TableText",
                  keep_next=False),
             tag_para("{%p for line in s.lines %}"),
             tag_para("{%p if line.bullet %}"),
             para(run("{{ line.text }}"), style="TableBullet"),
             tag_para("{%p else %}"),
             para(run("{{ line.text }}"), style="TableText"),
             tag_para("{%p endif %}"),
             tag_para("{%p endfor %}")),
        *[cell(w, control_para(control_xml(column.control("{{ s.number }}"), DEFAULT_RATINGS)))
          for w, column in zip(widths[1:], STANDARDS.columns)],
    )
    header = row(*(cell(w, para(run(text), style="TableHeading"), fill=DARK)
                   for w, text in zip(widths, STANDARDS.headers)), header=True)
    loop_row = lambda tag: row(*(cell(w, tag_para(tag) if i == 0 else para()) for i, w in enumerate(widths)))  # noqa: E731
    kloes = [
        tag_para("{%p for kloe in kloes %}"),
        para(run(STANDARDS.heading.format(number="{{ kloe.number }}") + " {{ kloe.question }}"), style="Heading1"),
        para(run("Please provide evidence to demonstrate the completed sections."), style="Instruction"),
        table(widths, header, loop_row("{%tr for s in kloe.standards %}"), standard_row,
              loop_row("{%tr endfor %}"), caption="Standards"),
        tag_para("{%p endfor %}"),
    ]
    tail = [
        para(run("When you have finished"), style="Heading2"),
        para(run("Check that every standard has a rating and that each rating has its evidence or reason. "
                 "Save the form, keep its file name, and return it."), style="BodyText"),
        para(run("Return by: " + RETURN_BY), style="BodyText"),
        para(run("How to return it: " + HOW_TO_RETURN), style="BodyText"),
    ]
    return "".join(head + kloes + tail)


SUMMARY_HINTS = {
    "improvements": "What your agency will do differently as a result of these audits.",
    "partnership": "What would help agencies work together better for children.",
    "comments": "Anything else the board should know, including about the audit itself.",
}


def summary_body() -> str:
    label_w, value_w = 2900, TEXT_W - 2900
    head = [
        para(run("{{ board_name }}"), style="Title"),
        para(run("Multi-agency case audit {{ cycle_name }}: agency summary"), style="Subtitle"),
        para(run(FORM_ID_LINE), TAB, run("Agency: {{ agency.code }}"), style="FormIdentity"),
        table([label_w, value_w], *details_rows([
            ("Agency", "{{ agency.name }}"),
            ("Cases your agency audited", "{{ case_refs }}"),
            ("Return by", RETURN_BY),
            ("How to return it", HOW_TO_RETURN),
        ], (label_w, value_w)), caption="Form details"),
        para(run("About this form"), style="Heading2"),
        para(run("When you have audited all your cases, sum up what your agency learned from them. The board "
                 "prints your answers, as you write them, in the appendix of the overview report that sets out each "
                 "agency's findings."), style="BodyText"),
        para(run("Please do not name any child or family in this form: the report is shared widely."), style="Notice"),
        table([label_w, value_w], *[
            row(cell(label_w, para(run(r.label), style="TableLabel"), para(run(SUMMARY_HINTS[r.key]), style="TableHint"),
                     fill=LABEL_FILL),
                cell(value_w, control_para(control_xml(r.control))), min_height=2400)
            for r in SUMMARY.rows
        ], caption="Agency summary"),
        para(run("When you have finished"), style="Heading2"),
        para(run("Save the form, keep its file name, and return it with your audit forms, as set out under "
                 "'Return by' and 'How to return it' above."), style="BodyText"),
    ]
    return "".join(head)


ACTIONS = PROGRESS.actions
PROGRESS_HINTS = {
    "status": "On track, At risk or Complete as it stands today (Overdue if it is late).",
    "progress": "What has been done since the last update, and what is next.",
    "evidence": "What has changed for children and families because of it: needed for Complete.",
}


def progress_body() -> str:
    """One table per open action: what the board holds about it, then the agency's new status, progress and evidence."""
    label_w, value_w = 2900, TEXT_W - 2900
    head = [
        para(run("{{ board_name }}"), style="Title"),
        para(run("Multi-agency case audit {{ cycle_name }}: progress on your agency's actions"), style="Subtitle"),
        para(run(FORM_ID_LINE), TAB, run(LABEL_AGENCY + "{{ agency.code }}"), style="FormIdentity"),
        table([label_w, value_w], *details_rows([
            ("Agency", "{{ agency.name }}"),
            ("Actions on this form", "{{ action_count }}"),
            ("Return by", RETURN_BY),
            ("How to return it", HOW_TO_RETURN),
        ], (label_w, value_w)), caption="Form details"),
        para(run("About this form"), style="Heading2"),
        para(run("These are the improvement actions your agency agreed after the case audit that are not yet "
                 "complete. For each one, choose its status now, say what has been done since the last update, and "
                 "give the evidence of impact. An action can only be recorded as Complete with evidence of impact."),
             style="BodyText"),
        para(run("Click on the grey text in a box and type over it. Please do not delete, move or add tables or "
                 "rows, and keep the form as a Word document (.docx) with the same file name."), style="ListBullet"),
        para(run("Please do not name any child or family in this form: the board report quotes your words."),
             style="Notice"),
    ]
    # every row but the last keeps with the next, so an action's table is not split across pages
    shown_rows = [row(cell(label_w, para(run(ACTIONS.id_label), style="TableLabel", keep_next=True), fill=LABEL_FILL),
                      cell(value_w, para(run("{{ a.id }}", bold=True), style="TableText", keep_next=True)))]
    shown_rows += [row(cell(label_w, para(run(label), style="TableLabel", keep_next=True), fill=LABEL_FILL),
                       cell(value_w, para(run("{{ a.%s }}" % key), style="TableText", keep_next=True)))
                   for key, label in ACTIONS.shown]
    answer_rows = [row(cell(label_w, para(run(a.label), style="TableLabel", keep_next=a.key != "evidence"),
                            para(run(PROGRESS_HINTS[a.key]), style="TableHint", keep_next=a.key != "evidence"),
                            fill=LABEL_FILL),
                       cell(value_w, control_para(control_xml(a.control("{{ a.id }}"), PROGRESS_STATUS_ITEMS))),
                       min_height=0 if a.key == "status" else 1100)
                   for a in ACTIONS.answers]
    loop = [
        tag_para("{%p for a in actions %}"),
        para(run(ACTIONS.heading.format(id="{{ a.id }}")), style="Heading1"),
        table([label_w, value_w], *shown_rows, *answer_rows, caption="Action"),
        tag_para("{%p endfor %}"),
    ]
    tail = [
        para(run("When you have finished"), style="Heading2"),
        para(run("Check that every action has a new status, and that each Complete action has its evidence of "
                 "impact. Save the form, keep its file name, and return it as set out under 'Return by' and 'How "
                 "to return it' above."), style="BodyText"),
    ]
    return "".join(head + loop + tail)


# --- the rest of the package --------------------------------------------------------


def styles_xml() -> str:
    def pstyle(sid: str, name: str, ppr: str = "", rpr: str = "", based: str = "Normal", nxt: str = "") -> str:
        next_el = f'<w:next w:val="{nxt}"/>' if nxt else ""
        return (f'<w:style w:type="paragraph" w:customStyle="1" w:styleId="{sid}"><w:name w:val="{name}"/>'
                f'<w:basedOn w:val="{based}"/>{next_el}<w:qFormat/>'
                f"<w:pPr>{ppr}</w:pPr><w:rPr>{rpr}</w:rPr></w:style>")

    def builtin(sid: str, name: str, ppr: str = "", rpr: str = "", level: int | None = None) -> str:
        outline = f'<w:outlineLvl w:val="{level}"/>' if level is not None else ""
        return (f'<w:style w:type="paragraph" w:styleId="{sid}"><w:name w:val="{name}"/><w:basedOn w:val="Normal"/>'
                f'<w:next w:val="BodyText"/><w:uiPriority w:val="9"/><w:qFormat/>'
                f"<w:pPr>{ppr}{outline}</w:pPr><w:rPr>{rpr}</w:rPr></w:style>")

    border = f'w:val="single" w:sz="4" w:space="0" w:color="{BORDER}"'
    return XML_HEAD + (
        f'<w:styles {NS_DECL}>'
        '<w:docDefaults><w:rPrDefault><w:rPr><w:rFonts w:ascii="Arial" w:hAnsi="Arial" w:eastAsia="Arial" w:cs="Arial"/>'
        '<w:sz w:val="21"/><w:szCs w:val="21"/><w:lang w:val="en-GB" w:eastAsia="en-US" w:bidi="ar-SA"/></w:rPr></w:rPrDefault>'
        '<w:pPrDefault><w:pPr><w:widowControl/><w:spacing w:after="100" w:line="264" w:lineRule="auto"/></w:pPr></w:pPrDefault></w:docDefaults>'
        '<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/><w:qFormat/></w:style>'
        '<w:style w:type="character" w:default="1" w:styleId="DefaultParagraphFont"><w:name w:val="Default Paragraph Font"/>'
        '<w:uiPriority w:val="1"/><w:semiHidden/><w:unhideWhenUsed/></w:style>'
        '<w:style w:type="table" w:default="1" w:styleId="TableNormal"><w:name w:val="Normal Table"/><w:uiPriority w:val="99"/>'
        '<w:semiHidden/><w:unhideWhenUsed/><w:tblPr><w:tblInd w:w="0" w:type="dxa"/><w:tblCellMar>'
        '<w:top w:w="0" w:type="dxa"/><w:left w:w="108" w:type="dxa"/><w:bottom w:w="0" w:type="dxa"/>'
        '<w:right w:w="108" w:type="dxa"/></w:tblCellMar></w:tblPr></w:style>'
        '<w:style w:type="numbering" w:default="1" w:styleId="NoList"><w:name w:val="No List"/><w:uiPriority w:val="99"/>'
        '<w:semiHidden/><w:unhideWhenUsed/></w:style>'
        + builtin("Title", "Title", '<w:spacing w:after="40"/>', f'<w:b/><w:color w:val="{DARK}"/><w:sz w:val="34"/><w:szCs w:val="34"/>')
        + builtin("Subtitle", "Subtitle", '<w:spacing w:after="160"/>', f'<w:color w:val="{DARK}"/><w:sz w:val="26"/><w:szCs w:val="26"/>')
        + builtin("Heading1", "heading 1", '<w:keepNext/><w:keepLines/><w:spacing w:before="300" w:after="60"/>',
                  f'<w:b/><w:color w:val="{DARK}"/><w:sz w:val="24"/><w:szCs w:val="24"/>', 0)
        + builtin("Heading2", "heading 2", '<w:keepNext/><w:keepLines/><w:spacing w:before="220" w:after="60"/>',
                  f'<w:b/><w:color w:val="{DARK}"/><w:sz w:val="22"/><w:szCs w:val="22"/>', 1)
        + builtin("BodyText", "Body Text", "", "")
        + builtin("ListBullet", "List Bullet",
                  '<w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr><w:spacing w:after="60"/><w:ind w:left="357" w:hanging="357"/>', "")
        + builtin("Header", "header", '<w:tabs><w:tab w:val="right" w:pos="9638"/></w:tabs><w:spacing w:after="0"/>',
                  '<w:sz w:val="16"/><w:szCs w:val="16"/>')
        + builtin("Footer", "footer", '<w:tabs><w:tab w:val="right" w:pos="9638"/></w:tabs><w:spacing w:after="0"/>',
                  '<w:color w:val="595959"/><w:sz w:val="16"/><w:szCs w:val="16"/>')
        + pstyle("FormIdentity", "Form identity",
                 f'<w:pBdr><w:top {border}/><w:bottom {border}/></w:pBdr><w:tabs><w:tab w:val="right" w:pos="9638"/></w:tabs>'
                 '<w:spacing w:before="60" w:after="160"/>', '<w:b/>', nxt="BodyText")
        + pstyle("Notice", "Notice", '<w:spacing w:before="120" w:after="120"/>', '<w:i/><w:color w:val="404040"/>')
        + pstyle("Instruction", "Instruction", '<w:keepNext/><w:spacing w:after="80"/>', '<w:i/>')
        + pstyle("TableText", "Table text", '<w:spacing w:before="20" w:after="40" w:line="240" w:lineRule="auto"/>',
                 '<w:sz w:val="19"/><w:szCs w:val="19"/>')
        + pstyle("TableLabel", "Table label", "", "<w:b/>", based="TableText")
        + pstyle("TableHint", "Table hint", "", '<w:i/><w:color w:val="404040"/><w:sz w:val="17"/><w:szCs w:val="17"/>',
                 based="TableText")
        + pstyle("TableHeading", "Table heading", '<w:keepNext/>', '<w:b/><w:color w:val="FFFFFF"/>', based="TableText")
        + pstyle("TableBullet", "Table bullet", '<w:numPr><w:ilvl w:val="0"/><w:numId w:val="2"/></w:numPr>'
                 '<w:ind w:left="227" w:hanging="170"/>', "", based="TableText")
        + '<w:style w:type="character" w:styleId="PlaceholderText"><w:name w:val="Placeholder Text"/>'
          '<w:basedOn w:val="DefaultParagraphFont"/><w:uiPriority w:val="99"/><w:semiHidden/>'
          '<w:rPr><w:color w:val="6E6E6E"/></w:rPr></w:style>'
        + '<w:style w:type="table" w:customStyle="1" w:styleId="FormTable"><w:name w:val="Form table"/>'
          '<w:basedOn w:val="TableNormal"/><w:tblPr><w:tblBorders>'
          f'<w:top {border}/><w:left {border}/><w:bottom {border}/><w:right {border}/>'
          f'<w:insideH {border}/><w:insideV {border}/></w:tblBorders>'
          '<w:tblCellMar><w:top w:w="57" w:type="dxa"/><w:left w:w="85" w:type="dxa"/>'
          '<w:bottom w:w="57" w:type="dxa"/><w:right w:w="85" w:type="dxa"/></w:tblCellMar></w:tblPr></w:style>'
        + "</w:styles>"
    )


def numbering_xml() -> str:
    def abstract(aid: int, indent: int, hanging: int) -> str:
        return (f'<w:abstractNum w:abstractNumId="{aid}"><w:multiLevelType w:val="singleLevel"/>'
                f'<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="bullet"/><w:lvlText w:val="\u2022"/>'
                f'<w:lvlJc w:val="left"/><w:pPr><w:ind w:left="{indent}" w:hanging="{hanging}"/></w:pPr>'
                f'<w:rPr><w:rFonts w:ascii="Arial" w:hAnsi="Arial" w:hint="default"/></w:rPr></w:lvl></w:abstractNum>')
    return XML_HEAD + (f"<w:numbering {NS_DECL}>" + abstract(0, 357, 357) + abstract(1, 227, 170)
                       + '<w:num w:numId="1"><w:abstractNumId w:val="0"/></w:num>'
                       + '<w:num w:numId="2"><w:abstractNumId w:val="1"/></w:num></w:numbering>')


def header_xml(marking: str) -> str:
    return XML_HEAD + (f'<w:hdr {NS_DECL}>' + para(run("{{ board_name }}: case audit {{ cycle_name }}"), TAB,
                                                    run(marking, bold=True), style="Header") + "</w:hdr>")


def footer_xml(identity: str) -> str:
    field = lambda instr, shown: (f'<w:fldSimple w:instr=" {instr} \\* MERGEFORMAT "><w:r><w:t>{shown}</w:t></w:r></w:fldSimple>')  # noqa: E731
    return XML_HEAD + (f'<w:ftr {NS_DECL}><w:p><w:pPr><w:pStyle w:val="Footer"/></w:pPr>{run(identity)}{TAB}'
                       f'{run("Page ")}{field("PAGE", "1")}{run(" of ")}{field("NUMPAGES", "1")}</w:p></w:ftr>')


def settings_xml() -> str:
    return XML_HEAD + (
        f'<w:settings {NS_DECL}><w:zoom w:percent="100"/><w:defaultTabStop w:val="720"/>'
        '<w:characterSpacingControl w:val="doNotCompress"/><w:compat>'
        '<w:compatSetting w:name="compatibilityMode" w:uri="http://schemas.microsoft.com/office/word" w:val="15"/>'
        '</w:compat><w:themeFontLang w:val="en-GB"/></w:settings>'
    )


FONT_TABLE = XML_HEAD + (
    f'<w:fonts {NS_DECL}><w:font w:name="Arial"><w:panose1 w:val="020B0604020202020204"/><w:charset w:val="00"/>'
    '<w:family w:val="swiss"/><w:pitch w:val="variable"/></w:font>'
    '<w:font w:name="MS Gothic"><w:altName w:val="MS Gothic"/><w:panose1 w:val="020B0609070205080204"/>'
    '<w:charset w:val="80"/><w:family w:val="modern"/><w:pitch w:val="fixed"/></w:font></w:fonts>'
)

CONTENT_TYPES = XML_HEAD + (
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    '<Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>'
    '<Override PartName="/word/settings.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml"/>'
    '<Override PartName="/word/numbering.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.numbering+xml"/>'
    '<Override PartName="/word/fontTable.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.fontTable+xml"/>'
    '<Override PartName="/word/header1.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.header+xml"/>'
    '<Override PartName="/word/footer1.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml"/>'
    '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    '<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
    "</Types>"
)

PACKAGE_RELS = XML_HEAD + (
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>'
    '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/>'
    "</Relationships>"
)

DOCUMENT_RELS = XML_HEAD + (
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/settings" Target="settings.xml"/>'
    '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/numbering" Target="numbering.xml"/>'
    '<Relationship Id="rId4" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/fontTable" Target="fontTable.xml"/>'
    '<Relationship Id="rIdHeader1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/header" Target="header1.xml"/>'
    '<Relationship Id="rIdFooter1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/footer" Target="footer1.xml"/>'
    "</Relationships>"
)


def core_xml(title: str) -> str:
    return XML_HEAD + (
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:title>{escape(title)}</dc:title><dc:creator>case-audit</dc:creator>"
        "<cp:lastModifiedBy>case-audit</cp:lastModifiedBy>"
        '<dcterms:created xsi:type="dcterms:W3CDTF">2024-01-01T00:00:00Z</dcterms:created>'
        '<dcterms:modified xsi:type="dcterms:W3CDTF">2024-01-01T00:00:00Z</dcterms:modified>'
        "</cp:coreProperties>"
    )


APP_XML = XML_HEAD + (
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
    'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
    "<Application>case-audit</Application><DocSecurity>0</DocSecurity></Properties>"
)


def package(body: str, *, title: str, marking: str, footer_identity: str) -> bytes:
    parts = {
        "[Content_Types].xml": CONTENT_TYPES,
        "_rels/.rels": PACKAGE_RELS,
        "docProps/core.xml": core_xml(title),
        "docProps/app.xml": APP_XML,
        "word/document.xml": document(body),
        "word/_rels/document.xml.rels": DOCUMENT_RELS,
        "word/styles.xml": styles_xml(),
        "word/settings.xml": settings_xml(),
        "word/numbering.xml": numbering_xml(),
        "word/fontTable.xml": FONT_TABLE,
        "word/header1.xml": header_xml(marking),
        "word/footer1.xml": footer_xml(footer_identity),
    }
    return package_from_text(parts)


def build() -> dict[str, bytes]:
    """Each shipped form template by file name (tests compare them with templates/word/)."""
    return {
        "audit-form.docx": package(audit_body(), title="Case audit form", marking="OFFICIAL-SENSITIVE",
                                   footer_identity=f"{FORM_ID_LINE}   {CASE_REF_LINE}"),
        "agency-summary.docx": package(summary_body(), title="Case audit agency summary", marking="OFFICIAL",
                                       footer_identity=FORM_ID_LINE + "   Agency: {{ agency.code }}"),
        PROGRESS.template: package(progress_body(), title="Case audit action progress", marking="OFFICIAL",
                                   footer_identity=FORM_ID_LINE + "   Agency: {{ agency.code }}"),
    }


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, data in build().items():
        check_well_formed(data)
        (OUT / name).write_bytes(data)
        print(f"wrote {(OUT / name).relative_to(ROOT)} ({len(data):,} bytes)")


if __name__ == "__main__":
    main()
