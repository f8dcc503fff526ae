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


def _with_every_kind_of_signal(world, history) -> None:
    """Homework, a lapsed subscription with debt, low feedback, XP and a sibling: every loader has rows."""
    from kruzhok.billing.services import plan_create, subscription_sell
    from kruzhok.feedback.models import Feedback, Sentiment, Source
    from kruzhok.gamification.models import XpAward
    from kruzhok.homework.services import record_homework

    lessons = fading_child(world, as_of=AS_OF)
    record_homework(lesson=lessons[8], student=world.student, status="submitted", grade=3)
    record_homework(lesson=lessons[9], student=world.student, status="missed")
    plan = plan_create(
        org=world.org,
        name="8 занятий",
        kind="pack",
        course=world.course,
        price=4000,
        lessons=8,
        valid_days=30,
    )
    start = AS_OF - dt.timedelta(days=40)
    subscription_sell(
        org=world.org, actor=world.owner, student=world.student, plan=plan, valid_from=start, sold_on=start
    )
    note = Feedback.objects.create(
        organization=world.org,
        source=Source.PARENT,
        enrollment=world.enrollment,
        student=world.student,
        score=2,
        text="Скучно",
        sentiment=Sentiment.NEGATIVE,
    )
    written = dt.datetime.combine(AS_OF - dt.timedelta(days=5), dt.time(12), tzinfo=dt.UTC)
    Feedback.objects.filter(pk=note.pk).update(created_at=written)
    for week in (1, 2, 3):
        XpAward.objects.create(
            organization=world.org,
            student=world.student,
            source_key=f"test:{week}",
            component="visit",
            amount=10,
            basis="present",
            note="",
            occurred_on=AS_OF - dt.timedelta(days=7 * week + 1),
        )
    # Маша also goes to a second club: her XP counts for both of her enrollments.
    f.EnrollmentFactory(
        organization=world.org, student=world.student, started_on=AS_OF - dt.timedelta(days=50)
    )
    # A child of the generated network shares Маша's guardian and left three weeks ago.
    gone = next(e for e in history.enrollments if e.pk in history.dropped)
    school.StudentGuardian.objects.create(
        organization=world.org, student=gone.student, guardian=world.guardian
    )


@pytest.mark.django_db
@pytest.mark.parametrize("whole_organisation", [False, True], ids=["id-lists", "whole-organisation"])
def test_rescoring_each_child_alone_gives_exactly_the_nightly_scores_and_reasons(
    alpha, monkeypatch, whole_organisation
):
    """whole-organisation: the nightly side loads as a big network does (every loader reads the whole
    organisation, raw rows and vectorised days), the one-child side through its prepared statements."""
    from kruzhok.risk.models import RiskScore
    from kruzhok.risk.services import risk_score_compute
    from kruzhok.risk.signals import common
    from kruzhok.risk.synthetic import build_history

    history = build_history(org=alpha.org, teacher=alpha.teacher, branch=alpha.branch, today=AS_OF, seed=3)
    _with_every_kind_of_signal(alpha, history)
    columns = ("enrollment_id", "probability", "band", "factors", "decline_started_on", "model_version_id")

    def stored():
        return sorted(RiskScore.objects.filter(scored_on=AS_OF).values_list(*columns))

    with monkeypatch.context() as patch:
        if whole_organisation:
            patch.setattr(common, "SCOPE_LIMIT", 0)
        nightly = feat.compute_features(
            feat.load_risk_data(org=alpha.org, until=AS_OF, one_day=True), as_of=AS_OF
        )
        scored = risk_score_compute(org=alpha.org, as_of=AS_OF, raise_alerts=False)["scored"]
    batch = stored()
    assert scored == len(batch) == len(nightly) > 40
    assert {"low", "high"} <= {band for _, _, band, *_ in batch}  # reasons and decline dates compared too
    for eid in nightly.index:
        narrow = feat.load_risk_data(org=alpha.org, enrollment_ids=[eid], until=AS_OF)
        one = feat.compute_features(narrow, as_of=AS_OF, enrollment_ids=[eid])
        np.testing.assert_array_equal(one.loc[eid].to_numpy(), nightly.loc[eid].to_numpy(), err_msg=str(eid))
        RiskScore.objects.filter(enrollment_id=eid).delete()
        risk_score_compute(org=alpha.org, enrollment_ids=[eid], as_of=AS_OF, raise_alerts=False)
    assert stored() == batch
    masha = nightly.loc[alpha.enrollment.pk]
    # The signals of every other app reached the one-child path too.
    assert masha["hw_missed"] == 1
    assert masha["debt"] == 4000
    assert masha["feedback_low_90d"] == 1
    assert masha["xp_28d"] == 30
    second = next(e.pk for e in school.Enrollment.objects.filter(student=alpha.student) if e.pk != masha.name)
    assert nightly.loc[second, "xp_28d"] == 30
    assert masha["siblings_left_60d"] == 1


@pytest.mark.django_db
@pytest.mark.parametrize("whole_organisation", [False, True], ids=["id-lists", "whole-organisation"])
def test_the_nightly_load_skips_xp_older_than_any_signal_but_keeps_each_childs_latest_award_day(
    alpha, monkeypatch, whole_organisation
):
    """A one-day load of a big network reads 8 weeks of XP and, per child, the day of the latest older
    award: the same signals as reading every award, the one-child rescore's way included."""
    from kruzhok.gamification.models import XpAward
    from kruzhok.risk.signals import common

    def award(student, days_ago: int, amount: int = 10) -> None:
        XpAward.objects.create(
            organization=alpha.org,
            student=student,
            source_key=f"test:{student.pk}:{days_ago}",
            component="visit",
            amount=amount,
            basis="present",
            note="",
            occurred_on=AS_OF - dt.timedelta(days=days_ago),
        )

    fading_child(alpha, as_of=AS_OF)
    alpha.enrollment.started_on = AS_OF - dt.timedelta(days=320)
    alpha.enrollment.save()
    # Маша: points every 9 days back to 300 days ago, the window's last day (55) and the first day out
    # of it (56) with amounts of their own, and awards after the as-of day that must not leak in.
    for days_ago in range(3, 301, 9):
        award(alpha.student, days_ago)
    award(alpha.student, 55, amount=7)
    award(alpha.student, 56, amount=1000)
    award(alpha.student, -1, amount=500)
    award(alpha.student, -30, amount=500)
    # Петя earned nothing in 8 weeks: only his latest older award (90 days ago) says how long he is quiet.
    quiet = f.StudentFactory(organization=alpha.org)
    quiet_eid = f.EnrollmentFactory(
        organization=alpha.org, student=quiet, group=alpha.group, started_on=AS_OF - dt.timedelta(days=300)
    ).pk
    award(quiet, 200, amount=50)
    award(quiet, 90)
    award(quiet, -2)

    with monkeypatch.context() as patch:
        if whole_organisation:
            patch.setattr(common, "SCOPE_LIMIT", 0)
        one_day = feat.load_risk_data(org=alpha.org, until=AS_OF, one_day=True)
        every_award = feat.load_risk_data(org=alpha.org, until=AS_OF)
    nightly = feat.compute_features(one_day, as_of=AS_OF)
    pd.testing.assert_frame_equal(nightly, feat.compute_features(every_award, as_of=AS_OF))
    for eid in nightly.index:
        narrow = feat.load_risk_data(org=alpha.org, enrollment_ids=[eid], until=AS_OF, one_day=True)
        one = feat.compute_features(narrow, as_of=AS_OF, enrollment_ids=[eid])
        np.testing.assert_array_equal(one.loc[eid].to_numpy(), nightly.loc[eid].to_numpy(), err_msg=str(eid))
    masha, petya = nightly.loc[alpha.enrollment.pk], nightly.loc[quiet_eid]
    assert masha["xp_28d"] == 30  # 3, 12 and 21 days ago; nothing after the as-of day
    assert masha["xp_pace_change"] == 30 - (10 + 10 + 10 + 7)  # 30, 39, 48 and 55 days ago, not 56
    assert masha["days_since_activity"] == 3
    assert petya["xp_28d"] == 0
    assert petya["days_since_activity"] == 90  # not 300 (since he started): the older award counts
    xp_days = one_day.extra["events"].query("kind == 'xp'").groupby("enrollment_id")["day"]
    assert xp_days.max().max() <= feat.day_number(AS_OF)
    if whole_organisation:  # 34 + 2 awards up to today, of which 7 in 8 weeks, and one day before them
        assert xp_days.size()[alpha.enrollment.pk] == 8
        assert xp_days.min()[alpha.enrollment.pk] == feat.day_number(AS_OF - dt.timedelta(days=56))
        assert xp_days.size()[quiet_eid] == 1
    with pytest.raises(ValueError):  # older signals would be wrong, not missing: another day is refused
        feat.compute_features(one_day, as_of=AS_OF - dt.timedelta(days=7))


@pytest.mark.django_db
def test_a_new_holiday_and_a_new_active_model_reach_the_next_event_rescore(alpha):
    from kruzhok.risk import handlers
    from kruzhok.risk.models import ModelKind, ModelVersion, RiskScore
    from kruzhok.risk.training import prior_version
    from kruzhok.school.services.structure import holiday_create, holiday_delete

    fading_child(alpha, as_of=AS_OF)
    eid = alpha.enrollment.pk

    def holiday_days() -> float:
        data = feat.load_risk_data(org=alpha.org, enrollment_ids=[eid], until=AS_OF)
        return feat.compute_features(data, as_of=AS_OF, enrollment_ids=[eid]).loc[eid, "holiday_days_next_14"]

    assert holiday_days() == 0  # now cached for the organisation
    holiday = holiday_create(
        org=alpha.org,
        name="Осенние каникулы",
        start_date=AS_OF + dt.timedelta(days=3),
        end_date=AS_OF + dt.timedelta(days=7),
    )
    assert holiday_days() == 5
    holiday_delete(holiday=holiday)
    assert holiday_days() == 0

    handlers.rescore(organization_id=alpha.org.id, enrollment_id=eid)
    first = prior_version(org=alpha.org)
    assert RiskScore.objects.get(enrollment_id=eid).model_version_id == first.pk
    # The weekly retraining switches the active model (as training.risk_train does).
    ModelVersion.objects.filter(organization_id=alpha.org.id, is_active=True).update(is_active=False)
    second = ModelVersion.objects.create(
        organization=alpha.org,
        kind=ModelKind.PRIOR,
        is_active=True,
        features=first.features,
        params=first.params,
    )
    handlers.rescore(organization_id=alpha.org.id, enrollment_id=eid)
    assert RiskScore.objects.get(enrollment_id=eid).model_version_id == second.pk


@pytest.mark.django_db
def test_a_prepared_statement_returns_what_the_orm_returns_for_any_organisation(alpha, beta):
    from kruzhok.lib import prepared

    lessons = fading_child(alpha, as_of=AS_OF)
    fading_child(beta, as_of=AS_OF)

    def marks(org, groups, limit):
        return feat._marks_query(org, groups, limit)

    limit = feat.lesson_limit(AS_OF - dt.timedelta(days=20))
    for world in (alpha, beta, alpha):
        args = {"org": world.org.id, "groups": [world.group.pk], "limit": limit}
        rows = prepared.rows(marks, **args)
        assert rows == list(marks(**args))
        assert len(rows) == 9  # marks of the lessons before the limit, of this organisation only
    # Dates and converted values (SQLite returns text) come back as the ORM gives them.
    enrollments = prepared.rows(
        feat._enrollments_query, org=alpha.org.id, groups=[alpha.group.pk], students=[0]
    )
    assert enrollments == list(feat._enrollments_query(alpha.org.id, [alpha.group.pk], [0]))
    assert isinstance(enrollments[0][3], dt.date)
    # Another organisation's ids find nothing; an empty list falls back to the ORM (no rows).
    assert prepared.rows(marks, org=beta.org.id, groups=[alpha.group.pk], limit=limit) == []
    assert prepared.rows(marks, org=alpha.org.id, groups=[], limit=limit) == []
    assert lessons


@pytest.mark.django_db
def test_every_one_child_statement_is_compiled_once_not_rebuilt_by_the_orm_each_time():
    # A statement the compiler could not prepare still answers (through the ORM) but costs ~1.3 ms a call:
    # on PostgreSQL, stand-in ids outside a 32-bit column's range once made every statement fall back.
    from django.db import connection

    from kruzhok.lib import prepared
    from kruzhok.risk.signals import billing, feedback, gamification, homework

    limit, day = dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.date(2026, 1, 1)
    statements = [
        (feat._scope_query, {"org": 1, "ids": [5]}),
        (feat._guardians_query, {"org": 1, "students": [1]}),
        (feat._links_query, {"org": 1, "guardians": [1, 2]}),
        (feat._enrollments_query, {"org": 1, "groups": [1], "students": [2, 3]}),
        (feat._lessons_query, {"org": 1, "groups": [1], "limit": limit}),
        (feat._marks_query, {"org": 1, "groups": [1], "limit": limit}),
        (homework._results_of, {"org": 1, "enrollments": [1], "limit": limit}),
        (feedback._notes, {"org": 1, "limit": limit, "enrollments": [1]}),
        (feedback._pulses, {"org": 1, "until": day, "enrollments": [1]}),
        (gamification._awards, {"org": 1, "until": day, "students": [1]}),
        (billing._subscriptions, {"org": 1, "until": day, "students": [1]}),
        (billing._writeoffs, {"org": 1, "until": day, "subs": [1]}),
        (billing._ledger, {"org": 1, "until": day, "accounts": [1]}),
        (billing._freezes, {"org": 1, "subs": [1]}),
    ]
    for build, args in statements:
        assert prepared._compile(build, connection, args) is not None, build.__name__
