import pytest
from django.urls import reverse

from kruzhok.family.tests.helpers import in_days
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db
URL = reverse("family:home")


def test_a_parent_sees_a_card_per_child_with_next_lesson_marks_and_homework(
    alpha, client_as, make_lesson, mark
):
    past = make_lesson(alpha, starts_at=in_days(-2), topic="Датчики", homework="Собрать датчик света")
    mark(alpha, past, "late")
    make_lesson(alpha, starts_at=in_days(1, hour=11))

    response = client_as(alpha.parent).get(URL)

    page = response.content.decode()
    assert response.status_code == 200
    assert "Маша Петрова-alpha" in page
    assert "Следующее занятие" in page
    assert "Опоздал" in page
    assert "Собрать датчик света" in page
    assert reverse("family:child", args=[alpha.student.pk]) in page


def test_a_parent_sees_only_their_own_child(alpha, other_family, client_as):
    page = client_as(alpha.parent).get(URL).content.decode()
    assert "Соседов" not in page


def test_a_parent_with_no_linked_child_is_told_what_to_do(alpha, client_as):
    user = f.UserFactory(username="lonely_parent")
    f.MembershipFactory(user=user, organization=alpha.org, role="parent")
    response = client_as(user).get(URL)
    assert response.status_code == 200
    assert "не привязан ни один ребёнок" in response.content.decode()


def test_a_student_sees_their_own_friendly_page(alpha, client_as, make_lesson):
    make_lesson(alpha, starts_at=in_days(1, hour=11), topic="Шестерёнки")
    response = client_as(alpha.student_user).get(URL)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Моё расписание" in page
    assert "Привет, Маша!" in page
    assert "Робототехника (alpha)" in page
    assert "Шестерёнки" in page


def test_a_parent_landing_on_the_site_is_sent_here(alpha, client_as):
    response = client_as(alpha.parent).get("/")
    assert response.status_code == 302
    assert response["Location"] == URL


@pytest.mark.parametrize("role", ["owner", "manager", "teacher"])
def test_staff_get_403(alpha, client_as, role):
    assert client_as(alpha.user(role)).get(URL).status_code == 403


def test_an_anonymous_visitor_is_sent_to_log_in(alpha, client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_the_page_shows_beta_only_its_own_child(alpha, beta, client_as):
    page = client_as(beta.parent).get(URL).content.decode()
    assert "Петрова-beta" in page
    assert "Петрова-alpha" not in page


def test_the_home_page_query_count_does_not_grow_with_marks(
    alpha, client_as, make_lesson, mark, django_assert_max_num_queries
):
    for days in range(1, 8):
        mark(alpha, make_lesson(alpha, starts_at=in_days(-days)), "present")
    client = client_as(alpha.parent)
    with django_assert_max_num_queries(12):
        assert client.get(URL).status_code == 200
