"""Retention curves: how long children stay, by Kaplan–Meier (lifelines).

An enrollment's lifetime runs from its start to the day it ended, or to today while it is open. Leaving
("dropped") is the event; a completed course, a transfer to another group or a still-open enrollment is
censored: we know the child stayed at least that long. A past month's curves are those known at its end
(`as_of`): enrollments started by then, an end after that day not yet known (open, censored there).
Curves are per course, branch, teacher, age group and start month, each with its 95 % band and median
lifetime (None while more than half still stay).
"""

import csv
import datetime as dt
import io
from dataclasses import dataclass

import numpy as np
from django.utils.translation import gettext_lazy as _
from lifelines import KaplanMeierFitter

from kruzhok.analytics.selectors import EnrollmentFact, Facts
from kruzhok.school.models import EnrollmentStatus

# Points the tables report, in days since the start.
CHECKPOINTS = (30, 90, 180)
MIN_CURVE_SIZE = 5
MAX_CURVES = 6
DIMENSIONS = {
    "course": _("Курс"),
    "branch": _("Филиал"),
    "teacher": _("Преподаватель"),
    "age": _("Возраст"),
    "start": _("Месяц начала"),
}
AGE_BANDS = (
    (0, 7, _("до 7 лет")),
    (7, 11, _("7–10 лет")),
    (11, 14, _("11–13 лет")),
    (14, 200, _("14 лет и старше")),
)


def lifetime(e: EnrollmentFact, as_of: dt.date) -> tuple[int, bool]:
    """(days observed, left?) for one enrollment, as known on `as_of`."""
    ended = e.ended_on is not None and e.ended_on <= as_of
    end = e.ended_on if ended else as_of
    return max(0, (end - e.started_on).days), ended and e.status == EnrollmentStatus.DROPPED


def known_on(facts: Facts, as_of: dt.date) -> list[EnrollmentFact]:
    """The enrollments started by `as_of`: a later one was not there to see."""
    return [e for e in facts.enrollments if e.started_on <= as_of]


def survival_rows(facts: Facts, as_of: dt.date) -> list[tuple[int, int, str, dt.date, int, int]]:
    """The export the curves are fitted on: (enrollment, student, status, started_on, duration, event);
    the status is the one known on `as_of` (an end after it reads «active»)."""
    rows = []
    for e in sorted(known_on(facts, as_of), key=lambda e: e.id):
        days, left = lifetime(e, as_of)
        ended_later = e.ended_on is not None and e.ended_on > as_of
        status = EnrollmentStatus.ACTIVE if ended_later else e.status
        rows.append((e.id, e.student_id, status, e.started_on, days, int(left)))
    return rows


def survival_csv(facts: Facts, as_of: dt.date) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["enrollment_id", "student_id", "status", "started_on", "duration_days", "dropped"])
    for row in survival_rows(facts, as_of):
        writer.writerow([row[0], row[1], row[2], row[3].isoformat(), row[4], row[5]])
    return out.getvalue()


@dataclass(frozen=True)
class Curve:
    key: str
    label: str
    n: int
    events: int
    # (day, survival, lower, upper), from day 0
    points: list[tuple[float, float, float, float]]
    median_days: float | None
    at: dict[int, float | None]

    @property
    def median_months(self) -> float | None:
        return None if self.median_days is None else round(self.median_days / 30.4, 1)


def fit_curve(key: str, label: str, durations: list[int], events: list[int]) -> Curve:
    kmf = KaplanMeierFitter(alpha=0.05)
    kmf.fit(np.asarray(durations, dtype=float), event_observed=np.asarray(events, dtype=bool))
    sf = kmf.survival_function_.iloc[:, 0]
    ci = kmf.confidence_interval_survival_function_
    points = [
        (float(t), float(s), float(lo), float(hi))
        for t, s, lo, hi in zip(sf.index, sf.values, ci.iloc[:, 0].values, ci.iloc[:, 1].values, strict=True)
    ]
    median = kmf.median_survival_time_
    longest = max(durations) if durations else 0
    at = {d: (float(kmf.predict(d)) if d <= longest else None) for d in CHECKPOINTS}
    return Curve(
        key=key,
        label=label,
        n=len(durations),
        events=int(sum(events)),
        points=points,
        median_days=None if not np.isfinite(median) else float(median),
        at=at,
    )


def _label(facts: Facts, e: EnrollmentFact, dimension: str) -> tuple[str, str]:
    meta = facts.groups[e.group_id]
    if dimension == "course":
        return str(meta.course_id), meta.course_title
    if dimension == "branch":
        return str(meta.branch_id), meta.branch_name
    if dimension == "teacher":
        return str(meta.teacher_id or 0), meta.teacher_name or "—"
    if dimension == "age":
        age = (e.started_on - e.birth_date).days // 365
        for lo, hi, label in AGE_BANDS:
            if lo <= age < hi:
                return f"{lo}", str(label)
        return "?", "?"
    if dimension == "start":
        return e.started_on.strftime("%Y-%m"), e.started_on.strftime("%m.%Y")
    raise ValueError(dimension)


def enrollments_of(
    facts: Facts, dimension: str, key: str, *, left_only: bool, as_of: dt.date
) -> tuple[str, list[int]]:
    """(label, enrollment ids) behind one row of the retention table as known on `as_of`: its
    «Зачислений» or «Ушли»."""
    label, ids = "", []
    for e in known_on(facts, as_of):
        k, text = _label(facts, e, dimension)
        if k == key and (not left_only or lifetime(e, as_of)[1]):
            label = text
            ids.append(e.id)
    return label, ids


def overall_curve(facts: Facts, as_of: dt.date) -> Curve | None:
    known = known_on(facts, as_of)
    if not known:
        return None
    pairs = [lifetime(e, as_of) for e in known]
    return fit_curve("all", str(_("Все")), [d for d, _ in pairs], [int(x) for _, x in pairs])


def curves_by(facts: Facts, dimension: str, as_of: dt.date) -> list[Curve]:
    """One curve per value of the dimension with at least MIN_CURVE_SIZE enrollments, largest first."""
    buckets: dict[str, tuple[str, list[int], list[int]]] = {}
    for e in known_on(facts, as_of):
        key, label = _label(facts, e, dimension)
        days, left = lifetime(e, as_of)
        bucket = buckets.setdefault(key, (label, [], []))
        bucket[1].append(days)
        bucket[2].append(int(left))
    curves = [
        fit_curve(key, label, durations, events)
        for key, (label, durations, events) in buckets.items()
        if len(durations) >= MIN_CURVE_SIZE
    ]
    if dimension == "start":
        curves.sort(key=lambda c: c.key)
    else:
        curves.sort(key=lambda c: (-c.n, c.label))
    return curves
