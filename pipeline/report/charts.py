"""The report's charts as PNG bytes, each with alt text that states the figures it shows.

matplotlib with the Agg backend: no display, same pixels on Windows and Linux.
Every label is made from the same counts the tables print; the words (titles,
labels, alt text) come from `pipeline.wording`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import struct
import textwrap
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from importlib.metadata import version

from .. import wording
from ..cache import code_fingerprint, write_cache
from ..findings import AgencyFindings, KloeFindings, StandardFindings

MET_COLOUR = "#1F3864"
NOT_MET_COLOUR = "#D9DEE8"
TEXT_COLOUR = "#262626"
DPI = 200
WIDTH_IN = 6.3  # the text width of an A4 page with 2 cm margins

STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.edgecolor": "#808080",
    "axes.labelcolor": TEXT_COLOUR,
    "xtick.color": TEXT_COLOUR,
    "ytick.color": TEXT_COLOUR,
    "svg.hashsalt": "case-audit",
    # Glyphs drawn as the font designs them, not hinted to the pixel grid: hinting is for screens at 96 dpi,
    # these are 200 dpi for print, and it was a sixth of the charts' cost (text is most of it).
    "text.hinting": "no_hinting",
}


def _figure(height: float):
    """A figure and its axes on an Agg canvas of its own, without pyplot: nothing global to register or close.

    matplotlib is loaded when a chart is drawn: a build whose charts are all kept (see ChartCache) never loads
    it, which saves about 30 MB and a third of a second.
    """
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    matplotlib.rcParams.update(STYLE)
    fig = Figure(figsize=(WIDTH_IN, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig, fig.subplots()


@dataclass(frozen=True)
class Chart:
    png: bytes
    title: str
    alt_text: str


def _short_phrase(s: StandardFindings, width: int = 44) -> str:
    phrase = (s.finding_met or s.text).strip().rstrip(".")
    phrase = phrase[:1].upper() + phrase[1:]
    lines = textwrap.wrap(phrase, width)
    if len(lines) > 2:
        lines = lines[:2]
        lines[1] = lines[1][: width - 1].rstrip() + "\u2026"
    return "\n".join([wording.standard_label(s.number)] + lines)


def kloe_chart(kloe: KloeFindings) -> Chart:
    """Share of cases meeting each standard of one KLOE, with 'n of N (p%)' on every bar."""
    stds = list(kloe.standards)
    height = 0.9 + 0.62 * max(len(stds), 1)
    fig, ax = _figure(height)
    labels = [_short_phrase(s) for s in stds]
    y = list(range(len(stds)))[::-1]
    met = [s.percent_met if s.cases_assessed else 0 for s in stds]
    rest = [100 - m if s.cases_assessed else 0 for m, s in zip(met, stds)]
    ax.barh(y, met, color=MET_COLOUR, height=0.58, label=wording.CHART_MET)
    ax.barh(y, rest, left=met, color=NOT_MET_COLOUR, height=0.58, label=wording.CHART_NOT_MET)
    for yy, s, m in zip(y, stds, met):
        text = wording.cases_label(s)
        # Inside the axes (on the bar, or just past a bar short of 28%): tight_layout need not measure it.
        if s.cases_assessed and m >= 28:
            label = ax.text(m - 1.5, yy, text, va="center", ha="right", color="white", fontsize=8, fontweight="bold")
        else:
            label = ax.text(max(m, 0) + 1.5, yy, text, va="center", ha="left", color=TEXT_COLOUR, fontsize=8,
                            fontweight="bold")
        label.set_in_layout(False)
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=7.5)
    ax.set_xlim(0, 100)
    ax.set_xticks([0, 25, 50, 75, 100])
    ax.set_xticklabels(["0%", "25%", "50%", "75%", "100%"])
    ax.set_xlabel(wording.KLOE_CHART_AXIS)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False, fontsize=8)
    fig.tight_layout()
    png = _png(fig)
    return Chart(png, wording.kloe_chart_title(kloe.number), wording.kloe_chart_alt_text(kloe))


def agency_grid(standards: Sequence[StandardFindings], agencies: Sequence[AgencyFindings]) -> Chart:
    """Agency x standard grid: each cell 'met / rated' for that agency's answers, shaded by the share met."""
    cols = [a for a in agencies if any(f.rated for f in a.standards)]
    rows = list(standards)
    n_rows, n_cols = max(len(rows), 1), max(len(cols), 1)
    cell_h = 0.27
    height = 1.6 + cell_h * n_rows
    from matplotlib.colors import LinearSegmentedColormap
    from matplotlib.patches import Rectangle

    fig, ax = _figure(height)
    cmap = LinearSegmentedColormap.from_list("met", ["#F4F6FA", "#1F3864"])
    grid = [[float("nan")] * n_cols for _ in range(n_rows)]
    for ci, agency in enumerate(cols):
        by_std = {f.standard: f for f in agency.standards}
        for ri, s in enumerate(rows):
            f = by_std.get(s.number)
            if f is not None and f.rated:
                grid[ri][ci] = f.met / f.rated
    masked = [[(v if v == v else 0.0) for v in row] for row in grid]
    # cells as vector quads: imshow resampled the grid to a page-sized float image (+55 MB at the peak)
    ax.pcolormesh([c - 0.5 for c in range(n_cols + 1)], [r - 0.5 for r in range(n_rows + 1)], masked,
                  cmap=cmap, vmin=0, vmax=1)
    ax.set_xlim(-0.5, n_cols - 0.5)
    ax.set_ylim(n_rows - 0.5, -0.5)  # the first standard at the top, as before
    for ci, agency in enumerate(cols):
        by_std = {f.standard: f for f in agency.standards}
        for ri, s in enumerate(rows):
            f = by_std.get(s.number)
            if f is None or not f.rated:
                ax.add_patch(Rectangle((ci - 0.5, ri - 0.5), 1, 1, color="white"))
                continue
            share = f.met / f.rated
            ax.text(ci, ri, f"{f.met}/{f.rated}", ha="center", va="center", fontsize=6.5,
                    color="white" if share > 0.55 else TEXT_COLOUR, in_layout=False)  # inside its cell: not measured
    ax.set_xticks(range(len(cols)))
    ax.set_xticklabels([wording.column_label(a) for a in cols], rotation=40, ha="left", fontsize=7)
    ax.xaxis.tick_top()
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([wording.standard_label(s.number) for s in rows], fontsize=7)
    ax.set_xticks([x - 0.5 for x in range(1, len(cols))], minor=True)
    ax.set_yticks([y - 0.5 for y in range(1, len(rows))], minor=True)
    ax.grid(which="minor", color="#BFBFBF", linewidth=0.5)
    ax.tick_params(which="minor", length=0)
    ax.tick_params(which="major", length=0)
    for spine in ax.spines.values():
        spine.set_color("#BFBFBF")
    fig.tight_layout()
    png = _png(fig)
    return Chart(png, wording.GRID_TITLE, wording.grid_alt_text(cols))


def _png(fig) -> bytes:
    """The figure as PNG: drawn once on its Agg canvas and encoded from those pixels.

    The same pixels `savefig` gives (it draws the figure again, then encodes through numpy), about 10% sooner.
    RGB without alpha (the background is opaque white), 200 pixels per inch recorded, no text chunks: the
    bytes depend on the pixels alone. The rows are stored unfiltered and deflated at zlib level 3: PIL's
    encoder tried five filters on every row of every chart, two thirds of its time, for files about 12% larger
    than these (charts are flat colour, which unfiltered rows compress best).
    """
    import numpy as np  # matplotlib's own dependency, imported by it already

    canvas = fig.canvas
    canvas.draw()
    width, height = canvas.get_width_height(physical=True)
    rows = np.zeros((height, 1 + 3 * width), dtype=np.uint8)  # each row: filter type 0 (none), then R, G, B...
    rows[:, 1:] = np.asarray(canvas.buffer_rgba())[:, :, :3].reshape(height, 3 * width)
    per_metre = int(DPI / 0.0254 + 0.5)
    return b"".join([
        b"\x89PNG\r\n\x1a\n",
        _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)),  # 8-bit RGB
        _png_chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)),
        _png_chunk(b"IDAT", zlib.compress(rows.tobytes(), 3)),
        _png_chunk(b"IEND", b""),
    ])


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


_QUOTES = {"reasons", "na_reasons", "evidence"}
# Agencies' words, which no chart shows, left out of a chart's key: at 1,000 returns they were 11 MB of JSON
# to hash for six charts. A chart made to show any of them must take them out of here.
_NOT_CHARTED = {
    StandardFindings: _QUOTES,
    KloeFindings: {"standards": {"__all__": _QUOTES}},
    AgencyFindings: {"by_kloe": {"__all__": _QUOTES}},
}


class ChartCache:
    """Charts kept between builds in a folder (the workspace's .case-audit/charts/), one file per chart.

    Drawing the six charts is most of a build's fixed cost; a rebuild whose
    figures did not change (a narrative edit, a late return to one KLOE)
    takes the unchanged ones from here. The key is a sha256 of the function,
    the figures it is given, the package source and matplotlib's version, so
    a chart is drawn again whenever anything it shows could differ. `prune`
    removes the charts this build did not use.
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.used: set[str] = set()
        self.salt = f"{code_fingerprint()}\n{version('matplotlib')}\n"

    def draw(self, make: Callable[..., Chart], *args) -> Chart:
        h = hashlib.sha256(f"{self.salt}{make.__name__}".encode())
        for arg in args:
            for item in (arg if isinstance(arg, (list, tuple)) else (arg,)):
                h.update(b"\x00" + item.model_dump_json(exclude=_NOT_CHARTED.get(type(item))).encode("utf-8"))
        name = f"{h.hexdigest()}.chart"
        self.used.add(name)
        with contextlib.suppress(OSError, ValueError, KeyError):
            head, _, png = (self.folder / name).read_bytes().partition(b"\n")
            words = json.loads(head)
            if png.startswith(b"\x89PNG"):
                return Chart(png, words["title"], words["alt_text"])
        chart = make(*args)
        with contextlib.suppress(OSError):
            self.folder.mkdir(exist_ok=True)  # inside .case-audit/ only: never makes a workspace of a folder
            head = json.dumps({"title": chart.title, "alt_text": chart.alt_text}).encode("utf-8")
            write_cache(self.folder / name, head + b"\n" + chart.png)
        return chart

    def prune(self) -> None:
        with contextlib.suppress(OSError):
            for path in self.folder.glob("*.chart"):
                if path.name not in self.used:
                    with contextlib.suppress(OSError):
                        path.unlink()
