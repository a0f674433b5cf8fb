"""What the reports page draws: each figure's cells (a value, its text, the link to the
conversations behind it) and its chart's geometry, computed here so that the templates only
place them (SVG attributes, no inline style)."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from html import escape
from urllib.parse import quote, urlencode

from django.urls import reverse
from django.utils.safestring import SafeString

from dashboard.reporting import figures
from dashboard.reporting.periods import Bucket

WIDTH, HEIGHT = 640, 200
POINTS = 600
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 12, 28
# On a phone the chart is drawn at about half its width, and reports.css sets its labels in up
# to 27 units to read at 12 px: a label is placed so that at that size it stays inside (a
# character about CHAR_WIDTH of the size wide, a digit DIGIT_WIDTH).
PHONE_FONT, CHAR_WIDTH, DIGIT_WIDTH = 27, 0.56, 0.64
BACKLOG_SERIES = (
    ("active", "Active"), ("unassigned", "Unassigned"), ("waiting", "Waiting"), ("overdue", "Overdue"),
)
BACKLOG_COUNTS = {
    "active": "The conversations WapiKit had Active at the snapshot, as the timeline knew them.",
    "unassigned": "The Active conversations assigned to nobody at the snapshot.",
    "waiting": "The Active conversations whose customer waited for an answer at the snapshot.",
    "overdue": "The waiting conversations past their response target at the snapshot.",
}


@dataclass(frozen=True, slots=True)
class Cell:
    value: int | None
    text: str
    href: str = ""

    @property
    def html(self) -> SafeString:
        """The number as the page shows it: a link to its conversations when any are behind
        it; "not observed" or "none" muted. Drawn here once, not by a template tag per cell, and
        escaped by the standard library's html.escape (what Django's escape calls, without its
        per-call look for lazy text: a page has thousands of cells)."""
        if self.href:
            return SafeString(f'<a href="{escape(self.href)}">{escape(self.text)}</a>')
        if self.value is None:
            return SafeString(f'<span class="muted">{escape(self.text)}</span>')
        return SafeString(escape(self.text))


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    gap: bool
    title: str


@dataclass(slots=True)
class Chart:
    bars: list[Bar] = field(default_factory=list)
    top: int = 0  # the value at the axis's top
    lines: list[dict] = field(default_factory=list)  # backlog: {"series", "points"}
    ticks: list[dict] = field(default_factory=list)  # x labels: {"x", "label"}
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def bars_svg(self) -> str:
        """The bars, each with its title (a bar not observed is a pale band): drawn here once,
        as SVG attributes (no inline style), rather than by a template loop over every bar."""
        return SafeString("\n".join(
            f'<rect class="{"gap" if b.gap else "bar"}" x="{b.x:.1f}" y="{b.y:.1f}" width="{b.width:.1f}" '
            f'height="{b.height:.1f}"><title>{escape(b.title)}</title></rect>'
            for b in self.bars
        ))
    base: int = HEIGHT - BOTTOM
    left: int = LEFT
    right: int = WIDTH - RIGHT
    middle: float = (HEIGHT - BOTTOM + TOP) / 2


@dataclass(slots=True)
class FigureView:
    key: str
    heading: str
    counts: str
    rows: list[tuple[Bucket, Cell]]
    total: Cell
    chart: Chart
    unit: str = ""


def list_url(query: dict, figure: str, **narrower: str) -> str:
    narrowed = "".join(f"&{key}={quote(value, safe='')}" for key, value in narrower.items() if value)
    return f"{_list_base(tuple(query.items()))}&figure={figure}{narrowed}"


@lru_cache(maxsize=64)
def _list_base(query: tuple) -> str:
    return f"{reverse('report_list')}?{urlencode(query)}"


def cell(tally: figures.Tally | None, figure: str, href: str) -> Cell:
    if tally is None:
        tally = figures.Tally()
    value = tally.value(figure)
    if value is None:
        return Cell(None, "none", "")
    suffix = " %" if figure == "targets_met" else ""
    return Cell(value, f"{value}{suffix}", href if tally.has(figure) else "")


def figure_views(report: figures.Report, query: dict) -> list[FigureView]:
    found = []
    for key, (heading, counts) in figures.FIGURES.items():
        rows = []
        for bucket in report.buckets:
            if not bucket.seen:
                rows.append((bucket, Cell(None, "not observed")))
                continue
            tally = report.by_bucket.get(bucket.key)
            rows.append((bucket, cell(tally, key, list_url(query, key, bucket=bucket.key.isoformat()))))
        total = cell(report.total, key, list_url(query, key))
        unit = "%" if key == "targets_met" else ("min" if key in figures.MINUTE_FIGURES else "")
        found.append(FigureView(key, heading, counts, rows, total, bar_chart(rows, percent=key == "targets_met"), unit))
    return found


def _top(values: list[int], *, percent: bool) -> int:
    if percent:
        return 100
    highest = max(values, default=0)
    if highest <= 5:
        return 5
    step = 10 ** (len(str(highest)) - 1)
    return -(-highest // step) * step


def _ticks(labels: list[str], xs: list[float]) -> list[dict]:
    """The first, middle and last labels (the table has them all), each centred on its bar
    unless, set as large as a phone sets it, it would leave the chart (then it starts at the
    left edge or ends at the right); the middle one only when it has room between the others."""
    if not labels:
        return []
    placed = []
    for index in sorted({0, len(labels) // 2, len(labels) - 1}):
        label, x = labels[index], xs[index]
        wide = len(label) * CHAR_WIDTH * PHONE_FONT
        if x - wide / 2 < 0:
            placed.append(({"x": 2, "label": label, "anchor": "start"}, 2, 2 + wide))
        elif x + wide / 2 > WIDTH:
            placed.append(({"x": WIDTH - 2, "label": label, "anchor": "end"}, WIDTH - 2 - wide, WIDTH - 2))
        else:
            placed.append(({"x": round(x, 1), "label": label, "anchor": "middle"}, x - wide / 2, x + wide / 2))
    if len(placed) == 3 and (placed[1][1] < placed[0][2] + PHONE_FONT / 2 or placed[1][2] > placed[2][1] - PHONE_FONT / 2):
        del placed[1]
    return [tick for tick, _, _ in placed]


def _with_axis(top: int) -> Chart:
    """A chart whose left margin holds its top value at a phone's size, right-aligned to the axis."""
    return Chart(top=top, left=max(LEFT, round(6 + len(str(top)) * DIGIT_WIDTH * PHONE_FONT)))


def bar_chart(rows: list[tuple[Bucket, Cell]], *, percent: bool = False) -> Chart:
    values = [c.value for _, c in rows if c.value is not None]
    chart = _with_axis(_top(values, percent=percent))
    plot_width, plot_height = WIDTH - chart.left - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_width / max(len(rows), 1)
    width = max(slot * 0.8, 1)
    centres = []
    for index, (bucket, value) in enumerate(rows):
        x = chart.left + index * slot + (slot - width) / 2
        centres.append(x + width / 2)
        if value.value is None and value.text == "not observed":
            bar = Bar(round(x, 1), TOP, round(width, 1), plot_height, True, f"{bucket.label}: not observed")
        else:
            height = plot_height * (value.value or 0) / chart.top if chart.top else 0
            bar = Bar(round(x, 1), round(TOP + plot_height - height, 1), round(width, 1), round(height, 1), False,
                      f"{bucket.label}: {value.text}")
        chart.bars.append(bar)
    chart.ticks = _ticks([b.label for b, _ in rows], centres)
    return chart


def backlog_chart(snapshots: list, start: datetime, end: datetime, periods: list[tuple[datetime, datetime]]) -> Chart:
    """One line per series, broken where the dashboard stopped observing (a new observed period
    begins): a gap, never a line through zeros. A long span draws a sample of its snapshots
    (tables.snapshots_in); the table beneath has each day's last."""
    chart = _with_axis(_top([s.active for s in snapshots], percent=False))
    plot_width, plot_height = WIDTH - chart.left - RIGHT, HEIGHT - TOP - BOTTOM
    span = (end - start).total_seconds() or 1

    def point(snapshot, name: str) -> str:
        x = chart.left + plot_width * (snapshot.at - start).total_seconds() / span
        y = TOP + plot_height - plot_height * getattr(snapshot, name) / chart.top
        return f"{x:.1f},{y:.1f}"

    runs: dict[int, list] = {}
    starts = [started for started, _ in periods]
    for snapshot in snapshots:
        runs.setdefault(bisect.bisect_right(starts, snapshot.at), []).append(snapshot)
    for name, label in BACKLOG_SERIES:
        for run in runs.values():
            chart.lines.append({"series": name, "label": label, "points": " ".join(point(s, name) for s in run)})
    return chart


def backlog_states(conversation_id: str, kept: dict[str, set[str]]) -> str:
    """What a conversation was at a snapshot: "active, unassigned, waiting", …"""
    return ", ".join(name for name, _ in BACKLOG_SERIES if conversation_id in kept.get(name, ()))
