import datetime as dt
import itertools

from django.utils import timezone

from kruzhok.billing import services
from kruzhok.testing import factories as f

_keys = itertools.count(1)


def key(prefix: str = "k") -> str:
    return f"{prefix}-{next(_keys)}"


def pack_plan(world, *, price="4800.00", lessons=8, valid_days=30, name=None, kind="pack"):
    return services.plan_create(
        org=world.org,
        name=name or f"Абонемент {lessons} занятий ({world.org.slug}) {next(_keys)}",
        kind=kind,
        course=world.course,
        price=price,
        lessons=lessons,
        valid_days=valid_days,
    )


def sell(world, plan=None, **kwargs):
    plan = plan or pack_plan(world)
    return services.subscription_sell(
        org=world.org, actor=world.manager, student=world.student, plan=plan, **kwargs
    )


def extra_lesson(world, days_ago: int):
    starts = timezone.now() - dt.timedelta(days=days_ago, hours=1)
    return f.LessonFactory(
        organization=world.org,
        group=world.group,
        slot=None,
        origin_date=None,
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=1),
        teacher=world.teacher,
    )


def lesson_in(world, group, *, days_ahead: int, hour: int = 11):
    """A one-off lesson of `group` at `hour` o'clock, `days_ahead` days from now (negative: past)."""
    starts = timezone.now().replace(hour=hour, minute=0, second=0, microsecond=0) + dt.timedelta(
        days=days_ahead
    )
    return f.LessonFactory(
        organization=world.org,
        group=group,
        slot=None,
        origin_date=None,
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=1),
        teacher=world.teacher,
    )


def parallel_group(world, name: str):
    """Another group of the world's course in its branch: where a missed lesson may be made up."""
    return f.GroupFactory(
        organization=world.org,
        course=world.course,
        branch=world.branch,
        teacher=world.teacher,
        name=name,
        start_date=world.group.start_date,
        end_date=world.group.end_date,
    )
