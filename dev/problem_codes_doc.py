"""Write docs/problem-codes.md from the catalogue in pipeline/problem_codes.py.

    python dev/problem_codes_doc.py          # rewrite the file
    python dev/problem_codes_doc.py --check  # exit 1 if it is out of date (tests/test_problem_codes.py does this)
"""

from __future__ import annotations

import argparse
import string
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.problem_codes import CODES, Code  # noqa: E402

DOC = ROOT / "docs" / "problem-codes.md"

AREAS = {
    "workbook": "The cycle workbook (`check` and every command that reads it)",
    "forms": "Issuing forms (`generate-forms`)",
    "template": "Form templates (`generate-forms`)",
    "file": "Returned files that are not a readable form (`ingest`)",
    "return": "Returned forms (`ingest`; listed by `status` and in the agency's feedback)",
    "ingest": "The ingest run itself",
    "report": "The overview report (`build-report`)",
    "learning-log": "The learning log (`build-report`)",
    "store": "The workspace's record store",
    "workspace": "The workspace folder",
    "environment": "The computer saying no (any command; exit code 1)",
    "init": "Starting a cycle (`init`)",
    "install": "The installation",
    "demo": "The demo (`demo`)",
    "round": "A round of an audit programme: the previous round carried forward and compared (`init --from`, "
             "`check`, `build-report`)",
    "trend": "The trend across rounds (`trend`)",
    "publish": "Publishing the report as PDF and web page (`publish`)",
    "accessibility": "The accessibility check (`publish` and `build-report`)",
}

HEAD = """# Problem codes

Generated from `pipeline/problem_codes.py` by `python dev/problem_codes_doc.py`; do not edit by hand.

Every problem case-audit reports has a stable **code** (`area.what`), a
**severity** (`error`: the input cannot be used as it is; `warning`: it was
used, but someone should look), a message saying what is wrong and a fix
saying what to do. In the tables, `{name}` stands for what is filled in for
each problem: `{file}`, `{location}` (sheet and cell, table and standard)
and `{value}` (what was found) are also given as separate fields. Some codes
are raised with a more specific message than the one shown; the code and
its meaning stay the same.

Marks: **note** - needs nothing doing, the return is accepted as it is;
**tells agency** - the agency's feedback says it even though the return is
accepted; **rejects** - the return is rejected whatever else it holds;
**agency told** - what the agency's feedback asks them to do instead of the
officer's fix; **rolled up** - one line per file gathered into the code named
before anyone sees it.

## `--json`

Every command takes `--json`. Problems always have this shape:

```json
{"code": "workbook.duplicate-case-ref", "message": "...", "fix": "...",
 "file": "cycle.xlsx", "location": "Cases!A7", "value": "N-01", "severity": "error"}
```

(`file`, `location` and `value` may be `null`). A command that stops prints
`{"ok": false, "summary": "...", "problems": [...]}` and exits 2 (invalid
input) or 1 (the computer said no: full disk, file open in Word or Excel).
A command that finishes prints its own result, problems included:
`check` gives `{"ok", "problems", "summary"}`; `generate-forms` its result
with the warnings under `"problems": {"problems": [...]}`; `ingest` a
`"problems"` list for each file, `"results_problem"` (one problem or `null`)
and the run's own `"problems"`; `build-report` `"problems"`.
"""


def shown(template: str) -> str:
    """A template as the reader should see it: `{name}` kept, doubled braces undone, table-safe."""
    out = []
    for literal, name, spec, conv in string.Formatter().parse(template):
        out.append(literal)
        if name is not None:
            out.append("{" + name + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}")
    return "".join(out).replace("|", "\\|").replace("\n", " ")


def marks(code: Code) -> str:
    said = []
    if code.note:
        said.append("**note**")
    if code.tell_agency:
        said.append("**tells agency**")
    if code.rejects:
        said.append("**rejects**")
    if code.rolls_up_into:
        said.append(f"**rolled up** into `{code.rolls_up_into}`")
    if code.agency_advice:
        said.append(f"**agency told**: {shown(code.agency_advice)}")
    return "<br>".join(said)


def render() -> str:
    lines = [HEAD]
    areas = sorted({c.area for c in CODES}, key=lambda a: list(AREAS).index(a) if a in AREAS else len(AREAS))
    lines.append("## Codes\n")
    lines.append(" | ".join(f"[{a}](#{a})" for a in areas) + f" ({len(CODES)} codes)\n")
    for area in areas:
        lines.append(f"### {area}\n")
        lines.append(AREAS.get(area, area) + ".\n")
        lines.append("| code | severity | what it means | what to do | |")
        lines.append("|---|---|---|---|---|")
        for c in sorted((c for c in CODES if c.area == area), key=lambda c: c.code):
            lines.append(f"| `{c.code}` | {c.severity.value} | **{shown(c.title)}**: {shown(c.message)} "
                         f"| {shown(c.fix)} | {marks(c)} |")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/problem-codes.md is out of date")
    args = parser.parse_args()
    text = render()
    current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    if args.check:
        if current != text:
            print(f"{DOC.relative_to(ROOT)} is out of date: run python dev/problem_codes_doc.py", file=sys.stderr)
            return 1
        return 0
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(text, encoding="utf-8", newline="\n")
    print(f"wrote {DOC.relative_to(ROOT)} ({len(CODES)} codes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
