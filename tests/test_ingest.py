"""The ingest run against real generated forms: archive first, one transaction per file, nothing lost or overwritten."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import unicodedata
from pathlib import Path

import openpyxl
import pytest

from pipeline import ingest as ingest_module
from pipeline.ingest import (ACCEPTED, ACCEPTED_WITH_PROBLEMS, ALREADY_INGESTED, REJECTED_LINE, ingest_inbox)
from pipeline.problems import CaseAuditError
from pipeline.store import Store
from pipeline.workspace import Workspace

from test_returns import Issued, complete_answers, issue_forms

ROOT = Path(__file__).resolve().parents[1]


def drop(issued: Issued, name: str, data: bytes) -> Path:
    """Save an attachment into the inbox the way the officer does: any sub-folder, any name."""
    path = issued.ws.inbox / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def lines(result) -> dict[str, object]:
    return {f.file: f for f in result.files}


def records(ws: Workspace) -> dict:
    """Everything the store says, minus clock times: what must match between a crashed-and-resumed run and a clean one."""
    with Store.open(ws.store_path) as store:
        files = sorted((f.sha256, f.original_path, f.outcome, f.form_id, tuple(p.code for p in f.problems))
                       for f in store.received_files())
        returns = sorted((r.identity.form_id, r.complete, r.no_involvement, r.source_file,
                          tuple(a.model_dump_json() for a in r.answers)) for r in store.current_audit_returns())
        history = sorted((r.identity.form_id, r.file_sha256, r.counts) for r in store.return_history())
    return {"files": files, "returns": returns, "history": history}


def feedback_mentions(ws: Workspace) -> dict[str, list[str]]:
    """Which files each feedback folder's notes mention (the notes' names carry the time, so they differ)."""
    found: dict[str, list[str]] = {}
    for note in sorted(ws.feedback_dir.rglob("*.txt")):
        text = note.read_text(encoding="utf-8-sig")
        found.setdefault(note.parent.name, []).extend(re.findall(r"^\d+\. File: (.+)$", text, re.MULTILINE))
    return {folder: sorted(files) for folder, files in found.items()}


def tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def issued(tmp_path, example_cycle) -> Issued:
    return issue_forms(tmp_path / "ws", example_cycle)


@pytest.fixture
def mixed_inbox(issued) -> dict[str, bytes]:
    """A realistic morning's email: complete, incomplete, no-involvement and summary returns, a PDF, Word's lock file."""
    cycle = issued.cycle
    files = {
        "POLICE_N-01.docx": issued.filled("POLICE", "N-01"),
        "police/POLICE_N-02.docx": issued.filled("POLICE", "N-02", complete_answers(cycle, S7=("Not met", "", ""))),
        "ccg/CCG N-01 final.docx": issued.filled("CCG", "N-01", {"ca:no-involvement": True,
                                                                "ca:no-involvement-reason": "Not registered with a GP here."}),
        "POLICE_summary.docx": issued.filled("POLICE"),
        "scan of form.pdf": b"%PDF-1.4\n% scanned\n",
    }
    for name, data in files.items():
        drop(issued, name, data)
    drop(issued, "~$LICE_N-01.docx", b"owner file")
    drop(issued, ".DS_Store", b"mac")
    drop(issued, "ccg/~WRL0003.tmp", b"word temp")
    return files


# --- one run -----------------------------------------------------------------------------------


def test_a_run_reports_each_file_moves_it_and_archives_its_bytes(issued, mixed_inbox):
    progress = []
    result = ingest_inbox(issued.ws, issued.cycle, progress=lambda done, total: progress.append((done, total)))

    got = lines(result)
    assert got["POLICE_N-01.docx"].outcome == ACCEPTED
    assert got["POLICE_summary.docx"].outcome == ACCEPTED
    assert got["ccg/CCG N-01 final.docx"].outcome == ACCEPTED and "no involvement" in got["ccg/CCG N-01 final.docx"].message
    incomplete = got["police/POLICE_N-02.docx"]
    assert incomplete.outcome == ACCEPTED_WITH_PROBLEMS and "Standard 7" in incomplete.message
    assert got["scan of form.pdf"].outcome == REJECTED_LINE and "PDF" in got["scan of form.pdf"].message
    assert result.totals_line() == "3 accepted, 1 accepted with problems, 0 already ingested, 1 rejected, 3 ignored"
    assert progress[0] == (0, 5) and progress[-1] == (5, 5)

    ws = issued.ws
    assert sorted(p.relative_to(ws.inbox).as_posix() for p in ws.inbox.rglob("*") if p.is_file()) == sorted([
        "~$LICE_N-01.docx", ".DS_Store", "ccg/~WRL0003.tmp",  # ignored files stay where they are
        "processed/POLICE_N-01.docx", "processed/police/POLICE_N-02.docx", "processed/ccg/CCG N-01 final.docx",
        "processed/POLICE_summary.docx", "rejected/scan of form.pdf"])
    for name, data in mixed_inbox.items():
        sha = hashlib.sha256(data).hexdigest()
        [archived] = [p for p in ws.archive_dir.iterdir() if p.name.startswith(sha)]
        assert archived.read_bytes() == data
    with sqlite3.connect(ws.store_path) as conn:  # shared drives: rollback journal, never WAL
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def test_incomplete_and_rejected_returns_get_feedback_to_forward(issued, mixed_inbox):
    result = ingest_inbox(issued.ws, issued.cycle)
    by_folder = {p.parent.name: p for p in result.feedback_files}
    assert set(by_folder) == {"POLICE", "_unidentified"}  # the CCG and summary returns need nothing
    text = by_folder["POLICE"].read_text(encoding="utf-8-sig")
    assert "West Midlands Police" in text and "POLICE_N-02.docx" in text and "Case reference N-02" in text
    assert issued.form_id("POLICE", "N-02") in text
    assert "KLOE 2 table, Standard 7: Standard 7 is rated 'Not met' but no reason is given" in text
    assert "What to do: Say why in the 'Not met or not applicable: why' column." in text
    assert "POLICE_N-01.docx" not in text  # the complete return is not mentioned
    for case in issued.cycle.cases:
        assert case.child_name not in text
    assert "scan of form.pdf" in by_folder["_unidentified"].read_text(encoding="utf-8-sig")

    again = ingest_inbox(issued.ws, issued.cycle, progress=None)  # nothing new: no feedback, and nothing overwritten
    assert again.feedback_files == [] and by_folder["POLICE"].read_text(encoding="utf-8-sig") == text

    drop(issued, "POLICE_N-03.docx", issued.filled("POLICE", "N-03", complete_answers(issued.cycle, S1=("", "", ""))))
    third = ingest_inbox(issued.ws, issued.cycle)  # within the same minute: a second note beside the first
    [note] = third.feedback_files
    assert note.parent == by_folder["POLICE"].parent and note != by_folder["POLICE"]
    assert "POLICE_N-03.docx" in note.read_text(encoding="utf-8-sig") and "POLICE_N-02.docx" not in note.read_text(encoding="utf-8-sig")
    assert by_folder["POLICE"].read_text(encoding="utf-8-sig") == text


def test_an_incomplete_form_corrected_in_the_same_batch_needs_no_feedback(issued):
    first = drop(issued, "b/POLICE_N-02.docx", issued.filled("POLICE", "N-02", complete_answers(issued.cycle, S7=("Not met", "", ""))))
    second = drop(issued, "a/POLICE_N-02 v2.docx", issued.filled("POLICE", "N-02", complete_answers(issued.cycle)))
    os.utime(first, (1_700_000_000, 1_700_000_000))  # saved first: ingested first, whatever the names say
    os.utime(second, (1_700_000_600, 1_700_000_600))
    result = ingest_inbox(issued.ws, issued.cycle)
    assert [(f.file, f.outcome) for f in result.files] == [("b/POLICE_N-02.docx", ACCEPTED_WITH_PROBLEMS),
                                                          ("a/POLICE_N-02 v2.docx", ACCEPTED)]
    assert result.feedback_files == []


def test_results_workbook_has_one_filterable_row_per_agency_case_and_standard(issued, mixed_inbox):
    values = complete_answers(issued.cycle)
    values["ca:evidence:S1"] = "=HYPERLINK(\"http://example.org\",\"click\")"
    drop(issued, "HEFT_N-02.docx", issued.filled("HEFT", "N-02", values))
    result = ingest_inbox(issued.ws, issued.cycle)
    assert result.results_written and result.results_path == issued.ws.results_path

    book = openpyxl.load_workbook(issued.ws.results_path)
    assert {"Responses", "Returns", "Problems", "Summaries"} <= set(book.sheetnames)
    sheet = book["Responses"]
    header = [c.value for c in sheet[1]]
    assert header[:10] == ["Agency", "Agency name", "Case ref", "Priority area", "KLOE", "Standard", "Rating",
                           "Counts as", "Evidence", "Reason"]
    assert "Source file" in header and "Received" in header
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(header)).column_letter}{sheet.max_row}"
    rows = [dict(zip(header, (c.value for c in row))) for row in sheet.iter_rows(min_row=2)]
    assert len(rows) == 4 * len(issued.cycle.standards)  # POLICE N-01, N-02, CCG N-01 (no involvement), HEFT N-02
    s7 = next(r for r in rows if r["Agency"] == "POLICE" and r["Case ref"] == "N-02" and r["Standard"] == 7)
    assert (s7["Rating"], s7["Counts as"], s7["KLOE"], s7["Priority area"]) == ("Not met", "not met", 2, "Neglect")
    assert s7["Return status"] == "Incomplete" and s7["Source file"] == "police/POLICE_N-02.docx"
    ccg = [r for r in rows if r["Agency"] == "CCG"]
    assert {r["Return status"] for r in ccg} == {"No involvement"} and ccg[0]["Reason"] == "Not registered with a GP here."
    formula = next(c for c in sheet["I"] if c.value and str(c.value).startswith("=HYPERLINK"))
    assert formula.data_type == "s"  # an auditor's text is never run as a formula
    returns_log = book["Returns"]
    assert returns_log.max_row == 1 + 6  # every file received, rejected ones too
    children = {c.child_name for c in issued.cycle.cases}
    assert not any(str(c.value) in children for row in sheet.iter_rows() for c in row if c.value)


# --- duplicates and new versions ------------------------------------------------------------------


def test_the_same_file_again_is_already_ingested_and_changes_nothing(issued):
    data = issued.filled("POLICE", "N-01")
    drop(issued, "POLICE_N-01.docx", data)
    ingest_inbox(issued.ws, issued.cycle)
    before = records(issued.ws)
    drop(issued, "resent/POLICE_N-01 (copy).docx", data)

    result = ingest_inbox(issued.ws, issued.cycle)

    [line] = result.files
    assert line.outcome == ALREADY_INGESTED and "POLICE_N-01.docx" in line.message
    assert records(issued.ws) == before
    drop(issued, "POLICE_N-01.pdf", data)  # and again under another extension: still one archive copy
    assert [f.outcome for f in ingest_inbox(issued.ws, issued.cycle).files] == [ALREADY_INGESTED]
    assert [p.name for p in issued.ws.archive_dir.iterdir()] == [hashlib.sha256(data).hexdigest() + ".docx"]
    assert (issued.ws.inbox / "processed" / "resent" / "POLICE_N-01 (copy).docx").read_bytes() == data


def test_a_corrected_form_replaces_the_earlier_version_and_both_are_kept(issued):
    first = issued.filled("POLICE", "N-02", complete_answers(issued.cycle, S7=("Not met", "", "")))
    drop(issued, "POLICE_N-02.docx", first)
    assert lines(ingest_inbox(issued.ws, issued.cycle))["POLICE_N-02.docx"].outcome == ACCEPTED_WITH_PROBLEMS
    second = issued.filled("POLICE", "N-02", complete_answers(issued.cycle, S7=("Not met", "", "No consent form on file.")))
    drop(issued, "POLICE_N-02.docx", second)  # same name again: the officer saved the corrected attachment

    result = ingest_inbox(issued.ws, issued.cycle)

    assert lines(result)["POLICE_N-02.docx"].outcome == ACCEPTED
    with Store.open(issued.ws.store_path) as store:
        [current] = [r for r in store.current_audit_returns(issued.cycle) if r.identity.case_ref == "N-02"]
        history = [r for r in store.return_history() if r.identity.case_ref == "N-02"]
    assert current.complete and current.answer(7).reason == "No consent form on file."
    assert current.file_sha256 == hashlib.sha256(second).hexdigest()
    assert [h.counts for h in history] == [False, True] and history[0].replaced_by == history[1].id
    processed = issued.ws.inbox / "processed"
    assert (processed / "POLICE_N-02.docx").read_bytes() == first  # never overwritten...
    assert (processed / "POLICE_N-02 (2).docx").read_bytes() == second  # ...the new one sits beside it


# --- type by content, not by name -------------------------------------------------------------------


def test_files_are_typed_by_their_bytes_not_their_names(issued):
    drop(issued, "POLICE_N-01.pdf", issued.filled("POLICE", "N-01"))  # a real form with the wrong extension
    drop(issued, "POLICE_N-03.docx", b"%PDF-1.5\n")                   # a PDF pretending to be a form
    got = lines(ingest_inbox(issued.ws, issued.cycle))
    assert got["POLICE_N-01.pdf"].outcome == ACCEPTED
    assert got["POLICE_N-03.docx"].outcome == REJECTED_LINE and got["POLICE_N-03.docx"].problems[0].code == "file.pdf"


def test_per_kloe_returns_are_each_accepted_and_counted_per_form(tmp_path, example_cycle):
    per_kloe = issue_forms(tmp_path / "ws", example_cycle, per_kloe=True, agencies=["EY"])
    for k in (1, 3):
        drop(per_kloe, f"EY_EH-02_K{k}.docx",
             per_kloe.filled("EY", "EH-02", complete_answers(example_cycle, kloes=(k,)), kloes=(k,)))
    result = ingest_inbox(per_kloe.ws, example_cycle)
    assert [f.outcome for f in result.files] == [ACCEPTED, ACCEPTED]
    with Store.open(per_kloe.ws.store_path) as store:
        current = store.current_audit_returns(example_cycle)
    assert sorted(r.identity.kloes for r in current) == [(1,), (3,)]


# --- never lose anything ------------------------------------------------------------------------------


CRASHING_RUN = textwrap.dedent("""
    import os, sys
    from pipeline import ingest, store
    from pipeline.workbook import load_cycle
    from pipeline.workspace import Workspace

    ws = Workspace(sys.argv[1])
    where, at = sys.argv[2], int(sys.argv[3])
    calls = [0]

    def killed_after(original):
        def wrapper(*args, **kwargs):
            calls[0] += 1
            if where == "before-commit":
                result = original(*args, **kwargs)  # the rows are written, the transaction is open
                if calls[0] == at:
                    os._exit(9)                      # killed: no rollback, no clean-up, a hot journal left behind
                return result
            if calls[0] == at:
                os._exit(9)                          # killed after the commit, before the file is moved
            return original(*args, **kwargs)
        return wrapper

    if where == "before-commit":
        store.Store.record_received_file = killed_after(store.Store.record_received_file)
    else:
        ingest._move_out = killed_after(ingest._move_out)
    ingest.ingest_inbox(ws, load_cycle(ws.cycle_path))
    sys.exit(0)
""")


def _fill_inbox_for_crash(issued: Issued) -> None:
    cycle = issued.cycle
    for case in cycle.cases[:4]:
        for agency in case.agencies[:2]:
            values = complete_answers(cycle, S3=("Not met", "", "")) if agency == "POLICE" else None
            drop(issued, f"{agency}_{case.ref}.docx", issued.filled(agency, case.ref, values))
    drop(issued, "notes.pdf", b"%PDF-1.4 notes")


@pytest.mark.parametrize("where", ["before-commit", "after-commit"])
def test_a_kill_mid_run_then_a_rerun_gives_the_same_records_as_an_uninterrupted_run(issued, tmp_path, where):
    _fill_inbox_for_crash(issued)
    clean = Workspace(tmp_path / "clean")
    shutil.copytree(issued.ws.root, clean.root)  # the same register and inbox, run without interruption
    ingest_inbox(clean, issued.cycle)

    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    killed = subprocess.run([sys.executable, "-c", CRASHING_RUN, str(issued.ws.root), where, "4"],
                            env=env, capture_output=True, text=True, timeout=300)
    assert killed.returncode == 9, killed.stderr
    inbox_files = [p for p in issued.ws.inbox.rglob("*") if p.is_file()]
    assert len(inbox_files) == 9  # nothing was lost: each file is in the inbox, processed/ or rejected/
    if where == "before-commit":  # the fourth file was archived, its records were not committed
        with Store.open(issued.ws.store_path) as store:
            assert len(store.received_files()) == 3

    rerun = ingest_inbox(issued.ws, issued.cycle)

    assert records(issued.ws)["files"] == records(clean)["files"]
    assert records(issued.ws)["returns"] == records(clean)["returns"]
    assert records(issued.ws)["history"] == records(clean)["history"]
    assert tree(issued.ws.inbox) == tree(clean.inbox)
    assert tree(issued.ws.archive_dir) == tree(clean.archive_dir)
    assert feedback_mentions(issued.ws) == feedback_mentions(clean)  # feedback lost with the killed run is written now
    assert feedback_mentions(clean)["POLICE"] == ["POLICE_N-01.docx", "POLICE_N-02.docx", "POLICE_N-03.docx",
                                                  "POLICE_N-04.docx"]
    if where == "after-commit":
        assert ALREADY_INGESTED in {f.outcome for f in rerun.files}  # recorded before the kill, moved now


def test_two_ingests_at_once_never_ingest_a_file_twice(issued, tmp_path):
    cycle = issued.cycle
    count = 0
    for case in cycle.cases:
        for agency in case.agencies:
            drop(issued, f"{agency}_{case.ref}.docx", issued.filled(agency, case.ref))
            count += 1
    script = textwrap.dedent("""
        import json, sys
        from pipeline.ingest import ingest_inbox
        from pipeline.workbook import load_cycle
        from pipeline.workspace import Workspace
        ws = Workspace(sys.argv[1])
        result = ingest_inbox(ws, load_cycle(ws.cycle_path))
        print(json.dumps(result.totals()))
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    runs = [subprocess.Popen([sys.executable, "-c", script, str(issued.ws.root)], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err for _, err in outputs]
    totals = [json.loads(out) for out, _ in outputs]
    assert sum(t[ACCEPTED] for t in totals) == count  # between them, each form accepted exactly once
    assert sum(t[ALREADY_INGESTED] for t in totals) == 0
    with Store.open(issued.ws.store_path) as store:
        received = store.received_files()
    assert len(received) == len({r.sha256 for r in received}) == count


def test_a_second_ingest_that_cannot_wait_refuses_plainly(issued):
    drop(issued, "POLICE_N-01.docx", issued.filled("POLICE", "N-01"))
    with issued.ws.lock():
        with pytest.raises(CaseAuditError) as refused:
            ingest_inbox(issued.ws, issued.cycle, lock_timeout=0.2)
    assert refused.value.report.problems[0].code == "workspace.busy"
    assert (issued.ws.inbox / "POLICE_N-01.docx").exists()


def test_results_workbook_open_in_excel_keeps_the_records_and_says_to_close_it(issued, monkeypatch):
    drop(issued, "POLICE_N-01.docx", issued.filled("POLICE", "N-01"))
    ingest_inbox(issued.ws, issued.cycle)
    earlier = issued.ws.results_path.read_bytes()
    real_replace = os.replace

    def excel_has_it_open(src, dst, *args, **kwargs):
        if Path(dst).name == "results.xlsx":
            raise PermissionError(13, "The process cannot access the file because it is being used by another process")
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", excel_has_it_open)
    drop(issued, "POLICE_N-02.docx", issued.filled("POLICE", "N-02"))
    result = ingest_inbox(issued.ws, issued.cycle)

    assert lines(result)["POLICE_N-02.docx"].outcome == ACCEPTED
    assert not result.results_written and result.results_problem.code == "file.locked"
    assert "Close the file" in result.results_problem.fix
    assert issued.ws.results_path.read_bytes() == earlier  # the old workbook, whole; no half-written file
    assert [p.name for p in issued.ws.outbox.iterdir() if p.name.startswith(".~tmp")] == []
    with Store.open(issued.ws.store_path) as store:
        assert {r.identity.case_ref for r in store.current_audit_returns()} == {"N-01", "N-02"}


def test_a_file_word_still_has_open_stays_in_the_inbox_and_is_moved_next_time(issued, monkeypatch):
    target = drop(issued, "POLICE_N-01.docx", issued.filled("POLICE", "N-01"))
    real_rename = os.rename

    def locked(src, dst):
        if Path(src) == target:
            raise PermissionError(32, "being used by another process")
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", locked)
    first = ingest_inbox(issued.ws, issued.cycle)
    assert lines(first)["POLICE_N-01.docx"].outcome == ACCEPTED and target.exists()
    assert [p.code for p in first.problems] == ["ingest.move-failed"]
    monkeypatch.setattr(os, "rename", real_rename)

    second = ingest_inbox(issued.ws, issued.cycle)

    assert lines(second)["POLICE_N-01.docx"].outcome == ALREADY_INGESTED
    assert not target.exists() and (issued.ws.inbox / "processed" / "POLICE_N-01.docx").exists()
    with Store.open(issued.ws.store_path) as store:
        [received] = store.received_files()
    assert received.moved_to == "inbox/processed/POLICE_N-01.docx"


def test_a_fault_reading_one_file_leaves_it_waiting_and_the_rest_go_through(issued, monkeypatch):
    odd = drop(issued, "odd.docx", issued.filled("POLICE", "N-02"))
    drop(issued, "POLICE_N-01.docx", issued.filled("POLICE", "N-01"))
    real_read = ingest_module.read_return

    def faulty(data, *, filename, **kwargs):
        if filename == "odd.docx":
            raise ValueError("something case-audit did not expect")
        return real_read(data, filename=filename, **kwargs)

    monkeypatch.setattr(ingest_module, "read_return", faulty)
    result = ingest_inbox(issued.ws, issued.cycle)
    got = lines(result)
    assert got["POLICE_N-01.docx"].outcome == ACCEPTED
    assert got["odd.docx"].outcome == "not read" and odd.exists()  # not recorded, not moved: read again next time
    assert [p.code for p in result.problems] == ["ingest.internal-error"] and result.needs_attention
    monkeypatch.setattr(ingest_module, "read_return", real_read)
    assert lines(ingest_inbox(issued.ws, issued.cycle))["odd.docx"].outcome == ACCEPTED


# --- a rejected file comes back ----------------------------------------------------------------------


def revised(cycle, standard: int = 5):
    """The cycle after the officer changed one standard's wording in the workbook."""
    return cycle.model_copy(update={"standards": tuple(
        s.model_copy(update={"text": s.text + " (revised)"}) if s.number == standard else s for s in cycle.standards)})


def test_a_rejected_file_put_back_after_the_workbook_is_reverted_is_read_again_and_accepted(issued):
    from pipeline.status import agency_status

    data = issued.filled("POLICE", "N-01")
    drop(issued, "police/POLICE_N-01.docx", data)
    first = ingest_inbox(issued.ws, revised(issued.cycle))
    assert [(f.outcome, f.problems[0].code) for f in first.files] == [(REJECTED_LINE, "return.old-toolkit")]
    police = {a.agency.code: a for a in agency_status(issued.ws, issued.cycle).agencies}["POLICE"]
    assert police.rejected_files == 1

    rejected = issued.ws.inbox / "rejected" / "police" / "POLICE_N-01.docx"
    os.rename(rejected, issued.ws.inbox / "POLICE_N-01.docx")  # the officer reverted the workbook and puts it back
    second = ingest_inbox(issued.ws, issued.cycle)

    [line] = second.files
    assert line.outcome == ACCEPTED and line.moved_to == "inbox/processed/POLICE_N-01.docx"
    with Store.open(issued.ws.store_path) as store:
        [received] = store.received_files()
        assert received.outcome == "accepted" and received.original_path == "POLICE_N-01.docx"
        assert [r.outcome for r in store.file_readings(received.sha256)] == ["rejected", "accepted"]
        assert [r.identity.case_ref for r in store.current_audit_returns(issued.cycle)] == ["N-01"]
    police = {a.agency.code: a for a in agency_status(issued.ws, issued.cycle).agencies}["POLICE"]
    assert police.rejected_files == 0 and police.complete == 1
    assert [p.name for p in issued.ws.archive_dir.iterdir()] == [hashlib.sha256(data).hexdigest() + ".docx"]

    drop(issued, "POLICE_N-01 again.docx", data)  # accepted bytes sent again: now they are already ingested
    assert [f.outcome for f in ingest_inbox(issued.ws, issued.cycle).files] == [ALREADY_INGESTED]


def test_a_file_rejected_again_is_recorded_again_and_kept_beside_the_earlier_copy(issued):
    data = b"%PDF-1.4\n% a scan\n"
    drop(issued, "scan.pdf", data)
    assert [f.outcome for f in ingest_inbox(issued.ws, issued.cycle).files] == [REJECTED_LINE]
    rejected = issued.ws.inbox / "rejected"
    shutil.copy(rejected / "scan.pdf", issued.ws.inbox / "scan.pdf")  # copied back, not moved

    again = ingest_inbox(issued.ws, issued.cycle)

    [line] = again.files
    assert line.outcome == REJECTED_LINE and "PDF" in line.message
    assert line.moved_to == "inbox/rejected/scan (2).pdf"
    assert (rejected / "scan.pdf").read_bytes() == (rejected / "scan (2).pdf").read_bytes() == data
    assert len(list(issued.ws.archive_dir.iterdir())) == 1
    with Store.open(issued.ws.store_path) as store:
        [received] = store.received_files()
        assert [r.outcome for r in store.file_readings(received.sha256)] == ["rejected", "rejected"]
    assert again.feedback_files == []  # the same rejection, already fed back: no second note saying the same


# --- what feedback shows ---------------------------------------------------------------------------


def test_feedback_names_the_file_without_the_officers_folders_and_files_a_named_pdf_under_its_agency(issued):
    drop(issued, "Police returns/March/POLICE_N-01 FINAL v3 (2).docx",
         issued.filled("POLICE", "N-01", complete_answers(issued.cycle, S7=("Not met", "", ""))))
    drop(issued, "Police returns/POLICE_N-03.pdf", b"%PDF-1.4\n")
    result = ingest_inbox(issued.ws, issued.cycle)
    [note] = result.feedback_files
    assert note.parent.name == "POLICE"
    text = note.read_text(encoding="utf-8-sig")
    assert "File: POLICE_N-01 FINAL v3 (2).docx" in text and "File: POLICE_N-03.pdf" in text
    assert "Police returns" not in text and "March" not in text


def test_feedback_takes_out_a_surname_alone_and_a_name_in_decomposed_unicode(issued):
    child = issued.cycle.case("N-01").child_name  # "Siân Ffug-Enw" in the example cycle
    surname = child.split()[-1]
    decomposed = unicodedata.normalize("NFD", child)
    assert decomposed != child
    gap = complete_answers(issued.cycle, S7=("Not met", "", ""))
    drop(issued, f"POLICE_N-01 {surname}.docx", issued.filled("POLICE", "N-01", gap))
    drop(issued, f"POLICE_N-02_{decomposed}.docx", issued.filled("POLICE", "N-02", gap))
    [note] = ingest_inbox(issued.ws, issued.cycle).feedback_files
    text = unicodedata.normalize("NFC", note.read_text(encoding="utf-8-sig"))
    assert "File: POLICE_N-01 [name removed].docx" in text
    assert "File: POLICE_N-02_[name removed].docx" in text
    for part in re.split(r"[\s\-]", child):
        assert part not in text


# --- notes that need nothing doing -------------------------------------------------------------------


def test_a_replaced_form_returned_and_counted_is_accepted_with_its_note_and_needs_no_attention(tmp_path, example_cycle):
    from pipeline.forms import generate_forms

    issued = issue_forms(tmp_path / "ws", example_cycle, agencies=["CCG"], cases=["N-04"])
    old = issued.filled("CCG", "N-04")
    generate_forms(issued.ws, example_cycle, agencies=["CCG"], cases=["N-04"], reissue=True)
    drop(issued, "CCG_N-04.docx", old)

    result = ingest_inbox(issued.ws, example_cycle)

    [line] = result.files
    assert line.outcome == ACCEPTED
    assert [p.code for p in line.problems] == ["return.superseded-form"] and "note:" in line.message
    assert not result.needs_attention and result.feedback_files == []


def test_a_warning_that_needs_checking_still_makes_it_accepted_with_problems(issued):
    from test_returns import edit_document, cell, NS, W
    from lxml import etree

    def tracked(root):
        p = cell(root, 2, 2).find(".//w:p", NS)
        ins = etree.SubElement(p, f"{{{W}}}ins", {f"{{{W}}}id": "901", f"{{{W}}}author": "Auditor"})
        etree.SubElement(etree.SubElement(ins, f"{{{W}}}r"), f"{{{W}}}t").text = " Added later."

    drop(issued, "POLICE_N-01.docx", edit_document(issued.filled("POLICE", "N-01"), tracked))
    result = ingest_inbox(issued.ws, issued.cycle)
    [line] = result.files
    assert line.outcome == ACCEPTED_WITH_PROBLEMS and [p.code for p in line.problems] == ["return.tracked-changes"]
    assert result.needs_attention
