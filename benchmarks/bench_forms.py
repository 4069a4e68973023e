"""Benchmark generate-forms on a synthetic cycle of 60 cases x 17 agencies (about 1,000 forms).

    python3 benchmarks/bench_forms.py [--cases 60] [--agencies 17] [--keep DIR]

Reports, in one run:
  floor          median ms to re-zip the shipped audit-form template unchanged
  build          median ms to make one form in memory (values in, custom properties, zip)
  generate       median ms per form of the real generate_forms run (build + atomic write with
                 fsync + register, timed between progress calls), and its total wall time
  render         ms to render the docxtpl template once per KLOE set
  peak memory    the process's peak resident set (MB)
Targets, printed met or NOT met; the script exits 1 when one is missed:
  build          <= 2x the floor per form (issue 11: generate-forms stays at the re-zip floor; the work
                 it does per form, against the floor measured in the same process: a busy machine
                 slows both alike)
  peak memory    <= 300 MB
Printed for reference, not judged: generate-forms end to end per form (5 ms on the reference machine);
it is mostly the fsync of each file, so it measures the disk and its load more than the code.
Not a test: timings vary by machine and disk.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.measure import peak_rss_mb  # noqa: E402

from benchmarks.synthetic import synthetic_cycle  # noqa: E402
from pipeline.contract import identity_properties  # noqa: E402
from pipeline.forms import FormKind, _Job, _values, generate_forms, render_base  # noqa: E402
from pipeline.models import FormIdentity  # noqa: E402
from pipeline.workspace import Workspace, shipped_template  # noqa: E402


def rezip(data: bytes) -> bytes:
    """The floor: read every part of the template and write it into a new zip, unchanged."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
    return out.getvalue()


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


TARGETS = (("build one form <= 2x the re-zip floor", 2.0, "x"), ("peak memory <= 300 MB", 300.0, "MB"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=60)
    parser.add_argument("--agencies", type=int, default=17)
    parser.add_argument("--keep", type=Path, help="write the workspace here instead of a temporary folder")
    args = parser.parse_args()

    cycle = synthetic_cycle(cases=args.cases, agencies=args.agencies)
    template = shipped_template("word", "audit-form.docx").read_bytes()
    all_kloes = tuple(k.number for k in cycle.kloes)

    floor = []
    for _ in range(500):
        t = time.perf_counter()
        rezip(template)
        floor.append(time.perf_counter() - t)

    t = time.perf_counter()
    base = render_base(template, cycle, FormKind.AUDIT, all_kloes, label="audit-form.docx")
    render_ms = (time.perf_counter() - t) * 1000

    build = []
    size = 0
    for case in cycle.cases:
        for code in case.agencies:
            t = time.perf_counter()
            job = _Job(code, FormKind.AUDIT, case, all_kloes, "", [])
            identity = FormIdentity(form_id="0123456789ABCDEF", cycle_id=cycle.settings.cycle_id, agency=code,
                                    case_ref=case.ref, kloes=all_kloes, fingerprint=cycle.fingerprint(all_kloes))
            data = base.build(_values(job, identity.form_id, cycle), identity_properties(identity))
            build.append(time.perf_counter() - t)
            size = len(data)

    marks: list[float] = []

    def progress(done: int, total: int) -> None:
        marks.append(time.perf_counter())

    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp) / "ws"
        ws = Workspace(root)
        ws.ensure_folders()
        t = time.perf_counter()
        result = generate_forms(ws, cycle, progress=progress)
        total_s = time.perf_counter() - t
        rerun_t = time.perf_counter()
        again = generate_forms(ws, cycle)
        rerun_s = time.perf_counter() - rerun_t
    per_form = [b - a for a, b in zip(marks, marks[1:])]
    n = len(result.written)

    floor_ms, build_ms, gen_ms = median_ms(floor), median_ms(build), median_ms(per_form)
    print(f"synthetic cycle: {args.cases} cases x {args.agencies} agencies -> {n} forms written "
          f"({sum(1 for w in result.written if w.kind is FormKind.AUDIT)} audit + "
          f"{sum(1 for w in result.written if w.kind is FormKind.SUMMARY)} summary), {size:,} bytes per audit form")
    print(f"floor (re-zip template unchanged): {floor_ms:.2f} ms")
    print(f"render template once per KLOE set: {render_ms:.0f} ms")
    print(f"build one form in memory:          {build_ms:.2f} ms median  ({build_ms / floor_ms:.2f}x floor)")
    print(f"generate-forms per form:           {gen_ms:.2f} ms median  ({gen_ms / floor_ms:.2f}x floor; "
          f"includes atomic write with fsync and the register)")
    print(f"generate-forms total:              {total_s:.2f} s for {n} forms ({total_s / max(n, 1) * 1000:.2f} ms mean)")
    print(f"re-run (nothing to write):         {rerun_s:.2f} s, {len(again.written)} written, {len(again.skipped)} skipped")
    peak = peak_rss_mb()
    print(f"peak memory (max RSS):             {peak:.0f} MB" if peak else "peak memory: not measurable on this OS")
    ok = True
    for (name, limit, unit), value in zip(TARGETS, (build_ms / floor_ms, peak)):
        if value is None:
            print(f"target {name}: not measured here")
            continue
        met = value <= limit
        ok &= met
        print(f"target {name}: {'met' if met else 'NOT met'} ({value:.2f}{'' if unit == 'x' else ' '}{unit})")
    print(f"reference, not judged: generate-forms {gen_ms:.2f} ms per form end to end (5 ms on the reference "
          "machine; mostly the fsync of each file)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
