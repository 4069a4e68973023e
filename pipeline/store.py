"""The workspace's record store: the issued-forms register and the returns (stdlib sqlite3).

Rollback-journal mode on purpose: workspaces live on council shared drives,
and WAL needs shared memory that network file systems do not give. Every
change is one transaction; the schema is versioned and migrated forward.

Its own records (ReceivedFile, FileReading, StoredReturn) are frozen dataclasses,
not pydantic models: they are only ever built here from rows already checked,
and building their validators cost every command (`status` included) at start-up.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Optional, Union

from .faults import environment_failure, is_corruption
from .problems import CaseAuditError, Problem
from .kinds import ActionStatus, FormKind
from .versions import counting, counting_versions, return_slot, versions_by_slot

if TYPE_CHECKING:  # the models are imported where they are built: `status` reads the store without pydantic
    from .models import Answer, AuditReturn, Cycle, FormIdentity, IssuedForm, OtherText, ProgressReturn, SummaryReturn

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
    # 2: every file received, and the returns read from them (answers kept even when incomplete)
    """
    CREATE TABLE received_files (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        sha256 TEXT NOT NULL UNIQUE,
        original_path TEXT NOT NULL,
        archive_name TEXT NOT NULL,
        size INTEGER NOT NULL,
        received_at TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('accepted', 'incomplete', 'rejected')),
        message TEXT NOT NULL,
        problems TEXT NOT NULL,
        form_id TEXT,
        agency TEXT,
        case_ref TEXT,
        kind TEXT,
        had_tracked_changes INTEGER NOT NULL DEFAULT 0,
        had_comments INTEGER NOT NULL DEFAULT 0,
        moved_to TEXT,
        feedback_file TEXT
    );
    CREATE TABLE returns (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        file_id INTEGER NOT NULL UNIQUE REFERENCES received_files(id),
        form_id TEXT NOT NULL,
        cycle_id TEXT NOT NULL,
        agency TEXT NOT NULL,
        kind TEXT NOT NULL,
        case_ref TEXT,
        kloes TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        slot TEXT NOT NULL,
        complete INTEGER NOT NULL,
        no_involvement INTEGER NOT NULL DEFAULT 0,
        no_involvement_reason TEXT NOT NULL DEFAULT '',
        improvements TEXT NOT NULL DEFAULT '',
        partnership TEXT NOT NULL DEFAULT '',
        comments TEXT NOT NULL DEFAULT '',
        source_file TEXT NOT NULL,
        file_sha256 TEXT NOT NULL,
        received_at TEXT NOT NULL,
        had_tracked_changes INTEGER NOT NULL DEFAULT 0,
        had_comments INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX returns_by_slot ON returns(slot, id);
    CREATE TABLE answers (
        return_id INTEGER NOT NULL REFERENCES returns(id),
        standard INTEGER NOT NULL,
        rating TEXT,
        rating_label TEXT NOT NULL DEFAULT '',
        evidence TEXT NOT NULL DEFAULT '',
        reason TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (return_id, standard)
    );
    """,
    # 3: every reading of a received file; a rejected file is read again when it comes back to the inbox,
    # and its received_files row then says the latest outcome
    """
    CREATE TABLE file_readings (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        file_id INTEGER NOT NULL REFERENCES received_files(id),
        original_path TEXT NOT NULL,
        read_at TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('accepted', 'incomplete', 'rejected')),
        message TEXT NOT NULL,
        problems TEXT NOT NULL
    );
    CREATE INDEX file_readings_by_file ON file_readings(file_id, id);
    INSERT INTO file_readings (file_id, original_path, read_at, outcome, message, problems)
        SELECT id, original_path, received_at, outcome, message, problems FROM received_files ORDER BY id;
    """,
    # 4: text the form did not ask for (typed outside its boxes), kept with the return: a JSON list of {where, text}
    """
    ALTER TABLE returns ADD COLUMN other_text TEXT NOT NULL DEFAULT '[]';
    """,
    # 5: the moderation panel's decisions (issue 14), append-only: a changed decision is a new row
    """
    CREATE TABLE IF NOT EXISTS moderation_decisions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL CHECK (kind IN ('rating', 'grade')),
        agency TEXT NOT NULL DEFAULT '',
        case_ref TEXT NOT NULL,
        standard INTEGER NOT NULL DEFAULT 0,
        from_label TEXT NOT NULL DEFAULT '',
        to_label TEXT NOT NULL DEFAULT '',
        reason TEXT NOT NULL DEFAULT '',
        decided_by TEXT NOT NULL DEFAULT '',
        decided_on TEXT,
        escalate INTEGER,
        recorded_at TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS moderation_by_key ON moderation_decisions(kind, agency, case_ref, standard, id);
    """,
    # 6: closing a round (issue 16): its journal while it runs ('closing'), then its record ('closed').
    # `files` is a JSON list of {path, size, sha256} (never content), `changes` a JSON list of sentences.
    """
    CREATE TABLE closures (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        cycle_id TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('closing', 'closed')),
        started_at TEXT NOT NULL,
        finished_at TEXT,
        os_user TEXT NOT NULL DEFAULT '',
        closed_by TEXT NOT NULL DEFAULT '',
        keep_until TEXT,
        decided_by TEXT NOT NULL DEFAULT '',
        now_reason TEXT NOT NULL DEFAULT '',
        forced INTEGER NOT NULL DEFAULT 0,
        outstanding INTEGER NOT NULL DEFAULT 0,
        files TEXT NOT NULL DEFAULT '[]',
        changes TEXT NOT NULL DEFAULT '[]'
    );
    """,
    # 7: action progress forms (issue 13): the actions each form was issued for, and each action's update in a return
    """
    CREATE TABLE issued_actions (
        form_id TEXT NOT NULL REFERENCES issued_forms(form_id),
        action_id TEXT NOT NULL,
        PRIMARY KEY (form_id, action_id)
    );
    CREATE TABLE action_updates (
        return_id INTEGER NOT NULL REFERENCES returns(id),
        action_id TEXT NOT NULL,
        status TEXT,
        status_label TEXT NOT NULL DEFAULT '',
        progress TEXT NOT NULL DEFAULT '',
        evidence TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (return_id, action_id)
    );
    """,
    # 8: digests of the paragraphs an issued form prints outside its tables (a JSON list; NULL: not kept), so
    # ingest finds text a return added there without opening the issued file (issue 11)
    """
    ALTER TABLE issued_forms ADD COLUMN printed TEXT;
    """,
]

CLOSURE_TABLE = "closures"


@dataclass(frozen=True)
class ReceivedFile:
    """One file that arrived in the inbox, whatever became of it: the receipt the officer can point to."""

    sha256: str
    original_path: str  # relative to the inbox, forward slashes
    archive_name: str  # file name under .case-audit/archive/
    size: int
    received_at: datetime
    outcome: str  # accepted | incomplete | rejected
    message: str
    problems: tuple[Problem, ...] = ()
    form_id: Optional[str] = None
    agency: Optional[str] = None
    case_ref: Optional[str] = None
    kind: Optional[str] = None
    had_tracked_changes: bool = False
    had_comments: bool = False
    moved_to: Optional[str] = None
    feedback_file: Optional[str] = None  # the feedback note that told the agency (or the officer) about it
    id: Optional[int] = None


@dataclass(frozen=True)
class FileReading:
    """One time a received file was read, and what came of it (a rejected file may be read again later)."""

    original_path: str
    read_at: datetime
    outcome: str  # accepted | incomplete | rejected
    message: str
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class StoredReturn:
    """A row of the returns history: which file gave which form's answers, and whether it is the version that counts."""

    id: int
    identity: Union[FormIdentity, FormRef]
    complete: bool
    no_involvement: bool
    received_at: datetime
    source_file: str
    file_sha256: str
    counts: bool
    replaced_by: Optional[int] = None  # id of the later return of the same form


@dataclass(frozen=True)
class FormRef:
    """A form's identity as read back from the store, as a plain record: the fields of `models.FormIdentity`, for
    what only reads (`status`), so that it starts without pydantic."""

    form_id: str
    cycle_id: str
    agency: str
    kind: FormKind = FormKind.AUDIT
    case_ref: Optional[str] = None
    kloes: tuple[int, ...] = ()
    fingerprint: str = ""


@dataclass(frozen=True)
class IssuedRecord:
    """A row of the issued-forms register as a plain record: the fields of `models.IssuedForm` (see `FormRef`)."""

    identity: FormRef
    path: str
    file_sha256: str
    template_fingerprint: str
    issued_at: datetime
    superseded_by: Optional[str] = None


@dataclass(frozen=True)
class ProgressUpdate:
    """One action's update in a progress return as a plain record: the fields of `models.ActionUpdate` (see
    `FormRef`), for `status`'s overdue listing."""

    action_id: str
    status: Optional[ActionStatus] = None
    status_label: str = ""
    progress: str = ""
    evidence: str = ""


@dataclass(frozen=True)
class ProgressRecord:
    """A progress return as a plain record: what `actions.latest_updates` reads of a `models.ProgressReturn`."""

    identity: FormRef
    updates: tuple[ProgressUpdate, ...]
    complete: bool
    source_file: str
    file_sha256: str
    received_at: Optional[datetime]


AnyReturn = Union["AuditReturn", "SummaryReturn", "ProgressReturn"]


def _row_slot(row: sqlite3.Row) -> str:
    return row["slot"]


def _open_failure(exc: BaseException, path: Path, existed: bool) -> CaseAuditError:
    """Why the store could not be opened: the user's environment, or (only for an existing file) damage."""
    if existed and is_corruption(exc):
        return CaseAuditError.single(
            "store.unreadable",
            f"The workspace record store cannot be read ({exc}).",
            "Restore .case-audit/store.sqlite3 from your backup; the archive folder beside it keeps every returned file.",
            file=path,
            exit_code=1,
        )
    return environment_failure(exc, where=str(path)) or CaseAuditError.single(
        "store.cannot-open",
        f"The workspace record store could not be opened ({exc}). Nothing already recorded was lost.",
        "Check the workspace folder is reachable and you can write to it, then run the same command again.",
        file=path,
        exit_code=1,
    )


class Store:
    def __init__(self, conn: sqlite3.Connection, path: Path):
        self.conn = conn
        self.path = path

    # -- lifecycle ----------------------------------------------------------
    @classmethod
    def open(cls, path: Path) -> "Store":
        """Open (or create) the store; a full disk or read-only folder is said as such, never as damage."""
        path = Path(path)
        existed = path.is_file() and path.stat().st_size > 0
        conn = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # one thread at a time, but not always the same one: ingest records a file on a second thread
            # while it reads the next (see ingest.Recorder), never touching the store itself meanwhile
            conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, detect_types=0,
                                   check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=DELETE")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            store = cls(conn, path)
            store._migrate()
        except (sqlite3.DatabaseError, OSError) as exc:
            if conn is not None:
                conn.close()
            raise _open_failure(exc, path, existed) from None
        return store

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All or nothing: BEGIN IMMEDIATE takes the write lock up front.

        SQLite may already have rolled back by itself (a full disk, an I/O error);
        then there is nothing to roll back, and the error that caused it is the one raised.
        """
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
            raise

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
            " template_fingerprint, path, file_sha256, issued_at, superseded_by, printed)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                ident.form_id, ident.cycle_id, ident.agency, ident.kind.value, ident.case_ref,
                json.dumps(list(ident.kloes)), ident.fingerprint, form.template_fingerprint, form.path,
                form.file_sha256, form.issued_at.isoformat(timespec="seconds"), form.superseded_by,
                None if form.printed is None else json.dumps(list(form.printed)),
            ),
        )

    def mark_superseded(self, old_form_id: str, new_form_id: str, conn: Optional[sqlite3.Connection] = None) -> None:
        (conn or self.conn).execute(
            "UPDATE issued_forms SET superseded_by = ? WHERE form_id = ?", (new_form_id, old_form_id)
        )

    def set_issued_path(self, form_id: str, path: str, conn: Optional[sqlite3.Connection] = None) -> None:
        """Where an issued form's file now is (a superseded form is moved out of the agency's folder)."""
        (conn or self.conn).execute("UPDATE issued_forms SET path = ? WHERE form_id = ?", (path, form_id))

    def has_moderation_decisions(self) -> bool:
        """Whether the panel has recorded anything: `status` loads moderation (and the models) only then."""
        return self.conn.execute("SELECT 1 FROM moderation_decisions LIMIT 1").fetchone() is not None

    def issued_form(self, form_id: str) -> Optional[IssuedForm]:
        row = self.conn.execute("SELECT * FROM issued_forms WHERE form_id = ?", (form_id,)).fetchone()
        return _issued_from_row(row) if row else None

    def issued_forms(self, *, current_only: bool = False, plain: bool = False) -> list[Union[IssuedForm, IssuedRecord]]:
        """The register, as `IssuedForm` models, or given `plain` as `IssuedRecord`s (the same fields)."""
        sql = "SELECT * FROM issued_forms"
        if current_only:
            sql += " WHERE superseded_by IS NULL"
        sql += " ORDER BY agency, kind, case_ref, kloes, issued_at"
        return [(_issued_record_from_row if plain else _issued_from_row)(r) for r in self.conn.execute(sql)]

    # -- returns ---------------------------------------------------------------

    def record_received_file(self, rec: ReceivedFile, conn: Optional[sqlite3.Connection] = None) -> int:
        """Record a reading of a file; returns the file's id.

        The same bytes read again (only ever after a rejection) keep their row and
        archive copy: the row takes the latest outcome, and feedback is due again
        unless the outcome and problems are exactly those already fed back.
        """
        c = conn or self.conn
        problems = json.dumps([p.model_dump(mode="json") for p in rec.problems])
        row = c.execute("SELECT id, outcome, problems FROM received_files WHERE sha256 = ?", (rec.sha256,)).fetchone()
        if row is None:
            file_id = c.execute(
                "INSERT INTO received_files (sha256, original_path, archive_name, size, received_at, outcome, message,"
                " problems, form_id, agency, case_ref, kind, had_tracked_changes, had_comments, moved_to)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    rec.sha256, rec.original_path, rec.archive_name, rec.size, rec.received_at.isoformat(),
                    rec.outcome, rec.message, problems, rec.form_id, rec.agency, rec.case_ref, rec.kind,
                    int(rec.had_tracked_changes), int(rec.had_comments), rec.moved_to,
                ),
            ).lastrowid
        else:
            if row["outcome"] != "rejected":
                raise ValueError(f"file {rec.sha256} was already stored as a return; it is not read again")
            file_id = row["id"]
            unchanged = rec.outcome == row["outcome"] and problems == row["problems"]
            c.execute(
                "UPDATE received_files SET original_path = ?, size = ?, received_at = ?, outcome = ?, message = ?,"
                " problems = ?, form_id = ?, agency = ?, case_ref = ?, kind = ?, had_tracked_changes = ?,"
                " had_comments = ?, moved_to = ?, feedback_file = CASE WHEN ? THEN feedback_file END WHERE id = ?",
                (
                    rec.original_path, rec.size, rec.received_at.isoformat(), rec.outcome, rec.message, problems,
                    rec.form_id, rec.agency, rec.case_ref, rec.kind, int(rec.had_tracked_changes),
                    int(rec.had_comments), rec.moved_to, int(unchanged), file_id,
                ),
            )
        c.execute(
            "INSERT INTO file_readings (file_id, original_path, read_at, outcome, message, problems)"
            " VALUES (?,?,?,?,?,?)",
            (file_id, rec.original_path, rec.received_at.isoformat(), rec.outcome, rec.message, problems),
        )
        return file_id

    def record_return(self, file_id: int, ret: AnyReturn, conn: Optional[sqlite3.Connection] = None) -> int:
        """Store a return and its answers; call inside the same transaction as its received file."""
        from .models import AuditReturn, ProgressReturn

        c = conn or self.conn
        ident = ret.identity
        audit = isinstance(ret, AuditReturn)
        cur = c.execute(
            "INSERT INTO returns (file_id, form_id, cycle_id, agency, kind, case_ref, kloes, fingerprint, slot, complete,"
            " no_involvement, no_involvement_reason, improvements, partnership, comments, source_file, file_sha256,"
            " received_at, had_tracked_changes, had_comments, other_text) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                file_id, ident.form_id, ident.cycle_id, ident.agency, ident.kind.value, ident.case_ref,
                json.dumps(list(ident.kloes)), ident.fingerprint, return_slot(ident),
                int(getattr(ret, "complete", True)),
                int(ret.no_involvement) if audit else 0, ret.no_involvement_reason if audit else "",
                getattr(ret, "improvements", ""), getattr(ret, "partnership", ""), getattr(ret, "comments", ""),
                ret.source_file, ret.file_sha256, (ret.received_at or datetime.now()).isoformat(),
                int(ret.had_tracked_changes) if audit else 0, int(ret.had_comments) if audit else 0,
                json.dumps([o.model_dump() for o in ret.other_text]),
            ),
        )
        return_id = cur.lastrowid
        if isinstance(ret, ProgressReturn):
            c.executemany(
                "INSERT INTO action_updates (return_id, action_id, status, status_label, progress, evidence)"
                " VALUES (?,?,?,?,?,?)",
                [(return_id, u.action_id, u.status.value if u.status else None, u.status_label, u.progress,
                  u.evidence) for u in ret.updates],
            )
        if audit:
            c.executemany(
                "INSERT INTO answers (return_id, standard, rating, rating_label, evidence, reason) VALUES (?,?,?,?,?,?)",
                [(return_id, a.standard, a.rating.value if a.rating else None, a.rating_label, a.evidence, a.reason)
                 for a in ret.answers],
            )
        return return_id

    def received_file(self, sha256: str) -> Optional[ReceivedFile]:
        row = self.conn.execute("SELECT * FROM received_files WHERE sha256 = ?", (sha256,)).fetchone()
        return _received_from_row(row) if row else None

    def received_files(self) -> list[ReceivedFile]:
        """Every file ever received, in the order it first arrived, each with the outcome of its latest reading."""
        return [_received_from_row(r) for r in self.conn.execute("SELECT * FROM received_files ORDER BY id")]

    def file_readings(self, sha256: str) -> list[FileReading]:
        """Every reading of one file, oldest first (more than one when a rejected file came back)."""
        rows = self.conn.execute(
            "SELECT r.* FROM file_readings r JOIN received_files f ON f.id = r.file_id WHERE f.sha256 = ?"
            " ORDER BY r.id", (sha256,))
        return [FileReading(original_path=r["original_path"], read_at=datetime.fromisoformat(r["read_at"]),
                            outcome=r["outcome"], message=r["message"],
                            problems=tuple(Problem(**p) for p in json.loads(r["problems"]))) for r in rows]

    def set_moved_to(self, sha256: str, moved_to: str) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE received_files SET moved_to = ? WHERE sha256 = ?", (moved_to, sha256))

    def files_needing_feedback(self, also_accepted_with: frozenset[str] = frozenset()) -> list[ReceivedFile]:
        """Rejected files, and incomplete returns still counting, that no feedback note has covered yet.

        Accepted returns still counting are included when one of their problems
        has a code in `also_accepted_with` (an answer naming a child).
        Read from the store rather than from one run's memory, so a run killed
        before writing its feedback has it written by the next run.
        """
        counting_files = set(self._counting().values())
        rows = self.conn.execute("SELECT * FROM received_files WHERE feedback_file IS NULL ORDER BY id")
        files = [_received_from_row(r) for r in rows if r["outcome"] == "rejected" or r["id"] in counting_files]
        return [f for f in files if f.outcome != "accepted" or any(p.code in also_accepted_with for p in f.problems)]

    def mark_feedback(self, sha256s: list[str], feedback_file: str) -> None:
        with self.transaction() as conn:
            conn.executemany("UPDATE received_files SET feedback_file = ? WHERE sha256 = ?",
                             [(feedback_file, sha) for sha in sha256s])

    def feedback_files(self) -> set[str]:
        """Every feedback note the store says was written (workspace-relative paths)."""
        rows = self.conn.execute("SELECT DISTINCT feedback_file FROM received_files WHERE feedback_file IS NOT NULL")
        return {r[0] for r in rows}

    def _counting(self) -> dict[int, int]:
        """Return id -> file id of each form's version that counts (`versions`: versions in the order recorded)."""
        rows = self.conn.execute("SELECT id, file_id, slot FROM returns ORDER BY id").fetchall()
        return {r["id"]: r["file_id"] for r in counting_versions(rows, _row_slot).values()}

    def latest_in_slot(self, slot: str) -> Optional[tuple[str, datetime]]:
        """The file and time of the version of a form that counts now, before a new one is recorded."""
        rows = self.conn.execute("SELECT slot, source_file, received_at FROM returns WHERE slot = ? ORDER BY id",
                                 (slot,)).fetchall()
        row = counting_versions(rows, _row_slot).get(slot)
        return (row["source_file"], datetime.fromisoformat(row["received_at"])) if row else None

    def return_history(self, *, plain: bool = False) -> list[StoredReturn]:
        """Every return ever stored, oldest first; `counts` marks the version of each form that counts.

        Each identity is a `FormIdentity`, or given `plain` a `FormRef` (the same fields).
        """
        identity = _ref_from_row if plain else _identity_from_row
        rows = self.conn.execute("SELECT * FROM returns ORDER BY id").fetchall()
        counts: set[int] = set()
        later: dict[int, int] = {}
        for slot_versions in versions_by_slot(rows, _row_slot).values():
            counts.add(counting(slot_versions)["id"])
            later.update((a["id"], b["id"]) for a, b in zip(slot_versions, slot_versions[1:]))
        return [
            StoredReturn(
                id=r["id"], identity=identity(r), complete=bool(r["complete"]),
                no_involvement=bool(r["no_involvement"]), received_at=datetime.fromisoformat(r["received_at"]),
                source_file=r["source_file"], file_sha256=r["file_sha256"], counts=r["id"] in counts,
                replaced_by=later.get(r["id"]),
            )
            for r in rows
        ]

    def _current_rows(self, kind: FormKind) -> list[sqlite3.Row]:
        counting_ids = self._counting()
        rows = self.conn.execute("SELECT * FROM returns WHERE kind = ? ORDER BY id", (kind.value,))
        return [r for r in rows if r["id"] in counting_ids]

    def current_audit_returns(self, cycle: Optional[Cycle] = None) -> list[AuditReturn]:
        """The version that counts of every audit form returned: the latest received for each agency, case and KLOE set.

        One per form (per-KLOE forms stay separate; findings combine them per case), oldest first.
        """
        rows = self._current_rows(FormKind.AUDIT)
        if cycle is not None:
            rows = [r for r in rows if r["cycle_id"] == cycle.settings.cycle_id]
        return self._audit_returns(rows)

    def current_audit_returns_of(self, agency: str, case_ref: str) -> list[AuditReturn]:
        """The counting audit returns of one agency for one case: read through the slot index, so asking this
        for every file ingested stays cheap however many returns the store holds."""
        prefix = f"{FormKind.AUDIT.value}|{agency}|{case_ref}|"
        rows = self.conn.execute("SELECT * FROM returns WHERE slot >= ? AND slot < ? ORDER BY id",
                                 (prefix, prefix[:-1] + "}")).fetchall()  # '}' sorts just after '|'
        return self._audit_returns(list(counting_versions(rows, _row_slot).values()))

    def _audit_returns(self, rows: list[sqlite3.Row]) -> list[AuditReturn]:
        from .models import AuditReturn

        answers = self._answers_of([r["id"] for r in rows])
        return [
            AuditReturn(
                identity=_identity_from_row(r), no_involvement=bool(r["no_involvement"]),
                no_involvement_reason=r["no_involvement_reason"], answers=tuple(answers[r["id"]]),
                complete=bool(r["complete"]), source_file=r["source_file"], file_sha256=r["file_sha256"],
                received_at=datetime.fromisoformat(r["received_at"]),
                had_tracked_changes=bool(r["had_tracked_changes"]), had_comments=bool(r["had_comments"]),
                other_text=_other_text(r),
            )
            for r in sorted(rows, key=lambda r: r["id"])
        ]

    def _answers_of(self, return_ids: list[int]) -> dict[int, list[Answer]]:
        """The answers of these returns (by return id, in standard order), read a few hundred returns at a time."""
        from .models import Answer, RatingKind

        answers: dict[int, list[Answer]] = {i: [] for i in return_ids}
        # Every answer is given all its fields, so they can share one set of the fields given: each answer's
        # own copy (730 bytes) cost twice the answer itself, 160 MB at 10,000 returns (never changed in place:
        # an Answer is frozen, and model_copy copies it first).
        all_fields = set(Answer.model_fields)
        for start in range(0, len(return_ids), 500):  # SQLite allows 999 parameters in older builds
            chunk = return_ids[start:start + 500]
            rows = self.conn.execute(f"SELECT * FROM answers WHERE return_id IN ({','.join('?' * len(chunk))})"
                                     " ORDER BY return_id, standard", chunk)
            for a in rows:
                answer = Answer(
                    standard=a["standard"], rating=RatingKind(a["rating"]) if a["rating"] else None,
                    rating_label=a["rating_label"], evidence=a["evidence"], reason=a["reason"],
                )
                object.__setattr__(answer, "__pydantic_fields_set__", all_fields)
                answers[a["return_id"]].append(answer)
        return answers

    def current_summary_returns(self) -> list[SummaryReturn]:
        """The latest summary form received from each agency."""
        from .models import SummaryReturn

        return [
            SummaryReturn(
                identity=_identity_from_row(r), improvements=r["improvements"], partnership=r["partnership"],
                comments=r["comments"], source_file=r["source_file"], file_sha256=r["file_sha256"],
                received_at=datetime.fromisoformat(r["received_at"]), other_text=_other_text(r),
            )
            for r in self._current_rows(FormKind.SUMMARY)
        ]

    # -- closing the round (issue 16) -----------------------------------------------
    def closure(self) -> Optional[dict]:
        """The round's closure, if one was started: its row as a dict (files and changes parsed), else None."""
        row = self.conn.execute("SELECT * FROM closures ORDER BY id DESC LIMIT 1").fetchone()
        if row is None:
            return None
        found = dict(row)
        found["files"], found["changes"] = json.loads(row["files"]), json.loads(row["changes"])
        return found

    def begin_closure(self, fields: dict) -> int:
        """Write the journal of a closure about to act (state 'closing'), or update the one a killed run left."""
        values = {**fields, "files": json.dumps(fields.get("files", [])),
                  "changes": json.dumps(fields.get("changes", []))}
        with self.transaction() as conn:
            row = conn.execute("SELECT id FROM closures WHERE state = 'closing' ORDER BY id DESC LIMIT 1").fetchone()
            if row is not None:
                conn.execute("UPDATE closures SET files = ?, changes = ? WHERE id = ?",
                             (values["files"], values["changes"], row["id"]))
                return row["id"]
            columns = ", ".join(values)
            return conn.execute(f"INSERT INTO closures (state, {columns}) VALUES ('closing', "
                                f"{', '.join('?' * len(values))})", tuple(values.values())).lastrowid

    def finish_closure(self, closure_id: int, finished_at: str, changes: list[str]) -> None:
        """The last step of closing: from now on the round is closed."""
        with self.transaction() as conn:
            conn.execute("UPDATE closures SET state = 'closed', finished_at = ?, changes = ? WHERE id = ?",
                         (finished_at, json.dumps(changes), closure_id))

    def scrub_texts(self, scrub, *, keep: bool = True) -> int:
        """Apply `scrub` (text -> text) to every text of every table but the closure record, in one transaction.

        JSON texts (problems, other text) are scrubbed string by string, so an escaped
        spelling (\\u00e2) is matched as the letter it stands for. Returns how many
        values changed; with `keep=False` the change is rolled back (the dry run's count).
        Overwritten pages are zeroed (secure_delete) so the old text is not left in the file.
        """
        self.conn.execute("PRAGMA secure_delete = ON")
        changed = 0
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            for table in self._tables():
                changed += self._scrub_table(table, scrub)
            self.conn.execute("COMMIT" if keep else "ROLLBACK")
        except BaseException:
            if self.conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
            raise
        return changed

    def _tables(self) -> list[str]:
        rows = self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        return [r[0] for r in rows if r[0] != CLOSURE_TABLE]

    def _scrub_table(self, table: str, scrub) -> int:
        columns = [c["name"] for c in self.conn.execute(f'PRAGMA table_info("{table}")') if c["type"] == "TEXT"]
        if not columns:
            return 0
        changed = 0
        rows = self.conn.execute(f'SELECT rowid AS row_key, {", ".join(columns)} FROM "{table}"').fetchall()
        for row in rows:
            new = {c: _scrubbed_value(row[c], scrub) for c in columns}
            new = {c: v for c, v in new.items() if v != row[c]}
            if new:
                changed += len(new)
                sets = ", ".join(f"{c} = ?" for c in new)
                self.conn.execute(f'UPDATE "{table}" SET {sets} WHERE rowid = ?', (*new.values(), row["row_key"]))
        return changed

    def compact(self) -> None:
        """Rebuild the file without its free pages (VACUUM), so nothing deleted or overwritten lingers in it."""
        self.conn.execute("VACUUM")

    # --- action progress forms (issue 13) ----------------------------------------------------

    def record_issued_actions(self, form_id: str, action_ids: list[str],
                              conn: Optional[sqlite3.Connection] = None) -> None:
        """The actions a progress form asks about; call in the transaction that records the form."""
        (conn or self.conn).executemany("INSERT INTO issued_actions (form_id, action_id) VALUES (?, ?)",
                                        [(form_id, a) for a in action_ids])

    def issued_actions(self, form_id: str) -> list[str]:
        """The action IDs progress form `form_id` was issued for (none for any other form)."""
        rows = self.conn.execute("SELECT action_id FROM issued_actions WHERE form_id = ? ORDER BY rowid", (form_id,))
        return [r["action_id"] for r in rows]

    def progress_returns(self, cycle_id: Optional[str] = None, *,
                         plain: bool = False) -> list[Union[ProgressReturn, ProgressRecord]]:
        """Every progress return ever received (of one cycle, if given), in the order received: each update counts
        as the action's latest until a later one arrives. `ProgressReturn` models, or given `plain` the same
        fields as `ProgressRecord`s (no pydantic: `status` lists overdue actions from them)."""
        rows = self.conn.execute("SELECT * FROM returns WHERE kind = ? ORDER BY id", (FormKind.PROGRESS.value,))
        rows = [r for r in rows if cycle_id is None or r["cycle_id"] == cycle_id]
        updates: dict[int, list[ProgressUpdate]] = {r["id"]: [] for r in rows}
        for u in self.conn.execute("SELECT * FROM action_updates ORDER BY return_id, rowid"):
            if u["return_id"] in updates:
                updates[u["return_id"]].append(ProgressUpdate(
                    action_id=u["action_id"], status=ActionStatus(u["status"]) if u["status"] else None,
                    status_label=u["status_label"], progress=u["progress"], evidence=u["evidence"]))
        if plain:
            return [ProgressRecord(_ref_from_row(r), tuple(updates[r["id"]]), bool(r["complete"]), r["source_file"],
                                   r["file_sha256"], datetime.fromisoformat(r["received_at"])) for r in rows]
        from .models import ActionUpdate, ProgressReturn

        return [ProgressReturn(identity=_identity_from_row(r),
                               updates=tuple(ActionUpdate(**dataclasses.asdict(u)) for u in updates[r["id"]]),
                               complete=bool(r["complete"]), source_file=r["source_file"],
                               file_sha256=r["file_sha256"], received_at=datetime.fromisoformat(r["received_at"]),
                               other_text=_other_text(r)) for r in rows]


def _scrubbed_value(value, scrub):
    """A text column's value scrubbed; JSON (a list or object) string by string, written back the same way."""
    if not isinstance(value, str) or not value:
        return value
    if value[:1] in "[{":
        try:
            parsed = json.loads(value)
        except ValueError:
            return scrub(value)
        cleaned = _scrub_json(parsed, scrub)
        return value if cleaned == parsed else json.dumps(cleaned)
    return scrub(value)


def _scrub_json(value, scrub):
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list):
        return [_scrub_json(v, scrub) for v in value]
    if isinstance(value, dict):
        return {k: _scrub_json(v, scrub) for k, v in value.items()}
    return value


def _issued_from_row(row: sqlite3.Row) -> IssuedForm:
    from .models import IssuedForm

    return IssuedForm(
        identity=_identity_from_row(row),
        path=row["path"],
        file_sha256=row["file_sha256"],
        template_fingerprint=row["template_fingerprint"],
        issued_at=datetime.fromisoformat(row["issued_at"]),
        superseded_by=row["superseded_by"],
        printed=None if row["printed"] is None else tuple(json.loads(row["printed"])),
    )


def _other_text(row: sqlite3.Row) -> tuple[OtherText, ...]:
    from .models import OtherText

    return tuple(OtherText(**o) for o in json.loads(row["other_text"]))


def _identity_from_row(row: sqlite3.Row) -> FormIdentity:
    from .models import FormIdentity

    return FormIdentity(
        form_id=row["form_id"], cycle_id=row["cycle_id"], agency=row["agency"], kind=FormKind(row["kind"]),
        case_ref=row["case_ref"], kloes=tuple(json.loads(row["kloes"])), fingerprint=row["fingerprint"],
    )


def _ref_from_row(row: sqlite3.Row) -> FormRef:
    return FormRef(
        form_id=row["form_id"], cycle_id=row["cycle_id"], agency=row["agency"], kind=FormKind(row["kind"]),
        case_ref=row["case_ref"], kloes=tuple(json.loads(row["kloes"])), fingerprint=row["fingerprint"],
    )


def _issued_record_from_row(row: sqlite3.Row) -> IssuedRecord:
    return IssuedRecord(
        identity=_ref_from_row(row), path=row["path"], file_sha256=row["file_sha256"],
        template_fingerprint=row["template_fingerprint"], issued_at=datetime.fromisoformat(row["issued_at"]),
        superseded_by=row["superseded_by"],
    )


def _received_from_row(row: sqlite3.Row) -> ReceivedFile:
    return ReceivedFile(
        id=row["id"], sha256=row["sha256"], original_path=row["original_path"], archive_name=row["archive_name"],
        size=row["size"], received_at=datetime.fromisoformat(row["received_at"]), outcome=row["outcome"],
        message=row["message"], problems=tuple(Problem(**p) for p in json.loads(row["problems"])),
        form_id=row["form_id"], agency=row["agency"], case_ref=row["case_ref"], kind=row["kind"],
        had_tracked_changes=bool(row["had_tracked_changes"]), had_comments=bool(row["had_comments"]),
        moved_to=row["moved_to"], feedback_file=row["feedback_file"],
    )
