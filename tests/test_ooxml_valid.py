"""Every kind of Word and Excel file the tool writes validates against the ECMA-376 schemas.

Word is stricter than LibreOffice: a file that breaks the schema opens in
LibreOffice and is "repaired" (or refused) by Word. The validator lives beside
the project (../shared/tools/ooxml-validate, see its README); these tests run it
on real output of the demo cycle: the shipped templates, whole and per-KLOE
audit forms, summary forms, the report, results.xlsx, the learning log,
status.xlsx, moderation.xlsx and a new workspace's cycle.xlsx.
status.xlsx, a new workspace's cycle.xlsx, and what closing a round writes (closure-record.xlsx, the
cycle workbook with the names replaced, results.xlsx and the learning log rebuilt).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.demo import run_demo
from pipeline.workspace import shipped_templates_dir

SHARED = Path(os.environ.get("CASE_AUDIT_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))
VALIDATOR = SHARED / "tools" / "ooxml-validate" / "validate.py"

pytestmark = pytest.mark.skipif(not VALIDATOR.is_file(), reason=f"the OOXML validator is not at {VALIDATOR}")


def validate(paths: list[Path]) -> str:
    """The validator's findings; empty when every file is valid."""
    done = subprocess.run([sys.executable, str(VALIDATOR), *map(str, paths)], capture_output=True, text=True,
                          timeout=600)
    if done.returncode == 0 and " 0 errors" in done.stdout:
        return ""
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("valid") / "demo"
    run_demo(root)
    runner = CliRunner()
    result = runner.invoke(cli, ["status", "--xlsx", "--chase", "-w", str(root)])
    assert result.exit_code in (0, 1), result.output
    result = runner.invoke(cli, ["generate-forms", "--per-kloe", "--agency", "POLICE", "--case", "N-01",
                                 "--reissue", "-w", str(root)])
    assert result.exit_code in (0, 1), result.output
    return root


def test_the_shipped_templates_are_valid():
    templates = shipped_templates_dir()
    files = sorted([*templates.glob("word/*.docx"), *templates.glob("excel/*.xlsx")])
    assert files
    assert validate(files) == ""


def test_forms_the_tool_issues_are_valid(demo: Path):
    forms = sorted(p for p in (demo / "outbox" / "forms").rglob("*.docx") if "superseded" not in p.parts)
    kinds = {("summary" if "summary" in p.stem else "per-KLOE" if "_K" in p.stem else "audit") for p in forms}
    assert kinds == {"audit", "summary", "per-KLOE"}, sorted(p.name for p in forms)
    assert validate(forms) == ""


def test_the_report_and_workbooks_the_tool_writes_are_valid(demo: Path, tmp_path: Path):
    outbox = demo / "outbox"
    files = [*sorted((outbox / "report").glob("*.docx")), outbox / "results.xlsx", outbox / "learning-log.xlsx",
             outbox / "status.xlsx"]
    assert all(p.is_file() for p in files), [str(p) for p in files if not p.is_file()]
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "new")])
    assert result.exit_code == 0, result.output
    files.append(tmp_path / "new" / "cycle.xlsx")
    assert validate(files) == ""


def test_action_progress_forms_are_valid_issued_and_filled(demo: Path, tmp_path: Path):
    """Issue 13: `generate-forms --actions` forms, as issued and as an agency fills them in."""
    from pipeline.ooxml.controls import fill_controls

    result = CliRunner().invoke(cli, ["generate-forms", "--actions", "-w", str(demo)])
    assert result.exit_code in (0, 1), result.output
    forms = sorted((demo / "outbox" / "forms").rglob("*_actions.docx"))
    assert len(forms) == 9, [p.name for p in forms]
    police = next(p for p in forms if p.name == "POLICE_actions.docx")
    filled = tmp_path / "POLICE_actions_filled.docx"
    filled.write_bytes(fill_controls(police.read_bytes(), {
        "ca:action-status:POLICE-1": "Complete", "ca:action-progress:POLICE-1": "Done & dusted <fully>",
        "ca:action-evidence:POLICE-1": "Consent recorded in 9 of 10 referrals"}))
    assert validate([*forms, filled]) == ""


def test_a_second_rounds_workbook_report_and_trend_are_valid(demo: Path, tmp_path: Path):
    """init --from's carried cycle.xlsx, the report with its comparison section, and trend.xlsx (issue 12)."""
    from pipeline.demo_rounds import run_second_round
    from pipeline.workspace import Workspace

    ws, _, outputs = run_second_round(Workspace(demo), tmp_path / "round-2", lambda _msg: None)
    files = [ws.cycle_path, *sorted((ws.outbox / "report").glob("*.docx")), ws.outbox / "trend.xlsx"]
    assert all(p.is_file() for p in files), [str(p) for p in files if not p.is_file()]
    assert validate(files) == ""
def test_the_moderation_workbook_is_valid(demo: Path):
    """moderation.xlsx with the panel's decisions typed in (the demo's simulated ones), as `moderate` rewrites it."""
    from pipeline.moderation import simulate_moderation
    from pipeline.workbook import load_cycle
    from pipeline.workspace import Workspace

    ws = Workspace(demo)
    path = simulate_moderation(ws, load_cycle(ws.cycle_path))
    result = CliRunner().invoke(cli, ["moderate", "-w", str(demo)])
    assert result.exit_code == 0, result.output
    assert validate([path]) == ""
def test_what_closing_a_round_writes_is_valid(demo: Path, tmp_path: Path):
    closed = tmp_path / "closed"
    shutil.copytree(demo, closed)
    result = CliRunner().invoke(cli, ["close", "--confirm", "--force", "--now", "validating", "-w", str(closed)])
    assert result.exit_code == 0, result.output
    files = [closed / "outbox" / "closure-record.xlsx", closed / "cycle.xlsx", closed / "outbox" / "results.xlsx",
             closed / "outbox" / "learning-log.xlsx"]
    assert all(p.is_file() for p in files), [str(p) for p in files if not p.is_file()]
    assert validate(files) == ""
