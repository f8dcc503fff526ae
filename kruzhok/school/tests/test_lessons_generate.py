"""Lessons follow each group's weekly rule, skip holidays, and never lose a lesson someone worked with.

The clock is pinned to Monday 5 October 2026, 09:00 Moscow time; the horizon is 56 days, so the window
is 5 October – 30 November: 9 Mondays and 8 Thursdays.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from kruzhok.accounts.models import Membership, Role
from kruzhok.school.models import Lesson, LessonStatus
from kruzhok.school.services import structure as services
from kruzhok.school.services.lessons import lessons_generate
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db

MSK = ZoneInfo("Europe/Moscow")
NOW = dt.datetime(2026, 10, 5, 9, 0, tzinfo=MSK)
MON = {"weekday": 0, "start_time": dt.time(16, 0), "duration_minutes": 60}
THU = {"weekday": 3, "start_time": dt.time(18, 0), "duration_minutes": 90}


@pytest.fixture
def clock(time_machine, settings):
    settings.LESSON_HORIZON_DAYS = 56
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def org(clock):
    return f.OrganizationFactory()


@pytest.fixture
def group(org):
    branch = f.BranchFactory(organization=org)
    room = f.RoomFactory(organization=org, branch=branch)
    teacher = f.UserFactory()
    Membership.objects.create(user=teacher, organization=org, role=Role.TEACHER)
    return services.group_create(
        org=org,
        course=f.CourseFactory(organization=org),
        branch=branch,
        room=room,
        teacher=teacher,
        name="Шахматы-1",
        capacity=10,
        start_date=dt.date(2026, 9, 1),
        end_date=dt.date(2027, 5, 31),
        slots=[MON, THU],
    )


def lesson_on(group, day, weekday_slot=None):
    lessons = Lesson.objects.filter(group=group, origin_date=day)
    return lessons.get() if weekday_slot is None else lessons.get(slot__weekday=weekday_slot)


def origin_dates(group, **filters):
    return sorted(Lesson.objects.filter(group=group, **filters).values_list("origin_date", flat=True))


def test_a_two_slot_group_gets_every_occurrence_over_the_horizon(group):
    lessons = Lesson.objects.filter(group=group)
    assert lessons.count() == 17
    assert lessons.filter(slot__weekday=0).count() == 9
    assert lessons.filter(slot__weekday=3).count() == 8
    assert origin_dates(group)[0] == dt.date(2026, 10, 5)
    assert origin_dates(group)[-1] == dt.date(2026, 11, 30)


def test_lessons_are_at_the_rule_time_in_the_organisations_zone_with_room_and_teacher(group):
    thursday = lesson_on(group, dt.date(2026, 10, 8))
    assert thursday.starts_at == dt.datetime(2026, 10, 8, 18, 0, tzinfo=MSK)
    assert thursday.ends_at == dt.datetime(2026, 10, 8, 19, 30, tzinfo=MSK)
    assert (thursday.room, thursday.teacher) == (group.room, group.teacher)
    assert thursday.status == LessonStatus.SCHEDULED


def test_the_organisations_own_time_zone_is_used(org, group):
    org.timezone = "Asia/Novosibirsk"
    org.save()
    Lesson.objects.filter(group=group).delete()
    lessons_generate(org=org, group=group)
    monday = lesson_on(group, dt.date(2026, 10, 12))
    assert monday.starts_at == dt.datetime(2026, 10, 12, 16, 0, tzinfo=ZoneInfo("Asia/Novosibirsk"))


def test_running_twice_creates_nothing_the_second_time(org, group):
    assert lessons_generate(org=org) == {"created": 0, "deleted": 0, "updated": 0}
    assert Lesson.objects.filter(group=group).count() == 17


def test_the_horizon_rolls_forward_with_the_clock(org, group, clock):
    clock.move_to(NOW + dt.timedelta(days=7), tick=False)
    result = lessons_generate(org=org)
    assert result["created"] == 2  # Monday 7 and Thursday 3 December
    assert origin_dates(group)[-1] == dt.date(2026, 12, 7)


def test_a_shorter_explicit_horizon_is_respected(org, clock):
    fresh = f.GroupFactory(organization=org, start_date=dt.date(2026, 9, 1), end_date=dt.date(2027, 5, 31))
    f.ScheduleSlotFactory(organization=org, group=fresh, weekday=0)
    assert lessons_generate(org=org, group=fresh, horizon_days=7)["created"] == 2  # 5 and 12 October


def test_no_lessons_outside_the_groups_dates(org, clock):
    short = services.group_create(
        org=org,
        course=f.CourseFactory(organization=org),
        branch=f.BranchFactory(organization=org),
        name="Интенсив",
        capacity=8,
        start_date=dt.date(2026, 10, 10),
        end_date=dt.date(2026, 10, 25),
        slots=[MON, THU],
    )
    assert origin_dates(short) == [
        dt.date(2026, 10, 12),
        dt.date(2026, 10, 15),
        dt.date(2026, 10, 19),
        dt.date(2026, 10, 22),
    ]


def test_an_inactive_group_gets_no_lessons(org, clock):
    idle = f.GroupFactory(
        organization=org, is_active=False, start_date=dt.date(2026, 9, 1), end_date=dt.date(2027, 5, 31)
    )
    f.ScheduleSlotFactory(organization=org, group=idle, weekday=0)
    assert lessons_generate(org=org)["created"] == 0


def test_holidays_are_skipped(org, clock):
    services.holiday_create(
        org=org, name="Осенние каникулы", start_date=dt.date(2026, 11, 2), end_date=dt.date(2026, 11, 8)
    )
    branch = f.BranchFactory(organization=org)
    group = services.group_create(
        org=org,
        course=f.CourseFactory(organization=org),
        branch=branch,
        name="Группа после каникул",
        capacity=10,
        start_date=dt.date(2026, 9, 1),
        end_date=dt.date(2027, 5, 31),
        slots=[MON, THU],
    )
    dates = origin_dates(group)
    assert len(dates) == 15
    assert dt.date(2026, 11, 2) not in dates
    assert dt.date(2026, 11, 5) not in dates


def test_a_new_holiday_removes_unmarked_lessons_and_deleting_it_brings_them_back(org, group):
    marked = lesson_on(group, dt.date(2026, 11, 2))
    marked.attendance_taken_at = timezone.now()
    marked.save()
    holiday = services.holiday_create(
        org=org,
        name="День народного единства",
        start_date=dt.date(2026, 11, 2),
        end_date=dt.date(2026, 11, 5),
    )
    assert origin_dates(group, origin_date__range=(dt.date(2026, 11, 2), dt.date(2026, 11, 5))) == [
        dt.date(2026, 11, 2)
    ]
    assert Lesson.objects.filter(pk=marked.pk).exists()

    services.holiday_delete(holiday=holiday)
    assert Lesson.objects.filter(group=group).count() == 17


def test_removing_a_slot_deletes_its_unmarked_future_lessons_and_keeps_worked_ones(org, group):
    marked = lesson_on(group, dt.date(2026, 10, 12))
    marked.attendance_taken_at = timezone.now()
    marked.save()
    planned = lesson_on(group, dt.date(2026, 10, 19))
    planned.topic = "Рокировка"
    planned.save()
    with_homework = lesson_on(group, dt.date(2026, 10, 26))
    with_homework.homework = "Решить 5 задач"
    with_homework.save()
    moved = lesson_on(group, dt.date(2026, 11, 2))
    moved.moved_from = moved.starts_at
    moved.starts_at += dt.timedelta(days=1)
    moved.ends_at += dt.timedelta(days=1)
    moved.save()
    cancelled = lesson_on(group, dt.date(2026, 11, 9))
    cancelled.status = LessonStatus.CANCELLED
    cancelled.cancel_reason = "Болезнь преподавателя"
    cancelled.save()

    services.group_update(group=group, slots=[THU])

    kept = {marked.pk, planned.pk, with_homework.pk, moved.pk, cancelled.pk}
    assert set(Lesson.objects.filter(group=group, slot__isnull=True).values_list("pk", flat=True)) == kept
    # The other four Mondays were untouched and are gone; all eight Thursdays stay.
    assert Lesson.objects.filter(group=group).count() == 5 + 8
    assert Lesson.objects.filter(group=group, slot__weekday=3).count() == 8


def test_past_lessons_are_never_touched(org, group, clock):
    clock.move_to(dt.datetime(2026, 10, 20, 12, 0, tzinfo=MSK), tick=False)
    past_mondays = [dt.date(2026, 10, 5), dt.date(2026, 10, 12), dt.date(2026, 10, 19)]

    services.group_update(group=group, slots=[THU])

    mondays = origin_dates(group, starts_at__week_day=2)  # Django: Sunday=1, Monday=2
    assert mondays == past_mondays


def test_shortening_the_group_removes_only_lessons_after_the_new_end(org, group):
    services.group_update(group=group, end_date=dt.date(2026, 10, 31))
    assert origin_dates(group)[-1] == dt.date(2026, 10, 29)
    assert Lesson.objects.filter(group=group).count() == 8


def test_deactivating_a_group_removes_its_unmarked_future_lessons(org, group):
    planned = lesson_on(group, dt.date(2026, 10, 19))
    planned.topic = "Эндшпиль"
    planned.save()
    services.group_update(group=group, is_active=False)
    assert list(Lesson.objects.filter(group=group).values_list("pk", flat=True)) == [planned.pk]


def test_a_longer_slot_re_times_untouched_lessons(org, group):
    services.group_update(group=group, slots=[{**MON, "duration_minutes": 90}, THU])
    monday = lesson_on(group, dt.date(2026, 10, 12))
    assert monday.ends_at == dt.datetime(2026, 10, 12, 17, 30, tzinfo=MSK)
    assert Lesson.objects.filter(group=group).count() == 17


def test_a_new_slot_time_replaces_lessons_but_not_one_with_a_topic(org, group):
    planned = lesson_on(group, dt.date(2026, 10, 19), weekday_slot=0)
    planned.topic = "Мат в два хода"
    planned.save()

    services.group_update(group=group, slots=[{**MON, "start_time": dt.time(17, 0)}, THU])

    on_the_19th = Lesson.objects.filter(group=group, origin_date=dt.date(2026, 10, 19))
    assert list(on_the_19th.values_list("pk", flat=True)) == [planned.pk]
    other_monday = lesson_on(group, dt.date(2026, 10, 26))
    assert other_monday.starts_at == dt.datetime(2026, 10, 26, 17, 0, tzinfo=MSK)
    assert Lesson.objects.filter(group=group).count() == 17


def test_adding_a_slot_creates_its_lessons(org, group):
    saturday = {"weekday": 5, "start_time": dt.time(11, 0), "duration_minutes": 45}
    services.group_update(group=group, slots=[MON, THU, saturday])
    assert Lesson.objects.filter(group=group, slot__weekday=5).count() == 8


def test_a_new_teacher_and_room_follow_into_future_unmarked_lessons(org, group):
    marked = lesson_on(group, dt.date(2026, 10, 12))
    marked.attendance_taken_at = timezone.now()
    marked.save()
    new_teacher = f.UserFactory()
    Membership.objects.create(user=new_teacher, organization=org, role=Role.TEACHER)
    new_room = f.RoomFactory(organization=org, branch=group.branch)

    services.group_update(group=group, teacher=new_teacher, room=new_room)

    assert lesson_on(group, dt.date(2026, 10, 19)).teacher == new_teacher
    assert lesson_on(group, dt.date(2026, 10, 19)).room == new_room
    marked.refresh_from_db()
    assert marked.teacher != new_teacher


def test_other_organisations_lessons_are_left_alone(org, group):
    other = f.OrganizationFactory()
    other_group = f.GroupFactory(
        organization=other, start_date=dt.date(2026, 9, 1), end_date=dt.date(2027, 5, 31)
    )
    f.ScheduleSlotFactory(organization=other, group=other_group, weekday=0)
    services.holiday_create(
        org=org, name="Каникулы", start_date=dt.date(2026, 10, 1), end_date=dt.date(2026, 12, 31)
    )
    assert lessons_generate(org=other)["created"] == 9
    assert not Lesson.objects.filter(group=group).exists()
