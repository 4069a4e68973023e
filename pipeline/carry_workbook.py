"""The next round's cycle workbook, made from the earlier round's (for `init --from`).

The earlier workbook is copied as the officer left it (their column widths,
colours, notes columns, drop-downs), then:

- Cases, Event attendance and Event group work keep their headings only;
- Learning actions and Agency actions hold the open ones passed in (rows by
  column key, `carry.carried_rows`: each keeps its action ID, owner, due date,
  round raised, latest status, progress and evidence); a workbook from before
  the tracker gains the tracker's columns at the end;
- Settings gets the new cycle reference and name, a blank deadline, round
  name and theme, and 'Previous round'; rows missing from an older workbook
  are added;
- KLOEs and Standards gain an 'In this round' column (Yes) if they lack one;
- sheets case-audit does not know are left behind (they may hold anything);
- every text left is checked for the earlier round's children's names, and
  any name found is taken out (with a warning saying where).
"""

from __future__ import annotations

import warnings
from datetime import date
from io import BytesIO
from typing import Any

from .child_names import find_name, redact, terms_for
from .models import Cycle
from .problems import ProblemReport
from . import workbook as W

CLEARED = (W.CASES, W.ATTENDANCE, W.GROUP_WORK, W.LEARNING_ACTIONS, W.AGENCY_ACTIONS)


def carried_workbook(data: bytes, cycle: Cycle, *, actions: dict[str, list[dict[str, Any]]],
                     settings: dict[str, Any], problems: ProblemReport) -> bytes:
    """The new workbook's bytes. `cycle` is the earlier round's whole toolkit (for its children's names);
    `actions` the open actions' rows by sheet name (`carry.carried_rows`)."""
    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        book = openpyxl.load_workbook(BytesIO(data))
    known = {W.normalise_label(s): s for s in W.SHEET_ORDER}
    for ws in list(book.worksheets):
        if W.normalise_label(ws.title) not in known:
            book.remove(ws)
    sheets = {known[W.normalise_label(ws.title)]: ws for ws in book.worksheets}
    if W.INSTRUCTIONS in sheets:
        _fresh_instructions(sheets[W.INSTRUCTIONS])
    for name in CLEARED:
        if name in sheets:
            _clear(sheets[name], name)
    for name in (W.LEARNING_ACTIONS, W.AGENCY_ACTIONS):
        if name in sheets:
            _tracker_columns(sheets[name], name)
            _append(sheets[name], name, actions.get(name, []))
    _settings(sheets[W.SETTINGS], settings)
    for name in (W.KLOES, W.STANDARDS):
        _in_round_column(sheets[name], name)
    _take_out_names(book, cycle, problems)
    book.properties.title = "Case audit cycle workbook"
    book.properties.lastModifiedBy = "case-audit"
    buf = BytesIO()
    book.save(buf)
    return buf.getvalue()


def _fresh_instructions(ws) -> None:
    """Today's Instructions sheet (it explains 'In this round' and 'Previous round', which an older one does not)."""
    import openpyxl
    from copy import copy

    from .workspace import shipped_template

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        source = openpyxl.load_workbook(shipped_template("excel", "cycle.xlsx"))[W.INSTRUCTIONS]
    for row in ws.iter_rows():
        for cell in row:
            cell.value = None
    for row in source.iter_rows():
        for cell in row:
            target = ws.cell(cell.row, cell.column, cell.value)
            if cell.has_style:
                target.font, target.alignment = copy(cell.font), copy(cell.alignment)
    for r, dim in source.row_dimensions.items():
        ws.row_dimensions[r].height = dim.height


def _header(ws, name: str) -> tuple[int, dict[str, int]]:
    """The heading row (within the first rows, as the loader finds it) and each known column's number."""
    wanted = W.HEADERS[name]
    keys = {W._header_key(text): key for key, text in wanted.items()}
    first = W._header_key(wanted[W.REQUIRED_COLUMNS[name][0]])
    for r in range(1, W.MAX_HEADER_SEARCH_ROWS + 1):
        values = [W._header_key(str(c.value)) if c.value is not None else "" for c in ws[r]]
        if first in values:
            return r, {keys[v]: i + 1 for i, v in enumerate(values) if v in keys}
    return 1, {}


def _clear(ws, name: str) -> None:
    row, _ = _header(ws, name)
    if ws.max_row > row:
        ws.delete_rows(row + 1, ws.max_row - row)


def _append(ws, name: str, rows: list[dict[str, Any]]) -> None:
    header, columns = _header(ws, name)
    for i, values in enumerate(rows, start=header + 1):
        for key, value in values.items():
            if key in columns and value not in (None, ""):
                cell = ws.cell(i, columns[key], value)
                if isinstance(value, date):
                    cell.number_format = "dd/mm/yyyy"


def _tracker_columns(ws, name: str) -> None:
    """An action sheet from before the tracker: its missing columns (Action ID, Status, ...) added at the end."""
    header, columns = _header(ws, name)
    if not columns:
        return
    for key, text in W.HEADERS[name].items():
        if key not in columns:
            ws.cell(header, ws.max_column + 1, text)


def _settings(ws, values: dict[str, Any]) -> None:
    header, columns = _header(ws, W.SETTINGS)
    name_col, value_col = columns.get("setting", 1), columns.get("value", 2)
    rows = {W._header_key(str(ws.cell(r, name_col).value or "")): r for r in range(header + 1, ws.max_row + 1)}
    for key, value in values.items():
        name = W.SETTING_NAMES[key]
        r = rows.get(W._header_key(name))
        if r is None:
            r = ws.max_row + 1
            ws.cell(r, name_col, name)
        cell = ws.cell(r, value_col)
        cell.value = value  # ws.cell(r, c, None) would leave the earlier value
        if key == "cycle_id":
            cell.number_format = "@"  # never a date Excel makes of it


def _in_round_column(ws, name: str) -> None:
    """Add 'In this round' (Yes for every row) to a workbook made before rounds existed."""
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    header, columns = _header(ws, name)
    if "in_round" in columns:
        return
    col = max(columns.values(), default=0) + 1
    while ws.cell(header, col).value is not None:
        col += 1
    ws.cell(header, col, W.HEADERS[name]["in_round"])
    for r in range(header + 1, ws.max_row + 1):
        if any(ws.cell(r, c).value not in (None, "") for c in columns.values()):
            ws.cell(r, col, "Yes")
    letter = get_column_letter(col)
    dv = DataValidation(type="list", formula1='"Yes,No"', allow_blank=True)
    dv.errorStyle = "warning"
    ws.add_data_validation(dv)
    dv.add(f"{letter}{header + 1}:{letter}500")
    ws.column_dimensions[letter].width = 11


def _take_out_names(book, cycle: Cycle, problems: ProblemReport) -> None:
    """No child of the earlier round is named anywhere in the new workbook."""
    terms = terms_for(cycle)
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and find_name(cell.value, terms):
                    cell.value = redact(cell.value, terms)
                    problems.add("round.text-names-child", what=f"The text carried to {ws.title}!{cell.coordinate}",
                                 location=f"{ws.title}!{cell.coordinate}")
