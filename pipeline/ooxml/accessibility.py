"""What an accessibility reviewer looks at in a Word document, read out as plain facts.

Headings and their levels, pictures and their alt text, tables and whether
their first row is a header row, links and their words, the size of body
text, the colours the styles set, the title and language. The rules (what
counts as a problem) live in `pipeline/accessibility.py`; nothing here judges.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from lxml import etree

from .namespaces import WP
from .package import parse_xml, read_parts
from .reading import text_of
from .regions import W_P, W_PPR, W_TBL, paragraph_style, w

DC = "http://purl.org/dc/elements/1.1/"
BODY_STYLE_NAMES = re.compile(r"^(normal|body text.*|list( bullet| number| continue| paragraph)?( \d)?|plain text)$")
DEFAULT_HALF_POINTS = 20  # Word's size when neither the styles nor the defaults set one (10 pt)


@dataclass(frozen=True)
class HeadingFact:
    level: int
    text: str


@dataclass(frozen=True)
class ImageFact:
    where: str  # the heading above it
    alt: str


@dataclass(frozen=True)
class TableFact:
    where: str
    rows: int
    header_row: bool


@dataclass(frozen=True)
class LinkFact:
    where: str
    text: str


@dataclass(frozen=True)
class SmallText:
    where: str
    points: float


@dataclass(frozen=True)
class StyleColour:
    style: str  # the style's name as Word shows it
    colour: str  # RRGGBB
    background: str  # RRGGBB (white unless the style shades its paragraphs)


@dataclass
class DocumentFacts:
    title: str = ""
    language: str = ""
    headings: list[HeadingFact] = field(default_factory=list)
    images: list[ImageFact] = field(default_factory=list)
    tables: list[TableFact] = field(default_factory=list)
    links: list[LinkFact] = field(default_factory=list)
    small_text: list[SmallText] = field(default_factory=list)
    colours: list[StyleColour] = field(default_factory=list)


class _Styles:
    """Paragraph and character styles with basedOn followed: name, outline level, size, colour, shading."""

    def __init__(self, root: Optional[etree._Element]):
        self.by_id: dict[str, etree._Element] = {}
        self.default_id = ""
        self.default_size = DEFAULT_HALF_POINTS
        if root is None:
            return
        for style in root.iter(w("style")):
            self.by_id[style.get(w("styleId"), "")] = style
            if style.get(w("default")) in ("1", "true") and style.get(w("type")) == "paragraph":
                self.default_id = style.get(w("styleId"), "")
        size = root.find(f".//{w('rPrDefault')}/{w('rPr')}/{w('sz')}")
        if size is not None and (size.get(w("val")) or "").isdigit():
            self.default_size = int(size.get(w("val")))

    def chain(self, sid: str) -> list[etree._Element]:
        found, seen = [], set()
        while sid and sid in self.by_id and sid not in seen:
            seen.add(sid)
            style = self.by_id[sid]
            found.append(style)
            based = style.find(w("basedOn"))
            sid = based.get(w("val"), "") if based is not None else ""
        return found

    def first(self, sid: str, path: str) -> Optional[etree._Element]:
        for style in self.chain(sid):
            el = style.find(path)
            if el is not None:
                return el
        return None

    def name(self, sid: str) -> str:
        el = self.by_id.get(sid)
        name = el.find(w("name")) if el is not None else None
        return name.get(w("val"), sid) if name is not None else sid

    def level(self, sid: str) -> Optional[int]:
        m = re.fullmatch(r"heading ([1-9])", self.name(sid).casefold())
        if m:
            return int(m.group(1))
        outline = self.first(sid, f"{W_PPR}/{w('outlineLvl')}")
        value = outline.get(w("val"), "") if outline is not None else ""
        return int(value) + 1 if value.isdigit() and int(value) < 9 else None

    def size(self, sid: str) -> int:
        el = self.first(sid, f"{w('rPr')}/{w('sz')}")
        value = el.get(w("val"), "") if el is not None else ""
        return int(value) if value.isdigit() else self.default_size


def read_document_facts(docx: bytes) -> DocumentFacts:
    """Everything `pipeline.accessibility` checks, read from the package."""
    parts = read_parts(docx)
    styles_root = parse_xml(parts["word/styles.xml"], "word/styles.xml") if "word/styles.xml" in parts else None
    styles = _Styles(styles_root)
    facts = DocumentFacts()
    facts.title, facts.language = document_title_and_language(docx, parts=parts)
    body = parse_xml(parts["word/document.xml"], "word/document.xml").find(w("body"))
    used = _walk_body(body, styles, facts)
    facts.colours = _style_colours(styles, used)
    return facts


def document_title_and_language(docx: bytes, *, parts: Optional[dict[str, bytes]] = None) -> tuple[str, str]:
    """The title (document properties) and language (style defaults, else the properties); '' when unset."""
    parts = parts if parts is not None else read_parts(docx)
    title = language = ""
    if "docProps/core.xml" in parts:
        core = parse_xml(parts["docProps/core.xml"], "docProps/core.xml")
        title = (core.findtext(f"{{{DC}}}title") or "").strip()
        language = (core.findtext(f"{{{DC}}}language") or "").strip()
    if "word/styles.xml" in parts:
        lang = parse_xml(parts["word/styles.xml"], "word/styles.xml").find(
            f".//{w('rPrDefault')}/{w('rPr')}/{w('lang')}")
        if lang is not None and lang.get(w("val")):
            language = lang.get(w("val"))
    return title, language


def _walk_body(body: etree._Element, styles: _Styles, facts: DocumentFacts) -> set[tuple[str, str]]:
    """Fill in headings, pictures, tables, links and small text; return the (style, background) pairs used."""
    heading = "the start of the document"
    used: set[tuple[str, str]] = set()
    for el in body.iter(W_P, W_TBL, f"{{{WP}}}docPr", w("hyperlink")):
        if el.tag == W_P:
            sid = paragraph_style(el) or styles.default_id
            background = _cell_fill(el)
            used.add((sid, background))
            used.update((r.get(w("val"), ""), background) for r in el.iter(w("rStyle")))
            level = styles.level(sid)
            text = text_of(el).strip()
            if level and text and _enclosing(el, W_TBL) is None:
                heading = text
                facts.headings.append(HeadingFact(level, text))
            elif text and _enclosing(el, W_TBL) is None and BODY_STYLE_NAMES.match(styles.name(sid).casefold()):
                _small_text(el, sid, styles, f"under '{_short(heading)}'", facts)
        elif el.tag == W_TBL:
            rows = el.findall(w("tr"))
            marked = bool(rows) and rows[0].find(f"{w('trPr')}/{w('tblHeader')}") is not None
            facts.tables.append(TableFact(f"under '{_short(heading)}'", len(rows), marked))
        elif el.tag == f"{{{WP}}}docPr":
            alt = (el.get("descr") or "").strip() or (el.get("title") or "").strip()
            facts.images.append(ImageFact(f"under '{_short(heading)}'", alt))
        elif el.get(w("anchor")) is None or not el.get(w("anchor"), "").startswith("_Toc"):
            facts.links.append(LinkFact(f"under '{_short(heading)}'", text_of(el).strip()))
    return used


def _cell_fill(p: etree._Element) -> str:
    """The shading of the table cell the paragraph is in (RRGGBB), white outside tables or unshaded."""
    tc = _enclosing(p, w("tc"))
    shading = tc.find(f"{w('tcPr')}/{w('shd')}") if tc is not None else None
    fill = (shading.get(w("fill")) or "") if shading is not None else ""
    return fill.upper() if re.fullmatch(r"[0-9A-Fa-f]{6}", fill) else "FFFFFF"


def _small_text(p: etree._Element, sid: str, styles: _Styles, where: str, facts: DocumentFacts) -> None:
    """The smallest size any visible run of the paragraph is set in, when below 11 pt."""
    base = styles.size(sid)
    smallest = None
    for r in p.iter(w("r")):
        if not "".join(t.text or "" for t in r.iter(w("t"))).strip():
            continue
        size = base
        rstyle = r.find(f"{w('rPr')}/{w('rStyle')}")
        if rstyle is not None:
            el = styles.first(rstyle.get(w("val"), ""), f"{w('rPr')}/{w('sz')}")
            size = int(el.get(w("val"))) if el is not None and (el.get(w("val")) or "").isdigit() else size
        own = r.find(f"{w('rPr')}/{w('sz')}")
        if own is not None and (own.get(w("val")) or "").isdigit():
            size = int(own.get(w("val")))
        smallest = size if smallest is None else min(smallest, size)
    if smallest is not None and smallest < 22:
        facts.small_text.append(SmallText(where, smallest / 2))


def _style_colours(styles: _Styles, used: set[tuple[str, str]]) -> list[StyleColour]:
    """The text colour of each style the document uses, on the background it is used on."""
    found = []
    for sid, cell_fill in sorted(used):
        if sid not in styles.by_id:
            continue
        colour = styles.first(sid, f"{w('rPr')}/{w('color')}")
        value = (colour.get(w("val")) or "") if colour is not None else ""
        if not re.fullmatch(r"[0-9A-Fa-f]{6}", value):
            continue
        shading = styles.first(sid, f"{W_PPR}/{w('shd')}")
        fill = (shading.get(w("fill")) or "") if shading is not None else ""
        background = fill if re.fullmatch(r"[0-9A-Fa-f]{6}", fill) else cell_fill
        found.append(StyleColour(styles.name(sid), value.upper(), background.upper()))
    return found


def _enclosing(el: etree._Element, tag: str) -> Optional[etree._Element]:
    parent = el.getparent()
    while parent is not None and parent.tag != tag:
        parent = parent.getparent()
    return parent


def _short(text: str, limit: int = 60) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def read_tables(docx: bytes) -> list[TableFact]:
    return read_document_facts(docx).tables
