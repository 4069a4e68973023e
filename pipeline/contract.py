"""The form contract: what each kind of form carries, declared once.

The writer (`forms`, `dev/build_word_forms.py`), the reader (`returns`), the
demo (`example_returns`) and the tests all take from here the custom
properties that say which form a file is, the form version, the visible
labels a reader falls back on when a word processor drops the hidden ones,
and each table's rows, columns, content controls and their tags.

Pure declarations and tiny functions: no XML, no files. A new kind of form
(action progress, moderation) is one more `FormSpec` here plus its template.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Union

from .models import FormIdentity, FormKind

# --- identity: custom document properties, written at issue and checked on return ------------

FORM_VERSION = 1  # a return saying a higher version was made by a newer case-audit
PROPERTY_PREFIX = "CaseAudit."
PROP_FORM_ID = PROPERTY_PREFIX + "FormId"
PROP_CYCLE = PROPERTY_PREFIX + "CycleId"
PROP_AGENCY = PROPERTY_PREFIX + "Agency"
PROP_KIND = PROPERTY_PREFIX + "Kind"
PROP_CASE = PROPERTY_PREFIX + "Case"
PROP_KLOES = PROPERTY_PREFIX + "Kloes"
PROP_FINGERPRINT = PROPERTY_PREFIX + "Fingerprint"
PROP_VERSION = PROPERTY_PREFIX + "Version"


def identity_properties(identity: FormIdentity) -> dict[str, str]:
    """The custom properties a form of this identity carries (all text, as Word stores them)."""
    return {
        PROP_FORM_ID: identity.form_id,
        PROP_CYCLE: identity.cycle_id,
        PROP_AGENCY: identity.agency,
        PROP_KIND: identity.kind.value,
        PROP_CASE: identity.case_ref or "",
        PROP_KLOES: ",".join(str(k) for k in identity.kloes),
        PROP_FINGERPRINT: identity.fingerprint,
        PROP_VERSION: str(FORM_VERSION),
    }


# Printed near the top of every form, followed by the value: how a return is identified when its
# custom properties are lost (LibreOffice and some converters drop them).
LABEL_FORM_ID = "Form ID: "
LABEL_CASE_REF = "Case reference: "

# --- content controls -----------------------------------------------------------------------

TAG_PREFIX = "ca:"  # every tag the forms carry is namespaced (Word allows at most 64 characters)

# Control kinds, as `pipeline.ooxml.reading.control_kind` names them.
CHECKBOX, RICH_TEXT, DROPDOWN = "checkbox", "richtext", "dropdown"

# Word's own grey text for controls made in Word rather than by dev/build_word_forms.py.
WORD_PLACEHOLDERS = (
    "Choose an item.", "Click or tap here to enter text.", "Click here to enter text.",
    "Click or tap to enter a date.", "Click here to enter a date.",
)


@dataclass(frozen=True)
class Control:
    """One content control a form carries: its tag, kind, grey text, the name Word shows, and what it is to a person."""

    tag: str
    kind: str
    placeholder: str = ""
    alias: str = ""
    described: str = ""  # e.g. "the 'no involvement' checkbox", for template problems


@dataclass(frozen=True)
class LabelledRow:
    """A two-column row: the label a person reads (and the reader matches), the control in the second cell."""

    key: str  # the field's name in the return, e.g. "no-involvement", "improvements"
    label: str
    control: Control


@dataclass(frozen=True)
class Column:
    """One answer column of a per-standard table: its header and the control in each row, tagged per standard."""

    role: str  # rating | evidence | reason
    header: str
    kind: str
    placeholder: str
    alias: str
    described: str  # "the rating drop-down", completed with "for standard N"
    keywords: tuple[str, ...]  # a header (however edited) holding one of these is this column

    def tag(self, standard: Union[int, str]) -> str:
        """`ca:<role>:S<n>`; `standard` may be a template expression such as "{{ s.number }}"."""
        return f"{TAG_PREFIX}{self.role}:S{standard}"

    @property
    def tag_prefix(self) -> str:
        return self.tag("")

    def control(self, standard: Union[int, str]) -> Control:
        """The control this column has in the row of `standard`."""
        return Control(self.tag(standard), self.kind, self.placeholder, self.alias,
                       f"{self.described} for standard {standard}")


@dataclass(frozen=True)
class StandardsTable:
    """One table per KLOE: a header row, then a row per standard whose first cell starts 'Standard <n>'."""

    first_header: str
    columns: tuple[Column, ...]
    heading: str = "KLOE {number}:"  # the paragraph above each table starts so
    row_label: str = "Standard {number}"

    @property
    def headers(self) -> tuple[str, ...]:
        return (self.first_header, *(c.header for c in self.columns))

    def column(self, role: str) -> Column:
        return next(c for c in self.columns if c.role == role)


@dataclass(frozen=True)
class ActionField:
    """One answer an action progress form asks for each action: a labelled row holding a control tagged per action."""

    key: str  # status | progress | evidence: the field of the update
    label: str
    kind: str
    placeholder: str
    alias: str
    described: str

    def tag(self, action_id: str) -> str:
        """`ca:action-<key>:<action id>` (an action ID is at most 40 characters, so the tag fits Word's 64)."""
        return f"{TAG_PREFIX}action-{self.key}:{action_id}"

    def control(self, action_id: str) -> Control:
        return Control(self.tag(action_id), self.kind, self.placeholder, self.alias,
                       f"{self.described} for action {action_id}")


@dataclass(frozen=True)
class ActionsTable:
    """One two-column table per action: an 'Action ID' row naming it, rows printed from the workbook, answer rows."""

    id_label: str
    shown: tuple[tuple[str, str], ...]  # (the action's template field, label) rows, as issued
    answers: tuple[ActionField, ...]
    heading: str = "Action {id}"  # the paragraph above each table

    def answer(self, key: str) -> ActionField:
        return next(a for a in self.answers if a.key == key)


@dataclass(frozen=True)
class FormSpec:
    """Everything about one kind of form that its writer and its reader must agree on."""

    kind: FormKind
    template: str  # file name under templates/word/
    visible_identity: tuple[tuple[str, str], ...]  # (template variable, label printed before it)
    rows: tuple[LabelledRow, ...] = ()  # two-column rows found by their label
    rows_table: str = ""  # the table holding them, as a person names it
    standards: StandardsTable | None = None  # per-standard tables, one per KLOE
    actions: ActionsTable | None = None  # per-action tables (action progress forms)

    def row(self, key: str) -> LabelledRow:
        return next(r for r in self.rows if r.key == key)

    def tag(self, key: str) -> str:
        """The tag of the control in the row named `key`."""
        return self.row(key).control.tag

    def controls(self, standards: Iterable[int] = (), actions: Iterable[str] = ()) -> dict[str, Control]:
        """Every control a form of this kind asking about `standards` (or `actions`) carries, by tag, in form order."""
        found = {r.control.tag: r.control for r in self.rows}
        if self.standards is not None:
            for number in standards:
                found.update((c.tag(number), c.control(number)) for c in self.standards.columns)
        if self.actions is not None:
            for action_id in actions:
                found.update((a.tag(action_id), a.control(action_id)) for a in self.actions.answers)
        return found

    @property
    def placeholders(self) -> tuple[str, ...]:
        texts = [r.control.placeholder for r in self.rows]
        texts += [c.placeholder for c in self.standards.columns] if self.standards else []
        texts += [a.placeholder for a in self.actions.answers] if self.actions else []
        return tuple(dict.fromkeys(t for t in texts if t))


RATING = Column("rating", "Rating", DROPDOWN, "Choose a rating", "Rating", "the rating drop-down", ("rating",))
EVIDENCE = Column("evidence", "Met or exceeded: evidence", RICH_TEXT, "Click or tap to enter evidence", "Evidence",
                  "the evidence box", ("evidence",))
REASON = Column("reason", "Not met or not applicable: why", RICH_TEXT, "Click or tap to say why",
                "Why not met or not applicable", "the 'not met: why' box", ("why", "reason"))

AUDIT = FormSpec(
    kind=FormKind.AUDIT,
    template="audit-form.docx",
    visible_identity=(("form_id", LABEL_FORM_ID), ("case.ref", LABEL_CASE_REF)),
    rows=(
        LabelledRow("no-involvement", "No involvement in this case",
                    Control(TAG_PREFIX + "no-involvement", CHECKBOX, described="the 'no involvement' checkbox")),
        LabelledRow("no-involvement-reason", "If no involvement, why",
                    Control(TAG_PREFIX + "no-involvement-reason", RICH_TEXT, "Click or tap to say why", "Why no involvement",
                            "the 'why no involvement' box")),
    ),
    rows_table="the 'No involvement' table",
    standards=StandardsTable("Standard", (RATING, EVIDENCE, REASON)),
)

SUMMARY = FormSpec(
    kind=FormKind.SUMMARY,
    template="agency-summary.docx",
    visible_identity=(("form_id", LABEL_FORM_ID),),
    rows=tuple(
        LabelledRow(key, label, Control(f"{TAG_PREFIX}summary:{key}", RICH_TEXT, "Click or tap to enter text", alias,
                                        f"the '{described}' box"))
        for key, label, alias, described in (
            ("improvements", "Improvements to be made in your agency", "Improvements in your agency", "improvements"),
            ("partnership", "Suggestions for improving partnership working", "Partnership working",
             "partnership working"),
            ("comments", "Other comments", "Other comments", "other comments"),
        )
    ),
    rows_table="the summary table",
)

# The action progress form (issue 13): one table per open action of the agency.
LABEL_AGENCY = "Agency: "
PROGRESS_STATUS_ITEMS = ("Not started", "On track", "At risk", "Overdue", "Complete")  # ActionStatus, in order
PROGRESS = FormSpec(
    kind=FormKind.PROGRESS,
    template="action-progress.docx",
    visible_identity=(("form_id", LABEL_FORM_ID),),
    rows_table="the action tables",
    actions=ActionsTable(
        id_label="Action ID",
        shown=(("text", "Action"), ("owner", "Owner"), ("due", "Due date"), ("status", "Status at the last update"),
               ("progress", "Progress at the last update")),
        answers=(
            ActionField("status", "New status", DROPDOWN, "Choose a status", "New status", "the new status drop-down"),
            ActionField("progress", "Progress since the last update", RICH_TEXT, "Click or tap to describe progress",
                        "Progress", "the progress box"),
            ActionField("evidence", "Evidence of impact", RICH_TEXT, "Click or tap to give evidence of impact",
                        "Evidence of impact", "the evidence of impact box"),
        ),
    ),
)

FORMS: dict[FormKind, FormSpec] = {spec.kind: spec for spec in (AUDIT, SUMMARY, PROGRESS)}

# Grey text that is never an answer, whether or not the control still says it is showing it.
PLACEHOLDER_TEXTS: tuple[str, ...] = tuple(dict.fromkeys(
    [t for spec in FORMS.values() for t in spec.placeholders] + list(WORD_PLACEHOLDERS)))


def spec(kind: FormKind) -> FormSpec:
    return FORMS[kind]


def rating_tag(standard: Union[int, str]) -> str:
    return RATING.tag(standard)


def evidence_tag(standard: Union[int, str]) -> str:
    return EVIDENCE.tag(standard)


def reason_tag(standard: Union[int, str]) -> str:
    return REASON.tag(standard)
