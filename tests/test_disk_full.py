"""A full disk, a read-only folder, a file open in Excel: the officer's environment, said plainly, never a fault.

Each gives exit 1 and a message that says what happened, that nothing
already recorded was lost, and what to do; running the same command again
afterwards gives what a clean run would have.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

import pipeline.store
from pipeline.cli import cli
from pipeline.store import Store
from pipeline.workspace import Workspace, init_workspace

from test_crashes import FORMS_IN_EXAMPLE, _incomplete_return_in_inbox, assert_one_current_form_each, run


# --- a full disk, a read-only folder, a file open in Excel ---------------------------------------------------------


def _sqlite_disk_full(monkeypatch, spare_pages: int = 0):
    """The store's disk fills up: SQLite itself answers SQLITE_FULL once the file would grow (a real disk-full path)."""
    real_connect = sqlite3.connect

    def connect(*args, **kwargs):
        conn = real_connect(*args, **kwargs)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {max(pages, 1) + spare_pages}")
        return conn

    monkeypatch.setattr(pipeline.store.sqlite3, "connect", connect)


def assert_plain_disk_full(result) -> None:
    assert result.exit_code == 1, result.output
    assert "The disk is full" in result.output
    assert "Nothing already recorded was lost" in result.output
    assert "Free some space" in result.output and "run the same command again" in result.output
    for wrong in ("Internal error", "fault in case-audit", "backup", "Traceback", "cannot rollback"):
        assert wrong not in result.output


def test_ingest_on_a_full_disk_says_so_and_a_rerun_after_freeing_space_equals_a_clean_run(tmp_path, example_cycle,
                                                                                       monkeypatch):
    from test_ingest import feedback_mentions, records, tree

    ws = _incomplete_return_in_inbox(tmp_path, example_cycle, more=8)
    clean = Workspace(tmp_path / "clean")
    shutil.copytree(ws.root, clean.root)
    assert run("ingest", "-w", str(clean.root)).exit_code == 1  # incomplete return: attention

    with monkeypatch.context() as m:
        _sqlite_disk_full(m)
        full = CliRunner().invoke(cli, ["ingest", "-w", str(ws.root)])
    assert_plain_disk_full(full)
    assert list(ws.inbox.glob("*.docx"))  # the files not recorded wait in the inbox

    again = run("ingest", "-w", str(ws.root))
    assert "The disk is full" not in again.output and "Internal error" not in again.output
    assert records(ws) == records(clean)
    assert feedback_mentions(ws) == feedback_mentions(clean)
    assert tree(ws.inbox) == tree(clean.inbox)
    assert tree(ws.archive_dir) == tree(clean.archive_dir)


def test_generate_forms_on_a_new_workspace_with_a_full_disk_never_says_restore_from_backup(tmp_path, monkeypatch):
    ws = init_workspace(tmp_path / "ws", example=True)
    with monkeypatch.context() as m:
        _sqlite_disk_full(m)
        full = CliRunner().invoke(cli, ["generate-forms", "-w", str(ws.root)])
    assert_plain_disk_full(full)

    again = run("generate-forms", "-w", str(ws.root))
    assert again.exit_code == 0, again.output
    assert f"{FORMS_IN_EXAMPLE} form(s) written" in again.output
    assert_one_current_form_each(ws)


def test_generate_forms_when_the_disk_fills_mid_run_keeps_what_it_recorded_and_finishes_on_the_rerun(tmp_path,
                                                                                                monkeypatch):
    ws = init_workspace(tmp_path / "ws", example=True)
    real_fsync, calls = os.fsync, [0]

    def fsync(fd):
        calls[0] += 1
        if calls[0] > 20:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    with monkeypatch.context() as m:
        m.setattr(os, "fsync", fsync)
        full = CliRunner().invoke(cli, ["generate-forms", "-w", str(ws.root)])
    assert_plain_disk_full(full)
    with Store.open(ws.store_path) as store:
        kept = {f.path for f in store.issued_forms()}
    assert len(kept) == 20 and all((ws.root / p).is_file() for p in kept)  # what was written is recorded and in place

    again = run("generate-forms", "-w", str(ws.root))
    assert again.exit_code == 0, again.output
    assert f"{FORMS_IN_EXAMPLE - 20} form(s) written" in again.output
    assert_one_current_form_each(ws)


def test_a_store_in_a_read_only_folder_is_said_as_such(tmp_path, monkeypatch):
    ws = init_workspace(tmp_path / "ws", example=True)
    assert run("generate-forms", "-w", str(ws.root)).exit_code == 0
    real_connect = sqlite3.connect
    monkeypatch.setattr(pipeline.store.sqlite3, "connect",
                        lambda path, *a, **k: real_connect(f"file:{path}?mode=ro", *a, uri=True, **k))
    result = CliRunner().invoke(cli, ["generate-forms", "-w", str(ws.root), "--reissue"])
    assert result.exit_code == 1, result.output
    assert "read-only" in result.output and "Nothing already recorded was lost" in result.output
    assert "Internal error" not in result.output and "backup" not in result.output


def test_a_read_only_outbox_is_said_as_such(tmp_path, monkeypatch):
    import pipeline.workspace

    ws = init_workspace(tmp_path / "ws", example=True)

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(ws.state_dir / "tmp"))

    monkeypatch.setattr(pipeline.workspace.tempfile, "mkstemp", read_only)
    result = CliRunner().invoke(cli, ["generate-forms", "-w", str(ws.root)])
    assert result.exit_code == 1, result.output
    assert "read-only" in result.output and "run the same command again" in result.output
    assert "Internal error" not in result.output


def test_a_status_workbook_open_in_excel_is_a_plain_message_with_exit_1(tmp_path, monkeypatch):
    ws = init_workspace(tmp_path / "ws", example=True)
    assert run("generate-forms", "-w", str(ws.root)).exit_code == 0
    real_replace = os.replace

    def excel_has_it_open(src, dst, *args, **kwargs):
        if Path(dst).name == "status.xlsx":
            raise PermissionError(13, "The process cannot access the file because it is being used by another process")
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", excel_has_it_open)
    result = CliRunner().invoke(cli, ["status", "--xlsx", "-w", str(ws.root)])
    assert result.exit_code == 1, result.output
    assert "open in another program" in result.output and "Close the file" in result.output
    assert "Internal error" not in result.output
    assert not [p for p in ws.outbox.rglob(".~tmp-*")]


def test_a_damaged_store_is_still_said_to_need_restoring_but_only_a_damaged_one(tmp_path):
    ws = init_workspace(tmp_path / "ws", example=True)
    assert run("generate-forms", "-w", str(ws.root)).exit_code == 0
    ws.store_path.write_bytes(b"this is not an SQLite database at all, it was overwritten" * 100)
    result = CliRunner().invoke(cli, ["status", "-w", str(ws.root)])
    assert result.exit_code == 1, result.output
    assert "cannot be read" in result.output and "from your backup" in result.output
    assert "Internal error" not in result.output


def test_a_full_disk_under_json_is_a_problem_with_a_code_not_a_traceback(tmp_path, monkeypatch):
    ws = init_workspace(tmp_path / "ws", example=True)
    with monkeypatch.context() as m:
        _sqlite_disk_full(m)
        result = CliRunner().invoke(cli, ["--json", "generate-forms", "-w", str(ws.root)])
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["ok"] is False
    assert [p["code"] for p in payload["problems"]] == ["environment.disk-full"]
    assert "Free some space" in payload["problems"][0]["fix"]


# --- the archive copy, written on its own thread while the file is read (issue 11) ----------------------------------


def _failing_archive_fsync(monkeypatch, ws: Workspace, error: OSError, after: int = 0) -> None:
    """fsync fails for archive copies (after `after` of them), as a full or broken disk would make it."""
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("tells an archive copy's file descriptor by /proc/self/fd (Linux)")
    real_fsync, calls = os.fsync, [0]
    archive = str(ws.archive_dir)

    def fsync(fd):
        try:
            name = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            name = ""
        if name.startswith(archive) and ".~incoming-" in name:
            calls[0] += 1
            if calls[0] > after:
                raise error
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)


def test_a_disk_that_fills_while_a_return_is_archived_stops_ingest_and_records_nothing_unarchived(tmp_path,
                                                                                                 example_cycle,
                                                                                                 monkeypatch):
    ws = _incomplete_return_in_inbox(tmp_path, example_cycle, more=3)
    with monkeypatch.context() as m:
        _failing_archive_fsync(m, ws, OSError(errno.ENOSPC, "No space left on device"), after=2)
        full = CliRunner().invoke(cli, ["ingest", "-w", str(ws.root)])
    assert_plain_disk_full(full)
    with Store.open(ws.store_path) as store:
        recorded = {r.original_path for r in store.received_files()}
    assert len(recorded) == 2  # the two archived before the disk filled, and not the third
    assert all((ws.archive_dir / store_name).stat().st_size > 0 for store_name in os.listdir(ws.archive_dir)
               if not store_name.startswith("."))
    assert len(list(ws.inbox.glob("*.docx"))) == 2  # the rest wait in the inbox
    again = CliRunner().invoke(cli, ["ingest", "-w", str(ws.root)])
    assert again.exit_code in (0, 1), again.output
    with Store.open(ws.store_path) as store:
        assert len(store.received_files()) == 4


def test_an_archive_copy_that_cannot_be_written_leaves_that_return_in_the_inbox_unrecorded(tmp_path, example_cycle,
                                                                                           monkeypatch):
    ws = _incomplete_return_in_inbox(tmp_path, example_cycle, more=1)
    with monkeypatch.context() as m:
        _failing_archive_fsync(m, ws, OSError(errno.EIO, "Input/output error"))
        result = CliRunner().invoke(cli, ["ingest", "-w", str(ws.root)])
    assert "could not be read or archived (Input/output error); run ingest again" in result.output
    assert "Internal error" not in result.output
    with Store.open(ws.store_path) as store:
        assert store.received_files() == []
    assert len(list(ws.inbox.glob("*.docx"))) == 2 and not list(ws.archive_dir.glob(".~incoming-*"))
