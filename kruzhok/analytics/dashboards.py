"""Turn figures into what a page shows: tiles that link to the children behind them, charts with their
tables, retention curves and fair comparisons. Pure reads; the views only parse input and render."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.formats import get_format
from django.utils.translation import gettext as _

from kruzhok.analytics import charts
from kruzhok.analytics.fairness import compare
from kruzhok.analytics.forms import month_label
from kruzhok.analytics.selectors import Facts, MonthSummary, add_months, month_end, months_back
from kruzhok.analytics.survival import CHECKPOINTS, Curve, curves_by, overall_curve

TREND_MONTHS = 6
COMPARE_MONTHS = 3
MAX_CURVES_ON_CHART = 5


@dataclass(frozen=True)
class Tile:
    label: str
    value: str
    hint: str = ""
    url: str = ""
    tone: str = ""


def percent(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    # The language's own decimal mark: «11,7 %» in Russian, "11.7 %" in English.
    return f"{value * 100:.{digits}f} %".replace(".", get_format("DECIMAL_SEPARATOR"))


def money(value: Decimal | float | None) -> str:
    if value is None:
        return "—"
    return f"{round(float(value)):,}".replace(",", " ") + " ₽"


def drill_url(metric: str, querystring: str, **extra) -> str:
    params = f"metric={metric}&{querystring}"
    if extra:
        params += "&" + urlencode(extra)
    return reverse("analytics:children") + "?" + params


def tiles(summary: MonthSummary, *, querystring: str, show_money: bool) -> list[Tile]:
    out = [
        Tile(
            _("Занимаются"),
            str(summary.active_students),
            _("детей на конец месяца"),
            drill_url("active", querystring),
        ),
        Tile(
            _("Новые"), str(summary.new_enrollments), _("зачислений за месяц"), drill_url("new", querystring)
        ),
        Tile(_("Ушли"), str(summary.dropped), _("за месяц"), drill_url("dropped", querystring), "bad"),
        Tile(
            _("Отток"),
            percent(summary.churn_rate, 1),
            _("ушли ÷ могли уйти"),
            drill_url("dropped", querystring),
            "bad",
        ),
        Tile(
            _("Посещаемость"),
            percent(summary.attendance_rate),
            _("был или опоздал"),
            drill_url("low_attendance", querystring),
        ),
        Tile(
            _("В зоне риска"),
            str(summary.at_risk_children),
            _("детей с высоким риском ухода"),
            drill_url("at_risk", querystring),
            "warn",
        ),
    ]
    if show_money:
        out += [
            Tile(_("Выручка"), money(summary.revenue), _("получено за месяц"), reverse("billing:revenue")),
            Tile(
                _("Выручка под риском"),
                money(summary.revenue_at_risk),
                _("месячная цена × риск ухода"),
                drill_url("at_risk", querystring),
                "warn",
            ),
        ]
    return out


def trends(facts: Facts, month: dt.date) -> dict:
    months = months_back(month, TREND_MONTHS)
    rows = facts.series(months)
    labels = [(i, m.strftime("%m.%y")) for i, m in enumerate(months)]
    churn_bars = [(m["month"].strftime("%m.%y"), (m["churn"] or 0) * 100) for m in rows]
    attendance = [(i, m["attendance"]) for i, m in enumerate(rows) if m["attendance"] is not None]
    active = [(i, float(m["active"])) for i, m in enumerate(rows)]
    revenue_bars = [(m["month"].strftime("%m.%y"), float(m["revenue"])) for m in rows]
    for row in rows:
        row["label"] = month_label(row["month"])
        row["churn_text"] = percent(row["churn"], 1)
        row["attendance_text"] = percent(row["attendance"])
        row["revenue_text"] = money(row["revenue"])
        row["month_param"] = row["month"].strftime("%Y-%m")
    return {
        "rows": rows,
        "churn_chart": charts.bar_chart(
            churn_bars,
            label=_("Отток по месяцам, %: ") + ", ".join(f"{t} — {v:.1f}" for t, v in churn_bars),
            y_format=lambda v: f"{v:.0f} %",
            colour=charts.PALETTE[1],
        ),
        "attendance_chart": charts.line_chart(
            [charts.Series(_("Посещаемость"), attendance)],
            label=_("Посещаемость по месяцам: ")
            + ", ".join(f"{labels[i][1]} — {percent(v)}" for i, v in attendance),
            x_labels=labels,
            y_min=0.0,
            y_max=1.0,
            x_min=0,
            x_max=len(months) - 1,
        ),
        "active_chart": charts.line_chart(
            [charts.Series(_("Занимаются"), active)],
            label=_("Занимаются по месяцам: ") + ", ".join(f"{labels[i][1]} — {v:.0f}" for i, v in active),
            x_labels=labels,
            y_format=lambda v: f"{v:.0f}",
            x_min=0,
            x_max=len(months) - 1,
        ),
        "revenue_chart": charts.bar_chart(
            revenue_bars,
            label=_("Выручка по месяцам: ") + ", ".join(f"{t} — {money(v)}" for t, v in revenue_bars),
            # «12к»: thousands of roubles on the axis.
            y_format=lambda v: _("%(n)sк") % {"n": f"{v / 1000:.0f}"},
        ),
    }


# ---------------------------------------------------------------- retention


def retention_curves(
    facts: Facts, by: str | None, as_of: dt.date | None = None
) -> tuple[Curve | None, list[Curve]]:
    """The curves as known on `as_of` (a month's end, or today: the default)."""
    as_of = as_of or facts.today

    def compute():
        return overall_curve(facts, as_of), (curves_by(facts, by, as_of) if by else [])

    # Curves depend on enrollments only: a mark or a payment does not refit them.
    return facts.cached("km", {"by": by or "", "as_of": as_of}, compute, part="enrollments")


def _checkpoint_labels() -> list[str]:
    return [_("%(d)s дней") % {"d": d} for d in CHECKPOINTS]


def curve_rows(curves: list[Curve]) -> list[dict]:
    return [
        {
            "curve": c,
            "at": [percent(c.at.get(d)) for d in CHECKPOINTS],
            "median": (_("%(m)s мес.") % {"m": str(c.median_months).replace(".", ",")})
            if c.median_months is not None
            else _("больше половины ещё занимаются"),
        }
        for c in curves
    ]


def _thin(points, limit: int = 120):
    """Keep a step curve's shape with at most `limit` vertices (a 30 000-child curve has thousands)."""
    if len(points) <= limit:
        return points
    step = len(points) / limit
    kept = [points[int(i * step)] for i in range(limit)]
    return kept + [points[-1]]


def survival_chart(curves: list[Curve], *, band: bool, title: str):
    horizon = max((c.points[-1][0] for c in curves if c.points), default=30)
    series = []
    for c in curves[:MAX_CURVES_ON_CHART]:
        pts = _thin(c.points)
        series.append(
            charts.Series(
                c.label,
                [(t, s) for t, s, _lo, _hi in pts],
                band=[(t, lo, hi) for t, _s, lo, hi in pts] if band else (),
                step=True,
            )
        )
    ticks = [0, 30, 60, 90, 120, 150, 180, 240, 300, 365]
    x_labels = [(t, str(t)) for t in ticks if t <= horizon]
    summary = "; ".join(
        f"{c.label}: "
        + ", ".join(
            _("%(days)s дн. — %(percent)s") % {"days": d, "percent": percent(c.at.get(d))}
            for d in CHECKPOINTS
        )
        for c in curves[:MAX_CURVES_ON_CHART]
    )
    return charts.line_chart(
        series,
        label=f"{title}. {summary}",
        x_labels=x_labels,
        y_min=0.0,
        y_max=1.0,
        x_min=0,
        x_max=horizon,
    )


# ---------------------------------------------------------------- fair comparisons


def _unit_of(facts: Facts, group_id: int, unit: str) -> tuple[str, str]:
    meta = facts.groups[group_id]
    if unit == "branch":
        return str(meta.branch_id), meta.branch_name
    if unit == "teacher":
        return str(meta.teacher_id or 0), meta.teacher_name or "—"
    return str(group_id), meta.name


def comparison(facts: Facts, *, unit: str, metric: str, month: dt.date) -> dict:
    rated, mean, period = facts.cached(
        "compare",
        {"u": unit, "m": metric, "month": month},
        lambda: _rate(facts, unit=unit, metric=metric, month=month),
        part="all" if metric == "attendance" else "enrollments",
    )
    chart_rows = [(r.label, r.shrunk, r.low, r.high, r.raw) for r in rated[:25]]
    strength = rated[0].prior_strength if rated else None
    return {
        "rated": rated,
        "mean": mean,
        "period": period,
        "strength": strength,
        # The prior fit stopped at its bound (all observations): the units differ no more than chance.
        "pooled": len(rated) > 1 and strength >= 0.999 * sum(r.n for r in rated),
        "chart": charts.interval_chart(
            chart_rows,
            label=_("Сравнение с поправкой на размер: ")
            + "; ".join(f"{r.rank}. {r.label} — {percent(r.shrunk)}" for r in rated[:10]),
            mean=mean,
        ),
    }


def _rate(facts: Facts, *, unit: str, metric: str, month: dt.date):
    """Units of the scope rated on attendance (marks of the last COMPARE_MONTHS months) or retention
    (1 − churn over the same window: children who could leave and did not)."""
    first = add_months(month, -(COMPARE_MONTHS - 1))
    last = min(month_end(month), facts.today)
    counts: dict[str, list] = {}
    if metric == "attendance":
        months = months_back(month, COMPARE_MONTHS)
        rows = facts.mark_rows(months)
        for gid in facts.group_ids:
            key, label = _unit_of(facts, gid, unit)
            row = counts.setdefault(key, [label, 0, 0])
            for m in months:
                marks = rows.get((gid, m))
                if marks:
                    row[1] += marks["present"] + marks["late"]
                    row[2] += sum(marks.values())
    else:
        for e in facts.enrollments:
            exposed = e.started_on <= last and (e.ended_on is None or e.ended_on >= first)
            if not exposed:
                continue
            key, label = _unit_of(facts, e.group_id, unit)
            row = counts.setdefault(key, [label, 0, 0])
            dropped = e.status == "dropped" and e.ended_on is not None and first <= e.ended_on <= last
            row[1] += 0 if dropped else 1
            row[2] += 1
    units = [(key, label, k, n) for key, (label, k, n) in counts.items() if n > 0]
    rated, mean = compare(units)
    return rated, mean, (first, last)
