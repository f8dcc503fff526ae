import pytest
from django.core.exceptions import ValidationError

from kruzhok.gamification import handlers, services
from kruzhok.gamification.models import Component, StudentXp, XpAward
from kruzhok.gamification.selectors import xp_log
from kruzhok.lib import events

pytestmark = pytest.mark.django_db


def total(world) -> int:
    return StudentXp.objects.get(organization=world.org, student=world.student).xp


def test_a_visit_on_time_gives_visit_xp_and_the_on_time_bonus(alpha, mark):
    mark(alpha, "present")
    assert total(alpha) == 15
    components = set(XpAward.objects.filter(student=alpha.student).values_list("component", "amount"))
    assert components == {(Component.VISIT, 10), (Component.ON_TIME, 5)}


def test_a_late_child_gets_visit_xp_only_and_the_log_says_why(alpha, mark):
    mark(alpha, "late")
    assert total(alpha) == 10
    notes = [award.note for award in xp_log(org=alpha.org, student=alpha.student)]
    assert any("Опоздание" in note for note in notes)


@pytest.mark.parametrize("status", ["absent", "excused"])
def test_a_missed_lesson_gives_nothing_but_explains_it(alpha, mark, status):
    mark(alpha, status)
    assert total(alpha) == 0
    [award] = XpAward.objects.filter(student=alpha.student)
    assert award.amount == 0 and award.basis == status and award.note


def test_retried_events_and_repeated_marks_pay_exactly_once(alpha, mark):
    saved = mark(alpha, "present")
    mark(alpha, "present")  # the teacher taps again
    for _ in range(3):  # the bus redelivers
        handlers.on_attendance_marked(
            organization_id=alpha.org.pk,
            lesson_id=saved.lesson_id,
            student_id=saved.student_id,
            status="present",
        )
    assert total(alpha) == 15
    assert XpAward.objects.filter(student=alpha.student).count() == 2


def test_the_ledger_refuses_a_second_live_award_for_the_same_source(alpha, mark):
    saved = mark(alpha, "present")
    award = XpAward.objects.get(student=alpha.student, component=Component.VISIT)
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        XpAward.objects.create(
            organization=alpha.org,
            student=alpha.student,
            source_key=f"attendance:{saved.pk}",
            component=Component.VISIT,
            seq=award.seq,
            amount=10,
            basis="present",
            note="twice",
            occurred_on=award.occurred_on,
        )


def test_correcting_present_to_absent_reverses_the_xp_with_reversing_rows(alpha, mark):
    mark(alpha, "present")
    mark(alpha, "absent")
    assert total(alpha) == 0
    reversals = XpAward.objects.filter(student=alpha.student, reverses__isnull=False)
    assert sorted(r.amount for r in reversals) == [-10, -5]
    # Append-only: the original awards are still there.
    assert XpAward.objects.filter(student=alpha.student, amount__gt=0).count() == 2


def test_correcting_back_to_present_pays_again_once(alpha, mark):
    mark(alpha, "present")
    mark(alpha, "absent")
    mark(alpha, "present")
    mark(alpha, "present")
    assert total(alpha) == 15
    assert XpAward.objects.filter(student=alpha.student, component=Component.VISIT, amount=10).count() == 2


def test_the_daily_cap_limits_a_day_and_says_so(alpha, mark):
    services.gamification_settings_update(org=alpha.org, daily_cap=12)
    mark(alpha, "present")
    assert total(alpha) == 12
    assert XpAward.objects.filter(student=alpha.student, note__contains="Дневной лимит").exists()


def test_rules_changed_later_do_not_rewrite_old_awards(alpha, mark):
    mark(alpha, "present")
    services.gamification_settings_update(org=alpha.org, xp_visit=30)
    mark(alpha, "present")
    assert total(alpha) == 15


def test_switched_off_gamification_gives_nothing(alpha, mark):
    services.gamification_settings_update(org=alpha.org, enabled=False)
    mark(alpha, "present")
    assert not XpAward.objects.exists()


def test_paying_money_never_earns_xp():
    # XP comes only from these components, and we listen to attendance and homework, never to billing.
    assert set(Component.values) == {"visit", "on_time", "kudos", "homework", "grade", "quest"}
    ours = {handlers.on_attendance_marked, handlers.on_homework_recorded}
    subscribed = {topic for topic, handlers_ in events._subscribers.items() if ours & set(handlers_)}
    assert subscribed == {"attendance.marked", "homework.recorded"}


def test_one_organisations_marks_never_touch_anothers_xp(alpha, beta, mark):
    mark(alpha, "present")
    assert not XpAward.objects.filter(organization=beta.org).exists()


def test_kudos_is_given_once_per_lesson(alpha, mark):
    mark(alpha, "present")
    _award, created = services.kudos_give(lesson=alpha.lesson, student=alpha.student, actor=alpha.teacher)
    _again, created_again = services.kudos_give(
        lesson=alpha.lesson, student=alpha.student, actor=alpha.teacher
    )
    assert created and not created_again
    assert total(alpha) == 30


def test_kudos_for_a_child_who_was_not_there_is_refused(alpha, mark):
    mark(alpha, "absent")
    with pytest.raises(ValidationError) as exc:
        services.kudos_give(lesson=alpha.lesson, student=alpha.student, actor=alpha.teacher)
    assert exc.value.code == "not_present"
