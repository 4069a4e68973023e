"""Issue 12: an audit programme. Rounds carried forward (init --from), subset rounds, comparison with the
previous round in the report, the trend across rounds."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from pipeline import workbook
from pipeline.models import wording_fingerprint
from pipeline.cli import cli
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


def as_made_before_rounds(wb) -> None:
    """A cycle workbook as the tool made it before rounds: no 'In this round' column, no round settings."""
    for sheet in (workbook.KLOES, workbook.STANDARDS):
        ws = wb[sheet]
        ws.delete_cols(_column(ws, "In this round"))
    ws = wb[workbook.SETTINGS]
    for row in reversed(list(ws.iter_rows(min_row=2))):
        if row[0].value in ("Round name", "Theme", "Previous round"):
            ws.delete_rows(row[0].row)


def test_an_old_workbook_without_the_round_columns_still_loads_with_everything_in(tmp_workspace):
    _edit(tmp_workspace.cycle_path, as_made_before_rounds)
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


from pipeline.child_names import find_name, terms_for  # noqa: E402
from pipeline.ooxml.package import read_parts  # noqa: E402
from pipeline.rounds import start_round  # noqa: E402


@pytest.fixture(scope="module")
def programme(tmp_path_factory):
    """`case-audit demo --rounds 2`, run once: the 2015-16 round, then the 2016-17 neglect round from it."""
    root = tmp_path_factory.mktemp("programme") / "audit-2015-16"
    result = CliRunner().invoke(cli, ["demo", str(root), "--rounds", "2"])
    assert result.exit_code == 0, result.output
    return root, root.with_name("audit-2015-16-2016-17"), result.output


@pytest.fixture(scope="module")
def round_one(programme):
    """The demo's 2015-16 round: forms issued, simulated returns ingested, report built."""
    from pipeline.workspace import Workspace

    return Workspace(programme[0])


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


def test_completed_actions_are_not_carried_and_open_ones_keep_their_id_round_and_latest_progress(round_one, tmp_path):
    """init --from carries the tracker's open actions (issue 13): one marked Complete in the workbook and one an
    agency's progress form says is Complete stay behind; the others keep their ID and round raised, with the
    latest status and progress from the earlier round's progress forms (read from a copy of its store)."""
    import shutil as _sh

    from pipeline.ingest import ingest_inbox
    from pipeline.ooxml.controls import fill_controls
    from pipeline.progress import generate_progress_forms
    from pipeline.workbook import LEARNING_ACTIONS
    from pipeline.workspace import Workspace

    old_copy = tmp_path / "old"
    _sh.copytree(round_one.root, old_copy)
    book = openpyxl.load_workbook(old_copy / "cycle.xlsx")
    sheet = book[LEARNING_ACTIONS]
    titles = [c.value for c in sheet[1]]
    sheet.cell(2, titles.index("Status") + 1, "Complete")
    sheet.cell(2, titles.index("Evidence of impact") + 1, "Thresholds used in every referral sampled")
    book.save(old_copy / "cycle.xlsx")
    old_ws = Workspace(old_copy)
    old = load_cycle(old_ws.cycle_path)
    first = old.learning_actions[0]
    written = generate_progress_forms(old_ws, old).written
    police = old_ws.root / next(w.path for w in written if w.agency == "POLICE")
    (old_ws.inbox / police.name).write_bytes(fill_controls(police.read_bytes(), {
        "ca:action-status:POLICE-1": "On track", "ca:action-progress:POLICE-1": "Training delivered to 3 of 4 teams",
        "ca:action-status:POLICE-3": "Complete", "ca:action-progress:POLICE-3": "Checklist in use",
        "ca:action-evidence:POLICE-3": "Consent recorded in 9 of 10 referrals",
        "ca:action-status:POLICE-2": "At risk", "ca:action-status:POLICE-4": "Not started"}))
    assert [f.outcome for f in ingest_inbox(old_ws, old).files] == ["accepted"]
    store_before = old_ws.store_path.read_bytes()

    result = start_round(tmp_path / "new", old_copy)
    carried = read_cycle(tmp_path / "new" / "cycle.xlsx").cycle
    assert [la.action_id for la in carried.learning_actions] == [la.action_id for la in old.learning_actions[1:]]
    assert first.learning_point not in [la.learning_point for la in carried.learning_actions]
    assert [la.number for la in carried.learning_actions] == list(range(1, len(old.learning_actions)))
    ids = [a.action_id for a in carried.agency_actions]
    assert "POLICE-3" not in ids and "POLICE-1" in ids
    assert len(ids) == len([a for a in old.agency_actions if not a.completed and a.status != "Complete"]) - 1
    police1 = next(a for a in carried.agency_actions if a.action_id == "POLICE-1")
    assert (police1.round_raised, police1.status.value, police1.progress) == (
        "2015-16", "On track", "Training delivered to 3 of 4 teams")
    assert {a.round_raised for a in carried.agency_actions} == {"2015-16"}
    assert any("open agency action(s)" in line for line in result.carried)
    assert old_ws.store_path.read_bytes() == store_before  # the earlier store is read from a copy, never upgraded


def test_init_from_a_folder_that_is_not_a_round_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "new"), "--from", str(tmp_path / "empty")])
    assert result.exit_code == 2 and "not an audit workspace" in result.output
    assert not (tmp_path / "new" / "cycle.xlsx").exists()


# --- steps 3-6: a subset round, compared with the previous one; the trend; the demo ------------------------

import re  # noqa: E402

from docx import Document  # noqa: E402

from pipeline import comparison  # noqa: E402
from pipeline.findings import percent  # noqa: E402
from pipeline.report import build_report  # noqa: E402
from pipeline.wording import SMALL_CHANGE_RULE  # noqa: E402
from pipeline.workspace import Workspace  # noqa: E402

SHARE = re.compile(r"(\d+)% \((\d+) of (\d+)\)")


def _paragraphs(path: Path) -> list[tuple[str, str]]:
    doc = Document(str(path))
    out = [(p.style.name, p.text) for p in doc.paragraphs]
    for table in doc.tables:
        out += [("cell", c.text) for row in table.rows for c in row.cells]
    return out


def _latest_report(root: Path) -> Path:
    return max((root / "outbox" / "report").glob("overview-report*.docx"), key=lambda p: p.stat().st_mtime_ns)


def _heading1(paragraphs) -> list[str]:
    return [t for style, t in paragraphs if style == "Heading 1"]


def test_the_demo_says_where_both_reports_and_the_trend_are(programme):
    first, second, output = programme
    assert str(first / "outbox" / "report" / "overview-report.docx") in output
    assert str(second / "outbox" / "report" / "overview-report.docx") in output
    assert str(second / "outbox" / "trend.xlsx") in output


def test_round_two_asks_for_progress_on_the_carried_actions_and_reports_it(programme):
    """demo --rounds 2: each agency with open actions carried from 2015-16 gets a progress form, returned filled in
    (simulated), so round two's report says how many of those actions were completed since."""
    _first, second, output = programme
    forms = sorted(p.name for p in (second / "outbox" / "forms").rglob("*_actions.docx"))
    assert len(forms) == 9 and "POLICE_actions.docx" in forms
    assert "9 action progress forms written, 9 filled in" in output
    text = [t for _, t in _paragraphs(second / "outbox" / "report" / "overview-report.docx")]
    at = len(text) - 1 - text[::-1].index("Progress on actions")
    assert re.match(r"Of the \d+ actions recorded, ([1-9]\d*) are complete", text[at + 1]), text[at + 1]
    assert re.match(r"\d+ actions? raised in an earlier round ha(s|ve) been completed since:", text[at + 2])


def test_a_subset_round_issues_forms_and_reports_on_its_standards_only(programme):
    first, second, _ = programme
    whole = read_cycle(second / "cycle.xlsx").cycle
    kloe5 = whole.kloe(5)
    assert not kloe5.in_round
    forms = list((second / "outbox" / "forms").rglob("*.docx"))
    assert forms
    some_form = " ".join(t for _, t in _paragraphs(next(f for f in forms if "summary" not in f.name)))
    assert whole.kloe(4).question in some_form and kloe5.question not in some_form
    report = _paragraphs(second / "outbox" / "report" / "overview-report.docx")
    text = "\n".join(t for _, t in report)
    assert kloe5.question not in text
    assert whole.standard(19).text not in text  # a standard of KLOE 5
    assert whole.standard(18).finding_met in text
    # round one's report does ask KLOE 5
    assert kloe5.question in "\n".join(t for _, t in _paragraphs(first / "outbox" / "report" / "overview-report.docx"))


def test_round_twos_report_passes_round_ones_checks_and_compares(programme):
    first, second, _ = programme
    report = _paragraphs(second / "outbox" / "report" / "overview-report.docx")
    h1 = _heading1(report)
    order = ["Executive Summary", "Introduction", "Methodology", "Findings", "Summary of Findings",
             "Compared with the previous audit", "The Learning Event", "Conclusion and Recommendations",
             "Appendix 1: Case Audit Toolkit"]
    assert [h for h in h1 if h in order] == order
    checked = 0
    for _, text in report:
        for m in SHARE.finditer(text):
            p_, a, b = map(int, m.groups())
            assert percent(a, b) == p_, m.group(0)
            checked += 1
    assert checked >= 18 * 2
    text = "\n".join(t for _, t in report)
    assert "Standard 15: 100% (6 of 6), up from 55% (6 of 11) in 2015-16" in text
    assert "Standard 16: 33% (2 of 6), down from 100% (11 of 11) in 2015-16" in text
    assert "Standard 1: 83% (5 of 6), about the same as 82% (9 of 11) in 2015-16" in text
    assert "Both audits counted a case as meeting a standard under the same rule ('majority')." in text
    assert text.count(SMALL_CHANGE_RULE) == 2  # in the Methodology, and introducing the comparison
    heads = [i for i, (style, t) in enumerate(report) if style == "Heading 1"]
    start = next(i for i in heads if report[i][1] == "Executive Summary")
    executive = "\n".join(t for _, t in report[start:next(i for i in heads if i > start)])
    assert "Compared with 2015-16, the standards that moved most were: Standard 15" in executive
    for root in (first, second):
        terms = terms_for(read_cycle(root / "cycle.xlsx").cycle)
        assert find_name(_texts(second / "outbox" / "report" / "overview-report.docx"), terms) is None
    doc = Document(str(second / "outbox" / "report" / "overview-report.docx"))
    alts = [el.get("descr") for el in doc.element.body.iter() if el.tag.endswith("}docPr")]
    assert any(a and "Standard 15: 2015-16 55% (6 of 11); 2016-17 100% (6 of 6); up." in a for a in alts)


@pytest.mark.parametrize("now_met, now_n, then_met, then_n, expected", [
    (9, 11, 7, 11, "about the same"),   # two cases more: about the same, never an improvement
    (10, 11, 7, 11, "up"),              # three cases more
    (5, 11, 7, 11, "about the same"),
    (4, 11, 7, 11, "down"),
    (6, 6, 6, 11, "up"),                # 55% of 6 cases is 3.3: 2.7 more
    (5, 6, 6, 11, "about the same"),    # 1.7 more
    (0, 0, 7, 11, "not compared"),
])
def test_a_change_of_one_or_two_cases_is_about_the_same(now_met, now_n, then_met, then_n, expected):
    assert comparison.direction(now_met, now_n, then_met, then_n)[0] == expected


def _copy_round_two(programme, tmp_path: Path, **settings) -> Workspace:
    first, second, _ = programme
    target = tmp_path / "round-2"
    shutil.copytree(second, target)
    values = {"Previous round": str(first)}
    values.update(settings)
    _edit(target / "cycle.xlsx", lambda wb: [set_setting(wb, k, v) for k, v in values.items()])
    return Workspace(target)


def test_a_reworded_standard_is_not_compared_and_a_changed_counting_rule_is_stated(programme, tmp_path):
    ws = _copy_round_two(programme, tmp_path, **{"Counting rule": "all"})

    def reword(wb):
        sheet = wb[workbook.STANDARDS]
        for row in sheet.iter_rows(min_row=2):
            if row[0].value == 3:
                row[2].value = "The practitioner can show how information sharing protocols were applied."
    _edit(ws.cycle_path, reword)
    checked = CliRunner().invoke(cli, ["check", "-w", str(ws.root)])
    assert "Standard 3 is worded differently from the previous round (2015-16)" in checked.output
    assert "counts cases under the 'all' rule" in checked.output
    result = build_report(ws, load_cycle(ws.cycle_path))
    assert "round.standard-reworded" in [p.code for p in result.problems]
    text = "\n".join(t for _, t in _paragraphs(result.path))
    assert "Standard 3 was worded differently in 2015-16, so it is not compared" in text
    assert "Standard 3: " not in text.split("Compared with the previous audit")[-1].split("The Learning Event")[0]
    assert "2015-16 under the 'majority' rule, this audit under the 'all' rule" in text


def test_a_missing_previous_round_is_a_warning_with_its_path_never_a_failure(programme, tmp_path):
    ws = _copy_round_two(programme, tmp_path, **{"Previous round": "../audit-moved-away"})
    missing = (ws.root / "../audit-moved-away").resolve()
    result = build_report(ws, load_cycle(ws.cycle_path))
    warnings_ = [p for p in result.problems if p.code == "round.previous-missing"]
    assert warnings_ and str(missing) in warnings_[0].message
    assert "Compared with the previous audit" not in _heading1(_paragraphs(result.path))
    for command in (["check"], ["trend"]):
        out = CliRunner().invoke(cli, [*command, "-w", str(ws.root)])
        assert out.exit_code in (0, 1), out.output
        assert str(missing) in out.output
    assert (ws.outbox / "trend.xlsx").is_file()


def test_trend_follows_the_rounds_and_writes_a_line_chart_per_kloe(programme):
    first, second, _ = programme
    result = CliRunner().invoke(cli, ["trend", "-w", str(second)])
    assert result.exit_code == 0, result.output
    assert "2015-16" in result.output and "2016-17" in result.output
    assert re.search(r"Standard 15\s+55% \(6/11\)\s+100% \(6/6\)", result.output)
    book = openpyxl.load_workbook(second / "outbox" / "trend.xlsx")
    sheet = book["Trend"]
    rows = {r[0].value: [c.value for c in r] for r in sheet.iter_rows(min_row=5)}
    assert rows["Standard 15"][3:9] == [6, 11, 0.55, 6, 6, 1]
    assert rows["Standard 19"][6:9] == [None, None, None]  # KLOE 5 was not in the neglect round
    assert [sheet.cell(3, c).value for c in (4, 7)] == ["2015-16", "2016-17: 2016-17 neglect round"]
    assert len(book["Charts"]._charts) == 5
    # round one was only read
    assert not (first / "outbox" / "trend.xlsx").exists()


def test_comms_edits_to_the_executive_summary_carry_over_and_are_flagged_when_the_movement_changes(
        programme, tmp_path):
    ws = _copy_round_two(programme, tmp_path)
    first = build_report(ws, load_cycle(ws.cycle_path))
    doc = Document(str(first.path))
    moved = next(p for p in doc.paragraphs if p.text.startswith("Compared with 2015-16, the standards that moved"))
    moved.text = "Practice on interventions improved; escalation when they fail has slipped (comms wording)."
    doc.save(str(first.path))
    again = build_report(ws, load_cycle(ws.cycle_path))
    assert "executive-summary" in again.carried and not again.stale
    assert "(comms wording)" in "\n".join(t for _, t in _paragraphs(again.path))
    _edit(ws.cycle_path, lambda wb: set_setting(wb, "Previous round", str(tmp_path / "gone")))
    third = build_report(ws, load_cycle(ws.cycle_path))
    assert "(comms wording)" in "\n".join(t for _, t in _paragraphs(third.path))
    stale = {s.region: s for s in third.stale}
    assert "executive-summary" in stale
    assert any("no longer" in c and "Standard 15" in c for c in stale["executive-summary"].changes)


def test_init_from_an_old_workbook_adds_the_in_this_round_column(tmp_path):
    old = init_workspace(tmp_path / "old", example=True)

    _edit(old.cycle_path, as_made_before_rounds)
    start_round(tmp_path / "new", old.root)
    book = openpyxl.load_workbook(tmp_path / "new" / "cycle.xlsx")
    for sheet in (workbook.KLOES, workbook.STANDARDS):
        col = _column(book[sheet], "In this round")
        assert {book[sheet].cell(r, col).value for r in range(2, book[sheet].max_row + 1)} == {"Yes"}
    _edit(tmp_path / "new" / "cycle.xlsx", lambda wb: mark_out(wb, standards=(4,)))
    cycle = read_cycle(tmp_path / "new" / "cycle.xlsx").cycle
    assert cycle.settings.previous_round == "../old"
    assert not cycle.standard(4).in_round and cycle.standard(5).in_round


def test_round_two_is_moderated_and_its_report_shows_the_panels_changes_and_case_grades(programme):
    """demo --rounds 2: the second round's simulated moderation panel (labelled simulated) changes some ratings and
    grades every case; the report's Methodology counts the changes and Findings has the case grades table."""
    from docx import Document

    _first, second, output = programme
    assert str(second / "moderation.xlsx") in output
    doc = Document(str(second / "outbox" / "report" / "overview-report.docx"))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "A multi-agency moderation panel then reviewed the agencies' ratings and changed " in text
    assert "(Simulated moderation decisions, for the demonstration.)" in text
    assert "Case grades" in [p.text for p in doc.paragraphs if p.style.name == "Heading 2"]
    table = next(t for t in doc.tables if [c.text for c in t.rows[0].cells][:2] == ["Priority area", "Grade"])
    graded = sum(int(r.cells[2].text) for r in table.rows[1:] if r.cells[2].text.isdigit())
    assert graded == 6  # every case of the neglect round
