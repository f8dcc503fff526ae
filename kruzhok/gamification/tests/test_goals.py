import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from kruzhok.gamification import services
from kruzhok.gamification.models import GroupGoal
from kruzhok.gamification.selectors import group_goals

pytestmark = pytest.mark.django_db


def dates(world):
    today = world.lesson.starts_at.date()
    return today - dt.timedelta(days=3), today + dt.timedelta(days=25)


def test_the_group_earns_together_and_the_child_sees_it(alpha, mark, client_as):
    start, end = dates(alpha)
    services.group_goal_create(
        org=alpha.org,
        group=alpha.group,
        title="Вместе к 20",
        target_xp=20,
        starts_on=start,
        ends_on=end,
        reward="Пицца",
    )
    mark(alpha, "present")
    [progress] = group_goals(org=alpha.org, group=alpha.group, today=alpha.lesson.starts_at.date())
    assert progress.xp == 15 and not progress.reached
    services.kudos_give(lesson=alpha.lesson, student=alpha.student, actor=alpha.teacher)
    body = client_as(alpha.student_user).get(reverse("gamification:home")).content.decode()
    assert "Вместе к 20" in body and "Цель достигнута" in body and "Пицца" in body


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"target_xp": 0}, "invalid_target"),
        ({"target_xp": 10_000_000}, "never_reached"),
        ({"title": ""}, "title_required"),
        ({"swap": True}, "dates_order"),
    ],
)
def test_goals_that_make_no_sense_are_refused(alpha, fields, code):
    start, end = dates(alpha)
    if fields.pop("swap", False):
        start, end = end, start
    with pytest.raises(ValidationError) as exc:
        services.group_goal_create(
            org=alpha.org,
            group=alpha.group,
            **{"title": "Цель", "target_xp": 100, "starts_on": start, "ends_on": end, **fields},
        )
    assert exc.value.code == code


def test_a_manager_adds_a_goal_only_for_groups_in_scope(alpha, beta, client_as):
    start, end = dates(alpha)
    data = {"title": "Цель", "target_xp": "100", "starts_on": start, "ends_on": end, "reward": ""}
    assert (
        client_as(alpha.manager)
        .post(reverse("gamification:goal_create"), {**data, "group": alpha.group.pk})
        .status_code
        == 302
    )
    page = client_as(beta.manager).post(
        reverse("gamification:goal_create"), {**data, "group": alpha.group.pk}
    )
    assert page.status_code == 200
    assert GroupGoal.objects.count() == 1
    assert client_as(alpha.teacher).get(reverse("gamification:goal_create")).status_code == 403
