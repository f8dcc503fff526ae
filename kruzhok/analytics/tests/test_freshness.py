"""Cached figures follow the data: attendance, enrollments and payments changed through the services
show on the next page view (the event handlers move the organisation's data version)."""

import datetime as dt

import pytest
from django.utils import timezone

from kruzhok.analytics.cache import data_version
from kruzhok.analytics.selectors import Facts
from kruzhok.attendance.services import attendance_mark
from kruzhok.billing import services as billing
from kruzhok.school.services.enrollments import enrollment_transition

pytestmark = pytest.mark.django_db
NOV = dt.date(2026, 11, 1)


def _summary(world):
    return Facts.load(world.org).month_summary(NOV)


def test_changing_a_mark_shows_at_once(alpha, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        attendance_mark(lesson=alpha.lesson, student=alpha.student, status="present", actor=alpha.teacher)
    assert _summary(alpha).attendance_rate == 1.0  # now cached
    before = data_version(alpha.org.pk)
    # The same row is updated (no new id): only the event can tell the cache.
    with django_capture_on_commit_callbacks(execute=True):
        attendance_mark(lesson=alpha.lesson, student=alpha.student, status="absent", actor=alpha.teacher)
    assert data_version(alpha.org.pk) != before
    assert _summary(alpha).attendance_rate == 0.0


def test_a_drop_shows_at_once(alpha, django_capture_on_commit_callbacks):
    assert _summary(alpha).dropped == 0
    with django_capture_on_commit_callbacks(execute=True):
        enrollment_transition(
            enrollment=alpha.enrollment,
            to_status="dropped",
            actor=alpha.manager,
            reason="moved",
            on_date=dt.date(2026, 11, 19),
        )
    summary = _summary(alpha)
    assert summary.dropped == 1 and summary.active_students == 0


def test_a_payment_shows_at_once(alpha, django_capture_on_commit_callbacks):
    assert _summary(alpha).revenue == 0
    account = billing.account_for_guardian(guardian=alpha.guardian)
    with django_capture_on_commit_callbacks(execute=True):
        billing.payment_take(
            org=alpha.org,
            account=account,
            amount="1234.50",
            method="cash",
            actor=alpha.manager,
            idempotency_key="fresh-1",
            paid_at=timezone.now(),
        )
    assert str(_summary(alpha).revenue) == "1234.50"


def test_the_page_follows_too(alpha, client_as, django_capture_on_commit_callbacks):
    client = client_as(alpha.owner)
    assert "Ушли" in client.get("/analytics/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        enrollment_transition(
            enrollment=alpha.enrollment,
            to_status="dropped",
            actor=alpha.manager,
            reason="moved",
            on_date=dt.date(2026, 11, 19),
        )
    page = client.get("/analytics/children/?metric=dropped")
    assert alpha.student.last_name in page.content.decode()


def test_a_new_release_does_not_serve_the_old_releases_cached_figures(alpha, monkeypatch):
    from kruzhok.analytics import cache as analytics_cache

    calls = []

    def compute():
        calls.append(analytics_cache.release())
        return len(calls)

    assert analytics_cache.cached(alpha.org.pk, "page", {}, compute) == 1
    assert analytics_cache.cached(alpha.org.pk, "page", {}, compute) == 1  # served from the cache
    # A deploy with new templates or code: the same data, but the page is drawn again.
    monkeypatch.setattr(analytics_cache, "release", lambda: "next-release")
    assert analytics_cache.cached(alpha.org.pk, "page", {}, compute) == 2
