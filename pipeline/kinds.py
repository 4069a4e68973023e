"""What kind of form a form is: a plain enum, apart from the pydantic models so that what only reads the
store (`status`) can name it without loading pydantic. `pipeline.models` re-exports it: import it from there."""

from __future__ import annotations

from enum import Enum


class FormKind(str, Enum):
    AUDIT = "audit"
    SUMMARY = "summary"
