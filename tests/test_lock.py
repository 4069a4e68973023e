"""The workspace lock: every command that reads or writes the store takes it, and one that waits says so at once."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.problems import CaseAuditError
from pipeline.workspace import Workspace, init_workspace

from test_crashes import ROOT, run


# --- the workspace lock ------------------------------------------------------------------------------------------

HOLDER = textwrap.dedent("""
    import sys, time
    from pipeline.workspace import Workspace
    ws = Workspace(sys.argv[1])
    ws.command = "ingest"
    with ws.lock():
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
""")


def _hold_lock(ws: Workspace, seconds: float) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(ws.root), str(seconds)], env=env,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


class Waited(Exception):
    pass


def test_build_report_waits_for_the_workspace_lock(tmp_path, example_cycle):
    from pipeline.report import build_report

    ws = init_workspace(tmp_path / "ws", example=True)
    assert run("generate-forms", "-w", str(ws.root)).exit_code == 0
    holder = _hold_lock(ws, 30)
    try:
        told = []

        def on_wait(who):
            told.append(who)
            raise Waited  # we have seen it ask for the lock; no need to wait out the holder

        builder = Workspace(ws.root)
        builder.on_wait = on_wait
        with pytest.raises(Waited):
            build_report(builder, example_cycle)
    finally:
        holder.kill()
        holder.wait()
    assert told and told[0].startswith("another case-audit command (ingest, started ")
    assert not ws.report_dir.exists() or not list(ws.report_dir.glob("*.docx"))


@pytest.mark.parametrize("command", ["status", "build-report"])
def test_a_command_that_must_wait_says_at_once_what_it_waits_for(tmp_path, command):
    ws = init_workspace(tmp_path / "ws", example=True)
    assert run("generate-forms", "-w", str(ws.root)).exit_code == 0
    holder = _hold_lock(ws, 2)
    try:
        started = time.monotonic()
        result = CliRunner().invoke(cli, [command, "-w", str(ws.root)])
        waited = time.monotonic() - started
    finally:
        holder.wait()
    assert "Waiting for another case-audit command (ingest, started " in result.output
    assert f"process {holder.pid}) to finish in this workspace..." in result.output
    assert waited > 0.5 and result.exit_code in (0, 1), result.output
    assert "Internal error" not in result.output


def test_a_command_that_cannot_wait_any_longer_names_what_holds_the_workspace(tmp_path):
    ws = init_workspace(tmp_path / "ws", example=True)
    holder = _hold_lock(ws, 30)
    try:
        with pytest.raises(CaseAuditError) as busy:
            with Workspace(ws.root).lock(timeout=0.2):
                pass
    finally:
        holder.kill()
        holder.wait()
    assert busy.value.report.problems[0].code == "workspace.busy"
    assert "(ingest, started" in busy.value.summary
