"""Shared fixtures: the shipped example cycle (as a file, a loaded Cycle and a workspace), its simulated
returns, and LibreOffice as the stand-in for agencies' real word processors.

LibreOffice: mark a test `@pytest.mark.libreoffice` (or `@pytest.mark.libreoffice("calc")` when it needs
Calc) and it is skipped, with the reason, where soffice is not installed; ask for the
`resave_with_libreoffice` or `convert_with_libreoffice` fixture to run it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional

import pytest

from pipeline import example_returns
from pipeline.models import AuditReturn, Cycle, SummaryReturn
from pipeline.workbook import load_cycle
from pipeline.workspace import Workspace, init_workspace, shipped_template

# build-report's contents page-numbering pass renders the report with LibreOffice (seconds each): off for the
# suite's many builds (and the CLI runs they start), on where a test asks (build_report(contents_page_numbers=True))
os.environ.setdefault("CASE_AUDIT_CONTENTS_PAGES", "0")


@pytest.fixture(scope="session")
def example_workbook_path() -> Path:
    """The shipped example-cycle.xlsx where the installed package finds it (read it, never write it)."""
    return shipped_template("excel", "example-cycle.xlsx")


@pytest.fixture(scope="session")
def example_cycle(example_workbook_path: Path) -> Cycle:
    return load_cycle(example_workbook_path)


@pytest.fixture
def tmp_workspace(tmp_path: Path) -> Workspace:
    """A fresh workspace holding a copy of the example cycle workbook."""
    return init_workspace(tmp_path / "ws", example=True)


# --- the demo's simulated returns -------------------------------------------------------------


@dataclass(frozen=True)
class SimulatedExample:
    """The shipped simulated answers for the example cycle, as the demo loads them."""

    forms: list[example_returns.SimulatedForm]
    summaries: list[example_returns.SimulatedSummary]
    returns: list[AuditReturn]  # as ingest records the filled forms
    summary_returns: list[SummaryReturn]

    def values(self, agency: str, case_ref: Optional[str] = None) -> dict[str, object]:
        """What the agency types into its form for this case (or its summary form): `{tag: value}`."""
        if case_ref is None:
            return example_returns.summary_values(next(s for s in self.summaries if s.agency == agency))
        return example_returns.audit_values(next(f for f in self.forms if (f.agency, f.case_ref) == (agency, case_ref)))


@pytest.fixture(scope="session")
def simulated(example_cycle: Cycle) -> SimulatedExample:
    forms = example_returns.simulated_returns(example_cycle)
    summaries = example_returns.simulated_summaries(example_cycle)
    return SimulatedExample(forms, summaries, example_returns.to_audit_returns(forms),
                            example_returns.to_summary_returns(summaries))


# --- LibreOffice ------------------------------------------------------------------------------------


def libreoffice_missing(component: str = "writer") -> Optional[str]:
    """Why LibreOffice (or its Calc) cannot run here, or None when it can."""
    soffice = shutil.which("soffice")
    if soffice is None:
        return "LibreOffice (soffice) is not installed; .ci/run installs it"
    if component == "calc":
        program = Path(soffice).resolve().parent
        if not any(program.glob("libsclo.*")) and not any(Path("/usr/lib/libreoffice/program").glob("libsclo.*")):
            return "LibreOffice Calc is not installed (only Writer)"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers("libreoffice"):
        missing = libreoffice_missing(*mark.args)
        if missing:
            pytest.skip(missing)


def _convert(files: Iterable[Path], outdir: Path, to: str, timeout: int = 900) -> list[Path]:
    """Open each file in LibreOffice and save it as `to` into `outdir`; the saved files, in order."""
    files = [Path(f) for f in files]
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lo-profile-") as profile:  # private: parallel runs do not clash
        done = subprocess.run([shutil.which("soffice") or "soffice", f"-env:UserInstallation={Path(profile).as_uri()}",
                               "--headless", "--convert-to", to, "--outdir", str(outdir), *map(str, files)],
                              capture_output=True, text=True, timeout=timeout)
    saved = [outdir / f"{f.stem}.{to.split(':')[0]}" for f in files]
    missing = [p.name for p in saved if not p.is_file()]
    assert not missing, f"LibreOffice did not write {missing}: {done.stderr}"
    return saved


def _resave(files: Path | Iterable[Path], outdir: Optional[Path] = None) -> list[Path]:
    """Open and save Word files in LibreOffice, as an agency or comms officer using it would.

    Into `outdir` under the same names, or over the files themselves when no `outdir` is given.
    """
    files = [files] if isinstance(files, Path) else [Path(f) for f in files]
    if outdir is not None:
        return _convert(files, outdir, "docx:MS Word 2007 XML")
    for source in files:  # one at a time: two files of the same name in different folders must not meet
        with tempfile.TemporaryDirectory(prefix="lo-resaved-") as work:
            shutil.copyfile(_convert([source], Path(work), "docx:MS Word 2007 XML")[0], source)
    return files


@pytest.fixture(scope="session")
def resave_with_libreoffice() -> Callable[..., list[Path]]:
    missing = libreoffice_missing()
    if missing:
        pytest.skip(missing)
    return _resave


@pytest.fixture(scope="session")
def convert_with_libreoffice() -> Callable[..., list[Path]]:
    """`convert(files, outdir, to)`, e.g. to="pdf" or "xlsx:Calc MS Excel 2007 XML"."""
    missing = libreoffice_missing()
    if missing:
        pytest.skip(missing)
    return _convert
