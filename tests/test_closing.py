"""Closing a round (issue 16): its personal data removed on the board's schedule, every figure kept, a record made.

Against a real workspace: the demo year, plus what a real year leaves behind
that names children - a return sent again under a file name with the child's
name and a note typed below the form naming two children in other spellings,
a PDF named after a child (rejected, with a feedback note), status.xlsx, and a
name in the Cases sheet's notes. Every check goes through the command line.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
import sqlite3
import zipfile
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from docx import Document

from pipeline.child_names import find_name, name_terms
from pipeline.cli import cli
from pipeline.demo import run_demo
from pipeline.store import Store
from pipeline.workbook import load_cycle
from pipeline.workspace import Workspace

from test_crashes import killed
from test_other_text import add_after_last_table
from test_returns import edit_document

DECIDED_BY = "Board minute 2026/14"
TYPED_BELOW = "Spoke to SIAN Ffug\u2011Enw's teacher and to Zofia Wymys\u0301lona's foster carer."


def run(*args: str):
    return CliRunner().invoke(cli, [*args], catch_exceptions=False)


def set_settings(root: Path, **values) -> None:
    """Type settings into cycle.xlsx as the officer would (a row added, or its value changed)."""
    book = openpyxl.load_workbook(root / "cycle.xlsx")
    sheet = book["Settings"]
    for name, value in values.items():
        row = next((r for r in sheet.iter_rows(min_row=2) if r[0].value == name), None)
        if row is None:
            sheet.append([name, value])
        else:
            row[1].value = value
    book.save(root / "cycle.xlsx")


def note_in_cases_sheet(root: Path, text: str) -> None:
    book = openpyxl.load_workbook(root / "cycle.xlsx")
    sheet = book["Cases"]
    sheet.cell(1, sheet.max_column + 1, "Notes")
    sheet.cell(2, sheet.max_column, text)
    book.save(root / "cycle.xlsx")


@pytest.fixture(scope="module")
def lived_in(tmp_path_factory) -> Path:
    """The demo year, with the traces of a real one, the retention date passed, and the report rebuilt."""
    root = tmp_path_factory.mktemp("closing") / "ws"
    run_demo(root)
    returned = next((root / "inbox" / "processed").rglob("POLICE_N-01.docx"))
    resent = edit_document(returned.read_bytes(), lambda doc: add_after_last_table(doc, TYPED_BELOW))
    (root / "inbox" / "POLICE_N-01 Sian.docx").write_bytes(resent)
    (root / "inbox" / "\u0141ucja notes.pdf").write_bytes(b"%PDF-1.4\n% scanned form\n")
    assert run("ingest", "-w", str(root)).exit_code in (0, 1)
    assert list((root / "outbox" / "feedback").rglob("*")), "the PDF was rejected with a feedback note"
    assert run("status", "--xlsx", "--chase", "-w", str(root)).exit_code == 0
    note_in_cases_sheet(root, "Dafydd Ffugiol moved school in May")
    set_settings(root, **{"Keep personal data until": date.today() - timedelta(days=1),
                          "Retention decided by": DECIDED_BY})
    built = run("build-report", "-w", str(root))
    assert built.exit_code in (0, 1), built.output
    return root


@pytest.fixture
def ws(lived_in: Path, tmp_path: Path) -> Workspace:
    shutil.copytree(lived_in, tmp_path / "ws")
    return Workspace(tmp_path / "ws")


def files_of(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.name.startswith("workspace.lock")}


def unchanged(before: dict[str, str], after: dict[str, str]) -> bool:
    """The same files with the same bytes, but for the cache of the cycle workbook (every command refreshes it)."""
    cache = ".case-audit/cycle.json"
    return {k: v for k, v in before.items() if k != cache} == {k: v for k, v in after.items() if k != cache}


# --- finding a name anywhere ---------------------------------------------------------------------------------


def texts_of(path: Path) -> list[str]:
    """Every text a file holds, as a person or a program could read it: zip members unzipped, XML with and without
    its tags, a SQLite store dumped and read raw, anything else as bytes decoded."""
    data = path.read_bytes()
    if zipfile.is_zipfile(path):
        texts = []
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                member = _without_pixels(zf.read(name)).decode("utf-8", "ignore")
                texts += [name, html.unescape(member), html.unescape(re.sub(r"<[^>]+>", "", member))]
        return texts
    if data.startswith(b"SQLite format 3"):
        conn = sqlite3.connect(path)
        try:
            dump = "\n".join(conn.iterdump())
        finally:
            conn.close()
        return [dump, json.dumps(dump), data.decode("utf-8", "ignore"), data.decode("utf-16-le", "ignore")]
    text = data.decode("utf-8", "ignore")
    if path.suffix.lower() in (".html", ".htm"):  # a picture embedded as base64 is not text: "…/ENw/…" is no name
        text = re.sub(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=\s]+", "data:", text)
    return [text, _unescaped_json(text)]


def _without_pixels(data: bytes) -> bytes:
    """A PNG's chunks but for its compressed pixels (IDAT), which are not text: deflated pixels read as UTF-8 can
    spell three letters of a name between two separators (a report's chart once held "{eNW_}"). Its other
    chunks (text, properties) are kept, as is any other file."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return data
    kept, at = [data[:8]], 8
    while at + 8 <= len(data):
        length, kind = int.from_bytes(data[at:at + 4], "big"), data[at + 4:at + 8]
        end = at + 12 + length
        if kind != b"IDAT":
            kept.append(data[at:end])
        at = end
    kept.append(data[at:])
    return b"".join(kept)


def _unescaped_json(text: str) -> str:
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)


def names_found(root: Path, cycle) -> dict[str, str]:
    """Each file (and file path) that names a child, with the term found: the privacy guard's own folded matching."""
    terms = name_terms(cycle)
    found = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        for text in [rel, *(texts_of(path) if path.is_file() else [])]:
            for chunk in (text[i:i + 200_000] for i in range(0, max(len(text), 1), 190_000)):
                hit = find_name(chunk, terms)
                if hit is not None:
                    found[rel] = f"{hit.term.case_ref} {hit.term.which}"
                    break
            if rel in found:
                break
    return found


# --- the tests -------------------------------------------------------------------------------------------------


def test_the_dry_run_changes_nothing_and_lists_exactly_what_the_confirmed_run_removes(ws):
    before = files_of(ws.root)
    dry = run("--json", "close", "-w", str(ws.root))
    assert dry.exit_code == 0, dry.output
    plan = json.loads(dry.output)
    assert files_of(ws.root) == before  # a dry run touches nothing
    assert not plan["confirmed"] and plan["problems"] == []
    assert "inbox/processed/POLICE_N-01 Sian.docx" in plan["remove"]
    assert {"cycle.xlsx", "outbox/results.xlsx", "outbox/learning-log.xlsx"} <= set(plan["keep"])
    assert set(plan["remove"]).isdisjoint(plan["keep"])

    done = run("--json", "close", "--confirm", "--by", "J Officer", "-w", str(ws.root))
    assert done.exit_code == 0, done.output
    result = json.loads(done.output)
    after = files_of(ws.root)
    removed = sorted(set(before) - set(after))
    assert removed == sorted(plan["remove"]) == sorted(result["remove"])
    assert set(plan["keep"]) <= set(after)
    assert any(p.startswith("outbox/forms/") for p in removed) and any(p.startswith(".case-audit/archive/")
                                                                       for p in removed)
    assert any(p.startswith("outbox/feedback/") for p in removed) and "outbox/status.xlsx" in removed
    assert ".case-audit/cycle.json" in removed and any(p.startswith(".case-audit/charts/") for p in removed)


def test_no_childs_name_in_any_spelling_is_left_anywhere_in_the_closed_workspace(ws):
    cycle = load_cycle(ws.cycle_path)
    before = names_found(ws.root, cycle)
    for where in ("cycle.xlsx", ".case-audit/store.sqlite3", "outbox/results.xlsx",
                  "inbox/processed/POLICE_N-01 Sian.docx", "inbox/rejected/\u0141ucja notes.pdf"):
        assert where in before, f"the scan must see the names before closing: {where} ({sorted(before)})"

    assert run("close", "--confirm", "-w", str(ws.root)).exit_code == 0

    assert names_found(ws.root, cycle) == {}
    closed = load_cycle(ws.cycle_path)
    assert [c.ref for c in closed.cases] == [c.ref for c in cycle.cases]  # case references stay
    assert {c.child_name for c in closed.cases} == {"[removed]"}
    with Store.open(ws.store_path) as store:
        typed = [o.text for r in store.current_audit_returns() for o in r.other_text]
        files = [f.original_path for f in store.received_files()]
    assert any("[name removed]" in t and "teacher" in t for t in typed)  # the words kept, the names out
    assert "POLICE_N-01 [name removed].docx" in files


def report_text(path: Path) -> tuple[list[str], list[list[str]]]:
    doc = Document(str(path))
    return [p.text for p in doc.paragraphs], [[c.text for r in t.rows for c in r.cells] for t in doc.tables]


def summary_sheets(path: Path) -> dict[str, list[tuple]]:
    book = openpyxl.load_workbook(path, read_only=True)
    return {name: list(book[name].iter_rows(values_only=True)) for name in ("By standard", "By agency")}


def test_build_report_on_the_closed_round_gives_the_same_figures_and_tables(ws):
    before_report = sorted(ws.report_dir.glob("*.docx"), key=lambda p: p.stat().st_mtime)[-1]
    before_sheets = summary_sheets(ws.results_path)
    assert run("close", "--confirm", "-w", str(ws.root)).exit_code == 0
    assert summary_sheets(ws.results_path) == before_sheets  # rebuilt from the scrubbed store, same figures

    built = run("build-report", "-w", str(ws.root))
    assert built.exit_code in (0, 1), built.output
    after_report = sorted((ws.report_dir).glob("*.docx"), key=lambda p: p.stat().st_mtime)[-1]
    assert after_report != before_report
    assert report_text(after_report) == report_text(before_report)
    assert summary_sheets(ws.results_path) == before_sheets


def test_the_closure_record_says_what_was_removed_when_by_whom_and_why(ws):
    before = files_of(ws.root)
    sizes = {rel: (ws.root / rel).stat().st_size for rel in before}
    done = run("--json", "close", "--confirm", "--by", "J Officer", "-w", str(ws.root))
    assert done.exit_code == 0, done.output
    book = openpyxl.load_workbook(ws.outbox / "closure-record.xlsx")
    facts = {row[0]: row[1] for row in book["Closure"].iter_rows(min_row=2, values_only=True) if row[0]}
    assert facts["Closed by (as given with --by)"] == "J Officer"
    assert facts["Closed by (computer user)"]
    assert facts["Retention decided by"] == DECIDED_BY
    assert facts["Keep personal data until"] == f"{date.today() - timedelta(days=1):%d/%m/%Y}"
    listed = {row[0]: (row[1], row[2]) for row in book["Removed files"].iter_rows(min_row=2, values_only=True)}
    removed = json.loads(done.output)["remove"]
    assert len(listed) == len(removed)
    for rel in removed:
        shown = rel.replace("Sian", "[name removed]").replace("\u0141ucja", "[name removed]")
        assert listed[shown] == (sizes[rel], before[rel])
    with Store.open(ws.store_path) as store:
        closure = store.closure()
    assert closure["state"] == "closed" and closure["closed_by"] == "J Officer"
    assert {f["path"] for f in closure["files"]} == set(listed)


def test_a_closed_round_refuses_to_issue_forms_or_take_in_returns_and_says_so(ws):
    assert run("close", "--confirm", "-w", str(ws.root)).exit_code == 0
    for command in ("generate-forms", "ingest"):
        refused = run("--json", command, "-w", str(ws.root))
        assert refused.exit_code == 2
        assert json.loads(refused.output)["problems"][0]["code"] == "round.closed"
    status = run("status", "-w", str(ws.root))
    assert "This round was closed on" in status.output
    again = run("close", "--confirm", "-w", str(ws.root))
    assert again.exit_code == 0 and "already closed" in again.output


# --- refusals ----------------------------------------------------------------------------------------------------


def codes(result) -> list[str]:
    return [p["code"] for p in json.loads(result.output)["problems"]]


def test_before_the_retention_date_it_refuses_unless_given_a_reason_which_is_recorded(ws):
    until = date.today() + timedelta(days=30)
    set_settings(ws.root, **{"Keep personal data until": until})
    before = files_of(ws.root)
    refused = run("--json", "close", "--confirm", "-w", str(ws.root))
    assert refused.exit_code == 2 and codes(refused) == ["close.before-retention-date"]
    assert unchanged(before, files_of(ws.root))
    dry = run("close", "-w", str(ws.root))
    assert dry.exit_code == 1 and f"until {until:%d/%m/%Y}" in dry.output

    done = run("close", "--confirm", "--now", "Board agreed early closure, minute 2026/20", "-w", str(ws.root))
    assert done.exit_code == 0, done.output
    book = openpyxl.load_workbook(ws.outbox / "closure-record.xlsx")
    facts = {row[0]: row[1] for row in book["Closure"].iter_rows(min_row=2, values_only=True) if row[0]}
    assert facts["Closed before that date because (--now)"] == "Board agreed early closure, minute 2026/20"


def test_with_no_retention_date_decided_it_refuses(ws):
    set_settings(ws.root, **{"Keep personal data until": None})
    refused = run("--json", "close", "--confirm", "-w", str(ws.root))
    assert refused.exit_code == 2 and codes(refused) == ["close.retention-not-decided"]


def test_with_forms_outstanding_or_files_not_ingested_it_refuses_unless_forced(tmp_path):
    root = tmp_path / "ws"
    assert run("init", "--example", str(root)).exit_code == 0
    set_settings(root, **{"Keep personal data until": date.today(), "Retention decided by": DECIDED_BY})
    assert run("generate-forms", "-w", str(root)).exit_code == 0
    (root / "inbox" / "CCG_CSE-01.docx").write_bytes(b"not yet ingested")
    before = files_of(root)
    refused = run("--json", "close", "--confirm", "-w", str(root))
    assert refused.exit_code == 2
    assert codes(refused) == ["close.forms-outstanding", "close.inbox-not-ingested"]
    assert "51 issued form(s) have not come back" in refused.output
    assert unchanged(before, files_of(root))

    forced = run("--json", "close", "--confirm", "--force", "-w", str(root))
    assert forced.exit_code == 0, forced.output
    assert not list((root / "outbox" / "forms").rglob("*.docx")) and not list((root / "inbox").rglob("*.docx"))


def test_a_kept_report_that_names_a_child_stops_the_closure(ws):
    report = sorted(ws.report_dir.glob("*.docx"), key=lambda p: p.stat().st_mtime)[-1]
    doc = Document(str(report))
    doc.add_paragraph("Comms note: check with Ayesha's school.")
    doc.save(str(report))
    refused = run("--json", "close", "--confirm", "-w", str(ws.root))
    assert refused.exit_code == 2 and codes(refused) == ["close.kept-file-names-child"]
    assert "Ayesha" not in refused.output


# --- check and status say when to close ---------------------------------------------------------------------------


def test_check_and_status_say_when_the_retention_date_has_passed(ws):
    for command in ("check", "status"):
        shown = run(command, "-w", str(ws.root))
        assert shown.exit_code == 0, shown.output
        assert "has passed" in shown.output and "case-audit close" in shown.output
    set_settings(ws.root, **{"Keep personal data until": date.today() + timedelta(days=5)})
    assert "has passed" not in run("status", "-w", str(ws.root)).output


def test_check_and_status_say_when_no_date_is_decided_once_the_report_exists(ws, tmp_path):
    set_settings(ws.root, **{"Keep personal data until": None})
    for command in ("check", "status"):
        assert "no 'Keep personal data until' date" in run(command, "-w", str(ws.root)).output
    fresh = tmp_path / "fresh"
    assert run("init", "--example", str(fresh)).exit_code == 0
    assert "Keep personal data until" not in run("check", "-w", str(fresh)).output  # no report yet: nothing to say


# --- a kill midway -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("where, at", [("scrubbing-the-store", None), ("removing-files", 40), ("replacing-cycle", 1),
                                       ("marking-closed", 1)])
def test_a_close_killed_midway_is_finished_by_the_next_close(ws, where, at):
    cycle = load_cycle(ws.cycle_path)
    if at is None:  # the dry-run count scrubs every table once (rolled back); die on the real scrub's second table
        with Store.open(ws.store_path) as store:
            at = len(store._tables()) + 2
    plan = json.loads(run("--json", "close", "-w", str(ws.root)).output)
    killed(ws, where, "close", "--confirm", "--by", "J", at=at)  # the child process died there (exit 137)

    with Store.open(ws.store_path) as store:
        assert store.closure()["state"] == "closing"  # never looks closed half-way
    assert "did not finish" in run("status", "-w", str(ws.root)).output
    refused = run("--json", "ingest", "-w", str(ws.root))
    assert refused.exit_code == 2 and codes(refused) == ["round.closing-unfinished"]

    again = run("--json", "close", "--confirm", "-w", str(ws.root))
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["resumed"]
    with Store.open(ws.store_path) as store:
        closure = store.closure()
    assert closure["state"] == "closed" and closure["closed_by"] == "J"
    assert len(closure["files"]) == len(plan["remove"])  # the record lists what the killed run removed too
    assert not any((ws.root / rel).exists() for rel in plan["remove"])
    assert names_found(ws.root, cycle) == {}
    built = run("build-report", "-w", str(ws.root))
    assert built.exit_code in (0, 1), built.output


def test_the_stores_scrub_and_compaction_leave_no_old_text_where_sqlite_keeps_deleted_bytes(tmp_path, example_cycle):
    """Python on Windows builds SQLite without secure delete, so pages keep copies of old rows in their free
    space: closing scrubs, then compacts the file (as `close` does), and no byte of a name is left."""
    from pipeline.child_names import redact

    path = tmp_path / "store.sqlite3"
    name = example_cycle.case("N-02").child_name
    with Store.open(path) as store:
        store.conn.execute("PRAGMA secure_delete = OFF")  # as on Windows
        with store.transaction() as conn:
            for i in range(50):
                conn.execute("INSERT INTO received_files (sha256, original_path, archive_name, size, received_at,"
                             " outcome, message, problems) VALUES (?, ?, 'a.docx', 1, '2026-01-01', 'rejected', ?,"
                             " '[]')", (f"{i:064d}", f"inbox/{name} {i}.docx", f"About {name}, number {i}."))
        assert name.encode() in path.read_bytes()
        terms = name_terms(example_cycle)
        assert store.scrub_texts(lambda t: redact(t, terms)) == 100
        store.compact()
    data = path.read_bytes()
    assert name.encode() not in data and name.split()[1].encode() not in data


def test_a_closed_round_is_still_read_by_the_trend_and_by_the_next_rounds_comparison(tmp_path):
    """Closing keeps every figure: after round one is closed, round two's `trend` and its report's comparison with
    round one give exactly what they gave before (issue 16, on the rounds of issue 12)."""
    first = tmp_path / "audit-2015-16"
    assert run("demo", str(first), "--rounds", "2").exit_code == 0
    second = first.with_name("audit-2015-16-2016-17")

    def compared() -> list[str]:
        result = run("build-report", "-w", str(second))
        assert result.exit_code in (0, 1), result.output
        newest = max((second / "outbox" / "report").glob("overview-report*.docx"), key=lambda p: p.stat().st_mtime)
        return [p.text for p in Document(str(newest)).paragraphs if " in 2015-16" in p.text]

    def trend() -> list[list]:
        assert run("trend", "-w", str(second)).exit_code in (0, 1)
        sheet = openpyxl.load_workbook(second / "outbox" / "trend.xlsx", read_only=True)["Trend"]
        return [list(r) for r in sheet.iter_rows(values_only=True)]

    before_comparison, before_trend = compared(), trend()
    assert len(before_comparison) > 5 and any(isinstance(v, int) for row in before_trend for v in row)

    closed = run("close", "--confirm", "--now", "test of the programme", "--by", "J Officer", "-w", str(first))
    assert closed.exit_code == 0, closed.output
    assert "[removed]" in str([c.value for row in openpyxl.load_workbook(first / "cycle.xlsx")["Cases"].iter_rows()
                               for c in row])

    assert compared() == before_comparison
    assert trend() == before_trend
