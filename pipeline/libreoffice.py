"""LibreOffice run headless to convert one file: the one place case-audit starts `soffice`.

Each conversion runs with its own throw-away profile folder (so it neither clashes with
a LibreOffice the officer has open nor with another conversion), in a temporary
folder, with a time limit. Nothing here raises for a file LibreOffice cannot convert:
the caller is told None and says what that means for the person it serves.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Optional

CONVERT_TIMEOUT = 120  # seconds; a one-page form converts in a few

# Where the Windows installer puts soffice when it is not on PATH.
_WINDOWS_PLACES = ("LibreOffice/program/soffice.exe",)


def find_soffice() -> Optional[str]:
    """The soffice program, or None when LibreOffice is not installed."""
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found or os.name != "nt":
        return found
    for base in filter(None, (os.environ.get("PROGRAMFILES"), os.environ.get("PROGRAMFILES(X86)"))):
        candidate = Path(base) / _WINDOWS_PLACES[0]
        if candidate.is_file():
            return str(candidate)
    return None


def available() -> bool:
    return find_soffice() is not None


def convert(data: bytes, suffix: str, to: str, *, timeout: float = CONVERT_TIMEOUT) -> Optional[bytes]:
    """`data` (a file ending in `suffix`, e.g. ".odt") converted by LibreOffice to `to` (e.g. "docx").

    `to` is what `soffice --convert-to` takes ("docx", "pdf", or "docx:MS Word 2007 XML").
    None when LibreOffice is missing, fails, or takes longer than `timeout` seconds.
    """
    soffice = find_soffice()
    if soffice is None:
        return None
    with tempfile.TemporaryDirectory(prefix="case-audit-lo-", ignore_cleanup_errors=True) as work:
        folder = Path(work)
        source, profile, out = folder / f"input{suffix}", folder / "profile", folder / "out"
        source.write_bytes(data)
        out.mkdir()
        command = [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
                   "--convert-to", to, "--outdir", str(out), str(source)]
        if not _run(command, timeout):
            return None
        result = out / f"input.{to.split(':', 1)[0]}"
        try:
            return result.read_bytes() if result.is_file() and result.stat().st_size else None
        except OSError:
            return None


def _run(command: list[str], timeout: float) -> bool:
    """Run soffice to the end; on timeout end it and everything it started (its own process group on POSIX)."""
    try:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=os.name == "posix")
    except OSError:
        return False
    try:
        proc.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        if os.name == "posix":
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
        else:
            proc.kill()
        proc.wait()
        return False
