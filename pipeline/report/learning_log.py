"""outbox/learning-log.xlsx: the board's running register of lessons and actions, carried across cycles.

One row per action: the board's actions and next steps for each learning
point (Table 1) and each agency's single-agency actions (Appendix 3). Each
row has a stable reference (cycle, learning point or agency, and a short
fingerprint of the action's wording), so rewriting the log keeps what the
officer typed into it:

- rows of earlier cycles are kept exactly as they are (the next cycle starts
  from this file);
- for this cycle's rows, Owner, Due date, Progress and Completed typed into the
  log win over the workbook; blank ones take the workbook's values;
- a row of this cycle whose action is no longer in the workbook is kept,
  marked as such, rather than losing its progress notes;
- columns the officer added are kept, row by row, after the log's own
  columns, and formulas stay formulas; a log with sheets of the officer's
  own is first copied aside (learning-log (before ...).xlsx), since only
  the log sheet is rewritten.

The log is the board's register, shared beyond the officer: like the report,
it is not written while any of its cells names a child of this cycle (in any
spelling `child_names` folds); the problem says which row and column.
"""

from __future__ import annotations

import hashlib
import io
from datetime import date, datetime
from pathlib import Path
from typing import Any, Optional

from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.datavalidation import DataValidation

from ..child_names import context, find_name, terms_for
from ..excel_style import NAVY, WRAP_TOP, filter_rows, heading_row
from ..models import Cycle
from ..problems import CaseAuditError, ProblemReport
from ..workspace import Workspace, atomic_write_bytes, unique_path

SHEET = "Learning log"
COLUMNS = [("Ref", 22), ("Lesson", 50), ("Source cycle", 12), ("KLOE", 7), ("Type", 18), ("Action", 60),
           ("Owner", 24), ("Due date", 12), ("Progress", 40), ("Completed", 11)]
KEPT_BY_OFFICER = ("Owner", "Due date", "Progress", "Completed")
GONE = " (no longer in the cycle workbook)"


def _ref(cycle_id: str, group: str, text: str) -> str:
    return f"{cycle_id}/{group}/{hashlib.sha256(text.strip().casefold().encode()).hexdigest()[:6]}"


def cycle_rows(cycle: Cycle) -> list[dict[str, Any]]:
    """This cycle's rows, from the workbook's learning actions and agency actions."""
    cid, cname = cycle.settings.cycle_id, cycle.settings.cycle_name
    rows: list[dict[str, Any]] = []
    for la in sorted(cycle.learning_actions, key=lambda la: la.number):
        lesson = f"{la.number}. {la.learning_point}"
        items = [("Action being undertaken", a) for a in la.actions]
        items += [("Next step from the Board", s) for s in la.next_steps]
        for kind, text in items or [("Learning point", "")]:
            rows.append({"Ref": _ref(cid, f"L{la.number}", kind + text), "Lesson": lesson, "Source cycle": cname,
                         "KLOE": la.kloe, "Type": kind, "Action": text, "Owner": la.owner, "Due date": la.due,
                         "Progress": "", "Completed": "No"})
    names = {a.code: a.name for a in cycle.agencies}
    for action in cycle.agency_actions:
        name = names.get(action.agency, action.agency)
        rows.append({"Ref": _ref(cid, action.agency, action.action), "Lesson": f"Single-agency learning: {name}",
                     "Source cycle": cname, "KLOE": None, "Type": "Single-agency action", "Action": action.action,
                     "Owner": name, "Due date": None, "Progress": action.progress,
                     "Completed": "Yes" if action.completed else "No"})
    return rows


def read_log(path: Path) -> Optional[tuple[list[dict[str, Any]], list[str], list[str]]]:
    """An existing log: its rows by column title, its column titles, and its sheet names; None when there is none."""
    if not path.is_file():
        return None
    try:
        data = path.read_bytes()
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except PermissionError:
        raise CaseAuditError.single("file.locked", f"Could not read {path.name}: it is open in another program.",
                                    "Close it in Excel and run build-report again.", file=path) from None
    except Exception:  # openpyxl raises many kinds for a damaged file
        raise CaseAuditError.single(
            "learning-log.unreadable", f"{path.name} could not be read, so it was left as it is and not updated.",
            "Open it in Excel and save it again (or move it away to start a fresh log), then run build-report.",
            file=path) from None
    try:
        sheets = list(book.sheetnames)
        sheet = book[SHEET] if SHEET in book.sheetnames else book.worksheets[0]
        rows = list(sheet.iter_rows(values_only=True))
    finally:
        book.close()
    if not rows:
        return [], [], sheets
    titles = [str(t).strip() if t is not None else "" for t in rows[0]]
    out = []
    for values in rows[1:]:
        if values is None or all(v in (None, "") for v in values):
            continue
        out.append({t: v for t, v in zip(titles, values) if t})
    return out, [t for t in titles if t], sheets


def merge(existing: Optional[list[dict[str, Any]]], fresh: list[dict[str, Any]], cycle: Cycle) -> list[dict[str, Any]]:
    if not existing:
        return fresh
    cname = cycle.settings.cycle_name
    cid = cycle.settings.cycle_id
    by_ref = {str(r.get("Ref") or ""): r for r in existing}
    fresh_refs = {r["Ref"] for r in fresh}

    def this_cycle(row) -> bool:
        return str(row.get("Ref") or "").startswith(cid + "/") or row.get("Source cycle") == cname

    earlier = [r for r in existing if not this_cycle(r)]
    merged = []
    for row in fresh:
        old = by_ref.get(row["Ref"])
        if old is not None:
            for column in KEPT_BY_OFFICER:
                if old.get(column) not in (None, ""):
                    row[column] = old[column]
            for column, value in old.items():  # the officer's own columns
                row.setdefault(column, value)
        merged.append(row)
    gone = []
    for r in existing:
        if this_cycle(r) and str(r.get("Ref") or "") not in fresh_refs:
            row = dict(r)
            if not str(row.get("Type") or "").endswith(GONE):
                row["Type"] = f"{row.get('Type') or ''}{GONE}"
            gone.append(row)
    return earlier + merged + gone


def learning_log_bytes(rows: list[dict[str, Any]], extra_columns: list[str] = ()) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    columns = COLUMNS + [(title, 20) for title in extra_columns]
    heading_row(ws, columns, NAVY, freeze="C2")
    for r, row in enumerate(rows, start=2):
        for c, (title, _) in enumerate(columns, start=1):
            value = row.get(title)
            if isinstance(value, datetime):
                value = value.date()
            cell = ws.cell(row=r, column=c, value=value if value != "" else None)
            cell.alignment = WRAP_TOP
            if title == "Due date" and isinstance(value, date):
                cell.number_format = "yyyy-mm-dd"
    last = max(len(rows) + 1, 2)
    filter_rows(ws, columns, last)
    completed = DataValidation(type="list", formula1='"Yes,No"', allow_blank=True)
    completed.error = "Choose Yes or No."
    ws.add_data_validation(completed)
    completed.add(f"J2:J{max(last, 500)}")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def refuse_if_named(rows: list[dict[str, Any]], cycle: Cycle, path: Path) -> None:
    """Raise (nothing written, the old log kept) when a cell of the new log names a child of the cycle."""
    terms = terms_for(cycle)
    report = ProblemReport()
    for number, row in enumerate(rows, start=2):
        for title, value in row.items():
            hit = find_name(value, terms) if isinstance(value, str) and terms else None
            if hit is not None:
                report.add("learning-log.child-named",
                           f"The {hit.term.which} of the child in case {hit.term.case_ref} is in the learning log: "
                           f"{context(hit, terms)}",
                           "Reword it (refer to the case by its reference) in the cycle workbook's learning-action "
                           f"or agency-action sheets, or in {path.name} itself, then run build-report again.",
                           file=path, location=f"{SHEET}, row {number}, column {title}")
    report.raise_if_errors(f"{path.name} was not updated: it would name a child in {len(report.errors)} place(s).")


def write_learning_log(ws: Workspace, cycle: Cycle) -> Path:
    """Rewrite outbox/learning-log.xlsx, keeping what the officer typed (see module notes)."""
    path = ws.learning_log_path
    existing = read_log(path)
    old_rows, titles, sheets = existing if existing is not None else (None, [], [])
    known = {title for title, _ in COLUMNS}
    extra = [t for t in titles if t not in known]
    if any(name != SHEET for name in sheets):
        stamp = datetime.now().strftime("%Y-%m-%d %H%M")
        backup = unique_path(path.with_name(f"{path.stem} (before {stamp}){path.suffix}"))
        atomic_write_bytes(backup, path.read_bytes())
    rows = merge(old_rows, cycle_rows(cycle), cycle)
    refuse_if_named(rows, cycle, path)
    atomic_write_bytes(path, learning_log_bytes(rows, extra))
    return path
