"""A Word document as a tagged PDF (LibreOffice), and what that PDF says about itself (pikepdf).

LibreOffice's PDF export is asked for PDF/UA (universal accessibility): a tagged
structure tree (headings, tables with header cells, figures with their alt
text), the document title shown instead of the file name, the language, and
bookmarks from the headings. `read_pdf` reads back what a reader's software
sees, so `pdf_problems` can say what is missing rather than trusting the export.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from typing import Optional, Sequence

from . import libreoffice
from .problems import Problem, make_problem

# writer_pdf_Export options (LibreOffice 7.4 onwards reads them as JSON after the filter name)
_EXPORT_OPTIONS = {
    "PDFUACompliance": True,  # PDF/UA: tagged, title shown, alt text kept
    "UseTaggedPDF": True,
    "ExportBookmarks": True,  # the outline, from the headings
    "ExportBookmarksToPDFDestination": True,
    "ExportNotes": False,
    "ExportFormFields": False,
}
PDF_FILTER = "pdf:writer_pdf_Export:" + json.dumps(
    {name: {"type": "boolean", "value": "true" if value else "false"} for name, value in _EXPORT_OPTIONS.items()})
LIBREOFFICE_PACKAGE = ("LibreOffice Writer (Debian/Ubuntu: sudo apt install libreoffice-writer; Windows and "
                       "macOS: https://www.libreoffice.org/download)")


def render_pdf(docx: bytes, *, timeout: float = libreoffice.CONVERT_TIMEOUT) -> Optional[bytes]:
    """The document exported by LibreOffice as a tagged PDF; None when LibreOffice is missing or fails."""
    return libreoffice.convert(docx, ".docx", PDF_FILTER, timeout=timeout)


@dataclass(frozen=True)
class OutlineEntry:
    level: int  # 1 for a top-level bookmark
    title: str
    page: Optional[int]  # 1-based page the bookmark opens, None when it has no page


@dataclass
class PdfFacts:
    pages: int
    tagged: bool  # has a structure tree
    marked: bool  # MarkInfo /Marked true
    language: str
    title: str
    shows_title: bool  # ViewerPreferences /DisplayDocTitle
    outline: list[OutlineEntry] = field(default_factory=list)
    tags: dict[str, int] = field(default_factory=dict)  # structure element type -> count
    figures_without_alt: int = 0


def normalise(text: str) -> str:
    """Text compared across Word and PDF: spaces collapsed, dashes and quotes plain."""
    text = text.replace("\u2013", "-").replace("\u2014", "-").replace("\u2019", "'").replace("\u00a0", " ")
    return re.sub(r"\s+", " ", text).strip()


def read_pdf(data: bytes) -> PdfFacts:
    """What the PDF declares about itself: tags, language, title, outline (bookmarks) with pages."""
    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as pdf:
        root = pdf.Root
        mark = root.get("/MarkInfo")
        prefs = root.get("/ViewerPreferences")
        title = str(pdf.docinfo.get("/Title", "")) if pdf.docinfo is not None else ""
        if not title:
            with pdf.open_metadata() as meta:
                title = str(meta.get("dc:title", "") or "")
        facts = PdfFacts(
            pages=len(pdf.pages), tagged="/StructTreeRoot" in root,
            marked=bool(mark is not None and mark.get("/Marked", False)),
            language=str(root.get("/Lang", "")), title=title,
            shows_title=bool(prefs is not None and prefs.get("/DisplayDocTitle", False)))
        page_of = {page.objgen: n for n, page in enumerate(pdf.pages, start=1)}
        with pdf.open_outline() as outline:
            _walk_outline(outline.root, 1, page_of, facts.outline)
        if facts.tagged:
            _count_tags(root["/StructTreeRoot"], facts)
    return facts


def _walk_outline(items, level: int, page_of: dict, out: list[OutlineEntry]) -> None:
    import pikepdf

    for item in items:
        dest = item.destination
        if dest is None and item.action is not None:
            dest = item.action.get("/D")
        page = None
        if isinstance(dest, pikepdf.Array) and len(dest) and isinstance(dest[0], pikepdf.Dictionary):
            page = page_of.get(dest[0].objgen)
        out.append(OutlineEntry(level, normalise(str(item.title)), page))
        _walk_outline(item.children, level + 1, page_of, out)


def _count_tags(tree_root, facts: PdfFacts) -> None:
    """Count structure elements by type; a Figure without /Alt is counted apart."""
    import pikepdf

    stack, seen = [tree_root.get("/K")], set()
    while stack:
        node = stack.pop()
        if isinstance(node, pikepdf.Array):
            stack.extend(node)
            continue
        if not isinstance(node, pikepdf.Dictionary):
            continue
        if node.is_indirect:
            if node.objgen in seen:
                continue
            seen.add(node.objgen)
        kind = node.get("/S")
        if kind is not None:
            name = str(kind).lstrip("/")
            facts.tags[name] = facts.tags.get(name, 0) + 1
            if name == "Figure" and not _has_alt(node):
                facts.figures_without_alt += 1
        if "/K" in node:
            stack.append(node["/K"])


def _has_alt(figure) -> bool:
    """A figure's alt text, on itself or (LibreOffice nests a frame's figure in a figure) on a figure inside it."""
    import pikepdf

    if str(figure.get("/Alt", "")).strip():
        return True
    kids = figure.get("/K")
    kids = list(kids) if isinstance(kids, pikepdf.Array) else [kids]
    return any(isinstance(k, pikepdf.Dictionary) and k.get("/S") == "/Figure" and str(k.get("/Alt", "")).strip()
               for k in kids)


def pdf_problems(facts: PdfFacts, *, file: str, title: str, language: str,
                 headings: Sequence[str], tables: int = 0) -> list[Problem]:
    """What a screen-reader user or a reviewer would find missing in the PDF, one problem each."""
    found: list[Problem] = []

    def add(code: str, **fields) -> None:
        found.append(make_problem(code, file=file, **fields))

    if not facts.tagged:
        add("publish.pdf-untagged")
    if not facts.marked:
        add("publish.pdf-not-marked")
    if not facts.language.lower().startswith(language.split("-")[0].lower()) or not facts.language:
        add("publish.pdf-language", value=facts.language or "none", expected=language)
    if normalise(facts.title) != normalise(title) or not facts.shows_title:
        add("publish.pdf-title", value=facts.title or "none", expected=title)
    bookmarked = [e.title for e in facts.outline if e.page is not None]
    missing = [h for h in (normalise(h) for h in headings) if h not in bookmarked]
    if missing:
        add("publish.pdf-outline", value=missing[0], count=len(missing))
    if facts.tagged and tables and facts.tags.get("TH", 0) == 0:
        add("publish.pdf-table-headers", count=tables)
    if facts.figures_without_alt:
        add("publish.pdf-figure-alt", count=facts.figures_without_alt)
    return found


def heading_pages(facts: PdfFacts, headings: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Bookmark name -> page, for `headings` given as (bookmark name, text) in document order.

    The PDF's outline lists the headings in the same order; each heading is
    matched to the next outline entry with the same text, so two headings
    with one wording (each KLOE appears twice) get their own pages.
    """
    pages: dict[str, int] = {}
    position = 0
    outline = facts.outline
    for anchor, text in headings:
        wanted = normalise(text)
        for i in range(position, len(outline)):
            if outline[i].title == wanted and outline[i].page is not None:
                pages[anchor] = outline[i].page
                position = i + 1
                break
    return pages
