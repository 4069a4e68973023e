"""The chart of "Compared with the previous audit": each standard's share of cases meeting it, then and now."""

from __future__ import annotations

from .. import wording
from ..comparison import Comparison
from .charts import MET_COLOUR, NOT_MET_COLOUR, TEXT_COLOUR, Chart, _figure, _png

THEN_COLOUR = "#8FA3C8"
MAX_HEIGHT_IN = 8.6


def comparison_chart(comparison: Comparison) -> Chart:
    """Paired bars per standard (previous round, this round), each labelled 'p% (a of b)'."""
    changes = list(comparison.changes)
    then_label, now_label = comparison.label, comparison.current_cycle_id
    # at most MAX_HEIGHT_IN tall, so that the chart and its caption fit on an A4 page
    height = min(1.0 + 0.42 * max(len(changes), 1), MAX_HEIGHT_IN)
    fig, ax = _figure(height)
    y = list(range(len(changes)))[::-1]
    then = [c.then_percent if c.then_assessed else 0 for c in changes]
    now = [c.now_percent if c.now_assessed else 0 for c in changes]
    ax.barh([v + 0.2 for v in y], then, height=0.38, color=THEN_COLOUR, label=then_label)
    ax.barh([v - 0.2 for v in y], now, height=0.38, color=MET_COLOUR, label=now_label)
    for yy, c, t, n in zip(y, changes, then, now):
        ax.text(t + 1, yy + 0.2, _label(c.then_met, c.then_assessed, c.then_percent), va="center",
                fontsize=7, color=TEXT_COLOUR)
        ax.text(n + 1, yy - 0.2, _label(c.now_met, c.now_assessed, c.now_percent), va="center", fontsize=7,
                color=TEXT_COLOUR, fontweight="bold")
    ax.set_yticks(y)
    ax.set_yticklabels([f"{wording.standard_label(c.number)}\n({c.direction})" for c in changes], fontsize=7.5)
    ax.set_xlim(0, 118)
    ax.set_xticks([0, 25, 50, 75, 100])
    ax.set_xticklabels(["0%", "25%", "50%", "75%", "100%"])
    ax.set_xlabel(wording.KLOE_CHART_AXIS)
    ax.grid(axis="x", color=NOT_MET_COLOUR, linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False, fontsize=8)
    fig.tight_layout()
    png = _png(fig)
    return Chart(png, wording.comparison_chart_title(comparison, now_label),
                 wording.comparison_alt_text(comparison, now_label))


def _label(met: int, assessed: int, pct: int) -> str:
    return f"{pct}% ({met} of {assessed})" if assessed else wording.NOT_ASSESSED
