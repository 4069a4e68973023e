"""Simulated progress for the demo's second round (issue 13): agencies fill in their action progress forms.

`fill_progress_forms(ws, written)` puts into `inbox/` a filled copy of each progress form
`generate_progress_forms` wrote, as an agency would send it back: in turn, an action is
complete (with evidence of impact), on track, at risk or overdue, each with a line of
progress, so the second report and the tracker show every status.

Public API: `simulated_update(action_id, n)`, `fill_progress_forms(ws, written, store) -> list[Path]`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from . import contract
from .forms import WrittenForm
from .models import ActionStatus
from .ooxml.controls import fill_controls
from .store import Store
from .workspace import Workspace

_TABLE = contract.PROGRESS.actions
# (status, progress, evidence of impact), taken in turn
_PATTERN = (
    (ActionStatus.COMPLETE, "Done: the change is in place across the service.",
     "A dip sample of recent cases shows the change in practice in most of them."),
    (ActionStatus.ON_TRACK, "Under way: about half done, the rest planned for next quarter.", ""),
    (ActionStatus.AT_RISK, "Delayed by staffing changes; a new lead has been named.", ""),
    (ActionStatus.OVERDUE, "Not finished by the date agreed; a revised plan goes to the sub-group.", ""),
)


def simulated_update(action_id: str, n: int) -> dict[str, str]:
    """The controls an agency fills for its `n`th action (0-based), by tag."""
    status, progress, evidence = _PATTERN[n % len(_PATTERN)]
    values = {_TABLE.answer("status").tag(action_id): status.value,
              _TABLE.answer("progress").tag(action_id): progress}
    if evidence:
        values[_TABLE.answer("evidence").tag(action_id)] = evidence
    return values


def fill_progress_forms(ws: Workspace, written: Iterable[WrittenForm], store: Store) -> list[Path]:
    """A filled copy of each progress form written, saved in the inbox under the form's own file name."""
    saved = []
    for form in written:
        values: dict[str, str] = {}
        for n, action_id in enumerate(store.issued_actions(form.form_id)):
            values.update(simulated_update(action_id, n))
        target = ws.inbox / Path(form.path).name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(fill_controls((ws.root / form.path).read_bytes(), values))
        saved.append(target)
    return saved
