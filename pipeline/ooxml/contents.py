"""The contents list's page numbers, written into the TOC field's shown result, and the headings of a document.

`report_parts.fill_toc` writes one linked line per heading (no page numbers: a
program has to lay the pages out to know them). Here each line gets, the way
Word writes its own contents, a tab (the TOC styles' dotted right tab) and a
PAGEREF field to the heading's bookmark whose shown result is the page number,
so the document opens with a filled contents list and Word's "Update field"
still rebuilds it. Nothing here knows where the page numbers come from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

from lxml import etree

from .package import parse_xml, read_parts, serialize, write_parts
from .reading import text_of
from .regions import W_P, paragraph_style, w
from .report_parts import XML_SPACE, contents_styles, find_toc_paragraph

DOCUMENT, SETTINGS, STYLES = "word/document.xml", "word/settings.xml", "word/styles.xml"


@dataclass(frozen=True)
class ContentsLine:
    level: int
    text: str
    anchor: str  # the bookmark on the heading it links to
    page: Optional[int]  # the page number shown, None when the line has none


@dataclass(frozen=True)
class Heading:
    level: int  # 1 for Heading 1 ...
    text: str


def _toc_paragraphs(body: etree._Element) -> list[etree._Element]:
    """The paragraphs of the TOC field, from the one holding its start to the one holding its end.

    Fields nest (each line's PAGEREF sits inside the TOC field): the TOC ends
    where the depth of begin/end marks falls back to nothing.
    """
    first = find_toc_paragraph(body)
    if first is None:
        return []
    found, p, depth, started = [], first, 0, False
    while p is not None:
        if p.tag == W_P:
            found.append(p)
            for mark in p.iter(w("fldChar")):
                kind = mark.get(w("fldCharType"))
                if kind == "begin":
                    depth, started = depth + 1, True
                elif kind == "end":
                    depth -= 1
                if started and depth == 0:
                    return found
        p = p.getnext()
    return found


def _anchor(p: etree._Element) -> str:
    link = p.find(w("hyperlink"))
    return link.get(w("anchor"), "") if link is not None else ""


def _shown_page(p: etree._Element) -> Optional[int]:
    """The page number a line shows: the result of its PAGEREF field."""
    in_pageref = shown = False
    digits = ""
    for el in p.iter(w("fldChar"), w("instrText"), w("t")):
        if el.tag == w("instrText") and "PAGEREF" in (el.text or ""):
            in_pageref = True
        elif el.tag == w("fldChar") and in_pageref:
            kind = el.get(w("fldCharType"))
            shown = kind == "separate"
            if kind == "end":
                in_pageref = False
        elif el.tag == w("t") and shown:
            digits += el.text or ""
    return int(digits) if digits.strip().isdigit() else None


def contents_lines(docx: bytes) -> list[ContentsLine]:
    """Every line of the document's contents list as a reader sees it (text, level, page number shown)."""
    parts = read_parts(docx)
    body = parse_xml(parts[DOCUMENT], DOCUMENT).find(w("body"))
    toc_levels = {sid: level for level, sid in contents_styles(parse_xml(parts[STYLES], STYLES))[1].items()}
    lines = []
    for p in _toc_paragraphs(body):
        anchor = _anchor(p)
        if not anchor:
            continue
        text = "".join(t.text or "" for t in p.find(w("hyperlink")).iter(w("t")))
        page = _shown_page(p)
        if page is not None:
            text = text.removesuffix(str(page))
        lines.append(ContentsLine(toc_levels.get(paragraph_style(p), 1), text.strip(), anchor, page))
    return lines


def document_headings(docx: bytes) -> list[Heading]:
    """The headings (Heading 1-3 styles with an outline level) in document order, as the reader meets them."""
    parts = read_parts(docx)
    level_of, _ = contents_styles(parse_xml(parts[STYLES], STYLES))
    body = parse_xml(parts[DOCUMENT], DOCUMENT).find(w("body"))
    return [Heading(level_of[paragraph_style(p)], text_of(p).strip()) for p in body.iter(W_P)
            if paragraph_style(p) in level_of and text_of(p).strip()]


def _run(*children: etree._Element) -> etree._Element:
    r = etree.Element(w("r"))
    r.extend(children)
    return r


def _field_char(kind: str) -> etree._Element:
    el = etree.Element(w("fldChar"))
    el.set(w("fldCharType"), kind)
    return el


def _page_runs(anchor: str, page: int) -> list[etree._Element]:
    """tab, then { PAGEREF anchor \\h } showing `page`: what Word writes after each contents entry."""
    instr = etree.Element(w("instrText"))
    instr.set(XML_SPACE, "preserve")
    instr.text = f" PAGEREF {anchor} \\h "
    shown = etree.Element(w("t"))
    shown.text = str(page)
    return [_run(etree.Element(w("tab"))), _run(_field_char("begin")), _run(instr), _run(_field_char("separate")),
            _run(shown), _run(_field_char("end"))]


def _drop_page_runs(link: etree._Element) -> None:
    """Remove a page number written before (tab and PAGEREF field), so numbering twice gives one number."""
    runs = list(link.findall(w("r")))
    for i, r in enumerate(runs):
        if r.find(w("tab")) is not None:
            for doomed in runs[i:]:
                link.remove(doomed)
            return


def set_contents_pages(docx: bytes, pages: Mapping[str, int]) -> tuple[bytes, int]:
    """The document with each contents line whose bookmark is in `pages` showing that page number.

    Returns the new bytes and how many lines got a number. When every line has
    one, Word's update-fields-on-open setting (and so its prompt) is removed:
    the contents list is already right when the document opens.
    """
    parts = read_parts(docx)
    root = parse_xml(parts[DOCUMENT], DOCUMENT)
    numbered = total = 0
    for p in _toc_paragraphs(root.find(w("body"))):
        link = p.find(w("hyperlink"))
        anchor = _anchor(p)
        if link is None or not anchor:
            continue
        total += 1
        _drop_page_runs(link)
        if anchor in pages:
            link.extend(_page_runs(anchor, pages[anchor]))
            numbered += 1
    parts[DOCUMENT] = serialize(root)
    if total and numbered == total and SETTINGS in parts:
        settings = parse_xml(parts[SETTINGS], SETTINGS)
        for el in settings.findall(w("updateFields")):
            settings.remove(el)
        parts[SETTINGS] = serialize(settings)
    return write_parts(parts), numbered


def updates_fields_on_open(docx: bytes) -> bool:
    """Whether Word is told to update fields (and so asks the reader) when it opens the document."""
    parts = read_parts(docx)
    if SETTINGS not in parts:
        return False
    found = parse_xml(parts[SETTINGS], SETTINGS).find(w("updateFields"))
    return found is not None and found.get(w("val"), "true") in ("true", "1", "on")
