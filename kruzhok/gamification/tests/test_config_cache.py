"""Awarding keeps the organisation's rules, badges and quests cached per process (issue 5 "Speed").

The cache is keyed by a stamp that every edit renews in its own transaction, so what a manager changes
on a settings page is what the very next mark pays, and a second award reads no configuration at all."""

import datetime as dt
import re

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kruzhok.attendance.models import AttendanceMark
from kruzhok.attendance.services import attendance_mark
from kruzhok.gamification import handlers, services
from kruzhok.gamification.models import BadgeAward, StudentXp, XpAward

pytestmark = pytest.mark.django_db

RULES_FORM = {
    "enabled": "on",
    "count_visits": "on",
    "xp_visit": "10",
    "count_on_time": "on",
    "xp_on_time": "5",
    "count_kudos": "on",
    "xp_kudos": "15",
    "count_homework": "on",
    "xp_homework": "10",
    "xp_good_grade": "10",
    "daily_cap": "60",
    "leaderboard_top": "3",
    "coins_per_visit": "1",
    "coins_per_kudos": "1",
}
# A query of a configuration table itself (the mark's query carries the stamp as a subquery: allowed).
CONFIG_READ = re.compile(
    r'^SELECT [^()]*? FROM "gamification_(badge|quest|queststep|questprerequisite|gamificationsettings)"\s'
)


def _next_week(world, lesson_on, weeks=1):
    return lesson_on(world, world.lesson.starts_at.date() + dt.timedelta(days=7 * weeks))


def _visit_xp(world, lesson):
    mark = AttendanceMark.objects.get(lesson=lesson, student=world.student)
    return XpAward.objects.get(
        source_key=f"attendance:{mark.pk}", component="visit", reverses__isnull=True, reversed_by__isnull=True
    ).amount


def test_a_rule_changed_on_the_settings_page_counts_from_the_very_next_mark(
    alpha, mark, lesson_on, client_as
):
    mark(alpha, "present")
    manager = client_as(alpha.manager)
    saved = manager.post(reverse("gamification:settings"), {**RULES_FORM, "xp_visit": "25"})
    assert saved.status_code == 302
    later = _next_week(alpha, lesson_on)
    mark(alpha, "present", lesson=later)
    # The first visit kept its 10 points; the next one, marked right after the edit, gives 25.
    assert (_visit_xp(alpha, alpha.lesson), _visit_xp(alpha, later)) == (10, 25)
    page = client_as(alpha.student_user).get(reverse("gamification:home")).content.decode()
    assert 'id="xp-total">45<' in page


def test_a_badge_made_on_its_page_is_given_by_the_very_next_mark(alpha, mark, lesson_on, client_as):
    mark(alpha, "present")
    created = client_as(alpha.manager).post(
        reverse("gamification:badge_create"),
        {
            "name": "Два визита",
            "rule": "count",
            "event": "visit",
            "threshold": "2",
            "symbol": "2",
            "color": "#112233",
            "is_active": "on",
        },
    )
    assert created.status_code == 302
    mark(alpha, "present", lesson=_next_week(alpha, lesson_on))
    assert list(BadgeAward.objects.filter(student=alpha.student).values_list("badge__name", flat=True)) == [
        "Два визита"
    ]
    page = client_as(alpha.student_user).get(reverse("gamification:home")).content.decode()
    assert "Два визита" in page


def test_a_badge_switched_off_is_not_given_by_the_next_mark(alpha, mark, lesson_on, client_as):
    badge = services.badge_create(org=alpha.org, name="Два визита", rule="count", event="visit", threshold=2)
    mark(alpha, "present")
    form = {"name": "Два визита", "rule": "count", "event": "visit", "threshold": "2", "symbol": "2"}
    form["color"] = "#112233"
    # The edit form sends no "is_active": the manager unticked it.
    assert (
        client_as(alpha.manager).post(reverse("gamification:badge_edit", args=[badge.pk]), form).status_code
        == 302
    )
    mark(alpha, "present", lesson=_next_week(alpha, lesson_on))
    assert not BadgeAward.objects.filter(student=alpha.student).exists()


def test_a_quest_added_after_marks_were_cached_is_completed_by_the_next_mark(alpha, mark, lesson_on):
    mark(alpha, "present")
    day = alpha.lesson.starts_at.date()
    services.quest_save(
        org=alpha.org,
        title="Два визита",
        starts_on=day - dt.timedelta(days=1),
        ends_on=day + dt.timedelta(days=30),
        steps=[("visits", 2)],
        reward_xp=7,
    )
    mark(alpha, "present", lesson=_next_week(alpha, lesson_on))
    assert XpAward.objects.filter(student=alpha.student, component="quest", amount=7).count() == 1


def test_a_second_award_reads_no_configuration(alpha, mark, lesson_on, django_capture_on_commit_callbacks):
    services.badge_create(org=alpha.org, name="Пять визитов", rule="count", event="visit", threshold=5)
    mark(alpha, "present")
    later = _next_week(alpha, lesson_on)
    attendance_mark(lesson=later, student=alpha.student, status="present", actor=alpha.teacher)
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        handlers.on_attendance_marked(
            organization_id=alpha.org.pk, lesson_id=later.pk, student_id=alpha.student.pk
        )
    assert StudentXp.objects.get(student=alpha.student).xp == 30
    assert [q["sql"] for q in queries.captured_queries if CONFIG_READ.search(q["sql"])] == []


def test_statements_compiled_for_one_organisation_serve_another(
    alpha, beta, mark, lesson_on, django_capture_on_commit_callbacks
):
    # The award's reads are compiled once, while alpha is the active organisation…
    services.gamification_settings_update(org=beta.org, xp_visit=20)
    mark(alpha, "present")
    mark(beta, "present")
    later = _next_week(beta, lesson_on)
    attendance_mark(lesson=later, student=beta.student, status="present", actor=beta.teacher)
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        handlers.on_attendance_marked(
            organization_id=beta.org.pk, lesson_id=later.pk, student_id=beta.student.pk
        )
    # …and beta's award still finds beta's own stamp with the mark (no configuration read) and its rules.
    assert [q["sql"] for q in queries.captured_queries if CONFIG_READ.search(q["sql"])] == []
    assert _visit_xp(beta, later) == 20
    assert _visit_xp(alpha, alpha.lesson) == 10
    assert StudentXp.objects.get(student=alpha.student).xp == 15


def test_a_rolled_back_rule_change_is_not_kept_by_the_cache(alpha, mark, lesson_on):
    mark(alpha, "present")
    later = _next_week(alpha, lesson_on)
    attendance_mark(lesson=later, student=alpha.student, status="present", actor=alpha.teacher)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.gamification_settings_update(org=alpha.org, xp_visit=50)
        # An award inside the failed transaction sees (and caches) the new rules…
        services.xp_apply_mark(org_id=alpha.org.pk, lesson_id=later.pk, student_id=alpha.student.pk)
        raise RuntimeError("the edit is abandoned")
    # …but after the rollback the next award is back on the saved rules.
    services.xp_apply_mark(org_id=alpha.org.pk, lesson_id=later.pk, student_id=alpha.student.pk)
    assert _visit_xp(alpha, later) == 10
