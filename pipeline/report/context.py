"""What the report template is given: the cycle's words and the findings' figures, shaped for tables.

Every number here is read from `Findings` (nothing is counted again), and
every list comes from the cycle workbook in its own order, so Tables 1-3 and
Appendix 3 carry the workbook's rows cell for cell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, Optional

from ..findings import AgencyFindings, Findings, Quote, StandardFindings
from ..models import Cycle
from .charts import Chart, agency_grid, kloe_chart

REASONS_PER_STANDARD = 2
REASONS_PER_KLOE = 8
QUOTES_PER_KLOE_IN_APPENDIX = 1


@dataclass
class ReportInputs:
    """The context plus what the build needs beside it: the charts, and each narrative region's figures."""

    context: dict[str, Any]
    charts: list[Chart]
    region_digests: dict[str, list[str]] = field(default_factory=dict)


def kloe_region(number: int) -> str:
    return f"kloe-{number}"


def key_area_region(number: int) -> str:
    return f"key-area-{number}"


def region_digests(findings: Findings) -> dict[str, list[str]]:
    """Which findings each standard narrative region is written about (findings' figures digests)."""
    digests = {
        "executive-summary": [findings.executive_summary.digest, findings.methodology.digest],
        "methodology": [findings.methodology.digest],
        "future-learning": [findings.data_quality.digest],
        "learning-event": [findings.learning_event.digest],
        "conclusion": [findings.executive_summary.digest],
    }
    for k in findings.kloes:
        digests[kloe_region(k.number)] = [k.digest]
    return digests


def build_inputs(cycle: Cycle, findings: Findings, *, image: Callable[[Chart], Any],
                 narrative_begin: Callable[[str], str], narrative_end: Callable[[], str],
                 built_on: Optional[date] = None) -> ReportInputs:
    agency_names = {a.code: a.name for a in cycle.agencies}
    charts: list[Chart] = []

    def chart(c: Chart) -> Any:
        charts.append(c)
        return image(c)

    kloes = []
    for figure_no, k in enumerate(findings.kloes, start=1):
        c = kloe_chart(k)
        kloes.append({
            "number": k.number,
            "question": k.question,
            "title": k.title,
            "region": kloe_region(k.number),
            "headlines": " ".join(s.sentence for s in k.standards),
            "exceptions": " ".join(e.sentence for s in k.standards for e in s.exceptions),
            "reasons": _reasons(k.standards),
            "chart": chart(c),
            "chart_caption": f"Figure {figure_no}: {c.title}",
            "rows": [_standard_row(s) for s in k.standards],
        })
    grid = agency_grid(findings.standards, findings.agencies)

    dq = findings.data_quality
    returns_rows = []
    if dq.forms_issued:
        returns_rows += [("Forms issued", dq.forms_issued), ("Forms returned", dq.forms_returned),
                         ("Forms still outstanding", dq.forms_outstanding)]
    returns_rows += [("Case audit returns counted in the figures", dq.returns_received),
                     ("Returns that were incomplete", len(dq.incomplete)),
                     ("Returns saying the agency had no involvement in the case", len(dq.no_involvement)),
                     ("Answers of 'not applicable'", dq.not_applicable_total),
                     ("Answers left blank", dq.missing_total)]
    returns_rows += [(f"'Not applicable' answers on Standard {c.standard}", c.count)
                     for c in dq.not_applicable_by_standard if c.count]
    if dq.summaries_expected:
        returns_rows.append(("Agency summary forms returned", f"{dq.summaries_returned} of {dq.summaries_expected}"))

    context: dict[str, Any] = {
        "board_name": cycle.settings.board_name,
        "report_title": cycle.settings.report_title,
        "cycle_name": cycle.settings.cycle_name,
        "cycle_id": cycle.settings.cycle_id,
        "built_on": _long_date(built_on or date.today()),
        "findings": findings,
        "narrative_begin": narrative_begin,
        "narrative_end": narrative_end,
        "met_in_every_case": [findings.standard(n).sentence
                              for n in findings.executive_summary.standards_met_in_every_case],
        "table1": [{"number": la.number, "learning_point": la.learning_point, "actions": list(la.actions),
                    "next_steps": list(la.next_steps)}
                   for la in sorted(cycle.learning_actions, key=lambda la: la.number)],
        "priority_areas": [p.description or p.name for p in cycle.priority_areas],
        "kloe_questions": [k.question for k in cycle.kloes],
        "returns_rows": [{"label": label, "value": value} for label, value in returns_rows],
        "kloes": kloes,
        "grid_chart": chart(grid),
        "grid_caption": f"Figure {len(kloes) + 1}: {grid.title}",
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
        "rating_options": _join_or([o.label for o in cycle.rating_scale.options]),
        "appendix2": [_appendix2_row(a, findings) for a in findings.agencies if a.cases_involved or a.summary_returned],
        "appendix3": _appendix3_rows(cycle),
    }
    return ReportInputs(context=context, charts=charts, region_digests=region_digests(findings))


# --- pieces -------------------------------------------------------------------------------


def _long_date(d: date) -> str:
    return f"{d.day} {d:%B %Y}"


def _join_or(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def _head_and_points(text: str) -> tuple[str, list[str]]:
    """A standard's first line and the bulleted points under it (as typed in the workbook)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return "", []
    points = [re.sub(r"^[\u2022\-\*\u00b7]\s*", "", ln) for ln in lines[1:]]
    return lines[0], points


def _standard_text(number: int, text: str) -> dict[str, Any]:
    head, points = _head_and_points(text)
    return {"number": number, "head": f"Standard {number}: {head}", "points": points}


def _standard_row(s: StandardFindings) -> dict[str, Any]:
    head, points = _head_and_points(s.text)
    if points:
        head = head.rstrip(" ;:,") + " (see Appendix 1)"
    return {
        "standard": f"{s.number}. {head}",
        "cases": f"{s.cases_met} of {s.cases_assessed}" if s.cases_assessed else "not assessed",
        "percent": f"{s.percent_met}%" if s.cases_assessed else "\u2013",
        "responses": f"{s.responses_met} of {s.responses_rated}" if s.responses_rated else "none",
        "not_applicable": s.responses_not_applicable,
        "blank": s.responses_missing,
    }


def _reasons(standards) -> list[str]:
    """A few of the reasons given, different agencies first, so the draft reads as a summary, not a dump."""
    picked: list[str] = []
    for s in standards:
        seen: set[str] = set()
        taken = 0
        for quote, sentence in zip(s.reasons, s.reason_sentences):
            if taken >= REASONS_PER_STANDARD or len(picked) >= REASONS_PER_KLOE:
                break
            if quote.agency in seen:
                continue
            seen.add(quote.agency)
            picked.append(sentence)
            taken += 1
    return picked


def _numbers(numbers: list[int]) -> str:
    label = "Standard" if len(numbers) == 1 else "Standards"
    return f"{label} {', '.join(str(n) for n in numbers)}"


def _quote(q: Quote) -> str:
    text = q.text.strip()
    return f"\u201c{text}\u201d (case {q.case_ref})"


def _appendix2_row(a: AgencyFindings, findings: Findings) -> dict[str, Any]:
    met: list[dict[str, str]] = []
    not_met: list[dict[str, str]] = []
    for k in a.by_kloe:
        if k.met:
            every = [f.standard for f in k.met if not f.not_met]
            some = [f.standard for f in k.met if f.not_met]
            met.append({"kind": "label", "text": k.title})
            if every:
                met.append({"kind": "text", "text": f"{_numbers(every)}: met in every case rated"})
            if some:
                met.append({"kind": "text", "text": f"{_numbers(some)}: met in some cases"})
            for q in k.evidence[:QUOTES_PER_KLOE_IN_APPENDIX]:
                met.append({"kind": "quote", "text": _quote(q)})
        if k.not_met:
            not_met.append({"kind": "label", "text": k.title})
            for f in k.not_met:
                not_met.append({"kind": "text",
                                "text": f"Standard {f.standard}: not met in {f.not_met} of {f.audited} "
                                        f"{'case' if f.audited == 1 else 'cases'} audited"})
            for q in k.reasons[:QUOTES_PER_KLOE_IN_APPENDIX]:
                not_met.append({"kind": "quote", "text": _quote(q)})
    if a.cases_audited == 0:
        note = ("No audit returned yet." if not a.no_involvement_case_refs
                else "Reported no involvement in the cases it was sent.")
        met = [{"kind": "text", "text": note}]
    if not not_met and a.cases_audited:
        not_met = [{"kind": "text", "text": "Every standard rated was met."}]
    return {
        "agency": a.name,
        "met": met,
        "not_met": not_met,
        "improvements": _lines(a.improvements, a.summary_returned),
        "partnership": _lines(a.partnership, a.summary_returned),
    }


def _lines(text: str, returned: bool) -> list[dict[str, str]]:
    if not returned:
        return [{"kind": "text", "text": "No summary form received."}]
    lines = [re.sub(r"^[\u2022\-\*\u00b7]\s*", "", ln.strip()) for ln in text.splitlines() if ln.strip()]
    if not lines:
        return [{"kind": "text", "text": "None given."}]
    return [{"kind": "bullet" if len(lines) > 1 else "text", "text": ln} for ln in lines]


def _appendix3_rows(cycle: Cycle) -> list[dict[str, str]]:
    """One row per action, as in the workbook: the agency named on every row.

    No merged cells: they split badly across pages and screen readers read them poorly.
    """
    names = {a.code: a.name for a in cycle.agencies}
    return [{"agency": names.get(action.agency, action.agency), "action": action.action,
             "progress": action.progress, "completed": "Yes" if action.completed else "No"}
            for action in cycle.agency_actions]
