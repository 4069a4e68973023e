"""Ranges of body blocks marked by bookmarks on the blocks around them, and moving blocks between documents.

A range is "every block after the block holding bookmark START, up to the
block holding bookmark END". The bookmarks sit on the blocks *around* the
range, never inside it, so whoever edits the range (Word, python-docx,
LibreOffice) cannot delete them by rewriting its paragraphs. Measured:
LibreOffice 7.4 keeps bookmark names (it renumbers their ids) on a docx
round trip, and drops content-control tags, so bookmarks are what we use.

Nothing here knows about reports: callers pass bookmark names.
"""

from __future__ import annotations

import copy
import io
import itertools
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

from lxml import etree

from .reading import text_of

from .namespaces import R, RT_HYPERLINK, RT_IMAGE, W, W14


def w(name: str) -> str:
    return f"{{{W}}}{name}"


W_P, W_TBL, W_SDT, W_SECTPR, W_PPR, W_R = w("p"), w("tbl"), w("sdt"), w("sectPr"), w("pPr"), w("r")
BOOKMARK_START, BOOKMARK_END = w("bookmarkStart"), w("bookmarkEnd")
BLOCK_TAGS = (W_P, W_TBL, W_SDT, w("customXml"))


def blocks_of(body: etree._Element) -> list[etree._Element]:
    """The body's paragraphs, tables and block content controls in order (the final sectPr excluded)."""
    return [el for el in body if el.tag in BLOCK_TAGS]


def blocks_text(blocks: Iterable[etree._Element]) -> str:
    """What a reader sees in the blocks, one line per paragraph, empty lines and spacing differences dropped.

    Used to tell whether a person changed a passage, so it must not change when a
    word processor merely re-saves the same words.
    """
    lines: list[str] = []
    for block in blocks:
        for line in text_of(block).replace("\u00a0", " ").split("\n"):
            line = re.sub(r"\s+", " ", line).strip()
            if line:
                lines.append(line)
    return "\n".join(lines)


# --- bookmarks ----------------------------------------------------------------


def bookmark_names(el: etree._Element) -> set[str]:
    return {b.get(w("name"), "") for b in el.iter(BOOKMARK_START)}


def _anchor_paragraph(block: etree._Element, *, last: bool) -> Optional[etree._Element]:
    """The paragraph inside `block` that carries its bookmark: itself, or the first/last one in a table."""
    if block.tag == W_P:
        return block
    paragraphs = list(block.iter(W_P))
    if not paragraphs:
        return None
    return paragraphs[-1] if last else paragraphs[0]


def add_bookmark(block: etree._Element, name: str, *, last: bool = False) -> bool:
    """Put bookmark `name` around the whole content of `block` (a paragraph, or one paragraph of a table).

    Spanning the text rather than a point keeps the bookmark with the text in Word
    when someone presses Enter before or after it. Ids are made unique by `renumber_bookmarks`.
    """
    p = _anchor_paragraph(block, last=last)
    if p is None:
        return False
    temp_id = f"new{next(_temp_ids)}"
    start = etree.Element(BOOKMARK_START)
    start.set(w("id"), temp_id)
    start.set(w("name"), name)
    end = etree.Element(BOOKMARK_END)
    end.set(w("id"), temp_id)
    ppr = p.find(W_PPR)
    p.insert(0 if ppr is None else list(p).index(ppr) + 1, start)
    p.append(end)
    return True


_temp_ids = itertools.count(1)


def renumber_bookmarks(root: etree._Element) -> None:
    """Give every bookmark a unique number, each end following its start.

    Blocks copied in from other documents bring their own ids, which may clash.
    An end whose start is gone is removed.
    """
    open_ids: dict[str, list[str]] = {}
    next_id = 1
    for b in list(root.iter(BOOKMARK_START, BOOKMARK_END)):
        old = b.get(w("id"), "")
        if b.tag == BOOKMARK_START:
            new = str(next_id)
            next_id += 1
            open_ids.setdefault(old, []).append(new)
            b.set(w("id"), new)
        else:
            queue = open_ids.get(old)
            if queue:
                b.set(w("id"), queue.pop(0))
            else:
                b.getparent().remove(b)


def remove_bookmarks(el: etree._Element, keep: Callable[[str], bool]) -> None:
    """Remove bookmarks whose name `keep` rejects (their ends too), inside `el`."""
    dropped: set[str] = set()
    for b in list(el.iter(BOOKMARK_START)):
        if not keep(b.get(w("name"), "")):
            dropped.add(b.get(w("id"), ""))
            b.getparent().remove(b)
    for b in list(el.iter(BOOKMARK_END)):
        if b.get(w("id"), "") in dropped:
            b.getparent().remove(b)


# --- finding a marked range ----------------------------------------------------


@dataclass
class MarkedRange:
    blocks: list[etree._Element]
    found_by: str  # "bookmarks" or "heading"


def find_marked_range(
    body: etree._Element,
    start_name: str,
    end_name: str,
    is_marker: Callable[[str], bool],
) -> Optional[MarkedRange]:
    """The blocks between the block holding `start_name` and the one holding `end_name`.

    When the end bookmark is gone the range stops at the next block holding any
    marker bookmark. None when the start bookmark cannot be found.
    """
    blocks = blocks_of(body)
    start_at = None
    for i, block in enumerate(blocks):
        if start_name in bookmark_names(block):
            start_at = i
            break
    if start_at is None:
        return None
    found: list[etree._Element] = []
    for block in blocks[start_at + 1:]:
        names = bookmark_names(block)
        if end_name in names or any(is_marker(n) for n in names):
            break
        if block.find(f"{W_PPR}/{W_SECTPR}") is not None:
            break
        found.append(block)
    return MarkedRange(found, "bookmarks")


def find_range_under_heading(
    body: etree._Element,
    heading_text: str,
    is_heading: Callable[[etree._Element], bool],
    is_marker: Callable[[str], bool],
) -> Optional[MarkedRange]:
    """Fallback when the bookmarks are gone: the blocks after the heading reading `heading_text`.

    The range stops at the next heading, table, picture, section break or marked block.
    """
    wanted = _squash(heading_text)
    if not wanted:
        return None
    blocks = blocks_of(body)
    for i, block in enumerate(blocks):
        if block.tag == W_P and is_heading(block) and _squash(text_of(block)) == wanted:
            found: list[etree._Element] = []
            for nxt in blocks[i + 1:]:
                if nxt.tag != W_P or is_heading(nxt) or any(is_marker(n) for n in bookmark_names(nxt)):
                    break
                if nxt.find(f"{W_PPR}/{W_SECTPR}") is not None or has_drawing(nxt):
                    break
                found.append(nxt)
            return MarkedRange(found, "heading")
    return None


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ")).strip().casefold()


def has_drawing(el: etree._Element) -> bool:
    for _ in el.iter(w("drawing"), w("pict"), w("object")):
        return True
    return False


def outline_styles(styles_root: Optional[etree._Element]) -> set[str]:
    """Style ids that are headings: named 'heading N' or 'Title', or given an outline level."""
    found: set[str] = set()
    if styles_root is None:
        return found
    for style in styles_root.iter(w("style")):
        sid = style.get(w("styleId"), "")
        name_el = style.find(w("name"))
        name = (name_el.get(w("val"), "") if name_el is not None else "").casefold()
        ppr = style.find(W_PPR)
        outline = ppr is not None and ppr.find(w("outlineLvl")) is not None
        if re.fullmatch(r"heading \d", name) or name == "title" or outline:
            found.add(sid)
    return found


def paragraph_style(p: etree._Element) -> str:
    style = p.find(f"{W_PPR}/{w('pStyle')}")
    return style.get(w("val"), "") if style is not None else ""


# --- carrying blocks from one document into another ----------------------------------------


@dataclass
class ImportNotes:
    """What could not come across unchanged, said for the person who wrote it."""

    dropped: list[str] = field(default_factory=list)


class BlockImporter:
    """Copies body blocks from a source python-docx Document into a target one.

    Styles are matched by id, then by name; list numbering definitions and
    pictures and hyperlinks are copied across; comment anchors, section breaks
    and objects that cannot live outside their document are removed.
    """

    def __init__(self, source, target):
        self.source = source
        self.target = target
        self.notes = ImportNotes()
        self._num_map: dict[str, str] = {}
        self._target_style_ids = self._style_ids(target)
        self._target_by_name = {name.casefold(): sid for sid, name in self._style_names(target).items()}
        self._source_names = self._style_names(source)

    @staticmethod
    def _style_names(doc) -> dict[str, str]:
        out = {}
        for style in doc.styles.element.iter(w("style")):
            name = style.find(w("name"))
            out[style.get(w("styleId"), "")] = name.get(w("val"), "") if name is not None else ""
        return out

    @staticmethod
    def _style_ids(doc) -> set[str]:
        return {s.get(w("styleId"), "") for s in doc.styles.element.iter(w("style"))}

    def copy(self, blocks: Iterable[etree._Element]) -> list[etree._Element]:
        out = []
        for block in blocks:
            el = copy.deepcopy(block)
            self._strip(el)
            self._map_styles(el)
            self._map_numbering(el)
            self._map_relationships(el)
            out.append(el)
        return out

    # -- pieces ------------------------------------------------------------------
    def _strip(self, el: etree._Element) -> None:
        for tag in ("commentRangeStart", "commentRangeEnd"):
            for node in list(el.iter(w(tag))):
                node.getparent().remove(node)
        for ref in list(el.iter(w("commentReference"))):
            run = ref.getparent()
            if run is not None and run.tag == W_R and run.getparent() is not None:
                run.getparent().remove(run)
        for tag, what in (("footnoteReference", "a footnote"), ("endnoteReference", "an endnote")):
            for ref in list(el.iter(w(tag))):
                run = ref.getparent()
                if run is not None and run.getparent() is not None:
                    run.getparent().remove(run)
                    self.notes.dropped.append(what)
        for sect in list(el.iter(W_SECTPR)):
            sect.getparent().remove(sect)
        for node in el.iter():  # Word requires these to be unique in a document; it makes new ones
            for attr in (f"{{{W14}}}paraId", f"{{{W14}}}textId"):
                node.attrib.pop(attr, None)

    def _map_styles(self, el: etree._Element) -> None:
        for tag in ("pStyle", "rStyle", "tblStyle"):
            for node in list(el.iter(w(tag))):
                sid = node.get(w("val"), "")
                if sid in self._target_style_ids:
                    continue
                name = self._source_names.get(sid, "")
                mapped = self._target_by_name.get(name.casefold()) if name else None
                if mapped:
                    node.set(w("val"), mapped)
                else:
                    node.getparent().remove(node)

    def _map_numbering(self, el: etree._Element) -> None:
        nodes = [n for n in el.iter(w("numId")) if n.get(w("val"), "0") != "0"]
        if not nodes:
            return
        try:
            src_numbering = self.source.part.numbering_part.element
        except (KeyError, NotImplementedError):
            src_numbering = None
        for node in nodes:
            old = node.get(w("val"))
            if old not in self._num_map:
                self._num_map[old] = self._copy_num(src_numbering, old) if src_numbering is not None else ""
            new = self._num_map[old]
            if new:
                node.set(w("val"), new)
            else:
                numpr = node.getparent()
                numpr.getparent().remove(numpr)

    def _copy_num(self, src: etree._Element, num_id: str) -> str:
        num = next((n for n in src.iter(w("num")) if n.get(w("numId")) == num_id), None)
        if num is None:
            return ""
        abs_ref = num.find(w("abstractNumId"))
        abstract = None
        if abs_ref is not None:
            abstract = next((a for a in src.iter(w("abstractNum"))
                             if a.get(w("abstractNumId")) == abs_ref.get(w("val"))), None)
        target = self.target.part.numbering_part.element
        used_abs = {int(a.get(w("abstractNumId"), "0")) for a in target.iter(w("abstractNum"))}
        used_num = {int(n.get(w("numId"), "0")) for n in target.iter(w("num"))}
        new_abs = str(max(used_abs, default=0) + 1)
        new_num = str(max(used_num, default=0) + 1)
        new_num_el = copy.deepcopy(num)
        new_num_el.set(w("numId"), new_num)
        if abstract is not None:
            new_abstract = copy.deepcopy(abstract)
            new_abstract.set(w("abstractNumId"), new_abs)
            for link in list(new_abstract.iter(w("numStyleLink"), w("styleLink"))):
                link.getparent().remove(link)
            # abstractNum elements must all come before num elements
            first_num = target.find(w("num"))
            if first_num is not None:
                first_num.addprevious(new_abstract)
            else:
                target.append(new_abstract)
            new_num_el.find(w("abstractNumId")).set(w("val"), new_abs)
        target.append(new_num_el)
        return new_num

    def _map_relationships(self, el: etree._Element) -> None:
        src_rels = self.source.part.rels
        for node in list(el.iter()):
            for attr in [a for a in node.attrib if a.startswith(f"{{{R}}}")]:
                rid = node.get(attr)
                rel = src_rels.get(rid)
                new_rid = None
                if rel is not None and rel.reltype == RT_IMAGE and not rel.is_external:
                    new_rid, _ = self.target.part.get_or_add_image(io.BytesIO(rel.target_part.blob))
                elif rel is not None and rel.reltype == RT_HYPERLINK and rel.is_external:
                    new_rid = self.target.part.relate_to(rel.target_ref, RT_HYPERLINK, is_external=True)
                if new_rid:
                    node.set(attr, new_rid)
                    continue
                if node.tag == w("hyperlink"):  # keep the words, lose the link
                    parent = node.getparent()
                    index = list(parent).index(node)
                    for child in list(node):
                        parent.insert(index, child)
                        index += 1
                    parent.remove(node)
                    self.notes.dropped.append("a link")
                    break
                run = _enclosing(node, W_R)
                if run is not None and run.getparent() is not None:
                    run.getparent().remove(run)
                    self.notes.dropped.append("an embedded object")
                else:
                    node.attrib.pop(attr, None)
                break


def _enclosing(node: etree._Element, tag: str) -> Optional[etree._Element]:
    while node is not None and node.tag != tag:
        node = node.getparent()
    return node
