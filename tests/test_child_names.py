"""The one name matcher: another spelling of a child's name is still the child's name.

Each spelling an agency (or a keyboard) really produces: accents left out,
capitals, an invisible character inside the name, a look-alike letter from
another script, full-width letters. Both a 3-letter given name (Amy) and a long
surname (Wymyślona), in prose, in file names and in case references.
"""

from __future__ import annotations

import openpyxl
import pytest

from pipeline.child_names import context, find_name, find_names, fold, name_in_identifier, name_terms, redact
from pipeline.problems import CaseAuditError
from pipeline.workbook import load_cycle
from test_privacy import tiny_cycle as cycle_of  # one small cycle for both name-guard test modules


CYCLE = cycle_of("Amy Wymyślona", "Siân Ffug-Enw", "Hope Ward")

SPELLINGS = {
    # name as recorded -> other spellings of it
    "Amy": ["AMY", "amy", "A\u200bmy", "Am\u200dy", "\u0410my", "Am\u0443", "\uff21\uff4d\uff59", "\u0391MY"],
    "Wymyślona": ["Wymyslona", "WYMYSLONA", "WYMYŚLONA", "Wymy\u200bślona", "Wymy\u00adslona", "Wymyśl\u043ena",
                  "W\u0443m\u0443slona", "\uff37\uff59\uff4d\uff59\uff53\uff4c\uff4f\uff4e\uff41"],
    "Siân": ["Sian", "SIAN", "S\u200bian", "S\u0456an", "Sia\u0302n"],
}


@pytest.mark.parametrize("recorded, spelling",
                         [(name, s) for name, spellings in SPELLINGS.items() for s in spellings])
def test_another_spelling_of_a_name_is_found_and_removed_whole(recorded, spelling):
    text = f"Notes say {spelling} was seen alone."
    found = find_name(text, CYCLE)
    assert found is not None, f"{spelling!r} is {recorded}"
    assert found.term.case_ref == ("C-2" if recorded == "Siân" else "C-1")
    assert redact(text, CYCLE) == "Notes say [name removed] was seen alone."


def test_a_partial_surname_never_survives_a_scrub_of_a_file_name():
    for name in ("POLICE_N-02_[name removed]_Wymyslona.docx", "POLICE_N-02_Zofia_WYMYSLONA v2.docx",
                 "POLICE_N-02 Wymy\u200bslona.docx"):
        scrubbed = redact(name, CYCLE)
        assert "wymy" not in fold(scrubbed).text, scrubbed
        assert scrubbed.startswith("POLICE_N-02") and scrubbed.endswith(".docx")
    assert redact("POLICE_N-01_Sian_Ffug-Enw.docx", CYCLE) == "POLICE_N-01_[name removed].docx"


def test_whole_words_only_and_ordinary_words_only_with_a_capital_in_any_spelling():
    for text in ("Amyloid tests were done.", "The army cadets.", "Wymyslonas", "Siana", "we hope the ward helps"):
        assert find_name(text, CYCLE) is None, text
    assert find_name("HOPE was seen.", CYCLE).term.case_ref == "C-3"
    assert find_name("\u041dope was seen.", CYCLE).term.case_ref == "C-3"  # Cyrillic capital En for H
    assert find_name("ho\u200bpe is what we have.", CYCLE) is None


def test_names_in_a_vocabulary_word_are_only_matched_in_full():
    cycle = cycle_of("Sam Early")
    assert find_name("Early Help was offered.", cycle) is None
    assert find_name("SAM EARLY was seen.", cycle).term.which == "full name"
    assert find_name("Sam said so.", cycle).term.which == "given name"


def test_latin_letters_with_no_accent_to_remove_are_spelled_plainly():
    cycle = cycle_of("Łucja Nieprawdziwa", "Søren Straße")
    assert find_name("Lucja attended.", cycle).term.case_ref == "C-1"
    assert find_name("SOREN attended.", cycle).term.case_ref == "C-2"
    assert find_name("Mr Strasse attended.", cycle).term.case_ref == "C-2"


def test_look_alikes_are_read_by_how_they_look_not_how_they_sound():
    # anyascii would spell the Cyrillic Er in "Рoppy" as R ("Roppy"): the look-alike is P
    cycle = cycle_of("Poppy Jones")
    assert find_name("\u0420oppy was seen.", cycle).term.case_ref == "C-1"
    assert find_name("\u0420oppy was seen.", cycle_of("Roppy Jones")) is None


def test_every_place_is_found_and_spans_point_into_the_original_text():
    text = "S\u0456an and Amy; later SIÂN FFUG-ENW."
    spans = sorted({(f.start, f.end) for f in find_names(text, CYCLE)})
    assert [text[s:e] for s, e in spans][:2] == ["S\u0456an", "Amy"]
    assert redact(text, CYCLE) == "[name removed] and [name removed]; later [name removed]."


def test_context_shown_with_a_hit_masks_every_name_and_cuts_at_whole_words():
    text = "A long note before the names, then Siân Ffug-Enw and her friend Amy Wymyslona were seen at school today."
    found = [f for f in find_names(text, CYCLE) if f.term.which == "given name" and f.term.case_ref == "C-1"][0]
    shown = context(found, CYCLE)
    folded = fold(shown).text
    for part in ("sian", "ffug", "enw", "amy", "wymyslona"):
        assert part not in folded, shown
    assert "[name]" in shown and shown.startswith("\u2026") and shown.endswith("\u2026")


@pytest.mark.parametrize("identifier", ["AMY-1", "amy1", "N-01-Amy", "WYMYSLONA-02", "N_wymys\u0142ona",
                                        "\uff21\uff2d\uff39-1", "\u0410MY-1"])
def test_an_identifier_carrying_part_of_a_name_is_caught_in_any_spelling(identifier):
    assert name_in_identifier(identifier, "Amy Wymyślona") is not None


def test_an_identifier_without_a_name_passes():
    for identifier in ("N-01", "AMYL-1", "EH-02", "CSE-03"):
        assert name_in_identifier(identifier, "Amy Wymyślona") is None


@pytest.mark.parametrize("ref", ["SIAN-1", "AMY-1", "ZOFIA1"])
def test_check_refuses_a_case_reference_naming_the_child_in_another_spelling(example_workbook_path, tmp_path, ref):
    wb = openpyxl.load_workbook(example_workbook_path)
    cases = wb["Cases"]
    cases["A2"], cases["C2"] = ref, {"SIAN-1": "Siân Ffug-Enw", "AMY-1": "Amy Ffug-Enw", "ZOFIA1": "Zofia Nowak"}[ref]
    path = tmp_path / "cycle.xlsx"
    wb.save(path)
    with pytest.raises(CaseAuditError) as err:
        load_cycle(path)
    [problem] = [p for p in err.value.report if p.code == "workbook.case-ref-names-child"]
    assert problem.location == "Cases!A2"


def test_terms_are_built_once_and_reused():
    terms = name_terms(CYCLE)
    assert redact("Sian and Hope", terms) == "[name removed] and [name removed]"
    assert redact("Nothing here.", terms) == "Nothing here."
