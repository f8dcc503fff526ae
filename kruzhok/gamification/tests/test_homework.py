"""Homework handed in and its grade as XP events (the homework app publishes `homework.recorded`)."""

import pytest

from kruzhok.gamification import handlers, services
from kruzhok.gamification.models import StudentXp, XpAward
from kruzhok.gamification.selectors import xp_log
from kruzhok.homework.services import record_homework

pytestmark = pytest.mark.django_db


@pytest.fixture
def homework(django_capture_on_commit_callbacks):
    """homework(world, status, grade=None, is_late=False): records through the real service and delivers
    the event after the commit, as production does."""

    def do(world, status, grade=None, is_late=False):
        with django_capture_on_commit_callbacks(execute=True):
            return record_homework(
                lesson=world.lesson,
                student=world.student,
                status=status,
                grade=grade,
                is_late=is_late,
                by=world.teacher,
            )

    return do


def total(world) -> int:
    row = StudentXp.objects.filter(student=world.student).first()
    return row.xp if row else 0


def live(world, component):
    return XpAward.objects.filter(
        student=world.student, component=component, reverses__isnull=True, reversed_by__isnull=True
    )


def test_handed_in_homework_and_a_good_grade_give_xp(alpha, homework):
    homework(alpha, "submitted")
    assert total(alpha) == 10
    homework(alpha, "submitted", grade=5)
    assert total(alpha) == 20
    notes = [a.note for a in xp_log(org=alpha.org, student=alpha.student)]
    assert any("Оценка 5" in n for n in notes) and any("Сдал домашнее задание" in n for n in notes)


def test_a_low_grade_gives_nothing_and_says_why(alpha, homework):
    homework(alpha, "submitted", grade=3)
    assert total(alpha) == 10
    [grade] = live(alpha, "grade")
    assert grade.amount == 0 and "очки дают за 4 и 5" in grade.note


def test_missed_homework_is_logged_as_not_given(alpha, homework):
    homework(alpha, "missed")
    assert total(alpha) == 0
    [award] = live(alpha, "homework")
    assert award.amount == 0 and "не сдано" in award.note


def test_correcting_a_grade_reverses_exactly_its_xp(alpha, homework):
    homework(alpha, "submitted", grade=5)
    homework(alpha, "submitted", grade=2)
    assert total(alpha) == 10
    reversal = XpAward.objects.get(student=alpha.student, component="grade", reverses__isnull=False)
    assert reversal.amount == -10
    # The homework part is untouched by a grade change.
    assert XpAward.objects.filter(student=alpha.student, component="homework").count() == 1
    homework(alpha, "missed")
    assert total(alpha) == 0
    assert not live(alpha, "grade").exists()


def test_a_retried_or_doubled_event_pays_once(alpha, homework):
    result = homework(alpha, "submitted", grade=4)
    for _ in range(3):
        handlers.on_homework_recorded(organization_id=alpha.org.pk, result_id=result.pk, status="submitted")
    homework(alpha, "submitted", grade=4)
    assert total(alpha) == 20
    assert XpAward.objects.filter(student=alpha.student).count() == 2


def test_rules_decide_what_homework_gives(alpha, homework):
    services.gamification_settings_update(org=alpha.org, count_grades=False, xp_homework=7)
    homework(alpha, "submitted", grade=5, is_late=True)
    assert total(alpha) == 7
    notes = " ".join(a.note for a in xp_log(org=alpha.org, student=alpha.student))
    assert "С опозданием" in notes and "не начисляются" in notes


def test_the_daily_cap_limits_homework_too_and_the_log_says_so(alpha, homework, mark):
    services.gamification_settings_update(org=alpha.org, daily_cap=20)
    mark(alpha, "present")  # 15 of 20
    homework(alpha, "submitted", grade=5)
    assert total(alpha) == 20
    assert any("Дневной лимит" in a.note for a in xp_log(org=alpha.org, student=alpha.student))


def test_homework_badges_and_quests_count_handed_in_work(alpha, homework):
    import datetime as dt

    services.badge_create(org=alpha.org, name="Отличник", rule="first", event="good_grade")
    day = alpha.lesson.starts_at.date()
    services.quest_save(
        org=alpha.org,
        title="Домашка",
        starts_on=day - dt.timedelta(days=1),
        ends_on=day + dt.timedelta(days=1),
        steps=[("homework", 1), ("good_grades", 1)],
        reward_xp=5,
    )
    homework(alpha, "submitted", grade=5)
    assert alpha.student.badge_awards.filter(badge__name="Отличник").exists()
    assert live(alpha, "quest").get().amount == 5
