import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from kruzhok.homework.models import HomeworkResult
from kruzhok.homework.services import record_homework
from kruzhok.lib import events
from kruzhok.school.models import LessonStatus
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def record_url(world, student=None):
    return reverse("homework:record", args=[world.lesson.pk, (student or world.student).pk])


def test_the_journal_links_to_the_homework_page_which_lists_the_group(client_as, alpha):
    client = client_as(alpha.teacher)
    journal = client.get(reverse("attendance:lesson", args=[alpha.lesson.pk])).content.decode()
    assert reverse("homework:lesson", args=[alpha.lesson.pk]) in journal
    assert reverse("feedback:teacher_pulse", args=[alpha.lesson.pk]) in journal
    page = client.get(reverse("homework:lesson", args=[alpha.lesson.pk])).content.decode()
    assert alpha.student.full_name in page
    assert "проверено 0 из 1" in page


def test_a_teacher_records_a_late_submission_with_a_grade_in_one_tap(client_as, alpha):
    response = client_as(alpha.teacher).post(record_url(alpha), {"status": "late", "grade": "4"}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200 and body.lstrip().startswith("<form")
    assert 'value="late" class="hw-late" aria-pressed="true"' in body
    assert "оценка 4" in body
    result = HomeworkResult.objects.get()
    assert (result.status, result.is_late, result.grade, result.recorded_by) == (
        "submitted",
        True,
        4,
        alpha.teacher,
    )


def test_a_second_tap_replaces_the_result_and_the_event_reports_what_was_there(
    alpha, django_capture_on_commit_callbacks
):
    seen = []

    def handler(**payload):
        seen.append(payload)

    events.subscribe("homework.recorded", handler)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            record_homework(lesson=alpha.lesson, student=alpha.student, status="submitted", grade=5)
        with django_capture_on_commit_callbacks(execute=True):
            record_homework(lesson=alpha.lesson, student=alpha.student, status="missed")
    finally:
        events._subscribers["homework.recorded"].remove(handler)
    assert HomeworkResult.objects.count() == 1
    assert [(p["status"], p["grade"], p["previous_status"], p["previous_grade"]) for p in seen] == [
        ("submitted", 5, None, None),
        ("missed", None, "submitted", 5),
    ]


@pytest.mark.parametrize(
    "data, message",
    [
        ({"status": "missed", "grade": "5"}, "только за сданное"),
        ({"status": "submitted", "grade": "6"}, "от 1 до 5"),
        ({"status": "submitted", "grade": "-1"}, "от 1 до 5"),
        ({"status": ""}, "Выберите"),
        ({"status": "<script>alert(1)</script>"}, "Такой отметки нет"),
        ({"status": "submitted", "comment": "x" * 10_000}, "слишком длинный"),
    ],
)
def test_bad_input_is_explained_in_russian_and_saves_nothing(client_as, alpha, data, message):
    response = client_as(alpha.teacher).post(record_url(alpha), data, **HTMX)
    body = response.content.decode()
    assert message in body
    assert "<script>alert(1)</script>" not in body
    assert not HomeworkResult.objects.exists()


def test_a_cancelled_lesson_takes_no_homework(client_as, alpha):
    alpha.lesson.status = LessonStatus.CANCELLED
    alpha.lesson.save()
    with pytest.raises(ValidationError, match="отменено"):
        record_homework(lesson=alpha.lesson, student=alpha.student, status="submitted")


def test_a_child_outside_the_group_is_refused(client_as, alpha):
    stranger = f.StudentFactory(organization=alpha.org)
    body = client_as(alpha.teacher).post(record_url(alpha, stranger), {"status": "submitted"}, **HTMX)
    assert "не занимается" in body.content.decode()
    assert not HomeworkResult.objects.exists()


def test_without_javascript_the_page_reloads_with_the_error(client_as, alpha):
    response = client_as(alpha.teacher).post(
        record_url(alpha), {"status": "missed", "grade": "3"}, follow=True
    )
    assert "только за сданное" in response.content.decode()


@pytest.mark.parametrize("role", ["parent", "student_user"])
def test_families_cannot_record_homework(client_as, alpha, role):
    response = client_as(getattr(alpha, role)).post(record_url(alpha), {"status": "submitted"})
    assert response.status_code == 403
    assert not HomeworkResult.objects.exists()


def test_another_organisation_cannot_see_or_record(client_as, alpha, beta):
    client = client_as(beta.teacher)
    assert client.get(reverse("homework:lesson", args=[alpha.lesson.pk])).status_code == 404
    assert client.post(record_url(alpha), {"status": "submitted"}).status_code == 404
    assert not HomeworkResult.objects.exists()


def test_the_parent_sees_the_grade_on_the_childs_page(client_as, alpha):
    record_homework(
        lesson=alpha.lesson, student=alpha.student, status="submitted", grade=5, comment="Аккуратно"
    )
    page = client_as(alpha.parent).get(reverse("family:child", args=[alpha.student.pk])).content.decode()
    assert "Домашние задания и оценки" in page
    assert "Сдал · 5" in page and "Аккуратно" in page
