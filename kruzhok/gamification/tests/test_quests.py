import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from kruzhok.gamification import handlers, services
from kruzhok.gamification.models import BadgeAward, Quest, QuestCompletion, StudentXp, XpAward
from kruzhok.gamification.selectors import quests_for_child
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db


def window(world):
    day = world.lesson.starts_at.date()
    return day - dt.timedelta(days=20), day + dt.timedelta(days=20)


def quest(world, title="Три занятия", steps=(("visits", 2),), **fields):
    start, end = window(world)
    return services.quest_save(
        org=world.org,
        title=title,
        starts_on=fields.pop("starts_on", start),
        ends_on=fields.pop("ends_on", end),
        steps=list(steps),
        **{"reward_xp": 20, "reward_coins": 3, **fields},
    )


def two_lessons(world, lesson_on):
    day = world.lesson.starts_at.date()
    return [lesson_on(world, day - dt.timedelta(days=7)), world.lesson]


def test_a_solo_quest_pays_xp_coins_and_its_badge_once_when_every_step_is_done(alpha, mark, lesson_on):
    badge = services.badge_create(org=alpha.org, name="Квестер", rule="teacher")
    q = quest(alpha, steps=[("visits", 2), ("kudos", 1)], reward_badge=badge)
    first, second = two_lessons(alpha, lesson_on)
    mark(alpha, "present", lesson=first)
    mark(alpha, "present", lesson=second)
    assert not QuestCompletion.objects.exists()  # the kudos step is still missing
    services.kudos_give(lesson=second, student=alpha.student, actor=alpha.teacher)
    done = QuestCompletion.objects.get(quest=q)
    assert done.student == alpha.student
    totals = StudentXp.objects.get(student=alpha.student)
    assert totals.xp == 15 + 15 + 15 + 20 and totals.coins == 1 + 1 + 1 + 3
    assert BadgeAward.objects.filter(student=alpha.student, badge=badge).exists()
    # Redelivered events and a second kudos tap change nothing.
    for lesson in (first, second):
        handlers.on_attendance_marked(
            organization_id=alpha.org.pk, lesson_id=lesson.pk, student_id=alpha.student.pk
        )
    services.kudos_give(lesson=second, student=alpha.student, actor=alpha.teacher)
    assert XpAward.objects.filter(student=alpha.student, component="quest").count() == 1
    assert StudentXp.objects.get(student=alpha.student).xp == 65


def test_the_child_sees_quest_progress_and_the_log_says_why(alpha, mark, client_as):
    quest(alpha, title="Путь исследователя", steps=[("visits", 2)])
    mark(alpha, "present")
    [progress] = quests_for_child(org=alpha.org, student=alpha.student, today=alpha.lesson.starts_at.date())
    assert [(s.value, s.target) for s in progress.steps] == [(1, 2)] and not progress.completed_on
    body = client_as(alpha.student_user).get(reverse("gamification:home")).content.decode()
    assert "Путь исследователя" in body and "<strong>1</strong> / 2" in body


def test_a_team_quest_adds_up_the_group_and_rewards_every_child(alpha, mark, lesson_on):
    friend = f.StudentFactory(organization=alpha.org, branch=alpha.branch, first_name="Петя")
    f.EnrollmentFactory(
        organization=alpha.org, student=friend, group=alpha.group, started_on=alpha.enrollment.started_on
    )
    q = quest(alpha, title="Вся группа на месте", kind="team", group=alpha.group, group_reward="Пицца")
    mark(alpha, "present")
    assert not QuestCompletion.objects.exists()
    mark(alpha, "present", student=friend)
    done = QuestCompletion.objects.get(quest=q)
    assert done.group == alpha.group and done.student is None
    rewarded = set(XpAward.objects.filter(component="quest", amount=20).values_list("student_id", flat=True))
    assert rewarded == {alpha.student.pk, friend.pk}
    # Once per group: another delivery does not pay again.
    services.team_quest_settle(
        org_id=alpha.org.pk, quest_id=q.pk, group_id=alpha.group.pk, day=done.completed_on
    )
    assert XpAward.objects.filter(component="quest").count() == 2


def test_a_locked_quest_opens_only_after_its_prerequisite(alpha, mark, lesson_on):
    first_quest = quest(alpha, title="Сначала", steps=[("kudos", 1)])
    then = quest(alpha, title="Потом", steps=[("visits", 1)], requires=[first_quest])
    mark(alpha, "present")
    assert not QuestCompletion.objects.filter(quest=then).exists()
    [locked] = [
        p
        for p in quests_for_child(org=alpha.org, student=alpha.student, today=alpha.lesson.starts_at.date())
        if p.quest == then
    ]
    assert locked.locked_by == ("Сначала",)
    services.kudos_give(lesson=alpha.lesson, student=alpha.student, actor=alpha.teacher)
    assert set(QuestCompletion.objects.values_list("quest__title", flat=True)) == {"Сначала", "Потом"}


def test_a_quest_that_depends_on_itself_is_refused_directly_or_through_a_chain(alpha):
    a = quest(alpha, title="А")
    b = quest(alpha, title="Б", requires=[a])
    c = quest(alpha, title="В", requires=[b])
    with pytest.raises(ValidationError) as exc:
        services.quest_save(
            org=alpha.org,
            quest=a,
            title="А",
            starts_on=a.starts_on,
            ends_on=a.ends_on,
            steps=[("visits", 2)],
            requires=[a],
        )
    assert exc.value.code == "depends_on_itself"
    with pytest.raises(ValidationError) as exc:
        services.quest_save(
            org=alpha.org,
            quest=a,
            title="А",
            starts_on=a.starts_on,
            ends_on=a.ends_on,
            steps=[("visits", 2)],
            requires=[c],
        )
    assert exc.value.code == "depends_on_itself"
    assert "«А» → «В» → «Б» → «А»" in exc.value.messages[0]
    assert not Quest.objects.get(pk=a.pk).requires.exists()


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"reward_xp": -5}, "negative_xp"),
        ({"reward_coins": 5000}, "too_much"),
        ({"title": "  "}, "title_required"),
        ({"steps": []}, "steps_required"),
        ({"steps": [("visits", 0)]}, "invalid_target"),
        ({"steps": [("visits", 10_000)]}, "never_completes"),
        ({"steps": [("hacking", 1)]}, "invalid_metric"),
        ({"kind": "team"}, "group_required"),
        ({"swap": True}, "dates_order"),
    ],
)
def test_bad_quests_are_refused_with_a_reason(alpha, fields, code):
    start, end = window(alpha)
    if fields.pop("swap", False):
        start, end = end, start
    with pytest.raises(ValidationError) as exc:
        services.quest_save(
            org=alpha.org,
            **{"title": "Квест", "starts_on": start, "ends_on": end, "steps": [("visits", 2)], **fields},
        )
    assert exc.value.code == code
    assert exc.value.messages[0]


def test_an_automatic_badge_cannot_be_a_quest_reward(alpha):
    automatic = services.badge_create(org=alpha.org, name="Первый", rule="first", event="visit")
    with pytest.raises(ValidationError) as exc:
        quest(alpha, reward_badge=automatic)
    assert exc.value.code == "badge_not_manual"


def test_the_manager_creates_and_edits_quests_and_sees_a_cycle_explained(alpha, client_as):
    start, end = window(alpha)
    data = {
        "title": "Домашний марафон",
        "kind": "solo",
        "starts_on": start,
        "ends_on": end,
        "step1_metric": "homework",
        "step1_target": "3",
        "reward_xp": "30",
        "reward_coins": "2",
        "is_active": "on",
    }
    client = client_as(alpha.manager)
    assert client.post(reverse("gamification:quest_create"), data).status_code == 302
    first = Quest.objects.get(title="Домашний марафон")
    assert (
        client.post(
            reverse("gamification:quest_create"), {**data, "title": "Второй", "requires": [first.pk]}
        ).status_code
        == 302
    )
    second = Quest.objects.get(title="Второй")
    page = client.post(reverse("gamification:quest_edit", args=[first.pk]), {**data, "requires": [second.pk]})
    assert page.status_code == 200
    assert "зависит сам от себя" in page.content.decode()
    page = client.post(reverse("gamification:quest_create"), {**data, "reward_xp": "-1"})
    assert page.status_code == 200 and Quest.objects.count() == 2
    settings_page = client.get(reverse("gamification:settings")).content.decode()
    assert "Домашний марафон" in settings_page and "Второй" in settings_page
    assert client.get(reverse("gamification:quest_edit", args=[first.pk])).status_code == 200
    assert client_as(alpha.teacher).get(reverse("gamification:quest_create")).status_code == 403
