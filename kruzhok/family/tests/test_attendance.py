import pytest
from django.urls import reverse
from django.utils import timezone

from kruzhok.family.tests.helpers import in_days

pytestmark = pytest.mark.django_db
URL = reverse("family:attendance")


@pytest.fixture
def history(alpha, make_lesson, mark):
    """Four marks for Маша: two this month or last, present/late/absent/excused."""
    statuses = ["present", "present", "late", "absent", "excused"]
    lessons = []
    for days, status in zip([-1, -3, -5, -8, -10], statuses, strict=True):
        lesson = make_lesson(alpha, starts_at=in_days(days), topic=f"Тема {status} {days}")
        mark(alpha, lesson, status)
        lessons.append(lesson)
    return lessons


def test_a_parent_sees_the_history_with_totals(alpha, client_as, history):
    response = client_as(alpha.parent).get(URL)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Маша Петрова-alpha" in page
    assert "Был: 2" in page
    assert "Опоздал: 1" in page
    assert "Не был: 1" in page
    assert "Уважительная: 1" in page
    assert "присутствовал 3, отсутствовал 2" in page


def test_the_month_filter_narrows_the_history(alpha, client_as, history):
    first = history[0]
    month = timezone.localtime(first.starts_at).strftime("%Y-%m")
    page = client_as(alpha.parent).get(URL, {"month": month}).content.decode()
    assert first.topic in page
    # a month with no lessons at all
    page = client_as(alpha.parent).get(URL, {"month": "2000-01"}).content.decode()
    assert "Выберите месяц из списка" in page


def test_a_month_without_marks_says_so(alpha, client_as, history):
    today = timezone.localdate()
    previous_year = f"{today.year - 1}-{today.month:02d}"
    page = client_as(alpha.parent).get(URL, {"month": previous_year}).content.decode()
    assert "Отметок за этот период нет" in page
    assert "Был: 0" in page


def test_the_child_filter_refuses_a_child_that_is_not_theirs(
    alpha, beta, other_family, client_as, make_lesson, mark
):
    lesson = make_lesson(alpha, starts_at=in_days(-1), topic="Чужая тема")
    mark(alpha, lesson, "absent", student=other_family["child"], enrollment=other_family["enrollment"])
    for pk in (other_family["child"].pk, beta.student.pk):
        response = client_as(alpha.parent).get(URL, {"child": pk})
        page = response.content.decode()
        assert response.status_code == 200
        assert "Выберите ребёнка из списка" in page
        assert "Соседов" not in page
        assert "Петрова-beta" not in page


@pytest.mark.parametrize("value", ["abc", "<script>alert(1)</script>", "9" * 400, "-1"])
def test_hostile_filter_values_are_refused_politely(alpha, client_as, value):
    response = client_as(alpha.parent).get(URL, {"child": value, "month": value})
    page = response.content.decode()
    assert response.status_code == 200
    assert "errorlist" in page
    assert "<script>alert" not in page


def test_an_htmx_filter_returns_only_the_sections(alpha, client_as, history):
    response = client_as(alpha.parent).get(URL, {"child": alpha.student.pk}, headers={"HX-Request": "true"})
    page = response.content.decode()
    assert "<html" not in page
    assert "Был: 2" in page


@pytest.mark.parametrize("role", ["owner", "manager", "teacher", "student"])
def test_other_roles_get_403(alpha, client_as, role):
    assert client_as(alpha.user(role)).get(URL).status_code == 403


def test_a_beta_parent_sees_none_of_alphas_marks(alpha, beta, client_as, history):
    page = client_as(beta.parent).get(URL).content.decode()
    assert "Петрова-beta" in page
    assert "Петрова-alpha" not in page
    assert "Был: 0" in page
