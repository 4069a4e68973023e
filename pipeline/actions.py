"""The actions a round raises, tracked until they are done (issue 13).

Learning actions (Table 1, owned by a named lead) and agency actions
(Appendix 3, owned by the agency) are one list of `TrackedAction`s here: a
stable action ID, owner, due date, the status recorded in the cycle workbook
and the latest progress an agency sent back on a progress form. Their status
as the board sees it (`effective_status`) is the latest one given, except that
an action past its due date and not Complete counts as Overdue.

Numbers only: the counts a report passage or the tracker's summary sheet
states are `ActionFigures`; sentences are in `wording.py`.

Public API: `tracked_actions(cycle, updates, today)`, `effective_status`,
`open_actions(cycle, ...)`, `open_actions_to_carry(cycle, ...)` (for
`init --from`), `action_figures(actions)`, `latest_updates(returns)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional, Sequence, Union

from .kinds import ActionStatus

if TYPE_CHECKING:  # plain `status` lists overdue actions from the kept plain cycle, without pydantic
    from .models import ActionUpdate, AgencyAction, Cycle, LearningAction

LEARNING, AGENCY = "learning", "agency"
STATUS_ORDER = (ActionStatus.COMPLETE, ActionStatus.ON_TRACK, ActionStatus.AT_RISK, ActionStatus.OVERDUE,
                ActionStatus.NOT_STARTED)
# RAG as boards colour their trackers (the tracker's conditional formatting and the report use these).
RAG = {ActionStatus.COMPLETE: "blue", ActionStatus.ON_TRACK: "green", ActionStatus.AT_RISK: "amber",
       ActionStatus.OVERDUE: "red", ActionStatus.NOT_STARTED: "grey"}


@dataclass(frozen=True)
class LatestProgress:
    """The newest update an agency sent for one action, and when and in which file it arrived."""

    update: "ActionUpdate"  # or the store's plain `ProgressUpdate` (the same fields)
    received_at: Optional[datetime]
    source_file: str = ""


@dataclass(frozen=True)
class TrackedAction:
    """One action, learning or agency, with everything the tracker, the forms and the report show about it."""

    action_id: str
    kind: str  # LEARNING | AGENCY
    text: str
    owner: str
    agency: str  # the agency code for an agency action; "" for a learning action
    due: Optional[date]
    recorded_status: Optional[ActionStatus]  # as typed in the cycle workbook
    progress: str  # as typed in the cycle workbook
    evidence: str
    round_raised: str
    status: ActionStatus  # as the board sees it today: latest given, Overdue when past due and not complete
    latest: Optional[LatestProgress] = None
    number: Optional[int] = None  # the learning point's number (Table 1)

    @property
    def complete(self) -> bool:
        return self.status is ActionStatus.COMPLETE

    @property
    def latest_progress(self) -> str:
        return self.latest.update.progress if self.latest and self.latest.update.progress else self.progress

    @property
    def latest_evidence(self) -> str:
        return self.latest.update.evidence if self.latest and self.latest.update.evidence else self.evidence

    @property
    def latest_date(self) -> Optional[date]:
        return self.latest.received_at.date() if self.latest and self.latest.received_at else None


def effective_status(given: Optional[ActionStatus], due: Optional[date], today: date) -> ActionStatus:
    """The status the board sees: Complete stays Complete; past its due date otherwise, Overdue; else as given."""
    if given is ActionStatus.COMPLETE:
        return given
    if due is not None and due < today:
        return ActionStatus.OVERDUE
    return given or ActionStatus.NOT_STARTED


def latest_updates(returns: Iterable[Any]) -> dict[str, LatestProgress]:
    """Each action's newest update, from progress returns in the order received (a later one wins): the models
    (`ProgressReturn`) or the store's plain records (`progress_returns(plain=True)`), which have the same fields."""
    found: dict[str, LatestProgress] = {}
    for ret in returns:
        for update in ret.updates:
            if update.status is None and not update.progress and not update.evidence:
                continue
            found[update.action_id] = LatestProgress(update, ret.received_at, ret.source_file)
    return found


def _status_of(recorded: Optional[ActionStatus], latest: Optional[LatestProgress]) -> Optional[ActionStatus]:
    if latest is not None and latest.update.status is not None:
        return ActionStatus(latest.update.status)
    return recorded


def _tracked(action: Union["LearningAction", "AgencyAction"], latest: Optional[LatestProgress],
             today: date) -> TrackedAction:
    """From the models or the kept plain cycle (`cache.plain_cycle`: its statuses are the enum's values)."""
    recorded = ActionStatus(action.status) if action.status else None
    given = _status_of(recorded, latest)
    if hasattr(action, "learning_point"):  # a LearningAction
        text = "; ".join(action.actions) or action.learning_point
        return TrackedAction(action.action_id, LEARNING, text, action.owner, "", action.due, recorded,
                             action.progress, action.evidence, action.round_raised,
                             effective_status(given, action.due, today), latest, action.number)
    if given is None and action.completed:
        given = ActionStatus.COMPLETE
    return TrackedAction(action.action_id, AGENCY, action.action, action.owner or action.agency, action.agency,
                         action.due, recorded, action.progress, action.evidence, action.round_raised,
                         effective_status(given, action.due, today), latest)


def tracked_actions(cycle: "Cycle", updates: Mapping[str, LatestProgress] | None = None,
                    today: Optional[date] = None) -> list[TrackedAction]:
    """Every action of the cycle, learning actions first (Table 1 order), then agency actions (Appendix 3 order)."""
    today = today or date.today()
    updates = updates or {}
    found = [_tracked(a, updates.get(a.action_id), today) for a in cycle.learning_actions]
    found += [_tracked(a, updates.get(a.action_id), today) for a in cycle.agency_actions]
    return found


def open_actions(cycle: "Cycle", updates: Mapping[str, LatestProgress] | None = None,
                 today: Optional[date] = None, agency: Optional[str] = None) -> list[TrackedAction]:
    """The agency actions not yet complete (of one agency, if given): what a progress form asks about."""
    return [a for a in tracked_actions(cycle, updates, today)
            if a.kind == AGENCY and not a.complete and (agency is None or a.agency == agency)]


def agencies_with_open_actions(cycle: "Cycle", updates: Mapping[str, LatestProgress] | None = None,
                               today: Optional[date] = None) -> list[str]:
    """Agency codes (Agencies sheet order) that have an open action: the agencies sent a progress form."""
    wanted = {a.agency for a in open_actions(cycle, updates, today)}
    return [a.code for a in cycle.agencies if a.code in wanted]


def carried_open_actions(cycle: "Cycle", today: Optional[date] = None) -> list[TrackedAction]:
    """Open actions raised in an earlier round than this cycle: `generate-forms` then also writes progress forms."""
    return [a for a in tracked_actions(cycle, today=today) if not a.complete and a.round_raised
            and a.round_raised != cycle.settings.cycle_id]


def open_actions_to_carry(cycle: "Cycle", updates: Mapping[str, LatestProgress] | None = None,
                          today: Optional[date] = None) -> tuple[list["LearningAction"], list["AgencyAction"]]:
    """The actions `init --from` carries into the next round's workbook: every one not complete.

    Each keeps its ID, owner, due date, round raised and evidence, with its latest progress and status
    folded in (an Overdue derived from the date is not written down: the next round derives it again).
    """
    tracked = {a.action_id: a for a in tracked_actions(cycle, updates, today)}
    learning, agency = [], []
    for la in cycle.learning_actions:
        t = tracked[la.action_id]
        if not t.complete:
            learning.append(la.model_copy(update=_carried(t)))
    for aa in cycle.agency_actions:
        t = tracked[aa.action_id]
        if not t.complete:
            agency.append(aa.model_copy(update=_carried(t)))
    return learning, agency


def _carried(t: TrackedAction) -> dict:
    given = _status_of(t.recorded_status, t.latest)
    return {"status": given, "progress": t.latest_progress, "evidence": t.latest_evidence,
            "round_raised": t.round_raised}


def completed_since(previous: Sequence[TrackedAction], current: Sequence[TrackedAction]) -> list[TrackedAction]:
    """Actions raised in an earlier round that were open at its end and are complete now (the report lists them)."""
    was_open = {a.action_id for a in previous if not a.complete}
    return [a for a in current if a.action_id in was_open and a.complete]


# --- figures ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionFigures:
    """How many actions stand where: the numbers the report's 'Progress on actions' passage and the tracker state."""

    total: int
    by_status: tuple[tuple[ActionStatus, int], ...]  # STATUS_ORDER, every status present (0 included)
    by_agency: tuple[tuple[str, tuple[tuple[ActionStatus, int], ...]], ...]  # agency code ("" = board) -> counts
    overdue_by_agency: tuple[tuple[str, tuple[str, ...]], ...]  # agency code -> overdue action IDs
    completed_since: tuple[str, ...] = ()  # IDs of earlier rounds' actions completed since

    def count(self, status: ActionStatus) -> int:
        return dict(self.by_status)[status]

    def as_numbers(self) -> dict[str, int]:
        """The figures as the narrative's staleness check compares them."""
        numbers = {"actions": self.total, **{f"actions {s.value.lower()}": n for s, n in self.by_status}}
        if self.completed_since:
            numbers["actions completed since"] = len(self.completed_since)
        return numbers


def _counts(actions: Iterable[TrackedAction]) -> tuple[tuple[ActionStatus, int], ...]:
    actions = list(actions)
    return tuple((s, sum(1 for a in actions if a.status is s)) for s in STATUS_ORDER)


def action_figures(actions: Sequence[TrackedAction], since: Sequence[TrackedAction] = ()) -> ActionFigures:
    owners = list(dict.fromkeys(a.agency for a in actions))
    return ActionFigures(
        total=len(actions),
        by_status=_counts(actions),
        by_agency=tuple((o, _counts(a for a in actions if a.agency == o)) for o in owners),
        overdue_by_agency=tuple((o, tuple(a.action_id for a in actions if a.agency == o
                                          and a.status is ActionStatus.OVERDUE))
                                for o in owners if any(a.agency == o and a.status is ActionStatus.OVERDUE
                                                       for a in actions)),
        completed_since=tuple(a.action_id for a in since),
    )


def actions_figure(figures: ActionFigures):
    """The 'Progress on actions' passage's figure, as the narrative's staleness check compares it."""
    from .findings import Figure

    counts = dict(figures.by_status)
    return Figure("actions", (), (figures.total, counts[ActionStatus.COMPLETE], counts[ActionStatus.ON_TRACK],
                                  counts[ActionStatus.AT_RISK], counts[ActionStatus.OVERDUE],
                                  counts[ActionStatus.NOT_STARTED], len(figures.completed_since)))
