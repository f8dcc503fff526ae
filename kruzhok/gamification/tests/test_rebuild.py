import pytest
from django.core.management import CommandError, call_command

from kruzhok.attendance.models import AttendanceMark
from kruzhok.gamification.models import StudentXp

pytestmark = pytest.mark.django_db


def test_check_finds_no_difference_after_normal_marking(alpha, beta, mark, capsys):
    mark(alpha, "present")
    mark(beta, "late")
    mark(alpha, "absent")
    call_command("gamification_rebuild", "--check")
    assert "found 0 difference(s)" in capsys.readouterr().out


def test_check_finds_a_planted_total_and_the_rebuild_fixes_it(alpha, mark, capsys):
    mark(alpha, "present")
    StudentXp.objects.filter(student=alpha.student).update(xp=999)
    with pytest.raises(CommandError):
        call_command("gamification_rebuild", "--check")
    assert "total is 999, ledger says 15" in capsys.readouterr().out
    call_command("gamification_rebuild")
    assert StudentXp.objects.get(student=alpha.student).xp == 15
    call_command("gamification_rebuild", "--check")


def test_check_finds_a_mark_changed_behind_the_events_back(alpha, mark, capsys):
    mark(alpha, "present")
    # A bulk update that published no event: the ledger still says present.
    AttendanceMark.objects.filter(student=alpha.student).update(status="absent")
    with pytest.raises(CommandError):
        call_command("gamification_rebuild", "--check", "--org", "alpha")
    assert "is absent, ledger says present" in capsys.readouterr().out
    call_command("gamification_rebuild", "--org", "alpha")
    assert StudentXp.objects.get(student=alpha.student).xp == 0
    call_command("gamification_rebuild", "--check", "--org", "alpha")


def test_a_missed_event_is_caught_up(alpha):
    # The mark exists but its event was never delivered (no on_commit callbacks ran).
    AttendanceMark.objects.create(
        organization=alpha.org,
        lesson=alpha.lesson,
        student=alpha.student,
        enrollment=alpha.enrollment,
        status="present",
    )
    with pytest.raises(CommandError):
        call_command("gamification_rebuild", "--check")
    call_command("gamification_rebuild")
    assert StudentXp.objects.get(student=alpha.student).xp == 15


def test_an_unknown_org_is_an_error(db):
    with pytest.raises(CommandError):
        call_command("gamification_rebuild", "--org", "nope")


def test_homework_and_quests_are_checked_and_caught_up(alpha, mark, capsys):
    import datetime as dt

    from kruzhok.gamification import services
    from kruzhok.gamification.models import QuestCompletion, XpAward
    from kruzhok.homework.models import HomeworkResult

    day = alpha.lesson.starts_at.date()
    services.quest_save(
        org=alpha.org,
        title="Один визит",
        starts_on=day - dt.timedelta(days=2),
        ends_on=day + dt.timedelta(days=2),
        steps=[("visits", 1)],
        reward_xp=20,
    )
    mark(alpha, "present")
    call_command("gamification_rebuild", "--check")
    assert "found 0 difference(s)" in capsys.readouterr().out
    # A homework result written without its event, and a completion lost with its reward.
    HomeworkResult.objects.create(
        organization=alpha.org,
        lesson=alpha.lesson,
        student=alpha.student,
        enrollment=alpha.enrollment,
        status="submitted",
        grade=5,
    )
    QuestCompletion.objects.all().delete()
    XpAward.objects.filter(component="quest").delete()
    with pytest.raises(CommandError):
        call_command("gamification_rebuild", "--check")
    out = capsys.readouterr().out
    assert "homework" in out and "not completed" in out
    call_command("gamification_rebuild")
    capsys.readouterr()
    call_command("gamification_rebuild", "--check")
    assert "found 0 difference(s)" in capsys.readouterr().out
    assert StudentXp.objects.get(student=alpha.student).xp == 15 + 10 + 10 + 20
