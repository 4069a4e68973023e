"""The trend workbook's sheets (see `pipeline.trend`): the figures, and a native line chart per KLOE."""

from __future__ import annotations

from openpyxl import Workbook
from openpyxl.chart import LineChart, Reference
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from .excel_style import NAVY, WRAP_TOP
from .findings import percent

TREND_SHEET, CHART_SHEET = "Trend", "Charts"
GROUP = ("Cases meeting", "Cases audited", "%")
NOTE = ("Cases audited: cases in which at least one agency rated the standard ('not applicable' and blank answers "
        "are not ratings). A standard reworded between rounds is a different standard and has a row of its own. "
        "Each round counts cases under its own counting rule (its Settings sheet).")


def _heading(c) -> None:
    c.fill, c.font, c.alignment = NAVY.fill, NAVY.font, NAVY.alignment


def trend_workbook(result) -> Workbook:
    book = Workbook()
    ws = book.active
    ws.title = TREND_SHEET
    ws["A1"] = "Cases meeting each standard, round by round"
    ws["A1"].font = Font(bold=True, size=13, color="1F3864")
    ws["A2"] = NOTE
    ws["A2"].alignment = WRAP_TOP
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=3 + 3 * len(result.rounds))
    ws.row_dimensions[2].height = 45
    for col, (title, width) in enumerate((("Standard", 26), ("KLOE", 7), ("Finding when met", 48)), start=1):
        ws.cell(3, col, title)
        _heading(ws.cell(3, col))
        ws.merge_cells(start_row=3, start_column=col, end_row=4, end_column=col)
        ws.column_dimensions[get_column_letter(col)].width = width
    for i, r in enumerate(result.rounds):
        first = 4 + 3 * i
        ws.cell(3, first, f"{r.label}: {r.name}" if r.name and r.name != r.label else r.label)
        ws.merge_cells(start_row=3, start_column=first, end_row=3, end_column=first + 2)
        for j, title in enumerate(GROUP):
            _heading(ws.cell(3, first + j))
            ws.cell(4, first + j, title)
            _heading(ws.cell(4, first + j))
            ws.column_dimensions[get_column_letter(first + j)].width = 10
    for n, row in enumerate(result.rows, start=5):
        ws.cell(n, 1, row.label)
        ws.cell(n, 2, row.kloe)
        ws.cell(n, 3, row.finding).alignment = WRAP_TOP
        for i, r in enumerate(result.rounds):
            got = r.cells.get(row.identity)
            if got is None:
                continue
            first = 4 + 3 * i
            ws.cell(n, first, got[0])
            ws.cell(n, first + 1, got[1])
            if got[1]:
                ws.cell(n, first + 2, percent(*got) / 100).number_format = "0%"
    ws.freeze_panes = "D5"
    _charts(book, result)
    book.properties.title = "Case audit trend across rounds"
    book.properties.creator = "case-audit"
    return book


def _charts(book: Workbook, result) -> None:
    """Per KLOE: its figures (rows: rounds; columns: standards) and a line chart drawn from them."""
    ws = book.create_sheet(CHART_SHEET)
    ws["A1"] = "Share of cases meeting each standard, by round: one chart per KLOE"
    ws["A1"].font = Font(bold=True, size=13, color="1F3864")
    kloes = sorted({row.kloe for row in result.rows})
    top = 3
    for k in kloes:
        rows = [row for row in result.rows if row.kloe == k]
        ws.cell(top, 1, f"KLOE {k}").font = Font(bold=True)
        ws.cell(top + 1, 1, "Round")
        for j, row in enumerate(rows, start=2):
            ws.cell(top + 1, j, row.label).alignment = Alignment(wrap_text=True)
        for i, r in enumerate(result.rounds, start=top + 2):
            ws.cell(i, 1, r.label)
            for j, row in enumerate(rows, start=2):
                got = r.cells.get(row.identity)
                if got and got[1]:
                    ws.cell(i, j, percent(*got) / 100).number_format = "0%"
        last_row = top + 1 + len(result.rounds)
        chart = LineChart()
        chart.title = f"KLOE {k}: share of cases meeting each standard, by round"
        chart.y_axis.title = "Cases meeting the standard"
        chart.x_axis.title = "Round"
        chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 1
        chart.y_axis.number_format = "0%"
        chart.x_axis.delete = False
        chart.y_axis.delete = False
        chart.add_data(Reference(ws, min_col=2, max_col=1 + len(rows), min_row=top + 1, max_row=last_row),
                       titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=top + 2, max_row=last_row))
        chart.height, chart.width = 7.5, 16
        ws.add_chart(chart, f"{get_column_letter(len(rows) + 3)}{top}")
        top = max(last_row + 2, top + 16)
    ws.column_dimensions["A"].width = 12
