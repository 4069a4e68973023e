"""Summary sheets for outbox/results.xlsx: per standard and per agency, each with a native Excel bar chart.

The figures are the report's own (`Findings`), so the workbook and the report
can never disagree. Percentages are stored as numbers formatted 0%, from
`findings.percent`, so Excel shows exactly what the report prints.
"""

from __future__ import annotations

from typing import Callable

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.label import DataLabelList

from .. import wording
from ..excel_style import NAVY, WRAP_TOP, cell, filter_rows, heading_row
from ..findings import Findings, percent
from ..models import Cycle

BY_STANDARD = "By standard"
BY_AGENCY = "By agency"


def _styled(ws, value, *, percent_format=False, bold=False):
    """A value cell: wrapped at the top, percentages as 0%."""
    return cell(ws, value, alignment=WRAP_TOP, number_format="0%" if percent_format else None, bold=bold)


def _sheet(wb: Workbook, title: str, columns: list[tuple[str, int]]):
    if title in wb.sheetnames and not getattr(wb, "write_only", False):
        del wb[title]
    ws = wb.create_sheet(title)
    heading_row(ws, columns, NAVY, freeze="C2")
    return ws


def _bar_chart(title: str, values: Reference, labels: Reference, count: int, width: float) -> BarChart:
    chart = BarChart()
    chart.type = "bar"
    chart.style = 10
    chart.title = title
    chart.y_axis.number_format = "0%"
    chart.y_axis.scaling.min = 0
    chart.y_axis.scaling.max = 1
    chart.x_axis.scaling.orientation = "maxMin"  # first row at the top, as in the table
    chart.add_data(values, titles_from_data=True)
    chart.set_categories(labels)
    chart.legend = None
    chart.dataLabels = DataLabelList()
    chart.dataLabels.showVal = True
    chart.height = max(7.5, 0.55 * count + 2)
    chart.width = width
    return chart


def add_standard_sheet(wb: Workbook, findings: Findings):
    columns = [("KLOE", 7), ("Standard", 10), ("Finding when met", 48), ("Cases met", 10), ("Cases assessed", 10),
               ("% of cases met", 10), ("Cases not assessed", 10), ("Agency answers met", 10),
               ("Agency answers rated", 10), ("% of answers met", 10), ("Not applicable", 10), ("Blank", 8),
               ("Chart label", 14)]
    ws = _sheet(wb, BY_STANDARD, columns)
    for s in findings.standards:
        ws.append([
            _styled(ws, s.kloe), _styled(ws, s.number), _styled(ws, s.finding_met or s.text),
            _styled(ws, s.cases_met), _styled(ws, s.cases_assessed),
            _styled(ws, s.percent_met / 100 if s.cases_assessed else None, percent_format=True),
            _styled(ws, s.cases_not_assessed), _styled(ws, s.responses_met), _styled(ws, s.responses_rated),
            _styled(ws, s.percent_responses_met / 100 if s.responses_rated else None, percent_format=True),
            _styled(ws, s.responses_not_applicable), _styled(ws, s.responses_missing),
            _styled(ws, wording.standard_label(s.number)),
        ])
    last = len(findings.standards) + 1
    filter_rows(ws, columns, last)
    ws.append([])
    ws.append([wording.counting_rule(findings.counting_rule)])
    ws.append([wording.ROUNDING_RULE])
    if findings.standards:
        ws.add_chart(_bar_chart(wording.SHEET_STANDARD_CHART, Reference(ws, min_col=6, min_row=1, max_row=last),
                                Reference(ws, min_col=13, min_row=2, max_row=last), len(findings.standards), 18), "O2")
    return ws


def add_agency_sheet(wb: Workbook, findings: Findings):
    columns = [("Agency", 12), ("Agency name", 34), ("Cases involved", 10), ("Cases audited", 10),
               ("Answers met", 10), ("Answers not met", 10), ("% of answers met", 10), ("Not applicable", 10),
               ("Blank", 8), ("Summary form returned", 11)]
    ws = _sheet(wb, BY_AGENCY, columns)
    agencies = list(findings.agencies)
    for a in agencies:
        rated = a.met + a.not_met
        ws.append([_styled(ws, a.code), _styled(ws, a.name), _styled(ws, a.cases_involved), _styled(ws, a.cases_audited),
                   _styled(ws, a.met), _styled(ws, a.not_met),
                   _styled(ws, percent(a.met, rated) / 100 if rated else None, percent_format=True),
                   _styled(ws, a.not_applicable), _styled(ws, a.missing),
                   _styled(ws, wording.yes_no(a.summary_returned))])
    last = len(agencies) + 1
    # the agency x standard grid of the report's chart, as text 'met/rated'
    ws.append([])
    ws.append([_styled(ws, wording.SHEET_GRID_HEADING, bold=True)])
    ws.append([_styled(ws, "Standard", bold=True)] + [_styled(ws, a.code, bold=True) for a in agencies])
    for s in findings.standards:
        row = [s.number]
        for a in agencies:
            f = next((f for f in a.standards if f.standard == s.number), None)
            row.append(f"{f.met}/{f.rated}" if f is not None and f.rated else None)
        ws.append(row)
    if agencies:
        ws.add_chart(_bar_chart(wording.SHEET_AGENCY_CHART,
                                Reference(ws, min_col=7, min_row=1, max_row=last),
                                Reference(ws, min_col=1, min_row=2, max_row=last), len(agencies), 16), "L2")
    return ws


def add_summary_sheets(wb: Workbook, findings: Findings) -> list[str]:
    """Add the 'By standard' and 'By agency' sheets (replacing them in an ordinary workbook); returns their names.

    Works on write-only (streaming) workbooks too, the way results.xlsx is written.
    """
    add_standard_sheet(wb, findings)
    add_agency_sheet(wb, findings)
    return [BY_STANDARD, BY_AGENCY]


def summary_sheet_writer(findings: Findings) -> Callable[[Workbook, Cycle, object], None]:
    """The `extra_sheets` callable `pipeline.results.write_results` takes."""
    def write(wb: Workbook, cycle: Cycle, store: object) -> None:
        add_summary_sheets(wb, findings)
    return write
