"""Does every command cost the same per form at 5,000 forms as at 1,000?

    python benchmarks/bench_scale.py [--small 60] [--large 300] [--agencies 17]

Two synthetic cycles (`--small` and `--large` cases x `--agencies` agencies,
every agency in every case: about 1,000 and 5,000 audit forms), each in a
fresh process, run the pipeline's stages as the officer would:

  generate-forms       first run, every form written
  generate-forms again re-run with nothing to write (what a case added mid-cycle costs)
  ingest               every form returned filled in, read, recorded, moved
  build-report         the report, learning log and results workbook from those returns

and prints, per stage, the cost per form at each size and the ratio large/small,
in CPU time of the process (judged) and wall-clock time (shown beside: on a
machine shared with other work it varies with the load more than with the
code). Target (issue 11): every ratio <= 1.3 - linear, not quadratic. Also prints each
process's peak memory, and how long the untimed setup took (the agencies
filling their forms in, done on every core at once between the timed stages:
it used to be a third of the run). Not a test: exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.measure import peak_rss_mb  # noqa: E402

STAGES = ("generate-forms", "generate-forms again", "ingest", "build-report")
TARGET_RATIO = 1.3


_FILL: dict = {}


def cpu_seconds() -> float:
    """CPU time of this process and of any it waited for (a LibreOffice conversion, say); Windows: this process."""
    try:
        import resource
    except ImportError:
        return time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _fill_init(cycle) -> None:
    _FILL["cycle"] = cycle


def _fill_one(job: tuple[Path, Path, bool, int]) -> None:
    """One agency filling its form in, as Word saves it (in a worker process)."""
    from benchmarks.bench_ingest import answers, summary
    from pipeline.ooxml.controls import fill_controls

    blank, target, audit, n = job
    values = answers(_FILL["cycle"], n) if audit else summary(n)
    target.write_bytes(fill_controls(blank.read_bytes(), values))


def fill_forms(ws, cycle, written) -> None:
    """Every issued form filled in and dropped into the inbox, on every core (not timed: it comes before ingest)."""
    from concurrent.futures import ProcessPoolExecutor

    from pipeline.forms import FormKind

    jobs = [(ws.root / form.path, ws.inbox / Path(form.path).name, form.kind is FormKind.AUDIT, n)
            for n, form in enumerate(written)]
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1, initializer=_fill_init, initargs=(cycle,)) as pool:
        for _ in pool.map(_fill_one, jobs, chunksize=32):
            pass


def run_stages(root: Path, cases: int, agencies: int) -> dict:
    """In this process: the four stages on a fresh synthetic workspace; seconds per stage and form counts."""
    from benchmarks.synthetic import synthetic_cycle
    from pipeline.forms import generate_forms
    from pipeline.ingest import ingest_inbox
    from pipeline.report import build_report
    from pipeline.workspace import Workspace

    cycle = synthetic_cycle(cases=cases, agencies=agencies)
    ws = Workspace(root)
    ws.ensure_folders()
    seconds: dict[str, float] = {}
    cpu: dict[str, float] = {}

    def timed(stage: str, run):
        wall, busy = time.perf_counter(), cpu_seconds()
        result = run()
        seconds[stage], cpu[stage] = time.perf_counter() - wall, cpu_seconds() - busy
        return result

    generated = timed("generate-forms", lambda: generate_forms(ws, cycle))
    again = timed("generate-forms again", lambda: generate_forms(ws, cycle))
    assert not again.written, "a re-run wrote forms again"

    t = time.perf_counter()
    fill_forms(ws, cycle, generated.written)  # the agencies fill their forms in (not timed)
    setup = time.perf_counter() - t

    ingested = timed("ingest", lambda: ingest_inbox(ws, cycle))
    timed("build-report", lambda: build_report(ws, cycle))
    return {"forms": len(generated.written), "ingested": len(ingested.files), "seconds": seconds, "cpu": cpu,
            "setup": setup, "peak_mb": peak_rss_mb()}


def measure(cases: int, agencies: int) -> dict:
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([sys.executable, __file__, "--child", str(cases), str(agencies), str(Path(tmp) / "ws")],
                              check=True, capture_output=True, text=True)
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "total": time.perf_counter() - t}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=60, help="cases in the small cycle")
    parser.add_argument("--large", type=int, default=300, help="cases in the large cycle")
    parser.add_argument("--agencies", type=int, default=17)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        cases, agencies, root = args.child
        print(json.dumps(run_stages(Path(root), int(cases), int(agencies))))
        return 0

    small, large = measure(args.small, args.agencies), measure(args.large, args.agencies)
    print(f"forms: {small['forms']} and {large['forms']} "
          f"({args.small} and {args.large} cases x {args.agencies} agencies, with summaries)")
    print(f"{'stage':22} {'CPU per form: small':>20} {'large':>10} {'ratio':>7}   "
          f"{'wall per form: small':>21} {'large':>10} {'ratio':>6}")
    ok = True
    for stage in STAGES:
        cpu_small, cpu_large = (run["cpu"][stage] / run["forms"] * 1000 for run in (small, large))
        wall_small, wall_large = (run["seconds"][stage] / run["forms"] * 1000 for run in (small, large))
        ratio = cpu_large / max(cpu_small, 1e-9)
        met = ratio <= TARGET_RATIO
        ok &= met
        print(f"{stage:22} {cpu_small:17.3f} ms {cpu_large:7.3f} ms {ratio:6.2f}x   {wall_small:18.3f} ms "
              f"{wall_large:7.3f} ms {wall_large / max(wall_small, 1e-9):5.2f}x   {'met' if met else 'NOT met'}")
    print(f"target: every CPU ratio <= {TARGET_RATIO}x ({'met' if ok else 'NOT met'}); the wall-clock ratios are "
          "shown beside them, but on a shared machine they measure its load as much as the code")
    for label, run in (("small", small), ("large", large)):
        totals = ", ".join(f"{s} {run['seconds'][s]:.1f} s ({run['cpu'][s]:.1f} s CPU)" for s in STAGES)
        peak = f"{run['peak_mb']:.0f} MB" if run["peak_mb"] else "not measurable here"
        print(f"{label}: {totals}; peak memory {peak}; untimed: filling the forms in {run['setup']:.1f} s, "
              f"whole process {run['total']:.1f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
