"""The cycle workbook (cycle.xlsx): what the officer types in Excel, read into a `Cycle`.

The loader finds sheets by name and columns by their heading text, never by
position or styling, so the officer may reorder columns, add notes columns,
insert a title row above the headings or restyle anything. Every problem in
the workbook is collected (sheet and cell, the value found, what to do)
before the load gives up, so one `case-audit check` lists them all.

Sheets (headings in quotes; * marks a required sheet):

  Instructions          plain-English guide, not read
  Settings *            "Setting" | "Value" | "Notes": Board name, Cycle reference,
                        Cycle name, Return deadline, How to return forms,
                        Counting rule, Form protection, Report title,
                        Round name, Theme, Previous round (all three optional)
                        Keep personal data until, Retention decided by
  Priority areas *      "Priority area" | "Description"
  Agencies *            "Code" | "Full name" | "Short name" | "Contact name" | "Secure email"
  Cases *               "Case ref" | "Priority area" | "Child's name or initials",
                        then one Y/N column per agency headed by its code
                        (a column headed "Notes" is ignored)
  KLOEs *               "Number" | "Question" | "Short title" | "In this round"
  Standards *           "Number" | "KLOE" | "Standard text" | "Finding when met" |
                        "Finding when not met" | "N/A allowed" | "In this round"
                        ("In this round": Yes/No, blank or no column at all = Yes)
  Rating scale *        "Label" | "Counts as"
  Event attendance      "Agency" | "Practitioners attending"
  Event group work      "Priority area" | "Strengths" | "Areas for development" | "Next steps"
  Learning actions      "No." | "Learning point" | "Action being undertaken" |
                        "Next steps from the board" | "KLOE" | "Owner" | "Due date",
                        then the tracker's "Action ID" | "Status" | "Progress" |
                        "Evidence of impact" | "Round raised" (all optional)
  Agency actions        "Agency" | "Action" | "Progress" | "Completed", then "Action ID" |
                        "Owner" | "Due date" | "Status" | "Evidence of impact" | "Round raised"
                        (optional: a workbook from before the tracker loads as it is)

Headings match ignoring case, spacing and a trailing remark in brackets (the
templates write "Child's name or initials (private)", "N/A allowed (Y/N)"...).
A missing optional sheet simply means nothing has been recorded there yet.
A setting still holding the blank template's placeholder (or any "[...]" part)
is an error, since it would be printed on every form; an involved agency with
no secure email and a deadline before the cycle's first year are warnings.
`dev/build_workbooks.py` builds the shipped templates from the same names.

Public API: `load_cycle(path) -> Cycle` (raises CaseAuditError listing every
problem), `read_cycle(path) -> WorkbookResult` (cycle and problems, for
`check`), `summarise(cycle) -> CycleSummary`, `split_lines(cell)`.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict

from .child_names import name_in_identifier
from .models import (
    ActionStatus,
    Agency,
    AgencyAction,
    Attendance,
    Case,
    CountingRule,
    Cycle,
    CycleSettings,
    FormProtection,
    GroupWork,
    Kloe,
    LearningAction,
    PriorityArea,
    RatingKind,
    RatingOption,
    RatingScale,
    Standard,
    normalise_label,
)
from .ooxml.package import MAX_PACKAGE_BYTES, Package, PackageError, open_package, sniff
from .ooxml.preflight import inspect_package, legacy_office_kind, workbook_sheets
from .problems import CaseAuditError, ProblemReport, Severity
from .workspace import open_elsewhere, windows_reserved

# --- the workbook's layout: shared with dev/build_workbooks.py -------------

INSTRUCTIONS = "Instructions"
SETTINGS = "Settings"
PRIORITY_AREAS = "Priority areas"
AGENCIES = "Agencies"
CASES = "Cases"
KLOES = "KLOEs"
STANDARDS = "Standards"
RATING_SCALE = "Rating scale"
ATTENDANCE = "Event attendance"
GROUP_WORK = "Event group work"
LEARNING_ACTIONS = "Learning actions"
AGENCY_ACTIONS = "Agency actions"

REQUIRED_SHEETS = (SETTINGS, PRIORITY_AREAS, AGENCIES, CASES, KLOES, STANDARDS, RATING_SCALE)
OPTIONAL_SHEETS = (ATTENDANCE, GROUP_WORK, LEARNING_ACTIONS, AGENCY_ACTIONS)
SHEET_ORDER = (INSTRUCTIONS,) + REQUIRED_SHEETS + OPTIONAL_SHEETS

# The action tracker's columns (issue 13), on both action sheets; old workbooks without them still load.
ACTION_TRACKING_HEADERS = {"action_id": "Action ID", "status": "Status", "progress": "Progress",
                           "evidence": "Evidence of impact", "round_raised": "Round raised"}

# Column headings per sheet: key -> heading text. The loader matches headings
# ignoring case, spacing and any trailing "(...)" remark.
HEADERS: dict[str, dict[str, str]] = {
    SETTINGS: {"setting": "Setting", "value": "Value", "notes": "Notes"},
    PRIORITY_AREAS: {"name": "Priority area", "description": "Description"},
    AGENCIES: {"code": "Code", "name": "Full name", "short_name": "Short name",
               "contact_name": "Contact name", "secure_email": "Secure email"},
    CASES: {"ref": "Case ref", "priority_area": "Priority area", "child_name": "Child's name or initials (private)"},
    KLOES: {"number": "Number", "question": "Question", "title": "Short title", "in_round": "In this round (Yes/No)"},
    STANDARDS: {"number": "Number", "kloe": "KLOE", "text": "Standard text", "finding_met": "Finding when met",
                "finding_not_met": "Finding when not met", "na_allowed": "N/A allowed (Y/N)",
                "in_round": "In this round (Yes/No)"},
    RATING_SCALE: {"label": "Label", "kind": "Counts as"},
    ATTENDANCE: {"agency": "Agency", "count": "Practitioners attending"},
    GROUP_WORK: {"priority_area": "Priority area", "strengths": "Strengths",
                 "development": "Areas for development", "next_steps": "Next steps"},
    LEARNING_ACTIONS: {"number": "No.", "learning_point": "Learning point", "actions": "Action being undertaken",
                       "next_steps": "Next steps from the board", "kloe": "KLOE (optional)", "owner": "Owner",
                       "due": "Due date (optional)", **ACTION_TRACKING_HEADERS},
    AGENCY_ACTIONS: {"agency": "Agency", "action": "Action", "progress": "Progress", "completed": "Completed (Y/N)",
                     "action_id": "Action ID", "owner": "Owner (optional)", "due": "Due date",
                     "status": "Status", "evidence": "Evidence of impact", "round_raised": "Round raised"},
}

# Columns that must be present (the rest may be deleted by the officer).
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    SETTINGS: ("setting", "value"),
    PRIORITY_AREAS: ("name",),
    AGENCIES: ("code", "name"),
    CASES: ("ref", "priority_area", "child_name"),
    KLOES: ("number", "question"),
    STANDARDS: ("number", "kloe", "text", "finding_met"),
    RATING_SCALE: ("label", "kind"),
    ATTENDANCE: ("agency", "count"),
    GROUP_WORK: ("priority_area",),
    LEARNING_ACTIONS: ("number", "learning_point"),
    AGENCY_ACTIONS: ("agency", "action"),
}

# Settings rows: key -> setting name as written in column A.
SETTING_NAMES: dict[str, str] = {
    "board_name": "Board name",
    "cycle_id": "Cycle reference",
    "cycle_name": "Cycle name",
    "return_deadline": "Return deadline",
    "return_instructions": "How to return forms",
    "counting_rule": "Counting rule",
    "form_protection": "Form protection",
    "report_title": "Report title",
    "round_name": "Round name",
    "theme": "Theme",
    "previous_round": "Previous round",
    "case_grades": "Case grades",
    "escalate_grades": "Grades to escalate",
    "escalations_in_report": "Escalations in report",
    "keep_personal_data_until": "Keep personal data until",
    "retention_decided_by": "Retention decided by",
}
REQUIRED_SETTINGS = ("board_name", "cycle_id", "cycle_name")

# What the blank template ships in the Settings sheet for the officer to replace. A setting still
# holding one of these, or any "[...]" part, would be printed on every form sent to the agencies.
PLACEHOLDERS: dict[str, str] = {
    "board_name": "Your Local Safeguarding Children Board",
    "return_instructions": "Email the completed forms to [your secure email address] by the deadline.",
}
# Settings checked for placeholders: key -> (what the message calls it, what the fix asks for).
PLACEHOLDER_CHECKS: dict[str, tuple[str, str]] = {
    "board_name": ("The board name", "your board's name, as it should be printed on the forms and the report"),
    "cycle_name": ("The cycle name", "this cycle's name as it should be printed on the forms"),
    "return_instructions": ("The 'How to return forms' setting",
                            "how agencies return their forms, e.g. the secure email address to send them to"),
    "report_title": ("The report title", "the title for the board report"),
}
BRACKETED_PLACEHOLDER = re.compile(r"\[[^\[\]]*[A-Za-z][^\[\]]*\]")
YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")

CASES_IGNORED_COLUMNS = ("notes",)
YES_WORDS = {"y", "yes", "true", "1", "x", "\u2713", "\u2714"}
NO_WORDS = {"n", "no", "false", "0"}
RATING_KIND_WORDS = {
    "met": RatingKind.MET, "met or exceeded": RatingKind.MET,
    "not met": RatingKind.NOT_MET, "not-met": RatingKind.NOT_MET, "unmet": RatingKind.NOT_MET,
    "not applicable": RatingKind.NOT_APPLICABLE, "n/a": RatingKind.NOT_APPLICABLE,
    "na": RatingKind.NOT_APPLICABLE, "not-applicable": RatingKind.NOT_APPLICABLE,
}
EXCEL_ERRORS = {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA", "#SPILL!", "#CALC!"}
BULLET = re.compile(r"^\s*[\u2022\u25aa\u25e6\u00b7\u2013*\-]\s*")
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
MAX_HEADER_SEARCH_ROWS = 10


# --- public API -------------------------------------------------------------


@dataclass
class WorkbookResult:
    """What a read found: the cycle as far as it could be built, and every problem.

    `cycle` leaves out rows that had problems and is None when the file or a
    required sheet could not be read; trust it only when `report.ok`.
    """

    cycle: Optional[Cycle]
    report: ProblemReport


def load_cycle(path: Path) -> Cycle:
    """The cycle this round asks about (`Cycle.in_round`: only the KLOEs and standards marked in this round),
    or CaseAuditError listing every problem (warnings included). `read_cycle` gives the whole toolkit."""
    result = read_cycle(path)
    if not result.report.ok or result.cycle is None:
        n = max(len(result.report.errors), 1)
        raise CaseAuditError(f"The cycle workbook has {n} problem(s).", result.report)
    return result.cycle.in_round()


def read_cycle(path: Path) -> WorkbookResult:
    """Read and cross-check the workbook without raising for anything the officer can fix."""
    path = Path(path)
    report = ProblemReport()
    data = _read_file(path, report)
    if data is None:
        return WorkbookResult(None, report)
    sheet_names = _preflight(path, data, report)
    if sheet_names is None:
        return WorkbookResult(None, report)
    missing = [s for s in REQUIRED_SHEETS if _find_sheet_name(sheet_names, s) is None]
    if len(missing) == len(REQUIRED_SHEETS):
        # An unrelated workbook: do not hand it to openpyxl at all.
        _report_missing_sheets(path, missing, sheet_names, report)
        return WorkbookResult(None, report)
    sheets = _read_sheets(path, data, report)
    if sheets is None:
        return WorkbookResult(None, report)
    return WorkbookResult(_read_cycle(_Reader(path, sheets, report)), report)


class AgencyLoad(BaseModel):
    """How many forms one agency will get."""

    model_config = ConfigDict(frozen=True)

    code: str
    name: str
    cases: int
    audit_forms: int
    summary_forms: int

    @property
    def forms(self) -> int:
        return self.audit_forms + self.summary_forms


class CycleSummary(BaseModel):
    """The shape of a cycle at a glance: what `check` prints before forms are issued."""

    model_config = ConfigDict(frozen=True)

    board_name: str
    cycle_id: str
    cycle_name: str
    cases_per_priority_area: dict[str, int]
    agencies: tuple[AgencyLoad, ...]
    total_cases: int
    total_kloes: int
    total_standards: int
    total_audit_forms: int
    total_summary_forms: int

    @property
    def total_forms(self) -> int:
        return self.total_audit_forms + self.total_summary_forms

    def lines(self) -> list[str]:
        """Plain-text lines for the terminal."""
        out = [f"{self.board_name}: cycle {self.cycle_name} ({self.cycle_id})",
               f"{self.total_cases} case(s), {self.total_kloes} KLOE(s), {self.total_standards} standard(s)"]
        for area, n in self.cases_per_priority_area.items():
            out.append(f"  {area}: {n} case(s)")
        out.append("Forms per agency (audit forms + summary form):")
        for a in self.agencies:
            out.append(f"  {a.code:<10} {a.audit_forms:>3} + {a.summary_forms}   {a.name}")
        out.append(f"Total: {self.total_audit_forms} audit form(s) + {self.total_summary_forms} summary form(s) "
                   f"= {self.total_forms}")
        return out


def summarise(cycle: Cycle) -> CycleSummary:
    """Cases per priority area and forms per agency: one audit form per case involved in, one summary form."""
    cycle = cycle.in_round()
    per_area = {p.name: 0 for p in cycle.priority_areas}
    for case in cycle.cases:
        per_area[case.priority_area] = per_area.get(case.priority_area, 0) + 1
    loads = []
    for agency in cycle.agencies:
        n = len(cycle.cases_for(agency.code))
        loads.append(AgencyLoad(code=agency.code, name=agency.name, cases=n, audit_forms=n,
                                summary_forms=1 if n else 0))
    return CycleSummary(
        board_name=cycle.settings.board_name,
        cycle_id=cycle.settings.cycle_id,
        cycle_name=cycle.settings.cycle_name,
        cases_per_priority_area=per_area,
        agencies=tuple(loads),
        total_cases=len(cycle.cases),
        total_kloes=len(cycle.kloes),
        total_standards=len(cycle.standards),
        total_audit_forms=sum(a.audit_forms for a in loads),
        total_summary_forms=sum(a.summary_forms for a in loads),
    )


def split_lines(value: Any) -> tuple[str, ...]:
    """A multi-item cell (one item per line, Alt+Enter) as its items, bullets and blanks removed."""
    if value is None:
        return ()
    text = _as_text(value)
    items = []
    for line in text.splitlines():
        line = BULLET.sub("", line).strip()
        if line:
            items.append(line)
    return tuple(items)


# --- the file before openpyxl sees it ---------------------------------------

SPREADSHEET_MAIN_TYPES = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
)
SAVE_AS_XLSX = "Open it in Excel and use File > Save As > Excel Workbook (*.xlsx), then run the command again."


def _problem(report: ProblemReport, code: str, message: str, fix: str, path: Path, location=None, value=None,
             severity: Severity = Severity.ERROR) -> None:
    report.add(code, message, fix, file=path, location=location, value=value, severity=severity)


def _read_file(path: Path, report: ProblemReport) -> Optional[bytes]:
    if path.suffix.lower() in (".xlsm", ".xltm", ".xlam"):
        _problem(report, "workbook.macro-enabled",
                 "This file is a macro-enabled workbook; case-audit only reads plain workbooks.", SAVE_AS_XLSX, path)
        return None
    try:
        if path.is_dir():  # Windows reports reading a folder as PermissionError: say what it really is
            raise IsADirectoryError(str(path))
        if path.stat().st_size > MAX_PACKAGE_BYTES:
            _problem(report, "workbook.too-large", "This file is far larger than any cycle workbook could be.",
                     "Use the cycle workbook made by 'case-audit init', saved from Excel as .xlsx.", path)
            return None
        data = path.read_bytes()
    except FileNotFoundError:
        _problem(report, "workbook.not-found", f"There is no file {path.name} in {path.parent}.",
                 "Check the file name and folder, or run 'case-audit init' to create a cycle workbook.", path)
        return None
    except PermissionError:
        _problem(report, "workbook.locked",
                 "The workbook cannot be read: it is locked by another program (probably open in Excel).",
                 "Close it in Excel (or the other program), then run the command again.", path)
        return None
    except IsADirectoryError:
        _problem(report, "workbook.not-xlsx", "This is a folder, not a workbook.",
                 "Give the path of the cycle workbook file (cycle.xlsx).", path)
        return None
    except OSError as exc:
        _problem(report, "workbook.unreadable", f"This file cannot be read ({exc.strerror or exc}).",
                 "Check the file is still there and that you can open it, then run the command again.", path)
        return None
    program = open_elsewhere(path)  # Excel leaves '~$name' beside an open workbook, LibreOffice '.~lock.name#'
    if program is not None:
        _problem(report, "workbook.open-in-excel",
                 f"{path.name} is open in {program}: unsaved changes there are not included.",
                 f"Save the workbook in {program} if you have changed it, then run the command again.",
                 path, severity=Severity.WARNING)
    return data


def _preflight(path: Path, data: bytes, report: ProblemReport) -> Optional[list[str]]:
    """Refuse anything that is not a safe, plain .xlsx; return its sheet names if it is one."""
    kind = sniff(data)
    if kind == "ole2":
        legacy = legacy_office_kind(data)
        if legacy == "encrypted-package":
            _problem(report, "workbook.encrypted",
                     "This file is protected with a password to open, so case-audit cannot read it.",
                     "Open it in Excel, remove the password (File > Info > Protect Workbook > Encrypt with "
                     "Password, clear the box), save, and run the command again.", path)
        elif legacy == "excel":
            _problem(report, "workbook.not-xlsx",
                     "This file is in the old Excel 97-2003 format (.xls), not an Excel Workbook (.xlsx).",
                     SAVE_AS_XLSX, path)
        else:
            _problem(report, "workbook.not-xlsx", "This file is an old-style Office file, not an Excel workbook.",
                     "Use the cycle workbook made by 'case-audit init' (cycle.xlsx).", path)
        return None
    if kind != "zip":
        what = {"empty": "empty (0 bytes)", "pdf": "a PDF", "rtf": "an RTF document", "image": "a picture",
                "xml": "an XML or HTML file", "text": "a text file"}.get(kind)
        message = (f"This file is {what}, not an Excel workbook (.xlsx)." if what
                   else "This file is not an Excel workbook (.xlsx).")
        _problem(report, "workbook.not-xlsx", message,
                 "Use the cycle workbook made by 'case-audit init' (cycle.xlsx), saved from Excel as .xlsx.", path)
        return None
    try:
        package = open_package(data)
        return _inspect_package(path, package, report)
    except PackageError as exc:
        _package_problem(path, exc, report)
        return None


def _package_problem(path: Path, exc: PackageError, report: ProblemReport) -> None:
    if exc.code == "package.doctype":
        _problem(report, "workbook.unsafe-xml",
                 "This file contains XML with a DOCTYPE declaration, which Excel never writes; it may have "
                 "been tampered with and was not opened.",
                 "Do not use this file. Start again from a copy of the workbook you saved yourself in Excel.",
                 path, value=str(exc.message))
    elif exc.code in ("package.zip-bomb", "package.too-large", "package.too-many-parts"):
        _problem(report, "workbook.too-large",
                 "This file is far larger inside than any cycle workbook could be; it was not opened.",
                 "Use the cycle workbook made by 'case-audit init', saved from Excel as .xlsx.", path)
    elif exc.code == "package.encrypted":
        _problem(report, "workbook.encrypted", "This file has encrypted parts and cannot be read.",
                 "Remove the password in Excel, save, and run the command again.", path)
    else:
        _problem(report, "workbook.corrupt", "This file is damaged or incomplete and cannot be opened.",
                 "Open it in Excel (which may offer to repair it) and save it again as Excel Workbook (.xlsx), "
                 "or go back to your last good copy.", path, value=exc.message)


def _inspect_package(path: Path, package: Package, report: ProblemReport) -> Optional[list[str]]:
    """The package's facts as the officer's problems; its sheet names when it is a plain .xlsx."""
    facts = inspect_package(package)  # a DOCTYPE anywhere refuses the whole file
    if not facts.office_lists:
        _problem(report, "workbook.corrupt",
                 "This file is a zip file but not an Office document (it has no Office content list).",
                 "Use the cycle workbook made by 'case-audit init', saved from Excel as .xlsx.", path)
        return None
    if facts.strict_relationships:
        _problem(report, "workbook.strict", _STRICT_MESSAGE, _STRICT_FIX, path)
        return None
    if facts.macros:
        _problem(report, "workbook.macro-enabled",
                 "This file contains macros; case-audit only reads plain workbooks.", SAVE_AS_XLSX, path)
        return None
    if facts.main_part is None or facts.main_type not in SPREADSHEET_MAIN_TYPES:
        # The content type names the kind of document; the officer needs the plain name, not the type.
        if "wordprocessingml" in facts.main_type:
            message = "This file is a Word document, not an Excel workbook (.xlsx)."
        elif "presentationml" in facts.main_type:
            message = "This file is a PowerPoint presentation, not an Excel workbook (.xlsx)."
        else:
            message = "This file is an Office document but not an Excel workbook (.xlsx)."
        _problem(report, "workbook.not-xlsx", message,
                 "Use the cycle workbook made by 'case-audit init' (cycle.xlsx), saved from Excel as .xlsx.", path)
        return None
    if not facts.main_present:
        _problem(report, "workbook.corrupt", f"This file is damaged: its workbook part ({facts.main_part}) is missing.",
                 "Open it in Excel and save it again, or go back to your last good copy.", path)
        return None
    names = workbook_sheets(package, facts)
    if names is None:
        _problem(report, "workbook.strict", _STRICT_MESSAGE, _STRICT_FIX, path)
    return names


_STRICT_MESSAGE = "This file is saved as 'Strict Open XML Spreadsheet', which case-audit cannot read."
_STRICT_FIX = ("Open it in Excel and use File > Save As > Excel Workbook (*.xlsx), not Strict Open XML "
               "Spreadsheet, then run the command again.")


@dataclass
class _Sheet:
    """A worksheet as the cells that hold a value: {row: {column: value}}.

    Empty cells, formatted or not, are never kept, so a sheet costs what it holds whatever size it
    claims: one filled cell at A1048576 (what selecting a whole column and colouring it leaves) is
    nothing at all.
    """

    title: str
    rows: dict[int, dict[int, Any]]

    def value(self, row: int, column: int) -> Any:
        return self.rows.get(row, {}).get(column)


def _read_sheets(path: Path, data: bytes, report: ProblemReport) -> Optional[dict[str, Optional[_Sheet]]]:
    """Every worksheet's title, with the cells of those case-audit reads (None for the others).

    openpyxl's read-only mode streams the sheet XML; its normal mode would build an object for
    every formatted cell and its row loop would visit every row up to the stated dimension.
    """
    import openpyxl

    wanted = {normalise_label(s) for s in REQUIRED_SHEETS + OPTIONAL_SHEETS}
    book = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(BytesIO(data), read_only=True, data_only=True, keep_links=False)
            # Chart sheets hold no cells and are not in book.worksheets.
            return {ws.title: _Sheet(ws.title, _cells_of(book, ws)) if normalise_label(ws.title) in wanted else None
                    for ws in book.worksheets}
    except Exception as exc:  # openpyxl raises many types on damaged files; all mean the same to the officer
        _problem(report, "workbook.corrupt", "This file is damaged and cannot be read.",
                 "Open it in Excel (which may offer to repair it), save it again as Excel Workbook (.xlsx), "
                 "or go back to your last good copy.", path, value=f"{type(exc).__name__}: {exc}"[:200])
        return None
    finally:
        if book is not None:
            book.close()


def _cells_of(book, ws) -> dict[int, dict[int, Any]]:
    rows: dict[int, dict[int, Any]] = {}
    for number, cells in _present_rows(book, ws):
        values = {column: value for column, value in cells if value is not None and value != ""}
        if values:
            rows.setdefault(number, {}).update(values)
    return rows


def _present_rows(book, ws):
    """(row number, [(column, value)...]) for each row the sheet's XML holds, in order.

    openpyxl's public row iterator yields an empty row for every gap, a million of them below a
    formatted A1048576; its worksheet parser (what that iterator runs on) yields only the rows
    present. Should a later openpyxl move the parser, the public iterator still gives the same cells.
    """
    try:
        from openpyxl.worksheet._reader import WorkSheetParser

        source = ws._get_source()
        parser = WorkSheetParser(source, ws._shared_strings, data_only=True, epoch=book.epoch,
                                 date_formats=book._date_formats, timedelta_formats=book._timedelta_formats)
    except (ImportError, AttributeError, TypeError):
        yield from _rows_by_public_api(ws)
        return
    with source:
        for number, cells in parser.parse():
            yield number, [(cell["column"], cell["value"]) for cell in cells]


def _rows_by_public_api(ws):
    ws.reset_dimensions()  # the stated dimension may be far larger than the data (or wrong)
    for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
        if values:
            yield number, list(enumerate(values, start=1))


def _find_sheet_name(names: list[str], wanted: str) -> Optional[str]:
    key = normalise_label(wanted)
    for name in names:
        if normalise_label(name) == key:
            return name
    return None


def _report_missing_sheets(path: Path, missing: list[str], present: list[str], report: ProblemReport) -> None:
    has = ", ".join(f"'{n}'" for n in present) or "no sheets"
    for sheet in missing:
        _problem(report, "workbook.missing-sheet",
                 f"The sheet '{sheet}' is missing (the workbook has {has}).",
                 f"Add a sheet named '{sheet}' with the headings from the template (copy it from a fresh "
                 "'case-audit init' workbook), or restore the sheet's name if it was renamed.",
                 path, location=sheet)


# --- cell values ----------------------------------------------------------------


def _as_text(value: Any) -> str:
    """A cell as the officer sees it: numbers without '.0', dates as dd/mm/yyyy, line endings unified."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        value = value.date() if value.time() == datetime.min.time() else value
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.strftime("%d/%m/%Y")
    text = str(value).replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ").replace("_x000D_", "")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def _coordinate(row: int, column: int) -> str:
    from openpyxl.utils import get_column_letter

    return f"{get_column_letter(column)}{row}"


def _header_key(text: str) -> str:
    """Headings compare without case, spacing, a trailing '(remark)' or a trailing colon."""
    text = normalise_label(text)
    text = re.sub(r"\s*\([^)]*\)\s*$", "", text)
    return text.rstrip(":").strip()


NUMBER_TEXT = re.compile(r"^(?:kloe|standard|no\.?|s|k)?\s*(\d+)(?:\.0+)?$", re.IGNORECASE)
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y", "%d.%m.%Y", "%d %B %Y", "%d %b %Y", "%Y-%m-%dT%H:%M:%S")


@dataclass
class _Cell:
    sheet: str
    coordinate: str
    value: Any
    heading: str

    @property
    def location(self) -> str:
        return f"{self.sheet}!{self.coordinate}"

    @property
    def text(self) -> str:
        return _as_text(self.value)

    @property
    def blank(self) -> bool:
        return self.text == ""


@dataclass
class _Table:
    """A sheet's data rows, skipping blank ones, with where the headings were found."""

    sheet: str
    header_row: int
    rows: list["_Row"]
    extras: dict[int, str]  # column index -> heading, for columns the layout does not name


@dataclass
class _Row:
    sheet: str
    number: int
    cells: dict[str, _Cell]
    extra: dict[str, _Cell] = field(default_factory=dict)  # Cases: agency columns by heading

    def __getitem__(self, key: str) -> _Cell:
        return self.cells[key]

    def get(self, key: str) -> Optional[_Cell]:
        return self.cells.get(key)


class _Reader:
    """What every sheet reader shares: typed cell values, tables found by their headings, one report of problems.

    It also carries what one sheet tells the next: codes and numbers typed on rows that have a
    problem of their own (references to them are not reported again, so one slip gives one problem
    rather than a page of follow-on ones), where each KLOE and each secure email was typed.
    """

    def __init__(self, path: Path, sheets: dict[str, Optional[_Sheet]], report: ProblemReport):
        self.path = path
        self.sheets = sheets
        self.report = report
        self.sheet_names = list(sheets)
        self.kloe_cells: dict[int, _Cell] = {}
        self.broken_agencies: set[str] = set()
        self.broken_kloes: set[int] = set()
        # Agency code -> the cell its secure email belongs in (None: the Secure email column was deleted).
        self.email_cells: dict[str, Optional[str]] = {}
        self.action_ids: dict[str, str] = {}  # action ID (folded) -> where it was first typed, across both sheets
        self.cycle_id = ""  # the round an action was raised in when its Round raised is blank

    # -- problems ------------------------------------------------------------
    def problem(self, code: str, message: str, fix: str, cell: Optional[_Cell] = None, *, location=None,
                value=None, severity: Severity = Severity.ERROR) -> None:
        if cell is not None:
            location = location or cell.location
            if value is None and not cell.blank:
                value = cell.text
        self.report.add(code, message, fix, file=self.path, location=location, value=value, severity=severity)

    def blank(self, cell: _Cell, what: str, fix: str = "") -> None:
        self.problem("workbook.blank-cell", f"{cell.heading} is blank{what}.",
                     fix or f"Fill in {cell.heading}, or delete the whole row if it is not needed.", cell)

    def unique(self, seen: dict[str, _Cell], key: str, cell: _Cell, code: str, what: str) -> bool:
        """False (and a problem naming the first occurrence) when `key` was seen before on this sheet."""
        if key in seen:
            self.problem(code, f"{what} {cell.text!r} appears twice (first at {seen[key].location}).",
                         f"Keep one row for {cell.text!r}: change or delete the row at {cell.location}.", cell)
            return False
        seen[key] = cell
        return True

    # -- typed values --------------------------------------------------------
    def text(self, cell: Optional[_Cell], *, required: bool = False, what: str = "") -> str:
        if cell is None:
            return ""
        if isinstance(cell.value, str) and cell.value.strip() in EXCEL_ERRORS:
            self.problem("workbook.formula-error", f"{cell.heading} shows an Excel error instead of a value.",
                         "Replace the formula with the value itself.", cell)
            return ""
        if required and cell.blank:
            self.blank(cell, what)
        return cell.text

    def number(self, cell: Optional[_Cell], *, required: bool = False, what: str = "",
               minimum: int = 1) -> Optional[int]:
        if cell is None or cell.blank:
            if required and cell is not None:
                self.blank(cell, what)
            return None
        result = _whole_number(cell.value)
        if result is None or result < minimum:
            lowest = "0 or more" if minimum == 0 else f"{minimum} or more"
            self.problem("workbook.bad-number", f"{cell.heading} must be a whole number ({lowest}){what}.",
                         f"Type a whole number such as {max(minimum, 1)} in {cell.location}.", cell)
            return None
        return result

    def yes_no(self, cell: Optional[_Cell], *, default: bool = False, what: str = "") -> bool:
        if cell is None or cell.blank:
            return default
        word = cell.text.casefold()
        if cell.value is True or word in YES_WORDS:
            return True
        if cell.value is False or word in NO_WORDS:
            return False
        self.problem("workbook.bad-yes-no", f"{cell.heading} must be Y or N{what}.",
                     f"Type Y or N in {cell.location} (or pick from the drop-down list).", cell)
        return default

    def date(self, cell: Optional[_Cell], *, what: str = "") -> Optional[date]:
        if cell is None or cell.blank:
            return None
        found = _date_of(cell.value)
        if found is None:
            self.problem("workbook.bad-date", f"{cell.heading} is not a date{what}.",
                         f"Type the date in {cell.location} as dd/mm/yyyy, for example 30/11/2015.", cell)
        return found

    def choice(self, cell: Optional[_Cell], choices: dict[str, Any], default: Any, what: str = "") -> Any:
        if cell is None or cell.blank:
            return default
        found = choices.get(normalise_label(cell.text))
        if found is None:
            options = ", ".join(sorted({str(getattr(v, "value", v)) for v in choices.values()}))
            self.problem("workbook.bad-choice", f"{cell.heading} must be one of: {options}{what}.",
                         f"Pick one of {options} from the drop-down list in {cell.location}.", cell)
            return default
        return found

    # -- sheets --------------------------------------------------------------
    def sheet(self, name: str) -> Optional[_Sheet]:
        real = _find_sheet_name(self.sheet_names, name)
        return None if real is None else self.sheets[real]

    def table(self, name: str) -> Optional[_Table]:
        """The sheet's rows by column key; None (with a problem) if the sheet or a required column is missing."""
        ws = self.sheet(name)
        if ws is None:
            return None
        wanted = HEADERS[name]
        header_row = _header_row(ws, wanted[REQUIRED_COLUMNS[name][0]])
        if header_row is None:
            heading = wanted[REQUIRED_COLUMNS[name][0]]
            self.problem("workbook.missing-column",
                         f"The '{name}' sheet has no '{heading}' heading in its first rows.",
                         f"Put the headings back in row 1 of '{name}': "
                         + ", ".join(wanted[k] for k in REQUIRED_COLUMNS[name]) + ".",
                         location=f"{name}!A1")
            return None
        columns, extras = _columns(ws, wanted, header_row)
        missing = [k for k in REQUIRED_COLUMNS[name] if k not in columns]
        for key in missing:
            self.problem("workbook.missing-column", f"The '{name}' sheet has no '{wanted[key]}' column.",
                         f"Add a column headed '{wanted[key]}' to row {header_row} of '{name}'.",
                         location=f"{name}!{header_row}:{header_row}")
        if missing:
            return None
        return _Table(name, header_row, _data_rows(ws, name, header_row, columns, extras), extras)


def _whole_number(value: Any) -> Optional[int]:
    """A cell's whole number: 3, 3.0, '3', 'KLOE 3', 'No. 3'; None for anything else (True is not 1)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        m = NUMBER_TEXT.match(value.strip())
        return int(m.group(1)) if m else None
    return None


def _date_of(value: Any) -> Optional[date]:
    """A cell's date: a real date, an Excel date serial shown as a number, or text in a common format."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 20000 <= value <= 80000:
        return date(1899, 12, 30) + timedelta(days=int(value))
    if isinstance(value, str):
        text = re.sub(r"\s+", " ", value.strip())
        for fmt in DATE_FORMATS:
            try:
                return datetime.strptime(text, fmt).date()
            except ValueError:
                continue
    return None


def _header_row(ws: _Sheet, first_required: str) -> Optional[int]:
    """The row, among the first few, holding the sheet's first required heading."""
    key = _header_key(first_required)
    for r in sorted(n for n in ws.rows if n <= MAX_HEADER_SEARCH_ROWS):
        if key in {_header_key(_as_text(value)) for value in ws.rows[r].values()}:
            return r
    return None


def _columns(ws: _Sheet, wanted: dict[str, str], header_row: int) -> tuple[dict[str, tuple[int, str]], dict[int, str]]:
    """Known columns (key -> (index, heading as messages name it)) and the others (index -> heading)."""
    keys = {_header_key(h): k for k, h in wanted.items()}
    columns: dict[str, tuple[int, str]] = {}
    extras: dict[int, str] = {}
    for c in sorted(ws.rows[header_row]):
        heading_text = _as_text(ws.value(header_row, c))
        key = keys.get(_header_key(heading_text))
        if key and key not in columns:
            columns[key] = (c, wanted[key].split(" (")[0])
        elif heading_text and not key:
            extras[c] = heading_text
    return columns, extras


def _data_rows(ws: _Sheet, name: str, header_row: int, columns: dict[str, tuple[int, str]],
               extras: dict[int, str]) -> list[_Row]:
    rows = []
    for r in sorted(n for n in ws.rows if n > header_row):
        cells = {k: _Cell(name, _coordinate(r, c), ws.value(r, c), heading) for k, (c, heading) in columns.items()}
        extra = {h: _Cell(name, _coordinate(r, c), ws.value(r, c), h) for c, h in extras.items()}
        # A row is data if a known column or (on Cases) an agency column has something in it;
        # a jotting in the officer's own notes column alone does not make a row.
        counted = [cell for h, cell in extra.items()
                   if name == CASES and _header_key(h) not in CASES_IGNORED_COLUMNS]
        if all(cell.blank for cell in cells.values()) and all(cell.blank for cell in counted):
            continue
        rows.append(_Row(name, r, cells, extra))
    return rows


# --- the whole cycle ---------------------------------------------------------------


def _read_cycle(r: _Reader) -> Optional[Cycle]:
    """Each sheet in turn (later ones checked against earlier ones), then the checks across sheets."""
    missing = [s for s in REQUIRED_SHEETS if r.sheet(s) is None]
    if missing:
        _report_missing_sheets(r.path, missing, r.sheet_names, r.report)
    settings = _read_settings(r)
    areas = _read_priority_areas(r)
    agencies = _read_agencies(r)
    kloes = _read_kloes(r)
    standards = _read_standards(r, kloes)
    scale = _read_rating_scale(r)
    cases = _read_cases(r, areas, agencies)
    attendance = _read_attendance(r, agencies)
    group_work = _read_group_work(r, areas)
    r.cycle_id = settings.cycle_id if settings is not None else ""
    learning = _read_learning_actions(r, kloes)
    agency_actions = _read_agency_actions(r, agencies)
    if agencies is not None and cases is not None:
        _check_secure_emails(r, agencies, cases)
    if kloes and standards and not Cycle(
            settings=CycleSettings(board_name="-", cycle_id="-", cycle_name="-"), priority_areas=(), agencies=(),
            cases=(), kloes=tuple(kloes), standards=tuple(standards)).in_round().standards:
        r.problem("workbook.nothing-in-round", "No standard is marked 'Yes' in the 'In this round' column (of the "
                  "KLOEs and Standards sheets), so the forms would ask nothing.",
                  "Put Yes in the 'In this round' column for each KLOE and standard this round asks about.",
                  location=f"{STANDARDS}!A1")
    if None in (settings, areas, agencies, kloes, standards, scale, cases):
        return None
    return Cycle(settings=settings, priority_areas=tuple(areas), agencies=tuple(agencies), cases=tuple(cases),
                 kloes=tuple(kloes), standards=tuple(standards), rating_scale=scale,
                 attendance=tuple(attendance or ()), group_work=tuple(group_work or ()),
                 learning_actions=tuple(learning or ()), agency_actions=tuple(agency_actions or ()))


# --- Settings ------------------------------------------------------------------------


def _read_settings(r: _Reader) -> Optional[CycleSettings]:
    table = r.table(SETTINGS)
    if table is None:
        return None
    found = _setting_cells(r, table)
    ok = _required_settings_present(r, found)
    values: dict[str, Any] = {k: r.text(found.get(k)) for k in ("board_name", "cycle_name", "return_instructions",
                                                                "round_name", "theme", "previous_round",
                                                                "retention_decided_by")}
    cycle_cell = found.get("cycle_id")
    ok = _cycle_ref_ok(r, cycle_cell) and ok
    values["cycle_id"] = cycle_cell.text if cycle_cell is not None else ""
    values["return_deadline"] = r.date(found.get("return_deadline"))
    values["keep_personal_data_until"] = r.date(found.get("keep_personal_data_until"))
    _check_placeholders(r, found)
    _check_deadline(r, found, values)
    rules = {normalise_label(rule.value): rule for rule in CountingRule}
    values["counting_rule"] = r.choice(found.get("counting_rule"), rules, CountingRule.ALL)
    protections = {normalise_label(p.value): p for p in FormProtection}
    protections.update({"no": FormProtection.NONE, "off": FormProtection.NONE, "": FormProtection.NONE})
    values["form_protection"] = r.choice(found.get("form_protection"), protections, FormProtection.NONE)
    title = r.text(found.get("report_title"))
    if title:
        values["report_title"] = title
    values.update(_grade_settings(r, found))
    if not ok:
        return None
    return CycleSettings(**values)


def _grade_settings(r: _Reader, found: dict[str, _Cell]) -> dict[str, Any]:
    """The moderation panel's case grades (best first), those escalated, and whether the report lists escalations.

    Rows left out (a workbook made before moderation) keep the defaults.
    """
    values: dict[str, Any] = {}
    scale_cell = found.get("case_grades")
    grades = _grade_list(r.text(scale_cell)) if scale_cell is not None else ()
    if grades:
        seen: set[str] = set()
        for grade in grades:
            if normalise_label(grade) in seen:
                r.problem("workbook.duplicate-grade", f"The grade {grade!r} is listed twice in Case grades.",
                          f"List each grade once in {scale_cell.location}, best first, separated by ';'.", scale_cell)
            seen.add(normalise_label(grade))
        values["case_grades"] = grades
    scale = values.get("case_grades", CycleSettings.model_fields["case_grades"].default)
    escalate_cell = found.get("escalate_grades")
    if escalate_cell is not None:
        on_scale = {normalise_label(g): g for g in scale}
        escalate = []
        for grade in _grade_list(r.text(escalate_cell)):
            if normalise_label(grade) not in on_scale:
                r.problem("workbook.grade-not-on-scale", f"Grades to escalate names {grade!r}, which is not one "
                          "of the Case grades.", f"Use grades from the Case grades row ({'; '.join(scale)}) in "
                          f"{escalate_cell.location}, separated by ';'.", escalate_cell)
                continue
            escalate.append(on_scale[normalise_label(grade)])
        values["escalate_grades"] = tuple(escalate)
    values["escalations_in_report"] = r.yes_no(found.get("escalations_in_report"), default=False)
    return values


def _grade_list(text: str) -> tuple[str, ...]:
    """'Outstanding; Good; ...' (or one per line) as a list, blanks dropped."""
    return tuple(part.strip() for part in re.split(r"[;\n]", text) if part.strip())


def _setting_cells(r: _Reader, table: _Table) -> dict[str, _Cell]:
    """Each known setting's value cell, named after the setting (unknown and repeated settings are problems)."""
    by_name = {_header_key(v): k for k, v in SETTING_NAMES.items()}
    found: dict[str, _Cell] = {}
    for row in table.rows:
        name = row["setting"].text
        key = by_name.get(_header_key(name))
        if key is None:
            if name:
                r.problem("workbook.unknown-setting", f"'{name}' is not a setting case-audit knows; it is ignored.",
                          "Check the spelling against the Instructions sheet, or leave it if it is a note.",
                          row["setting"], severity=Severity.WARNING)
            continue
        if key in found:
            r.problem("workbook.duplicate-setting", f"The setting '{SETTING_NAMES[key]}' appears twice.",
                      f"Keep one row for '{SETTING_NAMES[key]}' and delete the other.", row["setting"])
            continue
        cell = row["value"]
        cell.heading = SETTING_NAMES[key]
        found[key] = cell
    return found


def _required_settings_present(r: _Reader, found: dict[str, _Cell]) -> bool:
    ok = True
    for key in REQUIRED_SETTINGS:
        if key not in found:
            r.problem("workbook.missing-setting", f"The Settings sheet has no '{SETTING_NAMES[key]}' row.",
                      f"Add a row with '{SETTING_NAMES[key]}' in the Setting column and its value beside it.",
                      location=SETTINGS)
            ok = False
        elif found[key].blank:
            r.blank(found[key], "", f"Type the {SETTING_NAMES[key].lower()} in {found[key].location}.")
            ok = False
    return ok


def _cycle_ref_ok(r: _Reader, cell: Optional[_Cell]) -> bool:
    """The cycle reference goes into every form and file name: no date Excel made of it, no unsafe characters."""
    if cell is None or cell.blank:
        return True
    if isinstance(cell.value, (datetime, date)):
        r.problem("workbook.bad-cycle-ref", "Excel has turned the cycle reference into a date.",
                  f"Format {cell.location} as Text (Home > Number > Text) and type it again, e.g. 2015-16.", cell)
        return False
    if not SAFE_NAME.match(cell.text) or len(cell.text) > 30:
        r.problem("workbook.bad-cycle-ref",
                  "The cycle reference is written into every form and file, so it may only use letters, "
                  "digits, '-', '_' and '.' (no spaces), up to 30 characters.",
                  f"Change {cell.location} to something like 2015-16.", cell)
        return False
    return True


def _check_placeholders(r: _Reader, found: dict[str, _Cell]) -> None:
    """The blank template's placeholders would otherwise be printed on every form sent out."""
    for key, cell in found.items():
        if key not in PLACEHOLDER_CHECKS or not isinstance(cell.value, str) or cell.blank:
            continue
        what, wanted = PLACEHOLDER_CHECKS[key]
        template_text = PLACEHOLDERS.get(key)
        bracketed = BRACKETED_PLACEHOLDER.search(cell.text)
        if template_text and normalise_label(cell.text) == normalise_label(template_text):
            message = f"{what} is still the blank template's placeholder, which would be printed on every form."
        elif bracketed:
            message = (f"{what} still has the placeholder {bracketed.group(0)} in it, which would be printed "
                       "on every form.")
        else:
            continue
        r.problem("workbook.placeholder", message, f"Replace the placeholder in {cell.location} with {wanted}.", cell)


def _check_deadline(r: _Reader, found: dict[str, _Cell], values: dict[str, Any]) -> None:
    """A deadline before the cycle began is almost always last year's date left in, or a typo in the year."""
    deadline = values.get("return_deadline")
    if deadline is None:
        return
    start = None
    for key in ("cycle_id", "cycle_name"):
        m = YEAR.search(values.get(key) or "")
        if m:
            start = int(m.group(1))
            break
    if start is None or deadline.year >= start:
        return
    cell = found["return_deadline"]
    cycle = values.get("cycle_id") or values.get("cycle_name")
    r.problem("workbook.deadline-before-cycle",
              f"The return deadline {deadline:%d/%m/%Y} is before the cycle {cycle} began ({start}).",
              f"Check the year in {cell.location}: the deadline should fall within the {cycle} cycle.",
              cell, value=f"{deadline:%d/%m/%Y}", severity=Severity.WARNING)


def _check_secure_emails(r: _Reader, agencies: list[Agency], cases: list[Case]) -> None:
    """Forms go out, and chase emails are written, to the agency's secure email."""
    for agency in agencies:
        n = sum(1 for c in cases if agency.code in c.agencies)
        if not n or agency.secure_email:
            continue
        location = r.email_cells.get(agency.code)
        if location is None:
            location = AGENCIES
            fix = (f"Add a column headed '{HEADERS[AGENCIES]['secure_email']}' to the Agencies sheet and type "
                   f"the secure email address of {agency.code}'s audit contact in it.")
        else:
            fix = f"Type the secure email address of {agency.code}'s audit contact in {location}."
        r.problem("workbook.no-secure-email",
                  f"Agency {agency.code} is involved in {n} case(s) but has no secure email: forms and "
                  "chase emails need it.", fix, location=location, severity=Severity.WARNING)


# --- Priority areas, Agencies ----------------------------------------------------------


def _read_priority_areas(r: _Reader) -> Optional[list[PriorityArea]]:
    table = r.table(PRIORITY_AREAS)
    if table is None:
        return None
    areas, seen = [], {}
    for row in table.rows:
        name = r.text(row["name"], required=True)
        if not name or not r.unique(seen, normalise_label(name), row["name"], "workbook.duplicate-priority-area",
                                    "The priority area"):
            continue
        areas.append(PriorityArea(name=name, description=r.text(row.get("description"))))
    if not areas:
        r.problem("workbook.no-priority-areas", "The Priority areas sheet lists no priority areas.",
                  "Add at least one priority area (e.g. Neglect) below the headings.",
                  location=f"{PRIORITY_AREAS}!A2")
    return areas


def _read_agencies(r: _Reader) -> Optional[list[Agency]]:
    table = r.table(AGENCIES)
    if table is None:
        return None
    agencies, seen = [], {}
    for row in table.rows:
        agency = _agency_row(r, row, seen)
        if agency is not None:
            agencies.append(agency)
    if not table.rows:
        r.problem("workbook.no-agencies", "The Agencies sheet lists no agencies.",
                  "Add the agencies taking part, one per row, with a code and full name.",
                  location=f"{AGENCIES}!A2")
    return agencies


def _agency_row(r: _Reader, row: _Row, seen: dict[str, _Cell]) -> Optional[Agency]:
    code_cell = row["code"]
    code = r.text(code_cell, required=True, what=" (each agency needs a short code such as POLICE)")
    name = r.text(row["name"], required=True, what=f" for agency {code or '?'}")
    if not code:
        return None
    if not SAFE_NAME.match(code) or len(code) > 20 or windows_reserved(code):
        r.broken_agencies.add(code.casefold())
        r.problem("workbook.bad-agency-code",
                  "An agency code names that agency's folder of forms, so it may only use letters, digits, "
                  "'-' and '_' (no spaces), up to 20 characters, and not a name Windows reserves "
                  "(CON, PRN, AUX, NUL, COM1, LPT1...).",
                  f"Change {code_cell.location} to a short code such as POLICE or HEALTH-1.", code_cell)
        return None
    if not r.unique(seen, code.casefold(), code_cell, "workbook.duplicate-agency", "The agency code"):
        return None
    if not name:
        r.broken_agencies.add(code.casefold())
        return None
    email_cell = row.get("secure_email")
    email = r.text(email_cell)
    r.email_cells[code] = email_cell.location if email_cell is not None else None
    if email and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", email):
        r.problem("workbook.bad-email", f"The secure email for {code} does not look like an email address.",
                  f"Check {email_cell.location}.", email_cell, severity=Severity.WARNING)
    return Agency(code=code, name=name, short_name=r.text(row.get("short_name")) or name,
                  contact_name=r.text(row.get("contact_name")), secure_email=email)


def _agency_lookup(agencies: Optional[list[Agency]]) -> Optional[dict[str, str]]:
    return None if agencies is None else {a.code.casefold(): a.code for a in agencies}


def _known_agency(r: _Reader, text: str, codes, cell, code: str, lister: str, note: str = "") -> Optional[str]:
    """The agency code a row names, or None (with a problem, unless the agency row itself was already faulty)."""
    found = codes.get(text.casefold()) if codes is not None else text
    if found is None and text.casefold() not in r.broken_agencies:
        r.problem(code, f"{lister} lists agency '{text}', which is not on the Agencies sheet.",
                  f"Pick an agency code from the drop-down list in {cell.location}, or add the agency to the "
                  f"Agencies sheet{note}.", cell)
    return found


# --- KLOEs, Standards, Rating scale -------------------------------------------------------


def _read_kloes(r: _Reader) -> Optional[list[Kloe]]:
    table = r.table(KLOES)
    if table is None:
        return None
    kloes, seen = [], {}
    for row in table.rows:
        number = r.number(row["number"], required=True)
        question = r.text(row["question"], required=True, what=f" for KLOE {number}" if number is not None else "")
        if number is None or not r.unique(seen, str(number), row["number"], "workbook.duplicate-kloe", "KLOE"):
            continue
        r.kloe_cells[number] = row["number"]
        if question:
            kloes.append(Kloe(number=number, question=question, title=r.text(row.get("title")),
                              in_round=r.yes_no(row.get("in_round"), default=True, what=f" for KLOE {number}")))
        else:
            r.broken_kloes.add(number)
    if not table.rows:
        r.problem("workbook.no-kloes", "The KLOEs sheet lists no key lines of enquiry.",
                  "Add at least one KLOE (number and question) below the headings.", location=f"{KLOES}!A2")
    return kloes


def _read_standards(r: _Reader, kloes: Optional[list[Kloe]]) -> Optional[list[Standard]]:
    table = r.table(STANDARDS)
    if table is None:
        return None
    known = {k.number for k in kloes} if kloes is not None else None
    standards, seen = [], {}
    for row in table.rows:
        standard = _standard_row(r, row, known, seen)
        if standard is not None:
            standards.append(standard)
    for k in kloes or ():
        # A standard row with some other problem still counts: one problem at a time for the officer.
        if any(s.kloe == k.number for s in standards) or _kloe_mentioned(table.rows, k.number):
            continue
        r.problem("workbook.kloe-without-standards", f"KLOE {k.number} has no standards.",
                  f"Add its standards on the Standards sheet (with {k.number} in the KLOE column), "
                  f"or delete KLOE {k.number} from the KLOEs sheet.", r.kloe_cells.get(k.number))
    return standards


def _standard_row(r: _Reader, row: _Row, known: Optional[set[int]], seen: dict[str, _Cell]) -> Optional[Standard]:
    number = r.number(row["number"], required=True)
    label = f" for standard {number}" if number is not None else ""
    kloe = r.number(row["kloe"], required=True, what=label)
    text = r.text(row["text"], required=True, what=label)
    finding_met = r.text(row["finding_met"], required=True, what=label)
    na = r.yes_no(row.get("na_allowed"), what=label)
    if number is not None and not r.unique(seen, str(number), row["number"], "workbook.duplicate-standard",
                                           "Standard"):
        return None
    if kloe is not None and known is not None and kloe not in known:
        if kloe not in r.broken_kloes:
            r.problem("workbook.unknown-kloe",
                      f"Standard {number} is under KLOE {kloe}, which is not on the KLOEs sheet.",
                      f"Change {row['kloe'].location} to one of the KLOE numbers "
                      f"({', '.join(str(k) for k in sorted(known)) or 'none yet'}), or add KLOE {kloe} "
                      "to the KLOEs sheet.", row["kloe"])
        return None
    if None in (number, kloe) or not text or not finding_met:
        return None
    return Standard(number=number, kloe=kloe, text=text, finding_met=finding_met,
                    finding_not_met=r.text(row.get("finding_not_met")), na_allowed=na,
                    in_round=r.yes_no(row.get("in_round"), default=True, what=label))


def _kloe_mentioned(rows: list[_Row], number: int) -> bool:
    for row in rows:
        m = NUMBER_TEXT.match(row["kloe"].text)
        if m and int(m.group(1)) == number:
            return True
    return False


def _read_rating_scale(r: _Reader) -> Optional[RatingScale]:
    table = r.table(RATING_SCALE)
    if table is None:
        return None
    options, seen = [], {}
    for row in table.rows:
        label = r.text(row["label"], required=True)
        kind_cell = row["kind"]
        if kind_cell.blank:
            r.blank(kind_cell, f" for '{label}'", f"Pick met, not met or not applicable in {kind_cell.location}.")
            continue
        kind = r.choice(kind_cell, RATING_KIND_WORDS, None, f" for '{label}'")
        if not label or kind is None:
            continue
        if not r.unique(seen, normalise_label(label), row["label"], "workbook.duplicate-rating", "The rating"):
            continue
        options.append(RatingOption(label=label, kind=kind))
    kinds = {o.kind for o in options}
    lacking = [k.value for k in (RatingKind.MET, RatingKind.NOT_MET) if k not in kinds]
    if lacking:
        r.problem("workbook.rating-scale-incomplete",
                  f"The rating scale needs at least one option that counts as {' and one that counts as '.join(lacking)}.",
                  "Add rows such as 'Met or exceeded | met' and 'Not met | not met' to the Rating scale sheet.",
                  location=f"{RATING_SCALE}!B2")
        return None
    return RatingScale(options=tuple(options))


# --- Cases ---------------------------------------------------------------------------


def _read_cases(r: _Reader, areas: Optional[list[PriorityArea]],
                agencies: Optional[list[Agency]]) -> Optional[list[Case]]:
    table = r.table(CASES)
    if table is None:
        return None
    codes = _agency_lookup(agencies)
    sheet = _CaseSheet(_agency_columns(r, table, codes), codes is not None, areas, _priority_lookup(areas),
                       {a.code: i for i, a in enumerate(agencies or [])})
    cases, seen = [], {}
    for row in table.rows:
        case = _case_row(r, row, sheet, seen)
        if case is not None:
            cases.append(case)
    if not table.rows:
        r.problem("workbook.no-cases", "The Cases sheet has no cases yet, so there are no forms to issue.",
                  "Add one row per case: case ref, priority area, the child's name or initials, and Y under "
                  "each agency involved. Then run 'case-audit check' again.",
                  location=f"{CASES}!A{table.header_row + 1}")
    return cases


def _agency_columns(r: _Reader, table: _Table, codes: Optional[dict[str, str]]) -> dict[str, Optional[str]]:
    """The Cases columns headed by an agency code: heading -> code (None: that agency's own row has a problem)."""
    columns: dict[str, Optional[str]] = {}
    seen_codes: dict[str, str] = {}
    for c, heading in table.extras.items():
        location = f"{CASES}!{_coordinate(table.header_row, c)}"
        if _header_key(heading) in CASES_IGNORED_COLUMNS or codes is None:
            continue
        code = codes.get(heading.strip().casefold())
        if code is None and heading.strip().casefold() in r.broken_agencies:
            columns[heading] = None
            continue
        if code is None:
            r.problem("workbook.unknown-agency",
                      f"The Cases column heading '{heading}' is not an agency code on the Agencies sheet.",
                      "Make the heading an agency code from the Agencies sheet (e.g. POLICE), add that "
                      "agency to the Agencies sheet, or delete the column.", location=location, value=heading)
            continue
        if code in seen_codes:
            r.problem("workbook.duplicate-agency-column", f"Agency {code} has two columns on the Cases sheet "
                      f"(first at {seen_codes[code]}).", "Delete one of the two columns.",
                      location=location, value=heading)
            continue
        seen_codes[code] = location
        columns[heading] = code
    return columns


@dataclass
class _CaseSheet:
    """What reading a Cases row needs from the other sheets."""

    columns: dict[str, Optional[str]]  # agency column heading -> code (None: that agency's row has a problem)
    agencies_read: bool  # the Agencies sheet was read, so a case with no agency marked is a problem
    areas: Optional[list[PriorityArea]]
    area_lookup: Optional[dict[str, str]]
    order: dict[str, int]  # agency code -> its place on the Agencies sheet


def _case_row(r: _Reader, row: _Row, sheet: _CaseSheet, seen: dict[str, _Cell]) -> Optional[Case]:
    """One case, or None when its row has a problem (each one reported)."""
    ref_cell = row["ref"]
    ref = r.text(ref_cell, required=True, what=" (each case needs a reference such as N-01)")
    label = f" for case {ref}" if ref else ""
    area_cell = row["priority_area"]
    area_text = r.text(area_cell, required=True, what=label)
    child = r.text(row["child_name"], required=True, what=label)
    involved, marked = [], False
    for heading, code in sheet.columns.items():
        if r.yes_no(row.extra[heading], what=label):
            marked = True
            if code is not None:
                involved.append(code)
    good = bool(ref and area_text and child)
    if ref and not _case_ref_ok(r, ref_cell, child, seen):
        good = False
    area = None
    if area_text and sheet.area_lookup is not None:
        area = sheet.area_lookup.get(normalise_label(area_text))
        if area is None:
            r.problem("workbook.unknown-priority-area", f"The priority area{label} is not on the Priority areas sheet.",
                      "Pick one of " + ", ".join(repr(a.name) for a in sheet.areas)
                      + f" from the drop-down list in {area_cell.location}, or add it to the Priority "
                      "areas sheet.", area_cell)
            good = False
    if sheet.agencies_read and not marked and ref:
        r.problem("workbook.case-without-agency", f"Case {ref} has no agency marked as involved.",
                  f"Put Y under each agency involved in case {ref} (row {row.number} of the Cases sheet), "
                  "or delete the row.", ref_cell, value=ref)
        good = False
    if not good or area is None:
        return None
    involved.sort(key=lambda code: sheet.order.get(code, 0))
    return Case(ref=ref, priority_area=area, child_name=child, agencies=tuple(involved))


def _case_ref_ok(r: _Reader, ref_cell: _Cell, child: str, seen: dict[str, _Cell]) -> bool:
    """A case reference goes into file names and the report: safe characters, once only, never the child's name."""
    ref = ref_cell.text
    if not SAFE_NAME.match(ref) or len(ref) > 40 or ref.endswith("."):
        r.problem("workbook.bad-case-ref",
                  "A case reference becomes part of file names, so it may only use letters, digits, "
                  "'-', '_' and '.' (no spaces), up to 40 characters.",
                  f"Change {ref_cell.location} to something like N-01.", ref_cell)
        return False
    if not r.unique(seen, ref.casefold(), ref_cell, "workbook.duplicate-case-ref", "The case reference"):
        return False
    if child and name_in_identifier(ref, child):
        r.problem("workbook.case-ref-names-child",
                  "The case reference contains part of the child's name; references go into file "
                  "names and the board report, which must never name a child.",
                  f"Change {ref_cell.location} to a reference that does not identify the child, such as N-01.",
                  ref_cell)
        return False
    return True


# --- the learning event and the actions (optional sheets) --------------------------------


def _optional_rows(r: _Reader, name: str) -> list[_Row]:
    """An optional sheet's rows; none when the sheet is not there (nothing recorded yet) or cannot be read."""
    table = r.table(name)
    return table.rows if table is not None else []


def _read_attendance(r: _Reader, agencies: Optional[list[Agency]]) -> list[Attendance]:
    rows = _optional_rows(r, ATTENDANCE)
    codes = _agency_lookup(agencies)
    result, seen = [], {}
    for row in rows:
        text = r.text(row["agency"], required=True)
        count = r.number(row["count"], required=True, minimum=0, what=f" for {text}" if text else "")
        if not text:
            continue
        code = _known_agency(r, text, codes, row["agency"], "workbook.attendance-unknown-agency",
                             "The learning-event attendance", " (an agency with no cases is fine)")
        if code is None:
            continue
        if not r.unique(seen, code, row["agency"], "workbook.duplicate-attendance", "The agency"):
            continue
        if count is not None:
            result.append(Attendance(agency=code, count=count))
    return result


def _read_group_work(r: _Reader, areas: Optional[list[PriorityArea]]) -> list[GroupWork]:
    rows = _optional_rows(r, GROUP_WORK)
    lookup = _priority_lookup(areas)
    result = []
    for row in rows:
        text = r.text(row["priority_area"], required=True)
        if not text:
            continue
        area = lookup.get(normalise_label(text)) if lookup is not None else text
        if area is None:
            r.problem("workbook.unknown-priority-area",
                      "The group-work priority area is not on the Priority areas sheet.",
                      "Pick one of " + ", ".join(repr(a.name) for a in areas)
                      + f" from the drop-down list in {row['priority_area'].location}.", row["priority_area"])
            continue
        result.append(GroupWork(priority_area=area, strengths=_items(row, "strengths"),
                                development=_items(row, "development"), next_steps=_items(row, "next_steps")))
    return result


def _items(row: _Row, key: str) -> tuple[str, ...]:
    """A multi-item cell of an optional column, as its items (none when the column was deleted)."""
    cell = row.get(key)
    return split_lines(cell and cell.value)


def _read_learning_actions(r: _Reader, kloes: Optional[list[Kloe]]) -> list[LearningAction]:
    rows = _optional_rows(r, LEARNING_ACTIONS)
    known = {k.number for k in kloes} if kloes is not None else None
    result, seen = [], {}
    for row in rows:
        number = r.number(row["number"], required=True)
        label = f" for learning point {number}" if number is not None else ""
        point = r.text(row["learning_point"], required=True, what=label)
        kloe = r.number(row.get("kloe"), what=label)
        due = r.date(row.get("due"), what=label)
        if kloe is not None and known is not None and kloe not in known:
            if kloe not in r.broken_kloes:
                r.problem("workbook.unknown-kloe", f"Learning point {number} refers to KLOE {kloe}, which is not on "
                          "the KLOEs sheet.", f"Change {row['kloe'].location} to an existing KLOE number or clear it.",
                          row["kloe"])
            continue
        if number is None or not point:
            continue
        if not r.unique(seen, str(number), row["number"], "workbook.duplicate-learning-action", "Learning point"):
            continue
        tracked = _action_tracking(r, row, f"L{number}", label)
        result.append(LearningAction(number=number, learning_point=point, actions=_items(row, "actions"),
                                     next_steps=_items(row, "next_steps"), kloe=kloe, owner=r.text(row.get("owner")),
                                     due=due, **tracked))
    return result


def _read_agency_actions(r: _Reader, agencies: Optional[list[Agency]]) -> list[AgencyAction]:
    rows = _optional_rows(r, AGENCY_ACTIONS)
    codes = _agency_lookup(agencies)
    result, per_agency = [], {}
    for row in rows:
        text = r.text(row["agency"], required=True)
        action = r.text(row["action"], required=True, what=f" for {text}" if text else "")
        completed = r.yes_no(row.get("completed"))
        due = r.date(row.get("due"), what=f" for {text}" if text else "")
        if not text:
            continue
        code = _known_agency(r, text, codes, row["agency"], "workbook.unknown-agency", "The agency action")
        if code is None:
            continue
        if action:
            per_agency[code] = per_agency.get(code, 0) + 1
            tracked = _action_tracking(r, row, f"{code}-{per_agency[code]}", f" for {code}", completed=completed)
            result.append(AgencyAction(agency=code, action=action, completed=completed or tracked["status"] is
                                       ActionStatus.COMPLETE, owner=r.text(row.get("owner")) or code, due=due,
                                       **tracked))
    return result


ACTION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")  # goes into form tags and file cells as it is
_STATUS_WORDS = {normalise_label(s.value): s for s in ActionStatus}


def _action_tracking(r: _Reader, row: _Row, default_id: str, what: str, completed: bool = False) -> dict[str, Any]:
    """An action's tracker columns (issue 13): id (default: L<n> or <AGENCY>-<n>), status, progress, evidence, round."""
    id_cell = row.get("action_id")
    action_id = r.text(id_cell)
    if action_id and not ACTION_ID.match(action_id):
        r.problem("workbook.bad-action-id", f"The action ID {action_id!r} is not a short code{what}.",
                  f"Type an ID of up to 40 letters, digits, '-', '.' or '_' (such as {default_id}) in "
                  f"{id_cell.location}.", id_cell)
        action_id = ""
    action_id = action_id or default_id
    first = r.action_ids.get(action_id.casefold())
    if first is not None:
        where = id_cell if id_cell is not None and not id_cell.blank else None
        r.problem("workbook.duplicate-action-id", f"The action ID {action_id!r} is used twice (first at {first}).",
                  "Give every action its own ID in the Action ID column.", where,
                  location=None if where else f"{row.sheet}!{row.number}:{row.number}", value=action_id)
    r.action_ids.setdefault(action_id.casefold(), id_cell.location if id_cell else f"{row.sheet}!{row.number}")
    status = _action_status(r, row.get("status"), what)
    if status is None and completed:
        status = ActionStatus.COMPLETE
    evidence = r.text(row.get("evidence"))
    if status is ActionStatus.COMPLETE and not evidence and row.get("evidence") is not None:
        r.problem("workbook.complete-without-evidence", f"Action {action_id} is Complete but has no evidence of "
                  "impact.", f"Say in {row['evidence'].location} what changed for children because of it.",
                  row["evidence"], severity=Severity.WARNING)
    round_raised = r.text(row.get("round_raised")) or r.cycle_id
    return {"action_id": action_id, "status": status, "progress": r.text(row.get("progress")),
            "evidence": evidence, "round_raised": round_raised}


def _action_status(r: _Reader, cell: Optional[_Cell], what: str) -> Optional[ActionStatus]:
    if cell is None or cell.blank:
        return None
    found = _STATUS_WORDS.get(normalise_label(r.text(cell)))
    if found is None:
        options = ", ".join(s.value for s in ActionStatus)
        r.problem("workbook.bad-action-status", f"Status must be one of: {options}{what}.",
                  f"Pick one of {options} from the drop-down list in {cell.location}.", cell)
    return found


def _priority_lookup(areas: Optional[list[PriorityArea]]) -> Optional[dict[str, str]]:
    """Priority areas by name, and by the abbreviation in brackets ('CSE' for 'Child Sexual Exploitation (CSE)')."""
    if areas is None:
        return None
    lookup: dict[str, str] = {}
    for area in areas:
        lookup.setdefault(normalise_label(area.name), area.name)
        m = re.search(r"\(([^)]+)\)\s*$", area.name)
        if m:
            lookup.setdefault(normalise_label(m.group(1)), area.name)
            lookup.setdefault(normalise_label(area.name[: m.start()]), area.name)
    return lookup
