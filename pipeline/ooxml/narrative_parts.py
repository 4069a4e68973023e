"""The Word XML under a report's narrative passages: marker paragraphs, the blocks between them, comments.

`report/narrative.py` decides what happens to each passage; the element surgery it needs (find
the marker paragraphs a template left, swap a passage's blocks, find the run a comment hangs on,
group the body under its headings) is here, named for what it does to the document.
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator, Optional

from lxml import etree

from .package import Package
from .reading import text_of
from .regions import W, W_P, W_SECTPR, W_TBL, paragraph_style

_W_R, _W_T, _W_SDT = f"{{{W}}}r", f"{{{W}}}t", f"{{{W}}}sdt"
_ID, _AUTHOR, _VAL = f"{{{W}}}id", f"{{{W}}}author", f"{{{W}}}val"
COMMENTS_PART = "word/comments.xml"


# --- the marker paragraphs a rendered template leaves ------------------------------------------


def marker_paragraphs(body: etree._Element, mark: str) -> Iterator[tuple[etree._Element, str, bool]]:
    """Every paragraph whose text contains `mark`: (paragraph, its text stripped, whether it is in the body itself)."""
    for p in body.iter(W_P):
        text = text_of(p).strip()
        if mark in text:
            yield p, text, p.getparent() is body


def blocks_between(begin: etree._Element, end: etree._Element) -> list[etree._Element]:
    """The body blocks strictly between two sibling paragraphs (section properties left out)."""
    out = []
    el = begin.getnext()
    while el is not None and el is not end:
        if el.tag != W_SECTPR:
            out.append(el)
        el = el.getnext()
    return out


def text_before(p: etree._Element, mark: str) -> str:
    """The first 50 characters of the nearest text above `p` that is not a marker (to say where it is)."""
    el = p.getprevious()
    while el is not None:
        text = text_of(el).strip()
        if text and mark not in text:
            return text[:50]
        el = el.getprevious()
    return "the start of the document"


def follows_written_block(begin: etree._Element, mark: str) -> bool:
    """Whether a paragraph or table that is not a marker sits directly above `begin`."""
    before = begin.getprevious()
    return before is not None and before.tag in (W_P, W_TBL) and not (before.tag == W_P and mark in text_of(before))


# --- surgery on one passage -----------------------------------------------------------------------


def heading_above(begin: etree._Element) -> tuple[etree._Element, str]:
    """The block above a passage's begin marker, and its text if it is a paragraph (the heading)."""
    before = begin.getprevious()
    return before, (text_of(before).strip() if before.tag == W_P else "")


def block_below(end: etree._Element) -> etree._Element:
    """The block below a passage's end marker; an empty paragraph is added there when there is none."""
    after = end.getnext()
    if after is None or after.tag == W_SECTPR:
        after = etree.Element(W_P)
        end.addnext(after)
    return after


def replace_blocks(begin: etree._Element, old: list[etree._Element], new: list[etree._Element]) -> None:
    """Take `old` out of the body and put `new` directly after `begin`, in order."""
    for block in old:
        block.getparent().remove(block)
    anchor = begin
    for block in new:
        anchor.addnext(block)
        anchor = block


def remove_paragraphs(*paragraphs: etree._Element) -> None:
    for p in paragraphs:
        p.getparent().remove(p)


def first_text_run(blocks: Iterable[etree._Element]) -> Optional[tuple[etree._Element, etree._Element]]:
    """(paragraph, run) of the first run with visible text in these blocks, to hang a comment on."""
    for block in blocks:
        for p in block.iter(W_P):
            for r in p.iter(_W_R):
                if any((t.text or "").strip() for t in r.iter(_W_T)):
                    return p, r
    return None


# --- comments -----------------------------------------------------------------------------------


def comment_ids_in(blocks: Iterable[etree._Element]) -> set[str]:
    """The ids of the comments anchored in these blocks."""
    return {el.get(_ID) for b in blocks for el in b.iter(f"{{{W}}}commentRangeStart", f"{{{W}}}commentReference")
            if el.get(_ID) is not None}


def comment_authors(pkg: Package) -> dict[str, str]:
    """Comment id -> author, from word/comments.xml (empty when the document has no comments)."""
    if not pkg.has(COMMENTS_PART):
        return {}
    return {c.get(_ID): c.get(_AUTHOR, "") for c in pkg.xml(COMMENTS_PART).iter(f"{{{W}}}comment")}


# --- the body under its headings ------------------------------------------------------------------


def is_contents_block(el: etree._Element) -> bool:
    """A table of contents: Word's contents building block, a TOC field, or links to _Toc bookmarks."""
    if el.tag == _W_SDT:
        gallery = el.find(f".//{{{W}}}docPartGallery")
        if gallery is not None and "contents" in (gallery.get(_VAL) or "").casefold():
            return True
    for i in el.iter(f"{{{W}}}instrText"):
        if (i.text or "").strip().upper().startswith("TOC"):
            return True
    for link in el.iter(f"{{{W}}}hyperlink"):
        if (link.get(f"{{{W}}}anchor") or "").startswith("_Toc"):
            return True
    return False


def blocks_under_headings(body: etree._Element, heading_style_ids: set[str], first: str,
                          skip: Callable[[etree._Element], bool]) -> dict[str, list[etree._Element]]:
    """The body's paragraphs, tables and content controls grouped under the heading above them.

    Blocks before the first heading go under `first`; `skip` leaves blocks out (and a contents
    list is always left out).
    """
    sections: dict[str, list[etree._Element]] = {}
    current = first
    for block in body:
        if block.tag not in (W_P, W_TBL, _W_SDT) or skip(block) or is_contents_block(block):
            continue
        if block.tag == W_P and paragraph_style(block) in heading_style_ids:
            current = text_of(block).strip() or current
        sections.setdefault(current, []).append(block)
    return sections


def heading_1_style_ids(styles_root: etree._Element) -> set[str]:
    """The ids of the styles named 'Heading 1' (any case)."""
    found = set()
    for style in styles_root.iter(f"{{{W}}}style"):
        name = style.find(f"{{{W}}}name")
        if name is not None and (name.get(_VAL) or "").casefold() == "heading 1":
            found.add(style.get(f"{{{W}}}styleId", ""))
    return found
