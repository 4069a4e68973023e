"""Which report in outbox/report/ is ours, and which was saved last: by identity, whatever its name.

The comms team saves their edits where and as they like ("Overview report FINAL
(comms).docx", a sub-folder for drafts). A report this tool built carries its
identity in custom document properties (kept by Word, Word for the web and
LibreOffice), so it is recognised by those, not by its file name; the narrative
is taken from the one saved last, as the README promises.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Optional

from ..ooxml.package import PackageError, open_package
from ..ooxml.properties import read_custom_properties
from ..problems import Problem, Severity
from ..workspace import Workspace
from .narrative import PROP_REPORT, REPORT_KIND


def _word_files(folder: Path) -> Iterator[Path]:
    """Every .docx under the folder, sub-folders included, without Word's and LibreOffice's lock files."""
    if not folder.is_dir():
        return
    for path in folder.rglob("*"):
        if path.suffix.lower() == ".docx" and not path.name.startswith(("~$", ".~lock.")) and path.is_file():
            yield path


def is_our_report(path: Path) -> bool:
    """Whether the file is an overview report case-audit built (its identity survived the editing)."""
    try:
        return read_custom_properties(open_package(Path(path).read_bytes())).get(PROP_REPORT) == REPORT_KIND
    except (OSError, PackageError):
        return False


def _saved(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return -1


def latest_report(folder: Path) -> Optional[Path]:
    """Our report saved last, anywhere under `folder`, whatever it is called; None when there is none.

    Comms may keep editing the copy they had open while a rebuild wrote the
    next version, or save it under a new name: either way the one saved last
    holds their latest wording. Ties (same save time) go to the name sorted last.
    """
    ours = [p for p in _word_files(folder) if is_our_report(p)]
    return max(ours, key=lambda p: (_saved(p), p.name)) if ours else None


def newer_not_ours(folder: Path, chosen: Optional[Path]) -> list[Path]:
    """Word files saved after `chosen` (or any, without one) that are not reports of ours: edits we cannot read."""
    since = _saved(chosen) if chosen is not None else -1
    return sorted((p for p in _word_files(folder) if _saved(p) > since and not is_our_report(p)), key=_saved)


def not_ours_problems(ws: Workspace, chosen: Optional[Path]) -> list[Problem]:
    """A warning for each Word file in outbox/report/ saved after the report the narrative comes from, not ours."""
    problems = []
    for path in newer_not_ours(ws.report_dir, chosen):
        took = f"the narrative was taken from {chosen.name}" if chosen else "the narrative was drafted afresh"
        problems.append(Problem(
            code="report.newer-not-ours", file=ws.relative(path), severity=Severity.WARNING,
            message=f"{path.name} was saved after every report case-audit built, but it is not one of them (its "
                    f"record of the narrative is missing, e.g. it was copied into a new document): {took}, "
                    "and its wording was not used.",
            fix="If it holds edits to keep, copy them into the report named above (in Word), save, and build the "
                "report again."))
    return problems
