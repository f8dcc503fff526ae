import datetime as dt

import numpy as np
import pytest

from kruzhok.risk import features as feat
from kruzhok.risk.tests.helpers import fading_child, mark_all, weekly_lessons
from kruzhok.school import models as school
from kruzhok.testing import factories as f

AS_OF = dt.date(2026, 11, 20)


def features_of(world, as_of=AS_OF):
    data = feat.load_risk_data(org=world.org)
    return feat.compute_features(data, as_of=as_of).loc[world.enrollment.pk]


@pytest.mark.django_db
def test_attendance_signals_count_the_last_lessons_and_the_fall_from_the_childs_own_baseline(alpha):
    fading_child(alpha, as_of=AS_OF)
    row = features_of(alpha)
    assert row["missed_last4"] == 3
    assert row["lessons_last4"] == 4
    assert row["absent_run"] == 3
    assert row["unexcused_4w"] == 3
    assert row["days_since_attended"] == 21
    assert row["att_baseline"] == pytest.approx(1.0)
    assert row["att_rate_4w"] == pytest.approx(0.25)
    assert row["att_drop"] == pytest.approx(0.75)
    assert row["tenure_days"] == 84
    assert row["first_two_months"] == 0


@pytest.mark.django_db
def test_nothing_after_the_as_of_date_changes_a_signal(alpha):
    lessons = fading_child(alpha, as_of=AS_OF)
    before = features_of(alpha)
    # The child comes back the next day and then leaves the group: a leak would change every signal.
    later = weekly_lessons(alpha, first=AS_OF + dt.timedelta(days=1), count=3)
    mark_all(alpha, later, ["present", "present", "present"])
    peer = f.EnrollmentFactory(
        organization=alpha.org, group=alpha.group, started_on=AS_OF - dt.timedelta(days=90)
    )
    peer.status, peer.ended_on = school.EnrollmentStatus.DROPPED, AS_OF + dt.timedelta(days=2)
    peer.save()
    alpha.enrollment.status = school.EnrollmentStatus.DROPPED
    alpha.enrollment.ended_on = AS_OF + dt.timedelta(days=25)
    alpha.enrollment.save()
    after = features_of(alpha)
    assert lessons
    np.testing.assert_array_equal(before.to_numpy(), after.to_numpy())
    # ...and the same marks are seen on the day after, so the test would catch a leak.
    assert features_of(alpha, AS_OF + dt.timedelta(days=8))["absent_run"] == 0


@pytest.mark.django_db
def test_a_child_whose_sibling_and_groupmates_left_recently_carries_those_signals(alpha):
    fading_child(alpha, as_of=AS_OF)
    sibling = f.StudentFactory(organization=alpha.org)
    school.StudentGuardian.objects.create(organization=alpha.org, student=sibling, guardian=alpha.guardian)
    other_group = f.GroupFactory(organization=alpha.org, course=alpha.course, branch=alpha.branch)
    f.EnrollmentFactory(
        organization=alpha.org,
        student=sibling,
        group=other_group,
        started_on=dt.date(2026, 1, 1),
        status=school.EnrollmentStatus.DROPPED,
        ended_on=AS_OF - dt.timedelta(days=10),
    )
    for days_ago in (5, 40):
        f.EnrollmentFactory(
            organization=alpha.org,
            group=alpha.group,
            started_on=dt.date(2026, 1, 1),
            status=school.EnrollmentStatus.DROPPED,
            ended_on=AS_OF - dt.timedelta(days=days_ago),
        )
    row = features_of(alpha)
    assert row["siblings_left_60d"] == 1
    assert row["peers_left_30d"] == 1  # the one who left 40 days ago is too long ago


@pytest.mark.django_db
def test_age_outside_the_course_range_and_coming_holidays_are_signals(alpha):
    fading_child(alpha, as_of=AS_OF)
    alpha.student.birth_date = dt.date(2010, 11, 20)  # 16 on the as-of day; the course is for 7–12
    alpha.student.save()
    school.Holiday.objects.create(
        organization=alpha.org,
        name="Каникулы",
        start_date=AS_OF + dt.timedelta(days=3),
        end_date=AS_OF + dt.timedelta(days=7),
    )
    row = features_of(alpha)
    assert row["age_years"] == pytest.approx(16, abs=0.01)
    assert row["age_outside_range"] == pytest.approx(3, abs=0.01)
    assert row["holiday_days_next_14"] == 5


@pytest.mark.django_db
def test_a_new_signal_plugs_in_through_the_registry(alpha):
    fading_child(alpha, as_of=AS_OF)

    @feat.register("test_constant", group="test")
    def test_provider(ctx):
        return {"test_constant": np.full(ctx.n, 7.0)}

    try:
        assert "test_constant" in feat.feature_names()
        assert features_of(alpha)["test_constant"] == 7.0
    finally:
        feat._REGISTRY.pop("test_provider")
    assert "test_constant" not in feat.feature_names()


@pytest.mark.django_db
def test_loading_for_one_enrollment_gives_the_same_signals_as_the_whole_organisation(alpha, history):
    whole = feat.compute_features(feat.load_risk_data(org=alpha.org), as_of=AS_OF)
    one_id = whole.index[3]
    data = feat.load_risk_data(org=alpha.org, enrollment_ids=[one_id])
    one = feat.compute_features(data, as_of=AS_OF, enrollment_ids=[one_id])
    np.testing.assert_allclose(one.loc[one_id].to_numpy(), whole.loc[one_id].to_numpy(), equal_nan=True)
