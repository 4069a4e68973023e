"""Problem codes are a catalogue: every code the pipeline emits is declared once in pipeline/problem_codes.py.

Checked three ways: the source (every code literal in pipeline/ is registered,
and every registered code is emitted somewhere), the running pipeline (the
demo and the shared corpus emit only registered codes), and the documents
(docs/problem-codes.md is the catalogue as it is now).
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import string
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.problem_codes import CATALOGUE, CODES, codes_where
from pipeline.problems import CaseAuditError, Problem, ProblemReport, Severity, UnregisteredCode

ROOT = Path(__file__).resolve().parents[1]
PIPELINE = ROOT / "pipeline"
SHARED = Path(os.environ.get("CASE_AUDIT_SHARED", ROOT.parent / "shared"))
CORPUS = SHARED / "corpus"

CODE_RE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+(?:-[a-z0-9]+)*$")
# callables that take a problem code, and the position of that argument
TAKES_CODE = {"add": 0, "single": 0, "_Reject": 0, "_problem": 1, "problem": 0, "_unique": 3, "_known_agency": 3,
              "make_problem": 0, "Problem": 0}
NOT_CODES = {"package"}  # PackageError's own codes (pipeline/ooxml), mapped to file.* / workbook.* before anyone sees them
FILE_NAME = re.compile(r"\.(xlsx|docx|json|sqlite3|lock)$")  # workspace file names, not codes
AREAS = {c.area for c in CODES}


def _sources() -> list[tuple[Path, ast.Module]]:
    return [(p, ast.parse(p.read_text(encoding="utf-8"))) for p in sorted(PIPELINE.rglob("*.py"))]


def _name(call: ast.Call) -> str | None:
    f = call.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None


def _code_argument(call: ast.Call) -> ast.expr | None:
    name = _name(call)
    if name not in TAKES_CODE:
        return None
    keyword = next((k.value for k in call.keywords if k.arg == "code"), None)
    i = TAKES_CODE[name]
    return keyword if keyword is not None else call.args[i] if len(call.args) > i else None


def _pattern(node: ast.JoinedStr) -> str:
    return "".join(re.escape(v.value) if isinstance(v, ast.Constant) else "[a-z0-9-]+" for v in node.values)


def _emitted_in_source():
    """Code literals passed to a problem-making call, code-like literals of a catalogue area, f-string code patterns."""
    passed, literals, patterns = {}, {}, {}
    for path, tree in _sources():
        where = path.relative_to(ROOT).as_posix()
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and CODE_RE.match(node.value) \
                    and node.value.split(".", 1)[0] in AREAS and not FILE_NAME.search(node.value):
                literals.setdefault(node.value, f"{where}:{node.lineno}")
            if not isinstance(node, ast.Call):
                continue
            arg = _code_argument(node)
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and "." in arg.value:
                passed.setdefault(arg.value, f"{where}:{node.lineno}")
            elif isinstance(arg, ast.JoinedStr) and isinstance(arg.values[0], ast.Constant) \
                    and CODE_RE.match(arg.values[0].value + "x"):
                patterns.setdefault(_pattern(arg), f"{where}:{node.lineno}")
    return passed, literals, patterns


def test_every_code_literal_in_the_pipeline_is_registered():
    passed, literals, _ = _emitted_in_source()
    assert len(passed) > 120  # the scan does see the call sites
    unregistered = {code: where for code, where in {**literals, **passed}.items()
                    if code not in CATALOGUE and code.split(".", 1)[0] not in NOT_CODES}
    assert unregistered == {}


def test_every_code_made_from_parts_matches_registered_codes():
    _, _, patterns = _emitted_in_source()
    assert patterns  # environment.{kind}, forms.unknown-{what}
    for pattern, where in patterns.items():
        assert any(re.fullmatch(pattern, code) for code in CATALOGUE), (pattern, where)


def test_every_environment_kind_has_its_code():
    from pipeline import faults

    kinds = set(faults._SQLITE.values()) | {kind for _, kind in faults._SQLITE_TEXT} | {"disk-full", "read-only",
                                                                                     "permission", "disk-error"}
    assert {f"environment.{kind}" for kind in kinds} <= set(CATALOGUE)


def test_every_registered_code_is_emitted_somewhere():
    passed, literals, patterns = _emitted_in_source()
    seen = set(passed) | set(literals)
    dead = [c.code for c in CODES if c.code not in seen and not any(re.fullmatch(p, c.code) for p in patterns)]
    assert dead == []


def test_the_catalogue_is_well_formed():
    assert len(CATALOGUE) == len(CODES)  # each code declared once
    for c in CODES:
        assert CODE_RE.match(c.code), c.code
        assert c.title and c.message and c.title[0].isupper(), c.code
        for text in (c.message, c.fix, c.agency_advice):
            list(string.Formatter().parse(text))  # a malformed template raises here
    for c in CODES:
        if c.note:
            assert c.severity is Severity.WARNING and c.area in ("return", "file", "report"), c.code  # nothing for anyone to do
        if c.rolls_up_into:
            assert c.rolls_up_into in CATALOGUE, c.code
    assert codes_where("tell_agency") == {"return.child-named", "file.converted", "return.standard-wording-changed"}
    assert codes_where("rejects") == {"return.blank-form", "return.empty-summary", "return.answer-too-long",
                                      "return.empty-progress"}


def test_the_problem_codes_document_is_current():
    spec = importlib.util.spec_from_file_location("problem_codes_doc", ROOT / "dev" / "problem_codes_doc.py")
    doc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(doc)
    text = doc.render()
    assert all(f"| `{c.code}` |" in text for c in CODES)
    assert (ROOT / "docs" / "problem-codes.md").read_text(encoding="utf-8") == text, \
        "docs/problem-codes.md is out of date: run python dev/problem_codes_doc.py"


# --- ProblemReport and CaseAuditError use the catalogue -----------------------------


def test_an_unregistered_code_is_refused_under_tests():
    with pytest.raises(UnregisteredCode, match="no.such-code"):
        ProblemReport().add("no.such-code", "Something.")
    with pytest.raises(UnregisteredCode):
        CaseAuditError.single("no.such-code", "Something.")


def test_an_unregistered_code_still_reaches_the_user(monkeypatch):
    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)
    monkeypatch.delenv("CASE_AUDIT_STRICT_CODES", raising=False)
    problem = ProblemReport().add("no.such-code", "Something is wrong.", "Do this.")
    assert (problem.code, problem.message, problem.fix) == ("no.such-code", "Something is wrong.", "Do this.")


def test_the_catalogue_fills_in_message_fix_and_severity():
    report = ProblemReport()
    problem = report.add("forms.unknown-case", value="N-99", valid="N-01, N-02")
    assert problem.message == "There is no case 'N-99' in the cycle workbook."
    assert problem.fix == "Use one of: N-01, N-02 (from the Cases sheet)."
    assert problem.severity is Severity.ERROR
    note = report.add("return.superseded-form", "Used an earlier issue.")
    assert note.severity is Severity.WARNING and note.fix == CATALOGUE["return.superseded-form"].fix
    given = report.add("workbook.no-cases", "No cases.", "Add some.", severity=Severity.WARNING)
    assert (given.fix, given.severity) == ("Add some.", Severity.WARNING)  # what the call site says wins


def test_a_template_field_left_out_is_a_fault_under_tests():
    with pytest.raises(KeyError, match="valid"):
        ProblemReport().add("forms.unknown-case", value="N-99")


def test_a_fatal_error_is_an_error_and_its_summary_is_the_message():
    exc = CaseAuditError.single("init.not-empty", folder="audit-2026", count=3)
    (problem,) = exc.report
    assert exc.summary == problem.message == "audit-2026 is not empty (3 item(s) already there)."
    assert problem.severity is Severity.ERROR and problem.fix.startswith("Choose a new folder")


# --- the JSON shape stays as it was with pydantic -----------------------------------


def test_a_problem_dumps_to_the_same_json_shape_and_reads_back():
    problem = ProblemReport().add("workbook.duplicate-case-ref", "The case reference 'N-01' appears twice.",
                                  file=Path("cycle.xlsx"), location="Cases!A7", value=7)
    dumped = problem.model_dump(mode="json")
    assert list(dumped) == ["code", "message", "fix", "file", "location", "value", "severity"]
    assert dumped["severity"] == "error" and dumped["file"] == "cycle.xlsx" and dumped["value"] == "7"
    assert Problem(**json.loads(json.dumps(dumped))) == problem
    made = Problem(code="file.locked", message="Open in Word.", file=Path("a.docx"), value=3, severity="warning")
    assert (made.file, made.value, made.severity) == ("a.docx", "3", Severity.WARNING)


def test_models_holding_problems_dump_them_as_before():
    from pipeline.forms import GenerateResult

    report = ProblemReport()
    problem = report.add("return.comments", "The form has Word comments.")
    result = GenerateResult(problems=report)
    assert result.model_dump(mode="json")["problems"]["problems"] == [problem.model_dump(mode="json")]
    assert GenerateResult.model_validate_json(result.model_dump_json()).problems.problems == [problem]


def test_forms_under_older_wording_roll_up_into_one_warning_in_the_json(tmp_path, example_cycle):
    from pipeline.forms import generate_forms
    from pipeline.workspace import init_workspace

    ws = init_workspace(tmp_path / "ws", example=True)
    generate_forms(ws, example_cycle, agencies=["POLICE"])
    standards = tuple(s.model_copy(update={"text": s.text + " (revised)"}) if s.number == 2 else s
                      for s in example_cycle.standards)
    again = generate_forms(ws, example_cycle.model_copy(update={"standards": standards}), agencies=["POLICE"])
    (warning,) = again.problems
    assert warning.code == "forms.standards-changed" and warning.location == "agencies: POLICE"
    assert warning.message.startswith(f"{len(example_cycle.cases_for('POLICE'))} issued form(s)")
    assert again.model_dump(mode="json")["problems"] == {"problems": [warning.model_dump(mode="json")]}


def test_problems_and_the_cli_start_without_heavy_libraries():
    """`case-audit --help` loads click and the CLI, not pydantic or the catalogue (issue 11)."""
    code = ("import sys, pipeline.problems, pipeline.cli; "
            "heavy = ('pydantic', 'openpyxl', 'docx', 'docxtpl', 'lxml', 'filelock', 'pipeline.problem_codes'); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m in heavy))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stderr or done.stdout


# --- the running pipeline emits only registered codes --------------------------------


def _check_emitted(problems, where: str) -> set[str]:
    problems = list(problems)
    bad = [(p.code, where) for p in problems if p.code not in CATALOGUE]
    assert bad == []
    assert all(p.message for p in problems), where  # no empty-message markers reach anyone
    return {p.code for p in problems}


def test_the_demo_emits_only_registered_codes(tmp_path):
    from pipeline.demo import run_demo
    from pipeline.store import Store

    result = run_demo(tmp_path / "demo")
    store = Store.open(result.workspace.store_path)
    try:
        received = store.received_files()
    finally:
        store.close()
    assert len(received) > 20
    _check_emitted((p for f in received for p in f.problems), "demo")


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the shared corpus is not at {CORPUS} (set CASE_AUDIT_SHARED)")
def test_the_corpus_emits_only_registered_codes(tmp_path, example_cycle):
    from pipeline.returns import read_return
    from pipeline.store import Store
    from pipeline.workbook import read_cycle
    from pipeline.workspace import init_workspace

    ws = init_workspace(tmp_path / "ws", example=True)
    store = Store.open(ws.store_path)
    codes: set[str] = set()
    try:
        for path in sorted((CORPUS / "docx").iterdir()):
            outcome = read_return(path.read_bytes(), filename=path.name, cycle=example_cycle, register=store)
            codes |= _check_emitted(outcome.problems, path.name)
    finally:
        store.close()
    for path in sorted((CORPUS / "xlsx").iterdir()):
        try:
            codes |= _check_emitted(read_cycle(path).report, path.name)
        except CaseAuditError as exc:
            codes |= _check_emitted(exc.report, path.name)
    assert len(codes) > 10
