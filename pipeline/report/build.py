"""`build_report`: findings in, a new version of the overview report out, with the comms team's wording kept.

Order matters: everything is built and checked in memory (template rendered,
narrative carried over, accessibility parts set, privacy scan passed) before a
single byte is written, and then the report is written as a new file: an
earlier report, which someone may be editing, is never overwritten.

Versions: the first build writes outbox/report/overview-report.docx, later
builds overview-report-v2.docx, -v3... The narrative is taken from the report
of ours saved last, whatever its name (`identity.latest_report`). Versioned
names were chosen over moving old reports into a folder because the report
may be open in Word while the build runs: a new name touches nothing, where
a move would fail on Windows or pull the file from under the person editing it.
"""

from __future__ import annotations

import gc
import hashlib
import io
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Optional, Sequence

from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage
from jinja2 import Environment, StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError

from ..findings import Findings, compute_findings
from ..models import AuditReturn, Cycle, IssuedForm, SummaryReturn
from ..ooxml.package import PackageError, open_package, read_parts, write_parts
from ..ooxml.properties import read_custom_properties, set_custom_properties
from ..ooxml.regions import renumber_bookmarks
from ..ooxml.report_parts import (
    build_contents,
    document_language,
    ensure_cells_have_paragraphs,
    repeat_header_rows,
    set_document_language,
    set_picture_alt_text,
    set_update_fields_on_open,
)
from ..problems import CaseAuditError, ProblemReport, Severity
from ..workspace import Workspace, atomic_write_bytes
from . import identity
from .charts import ChartCache
from .context import build_inputs
from .finish import finish_report
from .learning_log import write_learning_log
from ..actions import latest_updates, tracked_actions
from .narrative import (
    NarrativeOutcome,
    PreviousReport,
    StaleRegion,
    apply_narrative,
    built_sections,
    edited_outside_narrative,
    is_own_property,
    narrative_begin,
    narrative_end,
    read_previous,
    record_properties,
)
from .privacy import refuse_if_named, refuse_if_quoted

TEMPLATE_NAME = "overview-report.docx"
REPORT_STEM = "overview-report"
LANGUAGE = "en-GB"
CHART_WIDTH = Mm(160)
_VERSION_RE = re.compile(rf"^{REPORT_STEM}(?:-v(\d+))?\.docx$", re.IGNORECASE)


@dataclass
class ReportResult:
    path: Path  # the report written by this build
    version: int
    previous: Optional[Path]  # the report the narrative was taken from (kept as it was)
    carried: list[str]  # narrative regions whose edited wording was kept
    regenerated: list[str]  # regions written from the draft (untouched, or new)
    stale: list[StaleRegion]  # edited regions whose figures changed since they were written
    learning_log: Optional[Path]
    results: Optional[Path]
    summary_sheets: list[str]
    findings: Findings
    problems: ProblemReport = field(default_factory=ProblemReport)

    def lines(self, ws: Workspace) -> list[str]:
        """What happened, in plain words, for the command line to print."""
        out = [f"Report written: {ws.relative(self.path)} (version {self.version})."]
        if self.previous is not None:
            kept = len(self.carried)
            out.append(f"Wording kept from {self.previous.name}: {kept} edited passage{'' if kept == 1 else 's'}; "
                       f"{len(self.regenerated)} untouched passage{'' if len(self.regenerated) == 1 else 's'} "
                       "rewritten with the latest figures.")
        if self.stale:
            out.append("Re-read these edited passages: the figures they were written against have changed "
                       "(each has a comment in the new report; delete it once re-read):")
            for s in self.stale:
                out.append(f"  - {s.heading or s.region}")
                out.extend(f"      {change}" for change in s.changes)
        if self.learning_log is not None:
            out.append(f"Learning log: {ws.relative(self.learning_log)}.")
        if self.results is not None:
            out.append(f"Results workbook: {ws.relative(self.results)} (sheets {', '.join(self.summary_sheets)} "
                       "updated).")
        return out


# --- versions -------------------------------------------------------------------------


def report_versions(folder: Path) -> list[tuple[int, Path]]:
    """Every built report in the folder with its version number, oldest first."""
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        m = _VERSION_RE.match(path.name)
        if m and path.is_file():
            found.append((int(m.group(1) or 1), path))
    return sorted(found)


def next_report_path(folder: Path) -> tuple[int, Path]:
    versions = report_versions(folder)
    n = versions[-1][0] + 1 if versions else 1
    while True:
        path = folder / (f"{REPORT_STEM}.docx" if n == 1 else f"{REPORT_STEM}-v{n}.docx")
        if not path.exists():
            return n, path
        n += 1


# --- the build ---------------------------------------------------------------------------


def build_report(
    ws: Workspace,
    cycle: Cycle,
    *,
    narrative_from: Optional[Path] = None,
    returns: Optional[Sequence[AuditReturn]] = None,
    summaries: Optional[Sequence[SummaryReturn]] = None,
    issued: Optional[Sequence[IssuedForm]] = None,
    write_results: bool = True,
    contents_page_numbers: Optional[bool] = None,
) -> ReportResult:
    """Write the next version of the report, then the learning log and results.xlsx.

    Returns and summaries default to the current ones in the workspace store.
    Raises CaseAuditError (and writes nothing) for a broken template, an
    unreadable --narrative-from file, or a child's name anywhere in the report.
    Holds the workspace lock throughout, so the report and results.xlsx are
    built from one state of the store, never half-way through an ingest.
    Then (`finish.finish_report`) the contents list gets its page numbers from
    one LibreOffice rendering (contents_page_numbers: None = on unless
    CASE_AUDIT_CONTENTS_PAGES=0) and the report is checked for accessibility.
    """
    with ws.lock(), _collector_spared():
        result = _build_report(ws, cycle, narrative_from, returns, summaries, issued, write_results)
        finish_report(result, contents_page_numbers=contents_page_numbers)  # page numbers (LibreOffice), checks
        return result


_SPARING: list[bool] = [False]


@contextmanager
def _collector_spared():
    """Objects that live through the whole build are left out of the garbage collector's full passes.

    At 1,000 returns a build holds some 200,000 objects that live until it ends (modules, the cycle,
    the returns, the findings); each full collection walked them all again (three per build, 0.15 s of
    CPU) to find nothing to free among them. `gc.freeze` moves what exists now out of the collector's
    sight (`_spare_from_collector` again once the findings are made); all of it is handed back at the end.
    Left alone when something else has frozen objects or turned the collector off.
    """
    if gc.get_freeze_count() or not gc.isenabled() or _SPARING[0]:
        yield
        return
    _SPARING[0] = True
    try:
        _spare_from_collector()
        yield
    finally:
        _SPARING[0] = False
        gc.unfreeze()


def _spare_from_collector() -> None:
    if _SPARING[0]:
        gc.freeze()


def _build_report(ws: Workspace, cycle: Cycle, narrative_from: Optional[Path],
                  returns: Optional[Sequence[AuditReturn]], summaries: Optional[Sequence[SummaryReturn]],
                  issued: Optional[Sequence[IssuedForm]], write_results: bool) -> ReportResult:
    problems = ProblemReport()
    store = None
    if returns is None or summaries is None or (issued is None and ws.store_path.is_file()):
        from ..store import Store
        store = Store.open(ws.store_path)
    from_store = returns is None
    try:
        moderation = None
        if returns is None:
            from ..moderation import apply_moderation  # the panel's ratings in place of the agencies' (issue 14)
            returns, moderation = apply_moderation(ws, cycle, store, store.current_audit_returns(cycle))
            problems.extend(moderation.problems)
        if summaries is None:
            summaries = store.current_summary_returns()
        if issued is None:
            issued = store.issued_forms() if store is not None else ()
        findings = compute_findings(cycle, returns, summaries, issued)
        if moderation is not None:
            from ..moderation import with_moderation
            findings = with_moderation(findings, cycle, returns, moderation)
        _spare_from_collector()  # the returns and their findings live until the report is written

        problems.extend(provisional_notes(cycle, findings))
        comparison = compared_with_previous_round(ws, cycle, findings, problems)
        previous = _previous(ws, cycle, narrative_from, problems)
        version, target = next_report_path(ws.report_dir)
        updates = _progress_updates(ws, cycle, store)  # issue 13: the latest progress on each action
        data, outcome = render_report(ws, cycle, findings, previous, output_name=target.name,
                                      actions=tracked_actions(cycle, updates), comparison=comparison)
        problems.extend(outcome.problems)
        if target.exists():  # another build got there first: never replace a report
            version, target = next_report_path(ws.report_dir)
        atomic_write_bytes(target, data)

        log_path = _soft(problems, lambda: write_learning_log(ws, cycle, updates))
        results_path, sheets = None, []
        if write_results and store is not None:
            from ..results import write_results as write_results_file
            from .excel import BY_AGENCY, BY_STANDARD
            stored = returns if from_store else None  # read once; left as it is when nothing in it changed
            results_path = _soft(problems, lambda: write_results_file(ws, cycle, store, findings=findings,
                                                                       returns=stored))
            sheets = [BY_STANDARD, BY_AGENCY] if results_path else []
    finally:
        if store is not None:
            store.close()
    return ReportResult(
        path=target, version=version, previous=previous.path if previous else None,
        carried=outcome.carried, regenerated=outcome.regenerated, stale=outcome.stale,
        learning_log=log_path, results=results_path, summary_sheets=sheets, findings=findings, problems=problems,
    )


EMPTY_SHEETS = (
    ("learning_actions", "Learning actions", "Table 1 and the Key Areas of Development"),
    ("attendance", "Event attendance", "Table 2"),
    ("group_work", "Event group work", "Table 3"),
    ("agency_actions", "Agency actions", "Appendix 3"),
)


def provisional_notes(cycle: Cycle, findings: Findings) -> ProblemReport:
    """What makes this build a draft: forms still out, learning-event sheets not yet filled in."""
    notes = ProblemReport()
    quality = findings.data_quality
    if quality.forms_outstanding:
        notes.add("report.returns-outstanding",
                  f"{quality.forms_outstanding} of {quality.forms_issued} issued forms have not come back yet: the "
                  "figures cover the returns received so far.",
                  "Run 'case-audit status --chase' to chase them, then ingest and build the report again.",
                  severity=Severity.WARNING)
    if quality.incomplete:
        notes.add("report.returns-incomplete",
                  f"{len(quality.incomplete)} return(s) are incomplete: their blank answers are not counted.",
                  "See outbox/feedback/ for what each agency needs to put right.", severity=Severity.WARNING)
    for field_name, sheet, part in EMPTY_SHEETS:
        if not getattr(cycle, field_name):
            notes.add("report.empty-sheet", f"The '{sheet}' sheet of the cycle workbook is empty, so the "
                      f"report's {part} will say nothing has been recorded yet.", f"Fill in the '{sheet}' sheet after the learning event and build "
                      "the report again.", location=f"{sheet}!A2", severity=Severity.WARNING)
    return notes


def _soft(problems: ProblemReport, write):
    """Write a side file; a locked or unreadable one becomes a warning, the report already being safe."""
    try:
        return write()
    except CaseAuditError as exc:
        for p in exc.report:
            problems.add(p.code, p.message, p.fix, file=p.file, location=p.location, value=p.value,
                         severity=Severity.WARNING)
        return None


def _previous(ws: Workspace, cycle: Cycle, narrative_from: Optional[Path], problems: ProblemReport):
    path = Path(narrative_from) if narrative_from is not None else identity.latest_report(ws.report_dir)
    if narrative_from is None:
        problems.extend(identity.not_ours_problems(ws, path))
    if path is None:
        return None
    if narrative_from is not None and not path.is_file():
        raise CaseAuditError.single("report.narrative-missing", f"There is no file {path}.",
                                    "Check the path given to --narrative-from.", file=path)
    versions = report_versions(ws.report_dir)
    newest = versions[-1][1] if narrative_from is None and versions else path
    if newest != path and newest.parent == path.parent:
        problems.add("report.narrative-from-older-version",
                     f"The narrative was taken from {path.name}, saved after {newest.name}: the edits there are the "
                     "latest, so they are the ones carried over.",
                     f"If the edits in {newest.name} were the ones meant, run build-report --narrative-from "
                     f"\"{newest}\".", file=path, severity=Severity.WARNING)
    previous = read_previous(path)
    if previous.cycle_id != cycle.settings.cycle_id:
        message = (f"{path.name} is the report of cycle {previous.cycle_id or '(unknown)'}, not "
                   f"{cycle.settings.cycle_id}, so its wording was not carried over.")
        if narrative_from is not None:
            raise CaseAuditError.single("report.narrative-other-cycle", message,
                                        "Pass this cycle's edited report to --narrative-from.", file=path)
        problems.add("report.narrative-other-cycle", message,
                     "Pass this cycle's edited report with --narrative-from if it is elsewhere.",
                     file=path, severity=Severity.WARNING)
        return None
    return previous


def _progress_updates(ws: Workspace, cycle: Cycle, store) -> dict:
    """Each action's latest progress from the progress forms ingested (none when there is no store yet)."""
    if store is None:
        if not ws.store_path.is_file():
            return {}
        from ..store import Store
        with Store.open(ws.store_path) as own:
            return latest_updates(own.progress_returns(cycle.settings.cycle_id))
    return latest_updates(store.progress_returns(cycle.settings.cycle_id))
def compared_with_previous_round(ws: Workspace, cycle: Cycle, findings: Findings, problems: ProblemReport):
    """The comparison with the round Settings 'Previous round' names; None, with a warning, when it cannot be read."""
    if not cycle.settings.previous_round.strip():
        return None
    from ..comparison import compare
    from ..rounds import previous_round

    earlier = previous_round(ws, cycle, problems)
    if earlier is None:
        return None
    comparison = compare(cycle, findings, earlier.cycle, earlier.findings)
    label = f"the previous round ({comparison.label})"
    for number in comparison.reworded:
        problems.add("round.standard-reworded", number=number, previous=label,
                     location=f"Standards, standard {number}")
    return comparison


def render_report(ws: Workspace, cycle: Cycle, findings: Findings, previous: Optional[PreviousReport], *,
                  output_name: str, built_on: Optional[date] = None,
                  actions: Optional[Sequence] = None, comparison=None) -> tuple[bytes, NarrativeOutcome]:
    """The finished report as bytes, after the privacy scan; nothing is written here."""
    refuse_if_quoted(findings, cycle)
    template_path = ws.template("word", TEMPLATE_NAME)
    tpl = _open_template(template_path)
    charts = ChartCache(ws.state_dir / "charts")  # unchanged charts are not drawn again
    inputs = build_inputs(
        cycle, findings,
        image=lambda chart: InlineImage(tpl, io.BytesIO(chart.png), width=CHART_WIDTH),
        narrative_begin=narrative_begin, narrative_end=narrative_end, built_on=built_on, draw=charts.draw,
        actions=actions, comparison=comparison,
    )
    charts.prune()
    _render(tpl, inputs.context, template_path)
    doc = tpl.docx
    outcome = apply_narrative(doc, previous, inputs.narrative, template_name=template_path.name)

    body = doc.element.body
    ensure_cells_have_paragraphs(body)
    repeat_header_rows(body)
    alt = {hashlib.sha256(c.png).hexdigest(): (c.title, c.alt_text) for c in inputs.charts}
    related = doc.part.related_parts
    set_picture_alt_text(body, lambda rid: alt.get(hashlib.sha256(related[rid].blob).hexdigest())
                         if rid in related else None)
    build_contents(doc.element.body, doc.styles.element)
    renumber_bookmarks(body)
    if previous is not None:
        for section in edited_outside_narrative(previous):
            outcome.problems.add(
                "report.built-text-edited",
                f"Changes made under '{section}' in {previous.path.name} outside its narrative passages (tables, "
                "headings, figures, lists built from the workbook) are not carried into the new report: those parts "
                "are rebuilt from the cycle workbook and the returns each time.",
                "Make the change in the cycle workbook (or ask for a corrected return), or make it again in the "
                "new report.", file=previous.path.name, location=section, severity=Severity.WARNING)
    generated = built_sections(doc, outcome.records)
    set_update_fields_on_open(doc.settings.element)
    language = _language(doc)
    props = doc.core_properties
    props.title = f"{cycle.settings.report_title} {cycle.settings.cycle_name}"
    props.subject = cycle.settings.board_name
    props.author = cycle.settings.board_name
    props.language = language
    props.comments = ""
    props.keywords = f"multi-agency case audit; {cycle.settings.cycle_name}"
    props.last_modified_by = "case-audit"
    now = datetime.now(timezone.utc).replace(microsecond=0, tzinfo=None)
    props.created = props.modified = now
    props.revision = 1

    buf = io.BytesIO()
    doc.save(buf)
    saved = buf.getvalue()
    parts = read_parts(saved)
    kept = {k: v for k, v in read_custom_properties(open_package(saved)).items() if not is_own_property(k)}
    kept.update(record_properties(cycle.settings.cycle_id, now.isoformat() + "Z", outcome.records, generated))
    set_custom_properties(parts, kept)
    refuse_if_named(parts, cycle, output_name=output_name)
    return write_parts(parts), outcome


def _open_template(path: Path) -> DocxTemplate:
    try:
        data = path.read_bytes()
        pkg = open_package(data)
        if not pkg.has("word/document.xml"):
            raise PackageError("package.not-word", "It is not a Word document.")
        pkg.xml("word/document.xml")
        return DocxTemplate(io.BytesIO(data))
    except PermissionError:
        raise CaseAuditError.single("file.locked", f"Could not read the report template {path.name}: it is open "
                                    "in another program.", "Close it in Word and run build-report again.",
                                    file=path) from None
    except PackageError as exc:
        raise CaseAuditError.single("report.template-unreadable",
                                    f"The report template {path} cannot be used: {exc.message}",
                                    "Save it again from Word as a .docx, or delete it to use the shipped template.",
                                    file=path) from None


def _render(tpl: DocxTemplate, context: dict, template_path: Path) -> None:
    env = Environment(undefined=StrictUndefined, autoescape=True)
    try:
        tpl.render(context, env, autoescape=True)
    except UndefinedError as exc:
        name = _undefined_name(str(exc))
        raise CaseAuditError.single(
            "report.template-variable",
            f"The report template uses '{name}', which build-report does not provide ({exc}).",
            "Correct or remove that tag in the template (tags are the words inside {{ }} and {% %}); the shipped "
            "template shows every name that can be used.",
            file=template_path, location=_near(exc), value=name) from None
    except TemplateSyntaxError as exc:
        raise CaseAuditError.single(
            "report.template-syntax", f"A tag in the report template is not well formed: {exc.message}.",
            "Check the {{ }} and {% %} tags near that text; every {% for %} and {% if %} needs its {% endfor %} "
            "or {% endif %}.", file=template_path, location=_near(exc)) from None
    except TemplateError as exc:
        raise CaseAuditError.single("report.template-error", f"The report template could not be filled in: {exc}.",
                                    "Check the tags in the template against the shipped one.",
                                    file=template_path, location=_near(exc)) from None


def _undefined_name(message: str) -> str:
    m = re.search(r"has no attribute '([^']+)'", message) or re.search(r"'([^']+)' is undefined", message)
    return m.group(1) if m else message


def _near(exc: Exception) -> Optional[str]:
    lines = [ln.strip() for ln in getattr(exc, "docx_context", None) or [] if ln and ln.strip()]
    return f"near: {' / '.join(lines)[:120]}" if lines else None


def _language(doc) -> str:
    lang = document_language(doc.styles.element)
    if not lang:
        lang = LANGUAGE
        set_document_language(doc.styles.element, lang)
    return lang
