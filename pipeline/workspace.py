"""The officer's folder for one cycle: where each file lives, and safe ways to write them.

Layout:
    cycle.xlsx            the cycle workbook the officer edits in Excel
    inbox/                returned forms are dropped here (any sub-folders)
    outbox/               forms, feedback, report and Excel outputs
    templates/            optional: the workspace's own Word/Excel templates
    .case-audit/          private state: the record store and the archive
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

from filelock import FileLock, Timeout

from .problems import CaseAuditError

STATE_DIR_NAME = ".case-audit"
CYCLE_WORKBOOK = "cycle.xlsx"


def shipped_templates_dir() -> Path:
    """The default templates: inside the installed package, or beside it in a source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "templates", here.parent / "templates"):
        if (candidate / "word").is_dir() or (candidate / "excel").is_dir():
            return candidate
    raise CaseAuditError.single(
        "install.templates-missing",
        "The shipped templates were not found next to the installed package.",
        "Reinstall case-audit (pip install .) from a complete copy of the project.",
        exit_code=1,
    )


def shipped_template(kind: str, name: str) -> Path:
    return shipped_templates_dir() / kind / name


class Workspace:
    def __init__(self, root: Path | str):
        self.root = Path(root).resolve()

    # -- where things are -------------------------------------------------
    @property
    def cycle_path(self) -> Path:
        return self.root / CYCLE_WORKBOOK

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    @property
    def forms_dir(self) -> Path:
        return self.outbox / "forms"

    @property
    def feedback_dir(self) -> Path:
        return self.outbox / "feedback"

    @property
    def report_dir(self) -> Path:
        return self.outbox / "report"

    @property
    def results_path(self) -> Path:
        return self.outbox / "results.xlsx"

    @property
    def learning_log_path(self) -> Path:
        return self.outbox / "learning-log.xlsx"

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR_NAME

    @property
    def store_path(self) -> Path:
        return self.state_dir / "store.sqlite3"

    @property
    def archive_dir(self) -> Path:
        return self.state_dir / "archive"

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates"

    def template(self, kind: str, name: str) -> Path:
        """The workspace's own template if it has one, else the shipped default."""
        own = self.templates_dir / kind / name
        return own if own.is_file() else shipped_template(kind, name)

    def relative(self, path: Path) -> str:
        """A path as shown to the officer and stored in the register: relative, forward slashes."""
        try:
            return Path(path).resolve().relative_to(self.root).as_posix()
        except ValueError:
            return Path(path).as_posix()

    def ensure_folders(self) -> None:
        for folder in (self.inbox, self.outbox, self.state_dir, self.archive_dir):
            folder.mkdir(parents=True, exist_ok=True)

    def require_cycle(self) -> Path:
        if not self.cycle_path.is_file():
            raise CaseAuditError.single(
                "workspace.no-cycle",
                f"No cycle workbook in {self.root}.",
                "Run 'case-audit init FOLDER' to start a cycle, or pass --workspace FOLDER.",
                file=self.cycle_path,
            )
        return self.cycle_path

    @contextlib.contextmanager
    def lock(self, timeout: float = 30.0) -> Iterator[None]:
        """One writer at a time on the store; works on Windows and on shared drives."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.state_dir / "workspace.lock"), timeout=timeout)
        try:
            lock.acquire()
        except Timeout:
            raise CaseAuditError.single(
                "workspace.busy",
                "Another case-audit command is already working in this workspace.",
                "Wait for it to finish, then run this command again.",
                file=self.root,
            ) from None
        try:
            yield
        finally:
            lock.release()


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write all of a file or none of it; a file open in Office gets a plain message."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".~tmp-", suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            with contextlib.suppress(OSError):  # mkstemp makes 0600; colleagues on a shared drive must read outputs
                os.chmod(tmp, 0o666 & ~_UMASK)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        replace_or_explain(Path(tmp), path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def replace_or_explain(tmp: Path, path: Path) -> None:
    try:
        os.replace(tmp, path)
    except PermissionError:
        raise CaseAuditError.single(
            "file.locked",
            f"Could not write {path.name}: it is open in another program (Word or Excel).",
            "Close the file and run the command again.",
            file=path,
        ) from None


def unique_path(path: Path) -> Path:
    """`path`, or `name (2).ext`, `name (3).ext`... : never overwrite what is there."""
    path = Path(path)
    if not path.exists():
        return path
    n = 2
    while True:
        candidate = path.with_name(f"{path.stem} ({n}){path.suffix}")
        if not candidate.exists():
            return candidate
        n += 1


def init_workspace(root: Path | str, *, example: bool = False, force: bool = False) -> Workspace:
    """Start a cycle: folders plus a cycle workbook (blank toolkit or the shipped example).

    Never deletes or overwrites a user's file: a non-empty folder is refused
    unless `force`, and even then an existing cycle.xlsx is kept.
    """
    ws = Workspace(root)
    if ws.root.exists() and not ws.root.is_dir():
        raise CaseAuditError.single("init.not-a-folder", f"{ws.root} is a file, not a folder.",
                                    "Choose a new folder name.", file=ws.root)
    visible = [p for p in ws.root.iterdir() if not p.name.startswith(".")] if ws.root.is_dir() else []
    if visible and not force:
        raise CaseAuditError.single(
            "init.not-empty",
            f"{ws.root} is not empty ({len(visible)} item(s) already there).",
            "Choose a new folder, or add --force to add the missing workspace folders without touching existing files.",
            file=ws.root,
        )
    ws.root.mkdir(parents=True, exist_ok=True)
    ws.ensure_folders()
    if not ws.cycle_path.exists():
        source = shipped_template("excel", "example-cycle.xlsx" if example else "cycle.xlsx")
        atomic_write_bytes(ws.cycle_path, source.read_bytes())
    return ws
