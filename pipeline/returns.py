"""One returned file -> what it is, which form it answers, and the validated answers.

`read_return` never raises for anything wrong with the file: every problem is
a `Problem` in the outcome, said so the officer can forward it to the agency.
Identity comes from the custom document properties (which survive Word, Word
for the web and LibreOffice), cross-checked with the visible form ID and the
issued-forms register. Answers come from content-control tags where a control
sits in the row and column its tag claims, and otherwise from table position:
LibreOffice drops every tag, so position is a main path, not a corner case.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from functools import lru_cache
from collections import Counter
from itertools import islice
from typing import Callable, Iterable, Optional, Protocol, Union

from . import contract
from .contract import FORM_VERSION, PROP_AGENCY, PROP_CASE, PROP_CYCLE, PROP_FINGERPRINT, PROP_FORM_ID, PROP_KIND, \
    PROP_KLOES, PROP_VERSION
from .models import (
    Answer,
    AuditReturn,
    Cycle,
    FormIdentity,
    FormKind,
    IssuedForm,
    OtherText,
    ProgressReturn,
    RatingKind,
    RatingOption,
    Standard,
    SummaryReturn,
    normalise_label,
)
from .ooxml.package import PackageError, open_package, sniff
from .ooxml.properties import read_custom_properties
from .ooxml.controls import MAX_TAG_LENGTH
from .ooxml.reading import (
    Cell,
    Control,
    PartTooLarge,
    Row,
    Table,
    W_SDT,
    TooManyRows,
    WordDocument,
    check_part_size,
    checkbox_state,
    describe_ole2,
    describe_package,
    list_controls,
    placeholder_key,
    read_back,
    read_word_document,
    text_of,
)
from .problem_codes import CATALOGUE, codes_where
from .problems import ProblemReport, Severity

MAX_TABLE_ROWS = 2000  # an audit form has a few dozen rows
# What reading one return may cost. A filled form's text part is 0.1-1 MB; parsing takes up to about
# 14 bytes of memory per byte of it (pasted formatting: a run per word), so 8 MB keeps any return under
# ~150 MB. An answer is a few paragraphs: 20,000 characters is some eight pages, well inside Excel's
# 32,767 per cell in results.xlsx.
MAX_XML_PART_BYTES = 8 * 1024 * 1024
MAX_ANSWER_CHARS = 20_000
PARSED_PARTS = ("[Content_Types].xml", "_rels/.rels", "docProps/custom.xml")  # besides the document itself
# The grey text a control shows until someone types (the contract's and Word's defaults): never an answer.
PLACEHOLDER_TEXTS = contract.PLACEHOLDER_TEXTS
_AUDIT, _SUMMARY = contract.AUDIT, contract.SUMMARY
_STANDARDS = contract.AUDIT.standards
NO_INVOLVEMENT_LABEL = _AUDIT.row("no-involvement").label
NO_INVOLVEMENT_REASON_LABEL = _AUDIT.row("no-involvement-reason").label
EVIDENCE_HEADER = _STANDARDS.column("evidence").header
REASON_HEADER = _STANDARDS.column("reason").header
SUMMARY_FIELDS = {row.key: row.label for row in _SUMMARY.rows}
_FIRST_HEADER = normalise_label(_STANDARDS.first_header)

_COLUMNS = {c.role: c for c in _STANDARDS.columns}


def _words(label: str) -> str:
    """A label's words as a pattern: any spacing between them, any before a colon (`Form ID:` = `Form  ID :`)."""
    text = label.split("{")[0].strip()
    colon = text.endswith(":")
    pattern = r"\s+".join(map(re.escape, text.rstrip(":").split()))
    return pattern + (r"\s*:" if colon else "")


STANDARD_ROW = re.compile(r"^\s*" + _words(_STANDARDS.row_label) + r"\s*(\d+)\b", re.IGNORECASE)
KLOE_HEADING = re.compile(r"^\s*" + _words(_STANDARDS.heading) + r"\s*(\d+)\b", re.IGNORECASE)
VISIBLE_FORM_ID = re.compile(_words(contract.LABEL_FORM_ID) + r"\s*([A-Za-z0-9][A-Za-z0-9._\-/]*)")
VISIBLE_CASE_REF = re.compile(_words(contract.LABEL_CASE_REF) + r"[ \t]*([^\n\t]*)")

# What auditors type when the drop-down is gone, by the kind of rating they mean.
TYPED_RATINGS = {
    RatingKind.MET: {"met", "yes", "met or exceeded", "exceeded"},
    RatingKind.NOT_MET: {"not met", "no", "unmet"},
    RatingKind.NOT_APPLICABLE: {"n/a", "na", "n.a.", "not applicable"},
}


_label = lru_cache(maxsize=4096)(normalise_label)  # labels and ratings repeat across every form of a cycle


class Outcome(str, Enum):
    ACCEPTED = "accepted"
    INCOMPLETE = "incomplete"
    REJECTED = "rejected"


class Register(Protocol):
    def issued_form(self, form_id: str) -> Optional[IssuedForm]: ...


@dataclass
class ReadOutcome:
    """What one returned file turned out to be."""

    outcome: Outcome
    problems: ProblemReport
    audit: Optional[AuditReturn] = None
    summary: Optional[SummaryReturn] = None
    identity: Optional[FormIdentity] = None  # as far as it could be told, even for a rejected file
    had_tracked_changes: bool = False
    had_comments: bool = False
    sources: dict[str, str] = field(default_factory=dict)  # field -> "control" | "position"
    progress: Optional[ProgressReturn] = None  # an action progress form (issue 13)

    @property
    def record(self) -> Union[AuditReturn, SummaryReturn, ProgressReturn, None]:
        return self.audit or self.summary or self.progress

    @property
    def message(self) -> str:
        """One line for the ingest listing."""
        errors, warnings = self.problems.errors, self.problems.warnings
        if self.outcome is Outcome.REJECTED:
            return errors[0].message if errors else "rejected"
        if self.outcome is Outcome.INCOMPLETE:
            head = f"{len(errors)} problem{'s' if len(errors) != 1 else ''} to put right"
            first = errors[0].message.rstrip(".")
            return f"{head}: {first}" + (f" (and {len(errors) - 1} more)." if len(errors) > 1 else ".")
        if self.audit is not None and self.audit.no_involvement:
            head = "no involvement in this case"
        else:
            head = "complete"
        if warnings:
            head += "; note: " + "; ".join(w.message for w in warnings[:2])
        return head


def agency_fix(code: str, fix: str) -> str:
    """The 'what to do' for a problem, as said to the agency rather than to the officer."""
    advice = CATALOGUE[code].agency_advice if code in CATALOGUE else ""
    if advice:
        return advice
    lead = "ask the agency to "
    return "Please " + fix[len(lead):] if fix.lower().startswith(lead) else fix


class _Reject(Exception):
    def __init__(self, code: str, message: str, fix: str = "", value: Optional[str] = None):
        super().__init__(message)
        self.code, self.message, self.fix, self.value = code, message, fix, value


# --- the one entry point --------------------------------------------------------


def read_return(
    data: bytes,
    *,
    filename: str,
    cycle: Cycle,
    register: Register,
    sha256: Optional[str] = None,
    received_at: Optional[datetime] = None,
    issued_copy: Optional[Callable[[IssuedForm], Optional[bytes]]] = None,
) -> ReadOutcome:
    """Read one returned file against the cycle and the issued-forms register.

    `issued_copy(form)`: the bytes of the form as issued, if still at hand; text in the return that the
    issued form does not have is then kept as other text.
    """
    problems = ProblemReport()
    state = _State(filename=filename, problems=problems)
    try:
        doc, props = _open_word_document(data)
        state.tracked, state.comments = doc.has_tracked_changes, doc.has_comments
        _identify(doc, props, state, cycle, register)
    except _Reject as r:
        problems.add(r.code, r.message, r.fix, file=filename, value=r.value)
        return ReadOutcome(Outcome.REJECTED, problems, identity=state.identity,
                           had_tracked_changes=state.tracked, had_comments=state.comments)

    sha = sha256 or hashlib.sha256(data).hexdigest()
    ident = state.identity
    if state.tracked:
        problems.add("return.tracked-changes",
                     "The form has tracked changes; it was read as if every change were accepted.",
                     "Check this return's answers in results.xlsx against the archived file.",
                     file=filename, severity=Severity.WARNING)
    if state.comments:
        problems.add("return.comments", "The form has Word comments; comments are not read as answers.",
                     "Open the file to read the comments; ask the agency to put anything that matters in the form itself.",
                     file=filename, severity=Severity.WARNING)
    other = _other_text(doc, state, issued_copy)
    common = dict(identity=ident, source_file=filename, file_sha256=sha, received_at=received_at, other_text=other)
    if ident.kind is FormKind.PROGRESS:
        return _read_progress_return(doc, state, cycle, register, common)
    if ident.kind is FormKind.SUMMARY:
        values = _read_summary(_layout(doc), state)
        if any(p.code in codes_where("rejects") for p in problems):  # too long, or sent back blank
            return ReadOutcome(Outcome.REJECTED, problems, identity=ident, had_tracked_changes=state.tracked,
                               had_comments=state.comments, sources=state.sources)
        summary = SummaryReturn(**values, **common)
        return ReadOutcome(Outcome.ACCEPTED, problems, summary=summary, identity=ident,
                           had_tracked_changes=state.tracked, had_comments=state.comments, sources=state.sources)
    audit = _read_audit(doc, state, cycle, common)
    if any(p.code in codes_where("rejects") for p in problems):
        # a blank form sent back (or dropped in by mistake) must never replace a filled-in return
        return ReadOutcome(Outcome.REJECTED, problems, identity=ident,
                           had_tracked_changes=state.tracked, had_comments=state.comments, sources=state.sources)
    outcome = Outcome.ACCEPTED if audit.complete else Outcome.INCOMPLETE
    return ReadOutcome(outcome, problems, audit=audit, identity=ident,
                       had_tracked_changes=state.tracked, had_comments=state.comments, sources=state.sources)


BLANK_FORM = "return.blank-form"


def _read_progress_return(doc: WordDocument, state: "_State", cycle: Cycle, register: Register,
                          common: dict) -> ReadOutcome:
    """An action progress form (pipeline/progress.py): rejected when blank, incomplete when an update is wrong."""
    from .progress import issued_action_ids, read_progress

    ident = common["identity"]
    record = read_progress(doc, state, issued_action_ids(register, ident.form_id, cycle, ident.agency), common)
    flags = dict(identity=ident, had_tracked_changes=state.tracked, had_comments=state.comments, sources=state.sources)
    if any(p.code in codes_where("rejects") for p in state.problems):
        return ReadOutcome(Outcome.REJECTED, state.problems, **flags)
    outcome = Outcome.ACCEPTED if record.complete else Outcome.INCOMPLETE
    return ReadOutcome(outcome, state.problems, progress=record, **flags)


@dataclass
class _State:
    filename: str
    problems: ProblemReport
    identity: Optional[FormIdentity] = None
    tracked: bool = False
    comments: bool = False
    sources: dict[str, str] = field(default_factory=dict)
    issued: Optional[IssuedForm] = None

    def add(self, code: str, message: str, fix: str = "", *, location: Optional[str] = None,
            value: Optional[str] = None, warning: bool = False) -> None:
        self.problems.add(code, message, fix, file=self.filename, location=location, value=value,
                          severity=Severity.WARNING if warning else Severity.ERROR)


# --- what kind of file this is --------------------------------------------------

SAVE_AS_DOCX = "Ask the agency to open the form in Word, choose File > Save As > 'Word Document (*.docx)' and send that file."


def _open_word_document(data: bytes, *, whole: bool = True) -> tuple[WordDocument, dict[str, str]]:
    """The document and its custom properties, or a rejection saying what the file really is.

    `whole=False`: only the text outside the tables is wanted (no tables read, no properties).
    """
    kind = sniff(data)
    if kind == "empty":
        raise _Reject("file.empty", "The file is empty (0 bytes): the attachment did not save properly.",
                      "Save the attachment from the email again, or ask the agency to resend it.")
    if kind == "pdf":
        raise _Reject("file.pdf", "The file is a PDF, not the Word form; answers cannot be read from a PDF.",
                      "Ask the agency to send the filled-in Word (.docx) form itself, not a PDF of it.")
    if kind == "image":
        raise _Reject("file.image", "The file is a picture (a scan or photo), not the Word form.",
                      "Ask the agency to send the filled-in Word (.docx) form itself.")
    if kind == "rtf":
        raise _Reject("file.not-word", "The file is saved as Rich Text Format (.rtf), which loses the form's answers.",
                      SAVE_AS_DOCX)
    if kind == "ole2":
        _reject_ole2(data)
    if kind != "zip":
        raise _Reject("file.not-word", "The file is not a Word document (it is text or an unknown format).",
                      "Check the right attachment was saved; ask the agency to send the filled-in .docx form.")
    what = None
    try:
        pkg = open_package(data)
        for part in PARSED_PARTS:
            check_part_size(pkg, part, MAX_XML_PART_BYTES)
        what = describe_package(pkg)
        if what.family == "opendocument":
            raise _Reject("file.not-word", "The file is a LibreOffice (OpenDocument) file, not a Word form.",
                          "Ask the agency to save it as 'Word 2007-365 (.docx)' (in LibreOffice: File > Save As, "
                          "choose that type) and send it again.")
        if what.family in ("excel", "powerpoint"):
            raise _Reject("file.not-word", f"The file is a{'n Excel workbook' if what.family == 'excel' else ' PowerPoint file'}, "
                          "not a Word form.", "Check the right attachment was saved; ask the agency for the .docx form.")
        if what.family != "word":
            raise _Reject("file.not-word", "The file is a zip archive but not a Word document (none of a Word document's contents are in it).",
                          "Check the right attachment was saved; ask the agency to resend the .docx form.")
        if what.strict:
            raise _Reject("file.strict-ooxml", "The form was saved as 'Strict Open XML Document', which this tool does not read.",
                          SAVE_AS_DOCX)
        if what.has_macros:
            raise _Reject("file.macro", "The file is a macro-enabled Word file (.docm or .dotm); macro files are refused for safety.",
                          SAVE_AS_DOCX)
        doc = read_word_document(pkg, what.main_part, max_table_rows=MAX_TABLE_ROWS,
                                 max_part_bytes=MAX_XML_PART_BYTES, placeholders=PLACEHOLDER_TEXTS, tables=whole)
        return doc, read_custom_properties(pkg) if whole else {}
    except PackageError as exc:
        raise _package_reject(exc) from None
    except PartTooLarge as exc:
        raise _part_too_large(exc, what.main_part if what is not None else None) from None
    except TooManyRows as exc:
        raise _Reject("file.too-large", f"The document has {exc.rows:,} table rows; an audit form has a few dozen. "
                      "It is not an audit form, or something very large was pasted into it.",
                      "Ask the agency to send the audit form on its own.") from None


def _part_too_large(exc: PartTooLarge, main_part: Optional[str]) -> _Reject:
    size, limit = f"{exc.size / 2**20:,.1f} MB", f"{exc.limit / 2**20:,.0f} MB"
    if exc.part == main_part:
        return _Reject("file.too-large", f"The form's text takes {size} once unpacked; a filled-in audit form takes "
                       f"well under {limit}, even with long answers. Something very large was pasted into it "
                       "(such as pages of formatted text); it was not read.",
                       "Ask the agency to paste long evidence as plain text, or summarise it and send the full "
                       "document separately, then return the form again.", value=exc.part)
    return _Reject("file.too-large", f"Part {exc.part} of the file takes {size} once unpacked, far more than any "
                   "Word form; it was not read.", "Ask the agency to save the form again in Word and resend it.",
                   value=exc.part)


def _reject_ole2(data: bytes) -> None:
    what = describe_ole2(data)
    if what == "encrypted-package":
        raise _Reject("file.encrypted", "The file is protected with a password, so it cannot be read.",
                      "Ask the agency to remove the password (File > Info > Protect Document > Encrypt with Password, "
                      "clear it), save, and send the form again by secure email.")
    if what == "encrypted-doc":
        raise _Reject("file.encrypted", "The file is an old-format Word document (.doc) protected with a password.",
                      "Ask the agency to remove the password and save it as 'Word Document (*.docx)', then send it again.")
    if what == "doc":
        raise _Reject("file.doc-binary", "The file is in the old Word 97-2003 format (.doc), not the .docx form that was sent.",
                      SAVE_AS_DOCX)
    if what == "outlook-message":
        raise _Reject("file.not-word", "The file is a saved Outlook email (.msg), not the form attached to it.",
                      "Open the email and save the attached .docx form into the inbox instead.")
    if what in ("excel", "powerpoint"):
        raise _Reject("file.not-word", f"The file is an old-format {'Excel' if what == 'excel' else 'PowerPoint'} file, not a Word form.",
                      "Check the right attachment was saved; ask the agency for the .docx form.")
    raise _Reject("file.not-word", "The file is an old-format Office file that is not a Word form.",
                  "Check the right attachment was saved; ask the agency for the .docx form.")


PACKAGE_CODES = {
    "package.corrupt": "file.corrupt",
    "package.bad-xml": "file.corrupt",
    "package.duplicate-parts": "file.corrupt",
    "package.no-document": "file.corrupt",
    "package.empty": "file.empty",
    "package.zip-bomb": "file.zip-bomb",
    "package.too-large": "file.too-large",
    "package.too-many-parts": "file.too-large",
    "package.doctype": "file.unsafe-xml",
    "package.encrypted": "file.encrypted",
    "package.strict": "file.strict-ooxml",
}


def _package_reject(exc: PackageError) -> _Reject:
    code = PACKAGE_CODES.get(exc.code, "file.corrupt")
    fix = exc.fix or {
        "file.zip-bomb": "Do not open it; ask the agency to send the form again.",
        "file.too-large": "Ask the agency to send the audit form on its own, without large pictures.",
        "file.strict-ooxml": SAVE_AS_DOCX,
    }.get(code, "Ask the agency to save the form again in Word and resend it.")
    return _Reject(code, exc.message, fix)


# --- which form this is ------------------------------------------------------------


def _identify(doc: WordDocument, props: dict[str, str], state: _State, cycle: Cycle, register: Register) -> None:
    """Set `state.identity` to the form this file answers, or reject it."""
    visible_id, visible_case = _visible_identity(doc)
    prop_id = props.get(PROP_FORM_ID, "").strip()

    if not prop_id and not visible_id:
        if _looks_like_a_form(doc):
            raise _Reject("return.no-identity", "The file looks like an audit form, but its form ID is missing, "
                          "so it cannot be matched to an agency and case.",
                          "Ask the agency to copy their answers into the form they were sent (its file name "
                          "starts with their agency code) and return that.")
        raise _Reject("file.not-a-form", "The Word file is not one of this cycle's audit forms "
                      "(it has no form ID and none of the form's tables).",
                      "Check the right attachment was saved; ask the agency to return the form they were sent.")
    if prop_id and visible_id and prop_id != visible_id:
        raise _Reject("return.identity-mismatch",
                      f"The form's text says Form ID {visible_id}, but the file itself belongs to form {prop_id}; "
                      "answers may have been pasted between forms.",
                      "Ask the agency to fill in and return the form sent for that case, unchanged apart from the answers.",
                      value=visible_id)
    form_id = prop_id or visible_id
    file_cycle = props.get(PROP_CYCLE, "").strip()
    if file_cycle and file_cycle != cycle.settings.cycle_id:
        state.identity = _partial_identity(form_id, props)
        raise _Reject("return.wrong-cycle", f"The form belongs to the {file_cycle} audit cycle, not to "
                      f"{cycle.settings.cycle_id}.",
                      f"Ask the agency to use the form sent for {cycle.settings.cycle_name}.", value=file_cycle)
    version = props.get(PROP_VERSION, "").strip()
    if version.isdigit() and int(version) > FORM_VERSION:
        raise _Reject("return.newer-form", "The form was made by a newer version of case-audit than this one.",
                      "Upgrade case-audit, then run ingest again.", value=version)

    issued = register.issued_form(form_id)
    if issued is None:
        state.identity = _partial_identity(form_id, props)
        raise _Reject("return.unknown-form", f"Form ID {form_id} is not a form issued for this cycle.",
                      "Check the file came from this year's audit; if it did, send the agency a fresh form "
                      "(generate-forms) and ask them to copy their answers into it.", value=form_id)
    expected = issued.identity
    state.identity = expected
    _check_identity_matches(props, visible_case, expected)
    if issued.identity.cycle_id != cycle.settings.cycle_id:
        raise _Reject("return.wrong-cycle", f"Form {form_id} was issued for the {expected.cycle_id} cycle, "
                      f"not {cycle.settings.cycle_id}.", f"Ask the agency to use the form sent for {cycle.settings.cycle_name}.")

    kloes = expected.kloes
    if expected.kind is FormKind.AUDIT and not kloes:  # an audit form without KLOEs asks about all of them
        kloes = tuple(k.number for k in cycle.kloes)
    current = _fingerprint(cycle, tuple(kloes))  # as generate-forms computes it (a summary form: the rating scale only)
    file_fingerprint = props.get(PROP_FINGERPRINT, "").strip() or expected.fingerprint
    if file_fingerprint != current or expected.fingerprint != current:
        raise _Reject("return.old-toolkit", "The form is from an older version of the toolkit: its standards or "
                      "ratings differ from the cycle workbook's.",
                      "Send the agency a fresh form (generate-forms --reissue) and ask them to copy their answers into it.",
                      value=file_fingerprint)
    if expected.kind is FormKind.AUDIT:
        try:
            case = cycle.case(expected.case_ref or "")
        except KeyError:
            raise _Reject("return.not-in-cycle", f"Case {expected.case_ref} is no longer in the cycle workbook.",
                          "If the case was removed on purpose, nothing needs doing; otherwise put it back in cycle.xlsx "
                          "and run ingest again.", value=expected.case_ref) from None
        if expected.agency not in case.agencies:
            state.add("return.agency-not-involved", f"The cycle workbook no longer lists {expected.agency} as involved "
                      f"in case {case.ref}; the return is kept anyway.",
                      "Check the Cases sheet of cycle.xlsx.", warning=True)
    if not prop_id:
        state.add("return.properties-missing", "The form's hidden identity was lost when it was saved; it was "
                  f"matched by the Form ID printed on it ({form_id}).", "Nothing to do unless the answers look wrong.",
                  warning=True)
    state.issued = issued
    if issued.superseded_by:
        state.add("return.superseded-form", f"The agency used form {form_id}, which was replaced by {issued.superseded_by}; "
                  "the return was accepted.", "Nothing to do; next time ask the agency to use the latest form.",
                  warning=True)
    state.identity = FormIdentity(form_id=expected.form_id, cycle_id=expected.cycle_id, agency=expected.agency,
                                  kind=expected.kind, case_ref=expected.case_ref, kloes=tuple(kloes),
                                  fingerprint=file_fingerprint)


_FINGERPRINTS: dict[tuple[int, tuple[int, ...]], tuple[Cycle, str]] = {}


def _fingerprint(cycle: Cycle, kloes: tuple[int, ...]) -> str:
    """`cycle.fingerprint(kloes)`, worked out once per cycle and KLOE set (a Cycle is frozen)."""
    key = (id(cycle), kloes)
    known = _FINGERPRINTS.get(key)
    if known is None or known[0] is not cycle:  # an id is reused only once its cycle is gone
        if len(_FINGERPRINTS) > 256:
            _FINGERPRINTS.clear()
        known = _FINGERPRINTS[key] = (cycle, cycle.fingerprint(kloes))
    return known[1]


def _other_text(doc: WordDocument, state: _State,
                issued_copy: Optional[Callable[[IssuedForm], Optional[bytes]]]) -> tuple[OtherText, ...]:
    """Paragraphs outside the tables that the form as issued does not have: text the form did not ask for.

    Each is noted (the return still counts). The register keeps digests of what each form printed
    there; for a form recorded before it did, the issued copy is read, and without it nothing is noted.
    """
    printed = _printed(state.issued, issued_copy)
    if printed is None:
        return ()
    found = []
    for where, text in doc.placed_paragraphs():
        key = paragraph_digest(text)
        if printed[key] > 0:
            printed[key] -= 1
            continue
        found.append(OtherText(where=where, text=text))
        # the text itself only as the problem's value: the ingest line may be read over a shoulder, and may name a child
        state.add("return.other-text", f"The form has text outside the boxes ({where}); it is kept with the "
                  "return and shown in results.xlsx (Other text).",
                  "Read it in results.xlsx (Other text); nothing to do unless it changes an answer.",
                  location=where, value=text, warning=True)
    return tuple(found)


def _printed(issued: Optional[IssuedForm],
             issued_copy: Optional[Callable[[IssuedForm], Optional[bytes]]]) -> Optional[Counter]:
    """How often each paragraph digest is printed outside the tables of the form as issued; None: not known."""
    if issued is None:
        return None
    if issued.printed is not None:
        return Counter(issued.printed)
    data = issued_copy(issued) if issued_copy is not None else None
    digests = printed_digests(data) if data is not None else None
    return Counter(digests) if digests is not None else None


def printed_digests(data: bytes) -> Optional[tuple[str, ...]]:
    """`paragraph_digest` of each paragraph a form's file prints outside its tables; None if it cannot be read."""
    try:
        doc, _ = _open_word_document(data, whole=False)
    except _Reject:
        return None
    return tuple(paragraph_digest(text) for _, text in doc.placed_paragraphs())


def _visible_identity(doc: WordDocument) -> tuple[Optional[str], Optional[str]]:
    """The form ID and case reference printed near the top of the form (None where not printed)."""
    form_id = case_ref = None
    for text in doc.body_paragraphs():
        if form_id is None:
            m = VISIBLE_FORM_ID.search(text)
            form_id = m.group(1) if m else None
        if case_ref is None:
            m = VISIBLE_CASE_REF.search(text)
            case_ref = m.group(1).strip() if m else None
        if form_id is not None and case_ref is not None:
            break
    return form_id, case_ref


def _partial_identity(form_id: str, props: dict[str, str]) -> Optional[FormIdentity]:
    """What the file says about itself, so a rejection can still be addressed to its agency."""
    agency = props.get(PROP_AGENCY, "").strip()
    if not agency:
        return None
    try:
        kind = FormKind(props.get(PROP_KIND, "audit").strip() or "audit")
    except ValueError:
        kind = FormKind.AUDIT
    return FormIdentity(form_id=form_id, cycle_id=props.get(PROP_CYCLE, "").strip(), agency=agency,
                        kind=kind, case_ref=props.get(PROP_CASE, "").strip() or None)


def _check_identity_matches(props: dict[str, str], visible_case: Optional[str], expected: FormIdentity) -> None:
    said = {
        "agency": props.get(PROP_AGENCY, "").strip(),
        "kind": props.get(PROP_KIND, "").strip(),
        "case": props.get(PROP_CASE, "").strip(),
    }
    wanted = {"agency": expected.agency, "kind": expected.kind.value, "case": expected.case_ref or ""}
    for key, value in said.items():
        if value and value != wanted[key]:
            raise _Reject("return.identity-mismatch",
                          f"The file says its {key} is {value}, but form {expected.form_id} was issued for "
                          f"{wanted[key] or 'no case'}; the file has been altered or mixed up with another form.",
                          "Ask the agency to return the form they were sent for that case, unchanged apart from the answers.",
                          value=value)
    kloes_text = props.get(PROP_KLOES, "").strip()
    if kloes_text:
        try:
            kloes = tuple(int(k) for k in kloes_text.split(",") if k.strip())
        except ValueError:
            kloes = None
        if kloes is None or (expected.kloes and set(kloes) != set(expected.kloes)):
            raise _Reject("return.identity-mismatch", f"The file says it covers KLOEs {kloes_text}, but form "
                          f"{expected.form_id} was issued for KLOEs {', '.join(map(str, expected.kloes))}.",
                          "Ask the agency to return the form they were sent, unchanged apart from the answers.",
                          value=kloes_text)
    if visible_case is not None and expected.case_ref and visible_case and visible_case != expected.case_ref:
        raise _Reject("return.identity-mismatch", f"The form's text says case reference {visible_case}, but form "
                      f"{expected.form_id} was issued for case {expected.case_ref}.",
                      "Ask the agency to return the form sent for that case, unchanged apart from the answers.",
                      value=visible_case)


def _looks_like_a_form(doc: WordDocument) -> bool:
    for table in doc.tables:
        firsts = [_label(r.label) for r in table.rows]
        if any(STANDARD_ROW.match(f) for f in firsts) and _FIRST_HEADER in firsts:
            return True
        if any(f.startswith(_label(NO_INVOLVEMENT_LABEL)) for f in firsts):
            return True
        if any(f.startswith(_label(label)) for f in firsts for label in SUMMARY_FIELDS.values()):
            return True
    return False


# --- the answers -------------------------------------------------------------------


@dataclass(slots=True)
class _Row:
    standard: int
    kloe_heading: Optional[int]
    cells: dict[str, Cell]  # role -> cell
    tags: dict[str, bool]  # role -> the control's tag was verified
    wording: str = ""  # the first cell's text: "Standard n" and the standard's wording, as returned


def _column_roles(table: Table, first_row_columns: list[int]) -> dict[int, str]:
    """Grid column -> rating/evidence/reason, from the header row; contract positions where headers are gone."""
    header = next((row for row in table.rows[:3] if row.cells and _label(row.label) == _FIRST_HEADER), None)
    headers = tuple((cell.column, cell.text) for cell in header.cells[1:]) if header is not None else ()
    return dict(_roles(headers, tuple(first_row_columns)))


@lru_cache(maxsize=256)  # every standards table of a cycle's forms has the same headers
def _roles(headers: tuple[tuple[int, str], ...], first_row_columns: tuple[int, ...]) -> tuple[tuple[int, str], ...]:
    roles: dict[int, str] = {}
    for column, header in headers:
        text = _label(header)
        role = next((c.role for c in _STANDARDS.columns if c.role not in roles.values()
                     and any(word in text for word in c.keywords)), None)
        if role is not None:
            roles[column] = role
    for role, column in zip(_COLUMNS, first_row_columns[1:1 + len(_COLUMNS)]):
        if role not in roles.values() and column not in roles:
            roles[column] = role
    return tuple(roles.items())


@dataclass
class _Layout:
    """The form's tables as the board reads them: standard rows, and rows named by their first cell."""

    standard_rows: list[_Row]
    labelled: list[tuple[str, Row]]  # (normalised label, row) for every row with at least two cells

    def second_cells(self, rows: Iterable[contract.LabelledRow]) -> dict[str, tuple[Cell, bool]]:
        """key -> (second cell of the first row whose label starts with the row's label, it holds the row's control's tag)."""
        found: dict[str, tuple[Cell, bool]] = {}
        for wanted_row in rows:
            wanted = _label(wanted_row.label)
            for first, row in self.labelled:
                if first.startswith(wanted):
                    cell = row.cells[1]
                    found[wanted_row.key] = (cell, wanted_row.control.tag in cell.tags)
                    break
        return found


def _layout(doc: WordDocument) -> _Layout:
    standard_rows: list[_Row] = []
    labelled: list[tuple[str, Row]] = []
    for table in doc.tables:
        numbered = []
        for row in table.rows:
            label = row.label
            match = STANDARD_ROW.match(label)
            if match:
                numbered.append((row, int(match.group(1))))
            elif len(row.cells) >= 2:
                labelled.append((_label(label), row))
        if not numbered:
            continue
        heading = next((m for m in map(KLOE_HEADING.match, table.headings()) if m), None)
        roles = _column_roles(table, [c.column for c in numbered[0][0].cells])
        for row, n in numbered:
            cells, tags = {}, {}
            wanted = _column_tags(n)
            for cell in row.cells[1:]:
                role = roles.get(cell.column)
                if role is None or role in cells:
                    continue
                cells[role] = cell
                tags[role] = wanted[role] in cell.tags
            standard_rows.append(_Row(n, int(heading.group(1)) if heading else None, cells, tags, row.cells[0].text))
    return _Layout(standard_rows, labelled)


@lru_cache(maxsize=1024)
def _column_tags(standard: int) -> dict[str, str]:
    """role -> the tag of that column's control in the standard's row (the contract's)."""
    return {role: column.tag(standard) for role, column in _COLUMNS.items()}


@lru_cache(maxsize=1024)
def _source_keys(standard: int) -> tuple[tuple[str, str], ...]:
    """(role, the key `sources` keeps for it) for each answer column of the standard's row."""
    return tuple((role, f"S{standard}.{role}") for role in ("rating", "evidence", "reason"))


def _match_rating(text: str, options: tuple[RatingOption, ...]) -> Optional[RatingOption]:
    wanted = _label(text).rstrip(".")
    if not wanted:
        return None
    for option in options:
        if _label(option.label) == wanted:
            return option
    for kind, words in TYPED_RATINGS.items():
        if wanted in words:
            of_kind = [o for o in options if o.kind is kind]
            if len(of_kind) == 1:
                return of_kind[0]
    return None


# A placeholder's words, however spaced, capitalised or ended; and the words that start one, for a quick look first.
_PLACEHOLDER = re.compile("|".join(r"\s+".join(map(re.escape, t.rstrip(".").split())) + r"\.?"
                                   for t in sorted(PLACEHOLDER_TEXTS, key=len, reverse=True)), re.IGNORECASE)
_PLACEHOLDER_FIRST_WORDS = re.compile("|".join(sorted({re.escape(t.split()[0]) for t in PLACEHOLDER_TEXTS})), re.IGNORECASE)


def _without_placeholders(text: str) -> str:
    """`text` less any placeholder words left in it (by a control that lost its properties, or lost itself).

    A line that was only a placeholder goes; text typed beside one stays.
    """
    if _PLACEHOLDER_FIRST_WORDS.search(text) is None:  # no placeholder can start anywhere: quickly told
        return text
    lines = []
    for line in text.split("\n"):
        cleaned = _PLACEHOLDER.sub("", line)
        if cleaned == line:
            lines.append(line)
        elif cleaned.strip():
            lines.append(cleaned.strip())
    return "\n".join(lines).strip()


def _entries(cell: Optional[Cell]) -> list[tuple[Optional[Control], str]]:
    """What was entered in the cell, entry by entry (see Cell.segments), placeholder text left out."""
    if cell is None:
        return []
    entries = []
    for control, text in cell.segments():
        text = _without_placeholders(text)
        if text:
            entries.append((control, text))
    return entries


def _answer_text(cell: Optional[Cell]) -> str:
    """A text answer: the cell as it reads, placeholders left out.

    Two different texts in one cell (a control copied, text typed beside one) are both the
    agency's words, and both are kept as they read.
    """
    return _without_placeholders(cell.text) if cell is not None else ""


def _rating_text(cell: Optional[Cell],
                 options: tuple[RatingOption, ...]) -> tuple[str, Optional[RatingOption], list[str]]:
    """The rating as shown, the option it is, and every rating given when there are several different ones.

    Each entry is read as typed, else as the drop-down list item it displays. Entries that are
    no rating at all (a note beside the drop-down) do not count against the one rating given.
    """
    if cell is None:
        return "", None, []
    shown = cell.text
    if "\n" not in shown and next(islice(cell.element.iter(W_SDT), 1, None), None) is None:
        option = _match_rating(shown, options)  # the usual cell: one drop-down (or none) showing a rating
        if option is not None:
            return shown, option, []
    entries = _entries(cell)
    if not entries:
        return "", None, []
    given: dict[str, tuple[str, RatingOption]] = {}
    for control, text in entries:
        shown, option = text, _match_rating(text, options)
        if option is None and control is not None and control.kind in ("dropdown", "combobox"):
            item = control.chosen_item(text)
            if item:
                shown, option = item, _match_rating(item, options)
        if option is not None:
            given.setdefault(option.label, (shown, option))
    if len(given) > 1:
        return " / ".join(shown for shown, _ in given.values()), None, [shown for shown, _ in given.values()]
    if given:
        shown, option = next(iter(given.values()))
        return shown, option, []
    return _without_placeholders(cell.text), None, []


def _read_audit(doc: WordDocument, state: _State, cycle: Cycle, common: dict) -> AuditReturn:
    ident: FormIdentity = common["identity"]
    kloes = set(ident.kloes)
    expected = [s for s in cycle.standards if s.kloe in kloes]
    expected_numbers = {s.number for s in expected}
    options = cycle.rating_scale.options

    layout = _layout(doc)
    no_involvement, no_involvement_reason = _read_no_involvement(layout, state)

    rows: dict[int, _Row] = {}
    for row in layout.standard_rows:
        if row.standard not in expected_numbers:
            if row.standard not in {s.number for s in cycle.standards}:
                state.add("return.unexpected-standard", f"The form has a row for Standard {row.standard}, "
                          "which is not in this cycle's toolkit; it was ignored.", "Nothing to do.",
                          location=f"Standard {row.standard}", warning=True)
            continue
        if row.standard in rows:
            if _row_has_content(rows[row.standard]) and _row_has_content(row):
                state.add("return.duplicate-standard", f"Standard {row.standard} appears twice in the form; "
                          "the first row was read.", "Check the answers for that standard.",
                          location=f"Standard {row.standard}", warning=True)
            if _row_has_content(rows[row.standard]) or not _row_has_content(row):
                continue
        rows[row.standard] = row

    answers, checks, conflicted = _read_answers(rows, expected, state, options)
    common["other_text"] = (*_changed_wordings(rows, expected, state), *common["other_text"])
    _check_lengths(state, "No involvement table", {"The reason for no involvement": no_involvement_reason})

    rated = [a for a in answers if a.rating is not None or a.standard in conflicted or not_allowed(a, options)]
    if no_involvement:
        if not no_involvement_reason:
            state.add("return.no-involvement-without-reason", "'No involvement in this case' is ticked but no reason is given.",
                      f"Say why in '{NO_INVOLVEMENT_REASON_LABEL}'.", location="No involvement table")
        if rated:
            state.add("return.no-involvement-with-answers", f"'No involvement in this case' is ticked, yet {len(rated)} "
                      "standard(s) are rated; the return counts as no involvement.",
                      "If the agency was involved, untick the box and send the form again.",
                      location="No involvement table", warning=True)
    elif not rated and not any(a.evidence or a.reason for a in answers):
        if no_involvement_reason:
            state.add("return.no-involvement-not-ticked", "A reason for no involvement is given, but the box "
                      f"'{NO_INVOLVEMENT_LABEL}' is not ticked and no standard is rated.",
                      "Tick the box if the agency had no involvement in the case; otherwise rate every standard.",
                      location="No involvement table")
        else:
            state.add(BLANK_FORM, f"Nothing is filled in: none of the {len(expected)} standards is rated and "
                      "'No involvement' is not ticked. The file was kept but not recorded as a return, so an "
                      "earlier return of this form still counts.",
                      "Rate every standard, or tick 'No involvement in this case' and say why, then send the form again.",
                      location="Whole form")
    else:
        for std in expected:
            if std.number not in rows:
                state.add("return.missing-rating", f"The row for Standard {std.number} is missing from the form.",
                          "Use the form as it was sent (do not delete rows) and rate this standard.",
                          location=f"KLOE {std.kloe} table, Standard {std.number}")
        for std, answer, where, typed in checks:
            _validate_answer(state, std, answer, where, typed, options)

    complete = not state.problems.errors
    return AuditReturn(no_involvement=no_involvement, no_involvement_reason=no_involvement_reason,
                       answers=tuple(answers), complete=complete, had_tracked_changes=state.tracked,
                       had_comments=state.comments, **common)


@lru_cache(maxsize=4096)  # the wordings are the same on every form of a cycle
def _wording_words(text: str) -> tuple[str, ...]:
    """The words of a standard's wording, as compared: case, spacing, punctuation and bullet marks ignored."""
    return tuple(_WORD.findall(text.casefold()))


_WORD = re.compile(r"\w+")


def _changed_wordings(rows: dict[int, _Row], expected: list[Standard], state: _State) -> list[OtherText]:
    """A standard whose wording on the form is not the wording issued: a problem for that standard, the text kept."""
    found = []
    for std in expected:
        row = rows.get(std.number)
        if row is None or not row.wording:
            continue
        lines = row.wording.split("\n", 1)
        if _wording_words(lines[1] if len(lines) > 1 else "") == _wording_words(std.text):
            continue
        where = f"KLOE {std.kloe} table, Standard {std.number} wording"
        found.append(OtherText(where=where, text=row.wording))
        state.add("return.standard-wording-changed", f"The wording of Standard {std.number} was changed; the rating "
                  "is counted against the wording issued.", "Ask the agency to leave the standards' wording as "
                  "issued and to put anything they want to add in the evidence or reason box.",
                  location=where, value=row.wording, warning=True)
    return found


TWO_RATINGS = "return.two-ratings"
ANSWER_TOO_LONG = "return.answer-too-long"


def _two_ratings(state: _State, number: int, given: list[str], where: str) -> None:
    """Two controls for one rating (a drop-down copied into the cell) that disagree: neither is the answer."""
    both = ", ".join(given[:-1]) + " and " + given[-1]
    count = "two" if len(given) == 2 else str(len(given))
    state.add(TWO_RATINGS, f"Standard {number} has {count} ratings given ({both}), so it counts as not rated.",
              "Leave one rating in the Rating cell (delete the extra drop-down or text) and make sure it is the right one.",
              location=where, value=" / ".join(given))


def _check_lengths(state: _State, where: str, texts: dict[str, str]) -> None:
    for what, text in texts.items():
        if len(text) > MAX_ANSWER_CHARS:
            state.add(ANSWER_TOO_LONG, f"{what} is {len(text):,} characters long; an answer can hold at most "
                      f"{MAX_ANSWER_CHARS:,} (about eight pages), so the form was not recorded.",
                      "Ask the agency to shorten it to the key points (longer material can be sent separately) "
                      "and return the form again.", location=where)


_Check = tuple[Standard, Answer, str, str]  # standard, answer, where in the form, the rating as typed


def _read_answers(rows: dict[int, _Row], expected: list[Standard], state: _State,
                  options: tuple[RatingOption, ...]) -> tuple[list[Answer], list[_Check], set[int]]:
    """Each expected standard's answer; the ones to validate; the standards given two different ratings."""
    answers: list[Answer] = []
    checks: list[_Check] = []
    conflicted: set[int] = set()  # standards with two different ratings given: reported once, not validated
    for std in expected:
        row = rows.get(std.number)
        if row is None:
            continue
        where = f"KLOE {row.kloe_heading or std.kloe} table, Standard {std.number}"
        for role, key in _source_keys(std.number):
            state.sources[key] = "control" if row.tags.get(role) else "position"
        typed, option, several = _rating_text(row.cells.get("rating"), options)
        evidence, reason = _answer_text(row.cells.get("evidence")), _answer_text(row.cells.get("reason"))
        # validated: pydantic-core's validation is twice as fast as the pure-Python model_construct (measured)
        answer = Answer(standard=std.number, rating=_countable(std, option),
                        rating_label=option.label if option else typed, evidence=evidence, reason=reason)
        answers.append(answer)
        if several:
            _two_ratings(state, std.number, several, where)
            conflicted.add(std.number)
        else:
            checks.append((std, answer, where, typed))
        if len(evidence) > MAX_ANSWER_CHARS or len(reason) > MAX_ANSWER_CHARS:
            _check_lengths(state, where, {f"The evidence for Standard {std.number}": evidence,
                                          f"The reason for Standard {std.number}": reason})
    return answers, checks, conflicted


def _countable(std: Standard, option: Optional[RatingOption]) -> Optional[RatingKind]:
    """The rating as counted: an answer the form does not allow (N/A where it is not allowed) is no valid answer,
    so every table, figure and Next Step counts it as blank; its label is kept for the record."""
    if option is None or (option.kind is RatingKind.NOT_APPLICABLE and not std.na_allowed):
        return None
    return option.kind


def not_allowed(answer: Answer, options: tuple[RatingOption, ...]) -> bool:
    """True for an answer read as no valid answer because the form does not allow the rating given."""
    return answer.rating is None and any(o.label == answer.rating_label and o.kind is RatingKind.NOT_APPLICABLE
                                         for o in options)


def _row_has_content(row: _Row) -> bool:
    return any(_without_placeholders(cell.text) for cell in row.cells.values())


def _choices(std: Standard, options: tuple[RatingOption, ...]) -> str:
    labels = [f"'{o.label}'" for o in options if std.na_allowed or o.kind is not RatingKind.NOT_APPLICABLE]
    return ", ".join(labels[:-1]) + f" or {labels[-1]}" if len(labels) > 1 else "".join(labels)


def _validate_answer(state: _State, std: Standard, answer: Answer, where: str, typed: str,
                     options: tuple[RatingOption, ...]) -> None:
    n = std.number
    if not_allowed(answer, options):
        state.add("return.na-not-allowed", f"Standard {n} is rated '{answer.rating_label}', which this standard does "
                  "not allow, so it counts as not rated.",
                  f"Choose {_choices(std, options)} and explain the rating.", location=where)
        return
    if answer.rating is None:
        if typed:
            state.add("return.unknown-rating", f"The rating for Standard {n} is not one of the ratings.",
                      f"Choose {_choices(std, options)} from the Rating drop-down.", location=where, value=typed)
        else:
            state.add("return.missing-rating", f"Standard {n} has no rating.",
                      f"Choose {_choices(std, options)} in the Rating column.", location=where)
        return
    label = answer.rating_label
    if answer.rating is RatingKind.MET and not answer.evidence:
        hint = " (there is text in the 'why' column: evidence belongs in the evidence column)" if answer.reason else ""
        state.add("return.missing-evidence", f"Standard {n} is rated '{label}' but no evidence is given{hint}.",
                  f"Describe the evidence in the '{EVIDENCE_HEADER}' column.", location=where)
    elif answer.rating is not RatingKind.MET and not answer.reason:
        hint = " (there is text in the evidence column: the reason belongs in the 'why' column)" if answer.evidence else ""
        state.add("return.missing-reason", f"Standard {n} is rated '{label}' but no reason is given{hint}.",
                  f"Say why in the '{REASON_HEADER}' column.", location=where)


def _read_no_involvement(layout: _Layout, state: _State) -> tuple[bool, str]:
    rows = layout.second_cells(_AUDIT.rows)
    ticked = False
    if "no-involvement" in rows:
        cell, tagged = rows["no-involvement"]
        state.sources["no-involvement"] = "control" if tagged else "position"
        tag = _AUDIT.tag("no-involvement")
        control = next((c for c in cell.controls if c.tag == tag), None) or cell.control("checkbox")
        ticked = bool(checkbox_state(control, cell.text))
    reason = ""
    if "no-involvement-reason" in rows:
        cell, tagged = rows["no-involvement-reason"]
        state.sources["no-involvement-reason"] = "control" if tagged else "position"
        reason = _answer_text(cell)
    return ticked, reason


def _read_summary(layout: _Layout, state: _State) -> dict[str, str]:
    rows = layout.second_cells(_SUMMARY.rows)
    values = {}
    for key in SUMMARY_FIELDS:
        cell, tagged = rows.get(key, (None, False))
        state.sources[f"summary.{key}"] = "control" if tagged else "position"
        values[key] = _answer_text(cell)
    _check_lengths(state, "Summary table", {f"The answer to '{SUMMARY_FIELDS[k]}'": v for k, v in values.items()})
    if not any(values.values()):  # as issued: rejected like a blank audit form, so the agency is still chased
        state.add("return.empty-summary", "Nothing is written in the agency summary form. The file was kept but not "
                  "recorded as a return, so an earlier return of this form still counts.",
                  "Answer at least one of the three questions (write 'Nothing to add' if there is nothing), "
                  "then send the form again.", location="Summary table")
    return values


# --- per-KLOE returns that disagree on involvement -------------------------------------------

NO_INVOLVEMENT_MIX = "return.no-involvement-mix"


def _says_involved(ret: AuditReturn) -> bool:
    return not ret.no_involvement and any(a.rating is not None or a.rating_label for a in ret.answers)


def flag_no_involvement_mix(read: ReadOutcome, current: Callable[[], Iterable[AuditReturn]]) -> None:
    """Warn when one per-KLOE form for an agency x case says 'no involvement' and another rates standards.

    `current` gives the returns already recorded (asked only for a per-KLOE return). The case still
    counts as audited by the agency (only forms that all say no involvement take it out), so the
    officer is told to check which is right.
    """
    mine = read.audit
    if mine is None or not mine.identity.kloes or not (mine.no_involvement or _says_involved(mine)):
        return
    ident = mine.identity
    others = [r for r in current() if r.identity.agency == ident.agency and r.identity.case_ref == ident.case_ref
              and r.identity.kloes and r.identity.kloes != ident.kloes]
    clash = [r for r in others if (_says_involved(r) if mine.no_involvement else r.no_involvement)]
    if not clash:
        return
    theirs = ", ".join(f"KLOE {'/'.join(map(str, r.identity.kloes))}" for r in clash)
    said = "says no involvement" if mine.no_involvement else "rates standards"
    other = "rate standards" if mine.no_involvement else "say no involvement"
    read.problems.add(
        NO_INVOLVEMENT_MIX, f"This form {said} in case {ident.case_ref}, but the agency's form(s) for {theirs} "
        f"{other}. The case counts as audited by the agency, with only the rated standards counted.",
        "Ask the agency which is right, and for a corrected form if the agency was or was not involved.",
        file=mine.source_file or None, location="No involvement table", severity=Severity.WARNING)


# --- answers that name a child ------------------------------------------------------

CHILD_NAMED = "return.child-named"


_KLOE_OF: list = [None, {}]  # (cycle, standard -> KLOE): asked once per file for the same cycle


def _kloe_of(cycle: Cycle) -> dict[int, int]:
    if _KLOE_OF[0] is not cycle:
        _KLOE_OF[:] = [cycle, {s.number: s.kloe for s in cycle.standards}]
    return _KLOE_OF[1]


def flag_child_names(read: ReadOutcome, cycle: Cycle) -> None:
    """Add a warning for each standard (or summary field) whose answer names a child of the cycle.

    The return is still accepted and counted (the officer needs the answers);
    the warning says where, never the name, so feedback can ask the agency to
    use the case reference instead. The report build would refuse to quote it.
    """
    from .child_names import context, find_name, terms_for

    record, terms = read.record, terms_for(cycle)
    if record is None or not terms:
        return
    places: list[tuple[str, list[str]]] = []
    if isinstance(record, AuditReturn):
        kloe_of = _kloe_of(cycle)
        places.append(("No involvement: why", [record.no_involvement_reason]))
        places += [(f"KLOE {kloe_of.get(a.standard, '?')} table, Standard {a.standard}", [a.evidence, a.reason])
                   for a in record.answers]
        places += [(o.where, [o.text]) for o in record.other_text]
    elif isinstance(record, ProgressReturn):
        places += [(f"Action {u.action_id}", [u.progress, u.evidence]) for u in record.updates]
        places += [(o.where, [o.text]) for o in record.other_text]
    else:
        places += [(label, [getattr(record, name)]) for name, label in SUMMARY_FIELDS.items()]
    if find_name("\n\n".join(t for _, texts in places for t in texts if t), terms) is None:
        return  # one look at all the answers together: a name in any one of them is a name in all of them
    ref = record.identity.case_ref
    for location, texts in places:
        hit = next(filter(None, (find_name(t, terms) for t in texts if t)), None)
        if hit is None:
            continue
        whose = "the child in this case" if hit.term.case_ref == ref else f"the child in case {hit.term.case_ref}"
        read.problems.add(
            CHILD_NAMED, f"This answer names a child ({whose}). The answer is kept and counted, but the board "
            "report never names a child, so it cannot be quoted as it is.",
            f"Ask the agency to send the form again with the child referred to as case {hit.term.case_ref}, "
            "not by name.", file=record.source_file or None,
            location=location, value=context(hit, terms), severity=Severity.WARNING)


# --- a rendered template, read back as a return ------------------------------------------------

_KIND_NAMES = {"richtext": "a rich text control", "dropdown": "a drop-down list control", "checkbox": "a check box control",
               "text": "a plain text control", "combobox": "a combo box control", "date": "a date picker control"}
# What a rendered form's identity is replaced with before it is read back (the reader must find these).
_SAMPLE_IDENTITY = {"form_id": "0CHECKFORMID0", "case.ref": "CHECK-CASE-REF"}


def printed_paragraphs(document) -> tuple[str, ...]:
    """The paragraphs a rendered form prints outside its tables, as a return of it reads them (stand-ins left in)."""
    doc = read_back(document, {}, max_table_rows=MAX_TABLE_ROWS, placeholders=PLACEHOLDER_TEXTS)
    return tuple(text for _, text in doc.placed_paragraphs())


@lru_cache(maxsize=4096)  # the form's headings and instructions come back on every form of a cycle
def paragraph_digest(text: str) -> str:
    """A paragraph as `_other_text` compares it (`placeholder_key`), hashed: the register keeps no form's words."""
    return hashlib.sha256(placeholder_key(text).encode("utf-8")).hexdigest()[:16]


def check_rendered_form(document, cycle: Cycle, kind: FormKind, kloes: Iterable[int], token: Callable[[str], str],
                        *, label: str) -> ProblemReport:
    """Everything reading a return relies on, checked on a template rendered for `kloes` by reading it back.

    `document`: the rendered document part (parsed; left unchanged); `token(name)`: the stand-in the
    rendering put for per-form value `name` (form_id, case.ref, case.child_name ...). Problems name
    `label`, the template's file.
    """
    form, report = contract.spec(kind), ProblemReport()
    kloes = sorted(set(kloes))
    numbers = [s.number for k in kloes for s in sorted(cycle.standards_for(k), key=lambda s: s.number)]
    samples = {name: _SAMPLE_IDENTITY.get(name, "CHECK") for name, _ in form.visible_identity}
    try:
        doc = read_back(document, {token(name): value for name, value in samples.items()},
                        max_table_rows=MAX_TABLE_ROWS, placeholders=PLACEHOLDER_TEXTS)
    except (TooManyRows, PackageError):
        report.add("template.render-failed", f"The form template {label} makes a form that could not be read back "
                   f"as a return (more than {MAX_TABLE_ROWS:,} table rows, or saved as Strict Open XML).",
                   "Use the shipped template, or save yours from Word as 'Word Document (*.docx)'.", file=label)
        return report
    _check_controls(report, list_controls(doc.root), form.controls(numbers), label)
    found = dict(zip(("form_id", "case.ref"), _visible_identity(doc)))  # what the reader would go by
    for name, printed in form.visible_identity:
        if found.get(name) != samples[name]:
            report.add("template.missing-variable", f"The template does not print '{printed}{{{{ {name} }}}}'. "
                       "It must, so that a returned form can be identified even when a word processor drops its "
                       "hidden properties.", f"Add a line '{printed}{{{{ {name} }}}}' near the top of the form.",
                       file=label, value=name)
    if kind is FormKind.AUDIT and token("case.child_name") not in text_of(doc.root):
        report.add("template.no-child-name", "The template does not show the child's name ({{ case.child_name }}); "
                   "agencies will need the names from you separately.",
                   "Add {{ case.child_name }} to the form details, unless you send the names another way.",
                   file=label, severity=Severity.WARNING)
    layout = _layout(doc)
    rows = layout.second_cells(form.rows)
    for row in form.rows:
        if row.key not in rows:
            report.add("template.missing-label", f"The template has no table row labelled '{row.label}'.",
                       f"Restore {form.rows_table} from the shipped template.", file=label, value=row.label)
    if form.standards is not None:
        _check_standards_tables(report, doc, layout, cycle, kloes, label)
    return report


def _check_controls(report: ProblemReport, controls: list[Control], wanted: dict[str, contract.Control],
                    label: str) -> None:
    """Each control the contract asks for, there once, of its kind, inline; tags Word accepts."""
    found: dict[str, list[Control]] = {}
    for control in controls:
        if len(control.tag) > MAX_TAG_LENGTH:
            report.add("template.tag-too-long", f"A content control's tag is longer than {MAX_TAG_LENGTH} "
                       "characters, which Word refuses.", "Shorten the tag in the control's Properties.",
                       file=label, value=control.tag)
        found.setdefault(control.tag, []).append(control)
    _report_missing([wanted[tag] for tag in wanted if tag not in found], report, label)
    for tag, expected in wanted.items():
        for control in found.get(tag, [])[:1]:
            if control.kind != expected.kind:
                report.add("template.wrong-control", f"The content control tagged '{tag}' is "
                           f"{_KIND_NAMES.get(control.kind, control.kind)}; it must be {_KIND_NAMES[expected.kind]}.",
                           "Replace it with the control from the shipped template.", file=label, value=tag)
            if not control.inline:
                report.add("template.block-control", f"The content control tagged '{tag}' wraps a whole paragraph, "
                           "cell or row; it must sit inside the paragraph (inline), or LibreOffice loses its text.",
                           "Replace it with the control from the shipped template.", file=label, value=tag)
        if len(found.get(tag, [])) > 1:
            report.add("template.duplicate-control", f"The template has {len(found[tag])} content controls tagged "
                       f"'{tag}'; a returned form could not be read unambiguously.", "Keep only one.",
                       file=label, value=tag)


def _report_missing(missing: list[contract.Control], report: ProblemReport, label: str) -> None:
    """One problem per family of missing controls (all the evidence boxes, say), naming the tags."""
    families: dict[str, list[contract.Control]] = {}
    for control in missing:
        tag = control.tag
        family = tag.rsplit("S", 1)[0] if tag.startswith(contract.TAG_PREFIX) and tag[-1:].isdigit() else tag
        families.setdefault(family, []).append(control)
    for controls in families.values():
        tags = [c.tag for c in controls]
        if len(tags) == 1:
            what = f"{controls[0].described or tags[0]}: no content control is tagged '{tags[0]}'"
        else:
            what = (f"no content controls tagged {', '.join(repr(t) for t in tags[:6])}"
                    + (f" and {len(tags) - 6} more" if len(tags) > 6 else ""))
        report.add("template.missing-control", f"The template is missing {what}.",
                   "Put the control back from the shipped template (copy its table row or cell), or use the shipped "
                   "template.", file=label)


def _check_standards_tables(report: ProblemReport, doc: WordDocument, layout: _Layout, cycle: Cycle,
                            kloes: list[int], label: str) -> None:
    """One table per KLOE, headed as the contract says, under its KLOE heading, a row per standard."""
    headers = _STANDARDS.headers
    tables = [t for t in doc.tables if not t.nested and t.rows
              and tuple(c.text for c in t.rows[0].cells) == headers]
    if len(tables) != len(kloes):
        report.add("template.standards-table", f"The template made {len(tables)} standards table(s) for "
                   f"{len(kloes)} KLOE(s); there must be one per KLOE, headed exactly " + " | ".join(headers) + ".",
                   "Restore the KLOE loop and table from the shipped template.", file=label)
    elif not all(t.header_repeats for t in tables):
        report.add("template.header-row", "A standards table's header row is not set to repeat on each page.",
                   "In Word: select the header row, Table Properties > Row > 'Repeat as header row'.",
                   file=label, severity=Severity.WARNING)
    headed = {row.kloe_heading for row in layout.standard_rows}
    rows = {row.standard for row in layout.standard_rows}
    heading = _STANDARDS.heading.split("{")[0]
    for k in kloes:
        if k not in headed:
            report.add("template.kloe-heading", f"The template has no heading starting '{heading}{k}:' above its "
                       "standards table.", "Restore the KLOE heading 'KLOE {{ kloe.number }}: {{ kloe.question }}'.",
                       file=label)
        for st in cycle.standards_for(k):
            if st.number not in rows:
                report.add("template.standard-row", f"No row of the KLOE {k} table starts "
                           f"'{_STANDARDS.row_label.format(number=st.number)}'.",
                           "Restore the standards rows from the shipped template.", file=label)
