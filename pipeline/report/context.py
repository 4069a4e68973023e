"""What the report template is given: the cycle's words, the findings' figures and `wording`'s sentences.

Every number here is read from `Findings` (nothing is counted again), every
sentence and label made from a number comes from `pipeline.wording`, and
every list comes from the cycle workbook in its own order, so Tables 1-3 and
Appendix 3 carry the workbook's rows cell for cell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any, Callable, Optional, Sequence

from .. import wording
from ..findings import (
    AgencyFindings,
    Findings,
    StandardFindings,
    attendance_figures,
    headline_figure,
    kloe_figures,
    methodology_figure,
    returns_figures,
)
from ..actions import TrackedAction, action_figures, actions_figure, tracked_actions
from ..comparison import Comparison, moved_most, movement_figures
from ..models import ActionStatus, Cycle
from .charts import Chart, agency_grid, kloe_chart
from .narrative import NarrativeFigures, RegionFigures

REASONS_PER_STANDARD = 2
REASONS_PER_KLOE = 8
QUOTES_PER_KLOE_IN_APPENDIX = 1


@dataclass
class ReportInputs:
    """The context plus what the build needs beside it: the charts, and each narrative region's figures."""

    context: dict[str, Any]
    charts: list[Chart]
    narrative: NarrativeFigures


def kloe_region(number: int) -> str:
    return f"kloe-{number}"


def key_area_region(number: int) -> str:
    return f"key-area-{number}"


def region_figures(findings: Findings, comparison: Optional[Comparison] = None) -> dict[str, RegionFigures]:
    """Which findings each standard narrative region is written about, and the figures its draft states.

    With a previous round, the Executive Summary also states the standards that moved most."""
    es, meth, dq, ev = (findings.executive_summary, findings.methodology, findings.data_quality,
                        findings.learning_event)
    cases = methodology_figure(meth)
    every = tuple(headline_figure(findings.standard(n)) for n in es.standards_met_in_every_case)
    moved = movement_figures(comparison)
    executive = RegionFigures((es.digest, meth.digest) + ((comparison.digest,) if comparison else ()),
                              (cases, *every, *moved))
    regions = {
        "executive-summary": executive,
        "methodology": RegionFigures((meth.digest,), (cases,)),
        "future-learning": RegionFigures((dq.digest,), returns_figures(dq)),
        "learning-event": RegionFigures((ev.digest,), attendance_figures(ev)),
        "conclusion": RegionFigures((es.digest,)),
    }
    for k in findings.kloes:
        regions[kloe_region(k.number)] = RegionFigures((k.digest,), kloe_figures(k))
    return regions


def build_inputs(cycle: Cycle, findings: Findings, *, image: Callable[[Chart], Any],
                 narrative_begin: Callable[[str], str], narrative_end: Callable[[], str],
                 built_on: Optional[date] = None, draw: Optional[Callable[..., Chart]] = None,
                 actions: Optional[Sequence[TrackedAction]] = None,
                 comparison: Optional[Comparison] = None) -> ReportInputs:
    """`draw(chart_function, *figures)` makes each chart (a `charts.ChartCache.draw` keeps them between builds);
    `actions`: the cycle's actions with their latest progress (from the workbook alone when not given)."""
    draw = draw or (lambda make, *args: make(*args))
    agency_names = {a.code: a.name for a in cycle.agencies}
    charts: list[Chart] = []

    def chart(c: Chart) -> Any:
        charts.append(c)
        return image(c)

    kloes = []
    for figure_no, k in enumerate(findings.kloes, start=1):
        c = draw(kloe_chart, k)
        kloes.append({
            "number": k.number,
            "question": k.question,
            "title": k.title,
            "region": kloe_region(k.number),
            "headlines": " ".join(wording.headline(s) for s in k.standards),
            "exceptions": " ".join(line for s in k.standards for line in wording.exceptions(findings, s)),
            "reasons": _reasons(findings, k.standards),
            "chart": chart(c),
            "chart_caption": wording.figure_caption(figure_no, c.title),
            "rows": [_standard_row(s) for s in k.standards],
        })
    grid = draw(agency_grid, findings.standards, findings.agencies)
    words = wording.report_words(findings)

    context: dict[str, Any] = {
        "board_name": cycle.settings.board_name,
        "report_title": cycle.settings.report_title,
        "cycle_name": cycle.settings.cycle_name,
        "cycle_id": cycle.settings.cycle_id,
        "round_line": wording.round_line(cycle.settings.round_name, cycle.settings.theme),
        "built_on": _long_date(built_on or date.today()),
        "findings": _with_earlier_names(findings, words),
        "words": words,
        "narrative_begin": narrative_begin,
        "narrative_end": narrative_end,
        "met_in_every_case": list(words.met_in_every_case),
        "table1": [{"number": la.number, "learning_point": la.learning_point, "actions": list(la.actions),
                    "next_steps": list(la.next_steps), "action_id": la.action_id}
                   for la in sorted(cycle.learning_actions, key=lambda la: la.number)],
        "priority_areas": [p.description or p.name for p in cycle.priority_areas],
        "kloe_questions": [k.question for k in cycle.kloes],
        "returns_rows": [{"label": label, "value": value}
                         for label, value in wording.returns_rows(findings.data_quality)],
        "kloes": kloes,
        "grid_chart": chart(grid),
        "grid_caption": wording.figure_caption(len(kloes) + 1, grid.title),
        "attendance": [{"agency": agency_names.get(a.agency, a.agency), "count": a.count} for a in cycle.attendance],
        "group_work": [{"priority_area": g.priority_area, "strengths": list(g.strengths),
                        "development": list(g.development), "next_steps": list(g.next_steps)}
                       for g in cycle.group_work],
        "key_areas": [{"number": la.number, "region": key_area_region(la.number),
                       "learning_point": la.learning_point, "actions": list(la.actions),
                       "next_steps": list(la.next_steps)}
                      for la in sorted(cycle.learning_actions, key=lambda la: la.number)],
        "toolkit": [{"number": k.number, "question": k.question,
                     "standards": [_standard_text(s.number, s.text) for s in cycle.standards_for(k.number)]}
                    for k in cycle.kloes],
        "rating_options": wording.join_or([o.label for o in cycle.rating_scale.options]),
        "appendix2": [_appendix2_row(a, findings) for a in findings.agencies if a.cases_involved or a.summary_returned],
        "appendix3": _appendix3_rows(cycle),
        "comparison": _comparison(comparison, draw, chart, len(kloes) + 2),
        "moderation": wording.moderation_words(findings.moderation),  # {} (nothing printed) without moderation
    }
    regions = region_figures(findings, comparison)
    regions[PROGRESS_REGION] = _with_actions(context, cycle, actions, built_on)
    narrative = NarrativeFigures(regions, partial(wording.describe_changes, findings=findings))
    return ReportInputs(context=context, charts=charts, narrative=narrative)


# --- actions (issue 13) ---------------------------------------------------------------------

PROGRESS_REGION = "progress-on-actions"
NOTE_LIMIT = 200  # characters of an agency's progress note quoted in Appendix 3


def _with_actions(context: dict[str, Any], cycle: Cycle, actions: Optional[Sequence[TrackedAction]],
                  built_on: Optional[date]) -> RegionFigures:
    """Put the actions into the context (Table 1's statuses, Appendix 3, the passage); the passage's figures."""
    if actions is None:
        actions = tracked_actions(cycle, today=built_on)
    tracked = actions_context(cycle, actions)
    status_of = tracked.pop("table1_status")
    for row in context["table1"]:
        row["status"] = status_of.get(row["number"], "")
    context.update(tracked)
    return RegionFigures((), (actions_figure(_action_figures(cycle, actions)),))


def _action_figures(cycle: Cycle, actions: Sequence[TrackedAction]):
    since = [a for a in actions if a.complete and a.round_raised and a.round_raised != cycle.settings.cycle_id]
    return action_figures(actions, since)


def actions_context(cycle: Cycle, actions: Sequence[TrackedAction]) -> dict[str, Any]:
    """Table 1's statuses, Appendix 3's Progress column, and the 'Progress on actions' passage."""
    from ..child_names import find_name, terms_for
    from ..findings import shorten

    terms = terms_for(cycle)
    by_id = {a.action_id: a for a in actions}
    figures = _action_figures(cycle, actions)
    counts = dict(figures.by_status)
    names = {a.code: a.name for a in cycle.agencies}

    def note(a: TrackedAction) -> str:
        text = a.latest_progress or a.latest_evidence
        if text and terms and find_name(text, terms) is not None:
            return wording.NOTE_NAMES_A_CHILD
        return wording.action_note(shorten(text, NOTE_LIMIT)[0] if text else "")

    def status(a: Optional[TrackedAction]) -> str:
        return wording.action_status_line(a.status.value, a.latest_date) if a is not None else ""

    appendix3 = []
    for action in cycle.agency_actions:
        a = by_id[action.action_id]
        appendix3.append({"agency": names.get(action.agency, action.agency), "action": action.action,
                          "status": status(a), "note": note(a), "progress": f"{status(a)}. {note(a)}",
                          "completed": wording.yes_no(a.complete)})
    since = [by_id[i] for i in figures.completed_since]
    return {
        "table1_status": {la.number: status(by_id.get(la.action_id)) for la in cycle.learning_actions},
        "appendix3": appendix3,
        "actions_progress": {
            "heading": wording.PROGRESS_HEADING,
            "sentence": wording.actions_sentence(figures.total, counts[ActionStatus.COMPLETE],
                                                 counts[ActionStatus.ON_TRACK], counts[ActionStatus.AT_RISK],
                                                 counts[ActionStatus.OVERDUE], counts[ActionStatus.NOT_STARTED]),
            "completed_since_intro": wording.completed_since_sentence(len(since)) if since else "",
            "completed_since": [wording.completed_action_line(a.action_id, a.text, a.round_raised) for a in since],
        },
    }


class _Names:
    """An object as a template sees it, plus a few names of its own (looked up first)."""

    def __init__(self, target: Any, extra: dict[str, Any]) -> None:
        self._target, self._extra = target, extra

    def __getattr__(self, name: str) -> Any:
        if name in self._extra:
            return self._extra[name]
        return getattr(self._target, name)


def _with_earlier_names(findings: Findings, words: wording.ReportWords) -> _Names:
    """`findings` also answering the sentence names earlier shipped templates used.

    A workspace's own (restyled) copy of an earlier template still builds:
    findings.methodology.sentence, findings.data_quality.sentences,
    findings.learning_event.sentence, findings.counting_rule_sentence,
    findings.rounding_rule and findings.exception_rule read from `words`.
    """
    return _Names(findings, {
        "counting_rule_sentence": words.counting_rule, "rounding_rule": words.rounding_rule,
        "exception_rule": words.exception_rule,
        "methodology": _Names(findings.methodology, {"sentence": words.methodology}),
        "data_quality": _Names(findings.data_quality, {"sentences": words.data_quality}),
        "learning_event": _Names(findings.learning_event, {"sentence": words.learning_event}),
    })


# --- pieces -------------------------------------------------------------------------------


def _comparison(comparison: Optional[Comparison], draw, chart, figure_no: int) -> Optional[dict[str, Any]]:
    """"Compared with the previous audit": None (the section is left out) when there is no previous round."""
    if comparison is None:
        return None
    from .compare_chart import comparison_chart

    drawn = draw(comparison_chart, comparison) if comparison.changes else None
    return {
        "heading": wording.COMPARISON_HEADING,
        "intro": wording.comparison_intro(comparison),
        "counting": wording.counting_rule_change(comparison),
        "notes": [n for n in (wording.reworded_note(comparison), wording.new_standards_note(comparison)) if n],
        "sentences": [wording.change_sentence(c, comparison.label) for c in comparison.changes],
        "chart": chart(drawn) if drawn else None,
        "chart_caption": wording.figure_caption(figure_no, drawn.title) if drawn else "",
        "rule": wording.SMALL_CHANGE_RULE,
        "movement": wording.movement_sentence(moved_most(comparison), comparison),
    }


def _long_date(d: date) -> str:
    return f"{d.day} {d:%B %Y}"


def _head_and_points(text: str) -> tuple[str, list[str]]:
    """A standard's first line and the bulleted points under it (as typed in the workbook)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return "", []
    points = [re.sub(r"^[\u2022\-\*\u00b7]\s*", "", ln) for ln in lines[1:]]
    return lines[0], points


def _standard_text(number: int, text: str) -> dict[str, Any]:
    head, points = _head_and_points(text)
    return {"number": number, "head": wording.standard_heading(number, head), "points": points}


def _standard_row(s: StandardFindings) -> dict[str, Any]:
    head, points = _head_and_points(s.text)
    return wording.standard_row(s, head, bool(points))


def _reasons(findings: Findings, standards) -> list[str]:
    """A few of the reasons given, different agencies first, so the draft reads as a summary, not a dump."""
    picked: list[str] = []
    for s in standards:
        seen: set[str] = set()
        taken = 0
        for quote, sentence in zip(s.reasons, wording.reason_sentences(findings, s)):
            if taken >= REASONS_PER_STANDARD or len(picked) >= REASONS_PER_KLOE:
                break
            if quote.agency in seen:
                continue
            seen.add(quote.agency)
            picked.append(sentence)
            taken += 1
    return picked


def _appendix2_row(a: AgencyFindings, findings: Findings) -> dict[str, Any]:
    met: list[dict[str, str]] = []
    not_met: list[dict[str, str]] = []
    for k in a.by_kloe:
        if k.met:
            every = [f.standard for f in k.met if not f.not_met]
            some = [f.standard for f in k.met if f.not_met]
            met.append({"kind": "label", "text": k.title})
            if every:
                met.append({"kind": "text", "text": wording.met_in_every_case_rated(every)})
            if some:
                met.append({"kind": "text", "text": wording.met_in_some_cases(some)})
            for q in k.evidence[:QUOTES_PER_KLOE_IN_APPENDIX]:
                met.append({"kind": "quote", "text": wording.quoted(q)})
        if k.not_met:
            not_met.append({"kind": "label", "text": k.title})
            for f in k.not_met:
                not_met.append({"kind": "text", "text": wording.not_met_in(f.standard, f.not_met, f.audited)})
            for q in k.reasons[:QUOTES_PER_KLOE_IN_APPENDIX]:
                not_met.append({"kind": "quote", "text": wording.quoted(q)})
    if a.cases_audited == 0:
        met = [{"kind": "text", "text": wording.no_audit_note(a)}]
    if not not_met and a.cases_audited:
        not_met = [{"kind": "text", "text": wording.EVERY_STANDARD_MET}]
    if findings.moderation is not None and findings.moderation.changes_for(a.code):
        not_met += [{"kind": "label", "text": "Moderation"},
                    {"kind": "text", "text": wording.moderation_agency_note(findings.moderation.changes_for(a.code))}]
    return {
        "agency": a.name,
        "met": met,
        "not_met": not_met,
        "improvements": _lines(a.improvements, a.summary_returned),
        "partnership": _lines(a.partnership, a.summary_returned),
    }


def _lines(text: str, returned: bool) -> list[dict[str, str]]:
    if not returned:
        return [{"kind": "text", "text": wording.NO_SUMMARY_FORM}]
    lines = [re.sub(r"^[\u2022\-\*\u00b7]\s*", "", ln.strip()) for ln in text.splitlines() if ln.strip()]
    if not lines:
        return [{"kind": "text", "text": wording.NONE_GIVEN}]
    return [{"kind": "bullet" if len(lines) > 1 else "text", "text": ln} for ln in lines]


def _appendix3_rows(cycle: Cycle) -> list[dict[str, str]]:
    """One row per action, as in the workbook: the agency named on every row.

    No merged cells: they split badly across pages and screen readers read them poorly.
    """
    names = {a.code: a.name for a in cycle.agencies}
    return [{"agency": names.get(action.agency, action.agency), "action": action.action,
             "progress": action.progress, "completed": wording.yes_no(action.completed)}
            for action in cycle.agency_actions]
