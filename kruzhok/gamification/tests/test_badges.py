import datetime as dt

import pytest

from kruzhok.gamification import services
from kruzhok.gamification.badges_svg import badge_svg
from kruzhok.gamification.models import BadgeAward

pytestmark = pytest.mark.django_db


def test_a_first_visit_badge_is_given_once(alpha, mark):
    badge = services.badge_create(org=alpha.org, name="Первый шаг", rule="first", event="visit")
    mark(alpha, "present")
    mark(alpha, "late")
    assert BadgeAward.objects.filter(badge=badge, student=alpha.student).count() == 1


def test_a_count_badge_waits_for_the_count(alpha, mark, lesson_on):
    badge = services.badge_create(org=alpha.org, name="Три занятия", rule="count", event="visit", threshold=3)
    today = alpha.lesson.starts_at.date()
    mark(alpha, "present", lesson=lesson_on(alpha, today - dt.timedelta(days=7)))
    mark(alpha, "present", lesson=lesson_on(alpha, today - dt.timedelta(days=14)))
    assert not BadgeAward.objects.filter(badge=badge).exists()
    mark(alpha, "present")
    assert BadgeAward.objects.filter(badge=badge, student=alpha.student).exists()


def test_a_streak_badge_needs_weeks_in_a_row(alpha, mark, lesson_on):
    badge = services.badge_create(org=alpha.org, name="Две недели", rule="streak", threshold=2)
    today = alpha.lesson.starts_at.date()
    mark(alpha, "present", lesson=lesson_on(alpha, today - dt.timedelta(days=7)))
    assert not BadgeAward.objects.filter(badge=badge).exists()
    mark(alpha, "present")
    assert BadgeAward.objects.filter(badge=badge).exists()


def test_a_kudos_badge_and_a_teacher_badge(alpha, mark):
    kudos_badge = services.badge_create(org=alpha.org, name="Похвала", rule="first", event="kudos")
    manual = services.badge_create(org=alpha.org, name="Помощник", rule="teacher")
    mark(alpha, "present")
    services.kudos_give(lesson=alpha.lesson, student=alpha.student, actor=alpha.teacher)
    services.badge_grant(badge=manual, student=alpha.student, actor=alpha.teacher)
    services.badge_grant(badge=manual, student=alpha.student, actor=alpha.teacher)
    assert BadgeAward.objects.filter(badge=kudos_badge).count() == 1
    assert BadgeAward.objects.filter(badge=manual).count() == 1


def test_the_svg_escapes_hostile_names(alpha):
    badge = services.badge_create(
        org=alpha.org, name="<script>alert(1)</script>", rule="teacher", symbol="<b"
    )
    svg = badge_svg(badge)
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert svg.startswith("<svg")
