"""Every Word-side file of the shared robustness corpus goes through ingest: a specific answer each, no traceback, nothing lost.

The corpus lives beside the project (../shared/corpus, see its README); it is
test input only. Where it is absent (a bare clone) these tests skip and say so.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from pipeline import libreoffice
from pipeline.ingest import REJECTED_LINE, ingest_inbox
from pipeline.ooxml.package import open_package
from pipeline.ooxml.reading import checkbox_state, read_control, read_word_document, W_SDT
from pipeline.returns import Outcome, read_return
from pipeline.store import Store
from pipeline.workspace import init_workspace

SHARED = Path(os.environ.get("CASE_AUDIT_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))
CORPUS = SHARED / "corpus" / "docx"

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the shared corpus is not at {CORPUS} (set CASE_AUDIT_SHARED)")

# What each file is, as the officer is told. Not one of them is an audit form of this cycle.
EXPECTED = {
    "cospydocx_export_from_googledocs.docx": "file.not-a-form",
    "cospydocx_missing_relationships.docx": "file.not-word",   # a zip holding one empty file
    "docx4j_LegacyForms.docx": "file.not-a-form",
    "docx4j_Normal.dotm": "file.macro",                        # macro-enabled template, even without a VBA part
    "docx4j_invoice2013.docx": "file.not-a-form",
    "docx4j_separator_missing.docx": "file.not-a-form",
    "docxtemplater_header-without-digit.docx": "file.not-a-form",
    "docxtemplater_table-in-table-corruption.docx": "file.not-a-form",
    "docxtemplater_with-comments.docx": "file.not-a-form",
    "oxsdk_Comment020.docx": "file.not-a-form",
    "oxsdk_CommentRangeStart.docx": "file.strict-ooxml",
    "oxsdk_EquityMergeFax.Dotx": "file.not-a-form",
    "oxsdk_Strict01.docx": "file.strict-ooxml",
    "oxsdk_sdtCell.docx": "file.not-a-form",
    "oxsdk_sdtContent.docx": "file.not-a-form",
    "oxsdk_sdtRow.docx": "file.not-a-form",
    "poi_52449.docx": "file.not-a-form",
    "poi_58067.docx": "file.not-a-form",
    "poi_60316.docx": "file.not-a-form",
    "poi_61787.docx": "file.not-a-form",
    "poi_Bug54849.docx": "file.not-a-form",
    "poi_Bug64561.docx": "file.not-a-form",
    "poi_ChronologicalResume.dotx": "file.not-a-form",
    "poi_ExternalEntityInText.docx": "file.unsafe-xml",        # XXE DOCTYPE: refused, never parsed
    "poi_PasswordProtected.doc": "file.encrypted",
    "poi_SimpleMacro.docm": "file.macro",
    "poi_au.edu.utas.www___data_assets_word_doc_0003_154335_International-Travel-Approval-Request-Form.doc":
        "file.doc-binary",                                     # OLE2 that zipfile would happily open
    "poi_bug53475-password-is-pass.docx": "file.encrypted",
    "poi_bug56076.docx": "file.not-a-form",
    "poi_bug65649.docx": "file.too-large",                     # 2,300 table rows
    "poi_checkboxes.docx": "file.not-a-form",
    "poi_clusterfuzz-testcase-minimized-POIXWPFFuzzer-5166796835258368.docx": "file.corrupt",
    "poi_clusterfuzz-testcase-minimized-POIXWPFFuzzer-5313273089884160.docx": "file.corrupt",
    "poi_comment.docx": "file.not-a-form",
    "poi_cpansearch.perl.org_src_tobyink_acme-rundoc-0.001_word-lib_hello_world.docm": "file.doc-binary",
    "poi_delins.docx": "file.not-a-form",
    "poi_documentProtection_forms_no_password.docx": "file.not-a-form",
    "poi_drawing.docx": "file.not-a-form",
    "poi_form_footnotes.docx": "file.not-a-form",
    "poi_password_password_cryptoapi.doc": "file.encrypted",
    "poi_protected_agile.docx": "file.encrypted",
    "poi_stress025.docx": "file.not-word",                     # only a theme package inside
    "poi_testComment.docx": "file.not-a-form",
    "poi_tika-3816.docx": "file.not-a-form",
    "poi_truncated62886.docx": "file.corrupt",
    "poi_unicode-path.docx": "file.not-a-form",
    "pydocx_blk-paras-and-tables.docx": "file.not-a-form",
    "pydocx_sty-having-no-styles-part.docx": "file.not-a-form",
}

# Where LibreOffice is installed, ingest reads an old .doc (without macros) as the .docx it converts it to.
CONVERTED_BY_LIBREOFFICE = {"poi_cpansearch.perl.org_src_tobyink_acme-rundoc-0.001_word-lib_hello_world.docm":
                            "file.not-a-form"}


def test_the_expectations_cover_exactly_the_corpus():
    assert sorted(p.name for p in CORPUS.iterdir()) == sorted(EXPECTED)
    assert len(EXPECTED) == 48


@pytest.fixture(scope="module")
def register(tmp_path_factory, example_cycle):
    ws = init_workspace(tmp_path_factory.mktemp("corpus") / "ws", example=True)
    store = Store.open(ws.store_path)
    yield store
    store.close()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_corpus_file_gets_its_specific_plain_answer(name, register, example_cycle):
    outcome = read_return((CORPUS / name).read_bytes(), filename=name, cycle=example_cycle, register=register)
    assert outcome.outcome is Outcome.REJECTED
    [problem] = outcome.problems.errors
    assert problem.code == EXPECTED[name]
    assert problem.message.endswith((".", ")")) and problem.fix  # a sentence for the officer, and what to do


def test_the_whole_corpus_goes_through_ingest_and_every_byte_is_kept(tmp_path, example_cycle):
    ws = init_workspace(tmp_path / "ws", example=True)
    drop = ws.inbox / "from email"
    drop.mkdir()
    for name in EXPECTED:
        shutil.copy2(CORPUS / name, drop / name)

    result = ingest_inbox(ws, example_cycle)

    assert len(result.files) == 48
    got = {Path(f.file).name: f for f in result.files}
    for name, code in EXPECTED.items():
        code = CONVERTED_BY_LIBREOFFICE.get(name, code) if libreoffice.available() else code
        line = got[name]
        assert line.outcome == REJECTED_LINE, (name, line.message)
        assert [p.code for p in line.problems if p.severity.value == "error"] == [code], name
        original = (CORPUS / name).read_bytes()
        sha = hashlib.sha256(original).hexdigest()
        assert (ws.inbox / "rejected" / "from email" / name).read_bytes() == original
        archived = [p for p in ws.archive_dir.iterdir() if p.name.startswith(sha)]
        assert len(archived) == 1 and archived[0].read_bytes() == original
    assert not any(drop.iterdir())
    assert result.totals()[REJECTED_LINE] == 48
    assert result.results_written
    [feedback] = result.feedback_files  # nobody can be identified: one note for the officer
    assert feedback.parent.name == "_unidentified"


# --- the reader on third-party Word files ---------------------------------------------------


def _document(name: str):
    return read_word_document(open_package((CORPUS / name).read_bytes()))


def test_tracked_deletions_are_left_out_and_insertions_kept():
    doc = _document("poi_delins.docx")
    text = "\n".join(doc.body_paragraphs())
    assert doc.has_tracked_changes
    assert "A pendant worn in place of the red spot" not in text  # deleted in the file
    assert "Apache Tika 0.3 has been released" in text            # inserted in the file


def test_a_placeholder_dropdown_in_a_table_reads_as_empty_with_its_choices():
    doc = _document("poi_tika-3816.docx")
    cell = doc.tables[0].rows[1].cells[0]
    control = cell.control("dropdown")
    assert cell.text == "" and control.showing_placeholder and control.text == ""
    assert [display for display, _ in control.items] == ["Choose an item.", "Yes", "No"]


def test_a_control_wrapping_a_whole_cell_belongs_to_that_cell():
    doc = _document("oxsdk_sdtCell.docx")
    first = doc.tables[0].rows[0].cells[0]
    assert first.text == "This is an sdtCell."
    assert first.controls and first.controls[0].text == "This is an sdtCell."


def test_a_row_wrapped_in_a_control_is_still_a_row_of_its_table():
    assert _document("oxsdk_sdtRow.docx").tables[0].rows[0].cells[0].text == "This is an sdtRow."


def test_word_2010_checkbox_and_dropdown_states_are_read_from_the_control():
    doc = _document("docx4j_invoice2013.docx")
    boxes = [read_control(s) for s in doc.root.iter(W_SDT) if read_control(s).kind == "checkbox"]
    assert [checkbox_state(b, "") for b in boxes] == [True]
    shown = {read_control(s).chosen_item() for s in _document("poi_Bug54849.docx").root.iter(W_SDT)
             if read_control(s).kind in ("dropdown", "combobox")}
    assert shown == {"Dirt", "Watermelon"}


def test_comments_are_noticed():
    assert _document("oxsdk_Comment020.docx").has_comments
    assert _document("poi_comment.docx").has_comments  # saved by LibreOffice
