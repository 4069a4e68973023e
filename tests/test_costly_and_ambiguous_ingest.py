"""Issue 8 through a whole ingest run: oversized and ambiguous returns are kept, said plainly, and never
replace an earlier return that counts."""

from __future__ import annotations

import hashlib

import pytest

from pipeline.ingest import ACCEPTED, ACCEPTED_WITH_PROBLEMS, REJECTED_LINE, ingest_inbox
from pipeline.returns import MAX_ANSWER_CHARS
from pipeline.store import Store

from test_ingest import drop, lines
from test_returns import (Issued, complete_answers, copy_rating_control, edit_document, issue_forms, long_text,
                          pasted_formatting)


@pytest.fixture
def issued(tmp_path, example_cycle) -> Issued:
    return issue_forms(tmp_path / "ws", example_cycle)


def test_oversized_and_ambiguous_returns_are_kept_explained_and_never_replace_a_good_one(issued):
    cycle = issued.cycle
    drop(issued, "first/POLICE_N-01.docx", issued.filled("POLICE", "N-01"))
    assert lines(ingest_inbox(issued.ws, cycle))["first/POLICE_N-01.docx"].outcome == ACCEPTED

    too_big = edit_document(issued.filled("POLICE", "N-01"), pasted_formatting(20000))
    too_long = issued.filled("POLICE", "N-03", complete_answers(cycle) | {"ca:evidence:S2": long_text(MAX_ANSWER_CHARS + 500, 2)})
    two_ratings = edit_document(issued.filled("POLICE", "N-02", complete_answers(cycle, S5=("Met or exceeded", "Minutes.", ""))),
                                copy_rating_control(5, "Not met"))
    sent = {"again/POLICE_N-01.docx": too_big, "POLICE_N-03.docx": too_long, "POLICE_N-02.docx": two_ratings}
    for name, data in sent.items():
        drop(issued, name, data)
    result = ingest_inbox(issued.ws, cycle)

    got = lines(result)
    assert got["again/POLICE_N-01.docx"].outcome == REJECTED_LINE and "form's text" in got["again/POLICE_N-01.docx"].message
    assert got["POLICE_N-03.docx"].outcome == REJECTED_LINE and "Standard 2" in got["POLICE_N-03.docx"].message
    assert got["POLICE_N-02.docx"].outcome == ACCEPTED_WITH_PROBLEMS
    assert "two ratings given (Met or exceeded and Not met)" in got["POLICE_N-02.docx"].message
    ws = issued.ws
    for name, data in sent.items():  # every file archived byte for byte, then moved out of the inbox
        assert any(p.name.startswith(hashlib.sha256(data).hexdigest()) for p in ws.archive_dir.iterdir())
        assert not (ws.inbox / name).exists()
    assert (ws.inbox / "rejected/again/POLICE_N-01.docx").is_file() and (ws.inbox / "rejected/POLICE_N-03.docx").is_file()

    with Store.open(ws.store_path) as store:
        current = {r.identity.form_id: r for r in store.current_audit_returns()}
    assert current[issued.form_id("POLICE", "N-01")].source_file == "first/POLICE_N-01.docx"  # still the one that counts
    assert issued.form_id("POLICE", "N-03") not in current
    n02 = current[issued.form_id("POLICE", "N-02")]
    assert not n02.complete and n02.answer(5).rating is None

    [note] = [p for p in result.feedback_files if p.parent.name == "POLICE"]
    text = note.read_text(encoding="utf-8-sig")
    assert "plain text" in text and "characters long" in text and "Leave one rating in the Rating cell" in text
    for case in cycle.cases:
        assert case.child_name not in text
