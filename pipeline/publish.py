"""`publish`: the report the comms team saved last, as an accessible PDF and web page beside it.

Partnership reports go on the board's website, where the Public Sector Bodies
Accessibility Regulations 2018 apply to downloadable documents too. The .docx
is read, never changed: the PDF is exported by LibreOffice (tagged, PDF/UA)
and then read back with pikepdf to check what a screen reader would get.

The contents list: when the pages of the saved report no longer match the page
numbers its contents list shows (comms' edits moved headings, or the report
was built without LibreOffice), the numbers are put right in a copy held in
memory and that copy is exported, so the PDF's contents page is right too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from . import libreoffice, pdf
from .accessibility import check_document
from .ooxml.contents import contents_lines, document_headings, set_contents_pages
from .ooxml.package import PackageError, open_package
from .problems import CaseAuditError, ProblemReport
from .report import identity
from .web_page import report_html
from .workspace import Workspace, atomic_write_bytes

PDF_NAME = "overview-report.pdf"
HTML_NAME = "overview-report.html"


@dataclass
class PublishResult:
    report: Path  # the .docx published (read, never changed)
    pdf: Optional[Path] = None
    html: Optional[Path] = None
    facts: Optional[pdf.PdfFacts] = None
    contents_renumbered: bool = False  # the PDF's contents page numbers were put right from its own pages
    problems: ProblemReport = field(default_factory=ProblemReport)


def choose_report(ws: Workspace, report: Optional[Path]) -> Path:
    """The report named, or ours saved last under outbox/report/ (as build-report's narrative carry-over takes)."""
    if report is not None:
        return Path(report)
    found = identity.latest_report(ws.report_dir)
    if found is None:
        raise CaseAuditError.single("publish.no-report", folder=ws.relative(ws.report_dir))
    return found


def _read_report(path: Path) -> bytes:
    try:
        data = path.read_bytes()
        package = open_package(data)
        if not package.has("word/document.xml"):
            raise PackageError("package.not-word", "it is not a Word document.")
        return data
    except PackageError as exc:
        raise CaseAuditError.single("publish.report-unreadable", name=path.name, reason=exc.message,
                                    file=path) from None
    except OSError as exc:
        raise CaseAuditError.single("publish.report-unreadable", name=path.name, reason=exc.strerror or str(exc),
                                    file=path) from None


def publish(ws: Workspace, report: Optional[Path] = None) -> PublishResult:
    """Write overview-report.html and .pdf beside the report; their problems come back as data.

    Raises CaseAuditError (exit 2) when there is no report or it cannot be
    read, and when LibreOffice is not installed (naming what to install; the
    web page is written first, as it does not need LibreOffice).
    """
    path = choose_report(ws, report)
    docx = _read_report(path)
    result = PublishResult(report=path)
    markup, _ = report_html(docx)  # needs no LibreOffice: written even where the PDF cannot be
    result.html = path.with_name(HTML_NAME)
    atomic_write_bytes(result.html, markup.encode("utf-8"))
    if not libreoffice.available():
        raise CaseAuditError.single("publish.libreoffice-missing", package=pdf.LIBREOFFICE_PACKAGE,
                                    written=ws.relative(result.html))
    data, facts, renumbered = export_pdf(docx, name=path.name)
    target = path.with_name(PDF_NAME)
    atomic_write_bytes(target, data)
    result.pdf, result.facts, result.contents_renumbered = target, facts, renumbered
    title, language = _title_and_language(docx)
    result.problems.extend(pdf.pdf_problems(
        facts, file=ws.relative(target), title=title, language=language,
        headings=[h.text for h in document_headings(docx)], tables=_tables_with_header(docx)))
    result.problems.extend(check_document(docx, file=ws.relative(path)))
    return result


def export_pdf(docx: bytes, *, name: str, passes: int = 3) -> tuple[bytes, pdf.PdfFacts, bool]:
    """The PDF of `docx`, its facts, and whether its contents page numbers had to be put right.

    When the contents list's numbers differ from the pages the headings land on
    in the PDF, they are set from the PDF and it is exported again (numbers that
    wrap a contents line can move the pages: up to `passes` exports in all).
    """
    renumbered = False
    for _ in range(passes):
        data = pdf.render_pdf(docx)
        if data is None:
            raise CaseAuditError.single("publish.pdf-failed", name=name, seconds=libreoffice.CONVERT_TIMEOUT,
                                        exit_code=1)
        facts = pdf.read_pdf(data)
        lines = contents_lines(docx)
        pages = pdf.heading_pages(facts, [(line.anchor, line.text) for line in lines])
        if all(pages.get(line.anchor) == line.page for line in lines):
            break
        docx, _ = set_contents_pages(docx, pages)
        renumbered = True
    return data, facts, renumbered


def _title_and_language(docx: bytes) -> tuple[str, str]:
    from .ooxml.accessibility import document_title_and_language

    title, language = document_title_and_language(docx)
    return title or "", language or ""


def _tables_with_header(docx: bytes) -> int:
    from .ooxml.accessibility import read_tables

    return sum(1 for t in read_tables(docx) if t.header_row)


def publish_in_demo(ws: Workspace, demo, say: Callable[[str], None]) -> None:
    """The demo's last step: publish the report it built, or say why not (no LibreOffice: skipped, not failed)."""
    say("Publishing the report as PDF and web page")
    if not libreoffice.available():
        demo.steps.append(("publish", "skipped: LibreOffice is not installed, so no PDF (install "
                                      f"{pdf.LIBREOFFICE_PACKAGE}, then run 'case-audit publish')"))
        return
    result = publish(ws)
    errors = len(result.problems.errors)
    checked = "accessibility check passed" if not errors else f"accessibility check: {errors} problem(s)"
    demo.steps.append(("publish", f"{ws.relative(result.pdf)} and {ws.relative(result.html)} written; {checked}"))
    demo.outputs += [("Report as PDF", result.pdf), ("Report as web page", result.html)]
