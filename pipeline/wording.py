"""Every English sentence and label the report builds from the figures, in one place.

`findings` computes numbers only; this module turns them into the words the
board reads: the headline of each standard, the agency exceptions, the notes
on how figures are counted, the data-quality bullets, the table labels and the
chart titles. A communications officer who wants a sentence said differently
changes it here (or, for words that never depend on a figure, in the report
template itself, which the comms team can edit in Word).

Rewording a sentence here never changes which edited passages a rebuild
flags as stale: staleness compares the numbers (`findings.figures_digest` and
the `Figure`s a passage quotes), never prose.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Optional, Sequence

from .findings import (
    AgencyException,
    AgencyFindings,
    DataQuality,
    Figure,
    Findings,
    KloeFindings,
    LearningEvent,
    Methodology,
    Quote,
    StandardFindings,
    percent,
)
from .models import CountingRule

# --- how the figures are counted ----------------------------------------------------------

ROUNDING_RULE = (
    "Percentages are rounded to the nearest whole number, halves rounded up, "
    "and always shown with the counts they come from."
)

_NOT_RATINGS = "'Not applicable' and blank answers are not counted as ratings."
COUNTING_RULE_SENTENCES = {
    CountingRule.ALL: (
        "A case counts as meeting a standard when every agency that rated it said the standard was met. "
        + _NOT_RATINGS
    ),
    CountingRule.MAJORITY: (
        "A case counts as meeting a standard when more than half of the agencies that rated it said the "
        "standard was met; an even split counts as not met. " + _NOT_RATINGS
    ),
    CountingRule.ANY: (
        "A case counts as meeting a standard when at least one agency that rated it said the standard was met. "
        + _NOT_RATINGS
    ),
}

EXCEPTION_RULE = (
    "An agency is named under a standard when it said the standard was not met in at least 2 cases and in "
    "at least a third of the cases it audited, and its share of 'met' ratings is at least 25 percentage points "
    "below that of all the other agencies together."
)


def counting_rule(rule: CountingRule) -> str:
    return COUNTING_RULE_SENTENCES[rule]


# --- small helpers ------------------------------------------------------------------------


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _finish(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?", "\u2026")) else text + "."


def plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def join_and(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def join_or(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def short_name(findings: Findings, code: str) -> str:
    """How a sentence names an agency: 'the Police'; its full name, or its code, when it has no short name."""
    for a in findings.agencies:
        if a.code == code:
            return a.short_name or a.name
    return code


# --- standards and exceptions ---------------------------------------------------------------


def standard_sentence(cases_met: int, cases_assessed: int, cases_total: int, finding_met: str,
                      finding_not_met: str = "") -> str:
    """'In 82% of cases (9 of 11), the right agencies were involved.' and its all / none / not assessed forms.

    When no case met the standard the sentence is turned round with the
    'finding when not met' phrase ("In all 4 cases, there was no evidence of
    consent being obtained."): "In none of the 4 cases, practitioners were
    clear..." reads as the opposite of what it means.
    """
    phrase = finding_met.strip().rstrip(".")
    negative = finding_not_met.strip().rstrip(".")
    if cases_assessed == 0:
        return f"None of the {plural(cases_total, 'case', 'cases')} was assessed against this standard."
    if cases_assessed >= 2 and cases_met == cases_assessed:
        head = f"In all {cases_assessed} cases, {phrase}."
    elif cases_assessed >= 2 and cases_met == 0 and negative:
        head = f"In all {cases_assessed} cases, {negative}."
    elif cases_assessed >= 2 and cases_met == 0:
        head = f"In none of the {cases_assessed} cases, {phrase}."
    else:
        head = f"In {percent(cases_met, cases_assessed)}% of cases ({cases_met} of {cases_assessed}), {phrase}."
    left_out = cases_total - cases_assessed
    if left_out > 0:
        verb = "was" if left_out == 1 else "were"
        head += f" {left_out} of the {cases_total} cases {verb} not assessed against this standard."
    return head


def exception_sentence(not_met: int, audited: int, short_name: str, finding_not_met: str) -> str:
    """'In 7 of the 9 cases audited by the Police, there was no evidence of consent being obtained.'"""
    phrase = finding_not_met.strip().rstrip(".")
    if not_met == audited == 1:
        lead = f"In the one case audited by {short_name}"
    elif not_met == audited == 2:
        lead = f"In both cases audited by {short_name}"
    elif not_met == audited:
        lead = f"In all {audited} cases audited by {short_name}"
    else:
        lead = f"In {not_met} of the {audited} cases audited by {short_name}"
    return f"{lead}, {phrase}."


def headline(s: StandardFindings) -> str:
    """The standard's headline sentence, from its case counts."""
    return standard_sentence(s.cases_met, s.cases_assessed, s.cases_total, s.finding_met, s.finding_not_met)


def exception(findings: Findings, s: StandardFindings, e: AgencyException) -> str:
    return exception_sentence(e.not_met, e.audited, short_name(findings, e.agency), s.finding_not_met)


def exceptions(findings: Findings, s: StandardFindings) -> tuple[str, ...]:
    return tuple(exception(findings, s, e) for e in s.exceptions)


def standard_sentences(findings: Findings, s: StandardFindings) -> tuple[str, ...]:
    """The headline, then each agency-level exception."""
    return (headline(s), *exceptions(findings, s))


def kloe_sentences(findings: Findings, k: KloeFindings) -> tuple[str, ...]:
    return tuple(line for s in k.standards for line in standard_sentences(findings, s))


def reason_sentence(quote: Quote, short_name: str) -> str:
    """'The Police (case N-01): "Mother was seen..."' - the agency's words, attributed."""
    return f"{_cap(short_name)} (case {quote.case_ref}): \u201c{_finish(quote.text)}\u201d"


def reason_sentences(findings: Findings, s: StandardFindings) -> tuple[str, ...]:
    return tuple(reason_sentence(q, short_name(findings, q.agency)) for q in s.reasons)


# --- the other sections ------------------------------------------------------------------------


def returns_sentences(issued: int, outstanding: int, awaiting: int, incomplete: int, no_involvement: int,
                      not_applicable: int, blank: int) -> tuple[str, ...]:
    """The Future Learning bullets: how complete the evidence behind the figures is. `awaiting`, `incomplete`
    and `no_involvement` count agency case audits (one agency's audit of one case), not forms."""
    out = []
    if issued:
        returned = issued - outstanding
        out.append(f"{returned} of the {plural(issued, 'form', 'forms')} issued "
                   f"{'was' if returned == 1 else 'were'} returned"
                   + (f"; {outstanding} {'is' if outstanding == 1 else 'are'} outstanding." if outstanding else "."))
    if awaiting:
        out.append(f"Nothing has been received for {plural(awaiting, AUDIT_UNIT, AUDIT_UNITS)}.")
    if incomplete:
        out.append(f"{plural(incomplete, AUDIT_UNIT + ' has', AUDIT_UNITS + ' have')} an incomplete return.")
    if no_involvement:
        out.append(f"In {plural(no_involvement, AUDIT_UNIT, AUDIT_UNITS)} the agency reported no involvement "
                   "in the case.")
    if not_applicable:
        out.append(f"{plural(not_applicable, 'answer was', 'answers were')} 'not applicable'; "
                   f"{'it is' if not_applicable == 1 else 'they are'} shown separately and not counted as a rating.")
    if blank:
        out.append(f"{plural(blank, 'answer was', 'answers were')} left blank and "
                   f"{'is' if blank == 1 else 'are'} not counted as a rating.")
    return tuple(out)


AUDIT_UNIT, AUDIT_UNITS = "agency case audit", "agency case audits"


def audits_sentence(expected: int, returned: int, partly: int) -> str:
    """Per-KLOE forms: how many agency case audits came back whole, so forms are not mistaken for audits."""
    text = (f"Agencies were sent one form per KLOE: {returned} of the {plural(expected, AUDIT_UNIT, AUDIT_UNITS)} "
            f"(one agency's audit of one case) {'was' if returned == 1 else 'were'} returned in full")
    return text + (f" and {partly} in part." if partly else ".")


def data_quality_sentences(dq: DataQuality) -> tuple[str, ...]:
    lead = ((audits_sentence(dq.audits_expected, dq.audits_returned, dq.audits_partly_returned),)
            if dq.per_kloe_forms_issued else ())
    return lead + returns_sentences(dq.forms_issued, dq.forms_outstanding, len(dq.awaiting), dq.audits_incomplete,
                                    dq.audits_no_involvement, dq.not_applicable_total, dq.missing_total)


def cases_audited_sentence(selected: int, audited: int, by_area: Sequence[tuple[str, int]]) -> str:
    """'A total of 11 cases were audited, with 4 covering Neglect, ...'"""
    parts = [f"{n} covering {name}" for name, n in by_area if n]
    if audited == selected:
        lead = f"A total of {plural(audited, 'case was', 'cases were')} audited"
    else:
        lead = (f"Of the {plural(selected, 'case', 'cases')} selected, "
                f"{audited} {'was' if audited == 1 else 'were'} audited")
    return lead + (f", with {join_and(parts)}." if parts else ".")


def methodology_sentence(m: Methodology) -> str:
    return cases_audited_sentence(m.cases_selected, m.cases_audited,
                                  [(r.name, r.cases_audited) for r in m.priority_areas])


def attendance_sentence(practitioners: int, agencies: int) -> str:
    return (f"In total, {plural(practitioners, 'practitioner', 'practitioners')} across "
            f"{plural(agencies, 'agency', 'agencies')} attended the event.")


def learning_event_sentence(ev: LearningEvent) -> str:
    """Empty when no attendance has been recorded yet (the table says so instead)."""
    return attendance_sentence(ev.total_practitioners, ev.agencies_attending) if ev.rows else ""


@dataclass(frozen=True)
class ReportWords:
    """The sentences the report template prints as `words.*`."""

    counting_rule: str
    rounding_rule: str
    exception_rule: str
    methodology: str
    data_quality: tuple[str, ...]
    learning_event: str
    met_in_every_case: tuple[str, ...]
    form_arrangement: str


def report_words(findings: Findings) -> ReportWords:
    return ReportWords(
        counting_rule=counting_rule(findings.counting_rule), rounding_rule=ROUNDING_RULE,
        exception_rule=EXCEPTION_RULE, methodology=methodology_sentence(findings.methodology),
        data_quality=data_quality_sentences(findings.data_quality),
        learning_event=learning_event_sentence(findings.learning_event),
        form_arrangement=form_arrangement_sentence(findings.data_quality),
        met_in_every_case=tuple(headline(findings.standard(n))
                                for n in findings.executive_summary.standards_met_in_every_case),
    )


# --- figures a passage quotes, and how they changed ----------------------------------------------


def figure_sentence(fig: Figure, findings: Findings) -> str:
    """The sentence a draft states for one quoted figure, phrased with today's workbook words."""
    v = fig.values
    if fig.kind == "standard":
        s = _standard_or_none(findings, int(fig.about[0]))
        met, negative = (s.finding_met, s.finding_not_met) if s else (f"Standard {fig.about[0]} was met", "")
        return standard_sentence(v[0], v[1], v[2], met, negative)
    if fig.kind == "exception":
        s = _standard_or_none(findings, int(fig.about[0]))
        negative = s.finding_not_met if s else f"Standard {fig.about[0]} was not met"
        return exception_sentence(v[0], v[1], short_name(findings, str(fig.about[1])), negative)
    if fig.kind == "cases-audited":
        return cases_audited_sentence(v[0], v[1], list(zip((str(a) for a in fig.about), v[2:])))
    if fig.kind == "returns":
        return " ".join(returns_sentences(*v))
    if fig.kind == "audits":
        return audits_sentence(*v)
    if fig.kind == "attendance":
        return attendance_sentence(v[0], v[1])
    if fig.kind == "actions":
        return actions_sentence(*v[:6])
    if fig.kind == "change":
        return change_phrase(int(fig.about[0]), v[0], v[1], v[2], v[3], str(fig.about[1]))
    return f"{fig.kind}: {', '.join(str(n) for n in v)}"


def _standard_or_none(findings: Findings, number: int):
    try:
        return findings.standard(number)
    except KeyError:
        return None


def describe_changes(old: Sequence[Figure], new: Sequence[Figure], findings: Findings) -> list[str]:
    """Each figure the passage was written against that now stands differently, in plain words."""
    old_by_key = {f.key: f for f in old}
    new_by_key = {f.key: f for f in new}
    changes: list[str] = []
    for key, fig in new_by_key.items():
        before = old_by_key.get(key)
        if before is None:
            changes.append(f"now also: \u201c{figure_sentence(fig, findings)}\u201d")
        elif before.values != fig.values:
            changes.append(f"was \u201c{figure_sentence(before, findings)}\u201d, "
                           f"now \u201c{figure_sentence(fig, findings)}\u201d")
    for key, fig in old_by_key.items():
        if key not in new_by_key:
            changes.append(f"no longer: \u201c{figure_sentence(fig, findings)}\u201d")
    if not changes:
        changes.append(UNQUOTED_FIGURES_CHANGED)
    return changes


UNQUOTED_FIGURES_CHANGED = (
    "the returns behind this passage changed (ratings, reasons, 'not applicable' or blank "
    "answers), although the figures quoted in its draft did not; check any reasons it quotes")
FIGURES_OF_AN_EARLIER_VERSION = (
    "this passage was kept from a report built by an earlier version of case-audit, which recorded its "
    "figures in a form this version cannot compare; check every figure it quotes against the tables")


def reread_comment(changes: Sequence[str]) -> str:
    """The Word comment put on a kept passage whose figures changed."""
    return ("The figures this passage was written against have changed: " + "; ".join(changes)
            + ". Please re-read the passage and update it if needed, then delete this comment "
            "(case-audit stops listing the passage once the comment is gone or the text is edited).")


# --- table labels ------------------------------------------------------------------------------

NOT_ASSESSED = "not assessed"
NO_ANSWERS = "none"
NO_PERCENT = "\u2013"
SEE_APPENDIX_1 = " (see Appendix 1)"


def standard_heading(number: int, head: str) -> str:
    """Appendix 1's line for a standard: 'Standard 7: Consent is obtained...'."""
    return f"Standard {number}: {head}"


def standard_row(s: StandardFindings, head: str, has_points: bool) -> dict[str, object]:
    """A row of a KLOE's table: the standard, its cases met, percentage and agency answers."""
    if has_points:
        head = head.rstrip(" ;:,") + SEE_APPENDIX_1
    return {
        "standard": f"{s.number}. {head}",
        "cases": f"{s.cases_met} of {s.cases_assessed}" if s.cases_assessed else NOT_ASSESSED,
        "percent": f"{s.percent_met}%" if s.cases_assessed else NO_PERCENT,
        "responses": f"{s.responses_met} of {s.responses_rated}" if s.responses_rated else NO_ANSWERS,
        "not_applicable": s.responses_not_applicable,
        "blank": s.responses_missing,
    }


def returns_rows(dq: DataQuality) -> list[tuple[str, object]]:
    """The 'Returns received' table: label and number. Audits are counted per agency and case, whether the
    agency had one form for the case or one per KLOE; forms are counted apart."""
    rows: list[tuple[str, object]] = []
    if dq.audits_expected:
        rows += [("Agency case audits asked for (one agency's audit of one case)", dq.audits_expected),
                 ("Agency case audits returned in full", dq.audits_returned)]
        if dq.per_kloe_forms_issued:
            rows.append(("Agency case audits returned in part (some per-KLOE forms outstanding)",
                         dq.audits_partly_returned))
        rows += [("Agency case audits with nothing received", len(dq.awaiting)),
                 ("Agency case audits with an incomplete return", dq.audits_incomplete),
                 ("Agency case audits where the agency had no involvement", dq.audits_no_involvement)]
    if dq.forms_issued:
        issued = "Forms issued (audit forms and agency summary forms)"
        if dq.per_kloe_forms_issued:
            issued = f"Forms issued ({dq.per_kloe_forms_issued} of them one per KLOE)"
        rows += [(issued, dq.forms_issued), ("Forms returned", dq.forms_returned),
                 ("Forms still outstanding", dq.forms_outstanding)]
    rows += [("Audit forms counted in the figures", dq.returns_received),
             ("Answers of 'not applicable'", dq.not_applicable_total),
             ("Answers left blank", dq.missing_total),
             ("Answers the form does not allow (counted as blank)", dq.not_allowed_total)]
    rows += [(f"'Not applicable' answers on Standard {c.standard}", c.count)
             for c in dq.not_applicable_by_standard if c.count]
    if dq.summaries_expected:
        rows.append(("Agency summary forms returned", f"{dq.summaries_returned} of {dq.summaries_expected}"))
    return rows


def form_arrangement_sentence(dq: DataQuality) -> str:
    """Appendix 1's account of the forms the agencies were sent: one per case, or one per case and KLOE."""
    if dq.per_kloe_forms_issued and not dq.whole_forms_issued:
        return ("Each agency received one form for each case it was involved in and each key line of enquiry, "
                "so that the person best placed could answer each KLOE.")
    if dq.per_kloe_forms_issued:
        return ("Each agency received one form for each case it was involved in; for some cases an agency "
                f"received one form per key line of enquiry instead ({plural(dq.per_kloe_forms_issued, 'form', 'forms')} "
                "in all), so that the person best placed could answer each KLOE.")
    return "Each agency received one form for each case it was involved in."


def figure_caption(number: int, title: str) -> str:
    return f"Figure {number}: {title}"


def _standards(numbers: Sequence[int]) -> str:
    label = "Standard" if len(numbers) == 1 else "Standards"
    return f"{label} {', '.join(str(n) for n in numbers)}"


def met_in_every_case_rated(numbers: Sequence[int]) -> str:
    return f"{_standards(numbers)}: met in every case rated"


def met_in_some_cases(numbers: Sequence[int]) -> str:
    return f"{_standards(numbers)}: met in some cases"


def not_met_in(standard: int, not_met: int, audited: int) -> str:
    return f"Standard {standard}: not met in {not_met} of {audited} {'case' if audited == 1 else 'cases'} audited"


def quoted(q: Quote) -> str:
    """An agency's words in Appendix 2: '"..." (case N-01)'."""
    return f"\u201c{q.text.strip()}\u201d (case {q.case_ref})"


def no_audit_note(a: AgencyFindings) -> str:
    return ("No audit returned yet." if not a.no_involvement_case_refs
            else "Reported no involvement in the cases it was sent.")


EVERY_STANDARD_MET = "Every standard rated was met."
NO_SUMMARY_FORM = "No summary form received."
NONE_GIVEN = "None given."


def yes_no(flag: bool) -> str:
    return "Yes" if flag else "No"


# --- charts --------------------------------------------------------------------------------------

CHART_MET = "Met"
CHART_NOT_MET = "Not met"
KLOE_CHART_AXIS = "Share of cases assessed that met the standard"
GRID_TITLE = "Agency answers by standard: answers saying met, out of answers that rated the standard"


def standard_label(number: int) -> str:
    """A chart or sheet label for a standard."""
    return f"Standard {number}"


def cases_label(s: StandardFindings) -> str:
    """A KLOE chart bar's label: '9 of 11 (82%)'."""
    if s.cases_assessed == 0:
        return NOT_ASSESSED
    return f"{s.cases_met} of {s.cases_assessed} ({s.percent_met}%)"


def kloe_chart_title(number: int) -> str:
    return f"KLOE {number}: share of cases meeting each standard"


def kloe_chart_alt_text(k: KloeFindings) -> str:
    """What a screen reader says for a KLOE chart: every figure it shows."""
    parts = [f"Bar chart. {kloe_chart_title(k.number)}."]
    for s in k.standards:
        if s.cases_assessed:
            parts.append(f"Standard {s.number}: met in {s.cases_met} of {s.cases_assessed} cases assessed "
                         f"({s.percent_met}%).")
        else:
            parts.append(f"Standard {s.number}: not assessed in any case.")
    return " ".join(parts)


def grid_alt_text(agencies: Sequence[AgencyFindings]) -> str:
    parts = [f"Grid chart. {GRID_TITLE}. Totals for each agency across all standards:"]
    for a in agencies:
        rated = a.met + a.not_met
        parts.append(f"{a.short_name or a.name}: {a.met} of {rated} answers met ({percent(a.met, rated)}%).")
    parts.append("Every cell of the grid is listed in the results workbook, sheet 'By agency'.")
    return " ".join(parts)


def column_label(a: AgencyFindings) -> str:
    """'the Police' reads well in a sentence; a column heading wants 'Police'."""
    name = a.short_name or a.code
    if name.casefold().startswith("the "):
        name = name[4:]
    return _cap(name)


# --- results.xlsx summary sheets -------------------------------------------------------------------

SHEET_STANDARD_CHART = "Share of cases meeting each standard"
SHEET_AGENCY_CHART = "Share of each agency's answers saying the standard was met"
SHEET_GRID_HEADING = "Answers met / answers rated, by standard (rows) and agency (columns)"


# --- actions (issue 13): the 'Progress on actions' passage, Table 1 and Appendix 3 -------------------

PROGRESS_HEADING = "Progress on actions"
NO_ACTIONS_YET = "No actions have been recorded yet."
NO_PROGRESS_YET = "No update received yet."
NOTE_NAMES_A_CHILD = "The agency's note is not quoted here because it names a child; see the action tracker."


def actions_sentence(total: int, complete: int, on_track: int, at_risk: int, overdue: int, not_started: int) -> str:
    """'Of the 39 actions recorded, 2 are complete, 1 is on track, 1 is at risk and 1 is overdue; 34 have not started.'"""
    if total == 0:
        return NO_ACTIONS_YET

    def be(n: int) -> str:
        return f"{n} {'is' if n == 1 else 'are'}"

    parts = [f"{be(complete)} complete", f"{be(on_track)} on track", f"{be(at_risk)} at risk",
             f"{be(overdue)} overdue"]
    if total == 1:  # "Of the 1 action recorded, 1 is complete, 0 are ..." reads badly
        state = next((name for n, name in ((complete, "complete"), (on_track, "on track"), (at_risk, "at risk"),
                                            (overdue, "overdue")) if n), "not started yet")
        return f"One action has been recorded; it is {state}."
    text = f"Of the {plural(total, 'action', 'actions')} recorded, {join_and(parts)}"
    if not_started:
        text += f"; {not_started} {'has' if not_started == 1 else 'have'} not started"
    return text + "."


def completed_since_sentence(n: int) -> str:
    return (f"{plural(n, 'action', 'actions')} raised in an earlier round {'has' if n == 1 else 'have'} been "
            "completed since:")


def action_status_line(status: str, updated: Optional[date]) -> str:
    """'Status: On track (updated 4 December 2026)'; the date of the agency's latest progress form, if any."""
    return f"Status: {status}" + (f" (updated {updated.day} {updated:%B %Y})" if updated else "")


def action_note(note: str) -> str:
    """An agency's progress note as the report quotes it."""
    return f"\u201c{note.strip()}\u201d" if note.strip() else NO_PROGRESS_YET


def completed_action_line(action_id: str, text: str, round_raised: str) -> str:
    return f"{action_id} ({round_raised}): {text}"


# --- compared with the previous audit (issue 12) ------------------------------------------------

COMPARISON_HEADING = "Compared with the previous audit"
SMALL_CHANGE_RULE = (
    "When this audit is compared with the previous one, a standard is said to have gone up or down only when "
    "the change amounts to more than two cases (counted against the number of cases assessed in this audit); "
    "a change of one or two cases is reported as about the same, because with so few cases it may be chance."
)


def _share(met: int, assessed: int) -> str:
    return f"{percent(met, assessed)}% ({met} of {assessed})"


def change_phrase(number: int, now_met: int, now_assessed: int, then_met: int, then_assessed: int,
                  label: str) -> str:
    """'Standard 1: 82% (9 of 11), up from 64% (7 of 11) in 2015-16'."""
    from .comparison import DOWN, NOT_COMPARED, UP, direction

    way, _ = direction(now_met, now_assessed, then_met, then_assessed)
    if way == NOT_COMPARED:
        now = _share(now_met, now_assessed) if now_assessed else "not assessed in any case"
        then = _share(then_met, then_assessed) if then_assessed else "not assessed in any case"
        return f"Standard {number}: {now}; in {label}, {then} (not compared)"
    link = {UP: "up from", DOWN: "down from"}.get(way, "about the same as")
    return f"Standard {number}: {_share(now_met, now_assessed)}, {link} {_share(then_met, then_assessed)} in {label}"


def change_sentence(c, label: str) -> str:
    """One standard compared: the phrase, then what the standard is about."""
    return (f"{change_phrase(c.number, c.now_met, c.now_assessed, c.then_met, c.then_assessed, label)} "
            f"({c.finding_met}).")


def comparison_intro(comparison) -> str:
    n = len(comparison.changes)
    name = f" ({comparison.previous_round_name})" if comparison.previous_round_name else ""
    return (f"This section compares this audit with the previous one, {comparison.previous_cycle_name}{name}: "
            f"for each of the {n} {'standard' if n == 1 else 'standards'} asked in both with the same wording, "
            "the cases meeting it now and then, each with its counts. " + SMALL_CHANGE_RULE)


def counting_rule_change(comparison) -> str:
    if not comparison.rule_changed:
        return (f"Both audits counted a case as meeting a standard under the same rule "
                f"('{comparison.current_rule.value}').")
    return (f"The two audits counted cases differently: {comparison.label} under the "
            f"'{comparison.previous_rule.value}' rule, this audit under the '{comparison.current_rule.value}' "
            "rule, so part of any change may come from the rule rather than from practice.")


def reworded_note(comparison) -> str:
    if not comparison.reworded:
        return ""
    numbers = list(comparison.reworded)
    return (f"{_standards(numbers)} {'was' if len(numbers) == 1 else 'were'} worded differently in "
            f"{comparison.label}, so {'it is' if len(numbers) == 1 else 'they are'} not compared: a reworded "
            "standard is a different standard.")


def new_standards_note(comparison) -> str:
    if not comparison.new_standards:
        return ""
    numbers = list(comparison.new_standards)
    return f"{_standards(numbers)} {'was' if len(numbers) == 1 else 'were'} not asked in {comparison.label}."


def movement_sentence(moved, comparison) -> str:
    """The Executive Summary's sentence on the standards that moved most (beyond the small-change rule)."""
    if not comparison.changes:
        return ""
    if not moved:
        return (f"Compared with {comparison.label}, no standard moved by more than two cases, so the figures are "
                "about the same.")
    parts = [f"{change_phrase(c.number, c.now_met, c.now_assessed, c.then_met, c.then_assessed, comparison.label)}"
             for c in moved]
    return (f"Compared with {comparison.label}, the {'standards' if len(parts) > 1 else 'standard'} that moved "
            f"most {'were' if len(parts) > 1 else 'was'}: {'; '.join(parts)}.")


def round_line(round_name: str, theme: str) -> str:
    """The cover's line naming a round of the programme: 'Round: 2016-17 neglect round. Theme: Neglect.'"""
    parts = [f"Round: {round_name}." if round_name else "", f"Theme: {theme}." if theme else ""]
    return " ".join(p for p in parts if p)


def comparison_chart_title(comparison, current_label: str) -> str:
    return f"Share of cases meeting each standard: {comparison.label} and {current_label}"


def comparison_alt_text(comparison, current_label: str) -> str:
    parts = [f"Bar chart. {comparison_chart_title(comparison, current_label)}."]
    for c in comparison.changes:
        then = _share(c.then_met, c.then_assessed) if c.then_assessed else "not assessed"
        now = _share(c.now_met, c.now_assessed) if c.now_assessed else "not assessed"
        parts.append(f"Standard {c.number}: {comparison.label} {then}; {current_label} {now}; {c.direction}.")
    return " ".join(parts)
# --- moderation (issue 14) ---------------------------------------------------------------------

KIND_WORDS = {"met": "met", "not met": "not met", "not applicable": "not applicable", "blank": "blank"}


def direction_phrase(count: int, from_kind: str, to_kind: str) -> str:
    return f"{count} from {KIND_WORDS.get(from_kind, from_kind)} to {KIND_WORDS.get(to_kind, to_kind)}"


def moderation_methodology(m) -> str:
    """'A multi-agency moderation panel then reviewed the agencies' ratings and changed 7 of them: 5 from met to
    not met and 2 from not met to met. Every figure in this report uses the panel's rating where it changed one.'"""
    if not m.ratings_changed:
        lead = "A multi-agency moderation panel then reviewed the agencies' ratings and changed none of them."
    else:
        ways = join_and([direction_phrase(d.count, d.from_kind, d.to_kind) for d in m.directions])
        lead = (f"A multi-agency moderation panel then reviewed the agencies' ratings and changed "
                f"{m.ratings_changed} of them: {ways}. "
                "Every figure in this report uses the panel's rating where it changed one.")
    if m.cases_graded:
        lead += f" The panel also gave {plural(m.cases_graded, 'case', 'cases')} an overall grade (see Findings)."
    if m.simulated:
        lead += " (Simulated moderation decisions, for the demonstration.)"
    return lead


def moderation_agency_note(changes) -> str:
    """Appendix 2: where the panel changed this agency's ratings, and why."""
    if not changes:
        return ""
    items = [f"case {c.case_ref}, standard {c.standard}: {KIND_WORDS.get(c.from_kind, c.from_kind)} to "
             f"{KIND_WORDS.get(c.to_kind, c.to_kind)}" for c in changes]
    n = len(changes)
    return (f"The moderation panel changed {plural(n, 'rating', 'ratings')} of this agency ({'; '.join(items)}); "
            "the figures above use the panel's ratings.")


def grade_sentence(area, grades: Sequence[str]) -> str:
    """'Of the 4 Neglect cases, the panel graded 4: 1 Outstanding, 1 Good and 2 Requires improvement.'"""
    if not area.graded:
        return f"None of the {plural(area.cases, area.name + ' case', area.name + ' cases')} has been graded yet."
    parts = [f"{n} {grade}" for grade, n in zip(grades, area.counts) if n]
    return (f"Of the {plural(area.cases, area.name + ' case', area.name + ' cases')}, the panel graded "
            f"{area.graded}: {join_and(parts)}.")


def grade_rows(m) -> list[dict[str, object]]:
    """The case grades table: one row per priority area and grade given, with the case references."""
    return [{"area": a.name, "grade": grade, "count": n, "cases": ", ".join(refs)}
            for a in m.by_area for grade, n, refs in zip(m.grades, a.counts, a.case_refs) if n]


def escalation_sentence(m) -> str:
    if not m.escalated:
        return "The panel escalated no case."
    items = [f"{g.case_ref} ({g.grade})" for g in m.escalated]
    return f"The panel escalated {plural(len(items), 'case', 'cases')}: {join_and(items)}."


def moderation_words(m) -> dict[str, object]:
    """What the report template prints about moderation (`moderation.*`); {} when the panel decided nothing."""
    if m is None:
        return {}
    return {
        "methodology": moderation_methodology(m),
        "grade_rows": grade_rows(m),
        "grade_sentences": [grade_sentence(a, m.grades) for a in m.by_area if a.cases],
        "graded": m.cases_graded,
        "escalations": escalation_sentence(m) if m.escalations_in_report else "",
    }
