"""What kind of form a form is, and where an action stands: plain enums, apart from the pydantic models so that
what only reads the store (`status`) can name them without loading pydantic. `pipeline.models` re-exports them:
import them from there."""

from __future__ import annotations

from enum import Enum


class FormKind(str, Enum):
    AUDIT = "audit"
    SUMMARY = "summary"
    PROGRESS = "progress"  # an agency's action progress form (issue 13)


class ActionStatus(str, Enum):
    """Where an action stands (a board's RAG): Overdue is also derived from the due date when not complete."""

    NOT_STARTED = "Not started"
    ON_TRACK = "On track"
    AT_RISK = "At risk"
    OVERDUE = "Overdue"
    COMPLETE = "Complete"
