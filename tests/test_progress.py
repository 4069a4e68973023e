"""Action progress forms (issue 13): issued per agency with open actions, registered, read back after Word or
LibreOffice, validated (status required, Complete needs evidence, only the actions issued), and chased."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.ingest import ingest_inbox
from pipeline.models import ActionStatus, FormKind
from pipeline.ooxml.controls import fill_controls
from pipeline.progress import generate_progress_forms
from pipeline.returns import Outcome, read_return
from pipeline.status import agency_status, chase_list
from pipeline.store import Store
from pipeline.workbook import AGENCY_ACTIONS, load_cycle

POLICE_ANSWERS = {
    "ca:action-status:POLICE-1": "On track",
    "ca:action-progress:POLICE-1": "Training delivered to 3 of 4 response teams;\nthe last in March.",
    "ca:action-status:POLICE-2": "At risk",
    "ca:action-progress:POLICE-2": "Analyst post vacant since January",
    "ca:action-status:POLICE-3": "Complete",
    "ca:action-progress:POLICE-3": "New referral checklist in use",
    "ca:action-evidence:POLICE-3": "Dip sample in May: consent recorded in 9 of 10 referrals (3 of 10 last year)",
    "ca:action-status:POLICE-4": "Not started",
}


def _set(ws_root: Path, row: int, **values) -> None:
    """Change cells of one Agency actions row (2 = CCG-1) of the workspace's cycle.xlsx, by heading."""
    path = ws_root / "cycle.xlsx"
    wb = openpyxl.load_workbook(path)
    sheet = wb[AGENCY_ACTIONS]
    columns = {str(c.value).split(" (")[0]: c.column for c in sheet[1] if c.value}
    for heading, value in values.items():
        sheet.cell(row, columns[heading.replace("_", " ")], value)
    wb.save(path)


@pytest.fixture
def issued(tmp_workspace):
    """The example workspace with CCG-1 complete, and a progress form issued to every agency with open actions."""
    _set(tmp_workspace.root, 2, Status="Complete", Evidence_of_impact="Thresholds in all 12 training scenarios")
    cycle = load_cycle(tmp_workspace.cycle_path)
    result = generate_progress_forms(tmp_workspace, cycle, today=date(2016, 2, 1))
    return tmp_workspace, cycle, result


def _form(ws, result, agency: str) -> Path:
    return ws.root / next(w.path for w in result.written if w.agency == agency)


def _read(ws, cycle, data: bytes, name: str = "POLICE_actions.docx"):
    with Store.open(ws.store_path) as store:
        return read_return(data, filename=name, cycle=cycle, register=store)


def test_one_form_per_agency_with_open_actions_registered_with_its_actions(issued):
    ws, cycle, result = issued
    assert [w.agency for w in result.written] == ["CCG", "HEFT", "POLICE", "CSWS", "EDU", "SCH", "EY", "VOL", "SIAS"]
    assert _form(ws, result, "POLICE").name == "POLICE_actions.docx"
    with Store.open(ws.store_path) as store:
        forms = {f.identity.agency: f for f in store.issued_forms() if f.identity.kind is FormKind.PROGRESS}
        assert store.issued_actions(forms["CCG"].identity.form_id) == ["CCG-2"]  # CCG-1 is complete: not asked
        assert store.issued_actions(forms["POLICE"].identity.form_id) == ["POLICE-1", "POLICE-2", "POLICE-3",
                                                                         "POLICE-4"]
    again = generate_progress_forms(ws, cycle, today=date(2016, 2, 1))
    assert not again.written and len(again.skipped) == 9  # nothing is issued twice


def test_a_new_open_action_gets_the_agency_a_fresh_form_and_the_old_one_is_moved_aside(issued):
    ws, _cycle, result = issued
    old = _form(ws, result, "CCG")
    _set(ws.root, 2, Status="At risk")  # CCG-1 reopened
    again = generate_progress_forms(ws, load_cycle(ws.cycle_path), today=date(2016, 2, 1))
    [written] = again.written
    assert written.agency == "CCG" and written.replaces == (result.written[0].form_id,)
    assert not old.exists() and (old.parent / "superseded" / old.name).is_file()


def test_a_filled_form_is_read_back_exactly(issued):
    ws, cycle, result = issued
    read = _read(ws, cycle, fill_controls(_form(ws, result, "POLICE").read_bytes(), POLICE_ANSWERS))
    assert read.outcome is Outcome.ACCEPTED, [p.message for p in read.problems]
    got = {u.action_id: (u.status, u.progress, u.evidence) for u in read.progress.updates}
    assert got == {
        "POLICE-1": (ActionStatus.ON_TRACK, POLICE_ANSWERS["ca:action-progress:POLICE-1"], ""),
        "POLICE-2": (ActionStatus.AT_RISK, "Analyst post vacant since January", ""),
        "POLICE-3": (ActionStatus.COMPLETE, "New referral checklist in use",
                     POLICE_ANSWERS["ca:action-evidence:POLICE-3"]),
        "POLICE-4": (ActionStatus.NOT_STARTED, "", ""),
    }
    assert set(read.sources.values()) == {"control"}


@pytest.mark.libreoffice
def test_a_filled_form_resaved_by_libreoffice_is_read_back_exactly(issued, resave_with_libreoffice, tmp_path):
    ws, cycle, result = issued
    filled = tmp_path / "POLICE_actions.docx"
    filled.write_bytes(fill_controls(_form(ws, result, "POLICE").read_bytes(), POLICE_ANSWERS))
    word = _read(ws, cycle, filled.read_bytes())
    [resaved] = resave_with_libreoffice([filled], tmp_path / "lo")
    lo = _read(ws, cycle, resaved.read_bytes())
    assert lo.outcome is Outcome.ACCEPTED, [p.message for p in lo.problems]
    assert lo.progress.updates == word.progress.updates
    assert lo.identity.form_id == word.identity.form_id


def test_complete_without_evidence_is_not_recorded_as_complete_and_the_agency_is_told(issued):
    ws, cycle, result = issued
    answers = {**POLICE_ANSWERS, "ca:action-status:POLICE-2": "Complete"}  # no evidence for POLICE-2
    (ws.inbox / "POLICE_actions.docx").write_bytes(fill_controls(_form(ws, result, "POLICE").read_bytes(), answers))
    run = ingest_inbox(ws, cycle)
    [line] = run.files
    assert line.outcome == "accepted with problems"
    assert [(p.code, p.location) for p in line.problems] == [("return.action-complete-without-evidence",
                                                              "Action POLICE-2")]
    [note] = run.feedback_files
    text = note.read_text(encoding="utf-8-sig")
    assert "POLICE-2 is marked Complete but gives no evidence of impact" in text
    assert "Please say what has changed for children and families" in text
    with Store.open(ws.store_path) as store:
        [ret] = store.progress_returns()
    assert {u.action_id: u.status for u in ret.updates}["POLICE-2"] is None  # not complete: stays as it was
    assert {u.action_id: u.status for u in ret.updates}["POLICE-3"] is ActionStatus.COMPLETE
    [entry] = [e for e in chase_list(ws, cycle) if e.agency.code == "POLICE"]
    assert "POLICE-2 is marked Complete but gives no evidence" in entry.text(cycle)


def test_every_action_needs_a_status(issued):
    ws, cycle, result = issued
    answers = {k: v for k, v in POLICE_ANSWERS.items() if k != "ca:action-status:POLICE-4"}
    read = _read(ws, cycle, fill_controls(_form(ws, result, "POLICE").read_bytes(), answers))
    assert read.outcome is Outcome.INCOMPLETE
    assert [(p.code, p.location) for p in read.problems.errors] == [("return.action-status-missing",
                                                                     "Action POLICE-4")]


def test_an_action_the_form_was_not_issued_for_is_a_problem(issued):
    ws, cycle, result = issued
    data = fill_controls(_form(ws, result, "POLICE").read_bytes(), POLICE_ANSWERS)

    class Register:  # the register says the form asked about three actions only
        def __init__(self, store):
            self.store = store

        def issued_form(self, form_id):
            return self.store.issued_form(form_id)

        def issued_actions(self, form_id):
            return ["POLICE-1", "POLICE-2", "POLICE-3"]

    with Store.open(ws.store_path) as store:
        read = read_return(data, filename="POLICE_actions.docx", cycle=cycle, register=Register(store))
    assert [(p.code, p.value) for p in read.problems.errors] == [("return.action-not-issued", "POLICE-4")]
    assert [u.action_id for u in read.progress.updates] == ["POLICE-1", "POLICE-2", "POLICE-3"]


def test_a_blank_progress_form_is_rejected(issued):
    ws, cycle, result = issued
    read = _read(ws, cycle, _form(ws, result, "POLICE").read_bytes())
    assert read.outcome is Outcome.REJECTED
    assert "return.empty-progress" in [p.code for p in read.problems.errors]


def test_status_counts_progress_forms_and_lists_overdue_actions_in_the_chase(issued):
    ws, cycle, result = issued
    _set(ws.root, 3, Due_date=date(2016, 1, 31))  # CCG-2
    cycle = load_cycle(ws.cycle_path)
    report = agency_status(ws, cycle)
    police = next(a for a in report.agencies if a.agency.code == "POLICE")
    assert (police.issued, police.outstanding) == (1, 1)
    assert [a.action_id for a in report.overdue["CCG"]] == ["CCG-2"]
    [ccg] = [e for e in chase_list(ws, cycle, report) if e.agency.code == "CCG"]
    text = ccg.text(cycle)
    assert "action progress form: CCG_actions.docx" in text
    assert "CCG-2 (due 31 January 2016): Awareness raising of the thresholds criteria" in text
    shown = CliRunner().invoke(cli, ["status", "-w", str(ws.root)])
    assert "Overdue actions" in shown.output and "CCG-2" in shown.output


def test_the_command_line_writes_progress_forms_only(tmp_workspace):
    result = CliRunner().invoke(cli, ["generate-forms", "--actions", "-w", str(tmp_workspace.root)])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in tmp_workspace.forms_dir.rglob("*.docx"))
    assert written == sorted(f"{c}_actions.docx" for c in
                             ("CCG", "HEFT", "POLICE", "CSWS", "EDU", "SCH", "EY", "VOL", "SIAS"))
    assert "9 action progress form(s) written" in result.output


# --- the tracker (outbox/learning-log.xlsx) -----------------------------------------------------


def test_the_tracker_shows_the_latest_progress_with_rag_by_conditional_formatting(issued):
    from openpyxl import load_workbook

    from pipeline.actions import action_figures, latest_updates, tracked_actions
    from pipeline.report.learning_log import write_learning_log

    ws, cycle, result = issued
    (ws.inbox / "POLICE_actions.docx").write_bytes(
        fill_controls(_form(ws, result, "POLICE").read_bytes(), POLICE_ANSWERS))
    ingest_inbox(ws, cycle)
    path = write_learning_log(ws, cycle, today=date(2016, 2, 1))
    book = load_workbook(path)
    log = book["Learning log"]
    titles = [c.value for c in log[1]]
    rows = {r[0]: dict(zip(titles, r)) for r in log.iter_rows(min_row=2, values_only=True)}
    police3 = rows["POLICE-3"]
    assert (police3["Status"], police3["Latest progress"], police3["Evidence of impact"]) == (
        "Complete", "New referral checklist in use", POLICE_ANSWERS["ca:action-evidence:POLICE-3"])
    assert police3["Progress date"].date() == date.today()  # when the form was received
    assert rows["CCG-1"]["Status"] == "Complete" and rows["POLICE-2"]["Status"] == "At risk"
    status_cells = [c for c in log["I"][1:] if c.value]
    assert all(c.fill.fill_type is None for c in status_cells)  # coloured by rules, not by static fills
    rules = {r.formula[0]: r.dxf.fill.fgColor.rgb for cf in log.conditional_formatting for r in cf.rules}
    assert set(rules) == {'"Complete"', '"On track"', '"At risk"', '"Overdue"', '"Not started"'}
    assert rules['"Overdue"'].endswith("FFC7CE")
    assert log.auto_filter.ref.startswith("A1:L")
    # the summary sheet states the same numbers as the report's figures
    with Store.open(ws.store_path) as store:
        figures = action_figures(tracked_actions(cycle, latest_updates(store.progress_returns()), date(2016, 2, 1)))
    summary = book["Summary"]
    by_status = {r[0]: r[1] for r in summary.iter_rows(min_row=2, max_row=7, values_only=True)}
    assert by_status == {**{s.value: n for s, n in figures.by_status}, "Total": figures.total}
    assert by_status["Complete"] == 2 and by_status["On track"] == 1 and by_status["At risk"] == 1
    assert len(summary._charts) == 1


# --- the report ------------------------------------------------------------------------------


def _body_texts(doc) -> list[str]:
    w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    return ["".join(t.text or "" for t in p.iter(f"{w}t")) for p in doc.element.body.iter(f"{w}p")]


@pytest.fixture
def reported(issued, simulated):
    """POLICE's progress form ingested (one note naming a child), CCG-2 overdue, HEFT-1 raised last round and done."""
    from docx import Document

    from pipeline.report import build_report

    ws, cycle, result = issued
    child = cycle.case("N-01").child_name.split()[0]
    answers = {**POLICE_ANSWERS, "ca:action-progress:POLICE-2": f"Waiting on {child}'s school to confirm"}
    (ws.inbox / "POLICE_actions.docx").write_bytes(fill_controls(_form(ws, result, "POLICE").read_bytes(), answers))
    ingest_inbox(ws, cycle)
    _set(ws.root, 3, Due_date=date(2016, 1, 31))  # CCG-2
    _set(ws.root, 4, Round_raised="2014-15", Status="Complete", Evidence_of_impact="Thresholds used in 9 of 10 cases")
    cycle = load_cycle(ws.cycle_path)
    built = build_report(ws, cycle, returns=[], summaries=[], issued=())
    return ws, cycle, built, Document(str(built.path))


def test_appendix_3_shows_each_actions_latest_status_and_the_agencys_words(reported):
    ws, cycle, built, doc = reported
    appendix = next(t for t in doc.tables if [c.text for c in t.rows[0].cells][:2] == ["Agency", "Actions to be taken"])
    rows = {r.cells[1].text: [c.text for c in r.cells] for r in appendix.rows[1:]}
    today = date.today()
    updated = f"(updated {today.day} {today:%B %Y})"
    assert rows["Engage and understand"][2:] == [
        f"Status: On track {updated}\n\u201cTraining delivered to 3 of 4 response teams; the last in March.\u201d", "No"]
    assert rows["Respond and resolved"][2:] == [f"Status: Complete {updated}\n\u201cNew referral checklist in use\u201d",
                                                "Yes"]
    assert rows["Awareness raising of the thresholds criteria is taking place"][2] == \
        "Status: Overdue\nNo update received yet."
    # the note naming a child is not quoted (the report would otherwise be refused)
    assert rows["Predict and prevent"][2] == f"Status: At risk {updated}\n" + \
        "The agency's note is not quoted here because it names a child; see the action tracker."


def test_table_1_shows_each_learning_actions_status(reported):
    _ws, _cycle, _built, doc = reported
    table = next(t for t in doc.tables if t.rows[0].cells[0].text == "Learning point")
    assert [r.cells[1].paragraphs[-1].text for r in table.rows[1:]] == ["Status: Not started"] * 7


def test_progress_on_actions_in_the_conclusion_agrees_with_the_tracker(reported):
    from openpyxl import load_workbook

    ws, cycle, built, doc = reported
    texts = _body_texts(doc)
    conclusion = len(texts) - 1 - texts[::-1].index("Conclusion and Recommendations")  # the heading, not contents
    at = texts.index("Progress on actions", conclusion)
    summary = {r[0]: r[1] for r in load_workbook(ws.learning_log_path)["Summary"].iter_rows(
        min_row=2, max_row=7, values_only=True)}
    assert summary == {"Complete": 3, "On track": 1, "At risk": 1, "Overdue": 1, "Not started": 33, "Total": 39}
    assert texts[at + 1] == ("Of the 39 actions recorded, 3 are complete, 1 is on track, 1 is at risk and 1 is "
                             "overdue; 33 have not started.")
    # raised in an earlier round and completed since: listed as completed
    assert texts[at + 2] == "1 action raised in an earlier round has been completed since:"
    assert texts[at + 3].startswith("HEFT-1 (2014-15): Heighten the awareness")


def test_a_child_named_in_a_progress_note_is_taken_out_of_the_tracker(reported):
    from openpyxl import load_workbook

    ws, cycle, _built, _doc = reported
    child = cycle.case("N-01").child_name.split()[0]
    log = load_workbook(ws.learning_log_path)["Learning log"]
    titles = [c.value for c in log[1]]
    row = next(dict(zip(titles, r)) for r in log.iter_rows(min_row=2, values_only=True) if r[0] == "POLICE-2")
    assert row["Latest progress"].startswith("Waiting on ") and child.casefold() not in row["Latest progress"].casefold()


# --- the next round: carried forward, asked about, reported as completed since ----------------------


def test_a_second_round_carries_open_actions_asks_for_progress_and_reports_them(issued, tmp_path):
    """What `init --from` and `demo --rounds 2` do with these library functions (the rounds issue wires them)."""
    from pipeline.actions import carried_open_actions
    from pipeline.carry import carry_actions_into
    from pipeline.progress_demo import fill_progress_forms
    from pipeline.report import build_report
    from pipeline.workspace import init_workspace

    ws, cycle, _result = issued
    _set(ws.root, 3, Due_date=date(2016, 1, 31))  # CCG-2: open, overdue
    previous = load_cycle(ws.cycle_path)
    nxt = init_workspace(tmp_path / "round2", example=True)
    book = openpyxl.load_workbook(nxt.cycle_path)
    settings = book["Settings"]
    for row in settings.iter_rows(min_row=2):
        if row[0].value == "Cycle reference":
            row[1].value = "2016-17"
    book.save(nxt.cycle_path)
    carried = carry_actions_into(nxt.cycle_path, previous, today=date(2016, 4, 1))
    assert "CCG-1" not in carried.agency and "CCG-2" in carried.agency and len(carried.agency) == 31
    assert carried.learning == ("L1", "L2", "L3", "L4", "L5", "L6", "L7")
    round2 = load_cycle(nxt.cycle_path)
    ccg2 = next(a for a in round2.agency_actions if a.action_id == "CCG-2")
    assert (ccg2.round_raised, ccg2.due) == ("2015-16", date(2016, 1, 31))
    assert len(carried_open_actions(round2)) == 38  # generate-forms will also issue progress forms

    written = generate_progress_forms(nxt, round2).written
    with Store.open(nxt.store_path) as store:
        assert len(fill_progress_forms(nxt, written, store)) == 9
    run = ingest_inbox(nxt, round2)
    assert {f.outcome for f in run.files} == {"accepted"}, [(f.file, f.message) for f in run.files]
    built = build_report(nxt, round2, returns=[], summaries=[], issued=())
    from docx import Document
    texts = _body_texts(Document(str(built.path)))
    conclusion = len(texts) - 1 - texts[::-1].index("Conclusion and Recommendations")
    at = texts.index("Progress on actions", conclusion)
    # each agency's actions in turn complete, on track, at risk, overdue (progress_demo); learning actions: no form
    assert texts[at + 1] == ("Of the 38 actions recorded, 11 are complete, 10 are on track, 7 are at risk and 3 are "
                             "overdue; 7 have not started.")
    assert texts[at + 2] == "11 actions raised in an earlier round have been completed since:"
    assert texts[at + 3].startswith("CCG-2 (2015-16): Awareness raising")


def test_comms_edits_to_progress_on_actions_carry_over_and_are_flagged_when_the_counts_move(issued):
    from docx import Document

    from pipeline.report import build_report

    ws, cycle, result = issued
    first = build_report(ws, cycle, returns=[], summaries=[], issued=())
    doc = Document(str(first.path))
    paragraphs = doc.paragraphs
    at = next(i for i, p in enumerate(paragraphs) if p.style.name == "Heading 2" and p.text == "Progress on actions")
    paragraphs[at + 1].text = "Agencies are making steady progress on the actions agreed."
    doc.save(str(first.path))
    (ws.inbox / "POLICE_actions.docx").write_bytes(
        fill_controls(_form(ws, result, "POLICE").read_bytes(), POLICE_ANSWERS))
    ingest_inbox(ws, cycle)
    second = build_report(ws, cycle, returns=[], summaries=[], issued=())
    paragraphs = Document(str(second.path)).paragraphs
    at = next(i for i, p in enumerate(paragraphs) if p.style.name == "Heading 2" and p.text == "Progress on actions")
    assert paragraphs[at + 1].text == "Agencies are making steady progress on the actions agreed."
    assert "progress-on-actions" in second.carried
    [stale] = [s for s in second.stale if s.region == "progress-on-actions"]
    assert any("was \u201cOf the 39 actions recorded, 1 is complete" in c and
               "now \u201cOf the 39 actions recorded, 2 are complete, 1 is on track, 1 is at risk" in c
               for c in stale.changes), stale.changes


def test_generate_forms_also_asks_for_progress_once_a_round_has_actions_carried_forward(tmp_workspace):
    _set(tmp_workspace.root, 7, Round_raised="2014-15")  # POLICE-1, raised last round and still open
    result = CliRunner().invoke(cli, ["generate-forms", "-w", str(tmp_workspace.root)])
    assert result.exit_code == 0, result.output
    police = sorted(p.name for p in (tmp_workspace.forms_dir / "POLICE").glob("*.docx"))
    assert "POLICE_actions.docx" in police and "POLICE_summary.docx" in police
    assert "9 action progress form(s) written" in result.output


def _row_of(ws_root: Path, action_id: str) -> int:
    sheet = openpyxl.load_workbook(ws_root / "cycle.xlsx", read_only=True)[AGENCY_ACTIONS]
    column = next(c.column for c in sheet[1] if c.value == "Action ID")
    return next(r for r, row in enumerate(sheet.iter_rows(min_row=2, values_only=True), start=2)
                if row[column - 1] == action_id)


def test_plain_status_lists_overdue_actions_from_the_kept_cycle_as_from_the_models(issued):
    """`status` reads the kept plain cycle and the store's plain rows (no pydantic): the same overdue actions, with
    an agency's progress form counted (POLICE-3 marked Complete is not overdue; POLICE-2 at risk past its date is)."""
    from pipeline.cache import Plain, load_cycle_cached, load_cycle_plain
    from pipeline.status import overdue_actions

    ws, _cycle, result = issued
    _set(ws.root, 3, Due_date=date(2016, 1, 31))  # CCG-2
    for action_id in ("POLICE-2", "POLICE-3"):
        _set(ws.root, _row_of(ws.root, action_id), Due_date=date(2016, 1, 31))
    (ws.inbox / "POLICE_actions.docx").write_bytes(
        fill_controls(_form(ws, result, "POLICE").read_bytes(), POLICE_ANSWERS))
    models = load_cycle_cached(ws, ws.cycle_path)
    assert ingest_inbox(ws, models).files[0].outcome == "accepted"
    plain = load_cycle_plain(ws, ws.cycle_path)
    assert isinstance(plain, Plain)  # the kept copy, not the models
    with Store.open(ws.store_path) as store:
        from_models, from_plain = overdue_actions(store, models), overdue_actions(store, plain)
    assert {k: [a.action_id for a in v] for k, v in from_plain.items()} == {"CCG": ["CCG-2"], "POLICE": ["POLICE-2"]}
    assert from_plain == from_models
    for _ in range(2):  # the first run keeps the cycle if need be; the second is every later `status`
        shown = CliRunner().invoke(cli, ["status", "-w", str(ws.root)])
    lines = [line.split() for line in shown.output.splitlines()]
    assert ["POLICE", "POLICE-2", "due", "31", "Jan", "2016"] in [line[:6] for line in lines]
    assert "POLICE-3" not in [w for line in lines if "due" in line for w in line]


def test_the_progress_sentence_reads_well_for_one_action_and_for_many():
    from pipeline.wording import actions_sentence

    assert actions_sentence(1, 0, 0, 0, 1, 0) == "One action has been recorded; it is overdue."
    assert actions_sentence(1, 0, 0, 0, 0, 1) == "One action has been recorded; it is not started yet."
    assert actions_sentence(3, 1, 0, 0, 1, 1) == ("Of the 3 actions recorded, 1 is complete, 0 are on track, 0 are at "
                                                  "risk and 1 is overdue; 1 has not started.")
