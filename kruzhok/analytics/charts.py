"""Server-side SVG charts: lines (with an optional confidence band) and bars.

Small on purpose: a viewBox sized for a phone (360 units wide, text at 11 units) that scales up on a
desktop, colours from a fixed palette that stays distinct for colour-blind readers, and an aria-label
with a one-sentence summary. Every chart on a page also has a <table> with the same numbers.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 360, 210
LEFT, RIGHT, TOP, BOTTOM = 40, 18, 12, 28
# Okabe–Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")


@dataclass(frozen=True)
class Series:
    label: str
    points: Sequence[tuple[float, float]]
    band: Sequence[tuple[float, float, float]] = ()  # (x, low, high)
    step: bool = False


def _fmt(v: float) -> str:
    return f"{v:.1f}"


def _scale(lo: float, hi: float, a: float, b: float):
    span = (hi - lo) or 1.0
    return lambda v: a + (v - lo) / span * (b - a)


NICE_STEPS = (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10)
WHOLE_STEPS = (1, 2, 3, 4, 5, 6, 8, 10)


def _nice_top(peak: float) -> float:
    """The top of a four-tick axis at or above `peak`, on round steps (0, 3, 6, 9, 12 — not 3.25, 6.5):
    a gridline labelled «3 %» must be at 3 %."""
    if peak <= 0:
        return 1.0
    quarter = peak / 4
    magnitude = 10 ** math.floor(math.log10(quarter))
    # Under 10 a step of 1.5 or 2.5 would be printed rounded by a whole-number label («2 %» at 1.5).
    steps = WHOLE_STEPS if 1 <= quarter < 10 else NICE_STEPS
    step = next(m * magnitude for m in steps if m * magnitude >= quarter * (1 - 1e-9))
    return step * 4


def _frame(label: str, body: list[str]) -> SafeString:
    return mark_safe(  # noqa: S308 — every text inside went through escape()
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(label)}" '
        f'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(label)}</title>" + "".join(body) + "</svg>"
    )


def _axes(y_lo, y_hi, y, y_ticks, y_format, x_labels) -> list[str]:
    out = []
    for t in y_ticks:
        py = y(t)
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_fmt(py)}" y2="{_fmt(py)}" class="chart-grid"/>'
            f'<text x="{LEFT - 4}" y="{_fmt(py + 4)}" text-anchor="end" class="chart-tick">{escape(y_format(t))}</text>'
        )
    for px, text in x_labels:
        out.append(
            f'<text x="{_fmt(px)}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" class="chart-tick">{escape(text)}</text>'
        )
    return out


def line_chart(
    series: Sequence[Series],
    *,
    label: str,
    x_labels: Sequence[tuple[float, str]] = (),
    y_min: float = 0.0,
    y_max: float | None = None,
    y_format=lambda v: f"{v:.0%}",
    y_ticks: Sequence[float] | None = None,
    x_min: float | None = None,
    x_max: float | None = None,
) -> SafeString:
    xs = [p[0] for s in series for p in s.points]
    ys = [p[1] for s in series for p in s.points] + [b[2] for s in series for b in s.band]
    if not xs:
        return _frame(label, [f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">—</text>'])
    x_lo = min(xs) if x_min is None else x_min
    x_hi = max(xs) if x_max is None else x_max
    y_hi = y_max if y_max is not None else _nice_top(max(ys))
    x = _scale(x_lo, x_hi, LEFT, WIDTH - RIGHT)
    y = _scale(y_min, y_hi, HEIGHT - BOTTOM, TOP)
    ticks = y_ticks if y_ticks is not None else [y_min + (y_hi - y_min) * i / 4 for i in range(5)]
    body = _axes(y_min, y_hi, y, ticks, y_format, [(x(v), t) for v, t in x_labels])
    for i, s in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        if s.band:
            upper = [(x(px), y(hi)) for px, _lo, hi in s.band]
            lower = [(x(px), y(lo)) for px, lo, _hi in reversed(s.band)]
            if s.step:
                upper, lower = _steps(upper), _steps(lower, reverse=True)
            pts = " ".join(f"{_fmt(a)},{_fmt(b)}" for a, b in upper + lower)
            body.append(f'<polygon points="{pts}" fill="{colour}" fill-opacity="0.15" stroke="none"/>')
        line = [(x(px), y(py)) for px, py in s.points]
        if s.step:
            line = _steps(line)
        pts = " ".join(f"{_fmt(a)},{_fmt(b)}" for a, b in line)
        body.append(
            f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2" '
            f'stroke-linejoin="round"><title>{escape(s.label)}</title></polyline>'
        )
        if not s.step and len(line) <= 24:
            body.extend(f'<circle cx="{_fmt(a)}" cy="{_fmt(b)}" r="2.5" fill="{colour}"/>' for a, b in line)
    return _frame(label, body)


def _steps(points: list[tuple[float, float]], reverse: bool = False) -> list[tuple[float, float]]:
    """A survival curve is a step function: it holds its value until the next event."""
    if len(points) < 2:
        return points
    out = [points[0]]
    for (_x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        out.append((x1, y1) if reverse else (x1, y0))
        out.append((x1, y0) if reverse else (x1, y1))
    return out


def bar_chart(
    bars: Sequence[tuple[str, float]],
    *,
    label: str,
    y_format=lambda v: f"{v:.0f}",
    colour: str = PALETTE[0],
    highlight: Sequence[int] = (),
) -> SafeString:
    if not bars:
        return _frame(label, [f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">—</text>'])
    y_hi = _nice_top(max(v for _, v in bars))
    y = _scale(0, y_hi, HEIGHT - BOTTOM, TOP)
    slot = (WIDTH - LEFT - RIGHT) / len(bars)
    width = max(2.0, slot * 0.7)
    ticks = [y_hi * i / 4 for i in range(5)]
    step = max(1, len(bars) // 8)
    x_labels = [(LEFT + slot * (i + 0.5), text) for i, (text, _) in enumerate(bars) if i % step == 0]
    body = _axes(0, y_hi, y, ticks, y_format, x_labels)
    for i, (text, value) in enumerate(bars):
        top = y(value)
        fill = PALETTE[1] if i in highlight else colour
        body.append(
            f'<rect x="{_fmt(LEFT + slot * i + (slot - width) / 2)}" y="{_fmt(top)}" width="{_fmt(width)}" '
            f'height="{_fmt(HEIGHT - BOTTOM - top)}" fill="{fill}"><title>{escape(text)}: '
            f"{escape(y_format(value))}</title></rect>"
        )
    return _frame(label, body)


def interval_chart(
    rows: Sequence[tuple[str, float, float, float, float | None]], *, label: str, mean: float | None
) -> SafeString:
    """Forest plot: one row per unit, the shrunk rate as a dot, its interval as a line, the raw rate as a
    hollow ring, the network mean as a dashed line. rows: (label, shrunk, low, high, raw)."""
    row_h = 18
    height = TOP + BOTTOM + row_h * max(1, len(rows))
    left = 150
    x = _scale(0.0, 1.0, left, WIDTH - RIGHT)
    body = []
    for t in (0.0, 0.25, 0.5, 0.75, 1.0):
        body.append(
            f'<line x1="{_fmt(x(t))}" x2="{_fmt(x(t))}" y1="{TOP}" y2="{height - BOTTOM}" class="chart-grid"/>'
            f'<text x="{_fmt(x(t))}" y="{height - BOTTOM + 14}" text-anchor="middle" class="chart-tick">{t:.0%}</text>'
        )
    if mean is not None:
        body.append(
            f'<line x1="{_fmt(x(mean))}" x2="{_fmt(x(mean))}" y1="{TOP}" y2="{height - BOTTOM}" '
            f'stroke="#555" stroke-dasharray="4 3"/>'
        )
    for i, (text, shrunk, lo, hi, raw) in enumerate(rows):
        cy = TOP + row_h * i + row_h / 2
        short = text if len(text) <= 24 else text[:23] + "…"
        body.append(
            f'<text x="{left - 6}" y="{_fmt(cy + 4)}" text-anchor="end" class="chart-tick">{escape(short)}</text>'
            f'<line x1="{_fmt(x(lo))}" x2="{_fmt(x(hi))}" y1="{_fmt(cy)}" y2="{_fmt(cy)}" stroke="{PALETTE[0]}" stroke-width="2"/>'
            f'<circle cx="{_fmt(x(shrunk))}" cy="{_fmt(cy)}" r="4" fill="{PALETTE[0]}"/>'
        )
        if raw is not None:
            body.append(
                f'<circle cx="{_fmt(x(raw))}" cy="{_fmt(cy)}" r="4" fill="none" stroke="{PALETTE[1]}" stroke-width="1.5"/>'
            )
    svg = (
        f'<svg class="chart an-forest" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(label)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(label)}</title>' + "".join(body) + "</svg>"
    )
    return mark_safe(svg)  # noqa: S308 — every text inside went through escape()
