"""The `case-audit` command: options in, one library call, messages and exit codes out.

This is the one boundary where problems become text and exit codes:
0 done, 1 done but something needs the officer's attention / internal error,
2 invalid input. `--debug` shows the traceback of an internal error.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import sys
import traceback
from pathlib import Path

import click

from .faults import environment_failure
from .problems import CaseAuditError, ProblemReport, Severity
from .workspace import Workspace, init_workspace, open_elsewhere_problems

EXIT_OK, EXIT_ATTENTION, EXIT_INVALID = 0, 1, 2


class State:
    def __init__(self, debug: bool, as_json: bool, workspace: Path | None = None):
        self.debug = debug
        self.as_json = as_json
        self.workspace = workspace


def workspace_from(ctx: click.Context, given: Path | None) -> Workspace:
    """-w may come before or after the command name; the nearer one wins; default the workspace the current
    folder is in (itself or the nearest folder above it with a workspace).

    The workspace knows which command runs (for anyone waiting on its lock) and
    says at once, on stderr, when this command has to wait for another.
    """
    state = ctx.find_object(State)
    explicit = given or (state.workspace if state else None)
    ws = Workspace(explicit) if explicit else Workspace.discover(Path.cwd())  # from inbox/ too, as git finds its repo
    ws.command = ctx.info_name or ws.command
    ws.on_wait = lambda holder: click.echo(f"Waiting for {holder} to finish in this workspace...", err=True)
    return ws


def render_report(report: ProblemReport, *, err: bool = True) -> None:
    for problem in report:
        mark = "error" if problem.severity is Severity.ERROR else "warning"
        click.secho(f"  {mark}: ", fg="red" if mark == "error" else "yellow", nl=False, err=err)
        click.echo(problem.render(), err=err)


class Boundary(click.Group):
    """Turns CaseAuditError into a message and exit code; anything else into a short internal-error note.

    A full disk, a read-only folder or a file open in Word/Excel is the officer's
    environment, not a fault: said as such (`faults.environment_failure`), exit 1.
    """

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except CaseAuditError as exc:
            _show_error(ctx, exc)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except BrokenPipeError:  # output piped into `head` or similar
            ctx.exit(EXIT_OK)
        except KeyboardInterrupt:
            click.echo("Interrupted. Nothing half-written was kept; run the command again to finish.", err=True)
            ctx.exit(130)
        except Exception as exc:  # the one place a bug meets the officer
            state = ctx.find_object(State)
            if state and state.debug:
                traceback.print_exc()
            explained = environment_failure(exc) if isinstance(exc, (OSError, sqlite3.Error)) else None
            if explained is not None:
                _show_error(ctx, explained)
            if not (state and state.debug):
                click.secho(f"Internal error: {type(exc).__name__}: {exc}", fg="red", err=True)
                click.echo("This is a fault in case-audit, not in your files. Run again with --debug and send "
                           "the output to whoever supports the tool.", err=True)
            ctx.exit(EXIT_ATTENTION)


def _show_error(ctx: click.Context, exc: CaseAuditError) -> None:
    if not emit_json(ctx, {"ok": False, "summary": exc.summary, "problems": exc.report}):
        problems = exc.report.problems
        if not (len(problems) == 1 and problems[0].message == exc.summary):
            click.secho(exc.summary, fg="red", err=True)
        render_report(exc.report)
    ctx.exit(exc.exit_code)


def _set_flag(name: str):
    def callback(ctx: click.Context, _param, value: bool) -> None:
        state = ctx.find_object(State)
        if value and state is not None:
            setattr(state, name, True)
    return callback


def workspace_option(command):
    """-w, --json and --debug on every command, so they work after the command name as well as before it."""
    command = click.option("--debug", is_flag=True, expose_value=False, is_eager=True, callback=_set_flag("debug"),
                           help="Show the full traceback of an internal error.")(command)
    command = click.option("--json", "as_json", is_flag=True, expose_value=False, is_eager=True,
                           callback=_set_flag("as_json"), help="Print problems and results as JSON.")(command)
    return click.option("--workspace", "-w", "workspace", type=click.Path(file_okay=False, path_type=Path),
                        default=None, help="The cycle's workspace folder (default: the one the current folder is in).")(command)


@click.group(cls=Boundary, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show the full traceback of an internal error.")
@click.option("--json", "as_json", is_flag=True, help="Print problems and results as JSON.")
@click.option("--workspace", "-w", "workspace", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The cycle's workspace folder (default: the one the current folder is in).")
@click.version_option(package_name="case-audit")
@click.pass_context
def cli(ctx: click.Context, debug: bool, as_json: bool, workspace: Path | None) -> None:
    """Multi-agency case audit for a Local Safeguarding Children Board."""
    ctx.obj = State(debug, as_json, workspace)


@cli.command()
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--example", is_flag=True, help="Fill the workbook with the shipped 2015-16 example cycle.")
@click.option("--force", is_flag=True, help="Use a folder that already has files in it (nothing there is changed).")
@click.option("--from", "from_folder", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Start the next round from the earlier round in this folder: its toolkit, agencies and open "
                   "actions are carried; its cases, names, returns and forms are not.")
@click.pass_context
def init(ctx: click.Context, folder: Path, example: bool, force: bool, from_folder: Path | None) -> None:
    """Start a new cycle in FOLDER with a cycle workbook to fill in Excel."""
    if from_folder is not None:
        if example or force:
            raise click.UsageError("--from cannot be combined with --example or --force.")
        from .rounds import start_round

        carried = start_round(folder, from_folder)
        if emit_json(ctx, {"workspace": str(carried.workspace.root), "previous_round": carried.previous_setting,
                           "carried": carried.carried, "to_fill_in": carried.to_fill_in,
                           "problems": carried.problems}):
            return
        click.echo(f"Workspace ready: {carried.workspace.root}")
        click.echo(f"Carried from {carried.previous}:")
        for line in carried.carried:
            click.echo(f"  - {line}")
        if carried.problems:
            render_report(carried.problems, err=False)
        click.echo(f"Now fill in, in {carried.workspace.cycle_path.name}:")
        for line in carried.to_fill_in:
            click.echo(f"  - {line}")
        click.echo("  Then run 'case-audit check' there.")
        return
    ws = init_workspace(folder, example=example, force=force)
    click.echo(f"Workspace ready: {ws.root}")
    click.echo(f"  Next: open {ws.cycle_path.name} in Excel, fill in the sheets, then run 'case-audit check' there.")


def load_cycle_for(ws: Workspace):
    """Every command but init starts here: a valid cycle workbook or exit 2 with its problems."""
    from .cache import load_cycle_cached  # the workbook read once per change, not once per command

    return load_cycle_cached(ws, ws.require_cycle())


def wants_json(ctx: click.Context) -> bool:
    state = ctx.find_object(State)
    return bool(state and state.as_json)


def emit_json(ctx: click.Context, payload) -> bool:
    """Under --json, print `payload` and return True: the one way every command writes JSON."""
    if not wants_json(ctx):
        return False
    click.echo(json.dumps(payload, indent=2, default=_json_value))
    return True


def _json_value(value):
    """What json does not know: models (problems, summaries, results) as their fields, a problem report as its
    problems, anything else (dates, paths) as text."""
    if isinstance(value, ProblemReport):
        return list(value)
    dump = getattr(value, "model_dump", None)  # pydantic models, and problems (dataclasses that dump the same way)
    if callable(dump):
        return dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return str(value)


@cli.command()
@workspace_option
@click.pass_context
def check(ctx: click.Context, workspace: Path) -> None:
    """Validate the cycle workbook and summarise the forms it would produce."""
    from .workbook import read_cycle, summarise

    ws = workspace_from(ctx, workspace)
    result = read_cycle(ws.require_cycle())
    if result.cycle is not None:
        from .rounds import check_against_previous  # the previous round: missing, reworded standards, rule changed

        result.report.extend(check_against_previous(ws, result.cycle))
    if result.report.ok and result.cycle:
        from .closing import retention_notes

        result.report.extend(retention_notes(ws, result.cycle))  # the retention date passed, or none decided
    summary = summarise(result.cycle) if result.report.ok and result.cycle else None
    if emit_json(ctx, {"ok": result.report.ok, "problems": result.report, "summary": summary}):
        ctx.exit(EXIT_OK if result.report.ok else EXIT_INVALID)
    if not result.report.ok:
        click.secho(f"{ws.cycle_path.name} has {len(result.report.errors)} problem(s) to put right:", fg="red", err=True)
        render_report(result.report)
        ctx.exit(EXIT_INVALID)
    if result.report.warnings:
        click.secho("Warnings:", fg="yellow")
        render_report(result.report, err=False)
    click.secho(f"{ws.cycle_path.name} is ready.", fg="green")
    for line in summary.lines():
        click.echo(line)


class ProgressBar:
    """A click progress bar fed by the library's progress(done, total) callbacks; silent under --json."""

    def __init__(self, ctx: click.Context, label: str):
        self.enabled = not wants_json(ctx)
        self.label = label
        self.bar = None
        self.done = 0

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def __enter__(self) -> "ProgressBar":
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


@cli.command("generate-forms")
@workspace_option
@click.option("--per-kloe", is_flag=True, help="One form per agency, case and KLOE instead of one per agency and case.")
@click.option("--reissue", is_flag=True, help="Write fresh forms (new ids) and mark the old ones superseded.")
@click.option("--agency", "agencies", multiple=True, metavar="CODE", help="Only this agency (repeatable).")
@click.option("--case", "cases", multiple=True, metavar="REF", help="Only this case (repeatable).")
@click.option("--actions", "actions_only", is_flag=True,
              help="Write action progress forms: one per agency with open actions (and no audit forms).")
@click.pass_context
def generate_forms_command(ctx: click.Context, workspace: Path | None, per_kloe: bool, reissue: bool,
                           agencies: tuple[str, ...], cases: tuple[str, ...], actions_only: bool = False) -> None:
    """Write the pre-filled Word audit forms for every agency involved in each case."""
    from .forms import generate_forms

    ws = workspace_from(ctx, workspace)
    cycle = load_cycle_for(ws)
    if actions_only:
        return _generate_progress_forms(ctx, ws, cycle, reissue, agencies)
    with ProgressBar(ctx, "Writing forms") as bar:
        result = generate_forms(ws, cycle, per_kloe=per_kloe, reissue=reissue, agencies=agencies, cases=cases,
                                progress=bar)
    result.problems.extend(open_elsewhere_problems(ws, [ws.cycle_path]))
    if emit_json(ctx, result):
        return
    if result.problems.warnings:
        click.secho("Warnings:", fg="yellow")
        render_report(result.problems, err=False)
    for sup in result.superseded:
        click.echo(f"  superseded {sup.path} (form {sup.form_id}) by form {sup.superseded_by}")
    if result.skipped and not result.written:
        click.echo(f"Nothing new to write: all {len(result.skipped)} form(s) were already issued. "
                   "Use --reissue to replace them.")
    elif result.skipped:
        click.echo(f"{len(result.skipped)} form(s) already issued were left as they are.")
    click.echo(f"{'Agency':<10} {'Cases':>5} {'Written':>8} {'Kept':>6} {'Issued':>7}  Folder")
    idle = []
    for row in result.per_agency:
        if not (row.cases or row.written or row.issued):
            idle.append(row.agency)
            continue
        click.echo(f"{row.agency:<10} {row.cases:>5} {row.written:>8} {row.skipped:>6} {row.issued:>7}  "
                   f"{ws.relative(ws.forms_dir / row.agency)}/")
    if idle:
        click.echo(f"No cases, so no forms: {', '.join(idle)}.")
    if result.written:
        click.secho(f"{len(result.written)} form(s) written under {ws.relative(ws.forms_dir)}/. "
                    "Email each agency its folder.", fg="green")
    from .actions import carried_open_actions

    if carried_open_actions(cycle) and not cases:  # a later round: progress on earlier rounds' actions is asked too
        _generate_progress_forms(ctx, ws, cycle, reissue, agencies)


def _generate_progress_forms(ctx: click.Context, ws, cycle, reissue: bool, agencies: tuple[str, ...]) -> None:
    """generate-forms --actions: one action progress form per agency with open actions."""
    from .progress import generate_progress_forms

    result = generate_progress_forms(ws, cycle, reissue=reissue, agencies=agencies)
    if emit_json(ctx, result):
        return
    if result.problems.warnings:
        render_report(result.problems, err=False)
    for sup in result.superseded:
        click.echo(f"  superseded {sup.path} (form {sup.form_id}) by form {sup.superseded_by}")
    for w in result.written:
        click.echo(f"  action progress form for {w.agency}: {w.path}")
    if result.skipped and not result.written:
        click.echo(f"Nothing new to write: {len(result.skipped)} action progress form(s) already ask about every "
                   "open action. Use --reissue to replace them.")
    elif not result.written:
        click.echo("No agency has an open action, so no action progress forms were written.")
    else:
        click.secho(f"{len(result.written)} action progress form(s) written. Email each agency its form.", fg="green")


OUTCOME_COLOURS = {"accepted": "green", "accepted with problems": "yellow", "already ingested": None,
                   "rejected": "red", "not read": "red"}


def _show_file_line(f) -> None:
    """One ingested file: its outcome, then what is wrong with it."""
    click.secho(f"{f.outcome:>22}", fg=OUTCOME_COLOURS.get(f.outcome), nl=False)
    click.echo(f"  {f.file}: {f.message}")
    for problem in f.problems:
        if problem.message in f.message:  # the line above already says it: add only where and what to do
            detail = " -> ".join(x for x in (problem.location, problem.fix) if x)
            if detail:
                click.echo(f"{'':>24}{detail}")
        else:
            click.echo(f"{'':>24}- {problem.render()}")


@cli.command("ingest")
@workspace_option
@click.pass_context
def ingest_command(ctx: click.Context, workspace: Path | None) -> None:
    """Read every returned form under inbox/ into validated records, with feedback for the agencies."""
    from .ingest import ingest_inbox

    ws = workspace_from(ctx, workspace)
    cycle = load_cycle_for(ws)
    state = ctx.find_object(State)
    show = None if (state and state.as_json) else _show_file_line  # each file as it is recorded: the progress shown
    result = ingest_inbox(ws, cycle, on_file=show)
    code = EXIT_ATTENTION if result.needs_attention else EXIT_OK
    if emit_json(ctx, {
        "files": [{"file": f.file, "outcome": f.outcome, "message": f.message, "agency": f.agency,
                   "case": f.case_ref, "form_id": f.form_id, "moved_to": f.moved_to,
                   "problems": f.problems} for f in result.files],
        "ignored": [{"file": f, "why": why} for f, why in result.ignored],
        "totals": result.totals(),
        "feedback": [ws.relative(p) for p in result.feedback_files],
        "results_written": result.results_written,
        "results_problem": result.results_problem,
        "problems": result.problems,
    }):
        ctx.exit(code)
    if not result.files:
        click.echo(f"No returned forms in {ws.relative(ws.inbox)}/ (save the email attachments there, in any sub-folder).")
    for name, why in result.ignored:
        click.echo(f"{'ignored':>22}  {name}: {why}")
    if result.problems:
        render_report(result.problems, err=False)
    click.echo(f"Totals: {result.totals_line()}.")
    for path in result.feedback_files:
        click.echo(f"Feedback to forward: {ws.relative(path)}")
    if result.results_written:
        click.echo(f"Results workbook refreshed: {ws.relative(result.results_path)}")
    elif result.results_problem:
        click.secho("The returns are safely recorded, but the results workbook could not be written:", fg="yellow")
        click.echo(f"  {result.results_problem.render()}")
    ctx.exit(code)


@cli.command("status")
@workspace_option
@click.option("--chase", is_flag=True, help="List outstanding and incomplete forms per agency, ready to email.")
@click.option("--xlsx", "as_xlsx", is_flag=True, help="Also write the status (and chase list) to outbox/status.xlsx.")
@click.pass_context
def status_command(ctx: click.Context, workspace: Path | None, chase: bool, as_xlsx: bool) -> None:
    """Who has returned what, and which version of each form counts."""
    from .cache import load_cycle_plain  # status only reads the cycle: kept as plain data, no pydantic to load
    from .status import agency_status, chase_list, write_status_xlsx

    ws = workspace_from(ctx, workspace)
    cycle = load_cycle_plain(ws, ws.require_cycle())
    with ws.lock():  # never a count taken half-way through an ingest or generate-forms
        report = agency_status(ws, cycle)
        entries = chase_list(ws, cycle, report) if chase else None
        written = write_status_xlsx(ws, report, entries) if as_xlsx else None
    mod = _moderation_for_status(ws)
    from .closing import closed_line, closure_of, retention_notes

    closure, retention = closure_of(ws), retention_notes(ws, cycle)
    totals = report.totals
    if emit_json(ctx, {
        "agencies": [{"agency": a.agency.code, "issued": a.issued, "complete": a.complete,
                      "incomplete": a.incomplete, "no_involvement": a.no_involvement,
                      "outstanding": a.outstanding, "rejected_files": a.rejected_files,
                      "child_named": a.child_named, "last_return": a.last_return} for a in report.agencies],
        "totals": totals,
        "rejected_sender_unknown": [f.original_path for f in report.unidentified_files],
        "chase": [entry.text(cycle) for entry in entries] if entries is not None else None,
        "overdue_actions": {code or "board": [{"action_id": a.action_id, "due": a.due, "action": a.text}
                                              for a in overdue] for code, overdue in report.overdue.items()},
        "xlsx": ws.relative(written) if written else None,
        "moderation": {"ratings_changed": mod.changed, "cases_graded": mod.graded,
                       "escalated": [{"case": c, "priority_area": a, "grade": g} for c, a, g in mod.escalated],
                       "problems": mod.problems} if mod else
                      {"ratings_changed": 0, "cases_graded": 0, "escalated": [], "problems": []},
        "closure": {k: closure[k] for k in ("state", "started_at", "finished_at")} if closure else None,
        "retention": retention,
    }):
        return
    click.echo(f"{'Agency':<10} {'Issued':>6} {'Complete':>9} {'Incomplete':>11} {'No inv.':>8} {'Outstanding':>12} "
               f"{'Rejected':>9}  Last return")
    for a in report.agencies:
        if not a.issued and not a.rejected_files:
            continue
        last = f"{a.last_return:%d %b %Y %H:%M}" if a.last_return else "-"
        click.echo(f"{a.agency.code:<10} {a.issued:>6} {a.complete:>9} {a.incomplete:>11} {a.no_involvement:>8} "
                   f"{a.outstanding:>12} {a.rejected_files:>9}  {last}")
    last = f"{report.last_return:%d %b %Y %H:%M}" if report.last_return else "-"
    unknown = len(report.unidentified_files)
    click.echo(f"{'Total':<10} {totals['issued']:>6} {totals['complete']:>9} {totals['incomplete']:>11} "
               f"{totals['no_involvement']:>8} {totals['outstanding']:>12} {totals['rejected_files'] + unknown:>9}  {last}")
    if totals["rejected_files"] or unknown:
        sender = f" ({unknown} from a sender not known)" if unknown else ""
        click.echo(f"{totals['rejected_files'] + unknown} file(s) were rejected{sender}: see inbox/rejected/ and "
                   "outbox/feedback/.")
    _status_notes(report)
    if entries is not None:
        if not entries:
            click.secho("Nothing to chase: every issued form is back and complete.", fg="green")
        for entry in entries:
            click.echo("")
            click.echo("-" * 72)
            click.echo(entry.text(cycle))
    if written:
        click.echo(f"Status workbook: {ws.relative(written)}")
    _moderation_status(mod)
    if closure is not None:
        click.secho(closed_line(closure, ws), fg="yellow" if closure["state"] != "closed" else None)
    if retention:
        render_report(ProblemReport(retention), err=False)


def _status_notes(report) -> None:
    """What `status` adds below its table: forms returned more than once, returns naming a child, overdue actions."""
    resent = [(a, f) for a in report.agencies for f in a.forms if f.versions > 1 and f.counting]
    if resent:
        click.echo("Forms returned more than once (the latest version counts; earlier ones are kept):")
        for a, f in resent:
            click.echo(f"  {a.agency.code} {f.label}: {f.versions} versions; counting {f.counting.source_file} "
                       f"received {f.counting.received_at:%d %b %Y %H:%M}")
    named = [(a, f) for a in report.agencies for f in a.forms if f.names_a_child]
    if named:  # kept and counted; feedback asked the agency to resend using the case reference
        click.secho("Returns whose answers name a child (counted, but the report cannot quote them):", fg="yellow")
        for a, f in named:
            click.echo(f"  {a.agency.code} {f.label}: {', '.join(p.location or '' for p in f.names_a_child)}")
    if report.overdue:
        click.secho("Overdue actions (past their due date, not complete):", fg="yellow")
        for code, overdue in report.overdue.items():
            for a in overdue:
                click.echo(f"  {code or 'Board':<10} {a.action_id:<12} due {a.due:%d %b %Y}  {a.text[:60]}")


def _moderation_for_status(ws: Workspace):
    """moderation.xlsx read and recorded, the cases to escalate (issue 14). Only when the panel has started: plain
    `status` stays free of the models and openpyxl, which moderation needs."""
    from .store import Store

    started = ws.moderation_path.is_file()
    if not started and ws.store_path.is_file():
        with ws.lock(), Store.open(ws.store_path) as store:
            started = store.has_moderation_decisions()
    if not started:
        return None
    from .moderation import moderation_status

    return moderation_status(ws, load_cycle_for(ws))



def _moderation_status(mod) -> None:
    """The moderation panel's work for the officer: cases to escalate, and problems in moderation.xlsx."""
    if mod is None or not (mod.found or mod.graded or mod.changed or mod.problems):
        return
    click.echo(f"Moderation: {mod.changed} rating(s) changed by the panel; {mod.graded} case(s) graded.")
    if mod.escalated:
        click.secho("Cases graded for escalation:", fg="yellow")
        for case_ref, area, grade in mod.escalated:
            click.echo(f"  {case_ref} ({area}): {grade}")
    if mod.problems:
        render_report(mod.problems, err=False)


@cli.command("build-report")
@workspace_option
@click.option("--narrative-from", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Take the edited narrative from this report instead of the latest one in outbox/report/.")
@click.pass_context
def build_report_command(ctx: click.Context, workspace: Path | None, narrative_from: Path | None) -> None:
    """Write the next version of the overview report, keeping the edited narrative."""
    from .report import build_report

    ws = workspace_from(ctx, workspace)
    cycle = load_cycle_for(ws)
    result = build_report(ws, cycle, narrative_from=narrative_from)
    result.problems.extend(open_elsewhere_problems(ws, [ws.cycle_path, result.previous, ws.results_path,
                                                        ws.learning_log_path]))
    # a note (no LibreOffice to number the contents: Word numbers them on opening) needs nothing doing
    from .problem_codes import needs_action
    code = EXIT_ATTENTION if (result.stale or any(needs_action(p) for p in result.problems)) else EXIT_OK
    if emit_json(ctx, {
        "report": ws.relative(result.path), "version": result.version,
        "narrative_from": ws.relative(result.previous) if result.previous else None,
        "carried": result.carried, "regenerated": result.regenerated,
        "stale": [{"region": s.region, "heading": s.heading, "changes": s.changes} for s in result.stale],
        "learning_log": ws.relative(result.learning_log) if result.learning_log else None,
        "results": ws.relative(result.results) if result.results else None,
        "problems": result.problems,
    }):
        ctx.exit(code)
    click.secho(f"Report written: {ws.relative(result.path)}", fg="green")
    if result.previous:
        click.echo(f"Narrative taken from {ws.relative(result.previous)} (kept unchanged): "
                   f"{len(result.carried)} edited passage(s) carried over, {len(result.regenerated)} drafted afresh.")
    if result.stale:
        click.secho("Edited passages whose figures have changed - please re-read them:", fg="yellow")
        for stale in result.stale:
            click.echo(f"  - {stale.heading}")
            for change in stale.changes:
                click.echo(f"      {change}")
    if result.learning_log:
        click.echo(f"Learning log: {ws.relative(result.learning_log)}")
    if result.results:
        click.echo(f"Results workbook: {ws.relative(result.results)}")
    if result.problems:
        render_report(result.problems, err=False)
    ctx.exit(code)


@cli.command("moderate")
@workspace_option
@click.option("--log", "show_log", is_flag=True, help="Print every moderation decision recorded, oldest first.")
@click.pass_context
def moderate_command(ctx: click.Context, workspace: Path | None, show_log: bool) -> None:
    """Write or refresh moderation.xlsx: the panel's moderated ratings and case grades (issue 14)."""
    from .moderation import history_lines, moderation_history, write_moderation

    ws = workspace_from(ctx, workspace)
    cycle = load_cycle_for(ws)
    if show_log:
        decisions = moderation_history(ws, cycle)
        if emit_json(ctx, {"decisions": decisions}):
            return
        if not decisions:
            click.echo("No moderation decisions recorded yet.")
        for line in history_lines(cycle, decisions):
            click.echo(line)
        return
    result = write_moderation(ws, cycle)
    code = EXIT_ATTENTION if result.problems else EXIT_OK
    if emit_json(ctx, {"path": ws.relative(result.path), "rating_rows": result.rating_rows,
                       "grade_rows": result.grade_rows, "decisions": result.decisions,
                       "look_again": result.look_again, "recorded": result.recorded, "problems": result.problems,
                       "feedback": [ws.relative(p) for p in result.feedback]}):
        ctx.exit(code)
    click.secho(f"Moderation workbook written: {ws.relative(result.path)}", fg="green")
    click.echo(f"  {result.rating_rows} rating row(s), {result.grade_rows} case(s); {result.decisions} decision(s) "
               f"standing, {result.recorded} newly recorded.")
    for path in result.feedback:
        click.echo(f"Feedback to forward: {ws.relative(path)}")
    if result.look_again:
        click.secho(f"  {result.look_again} decision(s) to look at again: the agency's answer changed since "
                    "(see the Look again column).", fg="yellow")
    if result.problems:
        render_report(result.problems, err=False)
    ctx.exit(code)


@cli.command()
@workspace_option
@click.pass_context
def trend(ctx: click.Context, workspace: Path | None) -> None:
    """Follow the chain of previous rounds and write outbox/trend.xlsx: each standard, round by round."""
    from .trend import write_trend

    ws = workspace_from(ctx, workspace)
    cycle = load_cycle_for(ws)
    result = write_trend(ws, cycle)
    code = EXIT_ATTENTION if result.problems else EXIT_OK
    if emit_json(ctx, {"trend": ws.relative(result.path), "rounds": [r.label for r in result.rounds],
                       "table": result.table(), "problems": result.problems}):
        ctx.exit(code)
    for line in result.table():
        click.echo(line)
    if result.problems:
        render_report(result.problems, err=False)
    click.secho(f"Trend workbook ({len(result.rounds)} round(s)): {ws.relative(result.path)}", fg="green")
    ctx.exit(code)
@cli.command("close")
@workspace_option
@click.option("--confirm", is_flag=True, help="Act: remove and scrub as listed (without it, only list what would be done).")
@click.option("--force", is_flag=True, help="Close although forms are outstanding or files in inbox/ are not ingested.")
@click.option("--now", "now_reason", metavar="REASON", default=None,
              help="Close before the retention date (or with none decided); REASON is recorded.")
@click.option("--by", "by", metavar="NAME", default="", help="Who is closing the round, for the closure record.")
@click.pass_context
def close_command(ctx: click.Context, workspace: Path | None, confirm: bool, force: bool, now_reason: str | None,
                  by: str) -> None:
    """Close the round: remove the files that name children, scrub the rest, keep every figure and a record."""
    from .closing import close_round

    ws = workspace_from(ctx, workspace)
    cycle = load_cycle_for(ws)
    result = close_round(ws, cycle, confirm=confirm, force=force, now_reason=now_reason, by=by)
    code = EXIT_ATTENTION if result.refused else EXIT_OK
    if emit_json(ctx, {
        "confirmed": result.confirmed, "already_closed": bool(result.already_closed), "resumed": result.resumed,
        "remove": result.remove, "keep": result.keep, "change": result.change, "problems": result.problems,
        "record": ws.relative(result.record_path) if result.record_path else None, "closed_at": result.closed_at,
    }):
        ctx.exit(code)
    _show_closing(ws, result)
    ctx.exit(code)


def _show_closing(ws: Workspace, result) -> None:
    if result.already_closed:
        click.echo(f"This round is already closed (on {result.already_closed['finished_at']}); "
                   f"the record is {ws.relative(result.record_path)}.")
        return
    done = result.confirmed
    click.echo(f"{'Removed' if done else 'Would remove'} {len(result.remove)} file(s):")
    for rel in result.remove:
        click.echo(f"  - {rel}")
    click.echo(f"{'Changed' if done else 'Would change'}:")
    for line in result.change:
        click.echo(f"  * {line}")
    click.echo(f"{'Kept' if done else 'Would keep'} {len(result.keep)} file(s):")
    for rel in result.keep:
        click.echo(f"  = {rel}")
    if result.problems:
        click.secho("Closing would be refused:" if not done else "Warnings:", fg="red" if not done else "yellow")
        render_report(result.problems, err=False)
    if done:
        click.secho(f"Round closed{' (finishing a closure that was cut short)' if result.resumed else ''}. "
                    f"Closure record: {ws.relative(result.record_path)}", fg="green")
    elif not result.refused:
        click.echo("Nothing has been changed. Run 'case-audit close --confirm' to do this.")


@cli.command()
@click.argument("folder", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--rounds", type=click.IntRange(1, 2), default=1, show_default=True,
              help="2: also run a themed 2016-17 neglect round started from the first with init --from.")
@click.pass_context
def demo(ctx: click.Context, folder: Path | None, rounds: int) -> None:
    """Run the whole year on the shipped 2015-16 example (simulated returns) in FOLDER."""
    from .demo import run_demo

    quiet = wants_json(ctx)
    result = run_demo(folder, step=None if quiet else (lambda msg: click.echo(f"- {msg}...")), rounds=rounds)
    ws = result.workspace
    if emit_json(ctx, {"workspace": str(ws.root), "steps": [{"step": a, "result": b} for a, b in result.steps],
                       "outputs": {what: str(where) for what, where in result.outputs}}):
        return
    for step, outcome in result.steps:
        click.echo(f"  {step}: {outcome}")
    click.secho(f"Demo workspace: {ws.root}", fg="green")
    for what, where in result.outputs:
        click.echo(f"  {what + ':':<28} {where}")
    click.echo("Open the report in Word, or run 'case-audit status --chase' in that folder.")


@cli.command("publish")
@workspace_option
@click.option("--report", "report", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Publish this report instead of the one of ours saved last in outbox/report/.")
@click.pass_context
def publish_command(ctx: click.Context, workspace: Path | None, report: Path | None) -> None:
    """Write the report as an accessible PDF and web page beside it, and check them (the .docx is not changed)."""
    from .accessibility import summary_line
    from .publish import publish

    ws = workspace_from(ctx, workspace)
    result = publish(ws, report)
    code = EXIT_ATTENTION if result.problems.errors else EXIT_OK
    written = [p for p in (result.pdf, result.html) if p is not None]
    if emit_json(ctx, {"report": ws.relative(result.report), "written": [ws.relative(p) for p in written],
                       "contents_renumbered": result.contents_renumbered, "problems": result.problems}):
        ctx.exit(code)
    click.echo(f"Published {ws.relative(result.report)} (not changed):")
    for path in written:
        click.secho(f"  {ws.relative(path)}", fg="green")
    if result.contents_renumbered:
        click.echo("  The PDF's contents page numbers were set from its own pages (the report's were missing or "
                   "had moved).")
    click.echo(summary_line(list(result.problems)))
    if result.problems:
        render_report(result.problems, err=False)
    ctx.exit(code)


def main() -> None:
    cli(prog_name="case-audit")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
