"""What build-report does after the report is written: contents page numbers, then the accessibility check.

Kept apart from the build itself so its cost (a LibreOffice rendering) is
measured apart from build-report's performance target (issue 15).
"""

from __future__ import annotations

from typing import Optional

from ..accessibility import check_document
from . import page_numbers


def finish_report(result, *, contents_page_numbers: Optional[bool] = None) -> Optional[page_numbers.ContentsPages]:
    """Number the written report's contents list (unless turned off) and check it as a reviewer would.

    Problems (no LibreOffice, an accessibility rule broken) are added to
    `result.problems`; the report is kept either way. Returns the numbering
    pass's outcome, None when it was turned off.
    """
    wanted = page_numbers.enabled_by_default() if contents_page_numbers is None else contents_page_numbers
    outcome = page_numbers.number_contents(result.path, result.problems) if wanted else None
    result.problems.extend(check_document(result.path.read_bytes(), file=result.path.name))
    return outcome
