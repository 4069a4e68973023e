"""Issue 12: an audit programme. Rounds carried forward (init --from), subset rounds, comparison with the
previous round in the report, the trend across rounds."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pytest

from pipeline import workbook
from pipeline.models import wording_fingerprint
from pipeline.workbook import load_cycle, read_cycle
from pipeline.workspace import init_workspace


def _edit(path: Path, edit) -> None:
    wb = openpyxl.load_workbook(path)
    edit(wb)
    wb.save(path)


def _column(ws, heading: str) -> int:
    for cell in ws[1]:
        if cell.value and str(cell.value).startswith(heading):
            return cell.column
    raise KeyError(heading)


def mark_out(wb, kloes=(), standards=()) -> None:
    """Put No in the 'In this round' column for these KLOEs and standards."""
    for sheet, numbers in ((workbook.KLOES, kloes), (workbook.STANDARDS, standards)):
        ws = wb[sheet]
        col = _column(ws, "In this round")
        for row in ws.iter_rows(min_row=2):
            if row[0].value in numbers:
                ws.cell(row[0].row, col, "No")


def set_setting(wb, name: str, value) -> None:
    ws = wb[workbook.SETTINGS]
    for row in ws.iter_rows(min_row=2):
        if row[0].value == name:
            row[1].value = value
            return
    ws.append([name, value])


# --- step 1: the cycle workbook knows rounds -------------------------------------------------------------


def test_the_shipped_workbooks_have_every_standard_in_the_round(example_cycle):
    assert len(example_cycle.standards) == 22 and len(example_cycle.kloes) == 5
    assert all(s.in_round for s in example_cycle.standards)
    assert example_cycle.settings.round_name == "" and example_cycle.settings.previous_round == ""


def test_a_round_leaves_out_the_kloes_and_standards_marked_no(tmp_workspace):
    _edit(tmp_workspace.cycle_path, lambda wb: (mark_out(wb, kloes=(5,), standards=(2, 3)),
                                                set_setting(wb, "Round name", "Neglect round"),
                                                set_setting(wb, "Theme", "Neglect")))
    whole = read_cycle(tmp_workspace.cycle_path)
    assert whole.report.ok, list(whole.report)
    assert len(whole.cycle.standards) == 22  # the whole toolkit is still read (init --from carries it)
    cycle = load_cycle(tmp_workspace.cycle_path)
    numbers = [s.number for s in cycle.standards]
    assert 2 not in numbers and 3 not in numbers and 1 in numbers
    assert [k.number for k in cycle.kloes] == [1, 2, 3, 4]
    assert not any(s.kloe == 5 for s in cycle.standards)
    assert cycle.settings.round_name == "Neglect round" and cycle.settings.theme == "Neglect"
    assert workbook.summarise(whole.cycle).total_standards == len(cycle.standards)


def test_nothing_in_the_round_is_an_error(tmp_workspace):
    _edit(tmp_workspace.cycle_path, lambda wb: mark_out(wb, kloes=(1, 2, 3, 4, 5)))
    result = read_cycle(tmp_workspace.cycle_path)
    assert "workbook.nothing-in-round" in [p.code for p in result.report.errors]


def test_an_old_workbook_without_the_round_columns_still_loads_with_everything_in(tmp_workspace):
    def strip(wb):
        for sheet in (workbook.KLOES, workbook.STANDARDS):
            ws = wb[sheet]
            ws.delete_cols(_column(ws, "In this round"))
        ws = wb[workbook.SETTINGS]
        for row in reversed(list(ws.iter_rows(min_row=2))):
            if row[0].value in ("Round name", "Theme", "Previous round"):
                ws.delete_rows(row[0].row)
    _edit(tmp_workspace.cycle_path, strip)
    result = read_cycle(tmp_workspace.cycle_path)
    assert result.report.ok, list(result.report)
    assert len(load_cycle(tmp_workspace.cycle_path).standards) == 22


def test_a_standards_identity_is_its_number_and_wording_spacing_ignored(example_cycle):
    s = example_cycle.standard(1)
    spaced = s.model_copy(update={"text": "  The right   agencies\nare involved "})
    reworded = s.model_copy(update={"text": "The right agencies were involved"})
    assert spaced.identity == s.identity
    assert reworded.identity != s.identity
    assert s.identity == f"1:{wording_fingerprint(s.text)}"


# --- step 2: init --from ---------------------------------------------------------------------------------

from click.testing import CliRunner  # noqa: E402

from pipeline.child_names import find_name, terms_for  # noqa: E402
from pipeline.cli import cli  # noqa: E402
from pipeline.ooxml.package import read_parts  # noqa: E402
from pipeline.rounds import start_round  # noqa: E402


@pytest.fixture(scope="module")
def round_one(tmp_path_factory):
    """The demo's 2015-16 round, run once: forms issued, simulated returns ingested, report built."""
    from pipeline.demo import run_demo

    return run_demo(tmp_path_factory.mktemp("programme") / "audit-2015-16").workspace


def _texts(path: Path) -> str:
    data = path.read_bytes()
    if data[:2] == b"PK":
        import html
        import re
        return "\n".join(html.unescape(re.sub(r"<[^>]+>", " ", part.decode("utf-8", "replace")))
                         for part in read_parts(data).values())
    return data.decode("utf-8", "replace")


def test_init_from_carries_the_toolkit_agencies_and_open_actions_and_no_child(round_one, tmp_path):
    old = read_cycle(round_one.cycle_path).cycle
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "audit-2016-17"), "--from", str(round_one.root)])
    assert result.exit_code == 0, result.output
    assert "Carried from" in result.output and "fill in" in result.output and "cases" in result.output
    new = read_cycle(tmp_path / "audit-2016-17" / "cycle.xlsx")
    assert [p.code for p in new.report.errors] == ["workbook.no-cases"]
    cycle = new.cycle
    assert cycle.cases == ()
    assert [s.identity for s in cycle.standards] == [s.identity for s in old.standards]
    assert [(k.number, k.question) for k in cycle.kloes] == [(k.number, k.question) for k in old.kloes]
    assert cycle.priority_areas == old.priority_areas and cycle.agencies == old.agencies
    assert cycle.rating_scale == old.rating_scale
    assert cycle.settings.counting_rule is old.settings.counting_rule
    assert cycle.settings.cycle_id == "2016-17" and cycle.settings.return_deadline is None
    assert not Path(cycle.settings.previous_round).is_absolute()
    assert (tmp_path / "audit-2016-17" / cycle.settings.previous_round).resolve() == round_one.root
    assert cycle.attendance == () and cycle.group_work == ()
    assert [la.learning_point for la in cycle.learning_actions] == [la.learning_point for la in old.learning_actions]
    assert len(cycle.agency_actions) == len([a for a in old.agency_actions if not a.completed]) > 0
    # nothing else: no forms, returns, feedback, report or store records were copied
    files = [p for p in (tmp_path / "audit-2016-17").rglob("*") if p.is_file()]
    assert [p.name for p in files] == ["cycle.xlsx"]
    terms = terms_for(old)
    for path in files:
        assert find_name(_texts(path), terms) is None, path


def test_a_learning_action_completed_in_the_log_is_not_carried(round_one, tmp_path):
    import shutil as _sh
    old_copy = tmp_path / "old"
    _sh.copytree(round_one.root, old_copy)
    log = old_copy / "outbox" / "learning-log.xlsx"
    wb = openpyxl.load_workbook(log)
    ws = wb.active
    titles = [c.value for c in ws[1]]
    lesson_col, done_col = titles.index("Lesson") + 1, titles.index("Completed") + 1
    first = ws.cell(2, lesson_col).value
    for r in range(2, ws.max_row + 1):
        if ws.cell(r, lesson_col).value == first:
            ws.cell(r, done_col, "Yes")
    wb.save(log)
    start_round(tmp_path / "new", old_copy)
    carried = read_cycle(tmp_path / "new" / "cycle.xlsx").cycle
    old = read_cycle(old_copy / "cycle.xlsx").cycle
    assert len(carried.learning_actions) == len(old.learning_actions) - 1
    assert first.split(". ", 1)[1] not in [la.learning_point for la in carried.learning_actions]


def test_init_from_a_folder_that_is_not_a_round_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "new"), "--from", str(tmp_path / "empty")])
    assert result.exit_code == 2 and "not an audit workspace" in result.output
    assert not (tmp_path / "new" / "cycle.xlsx").exists()
