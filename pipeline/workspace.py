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
import errno
import json
import os
import re
import socket
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional

from .problems import CaseAuditError, Problem, Severity

STATE_DIR_NAME = ".case-audit"
CYCLE_WORKBOOK = "cycle.xlsx"
MODERATION_WORKBOOK = "moderation.xlsx"  # the panel's decisions, beside cycle.xlsx (issue 14)


def is_workspace(folder: Path) -> bool:
    """A folder `init` made (it has `.case-audit/`), or one holding a cycle workbook."""
    return (folder / STATE_DIR_NAME).is_dir() or (folder / CYCLE_WORKBOOK).is_file()


def find_workspace(start: Path | str) -> Optional[Path]:
    """The workspace `start` is in: `start` itself or the nearest folder above it that is one (as git finds a repository).

    So a command run from `inbox/` or `outbox/report/` works on its workspace
    rather than treating the sub-folder as an empty new one.
    """
    here = Path(start).resolve()
    for folder in (here, *here.parents):
        if is_workspace(folder):
            return folder
    return None


def shipped_templates_dir() -> Path:
    """The default templates: inside the installed package, or beside it in a source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "templates", here.parent / "templates"):
        if (candidate / "word").is_dir() or (candidate / "excel").is_dir():
            return candidate
    raise CaseAuditError.single(
        "install.templates-missing",
        exit_code=1,
    )


def shipped_template(kind: str, name: str) -> Path:
    return shipped_templates_dir() / kind / name


class Workspace:
    def __init__(self, root: Path | str, *, given: bool = True):
        self.root = Path(root).resolve()
        self.given = given  # False when found by walking up from the current folder (see `discover`)
        self.command = "case-audit"  # what the lock holder file says is running (the CLI sets the command name)
        self.on_wait: Optional[Callable[[str], None]] = None  # told who holds the lock before we wait for it
        self.leftovers: list[str] = []  # temporary files of a killed run, removed when the lock was taken

    @classmethod
    def discover(cls, start: Path | str = ".") -> "Workspace":
        """The workspace holding `start` (default: the current folder), else `start` itself."""
        found = find_workspace(start)
        return cls(found if found is not None else start, given=False)

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
    def moderation_path(self) -> Path:
        return self.root / MODERATION_WORKBOOK

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
        path = Path(path)
        if path.is_absolute() and ".." not in path.parts:  # made from the (resolved) root: no need to ask the disk
            try:
                return path.relative_to(self.root).as_posix()
            except ValueError:
                pass
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

    def ensure_folders(self) -> None:
        for folder in (self.inbox, self.outbox, self.state_dir, self.archive_dir):
            folder.mkdir(parents=True, exist_ok=True)

    def require_cycle(self) -> Path:
        if not self.cycle_path.is_file():
            where = "" if self.given else " or any folder above it"
            raise CaseAuditError.single(
                "workspace.no-cycle",
                f"No cycle workbook in {self.root}{where}.",
                "Run 'case-audit init FOLDER' to start a cycle, or pass --workspace FOLDER.",
                file=self.cycle_path,
            )
        return self.cycle_path

    @property
    def tmp_dir(self) -> Path:
        """Half-written files go here, never beside the forms and notes the officer emails."""
        return self.state_dir / "tmp"

    @property
    def staging_dir(self) -> Path:
        """Files written whole but not yet recorded: moved into place only once the store says so."""
        return self.state_dir / "staging"

    @property
    def lock_path(self) -> Path:
        return self.state_dir / "workspace.lock"

    @property
    def holder_path(self) -> Path:
        return self.state_dir / "workspace.lock.holder"

    @contextlib.contextmanager
    def lock(self, timeout: float = 600.0) -> Iterator[None]:
        """One command at a time on the store; works on Windows and on shared drives.

        If another command holds it, `self.on_wait(who)` is called at once (the CLI
        says it is waiting and for what), then we wait up to `timeout` seconds
        (ten minutes by default: an ingest of a thousand returns takes a while,
        and the officer has been told why we wait; Ctrl+C stops the wait).
        Once held, leftovers of a run that was killed are cleared (`self.leftovers`).
        """
        from filelock import FileLock, Timeout  # here, not at the top: `case-audit --help` never locks (issue 11)

        self.state_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.lock_path), timeout=timeout)
        try:
            lock.acquire(blocking=False)
        except Timeout:
            holder = self.lock_holder()
            if self.on_wait is not None:
                self.on_wait(holder)
            try:
                lock.acquire(timeout=timeout)
            except Timeout:
                raise CaseAuditError.single("workspace.busy", holder=f"{holder[0].upper()}{holder[1:]}",
                                            file=self.root) from None
        try:
            self._write_holder()
            self.leftovers = clear_leftovers(self)
            yield
        finally:
            with contextlib.suppress(OSError):
                self.holder_path.unlink()
            lock.release()

    def _write_holder(self) -> None:
        info = {"command": self.command, "pid": os.getpid(), "host": socket.gethostname(),
                "since": datetime.now().isoformat(timespec="seconds")}
        with contextlib.suppress(OSError):  # only makes the waiting message specific
            self.holder_path.write_text(json.dumps(info), encoding="utf-8")

    def lock_holder(self) -> str:
        """Who holds the lock, as the officer would say it.

        'another case-audit command (ingest, started 14:02, process 4242)', or without
        the brackets when the holder did not say (an older version, or a race).
        """
        who = "another case-audit command"
        try:
            info = json.loads(self.holder_path.read_text(encoding="utf-8"))
            since = datetime.fromisoformat(info["since"])
        except (OSError, ValueError, KeyError, TypeError):
            return who
        where = f" on {info['host']}" if info.get("host") and info["host"] != socket.gethostname() else ""
        return f"{who} ({info.get('command') or 'case-audit'}, started {since:%H:%M}, process {info.get('pid')}{where})"


def clear_leftovers(ws: Workspace) -> list[str]:
    """Remove what a killed run left half-done; call with the lock held. Returns the removed files shown to the officer.

    `.case-audit/tmp/` is emptied, orphaned `.~incoming-*` copies leave the archive,
    and `.~tmp-*` files an older case-audit wrote beside outputs leave the outbox
    (those are the ones listed: the officer might email them).
    """
    shown: list[str] = []
    for folder, pattern, listed in ((ws.tmp_dir, "*", False), (ws.archive_dir, ".~incoming-*", False),
                                    (ws.outbox, ".~tmp-*", True)):
        if not folder.is_dir():
            continue
        for path in folder.rglob(pattern) if listed else folder.glob(pattern):
            if path.is_file():
                with contextlib.suppress(OSError):
                    path.unlink()
                    if listed:
                        shown.append(ws.relative(path))
    return shown


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write all of a file or none of it; a file open in Office gets a plain message.

    The temporary file goes to the workspace's `.case-audit/tmp/` (so a killed run
    never leaves one in a folder the officer emails), or beside the file outside a
    workspace or when the two are on different drives.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    private = _private_tmp_dir(path)
    try:
        _write_via(private or path.parent, path, data, replace_or_explain)
    except OSError as exc:
        if private is None or exc.errno != errno.EXDEV:
            raise
        _write_via(path.parent, path, data, replace_or_explain)


def durable_write_bytes(path: Path, data: bytes) -> None:
    """Write all of a file or none of it, and have its name survive a power cut once this returns.

    For the archive of returned files: the temporary copy stays beside the file as
    `.~incoming-*` (which `clear_leftovers` removes after a kill), and OS errors are
    raised as they are, for the caller to say what they mean for the file it was reading.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_via(path.parent, path, data, os.replace, prefix=".~incoming-")
    fsync_folder(path.parent)


def fsync_folder(folder: Path) -> None:
    """Make a rename durable where the OS allows it (POSIX); Windows has no folder handle to sync."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _private_tmp_dir(path: Path) -> Optional[Path]:
    """`<workspace>/.case-audit/tmp` for a path inside a workspace, else None."""
    for folder in path.resolve().parents:
        if (folder / STATE_DIR_NAME).is_dir():
            tmp = folder / STATE_DIR_NAME / "tmp"
            tmp.mkdir(exist_ok=True)
            return tmp
    return None


def _write_via(folder: Path, path: Path, data: bytes, replace: Callable[[Path, Path], None],
               prefix: str = ".~tmp-") -> None:
    """The one write-whole: a temporary file in `folder`, synced to disk, then renamed over `path`."""
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=path.suffix, dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            with contextlib.suppress(OSError):  # mkstemp makes 0600; colleagues on a shared drive must read outputs
                os.chmod(tmp, 0o666 & ~_UMASK)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        replace(Path(tmp), path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def stage_bytes(ws: Workspace, target: Path, data: bytes) -> Path:
    """Write a file whole into `.case-audit/staging/`, at the place mirroring `target`; publish it once recorded."""
    staged = ws.staging_dir / ws.relative(target)
    atomic_write_bytes(staged, data)
    return staged


def publish(staged: Path, target: Path) -> None:
    """Move a staged file into place (the record that names it is already committed)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    replace_or_explain(staged, target)


def recover_staged(ws: Workspace, under: Path, recorded: Callable[[str], bool]) -> tuple[list[str], list[str]]:
    """Finish what a killed run left in staging under `under` (a workspace folder, e.g. outbox/forms).

    A staged file the store records (by its workspace-relative path) was committed
    but not moved: it is published now. One the store does not know was never
    recorded: it is deleted, as if the killed run had not started. Returns
    (published, discarded) relative paths.
    """
    published: list[str] = []
    discarded: list[str] = []
    root = ws.staging_dir
    folder = root / ws.relative(under)
    if not folder.is_dir():
        return published, discarded
    for staged in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = staged.relative_to(root).as_posix()
        target = ws.root / rel
        if recorded(rel) and not target.exists():
            publish(staged, target)
            published.append(rel)
        elif not recorded(rel):
            staged.unlink()
            discarded.append(rel)
    return published, discarded


def replace_or_explain(tmp: Path, path: Path) -> None:
    try:
        os.replace(tmp, path)
    except PermissionError:
        raise CaseAuditError.single(
            "file.locked",
            f"Could not write {path.name}: it is open in another program (Word or Excel). Nothing already "
            "recorded was lost.",
            "Close the file and run the command again.",
            file=path,
            exit_code=1,
        ) from None


_WINDOWS_BAD = re.compile(r'[<>:"/\\|?*\x00-\x1f]')
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


def windows_reserved(name: str) -> bool:
    """A name Windows keeps for a device (CON, PRN, AUX, NUL, COM1-9, LPT1-9), with or without an extension."""
    return name.split(".")[0].upper() in _WINDOWS_RESERVED


def safe_name(text: str, limit: int = 60, *, empty: str = "_") -> str:
    """A file or folder name Windows accepts: no reserved characters or names, no trailing dot or space.

    Characters Windows refuses become '-', runs of spaces one space, a device name gets a leading '_';
    `empty` stands in for a name with nothing left.
    """
    name = _WINDOWS_BAD.sub("-", text).strip().rstrip(". ")
    name = re.sub(r"\s+", " ", name)[:limit].rstrip(". ") or empty
    if windows_reserved(name):
        name = "_" + name
    return name


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
        raise CaseAuditError.single("init.not-a-folder", folder=ws.root, file=ws.root)
    visible = [p for p in ws.root.iterdir() if not p.name.startswith(".")] if ws.root.is_dir() else []
    if visible and not force:
        raise CaseAuditError.single("init.not-empty", folder=ws.root, count=len(visible), file=ws.root)
    _refuse_nested(ws.root)
    ws.root.mkdir(parents=True, exist_ok=True)
    ws.ensure_folders()
    if not ws.cycle_path.exists():
        source = shipped_template("excel", "example-cycle.xlsx" if example else "cycle.xlsx")
        atomic_write_bytes(ws.cycle_path, source.read_bytes())
    return ws


def _refuse_nested(root: Path) -> None:
    """A workspace inside another would split one cycle's returns between two stores."""
    outer = find_workspace(root.parent)
    if outer is not None:
        raise CaseAuditError.single(
            "init.inside-workspace",
            f"{root} is inside the workspace {outer}: a cycle there would be a second, separate workspace.",
            f"Run the commands from anywhere inside {outer} (they find it), or choose a folder outside it for a "
            "new cycle.",
            file=root,
        )


# --- files open in another program ---------------------------------------------------------

_OFFICE_PROGRAMS = {".docx": "Word", ".doc": "Word", ".xlsx": "Excel", ".xls": "Excel", ".xlsm": "Excel"}


def open_elsewhere(path: Path | str) -> Optional[str]:
    """The program a file is open in, judged by the lock file beside it, else None.

    Word and Excel write `~$name` (Word drops the first one or two letters of a long
    name); LibreOffice writes `.~lock.name#`. A lock file left by a crash reads the
    same, so this is said as a warning, never a refusal.
    """
    path = Path(path)
    name = path.name
    try:
        if (path.parent / f".~lock.{name}#").is_file():
            return "LibreOffice"
        for candidate in {name, name[1:], name[2:]}:
            if len(candidate) > 4 and (path.parent / f"~${candidate}").is_file():
                return _OFFICE_PROGRAMS.get(path.suffix.lower(), "Word or Excel")
    except OSError:
        return None
    return None


def open_elsewhere_problems(ws: Workspace, paths: Iterable[Optional[Path]]) -> list[Problem]:
    """A warning for each file open in Word, Excel or LibreOffice: what is unsaved there is not in this run."""
    problems = []
    for path in dict.fromkeys(p for p in paths if p is not None):
        program = open_elsewhere(path)
        if program is None:
            continue
        problems.append(Problem(
            code="file.open-elsewhere", file=ws.relative(path), severity=Severity.WARNING,
            message=f"{Path(path).name} is open in {program}: unsaved changes there are not included.",
            fix=f"Save (or close) it in {program} and run the command again to include them."))
    return problems
