import datetime as dt

import pytest
from django.urls import reverse

from kruzhok.attendance.services import attendance_mark
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db


def history_url(student):
    return reverse("attendance:student_history", args=[student.pk])


@pytest.fixture
def two_groups(alpha):
    """Маша also attends a chess group taught by another teacher, with a mark there."""
    chess_teacher = f.UserFactory()
    f.MembershipFactory(user=chess_teacher, organization=alpha.org, role="teacher")
    chess = f.GroupFactory(organization=alpha.org, branch=alpha.branch, teacher=chess_teacher, name="Шахматы")
    f.EnrollmentFactory(
        organization=alpha.org, student=alpha.student, group=chess, started_on=dt.date(2026, 1, 1)
    )
    chess_lesson = f.LessonFactory(
        organization=alpha.org, group=chess, starts_at=alpha.lesson.starts_at - dt.timedelta(days=1)
    )
    attendance_mark(
        lesson=chess_lesson, student=alpha.student, status="absent", actor=chess_teacher, comment="шахм"
    )
    attendance_mark(
        lesson=alpha.lesson, student=alpha.student, status="late", actor=alpha.teacher, comment="робот"
    )
    return chess_teacher


def test_a_teacher_sees_the_childs_marks_in_their_groups_only(client_as, alpha, two_groups):
    response = client_as(alpha.teacher).get(history_url(alpha.student))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Петрова-alpha Маша" in body
    assert "Роботы-1 (alpha)" in body and "робот" in body and "Опоздал" in body
    assert "Шахматы" not in body and "шахм" not in body


def test_the_owner_sees_every_group(client_as, alpha, two_groups):
    body = client_as(alpha.owner).get(history_url(alpha.student)).content.decode()
    assert "Роботы-1 (alpha)" in body and "Шахматы" in body
    assert "50%" in body or "100%" in body


def test_a_child_outside_the_teachers_groups_is_404(client_as, alpha):
    stranger = f.StudentFactory(organization=alpha.org)
    assert client_as(alpha.teacher).get(history_url(stranger)).status_code == 404


def test_outsiders_are_refused(client_as, alpha, beta):
    for role in ("owner", "manager", "teacher"):
        assert client_as(beta.user(role)).get(history_url(alpha.student)).status_code == 404
    for role in ("parent", "student"):
        assert client_as(alpha.user(role)).get(history_url(alpha.student)).status_code == 403


def test_a_child_without_marks_shows_an_empty_history(client_as, alpha):
    body = client_as(alpha.teacher).get(history_url(alpha.student)).content.decode()
    assert "Отметок пока нет" in body
