"""The demo's second round: a themed 2016-17 neglect round, started from the 2015-16 example with `init --from`.

Everything an officer would do, in order: `init --from` the first round; fill
in the new workbook (round name, theme, deadline, six neglect cases, KLOE 5 left
out of the round); generate the forms; SIMULATED agency returns (not real
audit data, labelled as such in every answer) chosen so that some standards go
up, some go down and most stay about the same; ingest; build the report (which
compares the two rounds); write the trend workbook.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Callable

from .models import Cycle, FormKind, RatingKind
from .workspace import Workspace

ROUND_NAME = "2016-17 neglect round"
THEME = "Neglect"
DEADLINE = date(2017, 2, 24)
LEFT_OUT_KLOES = (5,)  # supervision is not part of this themed round
SIMULATED = "SIMULATED answer for the case-audit demo, not real audit data:"
# Invented children for the second round's invented cases (none shares a name part with round one's).
CASES = [
    ("NG-01", "Elin Dychmygus", ["CCG", "POLICE", "CSWS", "EDU"]),
    ("NG-02", "Kasia Zmyslona", ["HEFT", "CSWS", "SCH"]),
    ("NG-03", "Imran Farzani", ["POLICE", "CSWS", "EDU", "SIAS"]),
    ("NG-04", "Niamh Ficteoir", ["CCG", "CSWS", "VOL"]),
    ("NG-05", "Oskar Udawany", ["HEFT", "POLICE", "CSWS", "EY"]),
    ("NG-06", "Yusuf Naqlee", ["CSWS", "EDU", "SCH"]),
]


def prepare_second_round(ws: Workspace) -> None:
    """What the officer types into the carried workbook: round, theme, deadline, cases, the round's KLOEs."""
    import openpyxl

    from . import workbook as W

    book = openpyxl.load_workbook(ws.cycle_path)
    settings = book[W.SETTINGS]
    wanted = {W.SETTING_NAMES["round_name"]: ROUND_NAME, W.SETTING_NAMES["theme"]: THEME,
              W.SETTING_NAMES["return_deadline"]: DEADLINE}
    for row in settings.iter_rows(min_row=2):
        if row[0].value in wanted:
            row[1].value = wanted[row[0].value]
    cases = book[W.CASES]
    codes = [c.value for c in cases[1]][3:]
    for ref, child, involved in CASES:
        cases.append([ref, "Neglect", child] + ["Y" if code in involved else "N" for code in codes])
    kloes = book[W.KLOES]
    column = [c.value for c in kloes[1]].index(W.HEADERS[W.KLOES]["in_round"]) + 1
    for row in kloes.iter_rows(min_row=2):
        if row[0].value in LEFT_OUT_KLOES:
            kloes.cell(row[0].row, column, "No")
    book.save(ws.cycle_path)


def targets(cycle: Cycle, previous) -> dict[int, int]:
    """How many of the six cases meet each standard: the first round's share, except the two standards it
    met least (now met in every case: up) and the two it met most (now met in two or fewer cases: down)."""
    n = len(CASES)
    shares = {}
    for s in cycle.standards:
        try:
            f = previous.findings.standard(s.number)
        except KeyError:
            continue
        shares[s.number] = f.cases_met / f.cases_assessed if f.cases_assessed else 0.5
    ranked = sorted(shares, key=lambda k: (shares[k], k))
    out = {k: int(round(v * n)) for k, v in shares.items()}
    for k in ranked[:2]:
        out[k] = n
    for k in ranked[-2:]:
        out[k] = max(0, int(round(shares[k] * n)) - 4)
    return out


def simulated_second_round(ws: Workspace, cycle: Cycle, written, previous) -> int:
    """Fill each issued form with simulated answers and drop it into inbox/, as the officer saves attachments."""
    from .example_returns import SimulatedAnswer, SimulatedForm, SimulatedSummary, audit_values, summary_values
    from .ooxml.controls import fill_controls

    met = next(o for o in cycle.rating_scale.options if o.kind is RatingKind.MET)
    not_met = next(o for o in cycle.rating_scale.options if o.kind is RatingKind.NOT_MET)
    goal = targets(cycle, previous)
    order = {ref: i for i, (ref, _, _) in enumerate(CASES)}
    count = 0
    for form in written:
        if form.kind is FormKind.SUMMARY:
            values = summary_values(SimulatedSummary(
                cycle_id=cycle.settings.cycle_id, agency=form.agency,
                improvements=f"{SIMULATED} earlier recognition of neglect, using the graded care profile.",
                partnership=f"{SIMULATED} joint visits with health visitors where neglect is suspected."))
        else:
            answers = []
            for s in cycle.standards:
                ok = order.get(form.case_ref, 0) < goal.get(s.number, len(CASES) // 2)
                answers.append(SimulatedAnswer(
                    standard=s.number, kind=(met if ok else not_met).kind, rating_label=(met if ok else not_met).label,
                    evidence=f"{SIMULATED} {s.finding_met}." if ok else "",
                    reason="" if ok else f"{SIMULATED} {s.finding_not_met or 'the standard was not met'}."))
            values = audit_values(SimulatedForm(cycle_id=cycle.settings.cycle_id, agency=form.agency,
                                                case_ref=form.case_ref or "", answers=tuple(answers)))
        target = ws.inbox / "returned-by-email" / Path(form.path).name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(fill_controls((ws.root / form.path).read_bytes(), values))
        count += 1
    return count


def run_second_round(first: Workspace, folder: Path, say: Callable[[str], None]):
    """Round two, from `first`: (its workspace, steps, outputs)."""
    from . import forms, ingest, progress
    from .problems import ProblemReport
    from .moderation import simulate_moderation
    from .progress_demo import fill_progress_forms
    from .report import build_report
    from .rounds import read_round, start_round
    from .store import Store
    from .trend import write_trend
    from .workbook import load_cycle

    steps: list[tuple[str, str]] = []
    say("Starting the 2016-17 neglect round from 2015-16 (init --from)")
    carried = start_round(folder, first.root)
    ws = carried.workspace
    steps.append(("init --from", f"{ws.root.name}: toolkit, agencies and open actions carried"))
    prepare_second_round(ws)
    cycle = load_cycle(ws.cycle_path)
    steps.append(("check (round 2)", f"{len(cycle.cases)} neglect cases, {len(cycle.kloes)} KLOEs, "
                                     f"{len(cycle.standards)} standards in the round"))
    say("Generating the second round's forms")
    generated = forms.generate_forms(ws, cycle)
    steps.append(("generate-forms (round 2)", f"{len(generated.written)} forms written"))
    say("Simulating the second round's returns (clearly labelled simulated answers)")
    previous = read_round(first.root, ProblemReport())
    returned = simulated_second_round(ws, cycle, generated.written, previous)
    steps.append(("simulated returns (round 2)", f"{returned} filled forms dropped into inbox/"))
    say("Asking for progress on the actions carried forward (simulated progress forms)")
    written = progress.generate_progress_forms(ws, cycle).written
    with Store.open(ws.store_path) as store:
        filled = fill_progress_forms(ws, written, store)
    steps.append(("generate-forms --actions (round 2)", f"{len(written)} action progress forms written, "
                                                        f"{len(filled)} filled in (simulated) and dropped into inbox/"))
    say("Ingesting the second round's returns")
    steps.append(("ingest (round 2)", ingest.ingest_inbox(ws, cycle).totals_line()))
    say("Moderating the second round (simulated panel decisions and case grades)")
    moderation = simulate_moderation(ws, cycle, decided_on=date(2016, 12, 5))
    steps.append(("moderate (round 2)", f"{ws.relative(moderation)}: simulated decisions and grades recorded"))
    say("Building the second round's report, compared with 2015-16")
    built = build_report(ws, cycle)
    steps.append(("build-report (round 2)", f"report written to {ws.relative(built.path)}"))
    say("Writing the trend across both rounds")
    trend = write_trend(ws, cycle)
    steps.append(("trend", f"{len(trend.rounds)} rounds, {len(trend.rows)} standards"))
    outputs = [("Round 2 workspace", ws.root), ("Round 2 report", built.path), ("Round 2 moderation", moderation),
               ("Trend workbook", trend.path)]
    return ws, steps, outputs
