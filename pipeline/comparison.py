"""The figures of "Compared with the previous audit": each standard in both rounds, then and now.

Numbers only (sentences are in `wording`). A standard is the same standard in
both rounds when its number and wording are the same (`Standard.identity`);
a reworded one is left out, and listed. Small numbers are treated honestly:
a standard has gone up or down only when the change amounts to more than
`SMALL_CHANGE_CASES` cases, set against this round's cases assessed
(`direction`); anything less is "about the same".
"""

from __future__ import annotations

from fractions import Fraction
from typing import Optional

from .findings import Figure, Findings, StandardFindings, figures_digest
from .models import CountingRule, Cycle, Model

SMALL_CHANGE_CASES = 2  # a change of one or two cases is "about the same"
UP, DOWN, SAME, NOT_COMPARED = "up", "down", "about the same", "not compared"


class StandardChange(Model):
    number: int
    kloe: int
    finding_met: str
    now_met: int
    now_assessed: int
    now_percent: int
    then_met: int
    then_assessed: int
    then_percent: int
    direction: str

    @property
    def cases_moved(self) -> Fraction:
        """Cases meeting it now, less what the previous round's share of today's cases would give."""
        return direction(self.now_met, self.now_assessed, self.then_met, self.then_assessed)[1]


class Comparison(Model):
    """This round against the previous one, standard by standard."""

    previous_cycle_id: str
    previous_cycle_name: str
    previous_round_name: str
    current_cycle_id: str
    previous_rule: CountingRule
    current_rule: CountingRule
    changes: tuple[StandardChange, ...]
    reworded: tuple[int, ...]  # in both rounds under the same number, worded differently: not compared
    new_standards: tuple[int, ...]  # not in the previous round at all
    digest: str

    @property
    def rule_changed(self) -> bool:
        return self.previous_rule is not self.current_rule

    @property
    def label(self) -> str:
        """How the previous round is named beside its figures ('2015-16')."""
        return self.previous_cycle_id


def direction(now_met: int, now_assessed: int, then_met: int, then_assessed: int) -> tuple[str, Fraction]:
    """Up, down, about the same (a change of at most two cases) or not compared (no case assessed in one round).

    The change is counted in this round's cases: how many more (or fewer) cases met the standard than
    the previous round's share of this round's cases assessed would give.
    """
    if now_assessed <= 0 or then_assessed <= 0:
        return NOT_COMPARED, Fraction(0)
    moved = now_met - Fraction(then_met * now_assessed, then_assessed)
    if abs(moved) <= SMALL_CHANGE_CASES:
        return SAME, moved
    return (UP if moved > 0 else DOWN), moved


def _change(now: StandardFindings, then: StandardFindings) -> StandardChange:
    way, _ = direction(now.cases_met, now.cases_assessed, then.cases_met, then.cases_assessed)
    return StandardChange(number=now.number, kloe=now.kloe, finding_met=now.finding_met, now_met=now.cases_met,
                          now_assessed=now.cases_assessed, now_percent=now.percent_met, then_met=then.cases_met,
                          then_assessed=then.cases_assessed, then_percent=then.percent_met, direction=way)


def compare(cycle: Cycle, findings: Findings, previous_cycle: Cycle, previous: Findings) -> Comparison:
    """`cycle` and `findings`: this round; `previous_cycle` and `previous`: the earlier one, as it was asked."""
    then_by_identity = {s.identity: s for s in previous_cycle.standards}
    then_numbers = {s.number for s in previous_cycle.standards}
    changes, reworded, new = [], [], []
    for standard in cycle.standards:
        earlier = then_by_identity.get(standard.identity)
        if earlier is None:
            (reworded if standard.number in then_numbers else new).append(standard.number)
            continue
        try:
            changes.append(_change(findings.standard(standard.number), previous.standard(earlier.number)))
        except KeyError:
            continue
    s = previous_cycle.settings
    made = dict(previous_cycle_id=s.cycle_id, previous_cycle_name=s.cycle_name, previous_round_name=s.round_name,
                current_cycle_id=cycle.settings.cycle_id, previous_rule=s.counting_rule,
                current_rule=cycle.settings.counting_rule,
                changes=tuple(changes), reworded=tuple(reworded), new_standards=tuple(new))
    digest = figures_digest([[c.number, c.now_met, c.now_assessed, c.then_met, c.then_assessed] for c in changes]
                            + [list(reworded), list(new)])
    return Comparison(**made, digest=digest)


def moved_most(comparison: Comparison) -> tuple[StandardChange, ...]:
    """The standard that went up the most cases and the one that went down the most (beyond the small-change
    rule), each only if there is one: the rise first."""
    picked = []
    for way in (UP, DOWN):
        moved = [c for c in comparison.changes if c.direction == way]
        if moved:
            picked.append(min(moved, key=lambda c: (-abs(c.cases_moved), c.number)))
    return tuple(picked)


def change_figure(c: StandardChange, label: str) -> Figure:
    return Figure("change", (c.number, label), (c.now_met, c.now_assessed, c.then_met, c.then_assessed))


def movement_figures(comparison: Optional[Comparison]) -> tuple[Figure, ...]:
    """The figures the Executive Summary's sentence on movement states."""
    if comparison is None:
        return ()
    return tuple(change_figure(c, comparison.label) for c in moved_most(comparison))
