"""What the commands can keep between runs instead of working it out again, always keyed by its inputs.

- `code_fingerprint()`: a sha256 of the package's own source, part of every key,
  so that an upgraded (or edited) case-audit never trusts what an older one kept.
- `load_cycle_cached(ws)`: the cycle workbook as read by `workbook.load_cycle`,
  kept in `.case-audit/cycle.json` under the sha256 of the workbook's bytes.
  Reading cycle.xlsx means loading openpyxl (and numpy with it) and parsing
  every sheet: most of what `case-audit status` used to spend starting up.
  Only a workbook without errors is kept (one with errors raises as before,
  every time); any change to the file is a new key, so it is read again.

The kept cycle names children, as the store beside it does: it stays in the
workspace's private `.case-audit/` folder. A cache that cannot be read or
written (read-only share, damaged file) is simply not used.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

from .workspace import Workspace

CYCLE_CACHE_NAME = "cycle.json"
_CODE: list[str] = []


def code_fingerprint() -> str:
    """sha256 of every .py file of the package (read once per process)."""
    if not _CODE:
        h = hashlib.sha256()
        for path in sorted(Path(__file__).resolve().parent.rglob("*.py")):
            h.update(path.as_posix().rsplit("/pipeline/", 1)[-1].encode())
            h.update(path.read_bytes())
        _CODE.append(h.hexdigest())
    return _CODE[0]


def load_cycle_cached(ws: Workspace, path: Path):
    """`workbook.load_cycle(path)`, from `.case-audit/cycle.json` when the workbook is byte for byte the one kept."""
    from .models import Cycle

    cache = ws.state_dir / CYCLE_CACHE_NAME
    try:
        key = hashlib.sha256(code_fingerprint().encode() + Path(path).read_bytes()).hexdigest()
    except OSError:
        key = None  # unreadable here: load_cycle says why, in its own words
    if key is not None:
        try:
            kept_key, _, kept = cache.read_bytes().partition(b"\n")  # the key's line, then the cycle as JSON
            if kept_key.decode("ascii", "replace") == key:
                return Cycle.model_validate_json(kept)
        except (OSError, ValueError):  # pydantic's ValidationError is a ValueError
            pass
    from .workbook import load_cycle

    cycle = load_cycle(path)
    if key is not None and ws.state_dir.is_dir():
        write_cache(cache, key.encode("ascii") + b"\n" + cycle.model_dump_json().encode("utf-8"))
    return cycle


def write_cache(path: Path, data: bytes) -> None:
    """Replace a kept file whole, best effort: no fsync (it can always be worked out again), errors ignored."""
    tmp = path.with_name(f".~{path.name}.{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
