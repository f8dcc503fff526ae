"""The teacher's pulse: «вовлечён ли ребёнок?» 1–5 per child after a lesson, one tap."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from kruzhok.feedback import engagement
from kruzhok.feedback.models import TeacherPulse
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db


def lesson_started(world, hours_ago=2):
    world.lesson.starts_at = timezone.now() - dt.timedelta(hours=hours_ago)
    world.lesson.ends_at = world.lesson.starts_at + dt.timedelta(hours=1)
    world.lesson.save()
    return world.lesson


def test_a_teacher_rates_a_child_with_one_tap_and_can_change_it(alpha, client_as):
    lesson = lesson_started(alpha)
    client = client_as(alpha.teacher)
    assert "Роботы-1 (alpha)" in client.get(reverse("feedback:teacher_lessons")).content.decode()
    url = reverse("feedback:teacher_pulse", args=[lesson.pk])
    response = client.post(url, {"student": alpha.student.pk, "score": "4"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'aria-pressed="true" aria-label="Маша: 4 из 5"' in response.content.decode()
    client.post(url, {"student": alpha.student.pk, "score": "2"}, HTTP_HX_REQUEST="true")
    pulse = TeacherPulse.objects.get()
    assert (pulse.score, pulse.enrollment, pulse.teacher) == (2, alpha.enrollment, alpha.teacher)
    assert pulse.on_date == timezone.localdate(lesson.starts_at)


@pytest.mark.parametrize("score", ["0", "6", "x", ""])
def test_a_malformed_score_is_refused(alpha, client_as, score):
    lesson = lesson_started(alpha)
    response = client_as(alpha.teacher).post(
        reverse("feedback:teacher_pulse", args=[lesson.pk]), {"student": alpha.student.pk, "score": score}
    )
    assert response.status_code == 400 and not TeacherPulse.objects.exists()


def test_a_child_of_another_group_cannot_be_rated(alpha, client_as):
    lesson = lesson_started(alpha)
    stranger = f.StudentFactory(organization=alpha.org, branch=alpha.branch, first_name="Чужой")
    response = client_as(alpha.teacher).post(
        reverse("feedback:teacher_pulse", args=[lesson.pk]), {"student": stranger.pk, "score": "3"}
    )
    assert response.status_code == 400 and not TeacherPulse.objects.exists()


def test_a_future_lesson_is_not_open_for_rating(alpha, client_as):
    alpha.lesson.starts_at = timezone.now() + dt.timedelta(hours=3)
    alpha.lesson.ends_at = alpha.lesson.starts_at + dt.timedelta(hours=1)
    alpha.lesson.save()
    response = client_as(alpha.teacher).get(reverse("feedback:teacher_pulse", args=[alpha.lesson.pk]))
    assert response.status_code == 404


def test_another_teacher_parents_and_other_orgs_cannot_rate(alpha, beta, client_as):
    lesson = lesson_started(alpha)
    other_teacher = f.UserFactory(username="alpha_teacher2")
    from kruzhok.accounts.models import Membership

    Membership.objects.create(user=other_teacher, organization=alpha.org, role="teacher")
    url = reverse("feedback:teacher_pulse", args=[lesson.pk])
    for user in (other_teacher, beta.teacher, beta.owner):
        assert client_as(user).post(url, {"student": alpha.student.pk, "score": "5"}).status_code == 404
    for user in (alpha.parent, alpha.student_user):
        assert client_as(user).post(url, {"student": alpha.student.pk, "score": "5"}).status_code == 403
    assert not TeacherPulse.objects.exists()


def test_engagement_as_of_a_date_for_the_risk_features(alpha):
    lesson = lesson_started(alpha, hours_ago=24 * 3)
    engagement.teacher_pulse_set(lesson=lesson, student=alpha.student, actor=alpha.teacher, score=2)
    today = timezone.localdate()
    assert engagement.engagement_as_of(enrollment_ids=[alpha.enrollment.pk], on_date=today) == {
        alpha.enrollment.pk: 2.0
    }
    # As of a day before the lesson, nothing was known yet.
    assert (
        engagement.engagement_as_of(
            enrollment_ids=[alpha.enrollment.pk], on_date=today - dt.timedelta(days=5)
        )
        == {}
    )
