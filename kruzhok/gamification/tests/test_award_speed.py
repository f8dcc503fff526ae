"""The cheap awarding path (issue 5 "Speed") gives the same answers as the straightforward one.

Awarding reads less: one read of a source's history instead of live awards plus a seq per component,
one ledger read for all quests' steps instead of one per step, and only the badges and team quests an
attendance mark can move. These tests pin the query budget and check each shortcut against the slow,
obvious computation it replaced."""

import datetime as dt

import pytest

from kruzhok.attendance.services import attendance_mark
from kruzhok.gamification import handlers, selectors, services
from kruzhok.gamification.models import BadgeAward, QuestCompletion, StudentXp, XpAward
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db


def _window(world):
    day = world.lesson.starts_at.date()
    return day - dt.timedelta(days=20), day + dt.timedelta(days=20)


def _quest(world, title, steps, **fields):
    start, end = _window(world)
    return services.quest_save(
        org=world.org, title=title, starts_on=start, ends_on=end, steps=list(steps), **fields
    )


def _friend(world, name="Петя"):
    friend = f.StudentFactory(organization=world.org, branch=world.branch, first_name=name)
    f.EnrollmentFactory(
        organization=world.org, student=friend, group=world.group, started_on=world.enrollment.started_on
    )
    return friend


def test_quests_reached_agrees_with_step_by_step_progress(alpha, mark, lesson_on):
    day = alpha.lesson.starts_at.date()
    earlier = lesson_on(alpha, day - dt.timedelta(days=7))
    friend = _friend(alpha)
    quests = [
        _quest(alpha, "Два визита", [("visits", 2)]),
        _quest(alpha, "Три визита", [("visits", 3)]),
        _quest(alpha, "Визит и похвала", [("visits", 1), ("kudos", 1)]),
        _quest(alpha, "Тридцать очков", [("xp", 30)]),
        _quest(alpha, "Команда", [("visits", 3), ("xp", 40)], kind="team", group=alpha.group),
    ]
    mark(alpha, "present", lesson=earlier)
    mark(alpha, "late")
    mark(alpha, "present", student=friend)
    # A corrected mark: its reversal must not count as a visit, and its points are taken back.
    mark(alpha, "absent", student=friend)
    for quest in quests:
        quest.refresh_from_db()
    for ids in ([alpha.student.pk], [friend.pk], [alpha.student.pk, friend.pk]):
        slow = {
            q.pk for q in quests if selectors.quest_progress(org=alpha.org, quest=q, student_ids=ids).done
        }
        assert selectors.quests_reached(org=alpha.org, quests=quests, student_ids=ids) == slow
    # The shortcut is not vacuous: some quests are reached and some are not.
    reached = selectors.quests_reached(org=alpha.org, quests=quests, student_ids=[alpha.student.pk])
    assert {q.title for q in quests if q.pk in reached} == {"Два визита"}


def test_a_reversed_and_re_given_award_keeps_one_live_row_per_component(alpha, mark):
    for status in ("present", "late", "present", "absent", "present"):
        mark(alpha, status)
    rows = XpAward.objects.filter(source_key__startswith="attendance:", student=alpha.student)
    live = rows.filter(reverses__isnull=True, reversed_by__isnull=True)
    assert sorted(live.values_list("component", "basis")) == [("on_time", "present"), ("visit", "present")]
    # Each re-award took the next seq; no (source, component, seq) repeats among awards.
    visits = rows.filter(component="visit", reverses__isnull=True).order_by("seq")
    assert list(visits.values_list("seq", flat=True)) == [1, 2, 3, 4, 5]
    assert StudentXp.objects.get(student=alpha.student).xp == sum(rows.values_list("amount", flat=True))


def test_one_award_stays_within_its_query_budget(
    alpha, mark, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    for fields in (
        {"name": "Первый визит", "rule": "first", "event": "visit"},
        {"name": "Пять визитов", "rule": "count", "event": "visit", "threshold": 5},
        {"name": "Серия", "rule": "streak", "threshold": 4},
        {"name": "Сто очков", "rule": "milestone", "threshold": 100},
    ):
        services.badge_create(org=alpha.org, **fields)
    first = _quest(alpha, "Визиты", [("visits", 3)], reward_xp=5)
    _quest(alpha, "Потом", [("visits", 6), ("kudos", 1)], requires=[first])
    _quest(alpha, "Команда", [("visits", 50), ("xp", 2000)], kind="team", group=alpha.group)
    mark(alpha, "present")
    # Corrected to late; the event is delivered by hand below, so only awarding is counted.
    attendance_mark(lesson=alpha.lesson, student=alpha.student, status="late", actor=alpha.teacher)
    # The visit and on-time awards reversed and given again, quests, badges, and the team quest
    # re-checked after commit. Before the speed work: 44 queries; then 31; with the configuration
    # cached (no rules, badge, quest, step or prerequisite reads) and one INSERT for the ledger rows: 20;
    # with the daily cap's sum read together with the source's history, XP and coins in one UPDATE and
    # the team quest's reads outside a transaction (it opens one only to pay): 17, of which 2 are the
    # savepoint of the award's transaction.
    with django_assert_max_num_queries(17), django_capture_on_commit_callbacks(execute=True):
        handlers.on_attendance_marked(
            organization_id=alpha.org.pk, lesson_id=alpha.lesson.pk, student_id=alpha.student.pk
        )
    assert XpAward.objects.filter(basis="late", component="visit").exists()


def test_a_mark_leaves_homework_badges_and_kudos_only_team_quests_to_their_own_events(alpha, mark):
    homework_badge = services.badge_create(org=alpha.org, name="Домашка", rule="first", event="homework")
    visit_badge = services.badge_create(org=alpha.org, name="Первый визит", rule="first", event="visit")
    milestone = services.badge_create(org=alpha.org, name="Пятнадцать очков", rule="milestone", threshold=15)
    friend = _friend(alpha)
    kudos_team = _quest(alpha, "Похвалы", [("kudos", 1)], kind="team", group=alpha.group)
    mark(alpha, "present")
    mark(alpha, "present", student=friend)
    earned = set(BadgeAward.objects.filter(student=alpha.student).values_list("badge_id", flat=True))
    assert earned == {visit_badge.pk, milestone.pk} and homework_badge.pk not in earned
    assert not QuestCompletion.objects.filter(quest=kudos_team).exists()
    # The kudos event itself still completes the kudos-only team quest for the whole group.
    services.kudos_give(lesson=alpha.lesson, student=alpha.student, actor=alpha.teacher)
    services.team_quest_settle(
        org_id=alpha.org.pk,
        quest_id=kudos_team.pk,
        group_id=alpha.group.pk,
        day=alpha.lesson.starts_at.date(),
    )
    assert QuestCompletion.objects.filter(quest=kudos_team, group=alpha.group).exists()


def test_a_team_quest_behind_a_prerequisite_is_still_checked_on_a_mark(alpha, mark, lesson_on):
    friend = _friend(alpha)
    opener = _quest(alpha, "Сначала все пришли", [("visits", 2)], kind="team", group=alpha.group)
    after = _quest(alpha, "Потом похвала", [("kudos", 1)], kind="team", group=alpha.group, requires=[opener])
    mark(alpha, "present")
    services.kudos_give(lesson=alpha.lesson, student=alpha.student, actor=alpha.teacher)
    # The kudos came before the opener was done, so the second quest is still locked.
    assert not QuestCompletion.objects.exists()
    mark(alpha, "present", student=friend)
    assert QuestCompletion.objects.filter(quest=opener, group=alpha.group).exists()
    # The friend's mark moves no kudos step, but the quest waits on another one: it is checked and done.
    assert QuestCompletion.objects.filter(quest=after, group=alpha.group).exists()
