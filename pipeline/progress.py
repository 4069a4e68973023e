"""Action progress forms (issue 13): one Word form per agency with open actions, and reading them back.

`generate-forms --actions` writes `outbox/forms/<AGENCY>/<AGENCY>_actions.docx`
for each agency with an action not yet complete: one table per action (its
ID, wording, owner, due date, the status and progress last recorded), then a
drop-down for the new status and rich-text boxes for progress and evidence of
impact. The form follows the audit forms' rules: identity in custom
properties and printed as 'Form ID: ...', controls locked against deletion
but no document protection unless the cycle asks for it, staged, recorded in
the issued-forms register (with the action IDs it asks about) and only then
put in the agency's folder.

A return is read by tag where the tag survived, else by the row labels
(LibreOffice drops tags): each table's 'Action ID' row names the action.
Every action needs a new status; Complete needs evidence of impact; an
action the form was not issued for is a problem. Problems go to the agency
through the usual feedback note.

Public API: `generate_progress_forms(ws, cycle, ...)`, `read_progress(...)` (called by
`returns.read_return`), `progress_form(...)` (one form's bytes, for tests and the demo).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import date, datetime, timezone
from typing import Callable, Optional, Sequence

from . import contract
from .actions import TrackedAction, agencies_with_open_actions, latest_updates, open_actions
from .contract import identity_properties
from .forms import (
    SUPERSEDED_FOLDER,
    GenerateResult,
    SkippedForm,
    SupersededForm,
    WrittenForm,
    _free_path,
    _move_aside,
    _render,
    _Sentinels,
    _template_label,
    clean_text,
    cycle_context,
    format_date,
    read_template,
    template_fingerprint,
)
from .models import ActionStatus, ActionUpdate, Cycle, FormIdentity, FormKind, FormProtection, IssuedForm, \
    ProgressReturn, normalise_label
from .ooxml import controls
from .ooxml.stamping import RenderedPackage
from .problems import ProblemReport
from .returns import printed_digests
from .store import Store
from .workspace import Workspace, publish, safe_name, stage_bytes, unique_path

SPEC = contract.PROGRESS
TABLE = SPEC.actions
PROGRESS_VARIABLES = {
    "board_name": "the board's name",
    "cycle_name": "the cycle as printed, e.g. 2015-2016",
    "cycle_id": "the cycle's short reference",
    "return_deadline": "the return date, e.g. Friday 12 February 2016 (empty if none)",
    "return_instructions": "how to return the form (empty if none)",
    "form_id": "the form's ID (must be printed as 'Form ID: {{ form_id }}')",
    "agency": "the agency: code, name, short_name, contact_name, secure_email",
    "actions": "the agency's open actions: id, text, owner, due, status, progress",
    "action_count": "how many actions the form asks about",
}
_AGENCY_FIELDS = ("code", "name", "short_name", "contact_name", "secure_email")
NOT_SET, NONE_YET = "Not set", "None recorded yet"


def form_stem(agency: str) -> str:
    return f"{safe_name(agency)}_actions"


def _action_values(action: TrackedAction) -> dict[str, str]:
    return {"id": action.action_id, "text": clean_text(action.text), "owner": clean_text(action.owner),
            "due": format_date(action.due) or NOT_SET, "status": action.status.value,
            "progress": clean_text(action.latest_progress) or NONE_YET}


def progress_form(template: bytes, cycle: Cycle, agency: str, actions: Sequence[TrackedAction], form_id: str,
                  *, label: str) -> bytes:
    """One agency's progress form: the template rendered for its actions, checked, its identity stamped in."""
    sentinels = _Sentinels()
    settings = cycle.settings
    base = {k: v for k, v in cycle_context(cycle, ()).items() if k in PROGRESS_VARIABLES}
    context = {**base, "form_id": sentinels.new("form_id"),
               "agency": {f: sentinels.new(f"agency.{f}") for f in _AGENCY_FIELDS},
               "actions": [_action_values(a) for a in actions], "action_count": str(len(actions))}
    rendered = RenderedPackage.read(_render(template, context, PROGRESS_VARIABLES, label))
    controls.lock_controls(rendered.document)
    controls.number_controls(rendered.document)
    report = check_progress_form(rendered.document, [a.action_id for a in actions], sentinels.token, label=label)
    report.raise_if_errors(f"The form template {label} cannot be used.")
    rendered.set_forms_protection(settings.form_protection is FormProtection.FILLING_IN_FORMS)
    plate = rendered.cut(sentinels.pattern, sentinels.names, _Sentinels.MARK)
    who = cycle.agency(agency)
    values = {"form_id": form_id, **{f"agency.{f}": clean_text(getattr(who, f)).replace("\n", " ")
                                     for f in _AGENCY_FIELDS}}
    identity = FormIdentity(form_id=form_id, cycle_id=settings.cycle_id, agency=agency, kind=FormKind.PROGRESS,
                            fingerprint=cycle.fingerprint(()))
    return plate.stamp(values, identity_properties(identity))


def check_progress_form(document, action_ids: list[str], token: Callable[[str], str], *, label: str) -> ProblemReport:
    """A rendered progress form read back as a return would be: every action's table and controls are there."""
    from .returns import MAX_TABLE_ROWS, PLACEHOLDER_TEXTS, _check_controls, _visible_identity
    from .ooxml.reading import list_controls, read_back

    report = ProblemReport()
    doc = read_back(document, {token("form_id"): "0CHECKFORMID0"}, max_table_rows=MAX_TABLE_ROWS,
                    placeholders=PLACEHOLDER_TEXTS)
    _check_controls(report, list_controls(doc.root), SPEC.controls(actions=action_ids), label)
    if _visible_identity(doc)[0] != "0CHECKFORMID0":
        report.add("template.missing-variable", "The template does not print 'Form ID: {{ form_id }}'. It must, so "
                   "that a returned form can be identified even when a word processor drops its hidden properties.",
                   "Add a line 'Form ID: {{ form_id }}' near the top of the form.", file=label, value="form_id")
    found = [action_id for action_id, _rows in action_tables(doc)]
    if found != action_ids:
        report.add("template.missing-label", f"The template has no table row labelled '{TABLE.id_label}' for each "
                   "action.", "Restore the action table from the shipped template.", file=label,
                   value=TABLE.id_label)
    return report


# --- issuing -----------------------------------------------------------------------------------------


def generate_progress_forms(ws: Workspace, cycle: Cycle, *, reissue: bool = False, agencies: Sequence[str] = (),
                            today: Optional[date] = None) -> GenerateResult:
    """A progress form for each agency with open actions that has none yet asking about all of them (all, with
    `reissue`), recorded with the action IDs it asks about; a form it replaces moves to superseded/."""
    from .forms import _select

    chosen = _select(agencies, [a.code for a in cycle.agencies], "agency", "Agencies")
    report = ProblemReport()
    with ws.lock():
        store = Store.open(ws.store_path)
        try:
            updates = latest_updates(store.progress_returns(cycle.settings.cycle_id))
            wanted = [code for code in agencies_with_open_actions(cycle, updates, today) if code in chosen]
            current = [f for f in store.issued_forms(current_only=True) if f.identity.kind is FormKind.PROGRESS
                       and f.identity.cycle_id == cycle.settings.cycle_id]
            written, skipped, superseded = [], [], []
            path = ws.template("word", SPEC.template)
            label = _template_label(path, ws.root)
            template = read_template(path, label) if wanted else b""
            for code in wanted:
                actions = open_actions(cycle, updates, today, agency=code)
                ids = [a.action_id for a in actions]
                mine = [f for f in current if f.identity.agency == code]
                if mine and not reissue and all(set(ids) <= set(store.issued_actions(f.identity.form_id))
                                                for f in mine):
                    skipped += [SkippedForm(agency=code, kind=FormKind.PROGRESS, path=f.path, form_id=f.identity.form_id,
                                            reason="already issued") for f in mine]
                    continue
                form = _issue(ws, store, cycle, code, actions, template, label, mine, report)
                written.append(WrittenForm(agency=code, kind=FormKind.PROGRESS, path=form.path,
                                           form_id=form.identity.form_id,
                                           replaces=tuple(f.identity.form_id for f in mine)))
                superseded += [SupersededForm(agency=code, kind=FormKind.PROGRESS, form_id=f.identity.form_id,
                                              path=f.path, superseded_by=form.identity.form_id) for f in mine]
            return GenerateResult(written=written, skipped=skipped, superseded=superseded, problems=report)
        finally:
            store.close()


def _issue(ws: Workspace, store: Store, cycle: Cycle, code: str, actions: list[TrackedAction], template: bytes,
           label: str, replaces: list[IssuedForm], report: ProblemReport) -> IssuedForm:
    """One form made, staged, recorded (replacing `replaces`), then put in the agency's folder."""
    known = {f.identity.form_id for f in store.issued_forms()}
    form_id = secrets.token_hex(8).upper()
    while form_id in known:
        form_id = secrets.token_hex(8).upper()
    data = progress_form(template, cycle, code, actions, form_id, label=label)
    taken = {f.path.casefold() for f in store.issued_forms()}
    target, rel = _free_path(ws, safe_name(code), form_stem(code), taken)
    staged = stage_bytes(ws, target, data)
    form = IssuedForm(identity=FormIdentity(form_id=form_id, cycle_id=cycle.settings.cycle_id, agency=code,
                                            kind=FormKind.PROGRESS, fingerprint=cycle.fingerprint(())),
                      path=rel, file_sha256=hashlib.sha256(data).hexdigest(),
                      template_fingerprint=template_fingerprint(template), printed=printed_digests(data),
                      issued_at=datetime.now(timezone.utc).replace(microsecond=0))
    moves = {}
    for old in replaces:
        source = ws.root / old.path
        if source.is_file():
            moves[old.identity.form_id] = (source, unique_path(source.parent / SUPERSEDED_FOLDER / source.name))
    with store.transaction() as conn:
        store.record_issued_form(form, conn)
        store.record_issued_actions(form_id, [a.action_id for a in actions], conn)
        for old in replaces:
            store.mark_superseded(old.identity.form_id, form_id, conn)
            if old.identity.form_id in moves:
                store.set_issued_path(old.identity.form_id, ws.relative(moves[old.identity.form_id][1]), conn)
    for source, moved in moves.values():
        _move_aside(source, moved, report)
    publish(staged, ws.root / rel)
    return form


# --- reading a return ----------------------------------------------------------------------------------

_STATUSES = {normalise_label(s.value): s for s in ActionStatus}


def action_tables(doc) -> list[tuple[str, dict[str, object]]]:
    """(action ID, {answer key: (cell, tagged)}) for each table with an 'Action ID' row, in form order."""
    id_label = normalise_label(TABLE.id_label)
    found = []
    for table in doc.tables:
        rows = [r for r in table.rows if len(r.cells) >= 2]
        id_row = next((r for r in rows if normalise_label(r.label) == id_label), None)
        if id_row is None:
            continue
        action_id = id_row.cells[1].text.strip()
        cells: dict[str, object] = {}
        for field in TABLE.answers:
            wanted = normalise_label(field.label)
            row = next((r for r in rows if normalise_label(r.label).startswith(wanted)), None)
            if row is not None:
                cells[field.key] = (row.cells[1], field.tag(action_id) in row.cells[1].tags)
        found.append((action_id, cells))
    return found


def _status_of(cell) -> tuple[str, Optional[ActionStatus]]:
    """The status as shown in the cell, and which it is (None: blank or not one of the five)."""
    from .returns import _entries, _without_placeholders

    if cell is None:
        return "", None
    shown = _without_placeholders(cell.text).strip()
    status = _STATUSES.get(normalise_label(shown).rstrip("."))
    if status is not None or not shown:
        return shown, status
    for control, text in _entries(cell):
        if control is not None and control.kind in ("dropdown", "combobox"):
            item = control.chosen_item(text)
            if item and normalise_label(item) in _STATUSES:
                return item, _STATUSES[normalise_label(item)]
        if normalise_label(text) in _STATUSES:
            return text, _STATUSES[normalise_label(text)]
    return shown, None


def read_progress(doc, state, issued_ids: Sequence[str], common: dict) -> ProgressReturn:
    """The updates a returned progress form gives, each checked; problems go into `state` (returns._State)."""
    from .returns import _answer_text, _check_lengths

    issued, seen, updates = list(issued_ids), set(), []
    for action_id, cells in action_tables(doc):
        where = f"Action {action_id}"
        if action_id not in issued or action_id in seen:
            state.add("return.action-not-issued", f"The form has a table for action {action_id!r}, which this form "
                      "was not issued for; it was not read.", "Ask the agency to report only on the actions "
                      "printed on the form they were sent, without copying or retyping the Action ID.",
                      location=where, value=action_id)
            continue
        seen.add(action_id)
        cell = lambda key: cells.get(key, (None, False))[0]  # noqa: E731
        for key, (_c, tagged) in cells.items():
            state.sources[f"{action_id}.{key}"] = "control" if tagged else "position"
        shown, status = _status_of(cell("status"))
        progress, evidence = _answer_text(cell("progress")), _answer_text(cell("evidence"))
        _check_lengths(state, where, {f"The progress for action {action_id}": progress,
                                      f"The evidence of impact for action {action_id}": evidence})
        status = _checked_status(state, action_id, where, shown, status, evidence)
        updates.append(ActionUpdate(action_id=action_id, status=status, status_label=shown, progress=progress,
                                    evidence=evidence))
    for action_id in issued:
        if action_id not in seen:
            state.add("return.action-missing", f"The table for action {action_id} is missing from the form.",
                      "Ask the agency to use the form they were sent, with every action's table in it.",
                      location=f"Action {action_id}", value=action_id)
    if not any(u.status_label or u.progress or u.evidence for u in updates):
        state.add("return.empty-progress", "Nothing is filled in on the action progress form. The file was kept but "
                  "not recorded as a return.", "Ask the agency to give each action a new status, then send the "
                  "form again.", location="Action tables")
    complete = not state.problems.errors
    return ProgressReturn(updates=tuple(updates), complete=complete, **common)


def _checked_status(state, action_id: str, where: str, shown: str, status: Optional[ActionStatus],
                    evidence: str) -> Optional[ActionStatus]:
    """The status to record: None where it is missing, not one of the five, or Complete without evidence."""
    if not shown:
        state.add("return.action-status-missing", f"Action {action_id} has no new status.",
                  "Ask the agency to choose the action's status now (Not started, On track, At risk, Overdue or "
                  "Complete) and send the form again.", location=where)
        return None
    if status is None:
        state.add("return.action-status-unknown", f"The status of action {action_id} is not one of Not started, "
                  "On track, At risk, Overdue or Complete.", "Ask the agency to choose the status from the list.",
                  location=where, value=shown)
        return None
    if status is ActionStatus.COMPLETE and not evidence:
        state.add("return.action-complete-without-evidence", f"Action {action_id} is marked Complete but gives no "
                  "evidence of impact, so it was not recorded as complete.",
                  "Ask the agency to say what has changed for children and families because of the action, in "
                  "the 'Evidence of impact' box, and send the form again.", location=where)
        return None
    return status


def issued_action_ids(register, form_id: str, cycle: Cycle, agency: str) -> list[str]:
    """The action IDs the form was issued for; where the register cannot say, every action of the agency."""
    ask = getattr(register, "issued_actions", None)
    found = list(ask(form_id)) if ask is not None else []
    return found or [a.action_id for a in cycle.agency_actions if a.agency == agency]

