"""Problems with inputs, as data: collected into a report, rendered by the CLI.

The library never prints or exits. A stage that finds problems either returns
them in a `ProblemReport` (when it can carry on) or raises `CaseAuditError`
holding the report (when it cannot). The CLI is the one boundary that turns
either into text, JSON and an exit code.

Every code is declared once in `pipeline.problem_codes` (its title, message
template, fix and what it means for a return). `ProblemReport.add` looks the
code up there: a call site may leave out the message (the template is filled
from its keyword arguments), the fix or the severity, and gets the
catalogue's. Plain dataclasses, not pydantic, so `case-audit --help` starts
without loading pydantic; `model_dump` keeps the JSON shape it always had.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Iterable, Optional


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


class UnregisteredCode(LookupError):
    """A problem code that `pipeline.problem_codes` does not declare: a fault in case-audit, never the user's."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, said so the officer can put it right.

    code: stable identifier, e.g. 'workbook.duplicate-case-ref'; message: what is
    wrong, in plain words; fix: what to do about it; location: where in the file
    ('Cases!A7', 'KLOE 2 table, Standard 7').
    """

    code: str
    message: str
    fix: str = ""
    file: Optional[str] = None
    location: Optional[str] = None
    value: Optional[str] = None
    severity: Severity = Severity.ERROR

    def __post_init__(self) -> None:
        for name in ("file", "location", "value"):  # text, as the JSON and results.xlsx show them
            given = getattr(self, name)
            if given is not None and not isinstance(given, str):
                object.__setattr__(self, name, str(given))
        if not isinstance(self.severity, Severity):  # read back from JSON: "error" / "warning"
            object.__setattr__(self, "severity", Severity(self.severity))

    def model_dump(self, mode: str = "python") -> dict[str, Any]:
        """The fields as a dict, in declaration order; mode="json" gives the severity as its string."""
        return {"code": self.code, "message": self.message, "fix": self.fix, "file": self.file,
                "location": self.location, "value": self.value,
                "severity": self.severity.value if mode == "json" else self.severity}

    def render(self) -> str:
        where = ", ".join(p for p in (self.file, self.location) if p)
        head = f"{where}: " if where else ""
        text = f"{head}{self.message}"
        if self.value not in (None, ""):
            text += f" (found: {self.value!r})"
        if self.fix:
            text += f" -> {self.fix}"
        return text


def strict_codes() -> bool:
    """Whether an unregistered code or a template field left out raises (under pytest, or when asked)."""
    return os.environ.get("CASE_AUDIT_STRICT_CODES") == "1" or "PYTEST_CURRENT_TEST" in os.environ


class _Fields(dict):
    def __missing__(self, key: str) -> str:
        if strict_codes():
            raise KeyError(f"problem template field {key!r} was not given")
        return "{" + key + "}"


def make_problem(code: str, message: Optional[str] = None, fix: Optional[str] = None, *, file=None, location=None,
                 value=None, severity: Optional[Severity] = None, **fields) -> Problem:
    """A Problem for a catalogued code: what the call site leaves out comes from the catalogue.

    An unregistered code raises `UnregisteredCode` under tests; for a user it
    is kept as given (the message still says what is wrong).
    """
    from .problem_codes import CATALOGUE  # loaded on the first problem, not at start-up

    entry = CATALOGUE.get(code)
    if entry is None and strict_codes():
        raise UnregisteredCode(f"problem code {code!r} is not declared in pipeline/problem_codes.py")
    file = None if file is None else str(file)
    value = None if value is None else str(value)
    names = _Fields(fields, file=file, location=location, value=value)
    if message is None:
        message = entry.message.format_map(names) if entry else code
    if not fix and entry is not None:
        fix = entry.fix.format_map(names)
    if severity is None:
        severity = entry.severity if entry else Severity.ERROR
    return Problem(code=code, message=message, fix=fix or "", file=file, location=location, value=value,
                   severity=severity)


@dataclass
class ProblemReport:
    problems: list[Problem] = field(default_factory=list)

    def add(self, code: str, message: Optional[str] = None, fix: Optional[str] = None, *, file=None, location=None,
            value=None, severity: Optional[Severity] = None, **fields) -> Problem:
        """Record one problem; see `make_problem` for what the catalogue fills in."""
        problem = make_problem(code, message, fix, file=file, location=location, value=value, severity=severity,
                               **fields)
        self.problems.append(problem)
        return problem

    def extend(self, problems: Iterable[Problem]) -> None:
        self.problems.extend(problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors

    def __len__(self) -> int:
        return len(self.problems)

    def __iter__(self):
        return iter(self.problems)

    def raise_if_errors(self, summary: str) -> None:
        if self.errors:
            raise CaseAuditError(summary, self)


class CaseAuditError(Exception):
    """A user-facing failure: bad input or a workspace problem, never a bug.

    The CLI shows `summary` and every problem, and exits with `exit_code`.
    """

    def __init__(self, summary: str, report: ProblemReport | None = None, *, exit_code: int = 2):
        super().__init__(summary)
        self.summary = summary
        self.report = report or ProblemReport()
        self.exit_code = exit_code

    @classmethod
    def single(cls, code: str, message: Optional[str] = None, fix: Optional[str] = None, *, file=None,
               location=None, value=None, exit_code: int = 2, **fields) -> "CaseAuditError":
        report = ProblemReport()
        problem = report.add(code, message, fix, file=file, location=location, value=value, severity=Severity.ERROR,
                             **fields)
        return cls(problem.message, report, exit_code=exit_code)
