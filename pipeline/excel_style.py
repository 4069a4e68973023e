"""How case-audit's own workbooks look: a styled heading row, column widths, frozen headings, filters.

results.xlsx (with its summary sheets), the learning log and status.xlsx all
use these, so a sheet looks the same whichever stage wrote it. Every helper
works on ordinary and on write-only (streaming) worksheets: cells are made
with `cell` and added a row at a time with `append`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

Columns = Sequence[tuple[str, float]]  # (heading, width) per column, left to right

WRAP_TOP = Alignment(wrap_text=True, vertical="top")


@dataclass(frozen=True)
class HeadingStyle:
    fill: PatternFill
    font: Font
    alignment: Alignment


# The officer's working sheets (results.xlsx, status.xlsx): a pale band, black bold headings.
PLAIN = HeadingStyle(PatternFill("solid", fgColor="DDE4EE"), Font(bold=True), WRAP_TOP)
# Sheets that carry the report's figures or go beyond the officer (summary sheets, learning log): the report's navy.
NAVY = HeadingStyle(PatternFill("solid", fgColor="1F3864"), Font(bold=True, color="FFFFFF"),
                    Alignment(wrap_text=True, vertical="center"))


def cell(sheet, value: Any, *, heading: Optional[HeadingStyle] = None, alignment: Optional[Alignment] = None,
         number_format: Optional[str] = None, bold: bool = False):
    """A cell for `sheet.append`: a heading in `heading`'s style, or a value with the alignment and format given."""
    made = WriteOnlyCell(sheet, value=value)
    if heading is not None:
        made.fill, made.font, made.alignment = heading.fill, heading.font, heading.alignment
    elif alignment is not None:
        made.alignment = alignment
    if number_format:
        made.number_format = number_format
    if bold:
        made.font = Font(bold=True)
    return made


def set_widths(sheet, columns: Columns) -> None:
    for i, (_, width) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width


def heading_row(sheet, columns: Columns, style: HeadingStyle, *, freeze: str = "A2") -> None:
    """Column widths, the frozen panes, and the heading row itself (it must be the sheet's first row)."""
    set_widths(sheet, columns)
    sheet.freeze_panes = freeze
    sheet.append([cell(sheet, title, heading=style) for title, _ in columns])


def filter_rows(sheet, columns: Columns, last_row: int) -> None:
    """Excel's filter buttons on the heading row, over rows 1 to `last_row`."""
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{last_row}"
