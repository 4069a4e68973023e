"""Benchmark ingest on a synthetic cycle of 60 cases x 17 agencies (about 1,000 returned forms).

    python3 benchmarks/bench_ingest.py [--cases 60] [--agencies 17] [--keep DIR]

Every issued form is filled programmatically (the way Word saves a filled form:
ratings, evidence, some "not met" with reasons, a few gaps) and dropped into the
inbox. Reports, in one run:
  floor           median CPU ms for a raw zipfile + lxml parse of each returned file's document part
  floor (parts)   the same for every part the reader parses (package rels, custom properties, document)
  parse+validate  median CPU ms of read_return alone (identity, register check, fields, validation), against
                  the issued-forms register as ingest reads it (loaded once per run, not a query per file)
  end to end      median ms per form of the real ingest run (archive with fsync, parse, validate,
                  one durable SQLite commit per file, move), timed between progress calls
  results.xlsx    the one-off rebuild of the results workbook at the end of the run
  peak memory     the process's peak resident set (MB)
The end-to-end run also gets --big returns in place of ordinary ones (half of them 5 MB of pasted
photos with long answers, to be accepted; half 50 MB of pasted formatting, to be refused unread),
so the peak covers what agencies may send.
Targets (issue 11): parse+validate <= 2.5x the document floor, end to end <= 5 ms per form
(median), peak <= 300 MB. Each is printed as met or NOT met; the exit status is 1 when one is missed.
Not a test: timings vary by machine and disk. Floor and parse are measured
interleaved, file by file, in CPU time (the ratio is the fair figure on a busy machine); end to
end is wall time between progress calls (it includes the disk's fsyncs), its CPU time printed beside it.
"""

from __future__ import annotations

import argparse
import io
import random
import re
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.measure import peak_rss_mb  # noqa: E402

from lxml import etree  # noqa: E402

from benchmarks.synthetic import synthetic_cycle  # noqa: E402
from pipeline.forms import FormKind, generate_forms  # noqa: E402
from pipeline.ingest import KnownForms, ingest_inbox  # noqa: E402
from pipeline.ooxml.controls import fill_controls, replace_parts  # noqa: E402
from pipeline.results import write_results  # noqa: E402
from pipeline.returns import Outcome, read_return  # noqa: E402
from pipeline.store import Store  # noqa: E402
from pipeline.workspace import Workspace  # noqa: E402

READER_PARTS = ("_rels/.rels", "docProps/custom.xml", "word/document.xml")  # the parts read_return parses


def floor_parse(data: bytes, parts=("word/document.xml",)) -> None:
    zf = zipfile.ZipFile(io.BytesIO(data))
    for part in parts:
        etree.fromstring(zf.read(part))


def answers(cycle, n: int) -> dict:
    """Varied, realistic answers; every 10th form leaves a gap so validation has work to do."""
    values = {}
    for s in cycle.standards:
        pick = (n + s.number) % 7
        if pick == 0:
            values[f"ca:rating:S{s.number}"] = "Not met"
            values[f"ca:reason:S{s.number}"] = f"Standard {s.number} was not met: the record does not show it.\nSee the chronology."
        else:
            values[f"ca:rating:S{s.number}"] = "Met or exceeded"
            values[f"ca:evidence:S{s.number}"] = (f"Evidence for standard {s.number}: the case file records a multi-agency "
                                                  f"meeting, the plan and the child's views (entry {n}).")
    if n % 10 == 0:
        values[f"ca:rating:S{cycle.standards[-1].number}"] = ""
    return values


def summary(n: int) -> dict:
    return {"ca:summary:improvements": f"Improvement {n}", "ca:summary:partnership": "Share minutes sooner.",
            "ca:summary:comments": ""}


_WORDS = "the practitioner recorded the child's views and shared the plan with school health and police".split()


def long_answers(cycle, n: int, chars: int = 15000) -> dict:
    """Every standard met, with evidence running to `chars` characters (the longest an answer may be is 20,000)."""
    values = {}
    for s in cycle.standards:
        words = [_WORDS[(n + s.number + i) % len(_WORDS)] for i in range(chars // 6)]
        values[f"ca:rating:S{s.number}"] = "Met or exceeded"
        values[f"ca:evidence:S{s.number}"] = "\n".join(" ".join(words[k:k + 50]) for k in range(0, len(words), 50))
    return values


def with_photos(data: bytes, megabytes: int) -> bytes:
    """Photos of case notes pasted in: incompressible media parts, which the reader never parses."""
    return replace_parts(data, {f"word/media/photo{i}.png": b"\x89PNG\r\n\x1a\n" + random.Random(i).randbytes(2**20)
                                for i in range(megabytes)})


def with_pasted_formatting(data: bytes, runs_per_answer: int = 20000) -> bytes:
    """Pages pasted from another document into every evidence box: a run per word, each with its own formatting.

    Written as bytes: building it as a tree here would cost the very memory the benchmark measures.
    """
    doc = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml")
    runs = b"".join(b'<w:r><w:rPr><w:rFonts w:ascii="Arial" w:hAnsi="Arial"/><w:color w:val="%06X"/></w:rPr>'
                    b"<w:t>%s </w:t></w:r>" % (i * 2654435761 % 16777216, _WORDS[i % len(_WORDS)].encode())
                    for i in range(runs_per_answer))
    pasted = re.sub(rb'(<w:tag w:val="ca:evidence:S\d+"/>.*?<w:sdtContent>)', lambda m: m.group(1) + runs, doc)
    return replace_parts(data, {"word/document.xml": pasted})


MAX_PARSE_RATIO = 2.5  # parse + validate, against the document floor
MAX_END_TO_END_MS = 5.0  # median per form
MAX_PEAK_MB = 300
MAX_RUN_S = 120  # the whole benchmark, on 2 shared cores


# Floor and parse are timed in CPU time: on shared cores, wall time counts other processes' turns.
clock = time.process_time


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def ms(samples: list[float]) -> str:
    s = sorted(samples)
    return f"{statistics.median(s) * 1000:.2f} ms median, p90 {s[int(len(s) * 0.9)] * 1000:.2f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=60)
    parser.add_argument("--agencies", type=int, default=17)
    parser.add_argument("--keep", type=Path, help="build the workspace here instead of a temporary folder")
    parser.add_argument("--big", type=int, default=6, help="big returns sent in place of ordinary ones (default 6)")
    args = parser.parse_args()
    started = time.perf_counter()
    cycle = synthetic_cycle(cases=args.cases, agencies=args.agencies)

    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(args.keep or Path(tmp) / "ws")
        ws.ensure_folders()
        t = time.perf_counter()
        generated = generate_forms(ws, cycle)
        generate_s = time.perf_counter() - t
        returned: list[tuple[str, bytes]] = []
        for n, form in enumerate(generated.written):
            blank = (ws.root / form.path).read_bytes()
            values = answers(cycle, n) if form.kind is FormKind.AUDIT else summary(n)
            returned.append((Path(form.path).name, fill_controls(blank, values)))
        size = statistics.median(len(d) for _, d in returned)
        doc_size = statistics.median(len(zipfile.ZipFile(io.BytesIO(d)).read("word/document.xml")) for _, d in returned)

        # parse + validate alone, interleaved with the floors on the same bytes
        floor, floor_all, parse = [], [], []
        outcomes = {o: 0 for o in Outcome}
        with Store.open(ws.store_path) as store:
            register = KnownForms(store, settle=lambda: None)
            for name, data in returned:
                t0 = clock()
                floor_parse(data)
                t1 = clock()
                floor_parse(data, READER_PARTS)
                t2 = clock()
                outcome = read_return(data, filename=name, cycle=cycle, register=register)
                t3 = clock()
                floor.append(t1 - t0)
                floor_all.append(t2 - t1)
                parse.append(t3 - t2)
                outcomes[outcome.outcome] += 1

        # the real run, end to end, with some big returns in place of ordinary ones
        audit_forms = [i for i, form in enumerate(generated.written) if form.kind is FormKind.AUDIT]
        chosen = audit_forms[:: max(1, len(audit_forms) // max(args.big, 1))][: args.big]
        big = {}
        for k, i in enumerate(chosen):
            blank = (ws.root / generated.written[i].path).read_bytes()
            big[i] = (with_photos(fill_controls(blank, long_answers(cycle, i)), 5) if k % 2 == 0
                      else with_pasted_formatting(returned[i][1]))
        big_sizes = sorted(len(d) / 2**20 for d in big.values())
        for i, (name, data) in enumerate(returned):
            (ws.inbox / name).write_bytes(big.pop(i, data))
        marks: list[tuple[float, float]] = []
        t = time.perf_counter()
        result = ingest_inbox(ws, cycle, progress=lambda done, total: marks.append((time.perf_counter(), clock())))
        run_s = time.perf_counter() - t
        end_to_end = [b[0] - a[0] for a, b in zip(marks, marks[1:])]
        end_to_end_cpu = [b[1] - a[1] for a, b in zip(marks, marks[1:])]
        with Store.open(ws.store_path) as store:
            (ws.state_dir / "results.digest").unlink(missing_ok=True)  # else it is found up to date, not rebuilt
            t = time.perf_counter()
            write_results(ws, cycle, store)
            results_s = time.perf_counter() - t

    n = len(returned)
    floor_med, floor_all_med, parse_med = (statistics.median(x) for x in (floor, floor_all, parse))
    print(f"synthetic cycle: {args.cases} cases x {args.agencies} agencies -> {n} returned forms "
          f"({sum(1 for w in generated.written if w.kind is FormKind.AUDIT)} audit + "
          f"{sum(1 for w in generated.written if w.kind is FormKind.SUMMARY)} summary); "
          f"{size / 1024:.0f} KB per file, document part {doc_size / 1024:.0f} KB; generated in {generate_s:.1f} s")
    print(f"read outcomes:            {', '.join(f'{o.value} {c}' for o, c in outcomes.items())}")
    print(f"floor (document part):    {ms(floor)}  (CPU time, as parse + validate)")
    print(f"floor (parts it parses):  {ms(floor_all)}")
    ratio, e2e_ms, peak = parse_med / floor_med, statistics.median(end_to_end) * 1000, peak_rss_mb()
    met = {"parse": ratio <= MAX_PARSE_RATIO, "end to end": e2e_ms <= MAX_END_TO_END_MS,
           "peak": peak is None or peak <= MAX_PEAK_MB, "benchmark time": True}
    print(f"parse + validate:         {ms(parse)}  ({ratio:.2f}x the document floor, "
          f"{parse_med / floor_all_med:.2f}x the parts floor; target <= {MAX_PARSE_RATIO}x the document floor: "
          f"{verdict(met['parse'])})")
    print(f"end to end per form:      {ms(end_to_end)}  (target <= {MAX_END_TO_END_MS:g} ms median: "
          f"{verdict(met['end to end'])}; archive + fsync, parse, validate, one durable commit per file, move; "
          f"CPU {statistics.median(end_to_end_cpu) * 1000:.2f} ms median)")
    print(f"ingest run:               {run_s:.1f} s for {n} files, {result.totals_line()} "
          f"(includes feedback and results.xlsx)")
    print(f"results.xlsx rebuild:     {results_s:.2f} s ({n} returns)")
    print(f"big returns in the run:   {len(big_sizes)} ({', '.join(f'{mb:.1f}' for mb in big_sizes)} MB): "
          "photos with long answers accepted, pasted formatting refused unread")
    print(f"peak memory (max RSS):    {peak:.0f} MB for {n} forms incl. the big ones (target <= {MAX_PEAK_MB} MB: "
          f"{verdict(met['peak'])})" if peak else "peak memory: not measurable on this OS")
    took = time.perf_counter() - started
    met["benchmark time"] = took < MAX_RUN_S
    print(f"benchmark run:            {took:.0f} s (target < {MAX_RUN_S} s: {verdict(met['benchmark time'])})")
    missed = [name for name, ok in met.items() if not ok]
    print(f"targets: {'all met' if not missed else 'NOT met: ' + ', '.join(missed)}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
