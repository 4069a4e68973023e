"""generate-forms: one pre-filled Word audit form per agency and case, one summary form per agency.

How a form is made (fast enough for a thousand forms, safe for any value):
the docxtpl template is rendered ONCE per KLOE set, with autoescape on and
StrictUndefined, using unguessable sentinel strings for everything that
differs between forms (form id, agency, case, child's name). The rendered
parts are then checked against the layout the return parser relies on and
cut at the sentinels. Each form is the same parts with the sentinels
replaced by XML-escaped values, its identity in custom document
properties, zipped. Every form written is recorded in the issued-forms
register; nothing issued is ever overwritten.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Callable, Optional, Sequence

from pydantic import BaseModel, ConfigDict, Field

from . import contract
from .child_names import name_in_identifier
from .contract import PROP_AGENCY, PROP_CASE, PROP_CYCLE, PROP_FINGERPRINT, PROP_FORM_ID, PROP_KIND, PROP_KLOES, \
    identity_properties
from .models import Case, Cycle, FormIdentity, FormKind, FormProtection, IssuedForm
from .ooxml import controls
from .ooxml.package import sniff
from .ooxml.stamping import Plate, RenderedPackage, custom_properties_of
from .problem_codes import codes_where
from .problems import CaseAuditError, Problem, ProblemReport, Severity
from .returns import check_rendered_form, paragraph_digest, printed_paragraphs
from .store import Store
from .workspace import Workspace, publish, recover_staged, safe_name, stage_bytes, unique_path

# What a form carries and a return is read by (identity properties, tags, labels): pipeline/contract.py.
AUDIT_TEMPLATE = contract.AUDIT.template
SUMMARY_TEMPLATE = contract.SUMMARY.template

_CYCLE_VARIABLES = {
    "board_name": "the board's name",
    "cycle_name": "the cycle as printed, e.g. 2015-2016",
    "cycle_id": "the cycle's short reference",
    "return_deadline": "the return date, e.g. Friday 12 February 2016 (empty if none)",
    "return_instructions": "how to return the form (empty if none)",
    "kloes": "the KLOEs on this form: number, question, title, standards (number, text, lines)",
    "kloe_list": "the KLOEs on this form as text, e.g. KLOE 1, KLOE 2",
    "rating_labels": "the rating choices",
}
AUDIT_VARIABLES = {
    **_CYCLE_VARIABLES,
    "form_id": "the form's ID (must be printed as 'Form ID: {{ form_id }}')",
    "agency": "the agency: code, name, short_name, contact_name, secure_email",
    "case": "the case: ref, priority_area, child_name",
}
SUMMARY_VARIABLES = {
    **_CYCLE_VARIABLES,
    "form_id": "the form's ID (must be printed as 'Form ID: {{ form_id }}')",
    "agency": "the agency: code, name, short_name, contact_name, secure_email",
    "case_refs": "the references of the cases the agency audits, e.g. C01, C04",
}
_AGENCY_FIELDS = ("code", "name", "short_name", "contact_name", "secure_email")
_CASE_FIELDS = ("ref", "priority_area", "child_name")

BATCH_SIZE = 50  # forms written between register transactions
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


# --- results ------------------------------------------------------------------------


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True)


class WrittenForm(_Result):
    agency: str
    kind: FormKind
    case_ref: Optional[str] = None
    kloes: tuple[int, ...] = ()
    path: str = Field(description="Relative to the workspace, forward slashes")
    form_id: str
    replaces: tuple[str, ...] = Field((), description="Form ids this form supersedes (--reissue)")


class SkippedForm(_Result):
    agency: str
    kind: FormKind
    case_ref: Optional[str] = None
    kloes: tuple[int, ...] = ()
    path: str
    form_id: str
    reason: str


class SupersededForm(_Result):
    agency: str
    kind: FormKind
    case_ref: Optional[str] = None
    form_id: str
    path: str
    superseded_by: str


class AgencyCount(_Result):
    """One line of the end-of-run table."""

    agency: str
    name: str
    cases: int
    written: int
    skipped: int
    issued: int = Field(description="Current (not superseded) forms in the register after the run")


class GenerateResult(_Result):
    written: list[WrittenForm] = Field(default_factory=list)
    skipped: list[SkippedForm] = Field(default_factory=list)
    superseded: list[SupersededForm] = Field(default_factory=list)
    per_agency: list[AgencyCount] = Field(default_factory=list)
    problems: ProblemReport = Field(default_factory=ProblemReport)


# --- the cycle as template variables ---------------------------------------------------


def clean_text(value: object) -> str:
    """Text Word can hold: characters XML forbids (stray control codes from Excel) removed."""
    return _XML_ILLEGAL.sub("", "" if value is None else str(value))


def format_date(d: Optional[date]) -> str:
    """UK style, locale-proof: Friday 12 February 2016."""
    if d is None:
        return ""
    return f"{_DAYS[d.weekday()]} {d.day} {_MONTHS[d.month - 1]} {d.year}"


_BULLET = re.compile(r"^\s*(?:[-\u2022\u2023\u25aa\u25cf\u00b7*\u2013\u2014]|o\s)\s*")


def standard_lines(text: str) -> list[dict]:
    """A standard's wording split into lines, bullet lines marked (standard 4 of the toolkit has them)."""
    lines = []
    for raw in clean_text(text).replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not raw.strip():
            continue
        match = _BULLET.match(raw)
        if match and raw[match.end():].strip():
            lines.append({"text": raw[match.end():].strip(), "bullet": True})
        else:
            lines.append({"text": raw.strip(), "bullet": False})
    return lines or [{"text": "", "bullet": False}]


def cycle_context(cycle: Cycle, kloes: Sequence[int]) -> dict:
    s = cycle.settings
    chosen = [k for k in sorted(cycle.kloes, key=lambda k: k.number) if k.number in set(kloes)]
    return {
        "board_name": clean_text(s.board_name),
        "cycle_name": clean_text(s.cycle_name),
        "cycle_id": clean_text(s.cycle_id),
        "return_deadline": format_date(s.return_deadline),
        "return_instructions": clean_text(s.return_instructions).strip(),
        "rating_labels": [clean_text(x) for x in cycle.rating_scale.labels],
        "kloe_list": ", ".join(f"KLOE {k.number}" for k in chosen),
        "kloes": [
            {
                "number": k.number,
                "question": clean_text(k.question),
                "title": clean_text(k.title),
                "standards": [
                    {"number": st.number, "text": clean_text(st.text), "lines": standard_lines(st.text),
                     "na_allowed": st.na_allowed}
                    for st in sorted(cycle.standards_for(k.number), key=lambda st: st.number)
                ],
            }
            for k in chosen
        ],
    }


# --- rendering once per KLOE set ------------------------------------------------------------


class _Sentinels:
    """Placeholders for per-form values: unguessable, unchanged by escaping or case filters."""

    MARK = "\u27e6"  # every sentinel starts with it; a part without it has no per-form value

    def __init__(self) -> None:
        self.nonce = secrets.token_hex(4).upper()
        self.names: dict[str, str] = {}  # sentinel -> variable, e.g. 'case.ref'
        self.pattern = re.compile("(\u27e6CA" + self.nonce + r"-\d+\u27e7)")
        self.loose = re.compile("\u27e6CA" + self.nonce, re.IGNORECASE)

    def new(self, name: str) -> str:
        token = f"\u27e6CA{self.nonce}-{len(self.names)}\u27e7"
        self.names[token] = name
        return token

    def token(self, name: str) -> str:
        for token, n in self.names.items():
            if n == name:
                return token
        raise KeyError(name)


def _per_form_context(kind: FormKind, sentinels: _Sentinels) -> dict:
    ctx: dict = {"form_id": sentinels.new("form_id"),
                 "agency": {f: sentinels.new(f"agency.{f}") for f in _AGENCY_FIELDS}}
    if kind is FormKind.AUDIT:
        ctx["case"] = {f: sentinels.new(f"case.{f}") for f in _CASE_FIELDS}
    else:
        ctx["case_refs"] = sentinels.new("case_refs")
    return ctx


@dataclass
class FormBase:
    """A template rendered for one KLOE set, cut at the per-form values, ready to stamp out forms.

    The parts that are the same in every form are zipped once (in `plate`); a form is that zip
    with its own document parts and custom properties appended, so each form costs one small
    compression rather than a whole package.
    """

    kind: FormKind
    kloes: tuple[int, ...]
    template_fingerprint: str
    plate: Plate
    warnings: tuple[Problem, ...] = ()  # about the template; forms can still be made
    printed: tuple[str, ...] = ()  # the paragraphs outside the tables, each per-form value a stand-in
    sentinels: Optional[_Sentinels] = None

    def build(self, values: dict[str, str], properties: dict[str, str]) -> bytes:
        """One form's bytes: per-form values (plain text) escaped into place, identity in custom properties."""
        return self.plate.stamp(_as_stamped(values), properties)

    def printed_digests(self, values: dict[str, str]) -> tuple[str, ...]:
        """`paragraph_digest` of each paragraph one form prints outside its tables, its own values in place."""
        if self.sentinels is None:
            return ()
        stamped, names = _as_stamped(values), self.sentinels.names
        texts = (self.sentinels.pattern.sub(lambda m: stamped.get(names[m.group(1)], ""), text).strip()
                 for text in self.printed)
        return tuple(paragraph_digest(text) for text in texts if text)


def _as_stamped(values: dict[str, str]) -> dict[str, str]:
    """Per-form values as a form shows them: plain text on one line."""
    return {name: clean_text(v).replace("\n", " ") for name, v in values.items()}


def _template_label(path: Path, ws_root: Optional[Path] = None) -> str:
    if ws_root is not None:
        try:
            return Path(path).resolve().relative_to(ws_root).as_posix()
        except ValueError:
            pass
    return Path(path).name


def read_template(path: Path, label: str) -> bytes:
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise CaseAuditError.single("template.missing", f"The form template {label} was not found.",
                                    "Put the template back, or delete the workspace's templates folder to use the "
                                    "shipped one.", file=label) from None
    except PermissionError:
        raise CaseAuditError.single("file.locked", f"Could not read {label}: it is open in another program.",
                                    "Close the file in Word and run the command again.", file=label) from None
    if sniff(data) != "zip":
        raise CaseAuditError.single("template.not-docx", f"The form template {label} is not a Word (.docx) document.",
                                    "Save the template from Word as 'Word Document (*.docx)'.", file=label)
    return data


def render_base(template: bytes, cycle: Cycle, kind: FormKind, kloes: Sequence[int], *, label: str,
                template_fingerprint: str = "") -> FormBase:
    """Render the template once for this KLOE set and check the result; CaseAuditError names what is wrong."""
    kloes = tuple(sorted(set(kloes)))
    sentinels = _Sentinels()
    context = {**cycle_context(cycle, kloes), **_per_form_context(kind, sentinels)}
    allowed = AUDIT_VARIABLES if kind is FormKind.AUDIT else SUMMARY_VARIABLES
    rendered = RenderedPackage.read(_render(template, context, allowed, label))
    outside_slots = (piece for text in rendered.xml_texts() for piece in sentinels.pattern.split(text)[::2])
    if any(sentinels.loose.search(piece) for piece in outside_slots):
        raise CaseAuditError.single(
            "template.filtered-variable", f"The form template {label} changes a per-form value with a filter "
            "(for example {{ case.ref|lower }}), which case-audit cannot fill in form by form.",
            "Show per-form values as they are: {{ form_id }}, {{ agency.name }}, {{ case.ref }}, "
            "{{ case.child_name }} ...", file=label)
    if kind is FormKind.AUDIT:
        controls.set_list_items(rendered.document, cycle.rating_scale.labels, tag_prefix=contract.RATING.tag_prefix)
    controls.lock_controls(rendered.document)
    controls.number_controls(rendered.document)
    report = check_rendered_form(rendered.document, cycle, kind, kloes, sentinels.token, label=label)
    report.raise_if_errors(f"The form template {label} cannot be used.")
    rendered.set_forms_protection(cycle.settings.form_protection is FormProtection.FILLING_IN_FORMS)
    return FormBase(kind=kind, kloes=kloes if kind is FormKind.AUDIT else (), template_fingerprint=template_fingerprint,
                    printed=printed_paragraphs(rendered.document), sentinels=sentinels,
                    plate=rendered.cut(sentinels.pattern, sentinels.names, _Sentinels.MARK),
                    warnings=tuple(report.warnings))


_FIX_TEMPLATE = "Correct the template in Word, or remove it from the workspace's templates folder to use the shipped one."


def _render(template: bytes, context: dict, allowed: dict[str, str], label: str) -> bytes:
    """The docxtpl template filled in with `context` (autoescaped, strict); CaseAuditError says what is wrong."""
    from docxtpl import DocxTemplate
    from jinja2 import Environment, StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError

    env = Environment(autoescape=True, undefined=StrictUndefined)
    try:
        tpl = DocxTemplate(io.BytesIO(template))
        unknown = sorted(tpl.get_undeclared_template_variables(env) - set(allowed) - set(env.globals))
    except TemplateSyntaxError as exc:
        raise CaseAuditError.single("template.syntax", f"The form template {label} has a mistake in a "
                                    f"{{{{ }}}} or {{% %}} tag: {exc.message}.", _FIX_TEMPLATE, file=label) from None
    except Exception as exc:  # python-docx cannot open it as a document
        raise CaseAuditError.single("template.unreadable", f"The form template {label} cannot be opened as a Word "
                                    f"document ({type(exc).__name__}).", _FIX_TEMPLATE, file=label) from None
    report = ProblemReport()
    for name in unknown:
        report.add("template.unknown-variable", f"The template uses {{{{ {name} }}}}, which case-audit does not fill in.",
                   "Use one of: " + ", ".join(sorted(allowed)) + ".", file=label, value=name)
    report.raise_if_errors(f"The form template {label} cannot be used.")
    try:
        tpl = DocxTemplate(io.BytesIO(template))
        tpl.render(context, env, autoescape=True)
        buffer = io.BytesIO()
        tpl.save(buffer)
    except UndefinedError as exc:
        raise CaseAuditError.single("template.unknown-variable", f"The form template {label} asks for something "
                                    f"case-audit does not fill in: {exc.message}.",
                                    "Use one of: " + ", ".join(sorted(allowed)) + ".", file=label) from None
    except TemplateError as exc:
        raise CaseAuditError.single("template.syntax", f"The form template {label} has a mistake in a "
                                    f"{{{{ }}}} or {{% %}} tag: {exc.message or exc}.", _FIX_TEMPLATE,
                                    file=label) from None
    except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
        raise CaseAuditError.single("template.render-failed", f"The form template {label} could not be filled in: "
                                    f"a {{{{ }}}} or {{% %}} tag does something case-audit cannot do ({exc}).",
                                    _FIX_TEMPLATE, file=label) from None
    return buffer.getvalue()


def template_fingerprint(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def check_form_template(path: Path | str, cycle: Cycle, kind: FormKind = FormKind.AUDIT) -> None:
    """Refuse a (custom) template that would make forms the return parser cannot read; says what is missing."""
    label = Path(path).name
    data = read_template(Path(path), label)
    kloes = tuple(k.number for k in cycle.kloes)
    render_base(data, cycle, kind, kloes, label=label, template_fingerprint=template_fingerprint(data))


# --- file names -----------------------------------------------------------------------------

# A file-name component Windows accepts: pipeline.workspace.safe_name (agency codes and case refs are checked by
# the workbook, so they hold no control characters for clean_text to remove).


def form_stem(agency: str, kind: FormKind, case_ref: Optional[str] = None, kloe: Optional[int] = None) -> str:
    if kind is FormKind.SUMMARY:
        return f"{safe_name(agency)}_summary"
    stem = f"{safe_name(agency)}_{safe_name(case_ref or '')}"
    return f"{stem}_KLOE{kloe}" if kloe is not None else stem


# --- the run -------------------------------------------------------------------------------


@dataclass
class _Job:
    agency: str
    kind: FormKind
    case: Optional[Case]
    kloes: tuple[int, ...]
    stem: str
    replaces: list[str]


def _select(wanted: Sequence[str], valid: list[str], what: str, sheet: str) -> list[str]:
    if not wanted:
        return list(valid)
    by_fold = {v.casefold(): v for v in valid}
    chosen, report = [], ProblemReport()
    for w in wanted:
        hit = by_fold.get(str(w).strip().casefold())
        if hit is None:
            report.add(f"forms.unknown-{what}", f"There is no {what} '{w}' in the cycle workbook.",
                       f"Use one of: {', '.join(valid) or '(none)'} (from the {sheet} sheet).", value=w)
        elif hit not in chosen:
            chosen.append(hit)
    report.raise_if_errors(f"Unknown {what}: nothing was written.")
    return chosen


def _read_identity(path: Path) -> dict[str, str]:
    try:
        return custom_properties_of(path.read_bytes()) or {}
    except OSError:
        return {}


def generate_forms(ws: Workspace, cycle: Cycle, *, per_kloe: bool = False, reissue: bool = False,
                   agencies: Sequence[str] = (), cases: Sequence[str] = (),
                   progress: Callable[[int, int], None] | None = None) -> GenerateResult:
    """Write the forms not yet issued (all of them with `reissue`) and record each in the register."""
    agency_codes = _select(agencies, [a.code for a in cycle.agencies], "agency", "Agencies")
    case_refs = _select(cases, [c.ref for c in cycle.cases], "case", "Cases")
    _refuse_names_in_file_names(cycle, agency_codes, case_refs)
    report = ProblemReport()
    if cases and agencies:
        for ref in case_refs:
            if not set(cycle.case(ref).agencies) & set(agency_codes):
                report.add("forms.not-involved", f"None of {', '.join(agency_codes)} is recorded as involved in case "
                           f"{ref}, so there is no form to write for it.",
                           "Check the case's agencies in the cycle workbook.", severity=Severity.WARNING, value=ref)
    request = IssueRequest(agency_codes=agency_codes, case_refs=case_refs, per_kloe=per_kloe, reissue=reissue,
                           case_filter=bool(cases))
    with ws.lock():
        from .closing import refuse_if_closed

        refuse_if_closed(ws, "issue forms")  # no names are left to put on a form (issue 16)
        store = Store.open(ws.store_path)
        try:
            return IssueRun(ws, store, cycle, request, report, progress).run()
        finally:
            store.close()


def _refuse_names_in_file_names(cycle: Cycle, agency_codes: list[str], case_refs: list[str]) -> None:
    privacy = ProblemReport()
    for case in cycle.cases:
        involved = [code for code in case.agencies if code in agency_codes]
        if case.ref not in case_refs or not involved:
            continue
        for part in [form_stem(code, FormKind.AUDIT, case.ref) for code in involved]:
            which = name_in_identifier(part, case.child_name)
            if which:
                privacy.add("forms.name-in-file-name", f"The file names for case {case.ref} would contain the "
                            f"child's {which}. File names must never name a child.",
                            "Change the case reference (or agency code) in the cycle workbook so it does not "
                            "include the child's name.", location=f"case {case.ref}")
                break
    privacy.raise_if_errors("Forms would be written under names that identify a child: nothing was written.")


@dataclass(frozen=True)
class IssueRequest:
    """What the officer asked generate-forms for."""

    agency_codes: list[str]
    case_refs: list[str]
    per_kloe: bool = False
    reissue: bool = False
    case_filter: bool = False  # --case given: no summary forms


@dataclass
class IssuePlan:
    """What a run will do, decided from the cycle and the register alone (`decide_forms`)."""

    jobs: list[_Job] = field(default_factory=list)
    skipped: list[SkippedForm] = field(default_factory=list)  # already issued, not written again
    stale: list[IssuedForm] = field(default_factory=list)  # issued under wording that has since changed


def decide_forms(cycle: Cycle, current: list[IssuedForm], request: IssueRequest) -> IssuePlan:
    """The forms to write, and those skipped as already issued: pure, from the cycle and the current register."""
    plan = IssuePlan()
    all_kloes = tuple(sorted(k.number for k in cycle.kloes))
    selected = set(request.case_refs)
    by_slot: dict[tuple[FormKind, str, Optional[str]], list[IssuedForm]] = {}  # one pass, not one per agency x case
    for f in current:
        by_slot.setdefault((f.identity.kind, f.identity.agency, f.identity.case_ref), []).append(f)
    for code in request.agency_codes:
        for case in (c for c in cycle.cases_for(code) if c.ref in selected):
            mine = by_slot.get((FormKind.AUDIT, code, case.ref), [])
            replaces, covered = _existing(mine, request.reissue, cycle, plan)
            needed = tuple(k for k in all_kloes if k not in covered)
            if needed and request.per_kloe:
                plan.jobs += [_Job(code, FormKind.AUDIT, case, (k,), form_stem(code, FormKind.AUDIT, case.ref, k),
                                   replaces if k == needed[0] else []) for k in needed]
            elif needed:
                plan.jobs.append(_Job(code, FormKind.AUDIT, case, needed, form_stem(code, FormKind.AUDIT, case.ref),
                                      replaces))
        if not request.case_filter and cycle.cases_for(code):
            mine = by_slot.get((FormKind.SUMMARY, code, None), [])
            replaces, _covered = _existing(mine, request.reissue, cycle, plan, summary=True)
            if not mine or request.reissue:
                plan.jobs.append(_Job(code, FormKind.SUMMARY, None, (), form_stem(code, FormKind.SUMMARY), replaces))
    return plan


def _existing(mine: list[IssuedForm], reissue: bool, cycle: Cycle, plan: IssuePlan,
              summary: bool = False) -> tuple[list[str], set[int]]:
    """What is already issued for one agency and case: forms to supersede, or KLOEs already covered."""
    if reissue:
        return [f.identity.form_id for f in mine], set()
    covered: set[int] = set()
    for f in mine:
        ident = f.identity
        covered |= set(ident.kloes)
        plan.skipped.append(SkippedForm(agency=ident.agency, kind=ident.kind, case_ref=ident.case_ref,
                                        kloes=ident.kloes, path=f.path, form_id=ident.form_id,
                                        reason="already issued"))
        if not summary and ident.fingerprint != cycle.fingerprint(ident.kloes):
            plan.stale.append(f)
    return [], covered


@dataclass
class IssueRun:
    """One generate-forms run under the workspace lock: the register as it stands, and what the run did.

    `run` puts the folders and register in agreement (a killed run finished or undone), decides
    the forms to write (`decide_forms`, pure), then applies the plan: templates rendered and
    checked, forms made, staged, recorded in batches and only then published.
    """

    ws: Workspace
    store: Store
    cycle: Cycle
    request: IssueRequest
    report: ProblemReport
    progress: Optional[Callable[[int, int], None]] = None
    issued: list[IssuedForm] = field(default_factory=list)
    known_ids: set[str] = field(default_factory=set)
    written: list[WrittenForm] = field(default_factory=list)
    skipped: list[SkippedForm] = field(default_factory=list)
    superseded: list[SupersededForm] = field(default_factory=list)

    @property
    def cycle_id(self) -> str:
        return self.cycle.settings.cycle_id

    def run(self) -> GenerateResult:
        self.issued = self.store.issued_forms()
        _finish_interrupted_run(self.ws, self.issued, self.report)
        self.known_ids = {f.identity.form_id for f in self.issued}
        for code in self.request.agency_codes:
            _reconcile_folder(self, code)
        _retire_adopted_twins(self)
        current = [f for f in self.issued if f.superseded_by is None and f.identity.cycle_id == self.cycle_id]
        self._warn_missing_files(current)
        plan = decide_forms(self.cycle, current, self.request)
        self.skipped = plan.skipped
        for f in plan.stale:
            self.report.add("forms.form-wording-changed", file=f.path, value=f.identity.agency)
        if plan.jobs:
            # every template is rendered and checked before anything is written
            bases = _bases(self.ws, self.cycle, plan.jobs)
            self._add_template_warnings(bases)
            _write(self, plan.jobs, bases)
        elif self.progress:
            self.progress(0, 0)
        return GenerateResult(written=self.written, skipped=self.skipped, superseded=self.superseded,
                              per_agency=self._counts(), problems=_summarise_changed_wording(self.report))

    def _warn_missing_files(self, current: list[IssuedForm]) -> None:
        for f in current:
            if f.identity.agency in self.request.agency_codes and not (self.ws.root / f.path).is_file():
                self.report.add("forms.file-missing", f"The register says {f.path} was issued, but the file is no "
                                "longer there.", "If the agency still needs it, run generate-forms again with "
                                "--reissue for that agency and case.", file=f.path, severity=Severity.WARNING)

    def _add_template_warnings(self, bases: dict[tuple[FormKind, tuple[int, ...]], FormBase]) -> None:
        seen: set[tuple[str, str]] = set()
        for base in bases.values():
            for w in base.warnings:
                if (w.code, w.message) not in seen:
                    seen.add((w.code, w.message))
                    self.report.extend([w])

    def _counts(self) -> list[AgencyCount]:
        after = {f.identity.form_id: f for f in self.store.issued_forms(current_only=True)
                 if f.identity.cycle_id == self.cycle_id}.values()
        selected = set(self.request.case_refs)
        return [AgencyCount(agency=code, name=self.cycle.agency(code).name,
                            cases=len([c for c in self.cycle.cases_for(code) if c.ref in selected]),
                            written=sum(1 for w in self.written if w.agency == code),
                            skipped=sum(1 for s in self.skipped if s.agency == code),
                            issued=sum(1 for f in after if f.identity.agency == code))
                for code in self.request.agency_codes]


def _finish_interrupted_run(ws: Workspace, issued: list[IssuedForm], report: ProblemReport) -> None:
    """A killed run's staged forms: recorded ones are moved into place, unrecorded ones never existed."""
    recorded = {f.path for f in issued}
    published, _discarded = recover_staged(ws, ws.forms_dir, recorded.__contains__)
    for rel in published:
        report.add("forms.recovered", f"{rel} was issued by an earlier run that stopped before putting it in the "
                   "agency's folder; it is there now.", "Send it as usual.", file=rel, severity=Severity.WARNING)
    for rel in ws.leftovers:
        report.add("forms.leftover-removed", f"{rel} was a temporary file left by an earlier run that stopped; it "
                   "was deleted.", "If you already emailed it, tell the agency to ignore it.", file=rel,
                   severity=Severity.WARNING)


def _reconcile_folder(run: IssueRun, code: str) -> None:
    """Make one agency's folder agree with the register: one file per current form, nothing else of ours.

    A file the register does not know is either a superseded form a killed run did
    not move aside (moved now), a form written before the register was (taken in
    only if no current form covers its case and KLOEs, else moved out unissued), or
    something else (left alone, reported).
    """
    ws, store, cycle, issued, known_ids, report = run.ws, run.store, run.cycle, run.issued, run.known_ids, run.report
    folder = ws.forms_dir / safe_name(code)
    if not folder.is_dir():
        return
    by_path = {f.path for f in issued}
    by_id = {f.identity.form_id: f for f in issued}
    for path in sorted(folder.glob("*.docx")):
        rel = ws.relative(path)
        if rel in by_path or path.name.startswith(("~$", ".~")):
            continue
        ours = by_id.get(_read_identity(path).get(PROP_FORM_ID, ""))
        if ours is not None and ours.superseded_by is not None and not (ws.root / ours.path).exists():
            _move_aside(path, ws.root / ours.path, report)  # the move a killed reissue did not make
            continue
        adopted = _adopt(path, rel, cycle, run.cycle_id, code, known_ids)
        rival = _current_rival(adopted, issued) if adopted is not None else None
        if adopted is not None and rival is None:
            with store.transaction() as conn:
                store.record_issued_form(adopted, conn)
            issued.append(adopted)
            by_path.add(rel)
            known_ids.add(adopted.identity.form_id)
            report.add("forms.recovered", f"{rel} was written by an earlier run that stopped before recording it; "
                       "it is now recorded as issued.", "Nothing to do; send it as usual.", file=rel,
                       severity=Severity.WARNING)
        elif adopted is not None:
            target = unique_path(ws.state_dir / UNISSUED_FOLDER / safe_name(code) / path.name)
            _move_aside(path, target, report)
            report.add("forms.never-issued", f"{rel} was written by an earlier run that stopped before recording it, "
                       f"and {rival.path} is the form issued for that agency and case; {path.name} was moved to "
                       f"{ws.relative(target)} so it is not sent.", "Nothing to do; send the agency's folder as usual.",
                       file=rel, severity=Severity.WARNING)
        else:
            report.add("forms.unknown-file", f"{rel} is not a form this workspace issued for this cycle; it was "
                       "left as it is.", "Move it out of the forms folder so it is not emailed by mistake.",
                       file=rel, severity=Severity.WARNING)


UNISSUED_FOLDER = "unissued"


def _current_rival(form: IssuedForm, issued: list[IssuedForm]) -> Optional[IssuedForm]:
    """A current register form for the same agency, kind and case sharing a KLOE with `form`."""
    ident = form.identity
    for other in issued:
        o = other.identity
        if other.superseded_by is None and o.cycle_id == ident.cycle_id and o.agency == ident.agency \
                and o.kind is ident.kind and o.case_ref == ident.case_ref \
                and (ident.kind is FormKind.SUMMARY or set(o.kloes) & set(ident.kloes)):
            return other
    return None


def _retire_adopted_twins(run: IssueRun) -> None:
    """Undo what older versions did after a killed reissue: a form taken in ('recovered') beside a current one.

    The form that was in the register first stays current; the adopted twin is
    marked superseded by it and moved to the agency's superseded/ folder (a return
    of it is still accepted, with a warning, like any superseded form).
    """
    ws, store, issued, cycle_id, report = run.ws, run.store, run.issued, run.cycle_id, run.report
    for i, form in enumerate(issued):
        if form.template_fingerprint != "recovered" or form.superseded_by or form.identity.cycle_id != cycle_id:
            continue
        rival = _current_rival(form, [f for f in issued if f.template_fingerprint != "recovered"])
        if rival is None:
            continue
        source = ws.root / form.path
        target = unique_path(source.parent / SUPERSEDED_FOLDER / source.name)
        with store.transaction() as conn:
            store.mark_superseded(form.identity.form_id, rival.identity.form_id, conn)
            store.set_issued_path(form.identity.form_id, ws.relative(target), conn)
        if source.is_file():
            _move_aside(source, target, report)
        issued[i] = form.model_copy(update={"superseded_by": rival.identity.form_id, "path": ws.relative(target)})
        report.add("forms.twin-retired", f"{form.path} was recorded by an earlier version as a second current form "
                   f"beside {rival.path}; {rival.path} is the one that counts and the other was moved to "
                   f"{ws.relative(target)}.", "If the agency was sent both, tell them to fill in "
                   f"{Path(rival.path).name}; a return of either is accepted.", file=form.path,
                   severity=Severity.WARNING)


def _summarise_changed_wording(report: ProblemReport) -> ProblemReport:
    """One warning for all forms issued under older wording, not one line per form."""
    rolled = codes_where("rolls_up_into")
    stale = [p for p in report.problems if p.code in rolled]
    if not stale:
        return report
    out = ProblemReport(problems=[p for p in report.problems if p.code not in rolled])
    agencies = sorted({p.value for p in stale if p.value})
    out.add("forms.standards-changed",
            f"{len(stale)} issued form(s) ask about KLOE, standard or rating wording that has since changed in the "
            "cycle workbook. Returns of those forms will be REJECTED as coming from an older toolkit.",
            "Either put the wording back in the workbook, or run 'case-audit generate-forms --reissue' (add --agency "
            "CODE to limit it) and send the agencies the fresh forms.",
            location=f"agencies: {', '.join(agencies)}", severity=Severity.WARNING)
    return out


def _adopt(path: Path, rel: str, cycle: Cycle, cycle_id: str, code: str, known_ids: set[str]) -> Optional[IssuedForm]:
    """An unrecorded file is taken into the register only if it is exactly a form this cycle would issue."""
    props = _read_identity(path)
    form_id = props.get(PROP_FORM_ID, "")
    if not form_id or form_id in known_ids or props.get(PROP_CYCLE) != cycle_id or props.get(PROP_AGENCY) != code:
        return None
    try:
        kind = FormKind(props.get(PROP_KIND, ""))
        kloes = tuple(int(x) for x in props.get(PROP_KLOES, "").split(",") if x.strip())
    except ValueError:
        return None
    case_ref = props.get(PROP_CASE) or None
    if kind is FormKind.AUDIT:
        if case_ref not in {c.ref for c in cycle.cases_for(code)} or not kloes \
                or not set(kloes) <= {k.number for k in cycle.kloes}:
            return None
    elif case_ref is not None or kloes:
        return None
    if props.get(PROP_FINGERPRINT) != cycle.fingerprint(kloes):
        return None
    data = path.read_bytes()
    return IssuedForm(
        identity=FormIdentity(form_id=form_id, cycle_id=cycle_id, agency=code, kind=kind, case_ref=case_ref,
                              kloes=kloes, fingerprint=cycle.fingerprint(kloes)),
        path=rel, file_sha256=hashlib.sha256(data).hexdigest(), template_fingerprint="recovered",
        issued_at=datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc))


def _bases(ws: Workspace, cycle: Cycle, jobs: list[_Job]) -> dict[tuple[FormKind, tuple[int, ...]], FormBase]:
    bases: dict[tuple[FormKind, tuple[int, ...]], FormBase] = {}
    templates: dict[FormKind, tuple[bytes, str, str]] = {}
    for job in jobs:
        key = (job.kind, job.kloes)
        if key in bases:
            continue
        if job.kind not in templates:
            path = ws.template("word", AUDIT_TEMPLATE if job.kind is FormKind.AUDIT else SUMMARY_TEMPLATE)
            label = _template_label(path, ws.root)
            data = read_template(path, label)
            templates[job.kind] = (data, label, template_fingerprint(data))
        data, label, fp = templates[job.kind]
        bases[key] = render_base(data, cycle, job.kind, job.kloes if job.kind is FormKind.AUDIT else
                                 tuple(k.number for k in cycle.kloes), label=label, template_fingerprint=fp)
    return bases


def _values(job: _Job, form_id: str, cycle: Cycle) -> dict[str, str]:
    agency = cycle.agency(job.agency)
    values = {"form_id": form_id, **{f"agency.{f}": getattr(agency, f) for f in _AGENCY_FIELDS}}
    if job.case is not None:
        values.update({f"case.{f}": getattr(job.case, f) for f in _CASE_FIELDS})
    else:
        values["case_refs"] = ", ".join(c.ref for c in cycle.cases_for(job.agency))
    return values


def _write(run: IssueRun, jobs: list[_Job], bases: dict[tuple[FormKind, tuple[int, ...]], FormBase]) -> None:
    """Make, stage and record every job's form, BATCH_SIZE per register transaction, then publish them."""
    taken = {f.path.casefold() for f in run.issued}
    batch: list[_Staged] = []
    total = len(jobs)
    if run.progress:
        run.progress(0, total)
    try:
        for n, job in enumerate(jobs, start=1):
            batch.append(_stage(run, job, bases[(job.kind, job.kloes)], taken))
            if len(batch) >= BATCH_SIZE:
                _flush(run, batch)
            if run.progress:
                run.progress(n, total)
    finally:
        _flush(run, batch)  # whatever was written is recorded, even when a later file fails


@dataclass
class _Staged:
    """A form made and written under staging, not yet recorded or in the agency's folder."""

    form: IssuedForm
    replaces: list[str]
    path: Path


def _stage(run: IssueRun, job: _Job, base: FormBase, taken: set[str]) -> _Staged:
    form_id = secrets.token_hex(8).upper()
    while form_id in run.known_ids:
        form_id = secrets.token_hex(8).upper()
    run.known_ids.add(form_id)
    kloes = job.kloes if job.kind is FormKind.AUDIT else ()
    identity = FormIdentity(form_id=form_id, cycle_id=run.cycle_id, agency=job.agency, kind=job.kind,
                            case_ref=job.case.ref if job.case else None, kloes=kloes,
                            fingerprint=run.cycle.fingerprint(kloes))
    values = _values(job, form_id, run.cycle)
    data = base.build(values, identity_properties(identity))
    path, rel = _free_path(run.ws, safe_name(job.agency), job.stem, taken)
    staged = stage_bytes(run.ws, path, data)  # never in the agency's folder before the register has it
    taken.add(rel.casefold())
    form = IssuedForm(identity=identity, path=rel, file_sha256=hashlib.sha256(data).hexdigest(),
                      template_fingerprint=base.template_fingerprint, printed=base.printed_digests(values),
                      issued_at=datetime.now(timezone.utc).replace(microsecond=0))
    return _Staged(form, job.replaces, staged)


def _flush(run: IssueRun, batch: list[_Staged]) -> None:
    """Record a batch in one transaction, move the forms it replaces aside, publish it; then empty it."""
    if not batch:
        return
    ws, by_id = run.ws, {f.identity.form_id: f for f in run.issued}
    moves: dict[str, tuple[Path, Path]] = {}
    for staged in batch:
        for old in staged.replaces:
            source = ws.root / by_id[old].path
            if source.is_file():
                moves[old] = (source, unique_path(source.parent / SUPERSEDED_FOLDER / source.name))
    with run.store.transaction() as conn:  # the new forms exist only in staging until this commits
        for staged in batch:
            run.store.record_issued_form(staged.form, conn)
            for old in staged.replaces:
                run.store.mark_superseded(old, staged.form.identity.form_id, conn)
                if old in moves:
                    run.store.set_issued_path(old, ws.relative(moves[old][1]), conn)
    for source, target in moves.values():
        _move_aside(source, target, run.report)
    for staged in batch:  # a kill from here on is finished by _finish_interrupted_run
        publish(staged.path, ws.root / staged.form.path)
    for staged in batch:
        ident = staged.form.identity
        run.written.append(WrittenForm(agency=ident.agency, kind=ident.kind, case_ref=ident.case_ref,
                                       kloes=ident.kloes, path=staged.form.path, form_id=ident.form_id,
                                       replaces=tuple(staged.replaces)))
        for old in staged.replaces:
            o = by_id[old]
            where = ws.relative(moves[old][1]) if old in moves else o.path
            run.superseded.append(SupersededForm(agency=o.identity.agency, kind=o.identity.kind,
                                                 case_ref=o.identity.case_ref, form_id=old, path=where,
                                                 superseded_by=ident.form_id))
    batch.clear()


SUPERSEDED_FOLDER = "superseded"


def _move_aside(source: Path, target: Path, report: ProblemReport) -> None:
    """A replaced form leaves the agency's folder, so the folder emailed holds only forms to fill in."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
    except OSError:
        report.add("forms.superseded-not-moved", f"{source.name} was replaced but could not be moved into "
                   f"{SUPERSEDED_FOLDER}/ (it may be open in Word).",
                   f"Close it and move it into {target.parent.name}/ yourself; do not send it to the agency.",
                   file=source, severity=Severity.WARNING)


def _free_path(ws: Workspace, folder: str, stem: str, taken: set[str]) -> tuple[Path, str]:
    """`stem.docx`, else `stem_v2.docx`, ...: never a file on disk or a path the register knows."""
    directory = ws.forms_dir / folder
    prefix = directory.relative_to(ws.root).as_posix()
    n = 1
    while True:
        name = f"{stem}.docx" if n == 1 else f"{stem}_v{n}.docx"
        rel = f"{prefix}/{name}"
        if rel.casefold() not in taken and not (directory / name).exists():
            return directory / name, rel
        n += 1
