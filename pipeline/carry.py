"""Carry a round's open actions into the next round's cycle workbook (issue 13, for `init --from`).

`carry_actions_into(path, previous)` rewrites the data rows of the two action
sheets of the new workbook at `path` with the previous round's actions that are
not complete: each keeps its action ID, owner, due date, the round that raised
it, its latest status, progress and evidence (folded in from the progress forms
received, `updates`). Completed actions stay in the previous round's workbook
and tracker; they are not carried. Columns are found by their headings, as the
loader finds them, so a workbook whose columns were moved still takes them.

Public API: `carried_rows(previous, updates=None, today=None)` (the rows, for any writer),
`carry_actions_into(path, previous, updates=None, today=None) -> CarryResult` (writes them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Mapping, Optional

from .actions import LatestProgress, open_actions_to_carry
from .models import Cycle
from .workbook import AGENCY_ACTIONS, HEADERS, LEARNING_ACTIONS, _header_key


@dataclass(frozen=True)
class CarryResult:
    learning: tuple[str, ...]  # action IDs carried, per sheet
    agency: tuple[str, ...]


def _bullets(items) -> Optional[str]:
    return "\n".join("\u2022 " + item for item in items) if items else None


def carried_rows(previous: Cycle, updates: Mapping[str, LatestProgress] | None = None,
                 today: Optional[date] = None) -> dict[str, list[dict[str, Any]]]:
    """The rows of the next round's two action sheets, by sheet name: each open action as {column key: value}
    (keys of `workbook.HEADERS`), so any writer that finds columns by their headings can put them in."""
    learning, agency = open_actions_to_carry(previous, updates, today)
    return {
        LEARNING_ACTIONS: [{"number": a.number, "learning_point": a.learning_point, "actions": _bullets(a.actions),
                            "next_steps": _bullets(a.next_steps), "kloe": a.kloe, "owner": a.owner, "due": a.due,
                            "action_id": a.action_id, "status": a.status.value if a.status else None,
                            "progress": a.progress, "evidence": a.evidence, "round_raised": a.round_raised}
                           for a in learning],
        AGENCY_ACTIONS: [{"agency": a.agency, "action": a.action, "progress": a.progress, "completed": "N",
                          "action_id": a.action_id, "owner": a.owner, "due": a.due,
                          "status": a.status.value if a.status else None, "evidence": a.evidence,
                          "round_raised": a.round_raised} for a in agency],
    }


def carry_actions_into(path: Path, previous: Cycle, updates: Mapping[str, LatestProgress] | None = None,
                       today: Optional[date] = None) -> CarryResult:
    """Write `previous`'s open actions into the action sheets of the workbook at `path` (their old rows replaced)."""
    from openpyxl import load_workbook

    rows = carried_rows(previous, updates, today)
    book = load_workbook(path)
    for name, values in rows.items():
        _write_rows(book[name] if name in book.sheetnames else _new_sheet(book, name), name, values)
    book.save(path)
    return CarryResult(tuple(r["action_id"] for r in rows[LEARNING_ACTIONS]),
                       tuple(r["action_id"] for r in rows[AGENCY_ACTIONS]))


def _new_sheet(book, name: str):
    sheet = book.create_sheet(name)
    sheet.append(list(HEADERS[name].values()))
    return sheet


def _write_rows(sheet, name: str, values: list[dict[str, Any]]) -> None:
    keys = {_header_key(h): k for k, h in HEADERS[name].items()}
    columns: dict[str, int] = {}
    for cell in sheet[1]:
        key = keys.get(_header_key(str(cell.value or "")))
        if key and key not in columns:
            columns[key] = cell.column
    for key in HEADERS[name]:  # a workbook from before the tracker: its columns are added at the end
        if key not in columns:
            columns[key] = sheet.max_column + 1
            sheet.cell(1, columns[key], HEADERS[name][key])
    if sheet.max_row > 1:
        sheet.delete_rows(2, sheet.max_row - 1)
    for r, row in enumerate(values, start=2):
        for key, value in row.items():
            cell = sheet.cell(r, columns[key], value if value != "" else None)
            if isinstance(value, date):
                cell.number_format = "dd/mm/yyyy"
