"""The workspace: init never clobbers, templates ship with the package, writes are all-or-nothing."""


import pytest
from click.testing import CliRunner

import pipeline
from pipeline.cli import cli
from pipeline.problems import CaseAuditError
from pipeline.workspace import Workspace, atomic_write_bytes, init_workspace, shipped_templates_dir, unique_path

NEEDED_TEMPLATES = [
    "excel/cycle.xlsx",
    "excel/example-cycle.xlsx",
    "word/audit-form.docx",
    "word/agency-summary.docx",
    "word/overview-report.docx",
]


@pytest.mark.parametrize("name", NEEDED_TEMPLATES)
def test_every_default_template_is_found_where_the_package_is_installed(name):
    # Under CI the package is pip-installed (not editable), so this proves the wheel carries them.
    found = shipped_templates_dir() / name
    assert found.is_file(), f"{name} is not shipped with {pipeline.__file__}"
    assert found.stat().st_size > 1000


def test_init_creates_the_workspace_folders_and_a_cycle_workbook(tmp_path):
    ws = init_workspace(tmp_path / "audit-2026")
    assert ws.cycle_path.is_file()
    assert ws.inbox.is_dir() and ws.outbox.is_dir() and ws.state_dir.is_dir()
    assert ws.cycle_path.read_bytes() == (shipped_templates_dir() / "excel/cycle.xlsx").read_bytes()


def test_init_example_uses_the_example_workbook(tmp_path):
    ws = init_workspace(tmp_path / "demo", example=True)
    assert ws.cycle_path.read_bytes() == (shipped_templates_dir() / "excel/example-cycle.xlsx").read_bytes()


def test_init_refuses_a_folder_with_files_and_leaves_them_alone(tmp_path):
    folder = tmp_path / "busy"
    folder.mkdir()
    (folder / "notes.docx").write_bytes(b"mine")
    with pytest.raises(CaseAuditError) as err:
        init_workspace(folder)
    assert err.value.report.problems[0].code == "init.not-empty"
    assert (folder / "notes.docx").read_bytes() == b"mine"
    assert not (folder / "cycle.xlsx").exists()


def test_init_force_keeps_an_existing_cycle_workbook(tmp_path):
    folder = tmp_path / "again"
    folder.mkdir()
    (folder / "cycle.xlsx").write_bytes(b"the officer's edits")
    init_workspace(folder, force=True)
    assert (folder / "cycle.xlsx").read_bytes() == b"the officer's edits"
    assert (folder / "inbox").is_dir()


def test_cli_init_refusal_is_a_message_and_exit_code_2_not_a_traceback(tmp_path):
    folder = tmp_path / "busy"
    folder.mkdir()
    (folder / "x.txt").write_text("x")
    result = CliRunner().invoke(cli, ["init", str(folder)])
    assert result.exit_code == 2
    assert "not empty" in result.output
    assert "Traceback" not in result.output


def test_workspace_templates_override_the_shipped_ones(tmp_path):
    ws = init_workspace(tmp_path / "ws")
    assert ws.template("word", "audit-form.docx") == shipped_templates_dir() / "word/audit-form.docx"
    own = ws.templates_dir / "word" / "audit-form.docx"
    own.parent.mkdir(parents=True)
    own.write_bytes(b"custom")
    assert ws.template("word", "audit-form.docx") == own


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "out" / "results.xlsx"
    atomic_write_bytes(target, b"one")
    atomic_write_bytes(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in target.parent.iterdir()] == ["results.xlsx"]


def test_unique_path_never_returns_an_existing_file(tmp_path):
    first = tmp_path / "overview-report.docx"
    first.write_bytes(b"edited by comms")
    second = unique_path(first)
    assert second != first and not second.exists()
    assert second.name == "overview-report (2).docx"


def test_the_workspace_lock_refuses_a_second_holder(tmp_path):
    ws = Workspace(tmp_path)
    with ws.lock():
        with pytest.raises(CaseAuditError) as err:
            with Workspace(tmp_path).lock(timeout=0.1):
                pass
    assert err.value.report.problems[0].code == "workspace.busy"


def test_atomic_writes_are_readable_by_colleagues_like_any_saved_file(tmp_path):
    import os
    import stat

    target = tmp_path / "report.docx"
    atomic_write_bytes(target, b"x")
    plain = tmp_path / "plain.docx"
    plain.write_bytes(b"x")
    assert stat.S_IMODE(os.stat(target).st_mode) == stat.S_IMODE(os.stat(plain).st_mode)
