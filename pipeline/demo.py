"""The whole year on the shipped 2015-16 example, with simulated agency returns.

Runs exactly what an officer runs - init, check, generate-forms, ingest,
build-report - with one extra step standing in for the agencies: each issued
form is filled in (clearly labelled simulated answers) and dropped into the
inbox, the way a returned email attachment would be.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from .workspace import Workspace, init_workspace

DEFAULT_DEMO_FOLDER = "case-audit-demo"


@dataclass
class DemoResult:
    workspace: Workspace
    steps: list[tuple[str, str]] = field(default_factory=list)  # (step, what came out)
    outputs: list[tuple[str, Path]] = field(default_factory=list)  # (what, where)


def free_demo_folder(base: Path) -> Path:
    """`case-audit-demo`, or `case-audit-demo-2`... so a second demo never touches the first."""
    candidate, n = base, 2
    while candidate.exists() and any(candidate.iterdir()):
        candidate = base.with_name(f"{base.name}-{n}")
        n += 1
    return candidate


def run_demo(folder: Optional[Path] = None, *, step: Callable[[str], None] | None = None,
             rounds: int = 1) -> DemoResult:
    from . import forms, ingest, workbook

    say = step or (lambda _msg: None)
    if folder is None:
        folder = free_demo_folder(Path.cwd() / DEFAULT_DEMO_FOLDER)
    ws = init_workspace(folder, example=True)
    result = DemoResult(ws)

    say("Loading the example cycle workbook")
    cycle = workbook.load_cycle(ws.cycle_path)
    summary = workbook.summarise(cycle)
    result.steps.append(("check", f"{len(cycle.cases)} cases, {len(cycle.agencies)} agencies, "
                                  f"{len(cycle.kloes)} KLOEs, {len(cycle.standards)} standards"))

    say("Generating the audit forms")
    generated = forms.generate_forms(ws, cycle)
    result.steps.append(("generate-forms", f"{len(generated.written)} forms written"))

    say("Simulating the agencies' returns (clearly labelled simulated answers)")
    returned = simulate_agency_returns(ws, cycle, generated)
    result.steps.append(("simulated returns", f"{returned} filled forms dropped into inbox/"))

    say("Ingesting the returns")
    ingested = ingest.ingest_inbox(ws, cycle)
    result.steps.append(("ingest", ingested.totals_line()))

    say("Building the overview report")
    from .report import build_report

    built = build_report(ws, cycle)
    result.steps.append(("build-report", f"report written to {ws.relative(built.path)}"))

    result.outputs += [
        ("Cycle workbook", ws.cycle_path),
        ("Issued forms", ws.forms_dir),
        ("Returned forms (processed)", ws.inbox / "processed"),
        ("Results workbook", ws.results_path),
        ("Learning log", ws.learning_log_path),
        ("Overview report", built.path),
    ]
    from .publish import publish_in_demo
    publish_in_demo(ws, result, say)  # the report as PDF and web page (skipped, saying so, without LibreOffice)
    del summary
    if rounds > 1:
        from .demo_rounds import run_second_round

        _, steps, outputs = run_second_round(ws, ws.root.with_name(f"{ws.root.name}-2016-17"), say)
        result.steps += steps
        result.outputs += outputs
    return result


def simulate_agency_returns(ws: Workspace, cycle, generated) -> int:
    """Fill each issued form as its agency would and save it where the officer saves attachments."""
    from .example_returns import filled_forms

    count = 0
    for form, data in filled_forms(ws, cycle, generated.written):
        target = ws.inbox / "returned-by-email" / Path(form.path).name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        count += 1
    return count
