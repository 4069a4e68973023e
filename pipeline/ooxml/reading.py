"""Reading a WordprocessingML document back: tables, content controls and the text a person sees.

Measured: python-docx's `Paragraph.text` skips text inside inline content
controls and tracked insertions, and costs ten times more per file than
zipfile + lxml. So this module walks the XML itself, with lxml's C-level
`iter(tag...)` doing the work and Python touching only the elements that
carry text. Nothing here knows about audits.
"""

from __future__ import annotations

import posixpath
import re
import struct
from copy import deepcopy
from functools import lru_cache
from itertools import islice
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Mapping, Optional

from lxml import etree

from .package import Package, PackageError

from .namespaces import CONTENT_TYPES as CT, MC, PACKAGE_REL as REL, W, W14
STRICT_MARKER = "purl.oclc.org/ooxml"


def _w(name: str) -> str:
    return f"{{{W}}}{name}"


W_P, W_T, W_TAB, W_BR, W_CR = _w("p"), _w("t"), _w("tab"), _w("br"), _w("cr")
W_NBH = _w("noBreakHyphen")
W_TABS = _w("tabs")
W_TBL, W_TR, W_TC, W_SDT = _w("tbl"), _w("tr"), _w("tc"), _w("sdt")
W_SDTPR, W_SDTCONTENT = _w("sdtPr"), _w("sdtContent")
W_CUSTOMXML = _w("customXml")
W_BODY = _w("body")
VAL = _w("val")

TRACKED_CHANGE_TAGS = tuple(
    _w(n) for n in ("ins", "del", "moveFrom", "moveTo", "rPrChange", "pPrChange", "tblPrChange",
                    "trPrChange", "tcPrChange", "sectPrChange", "cellIns", "cellDel", "cellMerge",
                    "numberingChange", "tblGridChange")
)
COMMENT_TAGS = (_w("commentReference"), _w("commentRangeStart"))


CHECKED_GLYPHS = set("\u2612\u2611\u2713\u2714\u2717\u2718\u25a0\u25a3x")
UNCHECKED_GLYPHS = set("\u2610\u25a1")
CHECKED_WORDS = {"yes", "y", "ticked", "true"}
UNCHECKED_WORDS = {"no", "n", "false"}

# Main-part content types, by what they mean to the person who sent the file.
WORD_TYPES = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": "document",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml": "template",
    "application/vnd.ms-word.document.macroEnabled.main+xml": "macro-document",
    "application/vnd.ms-word.template.macroEnabledTemplate.main+xml": "macro-template",
}


_MACRO_MAIN = re.compile(rb"macroEnabled(?:Template)?\.main\+xml")


def _truthy(value: Optional[str]) -> bool:
    """OOXML on/off values: absent val means on."""
    return value is None or value.lower() not in ("0", "false", "off")


# --- what kind of package this is -----------------------------------------


@dataclass
class PackageKind:
    """What the zip really holds, whatever its file name says."""

    family: str  # word | excel | powerpoint | opendocument | unknown
    main_part: Optional[str] = None
    word_kind: Optional[str] = None  # document | template | macro-document | macro-template
    strict: bool = False
    has_macros: bool = False
    detail: str = ""


def describe_package(pkg: Package) -> PackageKind:
    """Identify the package by its relationships and content types, never by its extension."""
    if pkg.has("mimetype"):
        mime = pkg.read("mimetype")[:100].decode("ascii", "replace").strip()
        return PackageKind("opendocument", detail=mime)
    has_macros = any(n.lower().endswith("vbaproject.bin") for n in pkg.names)
    main_part, strict = None, False
    rels = pkg.xml("_rels/.rels") if pkg.has("_rels/.rels") else None
    if rels is not None:
        for rel in rels.iter(f"{{{REL}}}Relationship"):
            rtype = rel.get("Type") or ""
            if rtype.endswith("/officeDocument"):
                strict = STRICT_MARKER in rtype
                main_part = posixpath.normpath((rel.get("Target") or "").lstrip("/"))
                break
    if main_part is None:
        for guess in ("word/document.xml", "xl/workbook.xml", "ppt/presentation.xml"):
            if pkg.has(guess):
                main_part = guess
                break
    if main_part is None or not pkg.has(main_part):
        return PackageKind("unknown", detail="no main document part", has_macros=has_macros)
    if main_part == "word/document.xml" and not strict and pkg.has("[Content_Types].xml"):
        # The usual Word package: only a macro-enabled main part matters, and its content type says so.
        macro = _MACRO_MAIN.search(pkg.read("[Content_Types].xml")) is not None
        return PackageKind("word", main_part, "macro-document" if macro else "document",
                           has_macros=has_macros or macro)
    content_type = _content_type(pkg, main_part)
    if main_part.startswith("xl/") or ".spreadsheetml." in content_type or "ms-excel" in content_type:
        return PackageKind("excel", main_part, has_macros=has_macros, strict=strict)
    if main_part.startswith("ppt/") or ".presentationml." in content_type or "ms-powerpoint" in content_type:
        return PackageKind("powerpoint", main_part, has_macros=has_macros, strict=strict)
    word_kind = WORD_TYPES.get(content_type)
    if word_kind is None and main_part.startswith("word/"):
        word_kind = "document"
    if word_kind is None:
        return PackageKind("unknown", main_part, detail=content_type, has_macros=has_macros)
    return PackageKind("word", main_part, word_kind, strict=strict,
                       has_macros=has_macros or word_kind.startswith("macro"))


def _content_type(pkg: Package, part: str) -> str:
    if not pkg.has("[Content_Types].xml"):
        return ""
    types = pkg.xml("[Content_Types].xml")
    wanted = "/" + part
    for el in types.iter(f"{{{CT}}}Override"):
        if (el.get("PartName") or "").lower() == wanted.lower():
            return el.get("ContentType") or ""
    ext = part.rsplit(".", 1)[-1].lower()
    for el in types.iter(f"{{{CT}}}Default"):
        if (el.get("Extension") or "").lower() == ext:
            return el.get("ContentType") or ""
    return ""


# --- legacy binary (OLE2 / Compound File) containers ------------------------


def describe_ole2(data: bytes) -> str:
    """What an OLE2 compound file holds, from its stream names.

    Returns one of: encrypted-package (a password-protected .docx/.xlsx),
    encrypted-doc, doc, excel, powerpoint, outlook-message, unknown.
    """
    try:
        names, word_head = _ole2_streams(data)
    except (struct.error, IndexError, ValueError):
        return "unknown"
    if "EncryptedPackage" in names or "EncryptionInfo" in names:
        return "encrypted-package"
    if "WordDocument" in names:
        if word_head is not None and len(word_head) >= 12:
            flags = struct.unpack_from("<H", word_head, 0x0A)[0]
            if flags & 0x0100:
                return "encrypted-doc"
        return "doc"
    if "Workbook" in names or "Book" in names:
        return "excel"
    if "PowerPoint Document" in names:
        return "powerpoint"
    if any(n.startswith("__substg1.0_") or n.startswith("__properties_version1.0") for n in names):
        return "outlook-message"
    return "unknown"


def _ole2_streams(data: bytes) -> tuple[set[str], Optional[bytes]]:
    """Stream names of a compound file, and the first bytes of its WordDocument stream."""
    sector_shift = struct.unpack_from("<H", data, 0x1E)[0]
    if sector_shift not in (9, 12):
        raise ValueError("bad sector size")
    size = 1 << sector_shift
    cutoff = struct.unpack_from("<I", data, 0x38)[0]
    first_dir = struct.unpack_from("<I", data, 0x30)[0]
    difat = [s for s in struct.unpack_from("<109I", data, 0x4C) if s < 0xFFFFFFFA]

    def sector(n: int) -> bytes:
        start = (n + 1) * size
        if start >= len(data):  # a short last sector is tolerated, a missing one is not
            raise ValueError("sector beyond end of file")
        return data[start:start + size]

    fat: list[int] = []
    for s in difat[:200]:
        chunk = sector(s)
        fat.extend(struct.unpack_from(f"<{len(chunk) // 4}I", chunk))
    names: set[str] = set()
    word: Optional[tuple[int, int]] = None
    s, seen = first_dir, 0
    while s < 0xFFFFFFFA and seen < 1000:
        chunk = sector(s)
        for off in range(0, len(chunk) - 127, 128):
            entry = chunk[off:off + 128]
            name_len = struct.unpack_from("<H", entry, 0x40)[0]
            if not 2 <= name_len <= 64:
                continue
            name = entry[:name_len - 2].decode("utf-16-le", "replace")
            names.add(name)
            if name == "WordDocument" and entry[0x42] == 2:
                word = struct.unpack_from("<I", entry, 0x74)[0], struct.unpack_from("<I", entry, 0x78)[0]
        s = fat[s] if s < len(fat) else 0xFFFFFFFE
        seen += 1
    head = None
    if word is not None and word[1] >= cutoff and word[0] < 0xFFFFFFFA:
        head = sector(word[0])[:32]
    return names, head


# --- text as a person reads it --------------------------------------------


_TEXT_TAGS = (W_T, W_TAB, W_BR, W_CR, W_NBH)
_FALLBACK = f"{{{MC}}}Fallback"
_UNSEEN_TAGS = (_w("del"), _w("moveFrom"), _FALLBACK)
_PLACEHOLDER_FLAG = _w("showingPlcHdr")


_RUN, _RPR, _RSTYLE = _w("r"), _w("rPr"), _w("rStyle")
_SPECIAL_TEXT = {W_TAB: "\t", W_BR: "\n", W_CR: "\n", W_NBH: "-"}  # what a text element other than w:t reads as
_RUN_OR_TEXT = frozenset((_RUN, *_TEXT_TAGS))
_TEXT_TAG_SET = frozenset(_TEXT_TAGS)


def _placeholder_text(content: etree._Element) -> list[etree._Element]:
    """Text of a control flagged as showing its placeholder that is really the placeholder.

    Word clears the flag when someone types, but an editor that leaves it set
    would otherwise lose what was typed: when some runs carry the placeholder
    character style and others do not, only the styled ones are placeholder.
    """
    if len(content) == 1 and content[0].tag == _RUN:  # the usual case: the placeholder run alone
        texts = []
        for child in content[0]:
            tag = child.tag
            if tag in _TEXT_TAG_SET:
                texts.append(child)
            elif tag != _RPR and len(child):  # a text box or the like in the run: looked at the general way
                break
        else:
            return texts
    # unfiltered: setting up a tag filter costs more than walking a control's handful of elements
    found = [el for el in content.iter() if el.tag in _RUN_OR_TEXT]
    runs = [el for el in found if el.tag == _RUN]
    if len(runs) <= 1:  # the usual case: the placeholder run alone
        return [el for el in found if el.tag != _RUN]
    styled, plain = [], []
    for run in runs:
        style = run.find(f"{_RPR}/{_RSTYLE}")
        is_placeholder = style is not None and "placeholder" in (style.get(VAL) or "").casefold()
        texts = [n for n in run.iter(*_TEXT_TAGS) if n.tag != W_T or n.text]
        (styled if is_placeholder else plain).extend(texts)
    if styled and any(n.tag == W_T for n in plain):
        return styled
    return [n for n in content.iter(*_TEXT_TAGS)]


def strip_unseen_text(root: etree._Element, found: Optional[list[etree._Element]] = None) -> None:
    """Drop, from a parsed tree, text a reader does not see: tracked deletions, placeholder text, compatibility fallbacks.

    Done once per document so that `text_of` is one C-level pass per cell; the
    elements that carry the meaning (w:del, w:sdt, showingPlcHdr) stay. `found`:
    the deletion, fallback and placeholder-flag elements, if the caller has them.
    """
    if found is None:
        found = list(root.iter(*_UNSEEN_TAGS, _PLACEHOLDER_FLAG))
    for node in [node for el in found for node in _hidden_by(el)]:  # all found before any is taken out
        if node.tag == W_T:
            node.text = None  # cheaper than removing it, and reads the same
        elif node.getparent() is not None:  # not taken out already (a deletion inside a fallback, say)
            node.getparent().remove(node)


def _hidden_by(el: etree._Element) -> list[etree._Element]:
    """The text elements a deletion, a move away, a fallback or a placeholder flag (`el`) keeps from the reader."""
    if el.tag != _PLACEHOLDER_FLAG:
        return list(el.iter(*_TEXT_TAGS))
    sdt = el.getparent().getparent()
    if _truthy(el.get(VAL)) and sdt is not None and sdt.tag == W_SDT:
        content = _child(sdt, W_SDTCONTENT)
        if content is not None:
            return _placeholder_text(content)
    return []


@lru_cache(maxsize=4096)  # the same headings and instructions come back on every form of a cycle
def placeholder_key(text: str) -> str:
    """Text compared as a person reads it: spacing, non-breaking spaces, case and a final full stop ignored."""
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ")).strip().rstrip(".").strip().casefold()


def strip_known_placeholders(root: etree._Element, known: frozenset[str],
                             regions: Optional[Iterable[etree._Element]] = None) -> None:
    """Blank controls still showing a known placeholder text, whether or not they are flagged as showing it.

    A control that lost its properties (copied, converted, edited outside Word) keeps the grey
    words as ordinary text; they are never what someone typed. Where typed text sits beside
    placeholder-styled runs, only those runs are the placeholder. `known`: texts through `placeholder_key`.
    `regions`: only the controls inside these elements of `root` are looked at.
    """
    if not known:
        return
    longest, starts = _placeholder_words(known)
    contents = root.iter(W_SDTCONTENT) if regions is None else \
        (content for region in regions for content in region.iter(W_SDTCONTENT))
    for content in contents:
        shown = ""
        for t in content.iter(W_T):  # stop reading as soon as the text is too long: most controls are answers
            shown += t.text or ""
            if len(shown) > longest:
                break
        if not shown or len(shown) > longest or not shown.lstrip().casefold().startswith(starts):
            continue
        nodes = _placeholder_text(content)
        text = "".join(n.text or "" for n in nodes if n.tag == W_T)
        if text and placeholder_key(text) in known:
            for node in nodes:
                if node.tag == W_T:
                    node.text = None
                elif node.getparent() is not None:
                    node.getparent().remove(node)


def text_of(el: etree._Element) -> str:
    """Everything typed in `el`: all runs joined, paragraphs and breaks as newlines, tabs as tabs.

    On a tree that went through `strip_unseen_text`, tracked insertions are in and
    deletions and placeholders out.
    """
    parts: list[str] = []
    first_p = True
    # A short paragraph is walked unfiltered: setting up a tag filter costs more than its few other elements.
    nodes = el.iter() if len(el) <= 4 and el.tag == W_P else el.iter(W_P, *_TEXT_TAGS)
    for node in nodes:
        tag = node.tag
        if tag == W_T:
            if node.text:
                parts.append(node.text)
        elif tag == W_P:
            if not first_p:
                parts.append("\n")
            first_p = False
        elif tag in _SPECIAL_TEXT:
            if tag != W_TAB or node.getparent().tag != W_TABS:
                parts.append(_SPECIAL_TEXT[tag])
    return "".join(parts).strip()


# --- content controls -----------------------------------------------------

_TYPE_ELEMENTS = {
    _w("dropDownList"): "dropdown", _w("comboBox"): "combobox", _w("date"): "date", _w("text"): "text",
    _w("richText"): "richtext", _w("picture"): "picture", _w("docPartObj"): "docpart", _w("docPartList"): "docpart",
    _w("group"): "group", _w("equation"): "equation", _w("citation"): "citation", _w("bibliography"): "bibliography",
    f"{{{W14}}}checkbox": "checkbox",
}


def _child(el: etree._Element, tag: str) -> Optional[etree._Element]:
    """`el.find(tag)` for a child that comes early (a control's properties, a table's grid, the body):
    a loop over the first few children costs a fraction of ElementPath's lookup."""
    for child in el:
        if child.tag == tag:
            return child
    return None


def control_kind(sdt: etree._Element) -> str:
    """richtext, dropdown, combobox, checkbox, text, date, picture, ...: from the type element in w:sdtPr."""
    pr = _child(sdt, W_SDTPR)
    if pr is not None:
        for child in pr:
            kind = _TYPE_ELEMENTS.get(child.tag)
            if kind:
                return kind
    return "richtext"  # Word writes no type element for a rich-text control


class Control:
    """One content control (w:sdt) as the person filling the form left it.

    Only the tag and the placeholder flag are read up front; the rest is read
    on first use, because a form has dozens of controls and most callers need
    only the cell's text.
    """

    __slots__ = ("element", "tag", "showing_placeholder", "_kind", "_text")

    def __init__(self, element: etree._Element, tag: str, showing_placeholder: bool):
        self.element = element
        self.tag = tag
        self.showing_placeholder = showing_placeholder
        self._kind: Optional[str] = None
        self._text: Optional[str] = None

    def __repr__(self) -> str:
        return f"Control(tag={self.tag!r}, kind={self.kind!r}, text={self.text!r})"

    @property
    def kind(self) -> str:
        """As `control_kind` names it: richtext, dropdown, combobox, checkbox, text, date..."""
        if self._kind is None:
            self._kind = control_kind(self.element)
        return self._kind

    @property
    def checked(self) -> Optional[bool]:
        """The checkbox's own state (None for other kinds of control)."""
        if self.kind != "checkbox":
            return None
        state = self.element.find(_CHECKED)
        return state is not None and (state.get(_W14_VAL) or "0").lower() in ("1", "true", "on")

    @property
    def items(self) -> tuple[tuple[str, str], ...]:
        """A list control's choices as (display text, value)."""
        if self.kind not in ("dropdown", "combobox"):
            return ()
        return tuple((li.get(_DISPLAY) or li.get(_VALUE) or "", li.get(_VALUE) or "")
                     for li in self.element.find(W_SDTPR).iter(_LIST_ITEM))

    @property
    def choices(self) -> list[str]:
        """A list control's choices as a person sees them (display texts), in order."""
        return [display for display, _ in self.items]

    @property
    def alias(self) -> str:
        """The control's title, as Word shows it on the control's edge."""
        pr = self.element.find(W_SDTPR)
        alias = pr.find(_ALIAS) if pr is not None else None
        return (alias.get(VAL) or "") if alias is not None else ""

    @property
    def inline(self) -> bool:
        """Sits inside a paragraph, around runs (a block, row or cell control holds paragraphs, rows or cells)."""
        content = self.element.find(W_SDTCONTENT)
        return content is None or all(content.find(tag) is None for tag in (W_P, W_TBL, W_TR, W_TC))

    @property
    def text(self) -> str:
        """What the control shows; placeholder excepted on a tree that went through `strip_unseen_text`."""
        if self._text is None:
            content = _child(self.element, W_SDTCONTENT)
            # the tree went through strip_unseen_text: placeholder runs are already empty
            self._text = "" if content is None else text_of(content)
        return self._text

    def chosen_item(self, shown: Optional[str] = None) -> Optional[str]:
        """The display text of the list item the control's text (or `shown`) is: matched on display text, then value."""
        wanted = _squash(self.text if shown is None else shown)
        if not wanted:
            return None
        items = self.items
        for display, value in items:
            if _squash(display) == wanted:
                return display
        for display, value in items:
            if _squash(value) == wanted:
                return display or value
        return None


_TAG, _PLACEHOLDER, _ALIAS = _w("tag"), _w("showingPlcHdr"), _w("alias")
_CHECKED, _W14_VAL = f"{{{W}}}sdtPr/{{{W14}}}checkbox/{{{W14}}}checked", f"{{{W14}}}val"
_LIST_ITEM, _DISPLAY, _VALUE = _w("listItem"), _w("displayText"), _w("value")


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ")).strip().casefold()


def read_control(sdt: etree._Element) -> Control:
    tag, placeholder = "", False
    pr = _child(sdt, W_SDTPR)
    if pr is not None:
        for child in pr:
            if child.tag == _TAG:
                tag = child.get(VAL) or ""
            elif child.tag == _PLACEHOLDER:
                placeholder = _truthy(child.get(VAL))
    return Control(sdt, tag, placeholder)


def list_controls(root: etree._Element) -> list[Control]:
    """Every content control in a parsed part, outermost first, in document order."""
    return [read_control(sdt) for sdt in root.iter(W_SDT)]


def checkbox_state(control: Optional[Control], cell_text: str) -> Optional[bool]:
    """Ticked or not: the control's own state first, then the glyph (or an X) typed in its place.

    None when nothing says either way.
    """
    if control is not None and control.checked is not None:
        return control.checked
    text = _squash(control.text if control is not None and control.text else cell_text)
    if not text:
        return None
    if text in CHECKED_WORDS or (len(text) == 1 and text in CHECKED_GLYPHS):
        return True
    if text in UNCHECKED_WORDS or (len(text) == 1 and text in UNCHECKED_GLYPHS):
        return False
    return None


# --- tables ---------------------------------------------------------------


class Cell:
    """One table cell; its text and controls are read on first use (most cells of most tables are never looked at)."""

    __slots__ = ("element", "column", "_text", "_first_line", "_controls", "_tags")

    def __init__(self, element: etree._Element, column: int, text: Optional[str] = None,
                 first_line: Optional[str] = None, tags: Optional[tuple[str, ...]] = None):
        self.element = element
        self.column = column  # grid column where the cell starts
        self._text, self._first_line, self._tags = text, first_line, tags  # None: read on first use
        self._controls: Optional[list[Control]] = None

    def __repr__(self) -> str:
        return f"Cell(column={self.column}, text={self.text!r})"

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = text_of(self.element)
        return self._text

    @property
    def first_line(self) -> str:
        """The text of the cell's first non-empty paragraph: enough to recognise a row by its label."""
        if self._first_line is None:
            self._first_line = ""
            for p in self.element.iter(W_P):
                text = text_of(p)
                if text:
                    self._first_line = text
                    break
        return self._first_line

    def _wrapper(self) -> Optional[etree._Element]:
        """The content control wrapping the whole cell, if there is one."""
        parent = self.element.getparent()
        return parent.getparent() if parent is not None and parent.tag == W_SDTCONTENT else None

    @property
    def tags(self) -> tuple[str, ...]:
        """Tags of the content controls in (or wrapping) the cell; cheaper than reading the controls."""
        if self._tags is None:
            values = [t.get(VAL) for t in self.element.iter(_TAG) if t.getparent().tag == W_SDTPR]
            wrapper = self._wrapper()
            if wrapper is not None:  # its sdtPr/tag, looked up by hand: ElementPath is slow on a hot path
                own = next((t for pr in wrapper if pr.tag == W_SDTPR for t in pr if t.tag == _TAG), None)
                if own is not None:
                    values.insert(0, own.get(VAL))
            self._tags = tuple(v for v in values if v)
        return self._tags

    @property
    def controls(self) -> list[Control]:
        if self._controls is None:
            found = [read_control(sdt) for sdt in self.element.iter(W_SDT)]
            wrapper = self._wrapper()
            if wrapper is not None:
                found.insert(0, read_control(wrapper))
            self._controls = found
        return self._controls

    def control(self, kind: Optional[str] = None) -> Optional[Control]:
        for c in self.controls:
            if kind is None or c.kind == kind:
                return c
        return None

    def segments(self) -> list[tuple[Optional[Control], str]]:
        """The cell's separate entries, in order, with the innermost control each sits in (None: typed outside).

        A new entry starts at each paragraph and at each edge of a control. The usual cell is one
        entry; a control copied beside another, text typed next to one, or a word processor that
        folded one control into another (LibreOffice does with adjacent ones) gives more.
        """
        if "\n" not in self.text:  # the usual cell: one control holding all the text, or none; quickly told
            sdts = list(self.element.iter(W_SDT))
            if not sdts:
                return [(None, self.text)] if self.text else []
            if len(sdts) == 1 and "".join(sdts[0].itertext(W_T)) == "".join(self.element.itertext(W_T)):
                return [(read_control(sdts[0]), self.text)] if self.text else []
        found: list[tuple[Optional[Control], str]] = []
        parts: list[str] = []

        def flush(owner: Optional[Control]) -> None:
            text = "".join(parts).strip()
            if text:
                found.append((owner, text))
            parts.clear()

        def walk(el: etree._Element, owner: Optional[Control]) -> None:
            for child in el:
                tag = child.tag
                if tag == W_SDT:
                    flush(owner)
                    content = child.find(W_SDTCONTENT)
                    if content is not None:
                        inner = read_control(child)
                        walk(content, inner)
                        flush(inner)
                elif tag == W_P:
                    flush(owner)
                    walk(child, owner)
                    flush(owner)
                elif tag in _TEXT_TAGS:
                    parts.append(_SPECIAL_TEXT.get(tag, child.text or "") if tag != W_T else child.text or "")
                elif tag not in (_PPR, _RPR, W_SDTPR):
                    walk(child, owner)

        walk(self.element, None)
        flush(None)
        return found


_PPR = _w("pPr")


@dataclass
class Row:
    cells: list[Cell]

    @property
    def label(self) -> str:
        """First line of the first cell: how a person names the row."""
        return self.cells[0].first_line if self.cells else ""


@dataclass
class Table:
    index: int
    element: etree._Element = field(repr=False)
    rows: list[Row]
    nested: bool
    paragraph_texts: Optional[dict] = field(default=None, repr=False, compare=False)  # its document's, once read

    def headings(self, wanted: int = 3) -> Iterator[str]:
        """Texts of the nearest non-empty paragraphs above the table, nearest first, read only as far as asked."""
        return iter(()) if self.nested else _paragraphs_before(self.element, wanted, self.paragraph_texts)

    @property
    def header_repeats(self) -> bool:
        """Is the first row marked to repeat at the top of each page?"""
        first = next(_children(self.element, W_TR), None)
        flag = first.find(f"{W_TRPR}/{_w('tblHeader')}") if first is not None else None
        return flag is not None and _truthy(flag.get(VAL))

    def texts(self) -> list[list[str]]:
        """The table as rows of cell texts."""
        return [[cell.text for cell in row.cells] for row in self.rows]


def _children(parent: etree._Element, wanted: str):
    """Direct children of `parent` with tag `wanted`, looking through sdt/customXml wrappers."""
    for child in parent:
        tag = child.tag
        if tag == wanted:
            yield child
        elif tag == W_SDT:
            content = child.find(W_SDTCONTENT)
            if content is not None:
                yield from _children(content, wanted)
        elif tag == W_CUSTOMXML:
            yield from _children(child, wanted)


W_TRPR, W_TCPR, W_TBLGRID = _w("trPr"), _w("tcPr"), _w("tblGrid")
W_GRIDSPAN, W_GRIDBEFORE, W_DEL = _w("gridSpan"), _w("gridBefore"), _w("del")


def _property(el: etree._Element, props_tag: str, wanted: str) -> Optional[etree._Element]:
    """`el`'s <props_tag>/<wanted>, looked up by hand: ElementPath is slow on a hot path."""
    if not len(el) or el[0].tag != props_tag:
        return None
    for child in el[0]:
        if child.tag == wanted:
            return child
    return None


def _int_val(el: Optional[etree._Element], default: int) -> int:
    if el is None:
        return default
    try:
        return max(default, int(el.get(VAL)))
    except (TypeError, ValueError):
        return default


def read_table(tbl: etree._Element, index: int = 0, nested: bool = False) -> Table:
    """Rows and cells as laid out on the grid: a cell's column counts merged (gridSpan) cells before it."""
    grid = _child(tbl, W_TBLGRID)
    grid_columns = len(grid) if grid is not None else -1
    rows = []
    for tr in _children(tbl, W_TR):
        if _property(tr, W_TRPR, W_DEL) is not None:  # a tracked row deletion
            continue
        tcs = list(_children(tr, W_TC))
        if len(tcs) == grid_columns:  # a cell per grid column: nothing merged, no lookups needed
            rows.append(Row([Cell(tc, column) for column, tc in enumerate(tcs)]))
            continue
        column = _int_val(_property(tr, W_TRPR, W_GRIDBEFORE), 0)
        cells = []
        for tc in tcs:
            cells.append(Cell(tc, column))
            column += _int_val(_property(tc, W_TCPR, W_GRIDSPAN), 1)
        rows.append(Row(cells))
    return Table(index, tbl, rows, nested)


_TXBX = _w("txbxContent")
_AT_ONCE_TAGS = (W_TBL, W_TR, W_TC, W_P, W_T, W_TAB, W_BR, W_CR, W_NBH, _TAG, _TXBX)


def read_table_at_once(tbl: etree._Element, index: int = 0, nested: bool = False) -> Optional[Table]:
    """`read_table`, with every cell's text, first line and tags read in one C-level pass over the table.

    A form's reader looks at nearly every cell, and one pass costs a fraction of a pass per cell. None
    for a table this pass cannot read exactly as a cell-by-cell reading would (a table or text box
    inside it, a control wrapped round a row or cell): `read_table` reads those.
    """
    t_, p_, tc_, tr_, tag_, tab_, sdtpr_, tabs_ = W_T, W_P, W_TC, W_TR, _TAG, W_TAB, W_SDTPR, W_TABS
    grid = _child(tbl, W_TBLGRID)
    grid_columns = len(grid) if grid is not None else -1
    rows: list[Row] = []
    row_cells: list[Cell] = []
    row_el = None  # the row being read; None in a deleted row
    at = 0  # cells read in the row: a cell's grid column, until the row is placed on the grid (merged cells)
    tc = None  # the cell being read; None between cells and in a deleted row
    parts: list[str] = []
    tags: list[str] = []
    paragraphs, line_start, first = 0, 0, None
    for el in islice(tbl.iter(*_AT_ONCE_TAGS), 1, None):  # the table itself comes first
        tag = el.tag
        if tag == t_:
            text = el.text
            if text:
                parts.append(text)
        elif tag == p_:
            if paragraphs:
                if first is None:
                    first = "".join(parts[line_start:]).strip() or None
                parts.append("\n")
            paragraphs += 1
            line_start = len(parts)
        elif tag == tc_ or tag == tr_:
            if tc is not None:  # the cell before is complete
                if first is None:
                    first = "".join(parts[line_start:]).strip()
                row_cells.append(Cell(tc, at - 1, "".join(parts).strip(), first, tuple(tags)))
                tc = None
            if tag == tc_:
                if row_el is None:  # a deleted row's cell
                    continue
                if el.getparent() is not row_el:  # wrapped in a control or custom XML
                    return None
                tc, at = el, at + 1
                parts, tags, paragraphs, line_start, first = [], [], 0, 0, None
                continue
            _on_the_grid(row_el, row_cells, grid_columns)
            if el.getparent() is not tbl:
                return None
            if _property(el, W_TRPR, W_DEL) is not None:  # a tracked row deletion
                row_el = None
                continue
            row_el, at, row_cells = el, 0, []
            rows.append(Row(row_cells))
        elif tag == tag_:
            if tc is not None and el.getparent().tag == sdtpr_:
                value = el.get(VAL)
                if value:
                    tags.append(value)
        elif tag in _SPECIAL_TEXT:  # read as text_of reads them
            if tag != tab_ or el.getparent().tag != tabs_:
                parts.append(_SPECIAL_TEXT[tag])
        else:  # a table or text box inside this one
            return None
    if tc is not None:
        if first is None:
            first = "".join(parts[line_start:]).strip()
        row_cells.append(Cell(tc, at - 1, "".join(parts).strip(), first, tuple(tags)))
    _on_the_grid(row_el, row_cells, grid_columns)
    return Table(index, tbl, rows, nested)


def _on_the_grid(tr: Optional[etree._Element], cells: list[Cell], grid_columns: int) -> None:
    """Give a row's cells their grid columns where these are not simply their places in the row.

    They are when the row has a cell per grid column; a row with fewer (merged or skipped cells) or more
    has them counted from its gridBefore and each cell's gridSpan.
    """
    if tr is None or len(cells) == grid_columns:  # a cell per grid column: nothing merged, no lookups needed
        return
    column = _int_val(_property(tr, W_TRPR, W_GRIDBEFORE), 0)
    for cell in cells:
        cell.column = column
        column += _int_val(_property(cell.element, W_TCPR, W_GRIDSPAN), 1)


def paragraph_text(p: etree._Element, texts: Optional[dict]) -> str:
    """`text_of(p)`, read once per paragraph of a document (`texts`, its `WordDocument.paragraph_texts`)."""
    if texts is None:
        return text_of(p)
    text = texts.get(p)
    if text is None:
        text = texts[p] = text_of(p)
    return text


def _paragraphs_before(tbl: etree._Element, wanted: int, texts: Optional[dict] = None) -> Iterator[str]:
    found = 0
    node = tbl
    while node is not None:
        for sib in node.itersiblings(preceding=True):
            if sib.tag == W_TBL:
                return
            if sib.tag == W_P:
                paragraphs = [sib]
            elif sib.tag in (W_SDT, W_CUSTOMXML):
                paragraphs = list(sib.iter(W_P))[::-1]
            else:
                continue
            for p in paragraphs:
                text = paragraph_text(p, texts)
                if text:
                    yield text
                    found += 1
                    if found == wanted:
                        return
        parent = node.getparent()  # a table inside a block-level control: keep looking above the control
        if parent is None or parent.tag not in (W_SDTCONTENT, W_CUSTOMXML):
            return
        node = parent.getparent() if parent.tag == W_SDTCONTENT else parent


# --- the whole document ---------------------------------------------------


class TooManyRows(Exception):
    def __init__(self, rows: int):
        super().__init__(rows)
        self.rows = rows


class PartTooLarge(Exception):
    """A part that would cost far more memory to read than any form needs; checked before it is read."""

    def __init__(self, part: str, size: int, limit: int):
        super().__init__(part, size, limit)
        self.part, self.size, self.limit = part, size, limit


def check_part_size(pkg: Package, part: str, limit: int) -> None:
    """PartTooLarge if `part` unpacks to more than `limit` bytes.

    The size is the one the zip states; reading stops there, so it bounds what parsing can cost.
    """
    if pkg.has(part):
        size = pkg.zf.getinfo(part).file_size
        if size > limit:
            raise PartTooLarge(part, size, limit)


@dataclass
class WordDocument:
    root: etree._Element = field(repr=False)
    tables: list[Table]
    has_tracked_changes: bool
    has_comments: bool
    table_rows: int
    has_text_boxes: bool = True  # False only when known to have none: paragraphs then hold no paragraphs
    # Paragraph element -> its text, read once: the identity, the other text and the tables' headings
    # all read the paragraphs outside the tables. The tree is final once the document is read.
    paragraph_texts: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for table in self.tables:
            table.paragraph_texts = self.paragraph_texts

    def body_paragraphs(self) -> Iterator[str]:
        """Texts of the non-empty paragraphs outside tables (including those in block-level controls), in order."""
        body = _child(self.root, W_BODY)
        if body is None:
            return
        for p in _children(body, W_P):
            text = paragraph_text(p, self.paragraph_texts)
            if text:
                yield text


    def placed_paragraphs(self) -> list[tuple[str, str]]:
        """(where, text) of the non-empty paragraphs outside tables, in order.

        where: "before the first table", "after table N" (N counted from 1, top-level tables) or
        "after the last table": enough for a person to find the paragraph on the page.
        """
        body = _child(self.root, W_BODY)
        if body is None:
            return []
        found: list[tuple[int, str]] = []
        tables = _placed(body, found, 0, self.has_text_boxes, self.paragraph_texts)

        def where(after: int) -> str:
            if after == 0:
                return "before the first table"
            return "after the last table" if after == tables else f"after table {after}"
        return [(where(after), text) for after, text in found]


def _placed(parent: etree._Element, found: list[tuple[int, str]], tables: int, boxes: bool = True,
            texts: Optional[dict] = None) -> int:
    """Paragraphs outside tables under `parent` into `found`, as (top-level tables before, text); the new count.

    Tables are counted, never walked into (most of a form's paragraphs are in them). A paragraph
    holding others (a text box) is walked as a whole document would be, its own tables included.
    """
    for el in parent:
        tag = el.tag
        if tag == W_TBL:
            tables += 1
        elif tag == W_P:
            text = paragraph_text(el, texts)
            if text:
                found.append((tables, text))
            if not boxes:
                continue
            for inner in islice(el.iter(W_P, W_TBL), 1, None):  # text boxes: paragraphs (and tables) inside
                if next(inner.iterancestors(W_TBL), None) is not None:
                    continue
                if inner.tag == W_TBL:
                    tables += 1
                else:
                    text = text_of(inner)
                    if text:
                        found.append((tables, text))
        elif isinstance(tag, str):
            tables = _placed(el, found, tables, boxes, texts)
    return tables


def read_word_document(pkg: Package, part: str = "word/document.xml", *, max_table_rows: int = 2000,
                       max_part_bytes: Optional[int] = None, placeholders: Iterable[str] = (),
                       tables: bool = True) -> WordDocument:
    """The document's tables (in order, each with the paragraphs above it) and revision flags.

    Raises PartTooLarge before parsing a part over `max_part_bytes`, TooManyRows before
    reading a cell when the document has more table rows than `max_table_rows`, and
    PackageError when the XML is unsafe or damaged. Controls showing one of `placeholders`
    read as empty, flagged as a placeholder or not. `tables=False`: the tables are not read
    (`tables` is empty) nor their unseen text taken out, for a caller that needs only the text outside them.
    """
    if max_part_bytes is not None:
        check_part_size(pkg, part, max_part_bytes)
    root = pkg.xml(part)
    if root is None:
        raise PackageError("package.no-document", "The file has no document part.")
    return word_document(root, max_table_rows=max_table_rows, placeholders=placeholders, tables=tables)


def word_document(root: etree._Element, *, max_table_rows: int = 2000, placeholders: Iterable[str] = (),
                  tables: bool = True) -> WordDocument:
    """A parsed document part read as `read_word_document` reads it (the tree is changed: unseen text goes)."""
    if STRICT_MARKER in (etree.QName(root).namespace or ""):
        raise PackageError("package.strict", "The document is saved as Strict Open XML.")
    row_count, tracked, comments, boxes, unseen, tbls = 0, False, False, False, [], []
    for el in root.iter(W_TR, W_TBL, _PLACEHOLDER_FLAG, *TRACKED_CHANGE_TAGS, *COMMENT_TAGS, *_UNSEEN_TAGS, _TXBX):  # one C pass
        tag = el.tag
        if tag == W_TR:
            row_count += 1
        elif tag == W_TBL:
            tbls.append(el)
        elif tag == _PLACEHOLDER_FLAG or tag == _FALLBACK:
            unseen.append(el)
        elif tag == _TXBX:
            boxes = True
        elif tag in COMMENT_TAGS:
            comments = True
        else:
            tracked = True
            if tag in _UNSEEN_TAGS:  # a deletion or a move away
                unseen.append(el)
    if row_count > max_table_rows:
        raise TooManyRows(row_count)
    if not tables:  # only the text outside the tables will be read: what is inside them need not be tidied
        unseen = [el for el in unseen if _outside_tables(el)]
    strip_unseen_text(root, unseen)
    known = frozenset(placeholder_key(p) for p in placeholders)
    if not tables:
        strip_known_placeholders(root, known)
        return WordDocument(root, [], tracked, comments, row_count, boxes)
    found = [(tbl, next(tbl.iterancestors(W_TC), None) is not None) for tbl in tbls]
    read = [read_table_at_once(tbl, index, nested) for index, (tbl, nested) in enumerate(found)]
    body = _child(root, W_BODY)
    if known and body is not None and all(read) and not _may_show_placeholder(read, known):
        # no cell can show one: only the controls outside the tables are looked at
        strip_known_placeholders(root, known, regions=[el for el in body if el.tag != W_TBL])
    elif known:  # and the tables read again, as they now read
        strip_known_placeholders(root, known)
        read = [None] * len(found)
    read = [table or read_table(tbl, index, nested) for index, (table, (tbl, nested)) in enumerate(zip(read, found))]
    return WordDocument(root, read, tracked, comments, row_count, boxes)


@lru_cache(maxsize=8)
def _placeholder_words(known: frozenset[str]) -> tuple[int, tuple[str, ...]]:
    """For `known` placeholder keys: the longest text that may be one, and their first words."""
    longest = max(map(len, known)) * 2 + 10  # a longer text is no placeholder, however it is spaced
    return longest, tuple(sorted({key.split()[0] for key in known if key}))


def _may_show_placeholder(tables: list[Table], known: frozenset[str]) -> bool:
    """Could a control in these tables still show one of `known`? Not if no cell has the first word of one.

    In any case; a first word broken by a line break or tab inside a control is not looked for.
    """
    words = _placeholder_words(known)[1]
    texts = "".join([cell.text for table in tables for row in table.rows for cell in row.cells]).lower()
    return any(word in texts for word in words)


def _outside_tables(el: etree._Element) -> bool:
    """Not inside a top-level table: inside no table, or in a paragraph (a text box) outside them all."""
    outermost = None
    for outermost in el.iterancestors(W_TBL, W_P):
        pass
    return outermost is None or outermost.tag == W_P


def read_back(root: etree._Element, replacements: Mapping[str, str], *, max_table_rows: int = 2000,
              placeholders: Iterable[str] = ()) -> WordDocument:
    """A parsed part read the way a returned copy of it would be, `root` left as it is.

    Each key of `replacements` found in a text run is replaced by its value first (a
    rendered template's stand-ins for per-form values, which must each sit in one run).
    """
    copy = deepcopy(root)
    if replacements:
        for t in copy.iter(W_T):
            text = t.text
            if text and any(key in text for key in replacements):
                for key, value in replacements.items():
                    text = text.replace(key, value)
                t.text = text
    return word_document(copy, max_table_rows=max_table_rows, placeholders=placeholders)


# --- a rendered layout, for checks and tests ------------------------------------------


def table_texts(root: etree._Element) -> list[list[list[str]]]:
    """Every top-level table of a parsed part as rows of cell texts (paragraphs joined by newlines)."""
    return [read_table(tbl).texts() for tbl in root.iter(W_TBL) if next(tbl.iterancestors(W_TBL), None) is None]


def header_row_repeats(root: etree._Element) -> list[bool]:
    """For each top-level table: is its first row marked to repeat at the top of each page?"""
    return [read_table(tbl).header_repeats for tbl in root.iter(W_TBL) if next(tbl.iterancestors(W_TBL), None) is None]


def body_paragraph_texts(root: etree._Element) -> list[str]:
    """Texts of the paragraphs outside tables, in order (empty ones included)."""
    body = _child(root, W_BODY)
    scope = body if body is not None else root
    return [text_of(p) for p in scope.iter(W_P) if next(p.iterancestors(W_TBL), None) is None]
