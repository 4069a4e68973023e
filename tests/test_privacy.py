"""The report never names a child: a name anywhere in the file stops the build and says where.

Real files throughout: an edited report, returns whose evidence names a child,
templates carrying a name in a comment or a document property.
"""

from __future__ import annotations

import io
import unicodedata
import zipfile

import pytest
from docx import Document

from pipeline.child_names import name_terms, redact
from pipeline.models import Agency, Case, Cycle, CycleSettings, Kloe, PriorityArea, Standard
from pipeline.ooxml.package import open_package
from pipeline.ooxml.properties import read_custom_properties, set_custom_properties
from pipeline.problems import CaseAuditError
from pipeline.report import build_report
from pipeline.report.privacy import find_child_names
from pipeline.workspace import init_workspace, shipped_template


@pytest.fixture(scope="module")
def example_inputs(simulated):
    return simulated.returns, simulated.summary_returns


def given_name(cycle, ref: str) -> str:
    return cycle.case(ref).child_name.split()[0]


def report_files(ws) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in ws.report_dir.iterdir()} if ws.report_dir.exists() else {}


def test_a_name_typed_into_the_narrative_blocks_the_rebuild_and_says_where(tmp_path, example_cycle, example_inputs):
    ws = init_workspace(tmp_path / "ws", example=True)
    returns, summaries = example_inputs
    first = build_report(ws, example_cycle, returns=returns, summaries=summaries, issued=())
    doc = Document(str(first.path))
    paragraphs = doc.paragraphs
    at = next(i for i, p in enumerate(paragraphs) if p.style.name == "Heading 2" and p.text.startswith("KLOE 3:"))
    name = given_name(example_cycle, "N-03")
    paragraphs[at + 1].text = f"In one case, {name}\u2019s wishes were recorded in detail."
    doc.save(str(first.path))
    before = report_files(ws)

    with pytest.raises(CaseAuditError) as err:
        build_report(ws, example_cycle, returns=returns, summaries=summaries, issued=())
    problems = err.value.report.problems
    assert [p.code for p in problems] == ["report.child-named"]
    assert "case N-03" in problems[0].message
    assert problems[0].location.startswith("paragraph 1 under 'KLOE 3:")
    assert name not in problems[0].message, "the error itself must not repeat the name"
    assert report_files(ws) == before, "nothing may be written when a child is named"


def test_a_name_left_in_quoted_evidence_blocks_the_build_naming_the_return_to_correct(tmp_path, example_cycle,
                                                                                      example_inputs):
    ws = init_workspace(tmp_path / "ws", example=True)
    returns, summaries = example_inputs
    planted, where = [], None
    for r in returns:
        if r.identity.agency == "HEFT" and where is None:
            name = example_cycle.case(r.identity.case_ref).child_name
            first = next(a for a in r.answers if a.evidence)
            answers = tuple(a.model_copy(update={"evidence": f"Home visit notes show {name} was seen alone."})
                            if a is first else a for a in r.answers)
            r = r.model_copy(update={"answers": answers})
            where = (r.identity.case_ref, first.standard, name)
        planted.append(r)
    with pytest.raises(CaseAuditError) as err:
        build_report(ws, example_cycle, returns=planted, summaries=summaries, issued=())
    case_ref, standard, name = where
    problems = err.value.report.problems
    assert [p.code for p in problems] == ["report.child-named-in-return"]
    assert problems[0].location == (f"Heart of England NHS Foundation Trust, case {case_ref}, "
                                    f"standard {standard} (evidence)")
    assert f"case {case_ref}" in problems[0].fix
    assert name not in problems[0].message and name.split()[0] not in problems[0].message
    assert report_files(ws) == {}


def test_a_name_in_a_template_comment_or_document_property_blocks_the_build(tmp_path, example_cycle, example_inputs):
    ws = init_workspace(tmp_path / "ws", example=True)
    returns, summaries = example_inputs
    doc = Document(str(shipped_template("word", "overview-report.docx")))
    first_run = next(p for p in doc.paragraphs if p.runs).runs[0]
    doc.add_comment(first_run, text=f"Check wording with {example_cycle.case('EH-02').child_name}'s social worker",
                    author="Comms")
    buf = io.BytesIO()
    doc.save(buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    set_custom_properties(parts, {"Prepared about": example_cycle.case("CSE-02").child_name})
    own = ws.templates_dir / "word" / "overview-report.docx"
    own.parent.mkdir(parents=True)
    with zipfile.ZipFile(own, "w") as zf:
        for n, data in parts.items():
            zf.writestr(n, data)

    with pytest.raises(CaseAuditError) as err:
        build_report(ws, example_cycle, returns=returns, summaries=summaries, issued=())
    messages = " ".join(p.message for p in err.value.report)
    assert "case EH-02 appears in a comment" in messages
    assert "case CSE-02 appears in the document properties" in messages
    assert report_files(ws) == {}


def test_a_name_in_an_xml_comment_or_between_the_elements_of_a_custom_xml_part_is_found(example_cycle):
    """Text no reader is shown is still in the file the board receives: an XML comment in the styles, and
    words between the elements of a custom XML data part (mixed content). The scan the build runs on
    every part of the report before it is written finds both."""
    with zipfile.ZipFile(shipped_template("word", "overview-report.docx")) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    assert find_child_names(parts, example_cycle) == []
    in_comment, in_mixed = example_cycle.case("EH-02").child_name, example_cycle.case("CSE-02").child_name
    parts["word/styles.xml"] = parts["word/styles.xml"].replace(
        b"?>", f"?><!-- styles checked against {in_comment}'s plan -->".encode(), 1)
    parts["customXml/item9.xml"] = (f'<?xml version="1.0"?><notes><who>Prepared</who> for {in_mixed} '
                                    '<when>March</when></notes>').encode()
    hits = {(h.case_ref, h.part, h.where) for h in find_child_names(parts, example_cycle)}
    assert ("EH-02", "word/styles.xml", "word/styles.xml (XML comment)") in hits, hits
    assert ("CSE-02", "customXml/item9.xml", "customXml/item9.xml text after 'who'") in hits, hits


def test_a_clean_report_keeps_the_templates_own_properties(tmp_path, example_cycle, example_inputs):
    ws = init_workspace(tmp_path / "ws", example=True)
    with zipfile.ZipFile(shipped_template("word", "overview-report.docx")) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    set_custom_properties(parts, {"Classification": "OFFICIAL"})
    own = ws.templates_dir / "word" / "overview-report.docx"
    own.parent.mkdir(parents=True)
    with zipfile.ZipFile(own, "w") as zf:
        for n, data in parts.items():
            zf.writestr(n, data)
    returns, summaries = example_inputs
    result = build_report(ws, example_cycle, returns=returns, summaries=summaries, issued=())
    props = read_custom_properties(open_package(result.path.read_bytes()))
    assert props["Classification"] == "OFFICIAL"
    assert props["CaseAudit.Cycle"] == example_cycle.settings.cycle_id


# --- what counts as a name ------------------------------------------------------------------


def tiny_cycle(*names: str) -> Cycle:
    return Cycle(
        settings=CycleSettings(board_name="Test Board", cycle_id="T", cycle_name="T"),
        priority_areas=(PriorityArea(name="Early Help"),),
        agencies=(Agency(code="A", name="Agency", short_name="Agency"),),
        cases=tuple(Case(ref=f"C-{i}", priority_area="Early Help", child_name=n, agencies=("A",))
                    for i, n in enumerate(names, start=1)),
        kloes=(Kloe(number=1, question="Is the child heard?"),),
        standards=(Standard(number=1, kloe=1, text="Wishes are recorded", finding_met="wishes were recorded"),),
    )


def doc_parts(*paragraphs: str) -> dict[str, bytes]:
    doc = Document()
    for text in paragraphs:
        doc.add_paragraph(text)
    buf = io.BytesIO()
    doc.save(buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def hits(cycle, *paragraphs):
    return [(h.case_ref, h.which) for h in find_child_names(doc_parts(*paragraphs), cycle)]


def test_ordinary_words_are_not_mistaken_for_names_but_capitalised_names_are_caught():
    cycle = tiny_cycle("Hope Ward", "Sam Early")
    assert hits(cycle, "We hope the ward round will improve.", "Early Help was offered at the right time.") == []
    assert hits(cycle, "Hope said she felt listened to.") == [("C-1", "given name")]
    assert hits(cycle, "The family (Ward) moved.") == [("C-1", "name")]
    assert hits(cycle, "Notes about sam early are thin.") == [("C-2", "full name")]


def test_names_are_matched_whole_word_in_any_case_and_any_unicode_form():
    cycle = tiny_cycle("Zoë Ó Briain-Kowalska")
    decomposed = unicodedata.normalize("NFD", "ZOË")
    assert hits(cycle, f"{decomposed} attended.") == [("C-1", "given name")]
    assert hits(cycle, "A kowalska family member called.") == [("C-1", "name")]
    assert hits(cycle, "Zoëtrope is not a name.") == []
    assert hits(cycle, "Zoë\u00a0Ó Briain-Kowalska was seen.")[0] == ("C-1", "full name")


def test_a_name_in_an_agency_summary_asks_for_its_agency_summary_form_again(tmp_path, example_cycle, example_inputs):
    ws = init_workspace(tmp_path / "ws", example=True)
    returns, summaries = example_inputs
    name = example_cycle.case("N-02").child_name
    planted = [s.model_copy(update={"partnership": f"Share plans for {name} with housing."}) if i == 0 else s
               for i, s in enumerate(summaries)]
    with pytest.raises(CaseAuditError) as err:
        build_report(ws, example_cycle, returns=returns, summaries=planted, issued=())
    [problem] = err.value.report.problems
    assert problem.code == "report.child-named-in-return" and "summary form" in problem.location
    assert problem.fix.startswith("Ask the agency to resend its agency summary form without the child's name")
    assert report_files(ws) == {}


# --- the same matcher takes names out of what is emailed -------------------------------------------


def test_redact_takes_out_every_part_of_a_name_the_report_scan_would_find():
    cycle = tiny_cycle("Siân Ffug-Enw", "Hope Ward")
    assert redact("POLICE_N-01 Ffug-Enw.docx", cycle) == "POLICE_N-01 [name removed].docx"
    assert redact("POLICE_N-01_ffug.docx", cycle) == "POLICE_N-01_[name removed].docx"
    nfd = unicodedata.normalize("NFD", "Notes on Siân Ffug-Enw")
    assert redact(nfd, cycle) == "Notes on [name removed]"
    assert redact("We hope the ward round helps; Hope was seen.", cycle) == \
        "We hope the ward round helps; [name removed] was seen."
    terms = name_terms(cycle)
    assert redact("Nothing to see here.", terms) == "Nothing to see here."
    assert hits(cycle, "Ref_Enw_2") == [("C-1", "name")]  # the report scan uses the same matcher


# --- every place a reader (or a file-properties dialog) can see -----------------------------------


def _png() -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = zlib.compress(b"\x00\xff\xff\xff")
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", raw) + chunk(b"IEND", b""))


def test_every_part_and_attribute_of_the_report_is_scanned_in_any_spelling():
    """Headers, footers, comments (text and author), properties, alt text on both picture elements."""
    from lxml import etree

    cycle = tiny_cycle("Amy Wymyślona")
    doc = Document()
    section = doc.sections[0]
    section.header.paragraphs[0].text = "Prepared after the WYMYSLONA review"
    section.footer.paragraphs[0].text = "Footer note: A\u200bmy"
    para = doc.add_paragraph("Clean text.")
    doc.add_comment(para.runs[0], text="Check with \u0410my's school", author="J Wymyslona")
    doc.core_properties.title = "Notes on Amy"
    doc.add_picture(io.BytesIO(_png()))
    buf = io.BytesIO()
    doc.save(buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    body = etree.fromstring(parts["word/document.xml"])
    for el in body.iter():
        if etree.QName(el).localname == "docPr":
            el.set("descr", "Photo of Wymy\u015blona")
        elif etree.QName(el).localname == "cNvPr":
            el.set("descr", "AMY at home")
    parts["word/document.xml"] = etree.tostring(body)
    set_custom_properties(parts, {"Subject person": "Zofia WYMYŚLONA"})

    found = {(h.part, h.where.split(" under ")[0]) for h in find_child_names(parts, cycle)}
    places = {part for part, _ in found}
    assert {"word/header1.xml", "word/footer1.xml", "word/comments.xml", "docProps/core.xml",
            "docProps/custom.xml", "word/document.xml"} <= places, found
    wheres = " | ".join(sorted(w for _, w in found))
    assert "author" in wheres, wheres  # the comment's author, an attribute
    assert "picture descr" in wheres and "cNvPr" in wheres, wheres  # both alt-text attributes
    for hit in find_child_names(parts, cycle):
        assert "amy" not in hit.context.casefold() and "wymy" not in hit.context.casefold(), hit.context


def test_a_name_typed_into_the_learning_log_keeps_the_log_as_it_was_and_says_where(tmp_path, example_cycle,
                                                                                   example_inputs):
    from openpyxl import load_workbook

    ws = init_workspace(tmp_path / "ws", example=True)
    returns, summaries = example_inputs
    first = build_report(ws, example_cycle, returns=returns, summaries=summaries, issued=())
    book = load_workbook(first.learning_log)
    book.active.cell(row=1, column=13, value="Officer notes")  # a column of the officer's own: kept on rebuild
    book.active.cell(row=3, column=13, value="Spoke to SIAN's mother about the plan")
    book.save(first.learning_log)
    before = first.learning_log.read_bytes()

    second = build_report(ws, example_cycle, returns=returns, summaries=summaries, issued=())
    assert second.path.is_file() and second.learning_log is None  # the report is safe; the log is not rewritten
    [problem] = [p for p in second.problems if p.code == "learning-log.child-named"]
    assert problem.location == "Learning log, row 3, column Officer notes" and "case N-01" in problem.message
    assert "sian" not in problem.message.casefold() and "[name]" in problem.message
    assert first.learning_log.read_bytes() == before


def test_results_workbook_is_marked_official_sensitive_on_its_first_sheet_and_every_printed_page(tmp_path,
                                                                                                  example_cycle):
    from openpyxl import load_workbook

    from pipeline.ingest import ingest_inbox
    from test_ingest import drop
    from test_returns import issue_forms

    issued = issue_forms(tmp_path / "ws", example_cycle, agencies=["POLICE"], cases=["N-01"])
    drop(issued, "POLICE_N-01.docx", issued.filled("POLICE", "N-01"))
    result = ingest_inbox(issued.ws, example_cycle)
    book = load_workbook(result.results_path)
    first = book.worksheets[0]
    assert first.title == "Read me" and first["A1"].value == "OFFICIAL-SENSITIVE"
    assert "do not publish" in " ".join(str(c.value) for c in first["A"])
    assert {"Responses", "Summaries", "Returns", "Problems"} <= set(book.sheetnames)
    for sheet in book.worksheets:
        assert sheet.oddHeader.center.text == "OFFICIAL-SENSITIVE" == sheet.oddFooter.center.text, sheet.title
    assert book.properties.category == "OFFICIAL-SENSITIVE" and "OFFICIAL-SENSITIVE" in book.properties.title


@pytest.mark.parametrize("spelling, which", [
    ("Amy", "given name"), ("AMY", "given name"), ("A\u200bmy", "given name"), ("\u0410my", "given name"),
    ("\uff21\uff4d\uff59", "given name"), ("Wymyslona", "name"), ("WYMYŚLONA", "name"),
    ("Wymy\u200bślona", "name"), ("Wymyśl\u043ena", "name")])
def test_the_report_scan_finds_another_spelling_of_a_short_or_long_name(spelling, which):
    cycle = tiny_cycle("Amy Wymyślona")
    assert hits(cycle, "Nothing here.", f"In one case {spelling} was seen alone.") == [("C-1", which)]
