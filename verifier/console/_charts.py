"""Charts drawn on the server as SVG: no script, no asset from anywhere, printable.

Why SVG on the server rather than Vega-Lite in the browser: the console must work with no
internet and under a strict Content-Security-Policy (no script at all), and a chart here is
a handful of bars or lines over figures the page already has. Every string that reaches the
SVG is escaped here; colours are presentation attributes, not inline styles, so
``style-src 'self'`` holds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

PALETTE = (
    "#1f6feb", "#d4731a", "#2da44e", "#bf3989", "#8250df", "#a40e26", "#0a7f8a", "#6e7781",
)  # fmt: skip
KNOWN_COLOUR = "#2da44e"
UNKNOWN_COLOUR = "#d4731a"
_FONT = 'font-family="sans-serif" font-size="12"'
_BAR_HEIGHT = 18
_ROW_GAP = 8
_LABEL_WIDTH = 220
_PLOT_WIDTH = 420


@dataclass(frozen=True, slots=True)
class Segment:
    series: str
    value: float
    colour: str


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def bar_chart(title: str, rows: Sequence[tuple[str, float]], empty: str) -> str:
    """Horizontal bars, one per row, each labelled with its value."""
    return stacked_bar_chart(
        title, [(name, [Segment(name, value, colour(0))]) for name, value in rows], empty
    )


def stacked_bar_chart(
    title: str, rows: Sequence[tuple[str, Sequence[Segment]]], empty: str, legend: bool = False
) -> str:
    """Horizontal bars split into segments (known/unknown, one per decision…)."""
    if not rows or not any(s.value for _, segments in rows for s in segments):
        return _empty(title, empty)
    largest = max(sum(s.value for s in segments) for _, segments in rows)
    series = list(dict.fromkeys((s.series, s.colour) for _, segments in rows for s in segments))
    legend_height = 22 if legend else 0
    height = legend_height + len(rows) * (_BAR_HEIGHT + _ROW_GAP) + _ROW_GAP
    width = _LABEL_WIDTH + _PLOT_WIDTH + 60
    parts = [_open(title, width, height)]
    if legend:
        parts.append(_legend(series, 0))
    for index, (name, segments) in enumerate(rows):
        y = legend_height + _ROW_GAP + index * (_BAR_HEIGHT + _ROW_GAP)
        parts.append(
            f'<text class="row" x="{_LABEL_WIDTH - 6}" y="{y + 13}" text-anchor="end" {_FONT}>'
            f"{escape(name)}</text>"
        )
        x = float(_LABEL_WIDTH)
        for segment in segments:
            length = segment.value / largest * _PLOT_WIDTH
            if length <= 0:
                continue
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{length:.1f}" height="{_BAR_HEIGHT}" '
                f'fill="{segment.colour}"><title>{escape(segment.series)}: '
                f"{_number(segment.value)}</title></rect>"
            )
            x += length
        total = sum(s.value for s in segments)
        parts.append(f'<text x="{x + 4:.1f}" y="{y + 13}" {_FONT}>{_number(total)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    title: str,
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    empty: str,
    *,
    percent: bool = False,
) -> str:
    """One line per series over the x positions; a None value leaves a gap (no data then).
    A single point is drawn as a dot."""
    values = [v for _, points in series for v in points if v is not None]
    if not x_labels or not values:
        return _empty(title, empty)
    top = _nice_top(max(values))
    left, right, plot_top, plot_height = 60, 20, 30, 200
    width = left + _PLOT_WIDTH + 140 + right
    height = plot_top + plot_height + 50
    step = _PLOT_WIDTH / max(1, len(x_labels) - 1)
    parts = [_open(title, width, height)]
    for tick in range(5):  # gridlines and the y scale
        scale = top * tick / 4
        y = plot_top + plot_height - plot_height * tick / 4
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + _PLOT_WIDTH}" y2="{y:.1f}" '
            f'stroke="#d0d7de" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" {_FONT}>'
            f"{_axis(scale, percent)}</text>"
        )
    for index in _label_positions(len(x_labels)):
        x = left + index * step if len(x_labels) > 1 else left + _PLOT_WIDTH / 2
        parts.append(
            f'<text x="{x:.1f}" y="{plot_top + plot_height + 18}" text-anchor="middle" '
            f"{_FONT}>{escape(x_labels[index])}</text>"
        )
    for number, (name, points) in enumerate(series):
        stroke = colour(number)
        coordinates: list[tuple[float, float, float] | None] = []
        for index, value in enumerate(points):
            if value is None:
                coordinates.append(None)
                continue
            x = left + index * step if len(x_labels) > 1 else left + _PLOT_WIDTH / 2
            y = plot_top + plot_height - plot_height * (value / top if top else 0)
            coordinates.append((x, y, value))
        for run in _runs(coordinates):
            if len(run) > 1:
                path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in run)
                parts.append(
                    f'<polyline points="{path}" fill="none" stroke="{stroke}" stroke-width="2"/>'
                )
            for x, y, value in run:
                parts.append(
                    f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{stroke}"><title>'
                    f"{escape(name)}: {_axis(value, percent)}</title></circle>"
                )
    legend = [(name, colour(number)) for number, (name, _) in enumerate(series)]
    parts.append(_side_legend(legend, left + _PLOT_WIDTH + 16, plot_top))
    parts.append("</svg>")
    return "".join(parts)


def _open(title: str, width: float, height: float) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'aria-label="{escape(title)}" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}"><title>{escape(title)}</title>'
    )


def _empty(title: str, empty: str) -> str:
    return _open(title, 400, 30) + f'<text x="0" y="20" {_FONT}>{escape(empty)}</text></svg>'


def _legend(series: Sequence[tuple[str, str]], y: float) -> str:
    parts, x = [], float(_LABEL_WIDTH)
    for name, fill in series:
        parts.append(
            f'<rect x="{x:.1f}" y="{y + 4}" width="12" height="12" fill="{fill}"/>'
            f'<text x="{x + 16:.1f}" y="{y + 14}" {_FONT}>{escape(name)}</text>'
        )
        x += 28 + 7.5 * len(name)
    return "".join(parts)


def _side_legend(series: Sequence[tuple[str, str]], x: float, y: float) -> str:
    return "".join(
        f'<rect x="{x:.1f}" y="{y + 18 * n}" width="12" height="12" fill="{fill}"/>'
        f'<text x="{x + 16:.1f}" y="{y + 18 * n + 10}" {_FONT}>{escape(name)}</text>'
        for n, (name, fill) in enumerate(series)
    )


def _runs(
    coordinates: Sequence[tuple[float, float, float] | None],
) -> list[list[tuple[float, float, float]]]:
    runs: list[list[tuple[float, float, float]]] = [[]]
    for point in coordinates:
        if point is None:
            runs.append([])
        else:
            runs[-1].append(point)
    return [run for run in runs if run]


def _label_positions(count: int, most: int = 6) -> list[int]:
    """At most ``most`` x labels, evenly spread, first and last included."""
    if count <= most:
        return list(range(count))
    stride = math.ceil((count - 1) / (most - 1))
    positions = list(range(0, count, stride))
    if positions[-1] != count - 1:
        positions.append(count - 1)
    return positions


def _nice_top(value: float) -> float:
    """A round scale top at or above ``value`` (1, 2 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 5, 10):
        if value <= factor * power:
            return float(factor * power)
    return float(10 * power)


def _axis(value: float, percent: bool) -> str:
    return f"{value * 100:.3g}%" if percent else _number(value)


def _number(value: float) -> str:
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.1f}" if value >= 10 else f"{value:.2f}"
