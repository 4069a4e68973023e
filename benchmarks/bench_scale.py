"""Does every command cost the same per form at 5,000 forms as at 1,000?

    python benchmarks/bench_scale.py [--small 60] [--large 300] [--agencies 17]

Two synthetic cycles (`--small` and `--large` cases x `--agencies` agencies,
every agency in every case: about 1,000 and 5,000 audit forms), each in a
fresh process, run the pipeline's stages as the officer would:

  generate-forms       first run, every form written
  generate-forms again re-run with nothing to write (what a case added mid-cycle costs)
  ingest               every form returned filled in, read, recorded, moved
  build-report         the report, learning log and results workbook from those returns

and prints, per stage, the cost per form at each size and the ratio large/small.
Target (issue 11): every ratio <= 1.3 - linear, not quadratic. Also prints each
process's peak memory. Not a test: exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
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


def run_stages(root: Path, cases: int, agencies: int) -> dict:
    """In this process: the four stages on a fresh synthetic workspace; seconds per stage and form counts."""
    from benchmarks.bench_ingest import answers, summary
    from benchmarks.synthetic import synthetic_cycle
    from pipeline.forms import FormKind, generate_forms
    from pipeline.ingest import ingest_inbox
    from pipeline.ooxml.controls import fill_controls
    from pipeline.report import build_report
    from pipeline.workspace import Workspace

    cycle = synthetic_cycle(cases=cases, agencies=agencies)
    ws = Workspace(root)
    ws.ensure_folders()
    seconds = {}
    t = time.perf_counter()
    generated = generate_forms(ws, cycle)
    seconds["generate-forms"] = time.perf_counter() - t
    forms = len(generated.written)
    t = time.perf_counter()
    again = generate_forms(ws, cycle)
    seconds["generate-forms again"] = time.perf_counter() - t
    assert not again.written, "a re-run wrote forms again"

    for n, form in enumerate(generated.written):  # agencies fill their forms in (not timed)
        blank = (ws.root / form.path).read_bytes()
        values = answers(cycle, n) if form.kind is FormKind.AUDIT else summary(n)
        (ws.inbox / Path(form.path).name).write_bytes(fill_controls(blank, values))

    t = time.perf_counter()
    ingested = ingest_inbox(ws, cycle)
    seconds["ingest"] = time.perf_counter() - t
    t = time.perf_counter()
    build_report(ws, cycle)
    seconds["build-report"] = time.perf_counter() - t
    return {"forms": forms, "ingested": len(ingested.files), "seconds": seconds, "peak_mb": peak_rss_mb()}


def measure(cases: int, agencies: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run([sys.executable, __file__, "--child", str(cases), str(agencies), str(Path(tmp) / "ws")],
                              check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


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
    print(f"{'stage':22} {'per form (small)':>17} {'per form (large)':>17} {'ratio':>7}")
    ok = True
    for stage in STAGES:
        per_small = small["seconds"][stage] / small["forms"] * 1000
        per_large = large["seconds"][stage] / large["forms"] * 1000
        ratio = per_large / per_small
        met = ratio <= TARGET_RATIO
        ok &= met
        print(f"{stage:22} {per_small:14.3f} ms {per_large:14.3f} ms {ratio:6.2f}x  "
              f"{'met' if met else 'NOT met'} (target <= {TARGET_RATIO}x)")
    for label, run in (("small", small), ("large", large)):
        totals = ", ".join(f"{s} {run['seconds'][s]:.1f} s" for s in STAGES)
        peak = f"{run['peak_mb']:.0f} MB" if run["peak_mb"] else "not measurable here"
        print(f"{label}: {totals}; peak memory {peak}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
