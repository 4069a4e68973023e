"""The one-pass table reader reads every table exactly as the cell-by-cell reader does (issue 11).

Ingest reads a return's tables in one pass over each (`read_table_at_once`), which is where most of
its speed-up came from; a table that pass cannot read exactly (a table or text box inside it, a
control wrapped round a row or cell) is read cell by cell. Compared here on real files: the shared
corpus (tables in tables, content controls round cells and rows, tracked changes, comments), the
forms generate-forms writes, filled and as Word and LibreOffice leave them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline.ooxml.package import PackageError, open_package
from pipeline.ooxml.reading import (
    W_TBL,
    describe_package,
    read_table,
    read_table_at_once,
    strip_unseen_text,
)

from test_returns import Issued, edit_document, issue_forms, rating_tag

SHARED = Path(os.environ.get("CASE_AUDIT_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))
CORPUS = SHARED / "corpus" / "docx"


def _reading(table) -> list[list[tuple]]:
    return [[(c.element, c.column, c.text, c.first_line, c.tags) for c in row.cells] for row in table.rows]


def _compare(data: bytes, label: str, *, must_be_at_once: bool = False) -> tuple[int, int]:
    """(tables read at once, tables in all) for every table of the file's main part, before and after tidying."""
    pkg = open_package(data)
    what = describe_package(pkg)
    root = pkg.xml(what.main_part)
    at_once = total = 0
    for tidy in (False, True):
        if tidy:
            strip_unseen_text(root)
        for index, tbl in enumerate(root.iter(W_TBL)):
            fast = read_table_at_once(tbl, index)
            total += 1
            if fast is None:
                assert not must_be_at_once, f"{label}: table {index} was not read at once"
                continue
            at_once += 1
            assert _reading(fast) == _reading(read_table(tbl, index)), f"{label}: table {index}"
    return at_once, total


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the shared corpus is not at {CORPUS} (set CASE_AUDIT_SHARED)")
def test_every_corpus_table_read_at_once_reads_as_cell_by_cell():
    at_once = total = 0
    for path in sorted(CORPUS.iterdir()):
        try:
            pkg = open_package(path.read_bytes())
            if describe_package(pkg).family != "word":
                continue
        except PackageError:
            continue
        try:
            a, t = _compare(path.read_bytes(), path.name)
        except PackageError:
            continue
        at_once, total = at_once + a, total + t
    # the corpus has tables of both kinds: the pass reads most, and hands the awkward ones over
    assert total > 50 and 0 < at_once < total, (at_once, total)


@pytest.fixture
def issued(tmp_path, example_cycle) -> Issued:
    return issue_forms(tmp_path / "ws", example_cycle)


def test_a_filled_form_is_read_at_once_as_cell_by_cell(issued):
    _compare(issued.filled("POLICE", "N-01"), "filled audit form", must_be_at_once=True)
    _compare(issued.filled("POLICE"), "filled summary form", must_be_at_once=True)


def test_rows_deleted_with_tracking_and_text_boxes_read_as_cell_by_cell(issued):
    from lxml import etree

    from test_returns import W, cell

    def deleted_row_and_text_box(root):
        tr = cell(root, 3, 0).getparent()
        tr_pr = tr.find(f"{{{W}}}trPr")
        if tr_pr is None:
            tr_pr = etree.SubElement(tr, f"{{{W}}}trPr")
            tr.insert(0, tr_pr)
        etree.SubElement(tr_pr, f"{{{W}}}del", {f"{{{W}}}id": "90", f"{{{W}}}author": "A"})
        run = cell(root, 5, 2).find(f".//{{{W}}}r")
        box = etree.SubElement(run, f"{{{W}}}pict")
        inner = etree.SubElement(etree.SubElement(box, f"{{{W}}}txbxContent"), f"{{{W}}}p")
        etree.SubElement(etree.SubElement(inner, f"{{{W}}}r"), f"{{{W}}}t").text = "In a text box"

    data = edit_document(issued.filled("POLICE", "N-01", {rating_tag(1): "Met or exceeded"}), deleted_row_and_text_box)
    at_once, total = _compare(data, "edited form")
    assert 0 < at_once < total  # the table with the text box went cell by cell, the others at once


@pytest.mark.libreoffice
def test_a_form_resaved_by_libreoffice_reads_at_once_as_cell_by_cell(issued, resave_with_libreoffice, tmp_path):
    path = tmp_path / "POLICE_N-01.docx"
    path.write_bytes(issued.filled("POLICE", "N-01"))
    resave_with_libreoffice(path)
    _compare(path.read_bytes(), "form resaved by LibreOffice")
