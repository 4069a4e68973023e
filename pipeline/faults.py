"""The officer's computer saying no: a full disk, a read-only folder, a file open in Word or Excel.

These are the user's environment, not a fault in case-audit and not damage to
the workspace: `environment_failure` turns such an OSError or sqlite3 error into
a CaseAuditError that says what happened, that nothing already recorded was
lost, and what to do. Anything it does not recognise is left to the caller (a
real bug stays a bug).

Every command is safe to run again after one of these: files are written
whole or not at all and the store commits one transaction at a time, so a
re-run after freeing space gives what a clean run would have.
"""

from __future__ import annotations

import errno
import sqlite3
from typing import Optional

from .problems import CaseAuditError

NOTHING_LOST = "Nothing already recorded was lost, and nothing half-written was kept."

_DISK_FULL = {errno.ENOSPC} | ({errno.EDQUOT} if hasattr(errno, "EDQUOT") else set())
_SQLITE = {13: "disk-full", 8: "read-only", 10: "disk-error", 14: "cannot-open"}  # SQLITE_FULL, _READONLY, ...
_SQLITE_TEXT = (("disk is full", "disk-full"), ("readonly database", "read-only"), ("disk i/o error", "disk-error"),
                ("unable to open database", "cannot-open"))
_CORRUPT = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB


def kind_of(exc: BaseException) -> Optional[str]:
    """'disk-full', 'read-only', 'permission', 'disk-error', 'cannot-open', or None for anything else."""
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if code is not None and (code & 0xFF) in _SQLITE:
            return _SQLITE[code & 0xFF]
        text = str(exc).lower()
        return next((kind for words, kind in _SQLITE_TEXT if words in text), None)
    if isinstance(exc, OSError):
        if exc.errno in _DISK_FULL:
            return "disk-full"
        if exc.errno == errno.EROFS:
            return "read-only"
        if isinstance(exc, PermissionError):
            return "permission"
        if isinstance(exc, (FileNotFoundError, IsADirectoryError, NotADirectoryError, FileExistsError)):
            return None  # usually a bug or a race, not the environment
        return "disk-error"
    return None


def is_corruption(exc: BaseException) -> bool:
    """The store file itself is damaged (not a database, malformed): the one case for 'restore from backup'."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in _CORRUPT
    text = str(exc).lower()
    return "not a database" in text or "malformed" in text


def environment_failure(exc: BaseException, where: Optional[str] = None) -> Optional[CaseAuditError]:
    """The message for a full disk, read-only folder or locked file; None when `exc` is something else."""
    kind = kind_of(exc)
    if kind is None:
        return None
    where = where or getattr(exc, "filename", None) or "a file in the workspace"
    reason = getattr(exc, "strerror", None) or str(exc)
    # each kind's message and fix are in pipeline/problem_codes.py (they end with NOTHING_LOST)
    return CaseAuditError.single(f"environment.{kind}", file=where, reason=reason, exit_code=1)
