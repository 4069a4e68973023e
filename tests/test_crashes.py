"""Crashes and temporary files, against real workspaces and real generated forms.

A kill is a real one: the command runs in a child process (the `case-audit`
command line itself) and calls os._exit at a chosen point, so no clean-up
code runs, exactly as when the laptop is switched off. The re-run then goes
through the command line as the officer would type it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.forms import BATCH_SIZE, PROP_FORM_ID
from pipeline.ooxml.package import open_package
from pipeline.ooxml.properties import read_custom_properties
from pipeline.store import Store
from pipeline.workspace import Workspace, init_workspace

from test_returns import complete_answers, issue_forms

ROOT = Path(__file__).resolve().parents[1]
FORMS_IN_EXAMPLE = 51  # 41 audit forms + 10 summary forms

# Runs `case-audit ARGS...` in a child process that dies (os._exit, no clean-up) at the named point.
KILLED_COMMAND = textwrap.dedent("""
    import os, sys
    from pipeline import cli, closing, forms, ingest, store

    where, at = sys.argv[1], int(sys.argv[2])
    calls = [0]

    def dies(original):
        def wrapper(*args, **kwargs):
            calls[0] += 1
            if calls[0] >= at:
                os._exit(137)
            return original(*args, **kwargs)
        return wrapper

    if where == "before-register":      # forms written, the register transaction not yet made
        store.Store.record_issued_form = dies(store.Store.record_issued_form)
    elif where == "before-moves":        # register committed, old forms not yet moved aside
        forms._move_aside = dies(forms._move_aside)
    elif where == "mid-file":            # a file written but not yet renamed into place
        os.fsync = dies(os.fsync)
    elif where == "before-feedback-record":
        store.Store.mark_feedback = dies(store.Store.mark_feedback)
    elif where == "after-feedback-record":
        store.Store.mark_feedback = (lambda original: lambda *a, **k: (original(*a, **k), os._exit(137)))(
            store.Store.mark_feedback)
    elif where == "removing-files":      # close: the store scrubbed, outputs rebuilt, some files removed
        closing.remove_file = dies(closing.remove_file)
    elif where == "scrubbing-the-store": # close: the journal written, the store's scrub not yet committed
        store.Store._scrub_table = dies(store.Store._scrub_table)
    elif where == "replacing-cycle":     # close: every file removed, cycle.xlsx not yet replaced
        closing.replace_or_explain = dies(closing.replace_or_explain)
    elif where == "marking-closed":      # close: everything done but the closure marked
        store.Store.finish_closure = dies(store.Store.finish_closure)
    sys.argv = ["case-audit", *sys.argv[3:]]
    cli.main()
""")


def killed(ws: Workspace, where: str, *args: str, at: int = 1) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-c", KILLED_COMMAND, where, str(at), *args, "-w", str(ws.root)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 137, done.stdout + done.stderr


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def form_id_of(path: Path) -> str:
    return read_custom_properties(open_package(path.read_bytes())).get(PROP_FORM_ID, "")


def assert_one_current_form_each(ws: Workspace, expected: int = FORMS_IN_EXAMPLE) -> dict[str, str]:
    """Register, folders and status agree: one current form per agency x case (x KLOE), nothing else to email."""
    with Store.open(ws.store_path) as store:
        current = store.issued_forms(current_only=True)
    slots = Counter((f.identity.agency, f.identity.kind, f.identity.case_ref, k)
                    for f in current for k in (f.identity.kloes or (None,)))
    assert len(current) == expected and set(slots.values()) == {1}, slots.most_common(3)
    emailed = {ws.relative(p): p for p in ws.forms_dir.glob("*/*") if p.is_file()}  # agency folders, hidden files too
    assert sorted(emailed) == sorted(f.path for f in current)
    assert {rel: form_id_of(p) for rel, p in emailed.items()} == {f.path: f.identity.form_id for f in current}
    status = json.loads(run("--json", "status", "-w", str(ws.root)).output)
    assert status["totals"]["issued"] == expected
    assert status["totals"]["outstanding"] == expected
    return {f.path: f.identity.form_id for f in current}


# --- generate-forms killed --------------------------------------------------------------------------------------


def test_a_reissue_killed_before_the_register_is_written_leaves_exactly_the_old_forms(tmp_path):
    ws = init_workspace(tmp_path / "ws", example=True)
    assert run("generate-forms", "-w", str(ws.root)).exit_code == 0
    before = assert_one_current_form_each(ws)

    killed(ws, "before-register", "generate-forms", "--reissue")
    again = run("generate-forms", "-w", str(ws.root))

    assert again.exit_code == 0, again.output
    assert assert_one_current_form_each(ws) == before  # the reissue never happened: the old forms stand
    assert "Nothing new to write" in again.output
    assert not list(ws.forms_dir.rglob("*_v2.docx"))
    report = run("build-report", "-w", str(ws.root))
    assert f"{FORMS_IN_EXAMPLE} of {FORMS_IN_EXAMPLE} issued forms have not come back yet" in report.output


def test_a_per_kloe_reissue_killed_before_the_register_is_written_leaves_one_form_per_kloe(tmp_path):
    ws = init_workspace(tmp_path / "ws", example=True)
    assert run("generate-forms", "--per-kloe", "-w", str(ws.root)).exit_code == 0
    with Store.open(ws.store_path) as store:
        count = len(store.issued_forms())
    before = assert_one_current_form_each(ws, count)

    killed(ws, "before-register", "generate-forms", "--per-kloe", "--reissue")
    again = run("generate-forms", "--per-kloe", "-w", str(ws.root))

    assert again.exit_code == 0, again.output
    assert assert_one_current_form_each(ws, count) == before


def test_a_reissue_killed_after_the_register_is_written_is_finished_by_the_next_run(tmp_path):
    ws = init_workspace(tmp_path / "ws", example=True)
    assert run("generate-forms", "-w", str(ws.root)).exit_code == 0
    before = assert_one_current_form_each(ws)

    killed(ws, "before-moves", "generate-forms", "--reissue")
    again = run("generate-forms", "-w", str(ws.root))

    assert again.exit_code == 0, again.output
    after = assert_one_current_form_each(ws)
    # The first batch of 50 was committed before the kill: those are replaced; the one form the kill never
    # reached keeps its old form (run --reissue again to replace it too).
    assert len(set(after.values()) - set(before.values())) == BATCH_SIZE
    superseded = {form_id_of(p) for p in ws.forms_dir.glob("*/superseded/*.docx")}
    assert superseded == set(before.values()) - set(after.values())  # every replaced form moved aside
    with Store.open(ws.store_path) as store:
        assert all((ws.root / f.path).is_file() for f in store.issued_forms())


def test_generate_forms_killed_mid_file_leaves_no_temporary_file_in_an_agency_folder(tmp_path):
    ws = init_workspace(tmp_path / "ws", example=True)
    killed(ws, "mid-file", "generate-forms", at=10)  # nine forms written whole, the tenth half-way
    leftovers = [p for p in ws.root.rglob(".~tmp-*") if ws.state_dir not in p.parents]
    assert leftovers == []  # nothing the officer could email, even before the next run

    again = run("generate-forms", "-w", str(ws.root))

    assert again.exit_code == 0, again.output
    assert assert_one_current_form_each(ws)
    assert not list((ws.state_dir / "tmp").iterdir())


def test_a_temporary_file_an_older_version_left_in_an_agency_folder_is_removed_and_reported(tmp_path):
    ws = init_workspace(tmp_path / "ws", example=True)
    assert run("generate-forms", "-w", str(ws.root)).exit_code == 0
    stray = ws.forms_dir / "POLICE" / ".~tmp-k2j3h4.docx"
    stray.write_bytes((ws.forms_dir / "POLICE" / "POLICE_N-01.docx").read_bytes())

    again = run("generate-forms", "-w", str(ws.root))

    assert not stray.exists()
    assert "outbox/forms/POLICE/.~tmp-k2j3h4.docx was a temporary file left by an earlier run" in again.output
    assert_one_current_form_each(ws)


def test_a_form_an_older_version_wrote_but_never_recorded_beside_a_current_one_is_not_adopted(tmp_path):
    # What the old code left after a reissue killed before the register: X.docx (current) and X_v2.docx (never recorded).
    ws = init_workspace(tmp_path / "ws", example=True)
    assert run("generate-forms", "-w", str(ws.root)).exit_code == 0
    before = assert_one_current_form_each(ws)
    register = ws.store_path.read_bytes()
    assert run("generate-forms", "--reissue", "--agency", "POLICE", "--case", "N-01", "-w", str(ws.root)).exit_code == 0
    ws.store_path.write_bytes(register)  # as if the register had never been written
    (ws.forms_dir / "POLICE" / "superseded" / "POLICE_N-01.docx").rename(ws.forms_dir / "POLICE" / "POLICE_N-01.docx")
    orphan = ws.forms_dir / "POLICE" / "POLICE_N-01_v2.docx"
    assert orphan.is_file() and form_id_of(orphan) not in before.values()

    again = run("generate-forms", "-w", str(ws.root))

    assert not orphan.exists()
    assert (ws.state_dir / "unissued" / "POLICE" / orphan.name).is_file()
    assert "POLICE_N-01_v2.docx was moved to .case-audit/unissued/POLICE/POLICE_N-01_v2.docx" in again.output
    assert assert_one_current_form_each(ws) == before


def test_a_second_current_form_an_older_version_adopted_after_a_killed_reissue_is_retired(tmp_path, example_cycle):
    from pipeline import forms

    ws = init_workspace(tmp_path / "ws", example=True)
    assert run("generate-forms", "-w", str(ws.root)).exit_code == 0
    before = assert_one_current_form_each(ws)
    register = ws.store_path.read_bytes()
    assert run("generate-forms", "--reissue", "--agency", "POLICE", "--case", "N-01", "-w", str(ws.root)).exit_code == 0
    ws.store_path.write_bytes(register)
    (ws.forms_dir / "POLICE" / "superseded" / "POLICE_N-01.docx").rename(ws.forms_dir / "POLICE" / "POLICE_N-01.docx")
    twin = ws.forms_dir / "POLICE" / "POLICE_N-01_v2.docx"
    with Store.open(ws.store_path) as store:  # what an older version's next plain run did: adopt it as well
        adopted = forms._adopt(twin, ws.relative(twin), example_cycle, example_cycle.settings.cycle_id, "POLICE",
                               set(before.values()))
        with store.transaction() as conn:
            store.record_issued_form(adopted, conn)
    assert json.loads(run("--json", "status", "-w", str(ws.root)).output)["totals"]["issued"] == FORMS_IN_EXAMPLE + 1

    again = run("generate-forms", "-w", str(ws.root))

    assert again.exit_code == 0, again.output
    assert assert_one_current_form_each(ws) == before
    assert form_id_of(ws.forms_dir / "POLICE" / "superseded" / twin.name) == adopted.identity.form_id
    assert "outbox/forms/POLICE/POLICE_N-01.docx is the one that counts" in again.output


# --- ingest killed: archive copies and feedback notes -------------------------------------------------------------


def _incomplete_return_in_inbox(tmp_path, example_cycle, more: int = 0):
    """POLICE's N-01 return, incomplete (feedback due), and `more` complete returns from other agencies."""
    issued = issue_forms(tmp_path / "ws", example_cycle)
    values = complete_answers(example_cycle, S3=("Not met", "", ""))  # no evidence: incomplete, feedback due
    (issued.ws.inbox / "POLICE_N-01.docx").write_bytes(issued.filled("POLICE", "N-01", values))
    others = [(a, c.ref) for c in example_cycle.cases for a in c.agencies if a != "POLICE"][:more]
    for n, (agency, ref) in enumerate(others):
        path = issued.ws.inbox / f"{agency}_{ref}.docx"
        path.write_bytes(issued.filled(agency, ref))
        os.utime(path, (time.time() + n + 1, time.time() + n + 1))  # read in a known order
    return issued.ws


def test_an_ingest_killed_while_archiving_leaves_no_orphan_copy_after_the_next_run(tmp_path, example_cycle):
    ws = _incomplete_return_in_inbox(tmp_path, example_cycle)
    killed(ws, "mid-file", "ingest")
    assert list(ws.archive_dir.glob(".~incoming-*"))  # the half-done copy the kill left

    again = run("ingest", "-w", str(ws.root))

    assert "accepted with problems" in again.output
    assert not list(ws.archive_dir.glob(".~incoming-*"))
    assert len(list(ws.archive_dir.iterdir())) == 1


@pytest.mark.parametrize("where", ["before-feedback-record", "after-feedback-record"])
def test_a_kill_while_writing_feedback_gives_one_note_not_two(tmp_path, example_cycle, where):
    ws = _incomplete_return_in_inbox(tmp_path, example_cycle)
    killed(ws, where, "ingest")

    again = run("ingest", "-w", str(ws.root))

    notes = list((ws.feedback_dir / "POLICE").glob("*.txt"))
    assert len(notes) == 1, again.output
    assert "POLICE_N-01.docx" in notes[0].read_text(encoding="utf-8-sig")
    with Store.open(ws.store_path) as store:
        assert store.feedback_files() == {ws.relative(notes[0])}
    assert run("ingest", "-w", str(ws.root)).output.count("Feedback to forward") == 0
