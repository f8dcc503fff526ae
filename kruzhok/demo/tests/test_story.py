"""The story the demo network tells on the analytics dashboards (behaviours.tell_story)."""

import datetime as dt
import random

from django.conf import settings

from kruzhok.demo import behaviours as bh
from kruzhok.demo.planning import OrgPlan
from kruzhok.demo.season import Season
from kruzhok.demo.seeding import demo_spec

TODAY = dt.date(2026, 11, 29)


def _plan():
    season = Season.for_today(TODAY, settings.LESSON_HORIZON_DAYS)
    return OrgPlan(demo_spec(3000), season, random.Random("42:demo")).plan()


def _drop_rate(plan, keep) -> float:
    rows = [e for e in plan.enrollments if keep(plan.groups[e.group])]
    return sum(e.outcome.status == "dropped" for e in rows) / len(rows)


def test_the_weak_branch_loses_more_children_and_no_group_goes_over_capacity():
    plan = _plan()
    weak = sorted({g.branch for g in plan.groups})[bh.WEAK_BRANCH_INDEX]
    before = _drop_rate(plan, lambda g: g.branch == weak)
    changed = bh.tell_story(plan)
    assert changed["weak_fade"] > 0
    weak_rate = _drop_rate(plan, lambda g: g.branch == weak)
    other_rate = _drop_rate(plan, lambda g: g.branch != weak)
    assert weak_rate > before and weak_rate > other_rate + 0.04
    for g in plan.groups:
        for day in (d for d in g.held if d < TODAY):
            open_count = sum(
                1
                for e in g.enrollments
                if e.outcome.started_on <= day and (e.outcome.ended_on is None or e.outcome.ended_on > day)
            )
            assert open_count <= g.capacity, (g.name, day)


def test_the_story_is_deterministic():
    a, b = _plan(), _plan()
    assert bh.tell_story(a) == bh.tell_story(b)
    assert [e.outcome.ended_on for e in a.enrollments] == [e.outcome.ended_on for e in b.enrollments]
