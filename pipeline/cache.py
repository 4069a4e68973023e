"""What the commands can keep between runs instead of working it out again, always keyed by its inputs.

- `code_fingerprint()`: a sha256 of the package's own source, part of every key,
  so that an upgraded (or edited) case-audit never trusts what an older one kept.
- `load_cycle_cached(ws)`: the cycle workbook as read by `workbook.load_cycle`,
  kept in `.case-audit/cycle.json` under the sha256 of the workbook's bytes.
  Reading cycle.xlsx means loading openpyxl (and numpy with it) and parsing
  every sheet: most of what `case-audit status` used to spend starting up.
  Only a workbook without errors is kept (one with errors raises as before,
  every time); any change to the file is a new key, so it is read again.
- `load_cycle_plain(ws)`: the same kept copy as plain read-only data, for what
  only reads the cycle (`status`): loading pydantic and building the models was
  most of what `status` still spent starting up.

The kept cycle names children, as the store beside it does: it stays in the
workspace's private `.case-audit/` folder. A cache that cannot be read or
written (read-only share, damaged file) is simply not used.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from datetime import date
from pathlib import Path
from typing import Any, Optional

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


def _key(path: Path) -> Optional[str]:
    try:
        return hashlib.sha256(code_fingerprint().encode() + Path(path).read_bytes()).hexdigest()
    except OSError:
        return None  # unreadable here: load_cycle says why, in its own words


def _kept(cache: Path, key: Optional[str]) -> Optional[bytes]:
    """The kept cycle's JSON, when it was kept under `key`."""
    if key is None:
        return None
    try:
        kept_key, _, kept = cache.read_bytes().partition(b"\n")  # the key's line, then the cycle as JSON
    except OSError:
        return None
    return kept if kept_key.decode("ascii", "replace") == key else None


def load_cycle_cached(ws: Workspace, path: Path):
    """`workbook.load_cycle(path)`, from `.case-audit/cycle.json` when the workbook is byte for byte the one kept."""
    from .models import Cycle

    cache = ws.state_dir / CYCLE_CACHE_NAME
    key = _key(path)
    kept = _kept(cache, key)
    if kept is not None:
        try:
            return Cycle.model_validate_json(kept)
        except ValueError:  # pydantic's ValidationError is a ValueError
            pass
    from .workbook import load_cycle

    cycle = load_cycle(path)
    if key is not None and ws.state_dir.is_dir():
        write_cache(cache, key.encode("ascii") + b"\n" + cycle.model_dump_json().encode("utf-8"))
    return cycle


class Plain:
    """A kept model's fields as read-only attributes (nested objects are `Plain` too, lists are tuples)."""

    __slots__ = ("_fields",)

    def __init__(self, fields: dict[str, Any]):
        object.__setattr__(self, "_fields", fields)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._fields[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __repr__(self) -> str:
        return f"Plain({', '.join(self._fields)})"


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return Plain({k: _plain(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_plain(v) for v in value)
    return value


def _as_date(value: Optional[str]) -> Optional[date]:
    return date.fromisoformat(value) if value else None


def plain_cycle(data: dict[str, Any]) -> Plain:
    """A cycle dumped as JSON (`Cycle.model_dump(mode="json")`) as plain data: every field under its name, tuples
    for lists, and the dates as dates (the deadline, the retention date, the actions' due dates); enums stay their
    values and the `Cycle` methods are not there. Enough for what only reads the cycle."""
    settings = dict(data["settings"], return_deadline=_as_date(data["settings"].get("return_deadline")),
                    keep_personal_data_until=_as_date(data["settings"].get("keep_personal_data_until")))
    actions = [dict(a, due=_as_date(a.get("due"))) for a in data.get("learning_actions", ())]
    agency_actions = [dict(a, due=_as_date(a.get("due"))) for a in data.get("agency_actions", ())]
    return _plain(dict(data, settings=settings, learning_actions=actions, agency_actions=agency_actions))


def load_cycle_plain(ws: Workspace, path: Path):
    """The cycle for what only reads it (`status`): the kept copy as `plain_cycle` data, without loading pydantic;
    when there is none for this workbook (or it cannot be read), `load_cycle_cached` (the models, and keeps it)."""
    kept = _kept(ws.state_dir / CYCLE_CACHE_NAME, _key(path))
    if kept is not None:
        try:
            return plain_cycle(json.loads(kept))
        except (ValueError, TypeError, KeyError, AttributeError):  # damaged: read and kept again below
            pass
    return load_cycle_cached(ws, path)


def write_cache(path: Path, data: bytes) -> None:
    """Replace a kept file whole, best effort: no fsync (it can always be worked out again), errors ignored."""
    tmp = path.with_name(f".~{path.name}.{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
