"""Page numbers in the report's contents list, from a LibreOffice rendering of the report itself.

Word fills a contents list's page numbers only when it updates the field (with
its "This document contains fields that may refer to other files" prompt), and
LibreOffice never does, so a board member opening the report saw a contents
list without page numbers. After the build writes the report, this pass
renders it once to PDF, reads the page each heading's bookmark opens at (the
PDF outline) and writes those numbers into the contents field's shown result
(a PAGEREF per line, as Word writes them: Word's "Update Field" still works).
With every line numbered, the update-on-open setting, and so the prompt, is
dropped. One rendering: it is made with two-digit stand-in numbers already in
the contents list, so a line that the number makes wrap (moving the pages
after it) wraps in the rendering as well.

Where LibreOffice is not installed the report keeps its entries without
numbers (and Word's update-on-open), and the build says so.

The pass costs a rendering (seconds), so it is measured apart from
build-report's own performance target: `benchmarks/bench_report.py` turns it
off with `CASE_AUDIT_CONTENTS_PAGES=0` (or `build_report(..., contents_page_numbers=False)`)
and times `number_contents` on its own.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .. import libreoffice, pdf
from ..ooxml.contents import contents_lines, set_contents_pages
from ..problems import ProblemReport
from ..workspace import atomic_write_bytes

SETTING = "CASE_AUDIT_CONTENTS_PAGES"  # "0" / "off": build-report leaves the page numbers out
STAND_IN = 88  # the page-number width laid out before the real numbers are known (reports run to tens of pages)


def enabled_by_default() -> bool:
    return os.environ.get(SETTING, "1").strip().lower() not in ("0", "off", "no", "false")


@dataclass
class ContentsPages:
    lines: int  # lines in the contents list
    numbered: int  # lines given a page number
    renderings: int  # LibreOffice renderings it took
    seconds: float  # wall-clock time of the pass
    reason: Optional[str] = None  # why there are no page numbers, when there are none


def number_contents(report: Path, problems: Optional[ProblemReport] = None) -> ContentsPages:
    """Write page numbers into `report`'s contents list (in place; a file this build has just written)."""
    started = time.perf_counter()
    docx = report.read_bytes()
    lines = contents_lines(docx)
    outcome = ContentsPages(len(lines), 0, 0, 0.0)
    if not lines:
        outcome.seconds = time.perf_counter() - started
        return outcome
    if not libreoffice.available():
        outcome.reason = "LibreOffice is not installed"
    numbered_docx = docx
    if outcome.reason is None:
        # laid out with two-digit stand-ins, so a line the real number makes wrap wraps in the rendering too
        stand_in, _ = set_contents_pages(docx, {line.anchor: STAND_IN for line in lines})
        rendered = pdf.render_pdf(stand_in)
        outcome.renderings = 1
        if rendered is None:
            outcome.reason = "LibreOffice could not render the report"
        else:
            pages = pdf.heading_pages(pdf.read_pdf(rendered), [(line.anchor, line.text) for line in lines])
            numbered_docx, outcome.numbered = set_contents_pages(docx, pages)
    if outcome.numbered:
        atomic_write_bytes(report, numbered_docx)
    if outcome.numbered < outcome.lines and outcome.reason is None:
        outcome.reason = f"{outcome.lines - outcome.numbered} heading(s) were not found in LibreOffice's rendering"
    if outcome.reason is not None and problems is not None:
        problems.add("report.contents-page-numbers", reason=outcome.reason, package=pdf.LIBREOFFICE_PACKAGE,
                     file=report.name)
    outcome.seconds = time.perf_counter() - started
    return outcome
