import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from icalendar import Calendar

from kruzhok.family.tests.helpers import in_days
from kruzhok.school.models import Lesson, LessonStatus
from kruzhok.school.services.calendar import guardian_calendar_token_rotate
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db
RESET = reverse("family:calendar_reset")


def feed_url(token):
    return reverse("family:calendar_feed", args=[token])


def parse(response) -> Calendar:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.content)


def events_by_uid(calendar):
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def test_a_parent_gets_a_link_and_the_feed_lists_their_childs_lessons(alpha, client_as):
    response = client_as(alpha.parent).post(RESET)
    assert response.status_code == 302
    alpha.guardian.refresh_from_db()
    token = alpha.guardian.calendar_token
    assert token and len(token) >= 40
    page = client_as(alpha.parent).get(reverse("family:schedule")).content.decode()
    assert feed_url(token) in page
    assert "Сбросить ссылку" in page

    calendar = parse(Client().get(feed_url(token)))  # a calendar app: no session

    assert str(calendar["VERSION"]) == "2.0"
    assert "Kruzhok" in str(calendar["PRODID"])
    assert str(calendar["X-WR-TIMEZONE"]) == "Europe/Moscow"
    assert "Альфа" in str(calendar["X-WR-CALNAME"])
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Moscow"]
    event = events_by_uid(calendar)[f"lesson-{alpha.lesson.pk}-student-{alpha.student.pk}@kruzhok"]
    assert str(event["SUMMARY"]) == "Робототехника (alpha) — Маша"
    assert event["DTSTAMP"].dt.utcoffset() == dt.timedelta(0)
    assert event["DTSTART"].params["TZID"] == "Europe/Moscow"
    assert event["DTEND"].params["TZID"] == "Europe/Moscow"
    assert event["DTSTART"].dt == alpha.lesson.starts_at
    assert "ул. Ленина, 1" in str(event["LOCATION"])
    assert "Кабинет 1" in str(event["LOCATION"])
    assert "Первый робот" in str(event["DESCRIPTION"])
    assert str(event["STATUS"]) == "CONFIRMED"


@pytest.fixture
def token(alpha):
    return guardian_calendar_token_rotate(guardian=alpha.guardian)


def test_cancelled_and_moved_lessons_carry_status_and_sequence(alpha, client, token, make_lesson):
    cancelled = make_lesson(
        alpha, starts_at=in_days(1), status=LessonStatus.CANCELLED, cancel_reason="Болезнь"
    )
    moved = make_lesson(alpha, starts_at=in_days(3), moved_from=in_days(2), homework="Повторить")
    events = events_by_uid(parse(client.get(feed_url(token))))
    cancelled_event = events[f"lesson-{cancelled.pk}-student-{alpha.student.pk}@kruzhok"]
    moved_event = events[f"lesson-{moved.pk}-student-{alpha.student.pk}@kruzhok"]
    assert str(cancelled_event["STATUS"]) == "CANCELLED"
    assert "Болезнь" in str(cancelled_event["DESCRIPTION"])
    assert int(moved_event["SEQUENCE"]) >= 1
    assert moved_event["DTSTART"].dt == in_days(3)
    assert "Повторить" in str(moved_event["DESCRIPTION"])
    assert int(events[f"lesson-{alpha.lesson.pk}-student-{alpha.student.pk}@kruzhok"]["SEQUENCE"]) == 0


def test_a_second_move_raises_the_sequence_again(alpha, client, token, make_lesson):
    lesson = make_lesson(alpha, starts_at=in_days(3), moved_from=in_days(2))
    uid = f"lesson-{lesson.pk}-student-{alpha.student.pk}@kruzhok"
    Lesson.objects.filter(pk=lesson.pk).update(updated_at=lesson.created_at + dt.timedelta(minutes=5))
    first = int(events_by_uid(parse(client.get(feed_url(token))))[uid]["SEQUENCE"])
    Lesson.objects.filter(pk=lesson.pk).update(
        starts_at=in_days(4),
        ends_at=in_days(4) + dt.timedelta(hours=1),
        updated_at=lesson.created_at + dt.timedelta(hours=2),
    )
    event = events_by_uid(parse(client.get(feed_url(token))))[uid]
    assert int(event["SEQUENCE"]) > first >= 1
    assert event["DTSTART"].dt == in_days(4)


def test_the_feed_covers_sixty_days_back_and_the_horizon_ahead(alpha, client, token, make_lesson, settings):
    # Joined long ago, so only the feed's own window limits what it shows.
    alpha.enrollment.started_on = alpha.enrollment.started_on - dt.timedelta(days=100)
    alpha.enrollment.save()
    settings.LESSON_HORIZON_DAYS = 14
    inside = [make_lesson(alpha, starts_at=in_days(-59)), make_lesson(alpha, starts_at=in_days(14))]
    outside = [make_lesson(alpha, starts_at=in_days(-61)), make_lesson(alpha, starts_at=in_days(15))]
    uids = set(events_by_uid(parse(client.get(feed_url(token)))))
    for lesson in inside:
        assert f"lesson-{lesson.pk}-student-{alpha.student.pk}@kruzhok" in uids
    for lesson in outside:
        assert f"lesson-{lesson.pk}-student-{alpha.student.pk}@kruzhok" not in uids


def test_the_feed_uses_the_organisations_time_zone(alpha, client, token):
    alpha.org.timezone = "Asia/Yekaterinburg"
    alpha.org.save()
    calendar = parse(client.get(feed_url(token)))
    event = next(iter(events_by_uid(calendar).values()))
    assert str(calendar["X-WR-TIMEZONE"]) == "Asia/Yekaterinburg"
    assert event["DTSTART"].params["TZID"] == "Asia/Yekaterinburg"
    assert event["DTSTART"].dt == alpha.lesson.starts_at  # same instant, other wall clock


def test_a_beta_token_never_returns_alpha_lessons(alpha, beta, client):
    beta_token = guardian_calendar_token_rotate(guardian=beta.guardian)
    uids = set(events_by_uid(parse(client.get(feed_url(beta_token)))))
    assert uids == {f"lesson-{beta.lesson.pk}-student-{beta.student.pk}@kruzhok"}


def test_a_logged_in_user_of_another_org_gets_the_tokens_org(alpha, beta, client_as, token):
    uids = set(events_by_uid(parse(client_as(beta.owner).get(feed_url(token)))))
    assert uids == {f"lesson-{alpha.lesson.pk}-student-{alpha.student.pk}@kruzhok"}


@pytest.mark.parametrize("bad", ["nope", "x" * 500, "%3Cscript%3E"])
def test_an_unknown_token_is_404(alpha, client, token, bad):
    assert client.get(feed_url(bad)).status_code == 404


def test_the_reset_makes_the_old_link_stop_working(alpha, client_as, token):
    client = client_as(alpha.parent)
    response = client.post(RESET)
    assert response.status_code == 302
    assert response["Location"].endswith("#calendar")
    alpha.guardian.refresh_from_db()
    assert alpha.guardian.calendar_token != token
    assert client.get(feed_url(token)).status_code == 404
    assert client.get(feed_url(alpha.guardian.calendar_token)).status_code == 200


def test_the_reset_needs_a_post(alpha, client_as, token):
    assert client_as(alpha.parent).get(RESET).status_code == 405
    alpha.guardian.refresh_from_db()
    assert alpha.guardian.calendar_token == token


@pytest.mark.parametrize("role", ["owner", "manager", "teacher", "student"])
def test_other_roles_cannot_reset(alpha, client_as, role, token):
    assert client_as(alpha.user(role)).post(RESET).status_code == 403
    alpha.guardian.refresh_from_db()
    assert alpha.guardian.calendar_token == token


def test_a_parent_without_a_guardian_record_gets_404_on_reset(alpha, client_as):
    user = f.UserFactory(username="unlinked_parent")
    f.MembershipFactory(user=user, organization=alpha.org, role="parent")
    assert client_as(user).post(RESET).status_code == 404


def test_the_reset_page_shows_the_new_link(alpha, client_as, token):
    response = client_as(alpha.parent).post(RESET, follow=True)
    alpha.guardian.refresh_from_db()
    page = response.content.decode()
    assert "Старая больше не работает" in page
    assert feed_url(alpha.guardian.calendar_token) in page
