"""outbox/results.xlsx: every response as a filterable sheet, rebuilt from the store each time.

Written whole or not at all (`atomic_write_bytes`): when the workbook is open
in Excel the write fails with a `file.locked` problem, the records stay
committed, and the officer closes Excel and runs the command again.

It holds agencies' own words and the names of the files they sent, either
of which may name a child: it is for the officer, not for publishing. So it
is marked OFFICIAL-SENSITIVE (Government Security Classifications, as the
returns themselves are) on a first "Read me" sheet, in every sheet's printed
header and footer, and in its document properties; its contents are left
whole, as the officer needs them to follow up returns.

It always ends with the report's summary sheets ("By standard", "By agency",
from the same `Findings` as the report), so ingest and build-report write the
same workbook. Other stages add sheets through `extra_sheets`: callables given
the openpyxl workbook (write-only: create sheets, append rows, add charts), the
cycle and the store, run after those.

Not written again when nothing in it would change: a digest of everything it
would hold (every row, the findings behind the summary sheets, the code that
lays it out) is kept in `.case-audit/results.digest` with the sha256 of the
file written; when both match, the file is left alone. Anything else (a new
return, an edited cycle workbook, the officer editing or deleting the file, an
extra sheet without a `content_key`) writes it again. At a thousand returns
the write is most of build-report's time, and build-report usually follows
an ingest that has just written the same workbook.
"""

from __future__ import annotations

import hashlib
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from .cache import code_fingerprint
from .excel_style import PLAIN, WRAP_TOP, cell, filter_rows, heading_row
from .models import AuditReturn, Cycle, OtherText, RatingKind, SummaryReturn
from .problems import Severity
from .store import Store
from .workspace import Workspace, atomic_write_bytes

SheetWriter = Callable[[Workbook, Cycle, Store], None]

EXCEL_CELL_LIMIT = 32767
DATE_FORMAT = "yyyy-mm-dd hh:mm"

MARKING = "OFFICIAL-SENSITIVE"
READ_ME = "Read me"
READ_ME_NOTE = (
    MARKING,
    "This workbook holds the agencies' own words and the names of the files they sent. Either may name a child.",
    "It is for the board business officer and the audit team: do not publish it, attach it to board papers or "
    "send it outside secure email.",
    "The board report is built from the same answers and is checked so it never names a child; this workbook is not.",
    "It is rebuilt by case-audit from the returns each time: anything typed into it is lost at the next ingest.",
)

RESPONSES_COLUMNS = [
    ("Agency", 10), ("Agency name", 28), ("Case ref", 12), ("Priority area", 20), ("KLOE", 7),
    ("Standard", 10), ("Rating", 18), ("Counts as", 14), ("Evidence", 60), ("Reason", 60),
    ("Return status", 16), ("Source file", 36), ("Received", 18), ("Form ID", 22), ("Other text", 60),
    ("Moderated rating", 18), ("Moderated counts as", 14), ("Reason for change", 40),
]


DIGEST_NAME = "results.digest"  # in the workspace's private .case-audit folder


def write_results(ws: Workspace, cycle: Cycle, store: Store, extra_sheets: Optional[Sequence[SheetWriter]] = None,
                  *, findings=None, returns: Optional[Sequence[AuditReturn]] = None) -> Path:
    """Bring outbox/results.xlsx up to date with the store; raises CaseAuditError (file.locked) if Excel has it open.

    `findings` (the report's, when build-report has them) and `returns` (the
    store's current audit returns, when already read) save computing them again.
    Left as it is when what it would hold is what it holds (see the module's notes).
    """
    if returns is None:
        from .moderation import moderated_from_store  # every figure uses the panel's rating where there is one
        returns = moderated_from_store(cycle, store)
    summaries = store.current_summary_returns()
    sheets = [_summary_sheets(cycle, store, returns, summaries, findings), *(extra_sheets or ())]
    digest = content_digest(cycle, store, returns, summaries, sheets)
    if digest is not None and _is_current(ws, digest):
        return ws.results_path
    wb = results_workbook(cycle, store, sheets, returns=returns, summaries=summaries)
    buffer = io.BytesIO()
    wb.save(buffer)
    data = buffer.getvalue()
    digest_path = ws.state_dir / DIGEST_NAME
    digest_path.unlink(missing_ok=True)  # a crash between the two writes leaves no digest, so the next run writes
    atomic_write_bytes(ws.results_path, data)
    if digest is not None:
        record = {"content": digest, "file_sha256": hashlib.sha256(data).hexdigest()}
        atomic_write_bytes(digest_path, json.dumps(record).encode("utf-8"))
    return ws.results_path


def _summary_sheets(cycle: Cycle, store: Store, returns: Sequence[AuditReturn], summaries: Sequence[SummaryReturn],
                    findings) -> SheetWriter:
    """The report's 'By standard' and 'By agency' sheets, keyed by the findings they show."""
    from .findings import compute_findings
    from .report.excel import summary_sheet_writer

    if findings is None:
        findings = compute_findings(cycle, returns, summaries, store.issued_forms())
    writer = summary_sheet_writer(findings)
    writer.content_key = findings_key(findings)
    return writer


def findings_key(findings) -> str:
    """sha256 of every figure and word of the findings, item by item: their whole JSON is ~12 MB at 1k returns."""
    h = hashlib.sha256()
    for name in type(findings).model_fields:
        value = getattr(findings, name)
        for item in value if isinstance(value, tuple) else (value,):
            h.update(f"\x00{name}\x00".encode())
            h.update(item.model_dump_json().encode("utf-8") if hasattr(item, "model_dump_json") else repr(item).encode())
    return h.hexdigest()


def content_digest(cycle: Cycle, store: Store, returns: Sequence[AuditReturn], summaries: Sequence[SummaryReturn],
                   sheets: Sequence[SheetWriter]) -> Optional[str]:
    """sha256 of everything results.xlsx would hold; None when a sheet writer cannot say what it writes."""
    keys = [getattr(writer, "content_key", None) for writer in sheets]
    if any(key is None for key in keys):
        return None
    h = hashlib.sha256(code_fingerprint().encode())
    # the Responses and Summaries rows are made from the cycle and these returns alone: their JSON is quicker to hash
    for item in (cycle, *returns, *summaries):
        h.update(item.model_dump_json().encode("utf-8") + b"\x00")
    for rows in (returns_log_rows(store), problem_rows(store), ([key] for key in keys)):
        for row in rows:
            h.update(repr(row).encode("utf-8", "surrogatepass"))
        h.update(b"\x00sheet\x00")
    return h.hexdigest()


def _is_current(ws: Workspace, digest: str) -> bool:
    """results.xlsx is the file last written for exactly this content (unedited, not deleted)."""
    try:
        record = json.loads((ws.state_dir / DIGEST_NAME).read_text(encoding="utf-8"))
        if record.get("content") != digest:
            return False
        return hashlib.sha256(ws.results_path.read_bytes()).hexdigest() == record.get("file_sha256")
    except (OSError, ValueError, AttributeError):
        return False


def results_workbook(cycle: Cycle, store: Store, extra_sheets: Optional[Sequence[SheetWriter]] = None, *,
                     returns: Optional[Sequence[AuditReturn]] = None,
                     summaries: Optional[Sequence[SummaryReturn]] = None) -> Workbook:
    """The workbook in write-only (streaming) mode: a thousand returns are 22,000 rows, and memory stays small.

    Extra sheet writers therefore create sheets and append rows (openpyxl's
    write-only API: `wb.create_sheet`, `sheet.append`, `sheet.add_chart`).
    """
    if returns is None:
        returns = store.current_audit_returns(cycle)
    wb = Workbook(write_only=True)
    _read_me(wb.create_sheet(READ_ME))
    fill_sheet(wb.create_sheet("Responses"), RESPONSES_COLUMNS, response_rows(cycle, returns))
    fill_sheet(wb.create_sheet("Summaries"), [("Agency", 10), ("Agency name", 28), ("Improvements to be made", 60),
                                              ("Partnership working", 60), ("Other comments", 60),
                                              ("Source file", 36), ("Received", 17), ("Other text", 60)],
               summary_rows(cycle, store.current_summary_returns() if summaries is None else summaries))
    fill_sheet(wb.create_sheet("Returns"), [("Received", 17), ("File", 40), ("Outcome", 12), ("Counts", 8),
                                            ("Agency", 10), ("Case ref", 12), ("Form ID", 22), ("Message", 70),
                                            ("Tracked changes", 9), ("Comments", 9), ("Now at", 40),
                                            ("Archived as", 30)],
               returns_log_rows(store, cycle))
    fill_sheet(wb.create_sheet("Problems"), [("Received", 17), ("File", 40), ("Agency", 10), ("Case ref", 12),
                                             ("Severity", 9), ("Where", 30), ("Problem", 70), ("What to do", 60),
                                             ("Found", 20), ("Code", 26)],
               problem_rows(store))
    for writer in extra_sheets or ():
        writer(wb, cycle, store)
    mark_sensitive(wb)
    return wb


def _read_me(sheet) -> None:
    sheet.column_dimensions["A"].width = 110
    for i, line in enumerate(READ_ME_NOTE):
        made = cell(sheet, line, alignment=WRAP_TOP)
        made.font = Font(bold=True, color="C00000", size=14) if i == 0 else Font(size=11)
        sheet.append([made])


def mark_sensitive(wb: Workbook) -> None:
    """OFFICIAL-SENSITIVE in every sheet's printed header and footer and in the file's properties."""
    for sheet in wb.worksheets:
        for part in (sheet.oddHeader, sheet.evenHeader, sheet.firstHeader, sheet.oddFooter):
            part.center.text = MARKING
            part.center.font = "Arial,Bold"
    wb.properties.title = f"Case audit results ({MARKING})"
    wb.properties.category = MARKING
    wb.properties.keywords = MARKING


# --- rows ---------------------------------------------------------------------------


def response_rows(cycle: Cycle, returns: Iterable[AuditReturn]) -> Iterable[list[Any]]:
    """One row per agency x case x standard of every return that counts (blank rating where none given)."""
    agencies = {a.code: a.name for a in cycle.agencies}
    priority = {c.ref: c.priority_area for c in cycle.cases}
    standards = {s.number: s for s in cycle.standards}
    for ret in returns:
        ident = ret.identity
        other = other_text_cell(ret.other_text)
        status = "No involvement" if ret.no_involvement else ("Complete" if ret.complete else "Incomplete")
        numbers = [s.number for s in cycle.standards if s.kloe in set(ident.kloes)] or [a.standard for a in ret.answers]
        for number in numbers:
            answer = ret.answer(number)
            std = standards.get(number)
            reason = answer.reason if answer else ""
            if ret.no_involvement and not reason:
                reason = ret.no_involvement_reason
            moderated = answer is not None and answer.moderated  # Rating: the agency's; then the panel's
            yield [
                ident.agency, agencies.get(ident.agency, ""), ident.case_ref, priority.get(ident.case_ref or "", ""),
                std.kloe if std else None, number,
                (answer.agency_rating_label if moderated else answer.rating_label) if answer else "",
                _kind_text((answer.agency_rating if moderated else answer.rating) if answer else None),
                answer.evidence if answer else "", reason, status, ret.source_file, ret.received_at,
                ident.form_id, other,
                answer.rating_label if moderated else "", _kind_text(answer.rating) if moderated else "",
                answer.moderation_reason if moderated else "",
            ]


def other_text_cell(other: Iterable[OtherText]) -> str:
    """Text the form did not ask for, whole (results.xlsx keeps the agency's words): "where: text", one per line."""
    return "\n".join(f"{o.where}: {o.text}" for o in other)


def _kind_text(kind: Optional[RatingKind]) -> str:
    return kind.value if kind else ""


def summary_rows(cycle: Cycle, summaries: Iterable[SummaryReturn]) -> Iterable[list[Any]]:
    agencies = {a.code: a.name for a in cycle.agencies}
    for s in summaries:
        yield [s.identity.agency, agencies.get(s.identity.agency, ""), s.improvements, s.partnership, s.comments,
               s.source_file, s.received_at, other_text_cell(s.other_text)]


def returns_log_rows(store: Store, cycle: Optional[Cycle] = None) -> Iterable[list[Any]]:
    """Every file received; a rejected one whose identity could not be read is put against the agency its name says."""
    from .origins import agency_from_file_name

    counting = {r.file_sha256 for r in store.return_history() if r.counts}
    for f in store.received_files():
        counts = "yes" if f.sha256 in counting else ("no" if f.outcome != "rejected" else "")
        agency = f.agency or (agency_from_file_name(f.original_path, cycle) if cycle is not None else None)
        yield [f.received_at, f.original_path, f.outcome, counts, agency, f.case_ref, f.form_id, f.message,
               "yes" if f.had_tracked_changes else "", "yes" if f.had_comments else "", f.moved_to, f.archive_name]


def problem_rows(store: Store) -> Iterable[list[Any]]:
    for f in store.received_files():
        for p in f.problems:
            yield [f.received_at, f.original_path, f.agency, f.case_ref,
                   "error" if p.severity is Severity.ERROR else "warning", p.location, p.message, p.fix, p.value, p.code]


# --- writing a sheet ------------------------------------------------------------------


def fill_sheet(sheet, columns: Sequence[tuple[str, int]], rows: Iterable[Sequence[Any]]) -> int:
    """A header row (bold, frozen, filtered), then `rows`; long text wraps. Returns the number of rows.

    `sheet` is a write-only worksheet: rows are streamed, never held.
    """
    sheet.page_setup.orientation = "landscape"  # printed: all columns across, as many pages down as needed
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.print_title_rows = "1:1"
    heading_row(sheet, columns, PLAIN)
    wrap_columns = {i for i, (_, width) in enumerate(columns) if width >= 36}
    count = 0
    for row in rows:
        out = []
        for i, value in enumerate(row):
            value = safe_value(value)
            if isinstance(value, str) and (i in wrap_columns or value.startswith("=")):
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type = "s"  # text an auditor typed is never a formula
                if i in wrap_columns:
                    cell.alignment = WRAP_TOP
                value = cell
            elif isinstance(value, datetime):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = DATE_FORMAT
                value = cell
            out.append(value)
        sheet.append(out)
        count += 1
    filter_rows(sheet, columns, count + 1)
    return count


def safe_value(value: Any) -> Any:
    """What Excel can hold: no control characters, no more than 32,767 characters in a cell."""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if len(value) > EXCEL_CELL_LIMIT:
            value = value[: EXCEL_CELL_LIMIT - 40] + " [... cut: see the returned form]"
    return value
