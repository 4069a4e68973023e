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


# --- a workspace whose store holds the simulated returns (as ingest records them) --------------------------

import hashlib  # noqa: E402
from datetime import date, datetime, timedelta  # noqa: E402

from click.testing import CliRunner  # noqa: E402

from pipeline.child_names import find_name, terms_for  # noqa: E402
from pipeline.cli import cli  # noqa: E402
from pipeline.findings import compute_findings  # noqa: E402
from pipeline.models import AuditReturn, RatingKind  # noqa: E402
from pipeline.moderation import (  # noqa: E402
    GRADES,
    RATINGS,
    moderated,
    moderation_path,
    recorded_decisions,
    sync_moderation,
)
from pipeline.store import ReceivedFile, Store  # noqa: E402

T0 = datetime(2015, 11, 20, 9, 0)  # as ingest records it: local time, no zone


def record(ws, returns: list[AuditReturn], at: datetime = T0) -> None:
    """Record returns as ingest would: one received file each, received in order from `at`."""
    store = Store.open(ws.store_path)
    try:
        with store.transaction() as conn:
            for i, r in enumerate(returns):
                when = at + timedelta(minutes=i)
                sha = hashlib.sha256(f"{r.identity.form_id}{when}{r.answers}".encode()).hexdigest()
                r = r.model_copy(update={"received_at": when, "file_sha256": sha, "source_file": f"{sha[:8]}.docx"})
                file_id = store.record_received_file(ReceivedFile(
                    sha256=sha, original_path=r.source_file, archive_name=f"{sha}.docx", size=1, received_at=when,
                    outcome="accepted", message="accepted", form_id=r.identity.form_id, agency=r.identity.agency,
                    case_ref=r.identity.case_ref, kind="audit"), conn)
                store.record_return(file_id, r, conn)
    finally:
        store.close()


def rerated(r: AuditReturn, standard: int, kind: RatingKind, label: str) -> AuditReturn:
    answers = tuple(a.model_copy(update={"rating": kind, "rating_label": label, "reason": "late correction",
                                         "evidence": ""})
                    if a.standard == standard else a for a in r.answers)
    return r.model_copy(update={"answers": answers})


def sheet_rows(path: Path, name: str) -> list[dict[str, object]]:
    wb = openpyxl.load_workbook(path)
    rows = list(wb[name].iter_rows(values_only=True))
    return [dict(zip(rows[0], r)) for r in rows[1:]]


def type_into(path: Path, name: str, match: dict[str, object], values: dict[str, object]) -> None:
    """What the panel does in Excel: find the row and type into its cells."""
    wb = openpyxl.load_workbook(path)
    ws = wb[name]
    heads = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        if all(row[heads.index(k)].value == v for k, v in match.items()):
            for k, v in values.items():
                row[heads.index(k)].value = v
            break
    else:
        raise AssertionError(f"no row {match}")
    wb.save(path)


def moderate(ws, *args: str):
    result = CliRunner().invoke(cli, ["moderate", *args, "-w", str(ws.root)])
    assert result.exit_code in (0, 1), result.output
    return result


@pytest.fixture
def store_ws(tmp_workspace, simulated):
    first = [r for r in simulated.returns if r.identity.case_ref != "N-02"]
    record(tmp_workspace, first)
    return tmp_workspace


def police_n01(simulated) -> AuditReturn:
    return next(r for r in simulated.returns if (r.identity.agency, r.identity.case_ref) == ("POLICE", "N-01"))


def test_moderate_writes_a_row_per_answer_returned_and_a_row_per_case_without_names(store_ws, example_cycle):
    result = moderate(store_ws)
    path = moderation_path(store_ws)
    assert path == store_ws.root / "moderation.xlsx" and "Moderation workbook written" in result.output
    ratings, grades = sheet_rows(path, RATINGS), sheet_rows(path, GRADES)
    returned = [r for r in store_ws_returns(store_ws, example_cycle) if not r.no_involvement]
    assert len(ratings) == len(returned) * len(example_cycle.standards)
    assert list(ratings[0])[:11] == ["Agency", "Case", "Priority area", "KLOE", "Standard", "Agency rating",
                                     "Agency evidence/reason", "Moderated rating", "Reason for change",
                                     "Moderated by", "Date"]
    assert [g["Case"] for g in grades] == [c.ref for c in example_cycle.cases]
    assert list(grades[0])[:7] == ["Case", "Priority area", "Agencies involved", "Share of standards met", "Grade",
                                   "Reason", "Escalate?"]
    first = next(r for r in ratings if (r["Agency"], r["Case"], r["Standard"]) == ("POLICE", "N-01", 5))
    assert first["Agency rating"] == "Not met" and first["Moderated rating"] is None
    terms = terms_for(example_cycle)
    wb = openpyxl.load_workbook(path)
    named = [(ws.title, c.coordinate) for ws in wb for row in ws.iter_rows() for c in row
             if isinstance(c.value, str) and find_name(c.value, terms)]
    assert named == []
    lists = {str(dv.sqref).split(":")[0][0]: dv.formula1 for dv in wb[RATINGS].data_validations.dataValidation}
    assert lists == {"H": "Lists!$A$2:$A$4"}
    assert [wb["Lists"].cell(i, 1).value for i in (2, 3, 4)] == example_cycle.rating_scale.labels


def store_ws_returns(ws, cycle):
    store = Store.open(ws.store_path)
    try:
        return store.current_audit_returns(cycle)
    finally:
        store.close()


def test_refresh_after_late_returns_keeps_every_decision_and_adds_rows(store_ws, simulated, example_cycle):
    moderate(store_ws)
    path = moderation_path(store_ws)
    before = len(sheet_rows(path, RATINGS))
    type_into(path, RATINGS, {"Agency": "POLICE", "Case": "N-01", "Standard": 1},
              {"Moderated rating": "Not met", "Reason for change": "No strategy discussion on file",
               "Moderated by": "Panel chair", "Date": datetime(2015, 12, 1)})
    type_into(path, GRADES, {"Case": "N-01"}, {"Grade": "requires improvement", "Reason": "Drift after CP plan",
                                               "Graded by": "Panel"})
    first = moderate(store_ws)
    assert "2 newly recorded" in first.output

    record(store_ws, [r for r in simulated.returns if r.identity.case_ref == "N-02"], at=T0 + timedelta(days=3))
    moderate(store_ws)
    rows = sheet_rows(path, RATINGS)
    late = [r for r in rows if r["Case"] == "N-02"]
    assert late and len(rows) == before + len(late)
    kept = next(r for r in rows if (r["Agency"], r["Case"], r["Standard"]) == ("POLICE", "N-01", 1))
    assert (kept["Moderated rating"], kept["Reason for change"], kept["Moderated by"], kept["Date"].date(),
            kept["Look again"]) == ("Not met", "No strategy discussion on file", "Panel chair", date(2015, 12, 1), None)
    grade = next(g for g in sheet_rows(path, GRADES) if g["Case"] == "N-01")
    assert (grade["Grade"], grade["Reason"]) == ("Requires improvement", "Drift after CP plan")
    store = Store.open(store_ws.store_path)
    try:
        assert len(recorded_decisions(store)) == 2  # refreshing records nothing twice
    finally:
        store.close()


def test_a_decision_on_an_answer_that_later_changed_is_marked_for_another_look(store_ws, simulated, example_cycle):
    moderate(store_ws)
    path = moderation_path(store_ws)
    type_into(path, RATINGS, {"Agency": "POLICE", "Case": "N-01", "Standard": 5},
              {"Moderated rating": "Met or exceeded", "Reason for change": "Referral made the same day",
               "Moderated by": "Panel"})
    agency_own = police_figures(compute_findings(example_cycle, store_ws_returns(store_ws, example_cycle)), 5)
    moderate(store_ws)
    counted = compute_findings(example_cycle, moderated_now(store_ws, example_cycle))
    assert (police_figures(counted, 5).met, police_figures(counted, 5).not_met) == (agency_own.met + 1,
                                                                                   agency_own.not_met - 1)

    # the Police send their form again, now saying 'Not applicable' for standard 5
    resent = rerated(police_n01(simulated), 5, RatingKind.NOT_APPLICABLE, "Not applicable")
    record(store_ws, [resent], at=T0 + timedelta(days=5))
    result = moderate(store_ws)
    assert result.exit_code == 1 and "moderation.answer-changed" not in result.output  # said in words
    assert "changed from 'Not met' to 'Not applicable'" in result.output
    row = next(r for r in sheet_rows(path, RATINGS) if (r["Agency"], r["Case"], r["Standard"]) == ("POLICE", "N-01", 5))
    assert row["Agency rating"] == "Not applicable" and row["Moderated rating"] == "Met or exceeded"
    assert "changed from 'Not met' to 'Not applicable'" in row["Look again"]
    counted = compute_findings(example_cycle, moderated_now(store_ws, example_cycle))
    now = police_figures(counted, 5)  # the agency's new answer counts: the decision is not used
    assert (now.met, now.not_met, now.not_applicable) == (agency_own.met, agency_own.not_met - 1,
                                                          agency_own.not_applicable + 1)

    type_into(path, RATINGS, {"Agency": "POLICE", "Case": "N-01", "Standard": 5}, {"Look again": None})
    confirmed = moderate(store_ws)
    assert confirmed.exit_code == 0 and "1 newly recorded" in confirmed.output
    counted = compute_findings(example_cycle, moderated_now(store_ws, example_cycle))
    now = police_figures(counted, 5)
    assert (now.met, now.not_met, now.not_applicable) == (agency_own.met + 1, agency_own.not_met - 1,
                                                          agency_own.not_applicable)


def moderated_now(ws, cycle) -> list[AuditReturn]:
    store = Store.open(ws.store_path)
    try:
        returns = store.current_audit_returns(cycle)
        state = sync_moderation(ws, cycle, store, returns)
        return moderated(cycle, returns, state.latest)
    finally:
        store.close()


def police_figures(findings, standard: int):
    return next(f for f in findings.standard(standard).by_agency if f.agency == "POLICE")


def test_the_panels_mistakes_are_named_by_cell_and_nothing_is_rewritten(store_ws):
    moderate(store_ws)
    path = moderation_path(store_ws)
    type_into(path, RATINGS, {"Agency": "POLICE", "Case": "N-01", "Standard": 1},
              {"Moderated rating": "Not met", "Moderated by": "Panel"})  # no reason
    type_into(path, RATINGS, {"Agency": "POLICE", "Case": "N-01", "Standard": 2},
              {"Case": "N-99", "Moderated rating": "Not met", "Reason for change": "x"})
    type_into(path, GRADES, {"Case": "N-01"}, {"Grade": "Brilliant"})
    typed = path.read_bytes()
    result = CliRunner().invoke(cli, ["--json", "moderate", "-w", str(store_ws.root)])
    assert result.exit_code == 2
    import json
    problems = {(p["code"], p["location"]) for p in json.loads(result.output)["problems"]}
    rows = {r["Standard"]: i + 2 for i, r in enumerate(sheet_rows(path, RATINGS)) if r["Agency"] == "POLICE"
            and r["Case"] in ("N-01", "N-99") and r["Standard"] in (1, 2)}
    assert problems == {("moderation.no-reason", f"Ratings!I{rows[1]}"),
                        ("moderation.unknown-case", f"Ratings!B{rows[2]}"),
                        ("moderation.grade-not-on-scale", "Case grades!E2")}
    assert path.read_bytes() == typed  # what the panel typed is left for them to put right
    store = Store.open(store_ws.store_path)
    try:
        assert recorded_decisions(store) == []
    finally:
        store.close()


def test_moderate_log_prints_every_decision_and_none_is_ever_deleted(store_ws):
    moderate(store_ws)
    path = moderation_path(store_ws)
    where = {"Agency": "POLICE", "Case": "N-01", "Standard": 1}
    type_into(path, RATINGS, where, {"Moderated rating": "Not met", "Reason for change": "No strategy meeting",
                                     "Moderated by": "A. Chair", "Date": datetime(2015, 12, 1)})
    moderate(store_ws)
    type_into(path, RATINGS, where, {"Moderated rating": "Not applicable", "Reason for change": "Closed before"})
    moderate(store_ws)
    type_into(path, RATINGS, where, {"Moderated rating": None, "Reason for change": None, "Moderated by": None,
                                     "Date": None})
    moderate(store_ws)
    log = moderate(store_ws, "--log").output.splitlines()
    assert len(log) == 3
    assert "POLICE case N-01 standard 1: 'Met or exceeded' -> 'Not met' by A. Chair on 01/12/2015 - No strategy " \
           "meeting" in log[0]
    assert "-> 'Not applicable'" in log[1] and "Closed before" in log[1]
    assert "withdrawn (agency rating stands)" in log[2]
    store = Store.open(store_ws.store_path)
    try:
        assert [d.to_label for d in recorded_decisions(store)] == ["Not met", "Not applicable", ""]
    finally:
        store.close()


def _moderation_by_hand(cycle, returns, agency: str, standard: int, to: str) -> dict:
    """Decisions changing every rating `agency` gave `standard` to `to` (as if typed and recorded)."""
    from pipeline.models import ModerationDecision
    from pipeline.moderation import current_answers

    return {("rating", a.agency, a.case_ref, a.standard): ModerationDecision(
        kind="rating", agency=a.agency, case_ref=a.case_ref, standard=a.standard, from_label=a.label, to_label=to,
        reason="panel")
        for a in current_answers(cycle, returns).values() if a.agency == agency and a.standard == standard
        and a.label != to}


def test_every_figure_switches_to_the_moderated_rating(example_cycle, simulated):
    returns = simulated.returns
    own = compute_findings(example_cycle, returns, simulated.summary_returns)
    police7 = police_figures(own, 7)
    assert police7.not_met >= 2 and any(e.agency == "POLICE" for e in own.standard(7).exceptions)
    decisions = _moderation_by_hand(example_cycle, returns, "POLICE", 7, "Met or exceeded")
    panel = compute_findings(example_cycle, moderated(example_cycle, returns, decisions), simulated.summary_returns)
    s7 = panel.standard(7)
    assert police_figures(panel, 7).met == police7.met + police7.not_met and police_figures(panel, 7).not_met == 0
    assert s7.responses_met == own.standard(7).responses_met + police7.not_met
    assert not any(e.agency == "POLICE" for e in s7.exceptions)  # the exception the agency's ratings made is gone
    assert s7.cases_met >= own.standard(7).cases_met
    assert next(h for h in panel.executive_summary.standards if h.standard == 7).cases_met == s7.cases_met
    assert panel.agency("POLICE").not_met == own.agency("POLICE").not_met - police7.not_met
    assert 7 not in panel.agency("POLICE").standards_not_met
    assert panel.data_quality == own.data_quality  # what was returned is unchanged
    untouched = [n for n in range(1, 23) if n != 7]
    assert [panel.standard(n).digest for n in untouched] == [own.standard(n).digest for n in untouched]


def test_the_report_and_results_show_the_panels_work(store_ws, example_cycle):
    import docx

    from pipeline.moderation import simulate_moderation
    from pipeline.report import build_report

    simulate_moderation(store_ws, example_cycle, decided_on=date(2015, 12, 4))
    store = Store.open(store_ws.store_path)
    try:
        changed = [d for d in recorded_decisions(store) if d.kind == "rating"]
    finally:
        store.close()
    assert changed and all(d.reason.startswith("SIMULATED") for d in changed)
    built = build_report(store_ws, example_cycle)
    m = built.findings.moderation
    assert m is not None and m.ratings_changed == len(changed) and m.simulated
    assert sum(d.count for d in m.directions) == len(changed)
    assert m.cases_graded == sum(a.graded for a in m.by_area) == len(
        [c for c in example_cycle.cases if c.ref != "N-02"])  # N-02's returns are not in: not assessed, not graded

    report = docx.Document(built.path)
    text = "\n".join(p.text for p in report.paragraphs)
    cells = "\n".join(c.text for t in report.tables for r in t.rows for c in r.cells)
    ways = " and ".join(f"{d.count} from {d.from_kind} to {d.to_kind}" for d in m.directions)
    assert f"changed {len(changed)} of them: {ways}." in text
    assert "Of the 4 Neglect cases, the panel graded 3:" in text
    grade_table = next(t for t in report.tables if [c.text for c in t.rows[0].cells] ==
                       ["Priority area", "Grade", "Cases", "Case references"])
    assert sum(int(r.cells[2].text) for r in grade_table.rows[1:]) == m.cases_graded
    first = m.changes[0]
    assert f"case {first.case_ref}, standard {first.standard}: {first.from_kind} to {first.to_kind}" in cells
    terms = terms_for(example_cycle)
    assert find_name(text + cells, terms) is None

    responses = sheet_rows(store_ws.results_path, "Responses")
    row = next(r for r in responses if (r["Agency"], r["Case ref"], r["Standard"]) ==
               (first.agency, first.case_ref, first.standard))
    assert (row["Rating"], row["Moderated rating"], row["Reason for change"]) == (
        first.from_label, first.to_label, first.reason)
    assert sum(1 for r in responses if r["Moderated rating"]) == len(changed)


@pytest.mark.libreoffice("calc")
def test_a_moderation_workbook_saved_by_libreoffice_reads_back_exactly(store_ws, example_cycle,
                                                                       convert_with_libreoffice, tmp_path):
    from pipeline.moderation import read_sheet, simulate_moderation

    path = simulate_moderation(store_ws, example_cycle, decided_on=date(2015, 12, 4))
    type_into(path, GRADES, {"Case": "N-01"}, {"Escalate?": "Y"})
    ours = read_sheet(path, example_cycle)
    saved = convert_with_libreoffice([path], tmp_path / "lo", "xlsx:Calc MS Excel 2007 XML")[0]
    theirs = read_sheet(saved, example_cycle)
    assert not ours.problems.problems and not theirs.problems.problems
    assert ours.ratings and ours.grades and theirs.simulated
    assert [(r.agency, r.case_ref, r.standard, r.shown, r.to_label, r.reason, r.by, r.on) for r in theirs.ratings] \
        == [(r.agency, r.case_ref, r.standard, r.shown, r.to_label, r.reason, r.by, r.on) for r in ours.ratings]
    assert [(g.case_ref, g.grade, g.reason, g.escalate, g.by, g.on) for g in theirs.grades] \
        == [(g.case_ref, g.grade, g.reason, g.escalate, g.by, g.on) for g in ours.grades]
    assert theirs.cleared == ours.cleared


def test_each_agency_is_told_which_of_its_ratings_the_panel_changed_and_why(store_ws, example_cycle):
    moderate(store_ws)
    path = moderation_path(store_ws)
    type_into(path, RATINGS, {"Agency": "POLICE", "Case": "N-01", "Standard": 5},
              {"Moderated rating": "Met or exceeded", "Reason for change": "Referral made the same day"})
    result = moderate(store_ws)
    notes = sorted((store_ws.feedback_dir / "POLICE").glob("moderation *.txt"))
    assert len(notes) == 1 and "Feedback to forward: outbox/feedback/POLICE/" in result.output
    text = notes[0].read_text(encoding="utf-8-sig")
    assert "Case reference N-01, standard 5" in text and "Your rating: Not met" in text
    assert "Panel's rating: Met or exceeded" in text and "Reason: Referral made the same day" in text
    assert not (store_ws.feedback_dir / "CCG").exists()  # nothing of the CCG's was changed
    assert find_name(text, terms_for(example_cycle)) is None
    moderate(store_ws)
    assert len(list((store_ws.feedback_dir / "POLICE").glob("moderation *.txt"))) == 1  # told once


def test_escalated_cases_are_listed_by_status_and_in_the_report_only_when_the_cycle_says_so(store_ws, example_cycle):
    from pipeline.report import build_report
    from pipeline.workbook import load_cycle

    moderate(store_ws)
    path = moderation_path(store_ws)
    type_into(path, GRADES, {"Case": "N-03"}, {"Grade": "Inadequate", "Reason": "No plan for the child"})
    type_into(path, GRADES, {"Case": "N-04"}, {"Grade": "Good", "Reason": "Timely", "Escalate?": "Y"})
    status = CliRunner().invoke(cli, ["status", "-w", str(store_ws.root)])
    assert status.exit_code == 0, status.output
    listed = status.output.split("Cases graded for escalation:")[1].splitlines()
    assert [line.strip() for line in listed if line.strip()] == ["N-03 (Neglect): Inadequate", "N-04 (Neglect): Good"]

    import docx
    quiet = build_report(store_ws, example_cycle)
    assert quiet.findings.moderation.cases_graded == 2
    assert "escalated" not in "\n".join(p.text for p in docx.Document(quiet.path).paragraphs)
    _settings_rows(store_ws.cycle_path, {"Escalations in report": "Y"})
    told = build_report(store_ws, load_cycle(store_ws.cycle_path))
    text = "\n".join(p.text for p in docx.Document(told.path).paragraphs)
    assert "The panel escalated 2 cases: N-03 (Inadequate) and N-04 (Good)." in text


def test_ingest_reads_moderation_xlsx_and_names_its_problems(store_ws):
    moderate(store_ws)
    path = moderation_path(store_ws)
    type_into(path, RATINGS, {"Agency": "POLICE", "Case": "N-01", "Standard": 3}, {"Moderated rating": "Not met"})
    type_into(path, RATINGS, {"Agency": "POLICE", "Case": "N-01", "Standard": 4},
              {"Moderated rating": "Not met", "Reason for change": "Minutes not shared"})
    result = CliRunner().invoke(cli, ["ingest", "-w", str(store_ws.root)])
    assert result.exit_code == 1
    assert "A moderated rating needs a reason for the change" in result.output
    store = Store.open(store_ws.store_path)
    try:
        assert [(d.standard, d.to_label) for d in recorded_decisions(store)] == [(4, "Not met")]  # the good row
    finally:
        store.close()

