"""generate-forms: the forms an officer emails and an agency fills in, checked as real .docx files."""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import sqlite3
import zipfile
from pathlib import Path

import docx
import pytest

from pipeline.contract import AUDIT
from pipeline.forms import (
    check_form_template,
    generate_forms,
    safe_name,
)
from pipeline.models import Case, Cycle, FormKind, FormProtection
from pipeline.ooxml import controls, reading
from pipeline.ooxml.controls import fill_controls
from pipeline.ooxml.reading import list_controls
from pipeline.ooxml.package import open_package, parse_xml
from pipeline.ooxml.properties import read_custom_properties
from pipeline.problems import CaseAuditError
from pipeline.store import Store
from pipeline.workspace import Workspace, init_workspace, shipped_template

# The example cycle's involvement, as the board recorded it (SMBC was involved in no case).
EXAMPLE_INVOLVEMENT = {"POLICE": 9, "CSWS": 8, "CCG": 5, "SCH": 3, "SIAS": 2, "EY": 1, "HEFT": 4, "EDU": 6,
                       "VOL": 2, "CRC": 1, "SMBC": 0}



STANDARD_HEADERS = AUDIT.standards.headers

# --- helpers -------------------------------------------------------------------------------


def document_root(path: Path):
    return parse_xml(open_package(path.read_bytes()).read("word/document.xml"))


def props_of(path: Path) -> dict[str, str]:
    return read_custom_properties(open_package(path.read_bytes()))


def forms_on_disk(ws: Workspace) -> list[Path]:
    return sorted(ws.forms_dir.rglob("*.docx"))


def all_text(path: Path) -> str:
    """Every word a reader of the file can see: body, tables, controls, header and footer."""
    pkg = open_package(path.read_bytes())
    out = []
    for name in sorted(pkg.names):
        if name.startswith("word/") and name.endswith(".xml"):
            root = parse_xml(pkg.read(name))
            out.extend(reading.text_of(p) for p in root.iter(controls.W + "p"))
    return "\n".join(out)


def with_cases(cycle: Cycle, cases: list[Case]) -> Cycle:
    return cycle.model_copy(update={"cases": tuple(cases)})


@pytest.fixture(scope="module")
def issued(tmp_path_factory, example_cycle):
    """The example cycle's forms, generated once for the read-only checks below."""
    ws = init_workspace(tmp_path_factory.mktemp("issued") / "ws", example=True)
    progress = []
    result = generate_forms(ws, example_cycle, progress=lambda done, total: progress.append((done, total)))
    return ws, result, progress


# --- what the officer gets ------------------------------------------------------------------


def test_one_form_per_agency_and_case_involved_plus_one_summary_per_agency(issued, example_cycle):
    ws, result, progress = issued
    audits = [w for w in result.written if w.kind is FormKind.AUDIT]
    summaries = [w for w in result.written if w.kind is FormKind.SUMMARY]
    assert len(audits) == sum(EXAMPLE_INVOLVEMENT.values()) == 41
    for code, count in EXAMPLE_INVOLVEMENT.items():
        folder = ws.forms_dir / code
        on_disk = sorted(p.name for p in folder.glob("*.docx")) if folder.is_dir() else []
        assert len([n for n in on_disk if not n.endswith("_summary.docx")]) == count, code
        assert (f"{code}_summary.docx" in on_disk) == (count > 0), code
    assert len(summaries) == 10
    assert len(forms_on_disk(ws)) == 51
    assert {c.agency: (c.cases, c.written) for c in result.per_agency}["POLICE"] == (9, 10)
    assert progress[0] == (0, 51) and progress[-1] == (51, 51)


def test_file_names_follow_the_agreed_pattern_and_never_name_a_child(issued, example_cycle):
    ws, result, _ = issued
    for form in result.written:
        expected = (f"outbox/forms/{form.agency}/{form.agency}_summary.docx" if form.kind is FormKind.SUMMARY
                    else f"outbox/forms/{form.agency}/{form.agency}_{form.case_ref}.docx")
        assert form.path == expected
    paths = " ".join(p.relative_to(ws.root).as_posix().casefold() for p in forms_on_disk(ws))
    for case in example_cycle.cases:
        for word in case.child_name.replace("-", " ").split():
            if len(word) >= 3:
                assert word.casefold() not in paths, f"part of a child's name in a file name: {word}"


def test_child_name_appears_only_in_forms_of_agencies_involved_in_that_case(issued, example_cycle):
    ws, result, _ = issued
    for form in result.written:
        text = all_text(ws.root / form.path)
        for case in example_cycle.cases:
            shown = case.child_name in text
            assert shown == (form.kind is FormKind.AUDIT and form.case_ref == case.ref), (form.path, case.ref)


def test_every_form_opens_in_python_docx_and_carries_its_identity(issued, example_cycle):
    ws, result, _ = issued
    with Store.open(ws.store_path) as store:
        register = {f.identity.form_id: f for f in store.issued_forms()}
    assert len(register) == len(result.written)
    for form in result.written:
        path = ws.root / form.path
        docx.Document(str(path))  # opens
        props = props_of(path)
        assert props["CaseAudit.FormId"] == form.form_id and len(form.form_id) == 16
        assert props["CaseAudit.CycleId"] == example_cycle.settings.cycle_id
        assert props["CaseAudit.Agency"] == form.agency
        assert props["CaseAudit.Kind"] == form.kind.value
        assert props["CaseAudit.Case"] == (form.case_ref or "")
        assert props["CaseAudit.Kloes"] == ",".join(str(k) for k in form.kloes)
        assert props["CaseAudit.Fingerprint"] == example_cycle.fingerprint(form.kloes)
        assert props["CaseAudit.Version"] == "1"
        entry = register[form.form_id]
        assert entry.path == form.path and entry.identity.case_ref == form.case_ref
        assert entry.file_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        visible = reading.body_paragraph_texts(document_root(path))
        wanted = f"Form ID: {form.form_id}" + (f"\tCase reference: {form.case_ref}" if form.case_ref else "")
        assert any(wanted in line for line in visible), form.path
    assert len({f.form_id for f in result.written}) == len(result.written)


def test_each_audit_form_has_a_dropdown_and_two_text_boxes_per_standard_inline_and_locked(issued, example_cycle):
    ws, result, _ = issued
    form = next(w for w in result.written if w.kind is FormKind.AUDIT)
    root = document_root(ws.root / form.path)
    found = {c.tag: c for c in list_controls(root)}
    assert len(found) == len(list_controls(root)) == 2 + 3 * len(example_cycle.standards)
    assert found["ca:no-involvement"].kind == "checkbox" and found["ca:no-involvement"].checked is False
    assert found["ca:no-involvement-reason"].kind == "richtext"
    for st in example_cycle.standards:
        rating = found[f"ca:rating:S{st.number}"]
        assert rating.kind == "dropdown" and rating.choices == example_cycle.rating_scale.labels
        assert rating.showing_placeholder and rating.text == "Choose a rating"
        for role in ("evidence", "reason"):
            box = found[f"ca:{role}:S{st.number}"]
            assert box.kind == "richtext" and box.showing_placeholder
    for control in found.values():
        assert control.inline, control.tag
        assert len(control.tag) <= 64
        assert control.element.find(f"{controls.W}sdtPr/{controls.W}lock").get(controls.W + "val") == "sdtLocked"
    ids = [c.element.find(f"{controls.W}sdtPr/{controls.W}id").get(controls.W + "val") for c in found.values()]
    assert len(set(ids)) == len(ids)
    settings = zipfile.ZipFile(ws.root / form.path).read("word/settings.xml")
    assert b"documentProtection" not in settings  # Word for the web must be able to edit it


def test_audit_form_layout_is_readable_without_tags(issued, example_cycle):
    ws, result, _ = issued
    form = next(w for w in result.written if w.kind is FormKind.AUDIT)
    root = document_root(ws.root / form.path)
    tables = reading.table_texts(root)
    repeats = reading.header_row_repeats(root)
    labels = {row[0] for t in tables for row in t}
    assert {"No involvement in this case", "If no involvement, why"} <= labels
    standard_tables = [(t, r) for t, r in zip(tables, repeats) if tuple(t[0]) == STANDARD_HEADERS]
    assert len(standard_tables) == len(example_cycle.kloes)
    for kloe, (table, repeat) in zip(sorted(example_cycle.kloes, key=lambda k: k.number), standard_tables):
        assert repeat, "the header row must repeat on every page"
        numbers = [int(row[0].split("\n")[0].split()[1]) for row in table[1:]]
        assert numbers == [s.number for s in example_cycle.standards_for(kloe.number)]
        assert all(len(row) == 4 for row in table)
    headings = [p for p in reading.body_paragraph_texts(root) if p.startswith("KLOE ")]
    assert headings == [f"KLOE {k.number}: {k.question}" for k in sorted(example_cycle.kloes, key=lambda k: k.number)]
    four = next(row[0] for t, _ in standard_tables for row in t[1:] if row[0].startswith("Standard 4\n"))
    assert len(four.split("\n")) == 2 + 5  # "Standard 4", the lead-in and its five bullet lines


def test_summary_form_has_the_three_appendix_two_boxes(issued):
    ws, result, _ = issued
    form = next(w for w in result.written if w.kind is FormKind.SUMMARY and w.agency == "POLICE")
    root = document_root(ws.root / form.path)
    found = {c.tag: c for c in list_controls(root)}
    assert set(found) == {"ca:summary:improvements", "ca:summary:partnership", "ca:summary:comments"}
    assert all(c.kind == "richtext" and c.inline for c in found.values())
    rows = {row[0].split("\n")[0]: row for t in reading.table_texts(root) for row in t}
    for label in ("Improvements to be made in your agency", "Suggestions for improving partnership working",
                  "Other comments"):
        assert label in rows
    assert any(f"Form ID: {form.form_id}" in p for p in reading.body_paragraph_texts(root))
    assert props_of(ws.root / form.path)["CaseAudit.Kind"] == "summary"
    assert "N-01" in all_text(ws.root / form.path)  # the cases it audited are listed


# --- values that break naive templating --------------------------------------------------------


def test_awkward_characters_and_non_ascii_names_come_out_exactly_as_typed(tmp_workspace, example_cycle):
    names = {
        "N-01": "Siân O'Brien-Ćwik & <Jones> \"Jr\"",
        "N-02": "Łucja Żółkiewska",
        "N-03": "عائشہ خان",
        "N-04": "Dafydd ap Gruffudd\x0b",  # a stray vertical tab pasted from Excel
    }
    cases = [c.model_copy(update={"child_name": names.get(c.ref, c.child_name)}) for c in example_cycle.cases]
    agencies = tuple(a.model_copy(update={"name": a.name + " & Partners <Trust>"}) if a.code == "POLICE" else a
                     for a in example_cycle.agencies)
    settings = example_cycle.settings.model_copy(update={"board_name": "Cwm Taf & <Morgannwg> \"Safeguarding\" Board"})
    cycle = with_cases(example_cycle, cases).model_copy(update={"agencies": agencies, "settings": settings})
    result = generate_forms(tmp_workspace, cycle, cases=list(names))
    assert result.written
    for form in result.written:
        path = tmp_workspace.root / form.path
        docx.Document(str(path))
        text = all_text(path)
        assert "Cwm Taf & <Morgannwg> \"Safeguarding\" Board" in text
        if form.case_ref:
            expected = names[form.case_ref].replace("\x0b", "")
            rows = {row[0]: row[1] for t in reading.table_texts(document_root(path)) for row in t if len(row) == 2}
            assert rows["Child's name"] == expected
        if form.agency == "POLICE":
            assert "West Midlands Police & Partners <Trust>" in text
        assert "\u27e6" not in text  # no placeholder left behind


# --- custom templates -------------------------------------------------------------------------


def _custom_template(ws: Workspace, edit) -> Path:
    source = shipped_template("word", "audit-form.docx").read_bytes()
    zin = zipfile.ZipFile(io.BytesIO(source))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "word/document.xml":
                data = edit(data.decode("utf-8")).encode("utf-8")
            zout.writestr(info, data)
    target = ws.templates_dir / "word" / "audit-form.docx"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(out.getvalue())
    return target


def test_shipped_templates_pass_their_own_check(example_cycle):
    check_form_template(shipped_template("word", "audit-form.docx"), example_cycle)
    check_form_template(shipped_template("word", "agency-summary.docx"), example_cycle, FormKind.SUMMARY)


def test_custom_template_missing_a_control_tag_is_refused_by_name_before_anything_is_written(tmp_workspace, example_cycle):
    _custom_template(tmp_workspace, lambda xml: xml.replace('w:val="ca:evidence:S{{ s.number }}"', 'w:val="evidence"'))
    with pytest.raises(CaseAuditError) as err:
        generate_forms(tmp_workspace, example_cycle)
    messages = " ".join(p.render() for p in err.value.report)
    assert "ca:evidence:S1" in messages and "templates/word/audit-form.docx" in messages
    assert {p.code for p in err.value.report} == {"template.missing-control"}
    assert forms_on_disk(tmp_workspace) == []


def test_custom_template_that_hides_the_form_id_or_uses_an_unknown_variable_is_refused(tmp_workspace, example_cycle):
    path = _custom_template(tmp_workspace, lambda xml: xml.replace("Form ID: {{ form_id }}", "Reference"))
    with pytest.raises(CaseAuditError) as err:
        check_form_template(path, example_cycle)
    assert any(p.code == "template.missing-variable" and p.value == "form_id" for p in err.value.report)

    _custom_template(tmp_workspace, lambda xml: xml.replace("{{ case.priority_area }}", "{{ case_priority }}"))
    with pytest.raises(CaseAuditError) as err:
        generate_forms(tmp_workspace, example_cycle)
    problem = next(iter(err.value.report))
    assert problem.code == "template.unknown-variable" and problem.value == "case_priority"
    assert "case.ref" not in problem.message and "form_id" in problem.fix
    assert forms_on_disk(tmp_workspace) == []


def test_custom_template_with_a_plain_text_or_block_control_is_refused(tmp_workspace, example_cycle):
    def to_plain_text(xml: str) -> str:
        at = xml.index('w:val="ca:reason:S{{ s.number }}"')
        end = xml.index("</w:sdtPr>", at)
        return xml[:end] + "<w:text/>" + xml[end:]
    path = _custom_template(tmp_workspace, to_plain_text)
    with pytest.raises(CaseAuditError) as err:
        check_form_template(path, example_cycle)
    assert any(p.code == "template.wrong-control" and "plain text" in p.message for p in err.value.report)


def test_controls_are_locked_even_when_a_custom_template_forgot_to(tmp_workspace, example_cycle):
    _custom_template(tmp_workspace, lambda xml: xml.replace('<w:lock w:val="sdtLocked"/>', ""))
    result = generate_forms(tmp_workspace, example_cycle, agencies=["EY"])
    for form in result.written:
        found = list_controls(document_root(tmp_workspace.root / form.path))
        assert found and all(c.element.find(f"{controls.W}sdtPr/{controls.W}lock") is not None for c in found)


def test_rating_choices_come_from_the_cycles_rating_scale(tmp_workspace, example_cycle):
    from pipeline.models import RatingKind, RatingOption, RatingScale
    scale = RatingScale(options=(RatingOption(label="Exceeded", kind=RatingKind.MET),
                                 RatingOption(label="Met", kind=RatingKind.MET),
                                 RatingOption(label="Not met", kind=RatingKind.NOT_MET),
                                 RatingOption(label="Does not apply", kind=RatingKind.NOT_APPLICABLE)))
    result = generate_forms(tmp_workspace, example_cycle.model_copy(update={"rating_scale": scale}), agencies=["EY"])
    form = next(w for w in result.written if w.kind is FormKind.AUDIT)
    ratings = [c for c in list_controls(document_root(tmp_workspace.root / form.path)) if c.kind == "dropdown"]
    assert len(ratings) == len(example_cycle.standards)
    assert all(c.choices == ["Exceeded", "Met", "Not met", "Does not apply"] for c in ratings)


def test_custom_template_that_transforms_a_per_form_value_is_refused(tmp_workspace, example_cycle):
    path = _custom_template(tmp_workspace, lambda xml: xml.replace("Agency</w:t>", "Agency {{ agency.code|lower }}</w:t>"))
    with pytest.raises(CaseAuditError) as err:
        check_form_template(path, example_cycle)
    assert [p.code for p in err.value.report] == ["template.filtered-variable"]


def test_custom_template_without_the_childs_name_still_works_with_a_warning(tmp_workspace, example_cycle):
    _custom_template(tmp_workspace, lambda xml: xml.replace("{{ case.child_name }}", "(sent separately)"))
    result = generate_forms(tmp_workspace, example_cycle, agencies=["EY"])
    assert len(result.written) == 2
    assert [p.code for p in result.problems] == ["template.no-child-name"]


def test_a_workspace_template_overrides_the_shipped_one(tmp_workspace, example_cycle):
    _custom_template(tmp_workspace, lambda xml: xml.replace("single agency audit form", "our own audit form"))
    result = generate_forms(tmp_workspace, example_cycle, agencies=["EY"])
    audit = next(w for w in result.written if w.kind is FormKind.AUDIT)
    assert "our own audit form" in all_text(tmp_workspace.root / audit.path)


# --- re-runs, reissue, limits -----------------------------------------------------------------


def test_rerun_writes_nothing_and_leaves_every_file_untouched(tmp_workspace, example_cycle):
    first = generate_forms(tmp_workspace, example_cycle)
    before = {p: p.read_bytes() for p in forms_on_disk(tmp_workspace)}
    again = generate_forms(tmp_workspace, example_cycle)
    assert again.written == [] and len(again.skipped) == len(first.written)
    assert {s.reason for s in again.skipped} == {"already issued"}
    assert {p: p.read_bytes() for p in forms_on_disk(tmp_workspace)} == before


def test_a_case_added_mid_cycle_gets_only_its_own_forms(tmp_workspace, example_cycle):
    generate_forms(tmp_workspace, example_cycle)
    added = Case(ref="N-09", priority_area=example_cycle.cases[0].priority_area, child_name="Rhiannon Pryce",
                 agencies=("POLICE", "SMBC"))
    result = generate_forms(tmp_workspace, with_cases(example_cycle, [*example_cycle.cases, added]))
    assert sorted(w.path for w in result.written) == [
        "outbox/forms/POLICE/POLICE_N-09.docx", "outbox/forms/SMBC/SMBC_N-09.docx",
        "outbox/forms/SMBC/SMBC_summary.docx"]


def test_reissue_writes_new_ids_and_moves_the_old_files_aside_unchanged(tmp_workspace, example_cycle):
    first = generate_forms(tmp_workspace, example_cycle, agencies=["SIAS"])
    old = {w.path: w for w in first.written}
    old_bytes = {w.form_id: (tmp_workspace.root / p).read_bytes() for p, w in old.items()}
    again = generate_forms(tmp_workspace, example_cycle, agencies=["sias"], reissue=True)
    assert len(again.written) == len(first.written) == 3
    for form in again.written:
        assert form.path.endswith("_v2.docx") and form.form_id not in {o.form_id for o in old.values()}
        assert len(form.replaces) == 1
    assert {s.form_id for s in again.superseded} == {o.form_id for o in old.values()}
    # the agency's folder holds only the forms to fill in; the replaced ones are kept, byte for byte, aside
    folder = tmp_workspace.forms_dir / "SIAS"
    assert sorted(p.name for p in folder.glob("*.docx")) == sorted(Path(w.path).name for w in again.written)
    for sup in again.superseded:
        assert sup.path.startswith("outbox/forms/SIAS/superseded/")
        assert (tmp_workspace.root / sup.path).read_bytes() == old_bytes[sup.form_id]  # never overwritten
    with Store.open(tmp_workspace.store_path) as store:
        assert {store.issued_form(s.form_id).path for s in again.superseded} == {s.path for s in again.superseded}
    assert generate_forms(tmp_workspace, example_cycle, agencies=["SIAS"]).problems.warnings == []
    with Store.open(tmp_workspace.store_path) as store:
        current = {f.identity.form_id for f in store.issued_forms(current_only=True)}
        everything = store.issued_forms()
    assert current == {w.form_id for w in again.written}
    assert all(f.superseded_by for f in everything if f.identity.form_id in {o.form_id for o in old.values()})


def test_per_kloe_writes_one_form_per_agency_case_and_kloe(tmp_workspace, example_cycle):
    result = generate_forms(tmp_workspace, example_cycle, per_kloe=True)
    audits = [w for w in result.written if w.kind is FormKind.AUDIT]
    assert len(audits) == 41 * len(example_cycle.kloes)
    form = next(w for w in audits if w.agency == "EY" and w.kloes == (3,))
    path = tmp_workspace.root / form.path
    assert path.name == f"EY_{form.case_ref}_KLOE3.docx"
    assert props_of(path)["CaseAudit.Kloes"] == "3"
    tags = {c.tag for c in list_controls(document_root(path))}
    wanted = {n.number for n in example_cycle.standards_for(3)}
    assert {t for t in tags if t.startswith("ca:rating:")} == {f"ca:rating:S{n}" for n in wanted}
    again = generate_forms(tmp_workspace, example_cycle)  # a whole-form run: every KLOE is already covered
    assert again.written == []


def test_agency_and_case_options_limit_the_run_and_unknown_values_are_named(tmp_workspace, example_cycle):
    result = generate_forms(tmp_workspace, example_cycle, agencies=["POLICE"], cases=["CSE-01", "N-01"])
    assert sorted(w.path for w in result.written) == ["outbox/forms/POLICE/POLICE_CSE-01.docx",
                                                      "outbox/forms/POLICE/POLICE_N-01.docx"]
    with pytest.raises(CaseAuditError) as err:
        generate_forms(tmp_workspace, example_cycle, agencies=["POLCE"])
    problem = next(iter(err.value.report))
    assert "POLCE" in problem.message and "POLICE" in problem.fix and "CSWS" in problem.fix
    with pytest.raises(CaseAuditError) as err:
        generate_forms(tmp_workspace, example_cycle, cases=["X-99"])
    assert "X-99" in next(iter(err.value.report)).message
    assert len(forms_on_disk(tmp_workspace)) == 2


def test_a_file_the_register_does_not_know_is_never_overwritten(tmp_workspace, example_cycle):
    (case,) = example_cycle.cases_for("EY")
    stray = tmp_workspace.forms_dir / "EY" / f"EY_{case.ref}.docx"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"someone's own notes")
    result = generate_forms(tmp_workspace, example_cycle, agencies=["EY"])
    assert stray.read_bytes() == b"someone's own notes"
    assert f"outbox/forms/EY/EY_{case.ref}_v2.docx" in {w.path for w in result.written}
    assert any(p.code == "forms.unknown-file" and p.file == f"outbox/forms/EY/EY_{case.ref}.docx"
               for p in result.problems)


def test_a_form_written_but_never_recorded_is_recorded_not_rewritten(tmp_path, example_cycle):
    # As after a crash between writing a file and recording it: the file is there, the register row is not.
    ws = init_workspace(tmp_path / "ws", example=True)
    first = generate_forms(ws, example_cycle, agencies=["CRC"])
    audit = next(w for w in first.written if w.kind is FormKind.AUDIT)
    conn = sqlite3.connect(ws.store_path)
    conn.execute("DELETE FROM issued_forms WHERE form_id = ?", (audit.form_id,))
    conn.commit()
    conn.close()
    before = (ws.root / audit.path).read_bytes()
    again = generate_forms(ws, example_cycle, agencies=["CRC"])
    assert again.written == []
    assert (ws.root / audit.path).read_bytes() == before
    assert any(p.code == "forms.recovered" for p in again.problems)
    with Store.open(ws.store_path) as store:
        assert store.issued_form(audit.form_id).path == audit.path


def test_case_reference_that_contains_the_childs_name_is_refused(tmp_workspace, example_cycle):
    bad = example_cycle.cases[0].model_copy(update={"ref": "NOWAK-01", "child_name": "Adam Nowak"})
    with pytest.raises(CaseAuditError) as err:
        generate_forms(tmp_workspace, with_cases(example_cycle, [bad, *example_cycle.cases[1:]]))
    (problem,) = err.value.report
    assert "child" in err.value.summary and "child's name" in problem.message and "NOWAK-01" in problem.message
    assert forms_on_disk(tmp_workspace) == []


def test_case_references_become_windows_safe_file_names(tmp_workspace, example_cycle):
    odd = example_cycle.cases[0].model_copy(update={"ref": 'CSE/01: "a"?'})
    result = generate_forms(tmp_workspace, with_cases(example_cycle, [odd]), cases=[odd.ref])
    names = {Path(w.path).name for w in result.written if w.kind is FormKind.AUDIT}
    assert all(not set(n) & set('<>:"/\\|?*') for n in names) and len(names) == len(odd.agencies)
    assert safe_name("CON") == "_CON" and safe_name("ref. ") == "ref"
    form = next(w for w in result.written if w.kind is FormKind.AUDIT)
    assert props_of(tmp_workspace.root / form.path)["CaseAudit.Case"] == odd.ref


def test_filling_in_forms_protection_is_a_setting_and_has_no_password(tmp_workspace, example_cycle):
    settings = example_cycle.settings.model_copy(update={"form_protection": FormProtection.FILLING_IN_FORMS})
    result = generate_forms(tmp_workspace, example_cycle.model_copy(update={"settings": settings}), agencies=["EY"])
    for form in result.written:
        root = parse_xml(zipfile.ZipFile(tmp_workspace.root / form.path).read("word/settings.xml"))
        (protection,) = root.findall(controls.W + "documentProtection")
        assert protection.get(controls.W + "edit") == "forms" and protection.get(controls.W + "enforcement") == "1"
        assert not any("hash" in k.lower() or "salt" in k.lower() for k in protection.attrib)


# --- fill_controls, as the demo and ingest tests use it ---------------------------------------------


def test_fill_controls_fills_like_word_and_names_unknown_tags(issued):
    ws, result, _ = issued
    form = next(w for w in result.written if w.kind is FormKind.AUDIT)
    data = (ws.root / form.path).read_bytes()
    filled = fill_controls(data, {"ca:rating:S1": "not met", "ca:reason:S1": "No strategy meeting\nGP & <school>",
                                  "ca:no-involvement": True})
    found = {c.tag: c for c in list_controls(parse_xml(open_package(filled).read("word/document.xml")))}
    assert found["ca:rating:S1"].text == "Not met" and not found["ca:rating:S1"].showing_placeholder
    assert found["ca:reason:S1"].text == "No strategy meeting\nGP & <school>"
    assert found["ca:no-involvement"].checked is True and found["ca:no-involvement"].text == "\u2612"
    assert found["ca:evidence:S1"].showing_placeholder  # untouched
    assert read_custom_properties(open_package(filled))["CaseAudit.FormId"] == form.form_id
    docx.Document(io.BytesIO(filled))
    with pytest.raises(KeyError, match="ca:rating:S99"):
        fill_controls(data, {"ca:rating:S99": "Met or exceeded"})


# --- real word processors -------------------------------------------------------------------------


@pytest.mark.libreoffice
def test_libreoffice_converts_a_generated_form_to_pdf(issued, tmp_path, convert_with_libreoffice):
    ws, result, _ = issued
    form = next(w for w in result.written if w.kind is FormKind.AUDIT and w.agency == "POLICE")
    source = tmp_path / "form.docx"
    shutil.copy(ws.root / form.path, source)
    convert_with_libreoffice([source], tmp_path, "pdf")
    pdf = tmp_path / "form.pdf"
    assert pdf.is_file()
    data = pdf.read_bytes()
    pages = re.findall(rb"/Type\s*/Page(?![s\w])", data)
    sizes = {tuple(round(float(x)) for x in m) for m in re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)", data)}
    assert 2 <= len(pages) <= 8, f"{len(pages)} pages"
    assert sizes == {(595, 842)}, f"not A4 portrait: {sizes}"


@pytest.mark.libreoffice
def test_after_a_libreoffice_save_the_identity_layout_and_answers_survive(issued, tmp_path, example_cycle,
                                                                          resave_with_libreoffice):
    ws, result, _ = issued
    form = next(w for w in result.written if w.kind is FormKind.AUDIT and w.agency == "POLICE")
    filled = fill_controls((ws.root / form.path).read_bytes(), {
        "ca:rating:S1": "Met or exceeded", "ca:evidence:S1": "Strategy meeting held & minuted\nwithin 24 hours",
        "ca:rating:S2": "Not met", "ca:reason:S2": "GP not invited",
    })
    source = tmp_path / "in" / "form.docx"
    source.parent.mkdir()
    source.write_bytes(filled)
    out = tmp_path / "out"
    resave_with_libreoffice([source], out)
    saved = out / "form.docx"
    assert saved.is_file()

    props = props_of(saved)
    assert props["CaseAudit.FormId"] == form.form_id and props["CaseAudit.Case"] == form.case_ref
    root = document_root(saved)
    assert any(f"Form ID: {form.form_id}" in p and f"Case reference: {form.case_ref}" in p
               for p in reading.body_paragraph_texts(root))
    tables = [t for t in reading.table_texts(root) if t and tuple(t[0]) == STANDARD_HEADERS]
    assert len(tables) == len(example_cycle.kloes)
    first = tables[0]
    assert first[1][0].startswith("Standard 1") and first[1][1] == "Met or exceeded"
    assert first[1][2] == "Strategy meeting held & minuted\nwithin 24 hours"
    assert first[2][1] == "Not met" and first[2][3] == "GP not invited"
    assert first[3][1] == "Choose a rating"  # an untouched field still reads as its placeholder
