"""The `case-audit` command: options in, one library call, messages and exit codes out.

This is the one boundary where problems become text and exit codes:
0 done, 1 done but something needs the officer's attention / internal error,
2 invalid input. `--debug` shows the traceback of an internal error.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

import click

from .problems import CaseAuditError, ProblemReport, Severity
from .workspace import Workspace, init_workspace

EXIT_OK, EXIT_ATTENTION, EXIT_INVALID = 0, 1, 2


class State:
    def __init__(self, debug: bool, as_json: bool, workspace: Path | None = None):
        self.debug = debug
        self.as_json = as_json
        self.workspace = workspace


def workspace_from(ctx: click.Context, given: Path | None) -> Workspace:
    """-w may come before or after the command name; the nearer one wins; default the current folder."""
    state = ctx.find_object(State)
    return Workspace(given or (state.workspace if state else None) or Path("."))


def render_report(report: ProblemReport, *, err: bool = True) -> None:
    for problem in report:
        mark = "error" if problem.severity is Severity.ERROR else "warning"
        click.secho(f"  {mark}: ", fg="red" if mark == "error" else "yellow", nl=False, err=err)
        click.echo(problem.render(), err=err)


class Boundary(click.Group):
    """Turns CaseAuditError into a message and exit code; anything else into a short internal-error note."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except CaseAuditError as exc:
            state = ctx.find_object(State)
            if state and state.as_json:
                click.echo(json.dumps({"ok": False, "summary": exc.summary,
                                       "problems": [p.model_dump(mode="json") for p in exc.report]}, indent=2))
            else:
                click.secho(exc.summary, fg="red", err=True)
                render_report(exc.report)
            ctx.exit(exc.exit_code)
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
            else:
                click.secho(f"Internal error: {type(exc).__name__}: {exc}", fg="red", err=True)
                click.echo("This is a fault in case-audit, not in your files. Run again with --debug and send "
                           "the output to whoever supports the tool.", err=True)
            ctx.exit(EXIT_ATTENTION)


workspace_option = click.option(
    "--workspace", "-w", "workspace", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="The cycle's workspace folder (default: the current folder).",
)


@click.group(cls=Boundary, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show the full traceback of an internal error.")
@click.option("--json", "as_json", is_flag=True, help="Print problems and results as JSON.")
@workspace_option
@click.version_option(package_name="case-audit")
@click.pass_context
def cli(ctx: click.Context, debug: bool, as_json: bool, workspace: Path | None) -> None:
    """Multi-agency case audit for a Local Safeguarding Children Board."""
    ctx.obj = State(debug, as_json, workspace)


@cli.command()
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--example", is_flag=True, help="Fill the workbook with the shipped 2015-16 example cycle.")
@click.option("--force", is_flag=True, help="Use a folder that already has files in it (nothing there is changed).")
def init(folder: Path, example: bool, force: bool) -> None:
    """Start a new cycle in FOLDER with a cycle workbook to fill in Excel."""
    ws = init_workspace(folder, example=example, force=force)
    click.echo(f"Workspace ready: {ws.root}")
    click.echo(f"  Next: open {ws.cycle_path.name} in Excel, fill in the sheets, then run 'case-audit check' there.")


def load_cycle_for(ws: Workspace):
    """Every command but init starts here: a valid cycle workbook or exit 2 with its problems."""
    from .workbook import load_cycle

    return load_cycle(ws.require_cycle())


def emit_json(ctx: click.Context, payload: dict) -> bool:
    state = ctx.find_object(State)
    if state and state.as_json:
        click.echo(json.dumps(payload, indent=2, default=str))
        return True
    return False


@cli.command()
@workspace_option
@click.pass_context
def check(ctx: click.Context, workspace: Path) -> None:
    """Validate the cycle workbook and summarise the forms it would produce."""
    from .workbook import read_cycle, summarise

    ws = workspace_from(ctx, workspace)
    result = read_cycle(ws.require_cycle())
    summary = summarise(result.cycle) if result.report.ok and result.cycle else None
    if emit_json(ctx, {"ok": result.report.ok, "problems": [p.model_dump(mode="json") for p in result.report],
                       "summary": summary.model_dump(mode="json") if summary else None}):
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


def main() -> None:
    cli(prog_name="case-audit")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
