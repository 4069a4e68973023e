"""The workspace's record store: the issued-forms register and the returns (stdlib sqlite3).

Rollback-journal mode on purpose: workspaces live on council shared drives,
and WAL needs shared memory that network file systems do not give. Every
change is one transaction; the schema is versioned and migrated forward.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Iterator, Optional

from .models import FormIdentity, FormKind, IssuedForm
from .problems import CaseAuditError

# Each entry upgrades the schema by one version; never edit a shipped entry, append.
MIGRATIONS: list[str] = [
    # 1: the issued-forms register
    """
    CREATE TABLE issued_forms (
        form_id TEXT PRIMARY KEY,
        cycle_id TEXT NOT NULL,
        agency TEXT NOT NULL,
        kind TEXT NOT NULL,
        case_ref TEXT,
        kloes TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        template_fingerprint TEXT NOT NULL,
        path TEXT NOT NULL,
        file_sha256 TEXT NOT NULL,
        issued_at TEXT NOT NULL,
        superseded_by TEXT REFERENCES issued_forms(form_id)
    );
    CREATE INDEX issued_forms_by_agency_case ON issued_forms(agency, case_ref);
    """,
]


class Store:
    def __init__(self, conn: sqlite3.Connection, path: Path):
        self.conn = conn
        self.path = path

    # -- lifecycle ----------------------------------------------------------
    @classmethod
    def open(cls, path: Path) -> "Store":
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, detect_types=0)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=DELETE")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            store = cls(conn, path)
            store._migrate()
        except sqlite3.DatabaseError as exc:
            raise CaseAuditError.single(
                "store.unreadable",
                f"The workspace record store cannot be read ({exc}).",
                "Restore .case-audit/store.sqlite3 from your backup; the archive folder beside it keeps every returned file.",
                file=path,
                exit_code=1,
            ) from None
        return store

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All or nothing: BEGIN IMMEDIATE takes the write lock up front."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    @property
    def schema_version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        version = self.schema_version
        if version > len(MIGRATIONS):
            raise CaseAuditError.single(
                "store.newer-schema",
                f"This workspace was written by a newer case-audit (store version {version}).",
                "Upgrade case-audit (pip install -U case-audit) before using this workspace.",
                file=self.path,
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction() as conn:
                for statement in filter(str.strip, script.split(";")):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")

    # -- issued-forms register ---------------------------------------------
    def record_issued_form(self, form: IssuedForm, conn: Optional[sqlite3.Connection] = None) -> None:
        ident = form.identity
        (conn or self.conn).execute(
            "INSERT INTO issued_forms (form_id, cycle_id, agency, kind, case_ref, kloes, fingerprint,"
            " template_fingerprint, path, file_sha256, issued_at, superseded_by)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                ident.form_id, ident.cycle_id, ident.agency, ident.kind.value, ident.case_ref,
                json.dumps(list(ident.kloes)), ident.fingerprint, form.template_fingerprint, form.path,
                form.file_sha256, form.issued_at.isoformat(timespec="seconds"), form.superseded_by,
            ),
        )

    def mark_superseded(self, old_form_id: str, new_form_id: str, conn: Optional[sqlite3.Connection] = None) -> None:
        (conn or self.conn).execute(
            "UPDATE issued_forms SET superseded_by = ? WHERE form_id = ?", (new_form_id, old_form_id)
        )

    def issued_form(self, form_id: str) -> Optional[IssuedForm]:
        row = self.conn.execute("SELECT * FROM issued_forms WHERE form_id = ?", (form_id,)).fetchone()
        return _issued_from_row(row) if row else None

    def issued_forms(self, *, current_only: bool = False) -> list[IssuedForm]:
        sql = "SELECT * FROM issued_forms"
        if current_only:
            sql += " WHERE superseded_by IS NULL"
        sql += " ORDER BY agency, kind, case_ref, kloes, issued_at"
        return [_issued_from_row(r) for r in self.conn.execute(sql)]


def _issued_from_row(row: sqlite3.Row) -> IssuedForm:
    return IssuedForm(
        identity=FormIdentity(
            form_id=row["form_id"],
            cycle_id=row["cycle_id"],
            agency=row["agency"],
            kind=FormKind(row["kind"]),
            case_ref=row["case_ref"],
            kloes=tuple(json.loads(row["kloes"])),
            fingerprint=row["fingerprint"],
        ),
        path=row["path"],
        file_sha256=row["file_sha256"],
        template_fingerprint=row["template_fingerprint"],
        issued_at=datetime.fromisoformat(row["issued_at"]),
        superseded_by=row["superseded_by"],
    )
