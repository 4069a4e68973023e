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
import os
import io
import re
import secrets
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence
from xml.sax.saxutils import escape

from lxml import etree
from pydantic import BaseModel, ConfigDict, Field

from .child_names import name_in_identifier
from .models import Case, Cycle, FormIdentity, FormKind, FormProtection, IssuedForm
from .ooxml import controls
from .ooxml.package import PackageError, add_part, open_package, parse_xml, read_parts, serialize, sniff, write_parts
from .ooxml.properties import CUSTOM_PART, custom_properties_xml, ensure_custom_part_declared, read_custom_properties
from .problems import CaseAuditError, Problem, ProblemReport, Severity
from .store import Store
from .workspace import Workspace, publish, recover_staged, safe_name, stage_bytes, unique_path

AUDIT_TEMPLATE = "audit-form.docx"
SUMMARY_TEMPLATE = "agency-summary.docx"
FORM_VERSION = "1"

# Custom document properties: the form's identity (the contract with the return parser).
PROP_FORM_ID = "CaseAudit.FormId"
PROP_CYCLE = "CaseAudit.CycleId"
PROP_AGENCY = "CaseAudit.Agency"
PROP_KIND = "CaseAudit.Kind"
PROP_CASE = "CaseAudit.Case"
PROP_KLOES = "CaseAudit.Kloes"
PROP_FINGERPRINT = "CaseAudit.Fingerprint"
PROP_VERSION = "CaseAudit.Version"

# Content-control tags (namespaced, <= 64 characters).
TAG_NO_INVOLVEMENT = "ca:no-involvement"
TAG_NO_INVOLVEMENT_REASON = "ca:no-involvement-reason"
TAG_RATING_PREFIX = "ca:rating:S"
TAG_EVIDENCE_PREFIX = "ca:evidence:S"
TAG_REASON_PREFIX = "ca:reason:S"
TAG_SUMMARY_IMPROVEMENTS = "ca:summary:improvements"
TAG_SUMMARY_PARTNERSHIP = "ca:summary:partnership"
TAG_SUMMARY_COMMENTS = "ca:summary:comments"

# Visible labels the return parser reads when a word processor has dropped the tags.
LABEL_FORM_ID = "Form ID: "
LABEL_CASE_REF = "Case reference: "
LABEL_NO_INVOLVEMENT = "No involvement in this case"
LABEL_NO_INVOLVEMENT_REASON = "If no involvement, why"
STANDARD_HEADERS = ("Standard", "Rating", "Met or exceeded: evidence", "Not met or not applicable: why")
SUMMARY_LABELS = {
    TAG_SUMMARY_IMPROVEMENTS: "Improvements to be made in your agency",
    TAG_SUMMARY_PARTNERSHIP: "Suggestions for improving partnership working",
    TAG_SUMMARY_COMMENTS: "Other comments",
}

RATING_PLACEHOLDER = "Choose a rating"

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


def audit_tags(cycle: Cycle, kloes: Iterable[int]) -> dict[str, str]:
    """Every control tag an audit form for these KLOEs carries, with the kind of control it must be."""
    tags = {TAG_NO_INVOLVEMENT: "checkbox", TAG_NO_INVOLVEMENT_REASON: "richtext"}
    for k in sorted(set(kloes)):
        for st in sorted(cycle.standards_for(k), key=lambda st: st.number):
            tags[f"{TAG_RATING_PREFIX}{st.number}"] = "dropdown"
            tags[f"{TAG_EVIDENCE_PREFIX}{st.number}"] = "richtext"
            tags[f"{TAG_REASON_PREFIX}{st.number}"] = "richtext"
    return tags


SUMMARY_TAGS = {tag: "richtext" for tag in SUMMARY_LABELS}


# --- rendering once per KLOE set ------------------------------------------------------------


class _Sentinels:
    """Placeholders for per-form values: unguessable, unchanged by escaping or case filters."""

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

    The parts that are the same in every form are zipped once (`static_zip`); a form is that zip
    with its own document parts and custom properties appended, so each form costs one small
    compression rather than a whole package.
    """

    kind: FormKind
    kloes: tuple[int, ...]
    template_fingerprint: str
    static_zip: bytes
    slotted: dict[str, list[str]]  # part -> [text, variable, text, variable, ..., text]
    warnings: tuple[Problem, ...] = ()  # about the template; forms can still be made

    def build(self, values: dict[str, str], properties: dict[str, str]) -> bytes:
        """One form's bytes: per-form values (plain text) escaped into place, identity in custom properties."""
        escaped = {name: escape(clean_text(v).replace("\n", " "), {'"': "&quot;", "'": "&apos;"})
                   for name, v in values.items()}
        out = io.BytesIO(self.static_zip)
        out.seek(0, io.SEEK_END)
        with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            for part, pieces in self.slotted.items():
                text = pieces[:]
                text[1::2] = [escaped[name] for name in pieces[1::2]]
                add_part(zf, part, "".join(text).encode("utf-8"))
            add_part(zf, CUSTOM_PART, custom_properties_xml(properties))
        return out.getvalue()


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
    from docxtpl import DocxTemplate
    from jinja2 import Environment, StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError

    kloes = tuple(sorted(set(kloes)))
    sentinels = _Sentinels()
    context = {**cycle_context(cycle, kloes), **_per_form_context(kind, sentinels)}
    allowed = AUDIT_VARIABLES if kind is FormKind.AUDIT else SUMMARY_VARIABLES
    env = Environment(autoescape=True, undefined=StrictUndefined)
    report = ProblemReport()
    fix_template = "Correct the template in Word, or remove it from the workspace's templates folder to use the shipped one."

    try:
        tpl = DocxTemplate(io.BytesIO(template))
        unknown = sorted(tpl.get_undeclared_template_variables(env) - set(allowed) - set(env.globals))
    except TemplateSyntaxError as exc:
        raise CaseAuditError.single("template.syntax", f"The form template {label} has a mistake in a "
                                    f"{{{{ }}}} or {{% %}} tag: {exc.message}.", fix_template, file=label) from None
    except Exception as exc:  # python-docx cannot open it as a document
        raise CaseAuditError.single("template.unreadable", f"The form template {label} cannot be opened as a Word "
                                    f"document ({type(exc).__name__}).", fix_template, file=label) from None
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
                                    f"{{{{ }}}} or {{% %}} tag: {exc.message or exc}.", fix_template, file=label) from None
    except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
        raise CaseAuditError.single("template.render-failed", f"The form template {label} could not be filled in: "
                                    f"a {{{{ }}}} or {{% %}} tag does something case-audit cannot do ({exc}).",
                                    fix_template, file=label) from None

    parts = read_parts(buffer.getvalue())
    order = list(parts)

    for name, data in parts.items():
        if name.endswith(".xml") and any(sentinels.loose.search(piece)
                                         for piece in sentinels.pattern.split(data.decode("utf-8", "replace"))[::2]):
            raise CaseAuditError.single(
                "template.filtered-variable", f"The form template {label} changes a per-form value with a filter "
                "(for example {{ case.ref|lower }}), which case-audit cannot fill in form by form.",
                "Show per-form values as they are: {{ form_id }}, {{ agency.name }}, {{ case.ref }}, "
                "{{ case.child_name }} ...", file=label)

    document = parse_xml(parts[controls.DOCUMENT_PART], controls.DOCUMENT_PART)
    if kind is FormKind.AUDIT:
        controls.set_list_items(document, cycle.rating_scale.labels, tag_prefix=TAG_RATING_PREFIX)
    controls.lock_controls(document)
    controls.number_controls(document)
    report.extend(check_rendered_form(document, cycle, kind, kloes, sentinels, label=label).problems)
    report.raise_if_errors(f"The form template {label} cannot be used.")
    warnings = tuple(report.warnings)
    parts[controls.DOCUMENT_PART] = serialize(document)

    if controls.SETTINGS_PART in parts:
        settings = parse_xml(parts[controls.SETTINGS_PART], controls.SETTINGS_PART)
        controls.set_forms_protection(settings, cycle.settings.form_protection is FormProtection.FILLING_IN_FORMS)
        parts[controls.SETTINGS_PART] = serialize(settings)

    parts.pop(CUSTOM_PART, None)  # each form gets its own identity
    ensure_custom_part_declared(parts)
    static: dict[str, bytes] = {}
    slotted: dict[str, list[str]] = {}
    for name, data in parts.items():
        if not name.endswith(".xml") or "\u27e6".encode() not in data:
            static[name] = data
            continue
        text = data.decode("utf-8")
        pieces = sentinels.pattern.split(text)
        pieces[1::2] = [sentinels.names[token] for token in pieces[1::2]]
        slotted[name] = pieces
    return FormBase(kind=kind, kloes=kloes if kind is FormKind.AUDIT else (), template_fingerprint=template_fingerprint,
                    static_zip=write_parts(static, order), slotted=slotted, warnings=warnings)


def _describe_tag(tag: str) -> str:
    for prefix, what in ((TAG_RATING_PREFIX, "the rating drop-down"), (TAG_EVIDENCE_PREFIX, "the evidence box"),
                         (TAG_REASON_PREFIX, "the 'not met: why' box")):
        if tag.startswith(prefix):
            return f"{what} for standard {tag[len(prefix):]}"
    return {TAG_NO_INVOLVEMENT: "the 'no involvement' checkbox", TAG_NO_INVOLVEMENT_REASON: "the 'why no involvement' box",
            TAG_SUMMARY_IMPROVEMENTS: "the 'improvements' box", TAG_SUMMARY_PARTNERSHIP: "the 'partnership working' box",
            TAG_SUMMARY_COMMENTS: "the 'other comments' box"}.get(tag, tag)


_KIND_NAMES = {"richtext": "a rich text control", "dropdown": "a drop-down list control", "checkbox": "a check box control",
               "text": "a plain text control", "combobox": "a combo box control", "date": "a date picker control"}


def check_rendered_form(document: etree._Element, cycle: Cycle, kind: FormKind, kloes: Sequence[int],
                        sentinels: _Sentinels, *, label: str) -> ProblemReport:
    """Everything the return parser relies on, checked on a rendered form before any is written."""
    report = ProblemReport()
    wanted = audit_tags(cycle, kloes) if kind is FormKind.AUDIT else SUMMARY_TAGS
    found: dict[str, list[controls.Control]] = {}
    for control in controls.list_controls(document):
        if len(control.tag) > controls.MAX_TAG_LENGTH:
            report.add("template.tag-too-long", f"A content control's tag is longer than {controls.MAX_TAG_LENGTH} "
                       "characters, which Word refuses.", "Shorten the tag in the control's Properties.",
                       file=label, value=control.tag)
        found.setdefault(control.tag, []).append(control)

    missing = [tag for tag in wanted if tag not in found]
    families: dict[str, list[str]] = {}
    for tag in missing:
        families.setdefault(tag.rsplit("S", 1)[0] if tag.startswith("ca:") and tag[-1:].isdigit() else tag, []).append(tag)
    for family, tags in families.items():
        if len(tags) == 1:
            what = f"{_describe_tag(tags[0])}: no content control is tagged '{tags[0]}'"
        else:
            what = (f"content controls tagged {', '.join(repr(t) for t in tags[:6])}"
                    + (f" and {len(tags) - 6} more" if len(tags) > 6 else ""))
            what = f"no {what}"
        report.add("template.missing-control", f"The template is missing {what}.",
                   "Put the control back from the shipped template (copy its table row or cell), or use the shipped "
                   "template.", file=label)
    for tag, expected in wanted.items():
        for control in found.get(tag, [])[:1]:
            if control.kind != expected:
                report.add("template.wrong-control", f"The content control tagged '{tag}' is "
                           f"{_KIND_NAMES.get(control.kind, control.kind)}; it must be {_KIND_NAMES[expected]}.",
                           "Replace it with the control from the shipped template.", file=label, value=tag)
            if not control.inline:
                report.add("template.block-control", f"The content control tagged '{tag}' wraps a whole paragraph, "
                           "cell or row; it must sit inside the paragraph (inline), or LibreOffice loses its text.",
                           "Replace it with the control from the shipped template.", file=label, value=tag)
        if len(found.get(tag, [])) > 1:
            report.add("template.duplicate-control", f"The template has {len(found[tag])} content controls tagged "
                       f"'{tag}'; a returned form could not be read unambiguously.", "Keep only one.",
                       file=label, value=tag)

    paragraphs = controls.body_paragraph_texts(document)
    tables = controls.table_texts(document)
    every_text = paragraphs + [c for t in tables for r in t for c in r]
    required = [("form_id", LABEL_FORM_ID)] + ([("case.ref", LABEL_CASE_REF)] if kind is FormKind.AUDIT else [])
    for name, visible in required:
        shown = visible + sentinels.token(name)
        if not any(shown in text for text in every_text):
            report.add("template.missing-variable", f"The template does not print '{visible}{{{{ {name} }}}}'. "
                       "It must, so that a returned form can be identified even when a word processor drops its "
                       "hidden properties.", f"Add a line '{visible}{{{{ {name} }}}}' near the top of the form.",
                       file=label, value=name)

    if kind is FormKind.AUDIT and not any(sentinels.token("case.child_name") in text for text in every_text):
        report.add("template.no-child-name", "The template does not show the child's name ({{ case.child_name }}); "
                   "agencies will need the names from you separately.",
                   "Add {{ case.child_name }} to the form details, unless you send the names another way.",
                   file=label, severity=Severity.WARNING)
    if kind is FormKind.AUDIT:
        labels = {row[0].strip() for t in tables for row in t if row}
        for text in (LABEL_NO_INVOLVEMENT, LABEL_NO_INVOLVEMENT_REASON):
            if text not in labels:
                report.add("template.missing-label", f"The template has no table row labelled '{text}'.",
                           "Restore the 'No involvement' table from the shipped template.", file=label, value=text)
        standard_tables = [t for t in tables if t and tuple(c.strip() for c in t[0]) == STANDARD_HEADERS]
        if len(standard_tables) != len(set(kloes)):
            report.add("template.standards-table", f"The template made {len(standard_tables)} standards table(s) for "
                       f"{len(set(kloes))} KLOE(s); there must be one per KLOE, headed exactly "
                       + " | ".join(STANDARD_HEADERS) + ".", "Restore the KLOE loop and table from the shipped template.",
                       file=label)
        else:
            repeats = [flag for t, flag in zip(tables, controls.header_row_repeats(document))
                       if t and tuple(c.strip() for c in t[0]) == STANDARD_HEADERS]
            if not all(repeats):
                report.add("template.header-row", "A standards table's header row is not set to repeat on each page.",
                           "In Word: select the header row, Table Properties > Row > 'Repeat as header row'.",
                           file=label, severity=Severity.WARNING)
        for k in sorted(set(kloes)):
            if not any(p.startswith(f"KLOE {k}:") for p in paragraphs):
                report.add("template.kloe-heading", f"The template has no heading starting 'KLOE {k}:'.",
                           "Restore the KLOE heading 'KLOE {{ kloe.number }}: {{ kloe.question }}'.", file=label)
            for st in cycle.standards_for(k):
                if not any(t and row and row[0].startswith(f"Standard {st.number}") for t in standard_tables for row in t[1:]):
                    report.add("template.standard-row", f"No row of the KLOE {k} table starts 'Standard {st.number}'.",
                               "Restore the standards rows from the shipped template.", file=label)
    else:
        labels = {row[0].strip() for t in tables for row in t if row}
        for tag, text in SUMMARY_LABELS.items():
            if not any(lbl.startswith(text) for lbl in labels):
                report.add("template.missing-label", f"The template has no table row labelled '{text}'.",
                           "Restore the summary table from the shipped template.", file=label, value=text)
    return report


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
        return read_custom_properties(open_package(path.read_bytes()))
    except (PackageError, OSError, etree.XMLSyntaxError):
        return {}


def generate_forms(ws: Workspace, cycle: Cycle, *, per_kloe: bool = False, reissue: bool = False,
                   agencies: Sequence[str] = (), cases: Sequence[str] = (),
                   progress: Callable[[int, int], None] | None = None) -> GenerateResult:
    """Write the forms not yet issued (all of them with `reissue`) and record each in the register."""
    agency_codes = _select(agencies, [a.code for a in cycle.agencies], "agency", "Agencies")
    case_refs = _select(cases, [c.ref for c in cycle.cases], "case", "Cases")
    all_kloes = tuple(sorted(k.number for k in cycle.kloes))
    report = ProblemReport()
    cycle_id = cycle.settings.cycle_id

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
    if cases and agencies:
        for ref in case_refs:
            if not set(cycle.case(ref).agencies) & set(agency_codes):
                report.add("forms.not-involved", f"None of {', '.join(agency_codes)} is recorded as involved in case "
                           f"{ref}, so there is no form to write for it.",
                           "Check the case's agencies in the cycle workbook.", severity=Severity.WARNING, value=ref)

    with ws.lock():
        store = Store.open(ws.store_path)
        try:
            return _run(ws, store, cycle, cycle_id, agency_codes, case_refs, all_kloes, per_kloe, reissue,
                        bool(cases), report, progress)
        finally:
            store.close()


def _run(ws: Workspace, store: Store, cycle: Cycle, cycle_id: str, agency_codes: list[str], case_refs: list[str],
         all_kloes: tuple[int, ...], per_kloe: bool, reissue: bool, case_filter: bool, report: ProblemReport,
         progress) -> GenerateResult:
    issued = store.issued_forms()
    _finish_interrupted_run(ws, issued, report)
    known_ids = {f.identity.form_id for f in issued}
    for code in agency_codes:
        _reconcile_folder(ws, store, cycle, cycle_id, code, issued, known_ids, report)
    _retire_adopted_twins(ws, store, issued, cycle_id, report)

    current = [f for f in issued if f.superseded_by is None and f.identity.cycle_id == cycle_id]
    for f in current:
        if f.identity.agency in agency_codes and not (ws.root / f.path).is_file():
            report.add("forms.file-missing", f"The register says {f.path} was issued, but the file is no longer there.",
                       "If the agency still needs it, run generate-forms again with --reissue for that agency and case.",
                       file=f.path, severity=Severity.WARNING)

    result_skipped: list[SkippedForm] = []
    superseded: list[SupersededForm] = []
    jobs: list[_Job] = []
    selected_cases = set(case_refs)
    for code in agency_codes:
        agency_cases = [c for c in cycle.cases_for(code) if c.ref in selected_cases]
        for case in agency_cases:
            mine = [f for f in current if f.identity.kind is FormKind.AUDIT and f.identity.agency == code
                    and f.identity.case_ref == case.ref]
            replaces, covered = _existing(mine, reissue, cycle, result_skipped, report)
            needed = tuple(k for k in all_kloes if k not in covered)
            if not needed:
                continue
            if per_kloe:
                for k in needed:
                    jobs.append(_Job(code, FormKind.AUDIT, case, (k,), form_stem(code, FormKind.AUDIT, case.ref, k),
                                     replaces if k == needed[0] else []))
            else:
                jobs.append(_Job(code, FormKind.AUDIT, case, needed, form_stem(code, FormKind.AUDIT, case.ref), replaces))
        if not case_filter and cycle.cases_for(code):
            mine = [f for f in current if f.identity.kind is FormKind.SUMMARY and f.identity.agency == code]
            replaces, covered = _existing(mine, reissue, cycle, result_skipped, report, summary=True)
            if not mine or reissue:
                jobs.append(_Job(code, FormKind.SUMMARY, None, (), form_stem(code, FormKind.SUMMARY), replaces))

    written: list[WrittenForm] = []
    if jobs:
        bases = _bases(ws, cycle, jobs)  # every template is rendered and checked before anything is written
        seen: set[tuple[str, str]] = set()
        for base in bases.values():
            for w in base.warnings:
                if (w.code, w.message) not in seen:
                    seen.add((w.code, w.message))
                    report.extend([w])
        _write(ws, store, cycle, cycle_id, jobs, bases, issued, known_ids, written, superseded, progress, report)
    elif progress:
        progress(0, 0)

    after = {f.identity.form_id: f for f in store.issued_forms(current_only=True) if f.identity.cycle_id == cycle_id}
    per_agency = []
    for code in agency_codes:
        agency = cycle.agency(code)
        per_agency.append(AgencyCount(
            agency=code, name=agency.name,
            cases=len([c for c in cycle.cases_for(code) if c.ref in selected_cases]),
            written=sum(1 for w in written if w.agency == code),
            skipped=sum(1 for s in result_skipped if s.agency == code),
            issued=sum(1 for f in after.values() if f.identity.agency == code),
        ))
    return GenerateResult(written=written, skipped=result_skipped, superseded=superseded, per_agency=per_agency,
                          problems=_summarise_changed_wording(report))


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


def _reconcile_folder(ws: Workspace, store: Store, cycle: Cycle, cycle_id: str, code: str,
                      issued: list[IssuedForm], known_ids: set[str], report: ProblemReport) -> None:
    """Make one agency's folder agree with the register: one file per current form, nothing else of ours.

    A file the register does not know is either a superseded form a killed run did
    not move aside (moved now), a form written before the register was (taken in
    only if no current form covers its case and KLOEs, else moved out unissued), or
    something else (left alone, reported).
    """
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
        adopted = _adopt(path, rel, cycle, cycle_id, code, known_ids)
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


def _retire_adopted_twins(ws: Workspace, store: Store, issued: list[IssuedForm], cycle_id: str,
                          report: ProblemReport) -> None:
    """Undo what older versions did after a killed reissue: a form taken in ('recovered') beside a current one.

    The form that was in the register first stays current; the adopted twin is
    marked superseded by it and moved to the agency's superseded/ folder (a return
    of it is still accepted, with a warning, like any superseded form).
    """
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


def _existing(mine: list[IssuedForm], reissue: bool, cycle: Cycle, skipped: list[SkippedForm],
              report: ProblemReport, summary: bool = False) -> tuple[list[str], set[int]]:
    """What is already issued for one agency and case: forms to supersede, or KLOEs already covered."""
    if reissue:
        return [f.identity.form_id for f in mine], set()
    covered: set[int] = set()
    for f in mine:
        ident = f.identity
        covered |= set(ident.kloes)
        skipped.append(SkippedForm(agency=ident.agency, kind=ident.kind, case_ref=ident.case_ref, kloes=ident.kloes,
                                   path=f.path, form_id=ident.form_id, reason="already issued"))
        if not summary and ident.fingerprint != cycle.fingerprint(ident.kloes):
            report.add("forms.standards-changed", "", file=f.path, value=ident.agency, severity=Severity.WARNING)
    return [], covered


def _summarise_changed_wording(report: ProblemReport) -> ProblemReport:
    """One warning for all forms issued under older wording, not one line per form."""
    stale = [p for p in report.problems if p.code == "forms.standards-changed"]
    if not stale:
        return report
    out = ProblemReport(problems=[p for p in report.problems if p.code != "forms.standards-changed"])
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


def identity_properties(identity: FormIdentity) -> dict[str, str]:
    return {
        PROP_FORM_ID: identity.form_id,
        PROP_CYCLE: identity.cycle_id,
        PROP_AGENCY: identity.agency,
        PROP_KIND: identity.kind.value,
        PROP_CASE: identity.case_ref or "",
        PROP_KLOES: ",".join(str(k) for k in identity.kloes),
        PROP_FINGERPRINT: identity.fingerprint,
        PROP_VERSION: FORM_VERSION,
    }


def _write(ws: Workspace, store: Store, cycle: Cycle, cycle_id: str, jobs: list[_Job],
           bases: dict[tuple[FormKind, tuple[int, ...]], FormBase], issued: list[IssuedForm], known_ids: set[str],
           written: list[WrittenForm], superseded: list[SupersededForm], progress, report: ProblemReport) -> None:
    taken = {f.path.casefold() for f in issued}
    by_id = {f.identity.form_id: f for f in issued}
    batch: list[tuple[IssuedForm, list[str], Path]] = []

    def flush() -> None:
        if not batch:
            return
        moves: dict[str, tuple[Path, Path]] = {}
        for form, replaces, _staged in batch:
            for old in replaces:
                source = ws.root / by_id[old].path
                if source.is_file():
                    moves[old] = (source, unique_path(source.parent / SUPERSEDED_FOLDER / source.name))
        with store.transaction() as conn:  # the new forms exist only in staging until this commits
            for form, replaces, _staged in batch:
                store.record_issued_form(form, conn)
                for old in replaces:
                    store.mark_superseded(old, form.identity.form_id, conn)
                    if old in moves:
                        store.set_issued_path(old, ws.relative(moves[old][1]), conn)
        for old, (source, target) in moves.items():
            _move_aside(source, target, report)
        for form, _replaces, staged in batch:  # a kill from here on is finished by _finish_interrupted_run
            publish(staged, ws.root / form.path)
        for form, replaces, _staged in batch:
            ident = form.identity
            written.append(WrittenForm(agency=ident.agency, kind=ident.kind, case_ref=ident.case_ref, kloes=ident.kloes,
                                       path=form.path, form_id=ident.form_id, replaces=tuple(replaces)))
            for old in replaces:
                o = by_id[old]
                where = ws.relative(moves[old][1]) if old in moves else o.path
                superseded.append(SupersededForm(agency=o.identity.agency, kind=o.identity.kind,
                                                 case_ref=o.identity.case_ref, form_id=old, path=where,
                                                 superseded_by=ident.form_id))
        batch.clear()

    total = len(jobs)
    if progress:
        progress(0, total)
    try:
        for n, job in enumerate(jobs, start=1):
            base = bases[(job.kind, job.kloes)]
            form_id = secrets.token_hex(8).upper()
            while form_id in known_ids:
                form_id = secrets.token_hex(8).upper()
            known_ids.add(form_id)
            kloes = job.kloes if job.kind is FormKind.AUDIT else ()
            identity = FormIdentity(form_id=form_id, cycle_id=cycle_id, agency=job.agency, kind=job.kind,
                                    case_ref=job.case.ref if job.case else None, kloes=kloes,
                                    fingerprint=cycle.fingerprint(kloes))
            data = base.build(_values(job, form_id, cycle), identity_properties(identity))
            path, rel = _free_path(ws, safe_name(job.agency), job.stem, taken)
            staged = stage_bytes(ws, path, data)  # never in the agency's folder before the register has it
            taken.add(rel.casefold())
            batch.append((IssuedForm(identity=identity, path=rel, file_sha256=hashlib.sha256(data).hexdigest(),
                                     template_fingerprint=base.template_fingerprint,
                                     issued_at=datetime.now(timezone.utc).replace(microsecond=0)), job.replaces,
                          staged))
            if len(batch) >= BATCH_SIZE:
                flush()
            if progress:
                progress(n, total)
    finally:
        flush()  # whatever was written is recorded, even when a later file fails


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
