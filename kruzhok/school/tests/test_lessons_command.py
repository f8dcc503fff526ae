"""`generate_lessons` and the periodic task fill every organisation's schedule, each in its own tenant."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from kruzhok.lib.tenancy import _active  # noqa: PLC2701 — the test clears the context on purpose
from kruzhok.school.models import Lesson
from kruzhok.school.tasks import lessons_generate_all_task

pytestmark = pytest.mark.django_db


def run(*args):
    out = StringIO()
    call_command("generate_lessons", *args, stdout=out)
    return out.getvalue()


def weekly_count(days: int) -> int:
    """Occurrences of today's weekday in [today, today + days], today's lesson already exists."""
    return days // 7


def test_it_generates_lessons_for_every_organisation(alpha, beta):
    output = run("--days", "21")
    expected = weekly_count(21)
    assert "organisations: 2" in output
    assert f"created: {2 * expected}" in output
    for world in (alpha, beta):
        assert Lesson.objects.filter(group=world.group).count() == 1 + expected


def test_a_second_run_creates_nothing(alpha):
    run("--days", "14")
    assert "created: 0" in run("--days", "14")


def test_the_default_horizon_comes_from_settings(alpha, settings):
    settings.LESSON_HORIZON_DAYS = 28
    run()
    last = Lesson.objects.filter(group=alpha.group).order_by("-origin_date").first()
    assert last.origin_date == timezone.localdate() + dt.timedelta(days=28)


@pytest.mark.parametrize("days", ["-1", "100000"])
def test_it_refuses_a_silly_horizon(alpha, days):
    with pytest.raises(CommandError):
        run("--days", days)
    assert Lesson.objects.filter(group=alpha.group).count() == 1


def test_it_refuses_a_horizon_that_is_not_a_number(alpha):
    with pytest.raises(CommandError):
        run("--days", "много")


def test_the_periodic_task_works_with_no_tenant_active(alpha, beta):
    token = _active.set(None)  # as in a Celery worker: nothing active until the task opens a tenant
    try:
        totals = lessons_generate_all_task(horizon_days=7)
    finally:
        _active.reset(token)
    assert totals["organizations"] == 2
    assert totals["failed"] == 0
    assert Lesson.objects.filter(group=alpha.group).count() == 2


def test_the_task_is_registered_under_the_name_the_beat_schedule_uses(settings):
    from config.celery import app

    name = settings.CELERY_BEAT_SCHEDULE["generate-lessons-nightly"]["task"]
    assert lessons_generate_all_task.name == name
    assert name in app.tasks
