"""The action tracker's data (issue 13): the new columns of the cycle workbook, Overdue derived from the due date,
open actions carried into the next round."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import openpyxl
import pytest

from pipeline import actions
from pipeline.models import ActionStatus
from pipeline.problems import Severity
from pipeline.workbook import AGENCY_ACTIONS, HEADERS, LEARNING_ACTIONS, load_cycle, read_cycle


def _column(ws, heading: str) -> int:
    for cell in ws[1]:
        if cell.value and str(cell.value).split(" (")[0] == heading:
            return cell.column
    raise KeyError(heading)


def edited(source: Path, tmp_path: Path, sheet: str, row: int, values: dict[str, object]) -> Path:
    """The workbook with cells of one row changed, by column heading (row 2 is the first data row)."""
    wb = openpyxl.load_workbook(source)
    ws = wb[sheet]
    for heading, value in values.items():
        ws.cell(row, _column(ws, heading), value)
    target = tmp_path / "cycle.xlsx"
    wb.save(target)
    return target


def test_the_shipped_example_has_an_id_owner_and_round_for_every_action(example_cycle):
    ids = [a.action_id for a in example_cycle.learning_actions] + [a.action_id for a in example_cycle.agency_actions]
    assert ids[:2] == ["L1", "L2"] and "POLICE-4" in ids and len(set(ids)) == len(ids) == 7 + 32
    police = [a for a in example_cycle.agency_actions if a.agency == "POLICE"]
    assert [a.owner for a in police] == ["POLICE"] * 4
    assert {a.round_raised for a in example_cycle.agency_actions} == {"2015-16"}


def test_the_tracker_columns_are_read(example_workbook_path, tmp_path):
    path = edited(example_workbook_path, tmp_path, AGENCY_ACTIONS, 2,
                  {"Due date": date(2016, 3, 31), "Status": "at risk", "Evidence of impact": "Audit in May",
                   "Owner": "Named GP lead"})
    action = load_cycle(path).agency_actions[0]
    assert (action.due, action.status, action.evidence, action.owner) == (
        date(2016, 3, 31), ActionStatus.AT_RISK, "Audit in May", "Named GP lead")


@pytest.mark.parametrize("sheet,values,code,column", [
    (AGENCY_ACTIONS, {"Status": "Half done"}, "workbook.bad-action-status", "H"),
    (LEARNING_ACTIONS, {"Status": "Red"}, "workbook.bad-action-status", "I"),
    (AGENCY_ACTIONS, {"Due date": "next spring"}, "workbook.bad-date", "G"),
    (AGENCY_ACTIONS, {"Action ID": "CCG 1 / urgent"}, "workbook.bad-action-id", "E"),
    (AGENCY_ACTIONS, {"Action ID": "L3"}, "workbook.duplicate-action-id", "E"),
])
def test_a_bad_tracker_value_is_named_by_sheet_and_cell(example_workbook_path, tmp_path, sheet, values, code, column):
    result = read_cycle(edited(example_workbook_path, tmp_path, sheet, 3, values))
    errors = [(p.code, p.location) for p in result.report.errors]
    assert errors == [(code, f"{sheet}!{column}3")]


def test_complete_without_evidence_in_the_workbook_is_a_warning(example_workbook_path, tmp_path):
    result = read_cycle(edited(example_workbook_path, tmp_path, AGENCY_ACTIONS, 4, {"Status": "Complete"}))
    assert result.report.ok
    [warning] = [p for p in result.report.warnings if p.code == "workbook.complete-without-evidence"]
    assert warning.location == f"{AGENCY_ACTIONS}!I4" and warning.severity is Severity.WARNING


def test_a_workbook_from_before_the_tracker_still_loads(example_workbook_path, tmp_path):
    """Old workbooks: action sheets with only their first columns; IDs are then counted down the sheet."""
    wb = openpyxl.load_workbook(example_workbook_path)
    for sheet, keep in ((AGENCY_ACTIONS, 4), (LEARNING_ACTIONS, 7)):
        ws = wb[sheet]
        ws.delete_cols(keep + 1, ws.max_column - keep)
    wb[AGENCY_ACTIONS].cell(3, 4, "Y")  # the old way of saying done
    path = tmp_path / "old.xlsx"
    wb.save(path)
    cycle = load_cycle(path)
    assert [a.action_id for a in cycle.agency_actions[:3]] == ["CCG-1", "CCG-2", "HEFT-1"]
    assert cycle.learning_actions[2].action_id == "L3"
    tracked = {a.action_id: a for a in actions.tracked_actions(cycle, today=date(2016, 1, 1))}
    assert tracked["CCG-2"].status is ActionStatus.COMPLETE and tracked["CCG-1"].status is ActionStatus.NOT_STARTED


def test_the_headings_of_both_action_sheets_carry_the_tracker_fields():
    for sheet in (LEARNING_ACTIONS, AGENCY_ACTIONS):
        assert {"action_id", "status", "progress", "evidence", "round_raised"} <= set(HEADERS[sheet])
    assert {"owner", "due"} <= set(HEADERS[AGENCY_ACTIONS])


def test_the_shipped_workbooks_offer_the_statuses_as_a_drop_down(example_workbook_path):
    wb = openpyxl.load_workbook(example_workbook_path)
    for sheet, letter in ((AGENCY_ACTIONS, "H"), (LEARNING_ACTIONS, "I")):
        lists = [dv for dv in wb[sheet].data_validations.dataValidation if f"{letter}2" in str(dv.sqref)]
        assert lists and "Not started,On track,At risk,Overdue,Complete" in lists[0].formula1


# --- status -----------------------------------------------------------------------------------


@pytest.mark.parametrize("given,due,expected", [
    (None, None, ActionStatus.NOT_STARTED),
    (ActionStatus.ON_TRACK, date(2016, 6, 1), ActionStatus.ON_TRACK),
    (ActionStatus.ON_TRACK, date(2016, 4, 30), ActionStatus.OVERDUE),  # past due and not complete
    (None, date(2016, 4, 30), ActionStatus.OVERDUE),
    (ActionStatus.AT_RISK, date(2016, 5, 1), ActionStatus.AT_RISK),  # due today is not overdue yet
    (ActionStatus.COMPLETE, date(2016, 1, 1), ActionStatus.COMPLETE),  # complete is never overdue
])
def test_overdue_is_derived_from_the_due_date_when_not_complete(given, due, expected):
    assert actions.effective_status(given, due, date(2016, 5, 1)) is expected


def test_the_latest_progress_sets_the_status(example_cycle):
    from pipeline.models import ActionUpdate, FormIdentity, FormKind, ProgressReturn
    from datetime import datetime
    ident = FormIdentity(form_id="F1", cycle_id="2015-16", agency="CCG", kind=FormKind.PROGRESS)
    first = ProgressReturn(identity=ident, received_at=datetime(2016, 2, 1), updates=(
        ActionUpdate(action_id="CCG-1", status=ActionStatus.AT_RISK, progress="Slow start"),))
    later = ProgressReturn(identity=ident, received_at=datetime(2016, 3, 1), updates=(
        ActionUpdate(action_id="CCG-1", status=ActionStatus.COMPLETE, progress="Done", evidence="Audit shows it"),))
    tracked = {a.action_id: a for a in actions.tracked_actions(
        example_cycle, actions.latest_updates([first, later]), today=date(2016, 3, 2))}
    assert tracked["CCG-1"].status is ActionStatus.COMPLETE
    assert (tracked["CCG-1"].latest_progress, tracked["CCG-1"].latest_date) == ("Done", date(2016, 3, 1))
    assert tracked["CCG-2"].status is ActionStatus.NOT_STARTED


# --- carried forward ---------------------------------------------------------------------------


def test_only_open_actions_are_carried_to_the_next_round(example_workbook_path, tmp_path):
    path = edited(example_workbook_path, tmp_path, AGENCY_ACTIONS, 2,
                  {"Status": "Complete", "Evidence of impact": "Thresholds used in all 12 scenarios"})
    wb = openpyxl.load_workbook(path)
    ws = wb[AGENCY_ACTIONS]
    ws.cell(3, _column(ws, "Due date"), date(2016, 1, 31))  # CCG-2: overdue, still open
    ws.cell(3, _column(ws, "Progress"), "Half the practices briefed")
    ws = wb[LEARNING_ACTIONS]
    ws.cell(2, _column(ws, "Status"), "Complete")
    ws.cell(2, _column(ws, "Evidence of impact"), "Template in use")
    wb.save(path)
    cycle = load_cycle(path)
    learning, agency = actions.open_actions_to_carry(cycle, today=date(2016, 4, 1))
    assert [a.action_id for a in learning] == ["L2", "L3", "L4", "L5", "L6", "L7"]
    assert "CCG-1" not in [a.action_id for a in agency] and len(agency) == 31
    carried = agency[0]
    assert (carried.action_id, carried.due, carried.progress, carried.round_raised) == (
        "CCG-2", date(2016, 1, 31), "Half the practices briefed", "2015-16")
    assert carried.status is None  # Overdue is worked out again in the next round, not written down


def test_figures_count_every_action_once_by_status_and_agency(example_cycle):
    tracked = actions.tracked_actions(example_cycle, today=date(2016, 1, 1))
    figures = actions.action_figures(tracked)
    assert figures.total == 39 and sum(n for _s, n in figures.by_status) == 39
    assert figures.count(ActionStatus.NOT_STARTED) == 39
    assert dict(figures.by_agency)["POLICE"][-1] == (ActionStatus.NOT_STARTED, 4)
    assert dict(figures.by_agency)[""][-1] == (ActionStatus.NOT_STARTED, 7)  # the board's learning actions
