"""The board's overview report: figures from `Findings`, narrative the comms team owns, nothing that names a child.

    build_report(ws, cycle) -> ReportResult

writes the next version of outbox/report/overview-report*.docx, the learning
log, and results.xlsx with its summary sheets. The narrative comes from the
report of ours saved last, recognised by its identity whatever its name
(`identity`). See `build` for versions,
`narrative` for how edited wording survives rebuilds, `privacy` for the scan.
"""

from .build import ReportResult, build_report, next_report_path, render_report, report_versions
from .identity import is_our_report, latest_report
from .narrative import StaleRegion

__all__ = ["ReportResult", "StaleRegion", "build_report", "is_our_report", "latest_report", "next_report_path",
           "render_report", "report_versions"]
