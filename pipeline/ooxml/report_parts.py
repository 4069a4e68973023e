"""The accessibility and navigation parts of a published Word document, and every text it holds.

Table of contents field, fields updated on open, repeating table header rows,
picture alt text, document language: what Word's accessibility checker asks
for. `iter_texts` walks every XML part of a package so nothing (comments,
properties, alt text, headers) escapes a scan. Nothing here knows about audits.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

from lxml import etree

from .package import parse_xml
from .reading import text_of
from .regions import W_P, W_PPR, W_TBL, add_bookmark, outline_styles, paragraph_style, w

from .namespaces import A, PIC, R, WP
from .settings import set_update_fields_on_open  # noqa: F401 - its home is settings.py, where the order is
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"

TOC_INSTRUCTION = ' TOC \\o "1-3" \\h \\z \\u '


def set_document_language(styles: etree._Element, lang: str) -> None:
    """The default language of all text (w:lang in the style defaults), for spelling and screen readers."""
    defaults = styles.find(w("docDefaults"))
    if defaults is None:
        defaults = etree.Element(w("docDefaults"))
        styles.insert(0, defaults)
    rpr_default = defaults.find(w("rPrDefault"))
    if rpr_default is None:
        rpr_default = etree.Element(w("rPrDefault"))
        defaults.insert(0, rpr_default)
    rpr = rpr_default.find(w("rPr"))
    if rpr is None:
        rpr = etree.SubElement(rpr_default, w("rPr"))
    lang_el = rpr.find(w("lang"))
    if lang_el is None:
        lang_el = etree.SubElement(rpr, w("lang"))
    lang_el.set(w("val"), lang)


def repeat_header_rows(body: etree._Element) -> int:
    """Mark the first row of every table of two or more rows to repeat at the top of each page."""
    marked = 0
    for tbl in body.iter(W_TBL):
        rows = tbl.findall(w("tr"))
        if len(rows) < 2:
            continue
        first = rows[0]
        trpr = first.find(w("trPr"))
        if trpr is None:
            trpr = etree.Element(w("trPr"))
            tblpr_ex = first.find(w("tblPrEx"))
            first.insert(0 if tblpr_ex is None else 1, trpr)
        if trpr.find(w("tblHeader")) is None:
            etree.SubElement(trpr, w("tblHeader"))
        # a header row split across pages reads badly
        if trpr.find(w("cantSplit")) is None:
            trpr.insert(0, etree.Element(w("cantSplit")))
        marked += 1
    return marked


def ensure_cells_have_paragraphs(body: etree._Element) -> None:
    """A table cell must end with a paragraph; an empty list rendered into a cell leaves none."""
    for tc in body.iter(w("tc")):
        if not any(child.tag in (W_P, W_TBL) for child in tc) or tc[-1].tag == W_TBL:
            etree.SubElement(tc, W_P)


def set_picture_alt_text(body: etree._Element, alt_for: Callable[[str], Optional[tuple[str, str]]]) -> int:
    """Set title and description (alt text) of each picture; `alt_for(relationship id)` gives (title, text)."""
    count = 0
    for container in body.iter(f"{{{WP}}}inline", f"{{{WP}}}anchor"):
        blip = next(container.iter(f"{{{A}}}blip"), None)
        if blip is None:
            continue
        found = alt_for(blip.get(f"{{{R}}}embed", ""))
        if not found:
            continue
        title, text = found
        for pr in (container.find(f"{{{WP}}}docPr"), next(container.iter(f"{{{PIC}}}cNvPr"), None)):
            if pr is not None:
                pr.set("title", title)
                pr.set("descr", text)
        count += 1
    return count


# --- table of contents ---------------------------------------------------------


@dataclass
class TocEntry:
    level: int
    text: str
    anchor: str  # bookmark on the heading


def find_toc_paragraph(body: etree._Element) -> Optional[etree._Element]:
    """The paragraph that begins a TOC field, wherever a template put it."""
    for instr in body.iter(w("instrText")):
        if (instr.text or "").strip().upper().startswith("TOC"):
            p = instr
            while p is not None and p.tag != W_P:
                p = p.getparent()
            return p
    return None


def fill_toc(body: etree._Element, entries: list[TocEntry], style_for_level: Callable[[int], Optional[str]]) -> bool:
    """Replace the TOC field's shown result with one linked line per heading.

    Word rebuilds the field with page numbers when it opens the file (updateFields);
    until then, and in programs that do not update fields, readers still see the contents.
    """
    first = find_toc_paragraph(body)
    if first is None:
        return False
    instr_text = next((i.text for i in first.iter(w("instrText")) if (i.text or "").strip().upper().startswith("TOC")),
                      TOC_INSTRUCTION)
    # the field may already span several paragraphs (a re-saved template): remove up to its end
    parent = first.getparent()
    doomed = [first]
    if not any(f.get(w("fldCharType")) == "end" for f in first.iter(w("fldChar"))):
        nxt = first.getnext()
        while nxt is not None:
            doomed.append(nxt)
            if any(f.get(w("fldCharType")) == "end" for f in nxt.iter(w("fldChar"))):
                break
            nxt = nxt.getnext()
    first_ppr = first.find(W_PPR)
    index = list(parent).index(first)
    for el in doomed:
        parent.remove(el)

    def run(*children) -> etree._Element:
        r = etree.Element(w("r"))
        for c in children:
            r.append(c)
        return r

    def fld(kind: str) -> etree._Element:
        f = etree.Element(w("fldChar"))
        f.set(w("fldCharType"), kind)
        return f

    def para(level: Optional[int]) -> etree._Element:
        p = etree.Element(W_P)
        style = style_for_level(level) if level else None
        if style:
            ppr = etree.SubElement(p, W_PPR)
            etree.SubElement(ppr, w("pStyle")).set(w("val"), style)
        elif first_ppr is not None:
            p.append(copy.deepcopy(first_ppr))
        return p

    instr = etree.Element(w("instrText"))
    instr.set(XML_SPACE, "preserve")
    instr.text = instr_text
    paragraphs: list[etree._Element] = []
    for i, entry in enumerate(entries or [TocEntry(1, "Right-click and choose Update Field to show the contents.", "")]):
        p = para(entry.level)
        if i == 0:
            p.append(run(fld("begin")))
            p.append(run(instr))
            p.append(run(fld("separate")))
        t = etree.Element(w("t"))
        t.text = entry.text
        t.set(XML_SPACE, "preserve")
        if entry.anchor:
            link = etree.SubElement(p, w("hyperlink"))
            link.set(w("anchor"), entry.anchor)
            link.set(w("history"), "1")
            link.append(run(t))
        else:
            p.append(run(t))
        paragraphs.append(p)
    paragraphs[-1].append(run(fld("end")))
    for offset, p in enumerate(paragraphs):
        parent.insert(index + offset, p)
    return True


# --- every text in a package ---------------------------------------------------------


@dataclass
class TextSpot:
    part: str
    where: str
    text: str


_STORY_PARTS = re.compile(r"^word/(document|header\d*|footer\d*|comments|footnotes|endnotes)\.xml$")
_ALT_ATTRS = ("descr", "title", "name")

def document_language(styles: etree._Element) -> Optional[str]:
    """The language of all text (w:lang in the style defaults), or None when the styles set none."""
    found = styles.find(f".//{w('rPrDefault')}/{w('rPr')}/{w('lang')}")
    return (found.get(w("val")) or None) if found is not None else None


def contents_styles(styles: etree._Element) -> tuple[dict[str, int], dict[int, str]]:
    """Heading style id -> level (outline headings named Heading 1-3), and level -> style id of TOC 1-3."""
    heading_ids = outline_styles(styles)
    level_of: dict[str, int] = {}
    toc_style: dict[int, str] = {}
    for style in styles.iter(w("style")):
        sid = style.get(w("styleId"), "")
        name_el = style.find(w("name"))
        name = (name_el.get(w("val"), "") if name_el is not None else "").casefold()
        m = re.fullmatch(r"heading ([1-3])", name)
        if m and sid in heading_ids:
            level_of[sid] = int(m.group(1))
        m = re.fullmatch(r"toc ([1-3])", name)
        if m:
            toc_style[int(m.group(1))] = sid
    return level_of, toc_style


def build_contents(body: etree._Element, styles: etree._Element) -> bool:
    """The contents list filled with a linked line per heading (levels 1-3), each heading bookmarked."""
    level_of, toc_style = contents_styles(styles)
    entries = []
    for n, p in enumerate(body.iter(W_P), start=1):
        level = level_of.get(paragraph_style(p))
        if not level:
            continue
        text = text_of(p).strip()
        if not text:
            continue
        anchor = f"_TocCa{n:05d}"
        add_bookmark(p, anchor)
        entries.append(TocEntry(level, text, anchor))
    return fill_toc(body, entries, lambda level: toc_style.get(level))



def iter_texts(parts: dict[str, bytes], sieve: Optional[Callable[[str], bool]] = None) -> Iterator[TextSpot]:
    """Every piece of text a reader (or a file-properties dialog) could see, with where it sits.

    Story parts (body, headers, footers, comments, notes) by paragraph, with the
    heading above it or the table cell it is in; picture alt text; every other XML
    part (properties, settings, styles) text node by text node and attribute by attribute.

    `sieve` (text -> True when the text matters, e.g. names a child): every text node and attribute value
    of one of the other parts is put through it first, and a part none of which matters yields nothing.
    Those parts are mostly styles: 20,000 attribute values, 1,700 distinct, in the shipped template; saying
    where each one sits was most of a report's privacy scan. A story part is always yielded in full (a
    paragraph's text runs across several text nodes).
    """
    styles_root = parse_xml(parts["word/styles.xml"], "word/styles.xml") if "word/styles.xml" in parts else None
    headings = outline_styles(styles_root)
    for name in sorted(parts):
        data = parts[name]
        if not (name.endswith(".xml") or name.endswith(".rels")):
            continue
        root = parse_xml(data, name)
        if _STORY_PARTS.match(name):
            yield from _story_texts(name, root, headings)
        elif sieve is None or any(sieve(text) for text in _every_text(root)):
            yield from _generic_texts(name, root)


def _story_texts(part: str, root: etree._Element, headings: set[str]) -> Iterator[TextSpot]:
    heading = "the start"
    count_since_heading = 0
    table_no = 0
    tables_seen: dict[int, int] = {}
    for p in root.iter(W_P):
        text = text_of(p)
        del_text = "".join(d.text or "" for d in p.iter(w("delText")))
        instr = "".join(i.text or "" for i in p.iter(w("instrText")))
        cell = _enclosing_cell(p)
        if cell is None:
            if paragraph_style(p) in headings and text:
                heading = text
                count_since_heading = 0
                where = f"the heading '{_short(text)}'"
            else:
                count_since_heading += 1
                where = f"paragraph {count_since_heading} under '{_short(heading)}'"
        else:
            tc, tr, tbl = cell
            key = id(tbl)
            if key not in tables_seen:
                table_no += 1
                tables_seen[key] = table_no
            rows = tbl.findall(w("tr"))
            row_no = rows.index(tr) + 1 if tr in rows else 0
            col_no = tr.findall(w("tc")).index(tc) + 1 if tc in tr.findall(w("tc")) else 0
            where = f"table under '{_short(heading)}', row {row_no}, column {col_no}"
        if part != "word/document.xml":
            where = f"{_story_name(part)}: {where}"
        for piece, suffix in ((text, ""), (del_text, " (deleted text still in the file)"), (instr, " (field code)")):
            if piece:
                yield TextSpot(part, where + suffix, piece)
    for container in root.iter(f"{{{WP}}}docPr"):
        for attr in _ALT_ATTRS:
            value = container.get(attr)
            if value:
                yield TextSpot(part, f"picture {attr} (alt text) under '{_short(heading)}'", value)
    yield from _story_attributes(part, root)


def _story_attributes(part: str, root: etree._Element) -> Iterator[TextSpot]:
    """Every other attribute holding words (comment authors, picture cNvPr alt text, tooltips), once each."""
    prefix = "" if part == "word/document.xml" else f"{_story_name(part)}: "
    seen: set[tuple[str, str, str]] = set()
    for el in root.iter():
        if not isinstance(el.tag, str) or el.tag == f"{{{WP}}}docPr":
            continue
        local = etree.QName(el).localname
        for attr, value in el.attrib.items():
            key = (local, attr, value)
            if key in seen or not re.search(r"[^\W\d_]{2}", value) or value.startswith(("http://", "https://")):
                continue
            seen.add(key)
            yield TextSpot(part, f"{prefix}'{local}' attribute {etree.QName(attr).localname}", value)


def _story_name(part: str) -> str:
    stem = re.sub(r"\d+$", "", part.rsplit("/", 1)[-1].removesuffix(".xml"))
    return {"header": "page header", "footer": "page footer"}.get(stem, stem)


def _enclosing_cell(p: etree._Element):
    tc = p.getparent()
    while tc is not None and tc.tag != w("tc"):
        if tc.tag in (w("body"), w("hdr"), w("ftr")):
            return None
        tc = tc.getparent()
    if tc is None:
        return None
    tr = tc.getparent()
    while tr is not None and tr.tag != w("tr"):
        tr = tr.getparent()
    tbl = tr.getparent() if tr is not None else None
    while tbl is not None and tbl.tag != W_TBL:
        tbl = tbl.getparent()
    if tr is None or tbl is None:
        return None
    return tc, tr, tbl


def _every_text(root: etree._Element) -> set[str]:
    """Each element's text, tail and attribute values, once each: what `_generic_texts` yields, and more."""
    texts: set[str] = set()
    for el in _every_node(root):
        if el.text:
            texts.add(el.text)
        if el.tail:
            texts.add(el.tail)
        if isinstance(el.tag, str):
            texts.update(el.attrib.values())
    return texts


def _every_node(root: etree._Element) -> Iterator[etree._Element]:
    """The root and everything in it, and the comments before and after it."""
    yield from root.itersiblings(preceding=True)
    yield from root.iter()
    yield from root.itersiblings()


def _generic_texts(part: str, root: etree._Element) -> Iterator[TextSpot]:
    """Every text of a part that is not a story, where it sits: an element's text and the text after it (mixed
    content, as a custom XML part may hold), its attributes, and XML comments, which no reader shows but the
    file carries."""
    for el in _every_node(root):
        if not isinstance(el.tag, str):  # an XML comment or processing instruction
            label = "XML comment"
            if el.text and el.text.strip():
                yield TextSpot(part, f"{part} ({label})", el.text)
        else:
            local = etree.QName(el).localname
            label = el.get("name") or local
            if el.text and el.text.strip():
                yield TextSpot(part, f"{part} '{label}'", el.text)
            for attr, value in el.attrib.items():
                if value and not value.startswith(("http://", "https://", "urn:")) and len(value) > 2:
                    yield TextSpot(part, f"{part} '{local}' attribute {etree.QName(attr).localname}", value)
        if el.tail and el.tail.strip():
            yield TextSpot(part, f"{part} text after '{label}'", el.tail)


def _short(text: str, limit: int = 60) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"
