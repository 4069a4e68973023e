"""Behaviour that keeps the commands fast at a thousand returns (issue 11), tested on real files, never timed.

- outbox/results.xlsx is not written again when nothing in it would change (build-report straight after
  ingest used to rewrite every sheet ingest had just written), and is written again whenever anything in
  it would: a new return, the cycle workbook edited, the file itself edited or deleted by the officer.
- generate-forms run again with nothing new writes nothing, and writes only the forms of a case added.
- The cycle workbook is read with openpyxl once per change to it, not by every command (status starts
  without openpyxl): the copy kept is exactly what the workbook gives, and any edit to the workbook is seen.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

from pipeline.cache import CYCLE_CACHE_NAME, load_cycle_cached
from pipeline.demo import simulate_agency_returns
from pipeline.forms import generate_forms
from pipeline.ingest import ingest_inbox
from pipeline.models import Case
from pipeline.problems import CaseAuditError
from pipeline.report import build_report
from pipeline.report.excel import BY_AGENCY, BY_STANDARD
from pipeline.workbook import load_cycle


def written(path: Path) -> tuple[int, int]:
    """What tells one write of a file from the next: atomic writes replace the file (a new inode)."""
    st = path.stat()
    return st.st_ino, st.st_mtime_ns


@pytest.fixture
def ingested(tmp_workspace):
    """The example cycle issued, every simulated return but one ingested; that one held back in `late`."""
    ws = tmp_workspace
    cycle = load_cycle(ws.cycle_path)
    simulate_agency_returns(ws, cycle, generate_forms(ws, cycle))
    late = sorted((ws.inbox / "returned-by-email").glob("*.docx"))[0]
    held = ws.root / "held-back" / late.name
    held.parent.mkdir()
    late.rename(held)
    result = ingest_inbox(ws, cycle)
    assert result.results_written and ws.results_path.is_file()
    return ws, cycle, held


def test_build_report_after_ingest_leaves_results_workbook_as_ingest_wrote_it(ingested):
    ws, cycle, _ = ingested
    before = written(ws.results_path)
    built = build_report(ws, cycle)
    assert built.results == ws.results_path
    assert written(ws.results_path) == before
    # and what ingest wrote is what build-report would have written: its summary sheets hold the report's figures
    book = openpyxl.load_workbook(ws.results_path, read_only=True)
    assert {BY_STANDARD, BY_AGENCY} <= set(book.sheetnames)
    rows = list(book[BY_STANDARD].iter_rows(min_row=2, max_row=1 + len(built.findings.standards), values_only=True))
    assert [(r[1], r[3], r[4]) for r in rows] == [(s.number, s.cases_met, s.cases_assessed)
                                                  for s in built.findings.standards]
    book.close()


def test_second_build_report_does_not_write_results_workbook_again(ingested):
    ws, cycle, _ = ingested
    build_report(ws, cycle)
    before = written(ws.results_path)
    again = build_report(ws, cycle)
    assert again.version == 2 and again.results == ws.results_path
    assert written(ws.results_path) == before


def test_a_late_return_rewrites_results_workbook_with_its_rows(ingested):
    ws, cycle, held = ingested
    build_report(ws, cycle)
    before = written(ws.results_path)
    agency, case_ref = held.stem.split("_", 1)
    held.rename(ws.inbox / held.name)
    assert ingest_inbox(ws, cycle).results_written
    assert written(ws.results_path) != before
    book = openpyxl.load_workbook(ws.results_path, read_only=True)
    cases = {(r[0], r[2]) for r in book["Responses"].iter_rows(min_row=2, values_only=True)}
    book.close()
    assert (agency, case_ref) in cases
    after_ingest = written(ws.results_path)
    build_report(ws, cycle)
    assert written(ws.results_path) == after_ingest


def test_an_edited_cycle_workbook_rewrites_results_workbook(ingested):
    ws, cycle, _ = ingested
    build_report(ws, cycle)
    before = written(ws.results_path)
    first = cycle.agencies[0]
    renamed = cycle.model_copy(update={"agencies": (first.model_copy(update={"name": "Renamed Agency Trust"}),
                                                    *cycle.agencies[1:])})
    build_report(ws, renamed)
    assert written(ws.results_path) != before
    book = openpyxl.load_workbook(ws.results_path, read_only=True)
    names = {r[1] for r in book["Responses"].iter_rows(min_row=2, values_only=True) if r[0] == first.code}
    book.close()
    assert names == {"Renamed Agency Trust"}


def test_results_workbook_edited_or_deleted_by_the_officer_is_written_again(ingested):
    ws, cycle, _ = ingested
    book = openpyxl.load_workbook(ws.results_path)
    book["Responses"]["A2"] = "typed over"
    book.save(ws.results_path)
    build_report(ws, cycle)
    book = openpyxl.load_workbook(ws.results_path, read_only=True)
    assert next(book["Responses"].iter_rows(min_row=2, max_row=2, values_only=True))[0] != "typed over"
    book.close()
    ws.results_path.unlink()
    build_report(ws, cycle)
    assert ws.results_path.is_file()


def test_generate_forms_again_writes_nothing_and_then_only_a_new_case(tmp_workspace):
    ws = tmp_workspace
    cycle = load_cycle(ws.cycle_path)
    first = generate_forms(ws, cycle)
    assert first.written
    assert not generate_forms(ws, cycle).written
    template = cycle.cases[0]
    added = Case(ref="NEW-01", priority_area=template.priority_area, child_name="Quentin Zarkovsky",
                 agencies=template.agencies[:2])
    more = generate_forms(ws, cycle.model_copy(update={"cases": (*cycle.cases, added)}))
    assert sorted((f.agency, f.case_ref) for f in more.written) == sorted((a, "NEW-01") for a in added.agencies)


# --- the cycle workbook, read once per change -------------------------------------------------------


def test_cycle_read_from_the_kept_copy_is_the_cycle_read_from_the_workbook(tmp_workspace, monkeypatch):
    ws = tmp_workspace
    ws.ensure_folders()
    fresh = load_cycle(ws.cycle_path)
    assert load_cycle_cached(ws, ws.cycle_path) == fresh
    assert (ws.state_dir / CYCLE_CACHE_NAME).is_file()

    def no_workbook(path):
        raise AssertionError("the workbook was read again")

    monkeypatch.setattr("pipeline.workbook.load_cycle", no_workbook)
    kept = load_cycle_cached(ws, ws.cycle_path)
    assert kept == fresh and kept.model_dump() == fresh.model_dump()


def test_an_edited_cycle_workbook_is_read_again(tmp_workspace):
    ws = tmp_workspace
    ws.ensure_folders()
    before = load_cycle_cached(ws, ws.cycle_path)
    book = openpyxl.load_workbook(ws.cycle_path)
    sheet = book["Agencies"]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == before.agencies[0].code)
    name_col = next(c.column - 1 for c in sheet[1] if c.value == "Full name")
    row[name_col].value = "Renamed Agency Trust"
    book.save(ws.cycle_path)
    after = load_cycle_cached(ws, ws.cycle_path)
    assert after.agencies[0].name == "Renamed Agency Trust" == load_cycle(ws.cycle_path).agencies[0].name


def test_a_damaged_kept_copy_is_ignored_and_replaced(tmp_workspace):
    ws = tmp_workspace
    ws.ensure_folders()
    fresh = load_cycle_cached(ws, ws.cycle_path)
    kept = ws.state_dir / CYCLE_CACHE_NAME
    key = kept.read_bytes().split(b"\n", 1)[0]
    kept.write_bytes(key + b"\n{\"settings\": 1")
    assert load_cycle_cached(ws, ws.cycle_path) == fresh
    assert load_cycle_cached(ws, ws.cycle_path) == fresh and kept.read_bytes() != key + b"\n{\"settings\": 1"


def test_a_cycle_workbook_with_errors_is_refused_every_time(tmp_workspace):
    ws = tmp_workspace
    ws.ensure_folders()
    load_cycle_cached(ws, ws.cycle_path)
    book = openpyxl.load_workbook(ws.cycle_path)
    del book["Agencies"]
    book.save(ws.cycle_path)
    for _ in range(2):
        with pytest.raises(CaseAuditError):
            load_cycle_cached(ws, ws.cycle_path)


# --- what `status` loads to start ---------------------------------------------------------------------


def test_status_starts_without_openpyxl_numpy_pydantic_or_the_form_reader(tmp_workspace):
    """Imports were most of `case-audit status`'s start-up: the cycle workbook (openpyxl, numpy), the status
    workbook writer (only for --xlsx), the returned-form reader and pydantic with the models (status reads the kept
    cycle and the store's rows as plain data) are not loaded for a plain `status`."""
    ws = tmp_workspace
    generate_forms(ws, load_cycle(ws.cycle_path))
    probe = ("import sys\nfrom pipeline.cli import cli\n"
             "try:\n    cli(['status', '--workspace', sys.argv[1]], prog_name='case-audit')\nexcept SystemExit as exit:\n"
             "    assert exit.code in (0, None, 1), exit.code\n"
             "print(' '.join(sorted(m for m in sys.modules if '.' not in m or m.startswith('pipeline.'))))\n")
    runs = [subprocess.run([sys.executable, "-c", probe, str(ws.root)], capture_output=True, text=True, timeout=120)
            for _ in range(2)]  # the first reads cycle.xlsx and keeps it; the second is every later `status`
    assert all(r.returncode == 0 for r in runs), runs[-1].stderr
    assert "Outstanding" in runs[1].stdout
    loaded = set(runs[1].stdout.split())
    assert "pipeline.status" in loaded
    assert not loaded & {"openpyxl", "numpy", "matplotlib", "docx", "docxtpl", "pipeline.returns", "pipeline.results",
                         "pipeline.workbook", "pydantic", "pipeline.models"}


def test_status_problem_code_for_a_named_child_is_the_one_ingest_records():
    from pipeline import returns, status

    assert status.CHILD_NAMED == returns.CHILD_NAMED


# --- charts drawn once per change of their figures -----------------------------------------------------


def chart_images(report: Path) -> list[bytes]:
    with zipfile.ZipFile(report) as z:
        return [z.read(n) for n in sorted(z.namelist()) if n.startswith("word/media/")]


def test_a_rebuild_with_the_same_figures_draws_no_chart_and_shows_the_same_ones(ingested, monkeypatch):
    ws, cycle, _ = ingested
    first = build_report(ws, cycle)

    def no_drawing(fig):
        raise AssertionError("a chart was drawn again")

    monkeypatch.setattr("pipeline.report.charts._png", no_drawing)
    again = build_report(ws, cycle)
    assert chart_images(again.path) == chart_images(first.path) and len(chart_images(first.path)) == 6


def test_a_late_return_redraws_the_charts_it_changes_and_old_ones_are_removed(ingested, monkeypatch):
    ws, cycle, held = ingested
    first = build_report(ws, cycle)
    kept_before = set((ws.state_dir / "charts").glob("*.chart"))
    held.rename(ws.inbox / held.name)
    ingest_inbox(ws, cycle)
    from pipeline.report import charts

    drawn = []
    original = charts._png
    monkeypatch.setattr("pipeline.report.charts._png", lambda fig: drawn.append(1) or original(fig))
    again = build_report(ws, cycle)
    assert drawn  # the late return's figures changed at least the agency grid
    assert chart_images(again.path) != chart_images(first.path)
    kept_after = set((ws.state_dir / "charts").glob("*.chart"))
    assert len(kept_after) == 6 and kept_after != kept_before


def test_a_damaged_kept_chart_is_drawn_again(ingested):
    ws, cycle, _ = ingested
    first = build_report(ws, cycle)
    for path in (ws.state_dir / "charts").glob("*.chart"):
        path.write_bytes(b"{not json\n")
    again = build_report(ws, cycle)
    assert chart_images(again.path) == chart_images(first.path)


def test_a_build_spares_what_lives_through_it_from_the_collector_and_hands_it_all_back(ingested, monkeypatch):
    """The objects a build holds to the end (modules, the cycle, the returns, the findings) are frozen out of the
    garbage collector's full passes, which walked them all again three times a build (0.15 s at 1,000 returns);
    everything is handed back when the build ends, also when it refuses; a collector someone else froze is left
    as it was."""
    import gc

    from pipeline.report import build as report_build

    ws, cycle, _ = ingested
    frozen_while_rendering = []
    render = report_build.render_report

    def spy(*args, **kwargs):
        frozen_while_rendering.append(gc.get_freeze_count())
        if len(frozen_while_rendering) == 2:
            raise CaseAuditError.single("report.child-named", "refused", "")
        return render(*args, **kwargs)

    monkeypatch.setattr(report_build, "render_report", spy)
    build_report(ws, cycle)
    assert gc.get_freeze_count() == 0
    with pytest.raises(CaseAuditError):
        build_report(ws, cycle)
    assert gc.get_freeze_count() == 0
    assert min(frozen_while_rendering) > 50_000  # the findings among them

    gc.freeze()
    try:
        theirs = gc.get_freeze_count()
        build_report(ws, cycle)
        assert frozen_while_rendering[-1] <= theirs  # none frozen by the build (some of theirs freed since)
        assert 0 < gc.get_freeze_count() <= theirs  # and theirs not handed back by it
    finally:
        gc.unfreeze()
