"""A risk-history sparkline as inline SVG, drawn on the server (no JavaScript, no chart library)."""

from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

WIDTH, HEIGHT, PAD = 300, 60, 4


def risk_sparkline(scores, *, threshold: float, decline_on=None) -> str:
    if not scores:
        return ""
    first, last = scores[0].scored_on, scores[-1].scored_on
    span = max((last - first).days, 1)

    def x(day) -> float:
        return PAD + (WIDTH - 2 * PAD) * ((day - first).days / span if len(scores) > 1 else 0.5)

    def y(p: float) -> float:
        return PAD + (HEIGHT - 2 * PAD) * (1 - p)

    points = " ".join(f"{x(s.scored_on):.1f},{y(s.probability):.1f}" for s in scores)
    marker = ""
    if decline_on and first <= decline_on <= last:
        marker = format_html(
            '<line class="spark-decline" x1="{0}" x2="{0}" y1="0" y2="{1}"/>', f"{x(decline_on):.1f}", HEIGHT
        )
    # Circles would stretch with preserveAspectRatio="none"; the latest value is written beside the chart.
    dots = format_html_join(
        "", "<title>{}: {} %</title>", ((s.scored_on.strftime("%d.%m.%Y"), s.percent) for s in scores[-1:])
    )
    return format_html(
        '<svg class="risk-spark" viewBox="0 0 {w} {h}" preserveAspectRatio="none" role="img" aria-label="{label}">'
        '<line class="spark-threshold" x1="0" x2="{w}" y1="{ty}" y2="{ty}"/>{marker}'
        '<polyline class="spark-line" points="{points}"/>{dots}</svg>',
        w=WIDTH,
        h=HEIGHT,
        label=_("История риска"),
        ty=f"{y(threshold):.1f}",
        marker=marker,
        points=points,
        dots=dots,
    )
