"""Moderation (issue 14): the panel's moderated ratings and case grades, typed in moderation.xlsx, recorded
with reasons in the store, and used by every figure."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pytest

from pipeline.models import DEFAULT_CASE_GRADES
from pipeline.workbook import SETTINGS, read_cycle


def _settings_rows(path: Path, rows: dict[str, object], drop: tuple[str, ...] = ()) -> None:
    wb = openpyxl.load_workbook(path)
    ws = wb[SETTINGS]
    for row in list(ws.iter_rows(min_row=2)):
        if row[0].value in drop:
            ws.delete_rows(row[0].row)
    for row in ws.iter_rows(min_row=2):
        if row[0].value in rows:
            row[1].value = rows.pop(row[0].value)
    for name, value in rows.items():
        ws.append([name, value])
    wb.save(path)


def test_grade_scale_defaults_and_is_editable(tmp_path: Path, example_workbook_path: Path) -> None:
    path = tmp_path / "cycle.xlsx"
    shutil.copyfile(example_workbook_path, path)
    shipped = read_cycle(path)
    assert shipped.report.ok and shipped.cycle.settings.case_grades == DEFAULT_CASE_GRADES
    assert shipped.cycle.settings.escalate_grades == ("Inadequate",)
    assert shipped.cycle.settings.escalations_in_report is False

    _settings_rows(path, {"Case grades": "Strong; Adequate\nWeak", "Grades to escalate": "weak",
                          "Escalations in report": "Y"})
    edited = read_cycle(path)
    assert edited.report.ok, [p.render() for p in edited.report]
    assert edited.cycle.settings.case_grades == ("Strong", "Adequate", "Weak")
    assert edited.cycle.settings.escalate_grades == ("Weak",)
    assert edited.cycle.settings.escalations_in_report is True

    _settings_rows(path, {"Grades to escalate": "Inadequate"})
    wrong = read_cycle(path)
    assert [p.code for p in wrong.report.errors] == ["workbook.grade-not-on-scale"]
    assert wrong.report.errors[0].location.startswith("Settings!B")


def test_a_workbook_from_before_moderation_loads_with_the_default_grades(tmp_path: Path,
                                                                          example_workbook_path: Path) -> None:
    path = tmp_path / "cycle.xlsx"
    shutil.copyfile(example_workbook_path, path)
    _settings_rows(path, {}, drop=("Case grades", "Grades to escalate", "Escalations in report"))
    old = read_cycle(path)
    assert old.report.ok
    assert old.cycle.settings.case_grades == DEFAULT_CASE_GRADES
    assert old.cycle.settings.escalate_grades == ("Inadequate",)
