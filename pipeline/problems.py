"""Problems with inputs, as data: collected into a report, rendered by the CLI.

The library never prints or exits. A stage that finds problems either returns
them in a `ProblemReport` (when it can carry on) or raises `CaseAuditError`
holding the report (when it cannot). The CLI is the one boundary that turns
either into text, JSON and an exit code.
"""

from __future__ import annotations

from enum import Enum
from typing import Iterable, Optional

from pydantic import BaseModel, ConfigDict, Field


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


class Problem(BaseModel):
    """One thing wrong with an input, said so the officer can put it right."""

    model_config = ConfigDict(frozen=True)

    code: str = Field(description="Stable identifier, e.g. 'workbook.duplicate-case-ref'")
    message: str = Field(description="What is wrong, in plain words")
    fix: str = Field("", description="What to do about it")
    file: Optional[str] = None
    location: Optional[str] = Field(None, description="Where in the file: 'Cases!A7', 'KLOE 2 table, Standard 7'")
    value: Optional[str] = None
    severity: Severity = Severity.ERROR

    def render(self) -> str:
        where = ", ".join(p for p in (self.file, self.location) if p)
        head = f"{where}: " if where else ""
        text = f"{head}{self.message}"
        if self.value not in (None, ""):
            text += f" (found: {self.value!r})"
        if self.fix:
            text += f" -> {self.fix}"
        return text


class ProblemReport(BaseModel):
    problems: list[Problem] = Field(default_factory=list)

    def add(self, code: str, message: str, fix: str = "", *, file=None, location=None, value=None,
            severity: Severity = Severity.ERROR) -> Problem:
        problem = Problem(code=code, message=message, fix=fix, file=None if file is None else str(file),
                          location=location, value=None if value is None else str(value), severity=severity)
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
    def single(cls, code: str, message: str, fix: str = "", *, file=None, location=None, value=None,
               exit_code: int = 2) -> "CaseAuditError":
        report = ProblemReport()
        report.add(code, message, fix, file=file, location=location, value=value)
        return cls(message, report, exit_code=exit_code)
