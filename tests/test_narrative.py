"""The comms team's wording survives rebuilds: edited in Word (python-docx) or re-saved by LibreOffice.

The story: the first report is built before the Police's return for case N-01
arrives. The comms team rewrites the KLOE 2 commentary. The late return is
ingested and the report rebuilt: the figures change, their KLOE 2 wording is
kept and listed as stale with what changed, and untouched passages get the new
figures.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from docx import Document
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn

from pipeline import wording
from pipeline.findings import Figure, compute_findings
from pipeline.ooxml.package import open_package, read_parts, write_parts
from pipeline.ooxml.properties import read_custom_properties, set_custom_properties
from pipeline.problems import CaseAuditError
from pipeline.report import build_report
from pipeline.report.narrative import (
    PROP_PREFIX,
    RegionFigures,
    RegionRecord,
    chunked,
    decide_region,
    unchunked,
)
from pipeline.wording import describe_changes
from pipeline.workspace import init_workspace

COMMS_WORDS = "Thresholds are well understood across the partnership, with two agencies still to embed them."
ADDED_WORDS = "The Board will check progress on this at its spring meeting."



@pytest.fixture(scope="module")
def story(simulated):
    returns, summaries = simulated.returns, simulated.summary_returns
    late = [r for r in returns if (r.identity.agency, r.identity.case_ref) == ("POLICE", "N-01")]
    assert late
    early = [r for r in returns if r not in late]
    return early, returns, summaries


def region_after(doc, heading_start: str) -> list[str]:
    """The paragraphs between a heading and the next heading, figure or table caption."""
    out, inside = [], False
    for p in doc.paragraphs:
        if p.style.name.startswith("Heading") and p.text.startswith(heading_start):
            inside = True
            continue
        if inside:
            if p.style.name.startswith("Heading") or p.style.name in ("Figure", "Caption"):
                break
            if p.text.strip():
                out.append(p.text)
    return out


def edit_kloe2(path: Path) -> None:
    """What the comms team does in Word: rewrite the first paragraph, add one of their own."""
    doc = Document(str(path))
    paragraphs = doc.paragraphs
    at = next(i for i, p in enumerate(paragraphs) if p.style.name == "Heading 2" and p.text.startswith("KLOE 2:"))
    paragraphs[at + 1].text = COMMS_WORDS
    paragraphs[at + 2].insert_paragraph_before(ADDED_WORDS)
    doc.save(str(path))


def rebuild_story(ws, cycle, story, *, resave=None):
    early, everything, summaries = story
    first = build_report(ws, cycle, returns=early, summaries=summaries, issued=())
    edit_kloe2(first.path)
    if resave is not None:
        resave(first.path)  # the comms officer saved it in LibreOffice
    edited_bytes = first.path.read_bytes()
    second = build_report(ws, cycle, returns=everything, summaries=summaries, issued=())
    assert first.path.read_bytes() == edited_bytes, "the edited report was changed"
    return first, second


def check_story(first, second):
    new = Document(str(second.path))
    kloe2 = region_after(new, "KLOE 2:")
    assert kloe2[:2] == [COMMS_WORDS, ADDED_WORDS], "the comms team's wording was not kept"
    assert "kloe-2" in second.carried
    stale = {s.region: s for s in second.stale}
    assert set(stale) == {"kloe-2"}
    police = second.findings.agency("POLICE")
    consent = next(f for f in police.standards if f.standard == 7)
    assert any(f"In {consent.not_met} of the {consent.audited} cases audited by the Police" in change
               for change in stale["kloe-2"].changes), stale["kloe-2"].changes
    assert any("was \u201c" in change and "now \u201c" in change for change in stale["kloe-2"].changes)
    # untouched passages were rewritten with the new figures
    kloe3 = " ".join(region_after(new, "KLOE 3:"))
    for s in second.findings.kloe(3).standards:
        assert wording.headline(s) in kloe3
    assert first.findings.kloe(3).digest != second.findings.kloe(3).digest
    assert "kloe-3" in second.regenerated


def test_wording_edited_with_python_docx_survives_a_rebuild_after_a_late_return(tmp_path, example_cycle, story):
    ws = init_workspace(tmp_path / "ws", example=True)
    first, second = rebuild_story(ws, example_cycle, story)
    check_story(first, second)
    assert second.previous == first.path


@pytest.mark.libreoffice
def test_wording_survives_when_the_edited_report_was_resaved_by_libreoffice(tmp_path, example_cycle, story,
                                                                            resave_with_libreoffice):
    ws = init_workspace(tmp_path / "ws", example=True)
    first, second = rebuild_story(ws, example_cycle, story, resave=resave_with_libreoffice)
    check_story(first, second)
    # the untouched passages were recognised as untouched, even after LibreOffice rewrote the file
    assert second.carried == ["kloe-2"]
    assert [p.code for p in second.problems] == [], [p.render() for p in second.problems]


def test_a_stale_passage_stays_listed_until_someone_edits_it_again(tmp_path, example_cycle, story):
    ws = init_workspace(tmp_path / "ws", example=True)
    _, everything, summaries = story
    first, second = rebuild_story(ws, example_cycle, story)
    third = build_report(ws, example_cycle, returns=everything, summaries=summaries, issued=())
    assert [s.region for s in third.stale] == ["kloe-2"], "nobody has re-read it yet"
    assert region_after(Document(str(third.path)), "KLOE 2:")[:2] == [COMMS_WORDS, ADDED_WORDS]
    doc = Document(str(third.path))
    paragraphs = doc.paragraphs
    at = next(i for i, p in enumerate(paragraphs) if p.style.name == "Heading 2" and p.text.startswith("KLOE 2:"))
    paragraphs[at + 2].text = "Re-read after the late returns; the Police figures are now 7 of 9."
    doc.save(str(third.path))
    fourth = build_report(ws, example_cycle, returns=everything, summaries=summaries, issued=())
    assert fourth.stale == [] and "kloe-2" in fourth.carried


def test_the_stale_passage_carries_a_comment_and_deleting_it_marks_the_passage_re_read(tmp_path, example_cycle,
                                                                                       story):
    ws = init_workspace(tmp_path / "ws", example=True)
    _, everything, summaries = story
    first, second = rebuild_story(ws, example_cycle, story)
    doc = Document(str(second.path))
    ours = [c for c in doc.comments if c.author == "case-audit"]
    assert len(ours) == 1 and "7 of the 9 cases audited by the Police" in ours[0].text
    body = doc.element.body
    anchored = [r for r in body.iter(qn("w:commentRangeStart"))]
    assert len(anchored) == 1
    # the comms officer re-reads the passage, finds it still right, and deletes the comment
    for tag in ("w:commentRangeStart", "w:commentRangeEnd"):
        for el in list(body.iter(qn(tag))):
            el.getparent().remove(el)
    for ref in list(body.iter(qn("w:commentReference"))):
        ref.getparent().getparent().remove(ref.getparent())
    doc.save(str(second.path))
    third = build_report(ws, example_cycle, returns=everything, summaries=summaries, issued=())
    assert third.stale == [] and "kloe-2" in third.carried
    assert [c for c in Document(str(third.path)).comments if c.author == "case-audit"] == []


def test_rewording_a_sentence_never_makes_an_edited_passage_stale(tmp_path, example_cycle, story, monkeypatch):
    """Same returns, a headline said differently: the edited passage is not listed; untouched ones get the words."""
    ws = init_workspace(tmp_path / "ws", example=True)
    early, _, summaries = story
    first = build_report(ws, example_cycle, returns=early, summaries=summaries, issued=())
    edit_kloe2(first.path)
    said = wording.standard_sentence
    monkeypatch.setattr(wording, "standard_sentence", lambda *a, **k: said(*a, **k).replace("In ", "Across ", 1))
    second = build_report(ws, example_cycle, returns=early, summaries=summaries, issued=())
    assert "kloe-2" in second.carried and second.stale == []
    assert "kloe-3" in second.regenerated
    assert " ".join(region_after(Document(str(second.path)), "KLOE 3:")).startswith("Across ")


def test_edits_to_built_tables_are_reported_as_not_carried(tmp_path, example_cycle, story):
    ws = init_workspace(tmp_path / "ws", example=True)
    _, everything, summaries = story
    first = build_report(ws, example_cycle, returns=everything, summaries=summaries, issued=())
    doc = Document(str(first.path))
    table2 = next(t for t in doc.tables if [c.text for c in t.rows[0].cells] == ["Agency", "Attendance"])
    table2.rows[1].cells[1].text = "3"
    doc.save(str(first.path))
    second = build_report(ws, example_cycle, returns=everything, summaries=summaries, issued=())
    edited = [p for p in second.problems if p.code == "report.built-text-edited"]
    assert [p.location for p in edited] == ["The Learning Event"]
    assert "cycle workbook" in edited[0].fix


def test_narrative_can_come_from_a_report_saved_elsewhere(tmp_path, example_cycle, story):
    ws = init_workspace(tmp_path / "ws", example=True)
    early, everything, summaries = story
    first = build_report(ws, example_cycle, returns=early, summaries=summaries, issued=())
    elsewhere = tmp_path / "from-comms" / "Case audit report FINAL (comms).docx"
    elsewhere.parent.mkdir()
    shutil.copyfile(first.path, elsewhere)
    edit_kloe2(elsewhere)
    second = build_report(ws, example_cycle, narrative_from=elsewhere, returns=everything, summaries=summaries,
                          issued=())
    assert second.previous == elsewhere
    assert region_after(Document(str(second.path)), "KLOE 2:")[0] == COMMS_WORDS


def test_a_file_that_is_not_a_built_report_is_refused_and_nothing_is_written(tmp_path, example_cycle, story):
    ws = init_workspace(tmp_path / "ws", example=True)
    early, _, summaries = story
    other = tmp_path / "minutes.docx"
    doc = Document()
    doc.add_paragraph("Minutes of the sub-group")
    doc.save(str(other))
    with pytest.raises(CaseAuditError) as err:
        build_report(ws, example_cycle, narrative_from=other, returns=early, summaries=summaries, issued=())
    assert err.value.report.problems[0].code == "report.narrative-not-a-report"
    assert "minutes.docx" in err.value.report.problems[0].message
    assert not ws.report_dir.exists() or not any(ws.report_dir.iterdir())


def test_edited_wording_is_found_under_its_heading_when_the_markers_are_lost(tmp_path, example_cycle, story):
    ws = init_workspace(tmp_path / "ws", example=True)
    early, everything, summaries = story
    first = build_report(ws, example_cycle, returns=early, summaries=summaries, issued=())
    edit_kloe2(first.path)
    doc = Document(str(first.path))
    body = doc.element.body
    w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    for mark in list(body.iter(f"{w}bookmarkStart", f"{w}bookmarkEnd")):  # e.g. a tool that drops bookmarks
        mark.getparent().remove(mark)
    doc.save(str(first.path))
    second = build_report(ws, example_cycle, returns=everything, summaries=summaries, issued=())
    assert region_after(Document(str(second.path)), "KLOE 2:")[:2] == [COMMS_WORDS, ADDED_WORDS]
    assert "kloe-2" in second.carried and "kloe-3" in second.regenerated


def test_a_bulleted_list_added_by_the_comms_team_keeps_its_bullets(tmp_path, example_cycle, story):
    ws = init_workspace(tmp_path / "ws", example=True)
    early, everything, summaries = story
    first = build_report(ws, example_cycle, returns=early, summaries=summaries, issued=())
    doc = Document(str(first.path))
    paragraphs = doc.paragraphs
    i = next(i for i, p in enumerate(paragraphs) if p.style.name == "Heading 1" and p.text == "Single Agency Learning")
    paragraphs[i + 1].insert_paragraph_before("Two agencies will report back in June.", style="List Bullet")
    # Word's bullet button: direct numbering on an ordinary paragraph, pointing into numbering.xml
    own = paragraphs[i + 1].insert_paragraph_before("The Board will follow this up.")
    source_num = doc.part.numbering_part.element.num_lst[-1].numId
    ppr = own._p.get_or_add_pPr()
    ppr.append(parse_xml(f'<w:numPr {nsdecls("w")}><w:ilvl w:val="0"/><w:numId w:val="{source_num}"/></w:numPr>'))
    doc.save(str(first.path))
    second = build_report(ws, example_cycle, returns=everything, summaries=summaries, issued=())
    new = Document(str(second.path))
    added = next(p for p in new.paragraphs if p.text == "Two agencies will report back in June.")
    assert added.style.name == "List Bullet"
    numbered = next(p for p in new.paragraphs if p.text == "The Board will follow this up.")
    new_id = numbered._p.pPr.numPr.numId.val
    numbering = new.part.numbering_part.element
    num = next(n for n in numbering.num_lst if n.numId == new_id)
    assert any(a.get(qn("w:abstractNumId")) == str(num.abstractNumId.val)
               for a in numbering.findall(qn("w:abstractNum")))
    assert "single-agency" in second.carried and second.stale == []


# --- the pieces ------------------------------------------------------------------------------------


def headline(number: int, met: int, assessed: int) -> Figure:
    return Figure("standard", (number,), (met, assessed, assessed))


def test_changes_are_described_figure_by_figure(example_cycle):
    findings = compute_findings(example_cycle, [])  # today's phrases and agency names
    old = [headline(1, 9, 11), Figure("exception", (7, "POLICE"), (7, 9)), Figure("exception", (8, "SIAS"), (2, 2))]
    new = [headline(1, 9, 12), Figure("exception", (7, "POLICE"), (7, 9)), Figure("exception", (8, "SCH"), (2, 3))]
    changes = describe_changes(old, new, findings)
    assert changes[0] == ("was \u201cIn 82% of cases (9 of 11), the right agencies were involved.\u201d, "
                          "now \u201cIn 75% of cases (9 of 12), the right agencies were involved.\u201d")
    assert any(c.startswith("now also:") and "Housing" in c for c in changes)
    assert any(c.startswith("no longer:") and "SIAS" in c for c in changes)
    assert len(changes) == 3


def never_called(old, new):
    raise AssertionError("a passage whose figures did not change was described as changed")


def test_staleness_compares_figures_never_the_wording_of_sentences():
    """The draft's sentences reworded (a new draft hash) but the same numbers: the edited passage is not stale."""
    figures = RegionFigures(("a" * 16,), (headline(1, 9, 11),))
    old = RegionRecord(heading="KLOE 1", draft="d" * 16, text="e" * 16, written=figures.digest(),
                       written_figures=list(figures.figures), build=figures.digest(),
                       build_figures=list(figures.figures))
    decision = decide_region("kloe-1", "KLOE 1", "reworded-draft", figures, old, found_hash="e" * 16, authors=[],
                             describe=never_called)
    assert decision.carry and decision.stale is None
    assert decision.record.written == figures.digest()
    moved = RegionFigures(("a" * 16,), (headline(1, 8, 11),))
    decision = decide_region("kloe-1", "KLOE 1", "reworded-draft", moved, old, found_hash="e" * 16, authors=[],
                             describe=lambda was, now: [f"{was[0].values} -> {now[0].values}"])
    assert decision.carry and decision.stale.changes == ["(9, 11, 11) -> (8, 11, 11)"]


def old_format_value(record: RegionRecord) -> str:
    """A record as reports built before figures were kept as numbers stored it: a digest of prose."""
    import base64
    import json
    import zlib

    payload = {"h": record.heading, "d": record.draft, "t": record.text, "w": "0123456789abcdef",
               "b": "0123456789abcdef", "ws": ["In 82% of cases (9 of 11), the right agencies were involved."],
               "f": 0}
    return "z1:" + base64.b64encode(zlib.compress(json.dumps(payload).encode("utf-8"), 9)).decode("ascii")


def test_a_report_built_before_figures_were_numbers_still_carries_its_narrative(tmp_path, example_cycle, story):
    ws = init_workspace(tmp_path / "ws", example=True)
    early, _, summaries = story
    first = build_report(ws, example_cycle, returns=early, summaries=summaries, issued=())
    edit_kloe2(first.path)
    parts = read_parts(first.path.read_bytes())
    props = read_custom_properties(open_package(first.path.read_bytes()))
    for region in ("kloe-2", "kloe-3"):
        name = PROP_PREFIX + region
        record = RegionRecord.from_value(unchunked(props, name))
        props = {k: v for k, v in props.items() if k != name and not k.startswith(name + "#")}
        props.update(chunked(name, old_format_value(record)))
    set_custom_properties(parts, props)
    first.path.write_bytes(write_parts(parts))
    second = build_report(ws, example_cycle, returns=early, summaries=summaries, issued=())
    assert region_after(Document(str(second.path)), "KLOE 2:")[:2] == [COMMS_WORDS, ADDED_WORDS]
    assert "kloe-2" in second.carried and "kloe-3" in second.regenerated
    assert [(s.region, s.changes) for s in second.stale] == [("kloe-2", [wording.FIGURES_OF_AN_EARLIER_VERSION])]
    # once re-read (edited again), today's figures are recorded and the passage is no longer listed
    doc = Document(str(second.path))
    at = next(i for i, p in enumerate(doc.paragraphs) if p.style.name == "Heading 2" and p.text.startswith("KLOE 2:"))
    doc.paragraphs[at + 2].text = "Re-read after the upgrade."
    doc.save(str(second.path))
    third = build_report(ws, example_cycle, returns=early, summaries=summaries, issued=())
    assert third.stale == [] and "kloe-2" in third.carried


def test_an_earlier_versions_record_of_a_passage_quoting_no_figures_is_not_listed():
    draft = RegionRecord(heading="Single Agency Learning", draft="d" * 16, text="e" * 16, written="",
                         written_figures=None, build="", build_figures=None)
    old = RegionRecord.from_value(old_format_value(draft))
    assert old is not None and old.written_figures is None
    decision = decide_region("single-agency", "Single Agency Learning", "d" * 16, RegionFigures(), old,
                             found_hash="e" * 16, authors=[], describe=never_called)
    assert decision.carry and decision.stale is None
    assert decision.record.written_figures == []


def test_a_region_record_survives_the_255_character_limit_of_document_properties():
    record = RegionRecord(heading="KLOE 2: Do practitioners know the thresholds?", draft="a" * 16, text="b" * 16,
                          written="c" * 16, written_figures=[headline(i, i, 11) for i in range(30)],
                          build="d" * 16, build_figures=[headline(1, 11, 11)])
    props = chunked("CaseAudit.Narrative.kloe-2", record.to_value())
    assert len(props) > 1 and all(len(v) <= 255 for v in props.values())
    assert RegionRecord.from_value(unchunked(props, "CaseAudit.Narrative.kloe-2")) == record
