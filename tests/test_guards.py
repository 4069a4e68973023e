"""Guards for behaviours a review broke on purpose without a single test failing (issue 10).

Each test here fails when its behaviour is broken:
- returns read by contract position when an agency deleted a table's header row (and LibreOffice dropped the tags);
- columns matched by their header when an agency inserted a column;
- a file that makes the reader crash is archived before it is read;
- a whitespace-only change to a drafted passage is not an edit (the passage gets the new figures);
- the form fingerprint changes when a standard's "N/A allowed" changes (a form made before is refused).
"""

from __future__ import annotations

import copy
import hashlib
import io
import zipfile

import pytest
from docx import Document
from lxml import etree
from openpyxl import load_workbook

from pipeline import ingest as ingest_module
from pipeline.ingest import NOT_READ, ingest_inbox
from pipeline.report import build_report
from pipeline.returns import Outcome
from pipeline.store import Store
from pipeline.workbook import load_cycle

from test_ingest import drop
from test_returns import W, Issued, complete_answers, edit_document, issue_forms

CASE = "N-01"


def w(tag: str) -> str:
    return f"{{{W}}}{tag}"


def kloe_tables(root: etree._Element) -> list[etree._Element]:
    """The tables with standard rows (one per KLOE)."""
    return [t for t in root.iter(w("tbl"))
            if any("".join(tr.find(w("tc")).itertext()).strip().startswith("Standard ")
                   for tr in t.findall(w("tr")) if tr.find(w("tc")) is not None)]


def header_row(table: etree._Element) -> etree._Element:
    return next(tr for tr in table.findall(w("tr"))
                if tr.find(w("tc")) is not None and "".join(tr.find(w("tc")).itertext()).strip() == "Standard")


def plain_cell(template: etree._Element, text: str) -> etree._Element:
    """A copy of `template` (a w:tc) holding nothing but `text`: what Word inserts, then the auditor types."""
    tc = copy.deepcopy(template)
    for child in list(tc):
        if child.tag != w("tcPr"):
            tc.remove(child)
    run = etree.SubElement(etree.SubElement(tc, w("p")), w("r"))
    etree.SubElement(run, w("t")).text = text
    return tc


@pytest.fixture(scope="module")
def issued(tmp_path_factory, example_cycle) -> Issued:
    return issue_forms(tmp_path_factory.mktemp("guards") / "ws", example_cycle, agencies=("POLICE",))


@pytest.fixture(scope="module")
def answers(example_cycle) -> dict:
    return complete_answers(example_cycle, S7=("Not met", "", "Consent was not recorded."),
                            S8=("Not applicable", "", "No referral was needed."))


@pytest.fixture(scope="module")
def resaved(issued, answers, tmp_path_factory, resave_with_libreoffice):
    """The filled form as sent, with the header rows deleted, and with a column inserted: all saved by LibreOffice."""
    filled = issued.filled("POLICE", CASE, answers)

    def drop_headers(root):
        for table in kloe_tables(root):
            table.remove(header_row(table))

    def insert_column(root):  # "Our ref" between Rating and Evidence, in every row of every KLOE table
        for table in kloe_tables(root):
            grid = table.find(w("tblGrid"))
            grid.insert(2, copy.deepcopy(grid[2]))
            for tr in table.findall(w("tr")):
                cells = tr.findall(w("tc"))
                first = "".join(cells[0].itertext()).strip()
                cells[1].addnext(plain_cell(cells[2], "Our ref" if first == "Standard" else f"PPU/{first[-2:]}"))

    folder = tmp_path_factory.mktemp("as-sent")
    sent = {"as-sent.docx": filled, "no-headers.docx": edit_document(filled, drop_headers),
            "extra-column.docx": edit_document(filled, insert_column)}
    for name, data in sent.items():
        (folder / name).write_bytes(data)
    saved = resave_with_libreoffice(sorted(folder.iterdir()), tmp_path_factory.mktemp("libreoffice"))
    return {p.name: p.read_bytes() for p in saved}


def document_xml(data: bytes) -> str:
    return zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").decode("utf-8")


def header_rows(data: bytes) -> int:
    return sum(1 for t in Document(io.BytesIO(data)).tables for r in t.rows if r.cells[0].text.strip() == "Standard")


def answered(outcome) -> dict[int, tuple]:
    return {a.standard: (a.rating_label, a.evidence, a.reason) for a in outcome.audit.answers}


@pytest.mark.libreoffice
def test_without_header_rows_answers_are_read_by_contract_position(issued, resaved, answers):
    data = resaved["no-headers.docx"]
    assert header_rows(data) == 0 and "ca:rating" not in document_xml(data)  # LibreOffice dropped the tags too
    assert header_rows(resaved["as-sent.docx"]) == len(issued.cycle.kloes)
    outcome = issued.read(data, filename="no-headers.docx")
    assert outcome.outcome is Outcome.ACCEPTED, [p.render() for p in outcome.problems]
    got = answered(outcome)
    assert got == answered(issued.read(resaved["as-sent.docx"]))
    assert got[7] == ("Not met", "", "Consent was not recorded.")
    assert got[3][1] == answers["ca:evidence:S3"]
    assert {v for k, v in outcome.sources.items() if k.startswith("S")} == {"position"}


@pytest.mark.libreoffice
def test_an_inserted_column_is_passed_over_by_matching_columns_by_their_header(issued, resaved, answers):
    data = resaved["extra-column.docx"]
    xml = document_xml(data)
    assert xml.count("Our ref") == len(issued.cycle.kloes) and "ca:rating" not in xml
    outcome = issued.read(data, filename="extra-column.docx")
    assert outcome.outcome is Outcome.ACCEPTED, [p.render() for p in outcome.problems]
    got = answered(outcome)
    assert got == answered(issued.read(resaved["as-sent.docx"]))
    assert got[3] == ("Met or exceeded", answers["ca:evidence:S3"], "")
    assert not any("PPU/" in "".join(v) for v in got.values())


def test_a_file_that_crashes_the_reader_is_archived_kept_in_the_inbox_and_not_recorded(tmp_path, example_cycle,
                                                                                      monkeypatch):
    """The archive copy is written while the file is read (issue 11), and is safe before anything is recorded or
    moved; a reader fault meets a file still in the inbox, so nothing of it is lost."""
    issued = issue_forms(tmp_path / "ws", example_cycle, agencies=("POLICE",))
    data = issued.filled("POLICE", CASE)
    sha = hashlib.sha256(data).hexdigest()
    path = drop(issued, f"POLICE_{CASE}.docx", data)
    archive = issued.ws.archive_dir / f"{sha}.docx"
    seen_when_read = []

    def crashing_reader(*args, **kwargs):  # a fault in case-audit's reader, met by this file
        seen_when_read.append(path.is_file() and path.read_bytes() == data)
        raise RuntimeError("reader fault")

    monkeypatch.setattr(ingest_module, "read_return", crashing_reader)
    result = ingest_inbox(issued.ws, example_cycle)
    assert [f.outcome for f in result.files] == [NOT_READ]
    assert seen_when_read == [True]  # the inbox still held the file's bytes when the reader met them
    assert archive.read_bytes() == data and path.read_bytes() == data  # archived, and left to be read again
    assert [p.code for p in result.problems] == ["ingest.internal-error"]
    with Store.open(issued.ws.store_path) as store:
        assert store.received_files() == []


@pytest.mark.libreoffice
def test_a_whitespace_only_change_to_a_drafted_passage_is_not_an_edit(tmp_path, example_cycle, simulated,
                                                                     resave_with_libreoffice):
    ws = issue_forms(tmp_path / "ws", example_cycle, agencies=("POLICE",)).ws
    late = [r for r in simulated.returns if (r.identity.agency, r.identity.case_ref) == ("POLICE", CASE)]
    early = [r for r in simulated.returns if r not in late]
    first = build_report(ws, example_cycle, returns=early, summaries=simulated.summary_returns, issued=())
    doc = Document(str(first.path))
    paragraphs = doc.paragraphs
    at = next(i for i, p in enumerate(paragraphs) if p.style.name == "Heading 2" and p.text.startswith("KLOE 2:"))
    drafted = paragraphs[at + 1]
    before = drafted.text
    first_run = drafted.runs[0]
    first_run.text = "  " + first_run.text.replace(" ", "  ", 3).replace(" ", "\u00a0", 1) + "   "
    assert drafted.text != before and drafted.text.split() == before.replace("\u00a0", " ").split()
    drafted.insert_paragraph_before("   ")  # and an empty line
    doc.save(str(first.path))
    resave_with_libreoffice(first.path)

    second = build_report(ws, example_cycle, returns=simulated.returns, summaries=simulated.summary_returns,
                          issued=())
    assert second.previous == first.path
    assert second.carried == [] and second.stale == []
    assert "kloe-2" in first.regenerated and "kloe-2" in second.regenerated
    new = Document(str(second.path)).paragraphs
    at = next(i for i, p in enumerate(new) if p.style.name == "Heading 2" and p.text.startswith("KLOE 2:"))
    assert new[at + 1].text.strip() and "  " not in new[at + 1].text  # drafted afresh


def test_changing_whether_a_standard_allows_na_changes_the_form_fingerprint(tmp_path, example_cycle):
    issued = issue_forms(tmp_path / "ws", example_cycle, agencies=("POLICE",))
    wb = load_workbook(issued.ws.cycle_path)
    sheet = wb["Standards"]
    header = [c.value for c in sheet[1]]
    column = next(i for i, h in enumerate(header) if h and str(h).startswith("N/A allowed"))
    row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value is not None)
    number = int(str(row[0].value).split()[-1])
    was = example_cycle.standard(number).na_allowed
    row[column].value = "N" if was else "Y"
    wb.save(issued.ws.cycle_path)
    changed = load_cycle(issued.ws.cycle_path)

    assert changed.standard(number).na_allowed is not was
    assert [s.text for s in changed.standards] == [s.text for s in example_cycle.standards]  # wording unchanged
    assert changed.fingerprint() != example_cycle.fingerprint()
    kloe = changed.standard(number).kloe
    assert changed.fingerprint((kloe,)) != example_cycle.fingerprint((kloe,))
    outcome = issued.read(issued.filled("POLICE", CASE), cycle=changed)  # a form made before the change
    assert outcome.outcome is Outcome.REJECTED
    assert "return.old-toolkit" in [p.code for p in outcome.problems]
