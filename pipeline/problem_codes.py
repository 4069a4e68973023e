"""The catalogue of problem codes: every code case-audit emits, declared once.

Each `Code` says what the problem is (a short title), the message and fix
templates (`{field}`s filled from the keyword arguments of
`ProblemReport.add` / `CaseAuditError.single`; `{file}`, `{location}` and
`{value}` are always there), its usual severity, and what it means for a
return where the pipeline acts on it (instead of comparing code strings):

- `note`: needs nothing doing by anyone; the return is accepted as it is and
  the warning is only listed (it does not make a return "need action").
- `tell_agency`: a warning on an accepted return that the agency's feedback
  note still tells them about (an answer naming a child).
- `rejects`: the return is rejected whatever else it holds (a blank form).
- `agency_advice`: what the agency is told to do, where the officer's fix
  would not do for them.
- `rolls_up_into`: one problem per file that is gathered into one warning of
  that code before anyone sees it (forms issued under older wording).

Like frictionless-py's error classes, but as data: docs/problem-codes.md is
written from this list by `python dev/problem_codes_doc.py` (a test checks it
is current). Plain Python on purpose: loaded on the first problem, never at
start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from .problems import Severity

ERROR, WARNING = Severity.ERROR, Severity.WARNING

@dataclass(frozen=True)
class Code:
    code: str
    title: str
    message: str
    fix: str = ""
    severity: Severity = ERROR
    note: bool = False
    tell_agency: bool = False
    rejects: bool = False
    agency_advice: str = ""
    rolls_up_into: str = ""

    @property
    def area(self) -> str:
        """The part of the pipeline that emits it: 'workbook', 'return', 'report', ..."""
        return self.code.split(".", 1)[0]


# the message and fix of every "listed twice" code on a workbook sheet
TWICE = ("{what} {value!r} appears twice (first at {first}).",
         "Keep one row for {value!r}: change or delete the row at {location}.")

CODES: tuple[Code, ...] = (
    Code("demo.example-data", "Demo data unreadable",
         "The demo's simulated answers in {name} cannot be read ({reason}).",
         fix="Reinstall case-audit (pip install .) from a complete copy of the project."),
    Code("demo.example-mismatch", "Demo run on a changed cycle",
         "The cycle differs from the shipped 2015-16 example: {detail}",
         fix="Run the demo on the shipped example workbook (case-audit init --example) without editing it."),
    Code("demo.no-simulated-answers", "Demo has no answers for a form",
         "The demo has no simulated answers for {agency} {form}.",
         fix="Reinstall case-audit (pip install .) from a complete copy of the project."),
    Code("environment.cannot-open", "File cannot be opened",
         "The computer refused a file operation on {file} ({reason}). Nothing already recorded was lost, and "
         "nothing half-written was kept.",
         fix="Check the disk or network drive is connected and has space, then run the same command again."),
    Code("environment.disk-error", "Disk or network drive failed",
         "The computer refused a file operation on {file} ({reason}). Nothing already recorded was lost, and "
         "nothing half-written was kept.",
         fix="Check the disk or network drive is connected and has space, then run the same command again."),
    Code("environment.disk-full", "Disk full",
         "The disk is full: case-audit could not write {file}. Nothing already recorded was lost, and nothing "
         "half-written was kept.",
         fix="Free some space on the drive that holds the workspace (or ask IT to), then run the same command "
             "again."),
    Code("environment.permission", "Permission denied or file open elsewhere",
         "Could not write or read {file}: permission denied. It may be open in Word or Excel, or the folder may be "
         "read-only. Nothing already recorded was lost, and nothing half-written was kept.",
         fix="Close the file (or ask for write access to the folder), then run the same command again."),
    Code("environment.read-only", "Folder read-only",
         "The workspace folder is read-only: case-audit could not write {file}. Nothing already recorded was lost, "
         "and nothing half-written was kept.",
         fix="Ask for permission to change the folder (or copy the workspace somewhere you can write), then run the "
             "same command again."),
    Code("file.corrupt", "Damaged file",
         "The file is damaged or incomplete: {detail}",
         fix="Ask the agency to save the form again in Word and resend it."),
    Code("file.doc-binary", "Old Word format (.doc)",
         "The file is in the old Word 97-2003 format (.doc), which loses the form's answers.",
         fix="Ask the agency to open the form in Word, choose File > Save As > 'Word Document (*.docx)' and send "
             "that file."),
    Code("file.empty", "Empty file",
         "The file is empty (0 bytes): the attachment did not save properly.",
         fix="Save the attachment from the email again, or ask the agency to resend it."),
    Code("file.encrypted", "Password-protected file",
         "The file is protected with a password, so it cannot be read.",
         fix="Ask the agency to remove the password (File > Info > Protect Document > Encrypt with Password, clear "
             "it), save, and send the form again by secure email."),
    Code("file.image", "Picture, not a form",
         "The file is a picture (a scan or photo), not the Word form.",
         fix="Ask the agency to send the filled-in Word (.docx) form itself."),
    Code("file.locked", "File open in another program",
         "Could not read {file}: it is open in another program.",
         fix="Close the file in Word and run the command again."),
    Code("file.macro", "Macro-enabled Word file",
         "The file is a macro-enabled Word file (.docm or .dotm); macro files are refused for safety.",
         fix="Ask the agency to open the form in Word, choose File > Save As > 'Word Document (*.docx)' and send "
             "that file."),
    Code("file.not-a-form", "Word file that is not an audit form",
         "The Word file is not one of this cycle's audit forms (it has no form ID and none of the form's tables).",
         fix="Check the right attachment was saved; ask the agency to return the form they were sent."),
    Code("file.not-word", "Not a Word file",
         "The file is an old-format Office file that is not a Word form.",
         fix="Check the right attachment was saved; ask the agency for the .docx form."),
    Code("file.pdf", "PDF, not a form",
         "The file is a PDF, not the Word form; answers cannot be read from a PDF.",
         fix="Ask the agency to send the filled-in Word (.docx) form itself, not a PDF of it."),
    Code("file.strict-ooxml", "Strict Open XML format",
         "The form was saved as 'Strict Open XML Document', which this tool does not read.",
         fix="Ask the agency to open the form in Word, choose File > Save As > 'Word Document (*.docx)' and send "
             "that file."),
    Code("file.too-large", "File too large",
         "The file is {value} MB; an audit form is well under 1 MB.",
         fix="Check the right attachment was saved; ask the agency to send the audit form on its own."),
    Code("file.unsafe-xml", "Unsafe XML",
         "The file contains XML that Word never writes (a DOCTYPE declaration): {detail}",
         fix="Ask the agency to save the form again in Word and resend it."),
    Code("file.zip-bomb", "Zip bomb",
         "The file unpacks to far more than any form could hold: {detail}",
         fix="Do not open it; ask the agency to send the form again."),
    Code("forms.file-missing", "Issued form missing",
         "The register says {file} was issued, but the file is no longer there.",
         fix="If the agency still needs it, run generate-forms again with --reissue for that agency and case.",
         severity=WARNING),
    Code("forms.form-wording-changed", "Form issued under older wording",
         "{file} asks about KLOE, standard or rating wording that has since changed in the cycle workbook.",
         fix="Either put the wording back in the workbook, or run 'case-audit generate-forms --reissue' and send "
             "the agency the fresh form.",
         severity=WARNING, rolls_up_into="forms.standards-changed"),
    Code("forms.leftover-removed", "Half-written form removed",
         "{file} was a temporary file left by an earlier run that stopped; it was deleted.",
         fix="If you already emailed it, tell the agency to ignore it.",
         severity=WARNING),
    Code("forms.name-in-file-name", "File name would name a child",
         "The file names for case {ref} would contain the child's {which}. File names must never name a child.",
         fix="Change the case reference (or agency code) in the cycle workbook so it does not include the child's "
             "name."),
    Code("forms.never-issued", "Unrecorded form set aside",
         "{file} was written by an earlier run that stopped before recording it, and {issued} is the form issued "
         "for that agency and case; it was moved to {moved_to} so it is not sent.",
         fix="Nothing to do; send the agency's folder as usual.",
         severity=WARNING),
    Code("forms.not-involved", "Agency not involved in case",
         "None of {agency_codes} is recorded as involved in case {ref}, so there is no form to write for it.",
         fix="Check the case's agencies in the cycle workbook.",
         severity=WARNING),
    Code("forms.recovered", "Interrupted form finished",
         "{file} was issued by an earlier run that stopped before putting it in the agency's folder; it is there "
         "now.",
         fix="Send it as usual.",
         severity=WARNING),
    Code("forms.standards-changed", "Issued forms use older wording",
         "{count} issued form(s) ask about KLOE, standard or rating wording that has since changed in the cycle "
         "workbook. Returns of those forms will be REJECTED as coming from an older toolkit.",
         fix="Either put the wording back in the workbook, or run 'case-audit generate-forms --reissue' (add "
             "--agency CODE to limit it) and send the agencies the fresh forms.",
         severity=WARNING),
    Code("forms.superseded-not-moved", "Replaced form not moved",
         "{name} was replaced but could not be moved into the superseded folder (it may be open in Word).",
         fix="Close it and move it into the superseded folder yourself; do not send it to the agency.",
         severity=WARNING),
    Code("forms.twin-retired", "Second current form retired",
         "{file} was recorded by an earlier version as a second current form beside {rival}; {rival} is the one "
         "that counts and the other was moved to {moved_to}.",
         fix="If the agency was sent both, tell them to fill in {rival_name}; a return of either is accepted.",
         severity=WARNING),
    Code("forms.unknown-agency", "No such agency",
         "There is no agency '{value}' in the cycle workbook.",
         fix="Use one of: {valid} (from the Agencies sheet)."),
    Code("forms.unknown-case", "No such case",
         "There is no case '{value}' in the cycle workbook.",
         fix="Use one of: {valid} (from the Cases sheet)."),
    Code("forms.unknown-file", "Unknown file in forms folder",
         "{file} is not a form this workspace issued for this cycle; it was left as it is.",
         fix="Move it out of the forms folder so it is not emailed by mistake.",
         severity=WARNING),
    Code("ingest.internal-error", "Fault reading a file",
         "{file} could not be read because of a fault in case-audit ({fault}). It was archived and left in the "
         "inbox.",
         fix="Report this to whoever supports case-audit; run ingest again after the fix."),
    Code("ingest.move-failed", "Ingested file not moved",
         "{file} was ingested but could not be moved to inbox/{folder}/ (it is probably open in Word).",
         fix="Close it; the next ingest moves it and changes nothing else.",
         severity=WARNING),
    Code("init.not-a-folder", "Not a folder",
         "{folder} is a file, not a folder.",
         fix="Choose a new folder name."),
    Code("init.not-empty", "Folder not empty",
         "{folder} is not empty ({count} item(s) already there).",
         fix="Choose a new folder, or add --force to add the missing workspace folders without touching existing "
             "files."),
    Code("install.templates-missing", "Installation incomplete",
         "The shipped templates were not found next to the installed package.",
         fix="Reinstall case-audit (pip install .) from a complete copy of the project."),
    Code("learning-log.child-named", "Learning log names a child",
         "The {which} of the child in case {case_ref} is in the learning log: {context}",
         fix="Reword it (refer to the case by its reference) in the cycle workbook's learning-action or "
             "agency-action sheets, or in the learning log itself, then run build-report again."),
    Code("learning-log.unreadable", "Learning log unreadable",
         "{name} could not be read, so it was left as it is and not updated.",
         fix="Open it in Excel and save it again (or move it away to start a fresh log), then run build-report."),
    Code("report.built-text-edited", "Edits to built parts not kept",
         "Changes made under '{location}' in {file} outside its narrative passages (tables, headings, figures, "
         "lists built from the workbook) are not carried into the new report: those parts are rebuilt from the "
         "cycle workbook and the returns each time.",
         fix="Make the change in the cycle workbook (or ask for a corrected return), or make it again in the new "
             "report.",
         severity=WARNING),
    Code("report.child-named", "Report names a child",
         "The {which} of the child in case {case_ref} appears in {part}: {context}",
         fix="Reword it (refer to the case by its reference) in the edited report, the return it was quoted from, "
             "or the cycle workbook, then run build-report again."),
    Code("report.child-named-in-return", "Quoted answer names a child",
         "The {which} of the child in case {case_ref} is in words the report would quote: {context}",
         fix="Ask the agency to resend {form} without the child's name (or correct the copy in inbox/processed/, "
             "save it into inbox/ and run ingest); then run build-report again."),
    Code("report.empty-sheet", "Learning-event sheet empty",
         "The '{sheet}' sheet of the cycle workbook is empty, so the report's {part} will say nothing has been "
         "recorded yet.",
         fix="Fill in the '{sheet}' sheet after the learning event and build the report again.",
         severity=WARNING),
    Code("report.narrative-comments", "Comments not carried over",
         "Comments on the passage under '{value}' were not carried into the new report.",
         fix="They are still in {file}.",
         severity=WARNING),
    Code("report.narrative-dropped", "Edited passage has no place",
         "The edited passage under '{value}' has no place in the new report (that section is no longer in the "
         "template or the workbook), so it was not carried over.",
         fix="Its wording is still in {file}; copy it into the new report if it is needed.",
         severity=WARNING),
    Code("report.narrative-dropped-objects", "Objects in edited wording not carried over",
         "Some things in the edited wording could not be carried into the new report: {kinds}.",
         fix="Compare the new report with {file} and add them again in Word.",
         severity=WARNING),
    Code("report.narrative-from-older-version", "Narrative taken from an older version saved later",
         "The narrative was taken from {name}, saved after {newest}: the edits there are the latest, so they are "
         "the ones carried over.",
         fix="If the edits in {newest} were the ones meant, run build-report --narrative-from \"{newest_path}\".",
         severity=WARNING),
    Code("report.narrative-missing", "Narrative file not found",
         "There is no file {path}.",
         fix="Check the path given to --narrative-from."),
    Code("report.narrative-not-a-report", "Not an overview report",
         "{name} is not an overview report built by case-audit (its record of the narrative passages is missing), "
         "so its wording cannot be matched to the report's sections.",
         fix="Pass an overview report that build-report wrote (and the comms team edited) to --narrative-from."),
    Code("report.narrative-not-found", "Edited passage not found",
         "The passage under '{location}' could not be found in {file} (its heading was changed or removed), so the "
         "draft wording was used.",
         fix="If that passage had been edited, copy the wording across from {file}.",
         severity=WARNING),
    Code("report.narrative-other-cycle", "Report of another cycle",
         "{file} is the report of cycle {other_cycle}, not {cycle_id}, so its wording was not carried over.",
         fix="Pass this cycle's edited report with --narrative-from if it is elsewhere."),
    Code("report.narrative-unreadable", "Edited report unreadable",
         "{file} cannot be read as a Word report: {detail}",
         fix="Open it in Word, save it as a Word document (.docx), and run build-report again."),
    Code("report.returns-incomplete", "Incomplete returns",
         "{count} return(s) are incomplete: their blank answers are not counted.",
         fix="See outbox/feedback/ for what each agency needs to put right.",
         severity=WARNING),
    Code("report.returns-outstanding", "Returns outstanding",
         "{outstanding} of {issued} issued forms have not come back yet: the figures cover the returns received so "
         "far.",
         fix="Run 'case-audit status --chase' to chase them, then ingest and build the report again.",
         severity=WARNING),
    Code("report.template-error", "Report template failed",
         "The report template could not be filled in: {reason}.",
         fix="Check the tags in the template against the shipped one."),
    Code("report.template-region", "Narrative region tags wrong",
         "The report template's narrative region tags are wrong: {detail}",
         fix="Each narrative_begin(...) needs a matching {{{{ narrative_end() }}}} after the region's text."),
    Code("report.template-region-id", "Narrative region name invalid",
         "The report template names a narrative region {region_id}; names may use only lower-case letters, digits "
         "and hyphens (at most 31).",
         fix="Rename the region in the template's narrative_begin(...) tag."),
    Code("report.template-syntax", "Report template tag malformed",
         "A tag in the report template is not well formed: {detail}.",
         fix="Check the {{{{ }}}} and {{% %}} tags near that text; every {{% for %}} and {{% if %}} needs its {{% "
             "endfor %}} or {{% endif %}}."),
    Code("report.template-unreadable", "Report template unreadable",
         "The report template {file} cannot be used: {detail}",
         fix="Save it again from Word as a .docx, or delete it to use the shipped template."),
    Code("report.template-variable", "Report template uses an unknown name",
         "The report template uses '{name}', which build-report does not provide ({reason}).",
         fix="Correct or remove that tag in the template (tags are the words inside {{{{ }}}} and {{% %}}); the "
             "shipped template shows every name that can be used."),
    Code("return.action-complete-without-evidence", "Action complete without evidence of impact",
         "Action {action} is marked Complete but gives no evidence of impact, so it was not recorded as complete.",
         fix="Ask the agency to say what has changed for children and families because of the action, in the "
             "'Evidence of impact' box, and send the form again."),
    Code("return.action-missing", "Action table missing from a progress form",
         "The table for action {value} is missing from the form.",
         fix="Ask the agency to use the form they were sent, with every action's table in it."),
    Code("return.action-not-issued", "Action not on the progress form as issued",
         "The form has a table for action {value!r}, which this form was not issued for; it was not read.",
         fix="Ask the agency to report only on the actions printed on the form they were sent, without copying or "
             "retyping the Action ID."),
    Code("return.action-status-missing", "Action without a new status",
         "Action {action} has no new status.",
         fix="Ask the agency to choose the action's status now (Not started, On track, At risk, Overdue or "
             "Complete) and send the form again."),
    Code("return.action-status-unknown", "Action status not in the list",
         "The status of action {action} is not one of Not started, On track, At risk, Overdue or Complete.",
         fix="Ask the agency to choose the status from the list."),
    Code("return.agency-not-involved", "Agency no longer involved",
         "The cycle workbook no longer lists {agency} as involved in case {ref}; the return is kept anyway.",
         fix="Check the Cases sheet of cycle.xlsx.",
         severity=WARNING),
    Code("return.answer-too-long", "Answer too long",
         "{what} is {count} characters long; an answer can hold at most {limit} (about eight pages), so the form "
         "was not recorded.",
         fix="Ask the agency to shorten it to the key points (longer material can be sent separately) and return "
             "the form again.",
         rejects=True),
    Code("return.blank-form", "Blank form returned",
         "Nothing is filled in: none of the {count} standards is rated and 'No involvement' is not ticked. The file "
         "was kept but not recorded as a return, so an earlier return of this form still counts.",
         fix="Rate every standard, or tick 'No involvement in this case' and say why, then send the form again.",
         rejects=True),
    Code("return.child-named", "Answer names a child",
         "This answer names a child ({whose}). The answer is kept and counted, but the board report never names a "
         "child, so it cannot be quoted as it is.",
         fix="Ask the agency to send the form again with the child referred to as case {case_ref}, not by name.",
         severity=WARNING, tell_agency=True),
    Code("return.comments", "Word comments in form",
         "The form has Word comments; comments are not read as answers.",
         fix="Open the file to read the comments; ask the agency to put anything that matters in the form itself.",
         severity=WARNING),
    Code("return.duplicate-standard", "Standard twice in form",
         "Standard {standard} appears twice in the form; the first row was read.",
         fix="Check the answers for that standard.",
         severity=WARNING),
    Code("return.empty-progress", "Blank action progress form returned",
         "Nothing is filled in on the action progress form. The file was kept but not recorded as a return.",
         fix="Ask the agency to give each action a new status, then send the form again.",
         rejects=True),
    Code("return.empty-summary", "Blank agency summary returned",
         "Nothing is written in the agency summary form. The file was kept but not recorded as a return, so an "
         "earlier return of this form still counts.",
         fix="Answer at least one of the three questions (write 'Nothing to add' if there is nothing), then send "
             "the form again.",
         rejects=True),
    Code("return.identity-mismatch", "Form ID does not match the file",
         "The form's text says Form ID {visible_id}, but the file itself belongs to form {prop_id}; answers may "
         "have been pasted between forms.",
         fix="Ask the agency to fill in and return the form sent for that case, unchanged apart from the answers."),
    Code("return.missing-evidence", "Evidence missing",
         "Standard {n} is rated '{label}' but no evidence is given.",
         fix="Describe the evidence in the Evidence column."),
    Code("return.missing-rating", "Rating missing",
         "Standard {n} has no rating.",
         fix="Choose {choices} in the Rating column."),
    Code("return.missing-reason", "Reason missing",
         "Standard {n} is rated '{label}' but no reason is given.",
         fix="Say why in the reason column."),
    Code("return.na-not-allowed", "Not applicable not allowed",
         "Standard {n} is rated '{label}', which this standard does not allow, so it counts as not rated.",
         fix="Choose {choices} and explain the rating."),
    Code("return.newer-form", "Form from a newer case-audit",
         "The form was made by a newer version of case-audit than this one.",
         fix="Upgrade case-audit, then run ingest again.",
         agency_advice="No action is needed; the board office will read your form after updating its software."),
    Code("return.no-identity", "Form ID missing",
         "The file looks like an audit form, but its form ID is missing, so it cannot be matched to an agency and "
         "case.",
         fix="Ask the agency to copy their answers into the form they were sent (its file name starts with their "
             "agency code) and return that."),
    Code("return.no-involvement-not-ticked", "No-involvement box not ticked",
         "A reason for no involvement is given, but the box 'No involvement in this case' is not ticked and no "
         "standard is rated.",
         fix="Tick the box if the agency had no involvement in the case; otherwise rate every standard."),
    Code("return.no-involvement-with-answers", "No involvement but standards rated",
         "'No involvement in this case' is ticked, yet {count} standard(s) are rated; the return counts as no "
         "involvement.",
         fix="If the agency was involved, untick the box and send the form again.",
         severity=WARNING),
    Code("return.no-involvement-mix", "No involvement on one KLOE form only",
         "This form {said} in case {case_ref}, but the agency's form(s) for {kloes} {other}. The case counts as "
         "audited by the agency, with only the rated standards counted.",
         fix="Ask the agency which is right, and for a corrected form if the agency was or was not involved.",
         severity=WARNING),
    Code("return.no-involvement-without-reason", "No involvement without a reason",
         "'No involvement in this case' is ticked but no reason is given.",
         fix="Say why in the no-involvement reason row."),
    Code("return.not-in-cycle", "Case no longer in the cycle",
         "Case {case_ref} is no longer in the cycle workbook.",
         fix="If the case was removed on purpose, nothing needs doing; otherwise put it back in cycle.xlsx and run "
             "ingest again.",
         agency_advice="No action is needed unless the board office asks you."),
    Code("return.old-toolkit", "Form from an older toolkit",
         "The form is from an older version of the toolkit: its standards or ratings differ from the cycle "
         "workbook's.",
         fix="Send the agency a fresh form (generate-forms --reissue) and ask them to copy their answers into it.",
         agency_advice="The standards have changed since this form was made. The board office will send you a "
                       "fresh form: please copy your answers into it and return that one."),
    Code("return.other-text", "Text outside the boxes",
         "The form has text outside the boxes ({where}); it is kept with the return and shown in results.xlsx "
         "(Other text).",
         fix="Read it in results.xlsx (Other text); nothing to do unless it changes an answer.",
         severity=WARNING, note=True),
    Code("return.properties-missing", "Hidden identity lost",
         "The form's hidden identity was lost when it was saved; it was matched by the Form ID printed on it "
         "({form_id}).",
         fix="Nothing to do unless the answers look wrong.",
         severity=WARNING, note=True),
    Code("return.standard-wording-changed", "Standard's wording changed",
         "The wording of Standard {number} was changed; the rating is counted against the wording issued.",
         fix="Ask the agency to leave the standards' wording as issued and to put anything they want to add in the "
             "evidence or reason box.",
         severity=WARNING, tell_agency=True),
    Code("return.superseded-form", "Earlier issue of the form used",
         "The agency used form {form_id}, which was replaced by {superseded_by}; the return was accepted.",
         fix="Nothing to do; next time ask the agency to use the latest form.",
         severity=WARNING, note=True),
    Code("return.tracked-changes", "Tracked changes in form",
         "The form has tracked changes; it was read as if every change were accepted.",
         fix="Check this return's answers in results.xlsx against the archived file.",
         severity=WARNING),
    Code("return.two-ratings", "Two ratings for one standard",
         "Standard {number} has {count} ratings given ({both}), so it counts as not rated.",
         fix="Leave one rating in the Rating cell (delete the extra drop-down or text) and make sure it is the right "
             "one."),
    Code("return.unexpected-standard", "Standard not in the toolkit",
         "The form has a row for Standard {standard}, which is not in this cycle's toolkit; it was ignored.",
         fix="Nothing to do.",
         severity=WARNING, note=True),
    Code("return.unknown-form", "Form not issued this cycle",
         "Form ID {form_id} is not a form issued for this cycle.",
         fix="Check the file came from this year's audit; if it did, send the agency a fresh form (generate-forms) "
             "and ask them to copy their answers into it.",
         agency_advice="This form was not issued for this year's audit. Please return the form the board office "
                       "sent you for this case (its file name starts with your agency code)."),
    Code("return.unknown-rating", "Rating not on the scale",
         "The rating for Standard {n} is not one of the ratings.",
         fix="Choose {choices} from the Rating drop-down."),
    Code("return.wrong-cycle", "Form from another cycle",
         "The form belongs to the {form_cycle} audit cycle, not to {cycle_id}.",
         fix="Ask the agency to use the form sent for {cycle_name}."),
    Code("store.cannot-open", "Record store cannot be opened",
         "The workspace record store could not be opened ({reason}). Nothing already recorded was lost.",
         fix="Check the workspace folder is reachable and you can write to it, then run the same command again."),
    Code("store.newer-schema", "Workspace from a newer case-audit",
         "This workspace was written by a newer case-audit (store version {version}).",
         fix="Upgrade case-audit (pip install -U case-audit) before using this workspace."),
    Code("store.unreadable", "Record store damaged",
         "The workspace record store cannot be read ({reason}).",
         fix="Restore .case-audit/store.sqlite3 from your backup; the archive folder beside it keeps every returned "
             "file."),
    Code("template.block-control", "Content control not inline",
         "The content control tagged '{tag}' wraps a whole paragraph, cell or row; it must sit inside the paragraph "
         "(inline), or LibreOffice loses its text.",
         fix="Replace it with the control from the shipped template."),
    Code("template.duplicate-control", "Content control tag twice",
         "The template has {count} content controls tagged '{tag}'; a returned form could not be read "
         "unambiguously.",
         fix="Keep only one."),
    Code("template.filtered-variable", "Per-form value filtered",
         "The form template {label} changes a per-form value with a filter (for example {{{{ case.ref|lower }}}}), "
         "which case-audit cannot fill in form by form.",
         fix="Show per-form values as they are: {{{{ form_id }}}}, {{{{ agency.name }}}}, {{{{ case.ref }}}}, {{{{ "
             "case.child_name }}}} ..."),
    Code("template.header-row", "Header row does not repeat",
         "A standards table's header row is not set to repeat on each page.",
         fix="In Word: select the header row, Table Properties > Row > 'Repeat as header row'.",
         severity=WARNING),
    Code("template.kloe-heading", "KLOE heading missing",
         "The template has no heading starting 'KLOE {k}:'.",
         fix="Restore the KLOE heading 'KLOE {{{{ kloe.number }}}}: {{{{ kloe.question }}}}'."),
    Code("template.missing", "Form template missing",
         "The form template {label} was not found.",
         fix="Put the template back, or delete the workspace's templates folder to use the shipped one."),
    Code("template.missing-control", "Content control missing",
         "The template is missing {what}.",
         fix="Put the control back from the shipped template (copy its table row or cell), or use the shipped "
             "template."),
    Code("template.missing-label", "Table row label missing",
         "The template has no table row labelled '{text}'.",
         fix="Restore the 'No involvement' table from the shipped template."),
    Code("template.missing-variable", "Identity not printed",
         "The template does not print '{visible}{{{{ {name} }}}}'. It must, so that a returned form can be "
         "identified even when a word processor drops its hidden properties.",
         fix="Add a line '{visible}{{{{ {name} }}}}' near the top of the form."),
    Code("template.no-child-name", "Child's name not shown",
         "The template does not show the child's name ({{{{ case.child_name }}}}); agencies will need the names "
         "from you separately.",
         fix="Add {{{{ case.child_name }}}} to the form details, unless you send the names another way.",
         severity=WARNING),
    Code("template.not-docx", "Form template not .docx",
         "The form template {label} is not a Word (.docx) document.",
         fix="Save the template from Word as 'Word Document (*.docx)'."),
    Code("template.render-failed", "Form template failed",
         "The form template {label} could not be filled in: a {{{{ }}}} or {{% %}} tag does something case-audit "
         "cannot do ({exc}).",
         fix="Correct the template in Word, or remove it from the workspace's templates folder to use the shipped "
             "one."),
    Code("template.standard-row", "Standard row missing",
         "No row of the KLOE {k} table starts 'Standard {number}'.",
         fix="Restore the standards rows from the shipped template."),
    Code("template.standards-table", "Standards tables wrong",
         "The template made {tables} standards table(s) for {kloes} KLOE(s); there must be one per KLOE, headed "
         "exactly {headers}.",
         fix="Restore the KLOE loop and table from the shipped template."),
    Code("template.syntax", "Form template tag malformed",
         "The form template {label} has a mistake in a {{{{ }}}} or {{% %}} tag: {detail}.",
         fix="Correct the template in Word, or remove it from the workspace's templates folder to use the shipped "
             "one."),
    Code("template.tag-too-long", "Content control tag too long",
         "A content control's tag is longer than {max_length} characters, which Word refuses.",
         fix="Shorten the tag in the control's Properties."),
    Code("template.unknown-variable", "Form template uses an unknown name",
         "The template uses {{{{ {name} }}}}, which case-audit does not fill in.",
         fix="Use one of: {known}."),
    Code("template.unreadable", "Form template unreadable",
         "The form template {label} cannot be opened as a Word document ({kind}).",
         fix="Correct the template in Word, or remove it from the workspace's templates folder to use the shipped "
             "one."),
    Code("template.wrong-control", "Wrong kind of content control",
         "The content control tagged '{tag}' is {kind}; it must be {wanted}.",
         fix="Replace it with the control from the shipped template."),
    Code("workbook.attendance-unknown-agency", "Attendance names an unknown agency",
         "The Attendance sheet lists agency '{value}', which is not on the Agencies sheet.",
         fix="Pick an agency code from the drop-down list in {location}, or add the agency to the Agencies sheet."),
    Code("workbook.bad-agency-code", "Agency code invalid",
         "An agency code names that agency's folder of forms, so it may only use letters, digits, '-' and '_' (no "
         "spaces), up to 20 characters, and not a name Windows reserves (CON, PRN, AUX, NUL, COM1, LPT1...).",
         fix="Change {location} to a short code such as POLICE or HEALTH-1."),
    Code("workbook.bad-case-ref", "Case reference invalid",
         "A case reference becomes part of file names, so it may only use letters, digits, '-', '_' and '.' (no "
         "spaces), up to 40 characters.",
         fix="Change {location} to something like N-01."),
    Code("workbook.bad-action-id", "Action ID not a short code",
         "The action ID {value!r} is not a short code{what}.",
         fix="Type an ID of up to 40 letters, digits, '-', '.' or '_' in {location}."),
    Code("workbook.bad-action-status", "Action status not in the list",
         "Status must be one of: Not started, On track, At risk, Overdue, Complete{what}.",
         fix="Pick one of them from the drop-down list in {location}."),
    Code("workbook.bad-choice", "Value not in the list",
         "{heading} must be one of: {options}{what}.",
         fix="Pick one of {options} from the drop-down list in {location}."),
    Code("workbook.bad-cycle-ref", "Cycle reference turned into a date",
         "Excel has turned the cycle reference into a date.",
         fix="Format {location} as Text (Home > Number > Text) and type it again, e.g. 2015-16."),
    Code("workbook.bad-date", "Not a date",
         "{heading} is not a date{what}.",
         fix="Type the date in {location} as dd/mm/yyyy, for example 30/11/2015."),
    Code("workbook.bad-email", "Email address invalid",
         "The secure email for {code} does not look like an email address.",
         fix="Check {location}.",
         severity=WARNING),
    Code("workbook.bad-number", "Not a whole number",
         "{heading} must be a whole number ({bounds}){what}.",
         fix="Type a whole number in {location}."),
    Code("workbook.bad-yes-no", "Not Y or N",
         "{heading} must be Y or N{what}.",
         fix="Type Y or N in {location} (or pick from the drop-down list)."),
    Code("workbook.blank-cell", "Required cell blank",
         "{heading} is blank{what}.",
         fix="Fill in {heading}, or delete the whole row if it is not needed."),
    Code("workbook.case-ref-names-child", "Case reference names the child",
         "The case reference contains part of the child's name; references go into file names and the board report, "
         "which must never name a child.",
         fix="Change {location} to a reference that does not identify the child, such as N-01."),
    Code("workbook.case-without-agency", "Case with no agency",
         "Case {ref} has no agency marked as involved.",
         fix="Put Y under each agency involved in case {ref} (row {number} of the Cases sheet), or delete the row."),
    Code("workbook.complete-without-evidence", "Action complete without evidence of impact",
         "Action {action} is Complete but has no evidence of impact.",
         fix="Say in {location} what changed for children because of it.",
         severity=WARNING),
    Code("workbook.corrupt", "Workbook damaged",
         "This file is a zip file but not an Office document (it has no Office content list).",
         fix="Use the cycle workbook made by 'case-audit init', saved from Excel as .xlsx."),
    Code("workbook.deadline-before-cycle", "Deadline before the cycle began",
         "The return deadline {deadline} is before the cycle {cycle} began ({start}).",
         fix="Check the year in {location}: the deadline should fall within the {cycle} cycle.",
         severity=WARNING),
    Code("workbook.duplicate-agency", "Agency listed twice", *TWICE),
    Code("workbook.duplicate-agency-column", "Agency column twice",
         "Agency {code} has two columns on the Cases sheet (first at {first}).",
         fix="Delete one of the two columns."),
    Code("workbook.duplicate-attendance", "Attendance listed twice", *TWICE),
    Code("workbook.duplicate-case-ref", "Case reference used twice", *TWICE),
    Code("workbook.duplicate-kloe", "KLOE listed twice", *TWICE),
    Code("workbook.duplicate-action-id", "Action ID used twice",
         "The action ID {value!r} is used twice (first at {first}).",
         fix="Give every action its own ID in the Action ID column."),
    Code("workbook.duplicate-learning-action", "Learning action listed twice", *TWICE),
    Code("workbook.duplicate-priority-area", "Priority area listed twice", *TWICE),
    Code("workbook.duplicate-rating", "Rating listed twice", *TWICE),
    Code("workbook.duplicate-setting", "Setting listed twice",
         "The setting '{setting}' appears twice.",
         fix="Keep one row for '{setting}' and delete the other."),
    Code("workbook.duplicate-standard", "Standard listed twice", *TWICE),
    Code("workbook.encrypted", "Workbook password-protected",
         "This file is protected with a password to open, so case-audit cannot read it.",
         fix="Open it in Excel, remove the password (File > Info > Protect Workbook > Encrypt with Password, clear "
             "the box), save, and run the command again."),
    Code("workbook.formula-error", "Excel error in a cell",
         "{heading} shows an Excel error instead of a value.",
         fix="Replace the formula with the value itself."),
    Code("workbook.kloe-without-standards", "KLOE with no standards",
         "KLOE {number} has no standards.",
         fix="Add its standards on the Standards sheet (with {number} in the KLOE column), or delete KLOE {number} "
             "from the KLOEs sheet."),
    Code("workbook.locked", "Workbook locked",
         "The workbook cannot be read: it is locked by another program (probably open in Excel).",
         fix="Close it in Excel (or the other program), then run the command again."),
    Code("workbook.macro-enabled", "Macro-enabled workbook",
         "This file is a macro-enabled workbook; case-audit only reads plain workbooks.",
         fix="Open it in Excel and use File > Save As > Excel Workbook (*.xlsx), then run the command again."),
    Code("workbook.missing-column", "Column heading missing",
         "The '{name}' sheet has no '{heading}' heading in its first rows.",
         fix="Put the headings back in row 1 of '{name}': {headings}."),
    Code("workbook.missing-setting", "Setting missing",
         "The Settings sheet has no '{setting}' row.",
         fix="Add a row with '{setting}' in the Setting column and its value beside it."),
    Code("workbook.missing-sheet", "Sheet missing",
         "The sheet '{sheet}' is missing (the workbook has {present}).",
         fix="Add a sheet named '{sheet}' with the headings from the template (copy it from a fresh 'case-audit "
             "init' workbook), or restore the sheet's name if it was renamed."),
    Code("workbook.no-agencies", "No agencies",
         "The Agencies sheet lists no agencies.",
         fix="Add the agencies taking part, one per row, with a code and full name."),
    Code("workbook.no-cases", "No cases",
         "The Cases sheet has no cases yet, so there are no forms to issue.",
         fix="Add one row per case: case ref, priority area, the child's name or initials, and Y under each agency "
             "involved. Then run 'case-audit check' again."),
    Code("workbook.no-kloes", "No KLOEs",
         "The KLOEs sheet lists no key lines of enquiry.",
         fix="Add at least one KLOE (number and question) below the headings."),
    Code("workbook.no-priority-areas", "No priority areas",
         "The Priority areas sheet lists no priority areas.",
         fix="Add at least one priority area (e.g. Neglect) below the headings."),
    Code("workbook.no-secure-email", "Secure email missing",
         "Agency {code} is involved in {n} case(s) but has no secure email: forms and chase emails need it.",
         fix="Type the secure email address of {code}'s audit contact in {location} (add a 'Secure email' column to "
             "the Agencies sheet if it has none).",
         severity=WARNING),
    Code("workbook.not-found", "Workbook not found",
         "There is no file {name} in {folder}.",
         fix="Check the file name and folder, or run 'case-audit init' to create a cycle workbook."),
    Code("workbook.not-xlsx", "Not an Excel workbook",
         "This file is not an Excel workbook (.xlsx): {detail}",
         fix="Use the cycle workbook made by 'case-audit init' (cycle.xlsx), saved from Excel as .xlsx."),
    Code("workbook.open-in-excel", "Workbook open in Excel",
         "The workbook looks open in Excel: changes not yet saved there are not included.",
         fix="Save the workbook in Excel if you have changed it, then run the command again.",
         severity=WARNING),
    Code("workbook.placeholder", "Template placeholder left in",
         "{what} still has the blank template's placeholder in it, which would be printed on every form.",
         fix="Replace the placeholder in {location} with {wanted}."),
    Code("workbook.rating-scale-incomplete", "Rating scale incomplete",
         "The rating scale needs at least one option that counts as {lacking}.",
         fix="Add rows such as 'Met or exceeded | met' and 'Not met | not met' to the Rating scale sheet."),
    Code("workbook.strict", "Strict Open XML workbook",
         "This file is saved as 'Strict Open XML Spreadsheet', which case-audit cannot read.",
         fix="Open it in Excel and use File > Save As > Excel Workbook (*.xlsx), not Strict Open XML Spreadsheet, "
             "then run the command again."),
    Code("workbook.too-large", "Workbook too large",
         "This file is far larger than any cycle workbook could be.",
         fix="Use the cycle workbook made by 'case-audit init', saved from Excel as .xlsx."),
    Code("workbook.unknown-agency", "Unknown agency column",
         "The Cases column heading '{heading}' is not an agency code on the Agencies sheet.",
         fix="Make the heading an agency code from the Agencies sheet (e.g. POLICE), add that agency to the "
             "Agencies sheet, or delete the column."),
    Code("workbook.unknown-kloe", "Unknown KLOE",
         "Standard {number} is under KLOE {kloe}, which is not on the KLOEs sheet.",
         fix="Change {location} to one of the KLOE numbers ({value}), or add KLOE {kloe} to the KLOEs sheet."),
    Code("workbook.unknown-priority-area", "Unknown priority area",
         "The group-work priority area is not on the Priority areas sheet.",
         fix="Pick one of {items} from the drop-down list in {location}."),
    Code("workbook.unknown-setting", "Unknown setting",
         "'{name}' is not a setting case-audit knows; it is ignored.",
         fix="Check the spelling against the Instructions sheet, or leave it if it is a note.",
         severity=WARNING),
    Code("workbook.unreadable", "Workbook unreadable",
         "This file cannot be read ({value}).",
         fix="Check the file is still there and that you can open it, then run the command again."),
    Code("workbook.unsafe-xml", "Unsafe XML in workbook",
         "This file contains XML with a DOCTYPE declaration, which Excel never writes; it may have been tampered "
         "with and was not opened.",
         fix="Do not use this file. Start again from a copy of the workbook you saved yourself in Excel."),
    Code("workspace.busy", "Workspace busy",
         "{holder} is still working in this workspace.",
         fix="Wait for it to finish, then run this command again."),
    Code("workspace.no-cycle", "No cycle workbook",
         "No cycle workbook in {folder}.",
         fix="Run 'case-audit init FOLDER' to start a cycle, or pass --workspace FOLDER."),
    # issue 10: containers, conversion, open files, nested workspaces, reports not ours
    Code("container.empty", "Container with nothing in it",
         "The file is {what} with no files in it.",
         fix="Ask the agency to attach the completed .docx form to the email by itself."),
    Code("container.unsafe-name", "Unsafe name inside a container",
         "The file's name inside the container is unsafe (a full path, '..' or a drive letter), so it was not read.",
         fix="Ask the agency to attach the completed .docx form to the email by itself."),
    Code("container.nested", "Container inside a container",
         "The file is itself a zip file or saved email inside another one; files packed twice over are not unpacked.",
         fix="Ask the agency to attach the completed .docx form to the email by itself."),
    Code("container.unreadable", "Zip file cannot be opened",
         "The zip file cannot be opened: {reason}",
         fix="Ask the agency to attach the completed .docx form to the email by itself."),
    Code("container.member-unreadable", "File in a zip cannot be taken out",
         "{name} inside the zip file cannot be taken out: {reason}",
         fix="Ask the agency to attach the .docx form by itself."),
    Code("file.converted", "Converted by LibreOffice",
         "The form arrived as {what}; it was converted to Word to be read.",
         fix="Please send the Word (.docx) form next time.", severity=WARNING, tell_agency=True, note=True),
    Code("file.open-elsewhere", "File open in another program",
         "{name} is open in {program}: unsaved changes there are not included.",
         fix="Save (or close) it in {program} and run the command again to include them.", severity=WARNING),
    Code("init.inside-workspace", "Workspace inside a workspace",
         "{folder} is inside the workspace {outer}: a cycle there would be a second, separate workspace.",
         fix="Run the commands from anywhere inside {outer} (they find it), or choose a folder outside it for a "
             "new cycle."),
    Code("report.narrative-pdf", "PDF given as the narrative",
         "{name} is a PDF: a PDF cannot carry the report's editable narrative.",
         fix="Give --narrative-from the .docx report saved from Word."),
    Code("report.newer-not-ours", "Newer Word file that is not a report case-audit built",
         "{name} was saved after every report case-audit built, but it is not one of them.",
         fix="If it holds edits to keep, copy them into the report the narrative was taken from (in Word), save, "
             "and build the report again.", severity=WARNING),
    Code("return.rejected", "File not accepted",
         "The file was not accepted: {reason}",
         fix="Send the filled-in Word (.docx) form again."),
)

CATALOGUE: dict[str, Code] = {c.code: c for c in CODES}


@lru_cache(maxsize=None)
def codes_where(flag: str) -> frozenset[str]:
    """The codes whose behaviour flag `flag` is set, e.g. codes_where("note")."""
    return frozenset(c.code for c in CODES if getattr(c, flag))


def entry(code: str) -> Code | None:
    return CATALOGUE.get(code)
