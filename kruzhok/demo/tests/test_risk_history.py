"""The demo's past alerts were handled on the days they were, so the dashboard's handling speed tells
a believable story (not "57 days": the moment of seeding)."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from kruzhok.demo.risk import ACK_DAYS, seed_alert_history
from kruzhok.school.models import EnrollmentStatus
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db


def test_the_dashboard_shows_the_demo_alerts_handled_within_days(alpha, client_as):
    today = timezone.localdate()
    for _ in range(12):  # old enough to have a settled "stayed" alert, opened 35–61 days ago
        f.EnrollmentFactory(
            organization=alpha.org, group=alpha.group, started_on=today - dt.timedelta(days=75)
        )
    for _ in range(4):
        f.EnrollmentFactory(
            organization=alpha.org,
            group=alpha.group,
            started_on=today - dt.timedelta(days=60),
            status=EnrollmentStatus.DROPPED,
            ended_on=today - dt.timedelta(days=10),
        )
    assert seed_alert_history(org=alpha.org, today=today) == 16
    page = client_as(alpha.owner).get(reverse("analytics:dashboard")).content.decode()
    days = re.search(r"Взяли в работу за \(медиана\)</dt><dd>([\d,]+) дн\.", page)
    assert days is not None, "the median time to react is shown"
    assert float(days.group(1).replace(",", ".")) <= max(ACK_DAYS)
    closed = re.search(r"Закрыли за \(медиана\)</dt><dd>([\d,]+) дн\.", page)
    # A stayed alert settles OUTCOME_DAYS after opening, a dropped one when the child left.
    assert 10 <= float(closed.group(1).replace(",", ".")) <= 50


def test_the_seeded_alert_timelines_are_dated_as_the_story_goes(alpha, client_as):
    """An alert the seed's weekly scoring opened two weeks ago says so on its timeline, not «raised
    today at the moment of seeding»; so do the settled past alerts' steps."""
    from kruzhok.demo.risk import date_alert_timeline
    from kruzhok.lib.dates import org_timezone
    from kruzhok.risk.models import AlertEventKind, RiskAlertEvent
    from kruzhok.risk.services import risk_score_compute
    from kruzhok.risk.tests.helpers import fading_child

    today = timezone.localdate()
    opened = today - dt.timedelta(days=14)
    fading_child(alpha, as_of=opened)
    risk_score_compute(org=alpha.org, as_of=opened)
    for _ in range(3):
        f.EnrollmentFactory(
            organization=alpha.org, group=alpha.group, started_on=today - dt.timedelta(days=75)
        )
    assert seed_alert_history(org=alpha.org, today=today) == 3
    date_alert_timeline(org=alpha.org)
    card = client_as(alpha.teacher).get(reverse("risk:card", args=[alpha.enrollment.pk])).content.decode()
    raised = re.search(r'<span class="muted">(\d\d\.\d\d\.\d{4}) \d\d:\d\d</span> · Сигнал поднят', card)
    assert raised is not None and raised.group(1) == opened.strftime("%d.%m.%Y")
    tz = org_timezone(alpha.org)
    events = RiskAlertEvent.objects.select_related("alert")
    assert events.filter(kind=AlertEventKind.OUTCOME).count() == 3
    for event in events:
        day = timezone.localtime(event.created_at, tz).date()
        if event.kind == AlertEventKind.OPENED:
            assert day == event.alert.opened_on
        elif event.kind == AlertEventKind.OUTCOME:
            assert day == event.alert.outcome_on
        else:
            assert event.alert.opened_on <= day <= today
