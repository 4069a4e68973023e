"""outbox/learning-log.xlsx: the board's action tracker (issue 13), carried across cycles.

One row per action, learning actions (Table 1) and agency actions
(Appendix 3) alike, keyed by its Action ID: round raised, type, agency,
lesson, action, owner, due date, status (the latest given; Overdue when past
its due date and not complete), the latest progress and its date, evidence
of impact. The Status cells are coloured RAG by conditional formatting, the
heading row has filters, and a Summary sheet counts actions by status and by
agency (the same numbers as the report's 'Progress on actions'), with a
native bar chart.

Where it comes from: the cycle workbook's two action sheets and the progress
forms agencies return; record progress there, not in the tracker. Rewriting
it keeps what the officer added:

- rows of actions not in this cycle's workbook are kept exactly as they are
  (earlier rounds; an action of this cycle taken out of the workbook is
  marked as such rather than losing its row);
- columns the officer added are kept, row by row (by Action ID), after the
  tracker's own columns, and formulas stay formulas;
- a log with sheets of the officer's own, or a learning log from before the
  tracker (its 'Ref' rows), is first copied aside
  (learning-log (before ...).xlsx), since only the tracker's sheets are rewritten.

The log is the board's register, shared beyond the officer: like the report,
it is not written while any of its cells names a child of this cycle (in any
spelling `child_names` folds); the problem says which row and column.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from openpyxl import Workbook, load_workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from ..actions import AGENCY, RAG, STATUS_ORDER, ActionFigures, LatestProgress, TrackedAction, action_figures, \
    latest_updates, tracked_actions
from ..child_names import context, find_name, redact, terms_for
from ..excel_style import NAVY, WRAP_TOP, filter_rows, heading_row
from ..models import ActionStatus, Cycle
from ..problems import CaseAuditError, ProblemReport
from ..workspace import Workspace, atomic_write_bytes, unique_path

SHEET = "Learning log"  # the tracker's sheet keeps the log's name: boards know the file by it
SUMMARY = "Summary"
COLUMNS = [("Action ID", 12), ("Round raised", 11), ("Type", 16), ("Agency", 12), ("Lesson", 40), ("Action", 55),
           ("Owner", 20), ("Due date", 12), ("Status", 12), ("Latest progress", 45), ("Progress date", 12),
           ("Evidence of impact", 45)]
STATUS_COLUMN = get_column_letter([t for t, _ in COLUMNS].index("Status") + 1)
GONE = " (no longer in the cycle workbook)"
LEARNING_TYPE, AGENCY_TYPE = "Learning action", "Agency action"
# RAG fills for the Status cells (conditional formatting: they follow the officer's own sorting and edits)
RAG_FILLS = {"blue": "BDD7EE", "green": "C6EFCE", "amber": "FFEB9C", "red": "FFC7CE", "grey": "E7E6E6"}
RAG_CHART = {"blue": "5B9BD5", "green": "70AD47", "amber": "FFC000", "red": "C00000", "grey": "A5A5A5"}
OLD_LOG_MARK = "Ref"  # the first heading of the learning log from before the tracker


def tracker_rows(cycle: Cycle, actions: Sequence[TrackedAction]) -> list[dict[str, Any]]:
    """This cycle's rows: one per action, learning actions first.

    An agency's words from a progress form have any child's name taken out (the form's feedback already asked the
    agency to reword it); what the officer typed is checked as it is (`refuse_if_named`).
    """
    names = {a.code: a.name for a in cycle.agencies}
    terms = terms_for(cycle)

    def theirs(a: TrackedAction, text: str) -> str:
        return redact(text, terms) if a.latest is not None and text and terms else text

    lessons = {la.action_id: f"{la.number}. {la.learning_point}" for la in cycle.learning_actions}
    rows = []
    for a in actions:
        agency = a.kind == AGENCY
        rows.append({
            "Action ID": a.action_id, "Round raised": a.round_raised or cycle.settings.cycle_id,
            "Type": AGENCY_TYPE if agency else LEARNING_TYPE, "Agency": a.agency if agency else "",
            "Lesson": f"Single-agency learning: {names.get(a.agency, a.agency)}" if agency else lessons.get(a.action_id, ""),
            "Action": a.text, "Owner": names.get(a.owner, a.owner), "Due date": a.due, "Status": a.status.value,
            "Latest progress": theirs(a, a.latest_progress), "Progress date": a.latest_date,
            "Evidence of impact": theirs(a, a.latest_evidence),
        })
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
    """Fresh rows with the officer's own columns carried over by Action ID; other actions' rows kept as they were."""
    if not existing:
        return fresh
    cid = cycle.settings.cycle_id
    by_id = {str(r.get("Action ID") or ""): r for r in existing}
    fresh_ids = {r["Action ID"] for r in fresh}
    merged = []
    for row in fresh:
        old = by_id.get(row["Action ID"], {})
        for column, value in old.items():  # the officer's own columns
            row.setdefault(column, value)
        merged.append(row)
    kept = []
    for r in existing:
        if str(r.get("Action ID") or "") in fresh_ids:
            continue
        row = dict(r)
        if str(row.get("Round raised") or "") == cid and not str(row.get("Type") or "").endswith(GONE):
            row["Type"] = f"{row.get('Type') or ''}{GONE}"
        kept.append(row)
    return merged + kept


def learning_log_bytes(rows: list[dict[str, Any]], extra_columns: Sequence[str] = (),
                       figures: Optional[ActionFigures] = None, agency_names: Mapping[str, str] | None = None) -> bytes:
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
            if isinstance(value, date):
                cell.number_format = "dd/mm/yyyy"
    last = max(len(rows) + 1, 2)
    filter_rows(ws, columns, last)
    _rag(ws, f"{STATUS_COLUMN}2:{STATUS_COLUMN}{max(last, 500)}")
    if figures is not None:
        summary_sheet(wb, figures, agency_names or {})
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _rag(ws, cells: str) -> None:
    """The Status column coloured by what it says (conditional formatting, not fills) and offered as a list."""
    for status in STATUS_ORDER:
        fill = PatternFill(start_color=RAG_FILLS[RAG[status]], end_color=RAG_FILLS[RAG[status]], fill_type="solid")
        ws.conditional_formatting.add(cells, CellIsRule(operator="equal", formula=[f'"{status.value}"'], fill=fill))
    choices = DataValidation(type="list", formula1='"' + ",".join(s.value for s in ActionStatus) + '"',
                             allow_blank=True)
    choices.error = "Choose Not started, On track, At risk, Overdue or Complete."
    ws.add_data_validation(choices)
    choices.add(cells)


def summary_sheet(wb: Workbook, figures: ActionFigures, agency_names: Mapping[str, str]) -> None:
    """Actions by status and by agency (the report's numbers), with a stacked bar chart by agency."""
    ws = wb.create_sheet(SUMMARY)
    heading_row(ws, [("Status", 16), ("Actions", 10)], NAVY, freeze="A2")
    for status, n in figures.by_status:
        ws.append([status.value, n])
    ws.append(["Total", figures.total])
    ws.cell(ws.max_row, 1).font = Font(bold=True)
    _rag(ws, f"A2:A{len(figures.by_status) + 1}")
    top = ws.max_row + 2
    titles = ["Agency"] + [s.value for s in STATUS_ORDER] + ["Total"]
    for c, title in enumerate(titles, start=1):
        cell = ws.cell(top, c, title)
        cell.fill, cell.font, cell.alignment = NAVY.fill, NAVY.font, NAVY.alignment
        ws.column_dimensions[get_column_letter(c)].width = max(ws.column_dimensions[get_column_letter(c)].width or 0,
                                                               12 if c > 1 else 30)
    for r, (agency, counts) in enumerate(figures.by_agency, start=top + 1):
        ws.cell(r, 1, agency_names.get(agency, agency) if agency else "The board (learning actions)")
        for c, (_status, n) in enumerate(counts, start=2):
            ws.cell(r, c, n)
        ws.cell(r, len(titles), sum(n for _s, n in counts))
    bottom = top + len(figures.by_agency)
    if figures.by_agency:
        chart = BarChart()
        chart.type, chart.grouping, chart.overlap = "bar", "stacked", 100
        chart.title = "Actions by agency and status"
        chart.add_data(Reference(ws, min_col=2, max_col=len(STATUS_ORDER) + 1, min_row=top, max_row=bottom),
                       titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=top + 1, max_row=bottom))
        for series, status in zip(chart.series, STATUS_ORDER):
            series.graphicalProperties.solidFill = RAG_CHART[RAG[status]]
            series.graphicalProperties.line.solidFill = RAG_CHART[RAG[status]]
        chart.x_axis.scaling.orientation = "maxMin"
        chart.height, chart.width = max(7.5, 0.6 * len(figures.by_agency) + 3), 18
        ws.add_chart(chart, f"{get_column_letter(len(titles) + 2)}2")


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
                           "Reword it (refer to the case by its reference) in the cycle workbook's action sheets, "
                           f"the agency's progress form, or {path.name} itself, then run build-report again.",
                           file=path, location=f"{SHEET}, row {number}, column {title}")
    report.raise_if_errors(f"{path.name} was not updated: it would name a child in {len(report.errors)} place(s).")


def write_learning_log(ws: Workspace, cycle: Cycle, updates: Mapping[str, LatestProgress] | None = None,
                       today: Optional[date] = None) -> Path:
    """Rewrite outbox/learning-log.xlsx as the action tracker, keeping what the officer added (see module notes).

    `updates`: each action's latest progress; read from the workspace's store when not given.
    """
    path = ws.learning_log_path
    existing = read_log(path)
    old_rows, titles, sheets = existing if existing is not None else (None, [], [])
    old_layout = bool(titles) and titles[0] == OLD_LOG_MARK
    if old_layout or any(name not in (SHEET, SUMMARY) for name in sheets):
        stamp = datetime.now().strftime("%Y-%m-%d %H%M")
        backup = unique_path(path.with_name(f"{path.stem} (before {stamp}){path.suffix}"))
        atomic_write_bytes(backup, path.read_bytes())
    if old_layout:
        old_rows, titles = None, []
    known = {title for title, _ in COLUMNS}
    extra = [t for t in titles if t not in known]
    if updates is None:
        updates = _stored_updates(ws, cycle)
    actions = tracked_actions(cycle, updates, today)
    rows = merge(old_rows, tracker_rows(cycle, actions), cycle)
    refuse_if_named(rows, cycle, path)
    names = {a.code: a.name for a in cycle.agencies}
    atomic_write_bytes(path, learning_log_bytes(rows, extra, action_figures(actions), names))
    return path


def _stored_updates(ws: Workspace, cycle: Cycle) -> dict[str, LatestProgress]:
    """The latest progress on each action from the progress forms ingested (none before the store exists)."""
    if not ws.store_path.is_file():
        return {}
    from ..store import Store

    with Store.open(ws.store_path) as store:
        return latest_updates(store.progress_returns(cycle.settings.cycle_id))
