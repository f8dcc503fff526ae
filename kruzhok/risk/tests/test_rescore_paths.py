"""The one-child rescore takes cheaper paths (plain Python for small loads, numpy instead of pandas
groupbys, frames passed on uncut when nothing is later): they must give exactly what the bulk paths give."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from kruzhok.risk import features as feat
from kruzhok.risk.signals.billing import _sum_per_key
from kruzhok.risk.tests.helpers import fading_child
from kruzhok.school import models as school
from kruzhok.testing import factories as f

AS_OF = dt.date(2026, 11, 20)


def _bulk_local_days(values: pd.Series, tz_name: str) -> np.ndarray:
    """The pandas path of features._raw_local_days, forced (it is what the nightly run uses)."""
    padding = feat.SMALL_LOAD + 1 - len(values)
    padded = pd.concat([values, pd.Series([values.iloc[0]] * padding)], ignore_index=True)
    return feat._raw_local_days(padded, tz_name)[: len(values)]


@pytest.mark.parametrize("tz_name", ["Europe/Moscow", "Asia/Vladivostok", "Europe/Kaliningrad"])
def test_small_loads_turn_lesson_times_into_the_same_local_days_as_pandas(tz_name):
    # SQLite returns naive UTC text, with or without microseconds; late evening UTC is the next day east.
    text = pd.Series(
        ["2026-11-19 20:59:59", "2026-11-19 21:00:00", "2026-03-29 23:30:00.250000", "2026-01-01 00:00:00"]
    )
    np.testing.assert_array_equal(feat._raw_local_days(text, tz_name), _bulk_local_days(text, tz_name))
    # PostgreSQL returns aware datetimes.
    aware = pd.Series(
        [dt.datetime(2026, 11, 19, 21, 0, tzinfo=dt.UTC), dt.datetime(2026, 6, 30, 23, 59, tzinfo=dt.UTC)]
    )
    np.testing.assert_array_equal(feat._raw_local_days(aware, tz_name), _bulk_local_days(aware, tz_name))


def _context(students: list[int], links: list[tuple[int, int]]) -> feat.FeatureContext:
    rows = pd.DataFrame({"student_id": students}, index=pd.Index(range(100, 100 + len(students))))
    data = feat.RiskData(
        org_id=1,
        enrollments=rows,
        marks=pd.DataFrame(columns=["enrollment_id", "group_id", "day", "status"]),
        holidays=np.zeros((0, 2), dtype=np.int64),
        links=pd.DataFrame(links, columns=["student_id", "guardian_id"]),
    )
    return feat.FeatureContext(as_of=0, rows=rows, data=data, row_marks=data.marks)


def test_a_sibling_who_left_counts_once_even_through_two_shared_guardians():
    # Children 1, 2, 3 share mother 10; 1 and 2 also share father 11; child 4 has her own guardian 12.
    links = [(1, 10), (2, 10), (3, 10), (1, 11), (2, 11), (4, 12)]
    ctx = _context([1, 2, 3, 4], links)
    siblings = feat._siblings_left(ctx, dropped_students={2, 3})
    # Child 1: brothers 2 and 3 left; 2: only 3 (not himself); 3: only 2; 4: nobody of hers.
    assert siblings.tolist() == [2.0, 1.0, 1.0, 0.0]
    assert feat._siblings_left(ctx, dropped_students=set()).tolist() == [0.0] * 4
    assert feat._siblings_left(ctx, dropped_students={99}).tolist() == [0.0] * 4


def test_lessons_written_off_are_summed_per_subscription_and_missing_ones_count_zero():
    keys = np.array([7, 5, 7, 7, 5], dtype=np.int64)
    lessons = np.array([-1, -1, -1, 1, np.nan])
    assert _sum_per_key(keys, lessons, np.array([7, 5, 6, 99])).tolist() == [-1.0, -1.0, 0.0, 0.0]
    assert _sum_per_key(np.zeros(0, dtype=np.int64), np.zeros(0), np.array([3])).tolist() == [0.0]


@pytest.mark.django_db
def test_a_one_child_rescore_sees_exactly_the_signals_the_nightly_run_sees(alpha):
    fading_child(alpha, as_of=AS_OF)
    # A sibling who left another group three weeks ago and a group-mate who left last week: the narrow
    # load (the child's groups and family only) must find both.
    sibling = f.StudentFactory(organization=alpha.org)
    school.StudentGuardian.objects.create(organization=alpha.org, student=sibling, guardian=alpha.guardian)
    other_group = f.GroupFactory(organization=alpha.org)
    for student, group, left_days_ago in (
        (sibling, other_group, 20),
        (f.StudentFactory(organization=alpha.org), alpha.group, 7),
    ):
        gone = f.EnrollmentFactory(
            organization=alpha.org,
            student=student,
            group=group,
            started_on=AS_OF - dt.timedelta(days=120),
        )
        gone.status = school.EnrollmentStatus.DROPPED
        gone.ended_on = AS_OF - dt.timedelta(days=left_days_ago)
        gone.save()
    eid = alpha.enrollment.pk
    nightly = feat.compute_features(feat.load_risk_data(org=alpha.org, until=AS_OF), as_of=AS_OF).loc[eid]
    narrow = feat.load_risk_data(org=alpha.org, enrollment_ids=[eid], until=AS_OF)
    one = feat.compute_features(narrow, as_of=AS_OF, enrollment_ids=[eid]).loc[eid]
    assert one["siblings_left_60d"] == 1
    assert one["peers_left_30d"] == 1
    np.testing.assert_array_equal(one.to_numpy(), nightly.to_numpy())
    # A day before the group-mate left he is still in the group: frames passed on uncut must not leak.
    earlier = feat.compute_features(narrow, as_of=AS_OF - dt.timedelta(days=8), enrollment_ids=[eid]).loc[eid]
    assert earlier["peers_left_30d"] == 0
    assert earlier["siblings_left_60d"] == 1
