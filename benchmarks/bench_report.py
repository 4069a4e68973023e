"""How long `build-report` takes, and how much memory it needs, for a ~1,000-form cycle.

    python benchmarks/bench_report.py [--cases 100] [--agencies-per-case 10] [--keep DIR]

Target (from the issue): under 5 s, peak memory at most 400 MB.

A synthetic cycle: the shipped example's toolkit (5 KLOEs, 22 standards, 11
agencies) with 100 invented cases, each audited by 10 agencies: 1,000 audit
returns plus 11 summary forms, recorded in a real workspace store the way
ingest records them. Timed, separately:

1. the first build (report, learning log, results.xlsx with summary sheets);
2. a rebuild after the comms team edited a passage (narrative read back and
   carried over, a second report version written).

Each build runs in a fresh process, timed stage by stage (the stages
build_report runs, in its order) and then end to end. Not a test: timings
depend on the machine. Peak memory is the process's maximum resident set
(Linux/macOS), imports included.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from docx import Document  # noqa: E402

from pipeline.models import (  # noqa: E402
    Answer,
    AuditReturn,
    Case,
    FormIdentity,
    FormKind,
    RatingKind,
    SummaryReturn,
)
from pipeline.report import build_report  # noqa: E402
from pipeline.store import ReceivedFile, Store  # noqa: E402
from pipeline.workbook import load_cycle  # noqa: E402
from pipeline.workspace import init_workspace  # noqa: E402

SYLLABLES = ["ka", "ri", "vo", "len", "dra", "mi", "sor", "tel", "quin", "bar", "zu", "nev", "ost", "ya", "pel"]
EVIDENCE = ["Minutes show the agency attended and contributed.", "The record shows a timely referral with consent.",
            "Supervision notes show the child at the centre of decisions.", "The plan was reviewed at each meeting."]
REASONS = ["No record of the meeting was received.", "Feedback was not chased after the referral.",
           "Supervision was not held within the expected interval.", "The voice of the child is not recorded."]


def invented_name(rng: random.Random) -> str:
    def word(n):
        return "".join(rng.choice(SYLLABLES) for _ in range(n)).capitalize()
    return f"{word(2)} {word(3)}"


def synthetic(cycle, n_cases: int, per_case: int, seed: int = 2016):
    rng = random.Random(seed)
    codes = [a.code for a in cycle.agencies]
    areas = [p.name for p in cycle.priority_areas]
    cases = tuple(Case(ref=f"S-{i:03d}", priority_area=areas[i % len(areas)], child_name=invented_name(rng),
                       agencies=tuple(sorted(rng.sample(codes, min(per_case, len(codes))), key=codes.index)))
                  for i in range(1, n_cases + 1))
    cycle = cycle.model_copy(update={"cases": cases})
    returns = []
    for case in cases:
        for code in case.agencies:
            answers = []
            for s in cycle.standards:
                roll = rng.random()
                if roll < 0.72:
                    answers.append(Answer(standard=s.number, rating=RatingKind.MET, rating_label="Met or exceeded",
                                          evidence=rng.choice(EVIDENCE)))
                elif roll < 0.95 or not s.na_allowed:
                    answers.append(Answer(standard=s.number, rating=RatingKind.NOT_MET, rating_label="Not met",
                                          reason=rng.choice(REASONS)))
                else:
                    answers.append(Answer(standard=s.number, rating=RatingKind.NOT_APPLICABLE,
                                          rating_label="Not applicable", reason="The agency does not do this."))
            returns.append(AuditReturn(
                identity=FormIdentity(form_id=f"F-{code}-{case.ref}", cycle_id=cycle.settings.cycle_id, agency=code,
                                      kind=FormKind.AUDIT, case_ref=case.ref),
                answers=tuple(answers), source_file=f"{code}_{case.ref}.docx"))
    summaries = [SummaryReturn(identity=FormIdentity(form_id=f"F-{a.code}-summary", cycle_id=cycle.settings.cycle_id,
                                                     agency=a.code, kind=FormKind.SUMMARY),
                               improvements="Refresh training on thresholds.\nAudit supervision records.",
                               partnership="Share minutes within five working days.",
                               source_file=f"{a.code}_summary.docx")
                 for a in cycle.agencies]
    return cycle, returns, summaries


def record(ws, returns, summaries) -> None:
    """Put the returns in the workspace store as ingest would (not timed)."""
    start = datetime(2016, 1, 4, 9, 0)
    with Store.open(ws.store_path) as store:
        with store.transaction() as conn:
            for i, ret in enumerate([*returns, *summaries]):
                rec = ReceivedFile(sha256=f"{i:064x}", original_path=ret.source_file, archive_name=f"{i}.docx",
                                   size=20000, received_at=start + timedelta(minutes=i), outcome="accepted",
                                   message="accepted", form_id=ret.identity.form_id, agency=ret.identity.agency,
                                   case_ref=ret.identity.case_ref, kind=ret.identity.kind.value)
                file_id = store.record_received_file(rec, conn)
                store.record_return(file_id, ret.model_copy(update={"received_at": rec.received_at}), conn)


def peak_rss_mb() -> float | None:
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / 1024 if sys.platform == "darwin" else peak / 1024


def measure(root: Path, cases: int, per_case: int, with_results: bool) -> dict:
    """In a fresh process: one build, timed stage by stage as build_report runs them, then end to end."""
    from pipeline.findings import compute_findings
    from pipeline.report import latest_report
    from pipeline.report.build import render_report
    from pipeline.report.learning_log import write_learning_log
    from pipeline.report.narrative import read_previous
    from pipeline.workspace import Workspace, atomic_write_bytes

    ws = Workspace(root)
    cycle, _, _ = synthetic(load_cycle(ws.cycle_path), cases, per_case)
    times = {}
    t = time.perf_counter()
    with Store.open(ws.store_path) as store:
        returns, summaries, issued = store.current_audit_returns(cycle), store.current_summary_returns(), []
    times["read the store"] = time.perf_counter() - t
    t = time.perf_counter()
    findings = compute_findings(cycle, returns, summaries, issued)
    times["findings"] = time.perf_counter() - t
    t = time.perf_counter()
    latest = latest_report(ws.report_dir)
    previous = read_previous(latest) if latest else None
    data, _ = render_report(ws, cycle, findings, previous, output_name="x.docx")
    atomic_write_bytes(root / "timing-copy.docx", data)
    times["report (render, narrative, privacy scan, write)"] = time.perf_counter() - t
    t = time.perf_counter()
    write_learning_log(ws, cycle)
    times["learning log"] = time.perf_counter() - t
    if with_results:
        from pipeline.report.excel import summary_sheet_writer
        from pipeline.results import write_results
        t = time.perf_counter()
        with Store.open(ws.store_path) as store:
            write_results(ws, cycle, store, extra_sheets=[summary_sheet_writer(findings)])
        times["results.xlsx (all sheets)"] = time.perf_counter() - t
    (root / "timing-copy.docx").unlink()
    t = time.perf_counter()
    result = build_report(ws, cycle, write_results=with_results)
    times["build_report end to end"] = time.perf_counter() - t
    return {"times": times, "peak_mb": peak_rss_mb(), "path": result.path.name, "carried": result.carried,
            "size_kb": round(result.path.stat().st_size / 1024)}


def run_measure(root: Path, args, with_results: bool) -> dict:
    cmd = [sys.executable, __file__, "--measure", str(root), "--cases", str(args.cases),
           "--agencies-per-case", str(args.agencies_per_case)] + ([] if with_results else ["--no-results"])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def show(title: str, m: dict) -> None:
    print(f"\n{title}: {m['path']} ({m['size_kb']} KB)" + (f", narrative carried: {', '.join(m['carried'])}"
                                                          if m["carried"] else ""))
    for stage, seconds in m["times"].items():
        print(f"  {stage:<50} {seconds:6.2f} s")
    print(f"  {'peak memory (whole process, imports included)':<50} "
          + (f"{m['peak_mb']:6.0f} MB" if m["peak_mb"] is not None else "   n/a"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100)
    parser.add_argument("--agencies-per-case", type=int, default=10)
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it (default: a temporary one)")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--no-results", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.cases, args.agencies_per_case, not args.no_results)))
        return 0

    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-report-"))
    if root.exists():
        shutil.rmtree(root)
    ws = init_workspace(root, example=True)
    cycle, returns, summaries = synthetic(load_cycle(ws.cycle_path), args.cases, args.agencies_per_case)
    record(ws, returns, summaries)
    print(f"cycle: {len(cycle.cases)} cases, {len(cycle.agencies)} agencies, {len(cycle.standards)} standards; "
          f"{len(returns)} audit returns + {len(summaries)} summary forms")

    first = run_measure(root, args, with_results=True)
    show("first build", first)
    latest = sorted(ws.report_dir.glob("overview-report*.docx"))[-1]
    doc = Document(str(latest))
    at = next(i for i, p in enumerate(doc.paragraphs) if p.style.name == "Heading 2" and p.text.startswith("KLOE 2:"))
    doc.paragraphs[at + 1].text = "Wording rewritten by the communications team."
    doc.save(str(latest))
    again = run_measure(root, args, with_results=True)
    show("rebuild after a narrative edit", again)
    report_only = run_measure(root, args, with_results=False)
    show("rebuild without results.xlsx (the report, its narrative and the learning log)", report_only)

    worst = max(first["times"]["build_report end to end"], again["times"]["build_report end to end"])
    peak = max((m["peak_mb"] or 0) for m in (first, again))
    ok = worst < 5 and peak <= 400
    print(f"\ntarget (< 5 s, <= 400 MB): {'met' if ok else 'NOT met'} (slowest build {worst:.2f} s, peak {peak:.0f} MB)")
    if args.keep is None:
        shutil.rmtree(root, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
