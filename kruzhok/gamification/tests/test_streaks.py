import datetime as dt

import pytest

from kruzhok.attendance.models import AttendanceMark
from kruzhok.gamification.selectors import streak_weeks

pytestmark = pytest.mark.django_db

# A Wednesday; weeks below count back from it.
TODAY = dt.date(2026, 11, 25)


def week(n: int) -> dt.date:
    """The Wednesday n weeks before TODAY's week."""
    return TODAY - dt.timedelta(weeks=n)


def put(world, lesson_on, day, status):
    lesson = lesson_on(world, day)
    AttendanceMark.objects.create(
        organization=world.org,
        lesson=lesson,
        student=world.student,
        enrollment=world.enrollment,
        status=status,
    )


def streak(world):
    return streak_weeks(org=world.org, student=world.student, today=TODAY)


def test_weeks_in_a_row_count_once_each_even_with_two_lessons(alpha, lesson_on):
    for n in (3, 2, 1):
        put(alpha, lesson_on, week(n), "present")
        put(alpha, lesson_on, week(n) + dt.timedelta(days=1), "late")
    assert streak(alpha).current == 3


def test_a_week_without_lessons_does_not_break_the_streak(alpha, lesson_on):
    put(alpha, lesson_on, week(4), "present")
    # week 3: holidays, no lesson at all
    put(alpha, lesson_on, week(2), "present")
    put(alpha, lesson_on, week(1), "present")
    assert streak(alpha).current == 3


def test_an_excused_absence_does_not_break_the_streak(alpha, lesson_on):
    put(alpha, lesson_on, week(3), "present")
    put(alpha, lesson_on, week(2), "excused")
    put(alpha, lesson_on, week(1), "present")
    assert streak(alpha).current == 2


def test_a_week_of_unexcused_absence_breaks_it_but_keeps_the_best(alpha, lesson_on):
    put(alpha, lesson_on, week(5), "present")
    put(alpha, lesson_on, week(4), "present")
    put(alpha, lesson_on, week(3), "present")
    put(alpha, lesson_on, week(2), "absent")
    put(alpha, lesson_on, week(1), "present")
    result = streak(alpha)
    assert (result.current, result.best) == (1, 3)


def test_a_missed_lesson_in_the_current_week_cannot_break_it_yet(alpha, lesson_on):
    put(alpha, lesson_on, week(1), "present")
    put(alpha, lesson_on, TODAY - dt.timedelta(days=1), "absent")
    result = streak(alpha)
    assert result.current == 1 and not result.this_week_done


def test_a_week_with_one_miss_and_one_visit_counts(alpha, lesson_on):
    put(alpha, lesson_on, week(1), "absent")
    put(alpha, lesson_on, week(1) + dt.timedelta(days=1), "present")
    assert streak(alpha).current == 1


def test_engagement_signals_show_a_slowing_pace_and_a_broken_streak(alpha, lesson_on, mark):
    from kruzhok.gamification.selectors import engagement_signals

    today = alpha.lesson.starts_at.date()
    # The enrollment began 30 days ago: one visit then, misses since.
    mark(alpha, "present", lesson=lesson_on(alpha, today - dt.timedelta(days=29)))
    mark(alpha, "absent", lesson=lesson_on(alpha, today - dt.timedelta(weeks=2)))
    mark(alpha, "absent", lesson=lesson_on(alpha, today - dt.timedelta(weeks=1)))
    signals = engagement_signals(org=alpha.org, student=alpha.student, today=today)
    assert signals.xp_last_4_weeks == 0 and signals.xp_previous_4_weeks == 15
    assert signals.xp_pace == 0.0
    assert signals.streak_broken and signals.best_streak_weeks == 1


def test_four_weeks_in_a_row_earn_a_freeze_that_saves_a_missed_week(alpha, lesson_on):
    for n in (7, 6, 5, 4):
        put(alpha, lesson_on, week(n), "present")
    assert streak_weeks(org=alpha.org, student=alpha.student, today=week(4)).freezes == 1
    put(alpha, lesson_on, week(3), "absent")  # no reason: the freeze is used instead of breaking
    put(alpha, lesson_on, week(2), "present")
    put(alpha, lesson_on, week(1), "present")
    result = streak(alpha)
    assert result.current == 6 and result.freezes == 0
    assert result.frozen_weeks == (week(3) - dt.timedelta(days=week(3).weekday()),)
    page = streak_weeks(org=alpha.org, student=alpha.student, today=TODAY)
    assert page.to_next_freeze == 2


def test_without_a_freeze_a_missed_week_still_breaks_and_freezes_are_capped_at_two(alpha, lesson_on):
    for n in range(15, 3, -1):  # 12 weeks in a row: three freezes earned, only two kept
        put(alpha, lesson_on, week(n), "present")
    assert streak_weeks(org=alpha.org, student=alpha.student, today=week(4)).freezes == 2
    for n in (3, 2, 1):
        put(alpha, lesson_on, week(n), "absent")
    result = streak(alpha)
    assert result.current == 0 and result.best == 12 and len(result.frozen_weeks) == 2


def test_an_absence_on_a_holiday_does_not_break_the_streak(alpha, lesson_on):
    from kruzhok.school.models import Holiday

    put(alpha, lesson_on, week(3), "present")
    Holiday.objects.create(organization=alpha.org, name="Каникулы", start_date=week(2), end_date=week(2))
    put(alpha, lesson_on, week(2), "absent")
    put(alpha, lesson_on, week(1), "present")
    assert streak(alpha).current == 2


def test_an_absence_while_the_subscription_is_frozen_does_not_break_the_streak(alpha, lesson_on):
    from kruzhok.billing import services as billing

    plan = billing.plan_create(
        org=alpha.org, name="Абонемент", kind="pack", course=alpha.course, price="4000", lessons=8
    )
    sub = billing.subscription_sell(
        org=alpha.org,
        actor=alpha.owner,
        student=alpha.student,
        plan=plan,
        valid_from=week(4),
        sold_on=week(4),
    )
    put(alpha, lesson_on, week(3), "present")
    billing.subscription_freeze(
        subscription=sub,
        start_date=week(2) - dt.timedelta(days=1),
        end_date=week(2) + dt.timedelta(days=1),
        reason="Болеет",
        actor=alpha.owner,
    )
    put(alpha, lesson_on, week(2), "absent")
    put(alpha, lesson_on, week(1), "present")
    assert streak(alpha).current == 2
