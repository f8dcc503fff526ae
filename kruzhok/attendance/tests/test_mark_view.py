import pytest
from django.urls import reverse

from kruzhok.attendance.models import AttendanceMark
from kruzhok.school.models import Lesson, LessonStatus
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def mark_url(world, student=None):
    return reverse("attendance:mark", args=[world.lesson.pk, (student or world.student).pk])


def test_a_teacher_marks_through_htmx_and_gets_just_the_row(client_as, alpha):
    response = client_as(alpha.teacher).post(
        mark_url(alpha), {"status": "present", "comment": "молодец"}, **HTMX
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith("<form")  # a partial, not a page
    assert "<html" not in body
    assert f'id="student-{alpha.student.pk}"' in body
    assert 'value="present" class="present" aria-pressed="true"' in body
    assert body.count('aria-pressed="true"') == 1
    assert 'value="молодец"' in body
    assert 'id="marked-count" hx-swap-oob="true"' in body and "отмечено 1 из 1" in body
    mark = AttendanceMark.objects.get(lesson=alpha.lesson, student=alpha.student)
    assert (mark.status, mark.comment, mark.marked_by) == ("present", "молодец", alpha.teacher)


def test_a_second_tap_changes_the_mark(client_as, alpha):
    client = client_as(alpha.teacher)
    client.post(mark_url(alpha), {"status": "present"}, **HTMX)
    response = client.post(mark_url(alpha), {"status": "absent"}, **HTMX)
    assert 'value="absent" class="absent" aria-pressed="true"' in response.content.decode()
    assert list(AttendanceMark.objects.values_list("status", flat=True)) == ["absent"]


def test_a_plain_post_without_javascript_redirects_back_to_the_journal(client_as, alpha):
    response = client_as(alpha.teacher).post(mark_url(alpha), {"status": "late"})
    assert response.status_code == 302
    assert (
        response["Location"]
        == reverse("attendance:lesson", args=[alpha.lesson.pk]) + f"#student-{alpha.student.pk}"
    )
    assert AttendanceMark.objects.get().status == "late"


@pytest.mark.parametrize("status", ["", "maybe", "<script>alert(1)</script>", "x" * 10_000])
def test_a_bad_status_is_explained_in_russian(client_as, alpha, status):
    client = client_as(alpha.teacher)
    response = client.post(mark_url(alpha), {"status": status}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "отметк" in body.lower()
    assert "<script>alert(1)</script>" not in body
    response = client.post(mark_url(alpha), {"status": status}, follow=True)
    assert response.status_code == 200
    assert "отметк" in response.content.decode().lower()
    assert not AttendanceMark.objects.exists()


def test_a_too_long_comment_is_explained(client_as, alpha):
    response = client_as(alpha.teacher).post(
        mark_url(alpha), {"status": "late", "comment": "я" * 301}, **HTMX
    )
    assert "не больше 300 символов" in response.content.decode()
    assert not AttendanceMark.objects.exists()


def test_a_cancelled_lesson_answers_with_a_clear_error(client_as, alpha):
    Lesson.objects.filter(pk=alpha.lesson.pk).update(status=LessonStatus.CANCELLED, cancel_reason="Карантин")
    response = client_as(alpha.teacher).post(mark_url(alpha), {"status": "present"}, **HTMX)
    assert response.status_code == 200
    assert "Занятие отменено" in response.content.decode()
    assert not AttendanceMark.objects.exists()


def test_a_child_not_in_the_group_answers_with_a_clear_error(client_as, alpha):
    stranger = f.StudentFactory(organization=alpha.org, first_name="Вася", last_name="Чужой")
    response = client_as(alpha.teacher).post(mark_url(alpha, stranger), {"status": "present"}, follow=True)
    assert response.status_code == 200
    assert "Чужой Вася не занимается в группе" in response.content.decode()
    assert not AttendanceMark.objects.exists()


def test_owner_and_manager_of_the_branch_may_mark(client_as, alpha):
    for user, status in ((alpha.owner, "present"), (alpha.manager, "excused")):
        assert client_as(user).post(mark_url(alpha), {"status": status}, **HTMX).status_code == 200
        assert AttendanceMark.objects.get().marked_by == user


def test_a_teacher_of_another_group_gets_404(client_as, alpha):
    other_teacher = f.UserFactory()
    f.MembershipFactory(user=other_teacher, organization=alpha.org, role="teacher")
    assert client_as(other_teacher).post(mark_url(alpha), {"status": "present"}).status_code == 404
    assert not AttendanceMark.objects.exists()


def test_a_manager_of_another_branch_gets_404(client_as, alpha):
    alpha.group.branch = alpha.other_branch
    alpha.group.save()
    assert client_as(alpha.manager).post(mark_url(alpha), {"status": "present"}).status_code == 404


def test_a_user_of_another_organisation_gets_404(client_as, alpha, beta):
    for role in ("owner", "manager", "teacher"):
        response = client_as(beta.user(role)).post(mark_url(alpha), {"status": "present"}, **HTMX)
        assert response.status_code == 404
    # Their own lesson with a child of A: the child is not theirs either.
    url = reverse("attendance:mark", args=[beta.lesson.pk, alpha.student.pk])
    assert client_as(beta.teacher).post(url, {"status": "present"}).status_code == 404
    assert not AttendanceMark.objects.exists()


@pytest.mark.parametrize("role", ["parent", "student"])
def test_parents_and_students_get_403(client_as, alpha, role):
    assert client_as(alpha.user(role)).post(mark_url(alpha), {"status": "present"}).status_code == 403
    assert not AttendanceMark.objects.exists()


def test_get_is_not_allowed(client_as, alpha):
    assert client_as(alpha.teacher).get(mark_url(alpha)).status_code == 405
