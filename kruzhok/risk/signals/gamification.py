"""Gamification (kruzhok.gamification) as canonical events for every loaded enrollment of the child (XP and
the shop belong to the child, not to one course): `xp` (value = points) on the award day, and `shop` (value =
price) on the day the child asked for a reward — a child who stops visiting the shop is losing interest too.

A one-day load of the whole organisation (the nightly run) reads only what the signals see on that day:
the awards of the last XP_DAYS days (features.xp: 4 weeks against the 4 before, streak weeks inside them)
and, for each child, the day of the latest older award (features.homework's `days_since_activity` counts
XP as activity, back to the first day), instead of every award since the centre opened — on a 30,000-child
network 560k rows instead of 860k. Shop requests are few and all are read; an event rescore (id lists)
reads its children's awards whole, a few hundred rows."""

import datetime as dt

import numpy as np
import pandas as pd
from django.db.models import Func, IntegerField, Max, Value

from kruzhok.lib import prepared
from kruzhok.risk.features import _fetch, lesson_limit, org_rows, register_loader
from kruzhok.risk.signals.common import days, local_days, narrow, student_id_list, until_or_never

# The oldest award any XP signal reads is 55 days before the scoring day (features.xp: age < 56).
XP_DAYS = 56


class _DayNumber(Func):
    """A date column as the day number the signals use (date.toordinal()), computed by the database: no
    text to write there and parse here (~0.1 s each way for the nightly 540k awards)."""

    template = "CAST(julianday(%(expressions)s) - 1721424.5 AS INTEGER)"  # SQLite: 0001-01-01 is day 1
    output_field = IntegerField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler, connection, template="(%(expressions)s - DATE '0001-01-01' + 1)", **extra
        )


def _awards(org, until, students=None, *, narrow_rows=True):
    from kruzhok.gamification.models import XpAward

    awards = org_rows(XpAward, org, narrow=narrow_rows).filter(amount__gt=0, occurred_on__lte=until)
    if students is not None:
        awards = awards.filter(student_id__in=students)
    return awards.values_list("student_id", "occurred_on", "amount")


def _shop_requests(org, limit, students=None, *, narrow_rows=True):
    from kruzhok.gamification.models import RewardRequest

    asked = org_rows(RewardRequest, org, narrow=narrow_rows).filter(created_at__lt=limit)
    if students is not None:
        asked = asked.filter(student_id__in=students)
    return asked.values_list("student_id", "created_at", "price")


@register_loader("gamification", one_day=True)
def load_gamification(*, org, enrollments, until, one_day=False):
    last_day, limit = until_or_never(until), lesson_limit(until)
    if narrow(enrollments):
        students = student_id_list(enrollments)
        rows = prepared.rows(_awards, org=org.id, until=last_day, students=students)
        asked = prepared.rows(_shop_requests, org=org.id, limit=limit, students=students)
    else:
        first_day = until - dt.timedelta(days=XP_DAYS - 1) if one_day else None
        return _load_organisation(
            org=org, enrollments=enrollments, last_day=last_day, limit=limit, first_day=first_day
        )
    # XP belongs to the child: the same award counts for each of the child's loaded enrollments.
    of_student: dict = {}
    for eid, sid in zip(enrollments.index.tolist(), enrollments["student_id"].tolist(), strict=True):
        of_student.setdefault(sid, []).append(eid)
    on_day = days([r[1] for r in rows])
    events = [
        (eid, int(day), "xp", float(amount), "")
        for (sid, _, amount), day in zip(rows, on_day, strict=True)
        for eid in of_student.get(sid, ())
    ]
    asked_on = local_days([r[1] for r in asked], org.timezone)
    events += [
        (eid, int(day), "shop", float(price), "")
        for (sid, _, price), day in zip(asked, asked_on, strict=True)
        for eid in of_student.get(sid, ())
    ]
    return {"events": events}


def _load_organisation(*, org, enrollments, last_day, limit, first_day=None):
    """The nightly load: an award per attended mark is hundreds of thousands of rows on a big network, so
    they come as raw cursor rows with the day as a number, and the events are built with numpy — the same
    events as the per-row code above, in the server's order: the signals only count, sum whole points and
    take maxima of XP events, and sorting ~0.5–0.9M rows (the model's ordering) spilled to disk on
    PostgreSQL, half of the query's time. With `first_day` (a one-day load) only awards from that day on
    are read, plus one stand-in per child for the latest older award: its day, amount 0 (no signal sums
    points that old)."""
    awards = _awards(org.id, last_day, narrow_rows=False).order_by()
    if first_day is not None:
        latest_older = (
            awards.filter(occurred_on__lt=first_day)
            .values("student_id")
            .annotate(last=Max("occurred_on"))
            .annotate(day=_DayNumber("last"), amount=Value(0))
            .values_list("student_id", "day", "amount")
        )
        awards = awards.filter(occurred_on__gte=first_day)
    rows = _fetch(awards.annotate(day=_DayNumber("occurred_on")).values_list("student_id", "day", "amount"))
    if first_day is not None:
        rows += _fetch(latest_older)
    asked = list(_shop_requests(org.id, limit, narrow_rows=False))
    student = enrollments["student_id"].to_numpy(dtype=np.int64)
    by_student = np.argsort(student, kind="stable")  # a child's enrollments stay in load order
    sorted_students = student[by_student]
    enrollment_ids = enrollments.index.to_numpy(dtype=np.int64)[by_student]

    def per_enrollment(student_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(source row, enrollment id) for every loaded enrollment of each row's child."""
        lo = np.searchsorted(sorted_students, student_ids, side="left")
        hi = np.searchsorted(sorted_students, student_ids, side="right")
        source = np.repeat(np.arange(len(student_ids)), hi - lo)
        offset = np.arange(len(source)) - np.repeat(np.cumsum(hi - lo) - (hi - lo), hi - lo)
        return source, enrollment_ids[np.repeat(lo, hi - lo) + offset]

    award_students = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    award_days = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
    amounts = np.fromiter((r[2] for r in rows), dtype=float, count=len(rows))
    source, eids = per_enrollment(award_students)
    xp = pd.DataFrame(
        {
            "enrollment_id": eids,
            "day": award_days[source],
            "kind": np.full(len(source), "xp", dtype=object),
            "value": amounts[source],
            "text": np.full(len(source), "", dtype=object),
        }
    )
    asked_on = local_days([r[1] for r in asked], org.timezone)
    asked_students = np.array([r[0] for r in asked], dtype=np.int64)
    source, eids = per_enrollment(asked_students)
    shop = pd.DataFrame(
        {
            "enrollment_id": eids,
            "day": asked_on[source],
            "kind": np.full(len(source), "shop", dtype=object),
            "value": np.array([float(r[2]) for r in asked], dtype=float)[source],
            "text": np.full(len(source), "", dtype=object),
        }
    )
    return {"events": pd.concat([xp, shop], ignore_index=True)}
