"""«Что помогает»: retention after alerts with and without each kind of action, within the same risk band.

Comparing within a band matters: staff act more often on the riskiest children, so a raw comparison
would make every action look harmful. The difference of two retention rates carries a 95 % interval by
Newcombe's hybrid score method (from the two Wilson intervals), which behaves at small counts and at
0 % or 100 % where the textbook normal interval does not. This is observation, not an experiment: the
verdict says what the numbers show and says so plainly when they are too few to tell.
"""

import datetime as dt
import math
from dataclasses import dataclass

from django.utils.translation import gettext as _

from kruzhok.risk.models import ActionKind, AlertOutcome, RiskAlert, RiskAlertAction, RiskBand

Z95 = 1.959963984540054
# Fewer settled alerts than this on either side and no verdict is given.
MIN_N = 10


@dataclass(frozen=True)
class WhatHelpsRow:
    action_kind: str
    action_label: str
    band: str
    band_label: str
    n_with: int
    retained_with: int
    n_without: int
    retained_without: int
    rate_with: float | None
    rate_without: float | None
    # rate_with − rate_without and its 95 % interval (Newcombe); None when a side has no alerts.
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    enough_data: bool
    verdict: str

    @property
    def difference_text(self) -> str:
        return _points(self.difference) if self.difference is not None else "—"


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion (0, 1 when n is 0)."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_difference(x1: int, n1: int, x2: int, n2: int, z: float = Z95) -> tuple[float, float, float]:
    """p1 − p2 with Newcombe's hybrid score interval (his method 10, Statistics in Medicine 1998)."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1, z)
    l2, u2 = wilson(x2, n2, z)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return d, max(-1.0, low), min(1.0, high)


def _points(value: float) -> str:
    # Percentage points: «+37 п. п.» / «+37 pp».
    return _("%(points)s п. п.") % {"points": f"{value * 100:+.0f}".replace("-", "−")}


def verdict(*, n_with: int, n_without: int, difference, low, high) -> tuple[bool, str]:
    if n_with < MIN_N or n_without < MIN_N:
        return False, _(
            "Данных пока мало, чтобы судить: нужно хотя бы %(min)s завершённых сигналов "
            "с этим действием и без него (сейчас %(with)s и %(without)s)."
        ) % {"min": MIN_N, "with": n_with, "without": n_without}
    numbers = {
        "difference": _points(difference),
        "interval": _("95 %% интервал: от %(low)s до %(high)s")
        % {"low": _points(low), "high": _points(high)},
    }
    if low > 0:
        return True, _("После этого действия дети оставались чаще: %(difference)s (%(interval)s).") % numbers
    if high < 0:
        return True, _(
            "После этого действия дети оставались реже: %(difference)s (%(interval)s). "
            "Возможно, его делали в самых тяжёлых случаях — это наблюдение, не эксперимент."
        ) % numbers
    return True, _("Разницы не видно: %(difference)s, это в пределах случайности (%(interval)s).") % numbers


def _band(probability: float, threshold: float) -> str:
    from kruzhok.risk.services import band_for

    return band_for(probability, threshold=threshold)


def what_helps_rows(
    org, *, period: tuple[dt.date, dt.date] | None = None, branch_ids=None
) -> list[WhatHelpsRow]:
    """One row per action kind and risk band that has settled alerts. Counted: alerts whose outcome is
    known (stayed or dropped), opened within `period` (inclusive), in `branch_ids` when given. Alerts
    marked "not useful" are left out: they were false alarms, not children someone tried to keep.
    Alerts that closed by themselves because the risk fell (`risk_fell`) carry no action, so they count
    on the "without" side, like any alert nobody acted on. Bands follow the organisation's threshold."""
    from kruzhok.risk.services import alert_threshold

    threshold = alert_threshold(org)
    alerts = RiskAlert.all_objects.filter(
        organization_id=org.pk,
        outcome__in=[AlertOutcome.STAYED, AlertOutcome.DROPPED],
        not_useful=False,
    )
    if period is not None:
        start, end = period
        if start:
            alerts = alerts.filter(opened_on__gte=start)
        if end:
            alerts = alerts.filter(opened_on__lte=end)
    if branch_ids is not None:
        alerts = alerts.filter(enrollment__group__branch_id__in=list(branch_ids))
    settled = {
        pk: (_band(p, threshold), outcome == AlertOutcome.STAYED)
        for pk, p, outcome in alerts.values_list("pk", "probability", "outcome")
    }
    kinds_of: dict[int, set[str]] = {}
    for alert_id, kind in RiskAlertAction.all_objects.filter(
        organization_id=org.pk, alert_id__in=list(settled)
    ).values_list("alert_id", "kind"):
        kinds_of.setdefault(alert_id, set()).add(kind)
    band_labels = dict(RiskBand.choices)
    rows: list[WhatHelpsRow] = []
    for band in (RiskBand.HIGH, RiskBand.MEDIUM, RiskBand.LOW):
        in_band = [(pk, stayed) for pk, (b, stayed) in settled.items() if b == band]
        if not in_band:
            continue
        for kind, label in ActionKind.choices:
            with_kind = [stayed for pk, stayed in in_band if kind in kinds_of.get(pk, ())]
            without = [stayed for pk, stayed in in_band if kind not in kinds_of.get(pk, ())]
            n1, x1, n2, x2 = len(with_kind), sum(with_kind), len(without), sum(without)
            if n1 == 0 and kind == ActionKind.OTHER:
                continue
            difference = low = high = None
            if n1 and n2:
                difference, low, high = newcombe_difference(x1, n1, x2, n2)
            enough, text = verdict(n_with=n1, n_without=n2, difference=difference, low=low, high=high)
            rows.append(
                WhatHelpsRow(
                    action_kind=kind,
                    action_label=str(label),
                    band=str(band),
                    band_label=str(band_labels[band]),
                    n_with=n1,
                    retained_with=x1,
                    n_without=n2,
                    retained_without=x2,
                    rate_with=x1 / n1 if n1 else None,
                    rate_without=x2 / n2 if n2 else None,
                    difference=difference,
                    ci_low=low,
                    ci_high=high,
                    enough_data=enough,
                    verdict=text,
                )
            )
    return rows
