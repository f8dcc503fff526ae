"""The story the demo network tells on the analytics dashboards (behaviours.tell_story)."""

import datetime as dt
import io
import random

from django.conf import settings
from django.core.management import call_command

from kruzhok.demo import behaviours as bh
from kruzhok.demo.planning import OrgPlan
from kruzhok.demo.season import Season
from kruzhok.demo.seeding import demo_spec, second_spec

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


def _retention(plan, enrollments, first: dt.date) -> float:
    """The analytics page's retention: of the children open at some point since `first`, the share who
    did not leave since then."""
    exposed = [e.outcome for e in enrollments if e.outcome.ended_on is None or e.outcome.ended_on >= first]
    return sum(not (o.status == "dropped" and o.ended_on >= first) for o in exposed) / len(exposed)


def test_children_stay_longer_with_the_strong_teacher():
    plan = _plan()
    bh.tell_story(plan)
    weak = sorted({g.branch for g in plan.groups})[bh.WEAK_BRANCH_INDEX]
    strong = plan.strong_teacher
    assert strong is not None and plan.users[strong].username != bh.NAMED_TEACHER
    assert plan.kept_by_strong_teacher > 0
    mine = [e for e in plan.enrollments if plan.groups[e.group].teacher == strong]
    # Compared with the other teachers of the branches that are not weak: the same families, other teachers.
    others = [
        e
        for e in plan.enrollments
        if plan.groups[e.group].teacher != strong and plan.groups[e.group].branch != weak
    ]
    assert len(mine) >= 30  # enough children not to be marked «мало данных»
    season_start = dt.date(2026, 9, 1)
    assert _retention(plan, mine, season_start) > _retention(plan, others, season_start) + 0.06

    def lost_interest(rows) -> float:
        return sum(e.outcome.reason in bh.INTEREST_REASONS for e in rows) / len(rows)

    # Interest is what a teacher moves: far fewer leave for it; moving house or the price still take some.
    assert lost_interest(mine) < lost_interest(others) / 2
    assert sum(e.outcome.status == "dropped" for e in mine) > 0
    # And they come a little more often.
    assert _presence(plan, mine) > _presence(plan, others) + 0.02


def _presence(plan, enrollments) -> float:
    came = total = 0
    for e in enrollments:
        lessons = plan.groups[e.group].lessons
        past = [(i, x.day) for i, x in enumerate(lessons) if x.day < TODAY and not x.cancel_reason]
        for _key, status, _comment in bh.draw_marks(e.timeline, e.outcome, past, plan.season):
            came += status in ("present", "late")
            total += 1
    return came / total


def test_only_the_demo_network_has_a_strong_teacher():
    season = Season.for_today(TODAY, settings.LESSON_HORIZON_DAYS)
    plan = OrgPlan(second_spec(), season, random.Random("42:raduga")).plan()
    assert plan.strong_teacher is None and plan.kept_by_strong_teacher == 0


def test_demo_story_prints_the_teacher_comparison_beside_the_network_without_the_effect():
    out = io.StringIO()
    call_command("demo_story", students=300, today=TODAY, top=3, stdout=out)
    text = out.getvalue()
    assert text.count("retention: mean") == 2 and text.count("attendance: mean") == 2
    assert "без сильного преподавателя" in text and "как в seed_demo" in text
    # The strong teacher is starred in every table, even outside the top three.
    assert text.count(" *\n") == 4


def test_demo_story_times_the_prior_fit_beside_the_method_of_moments():
    out = io.StringIO()
    call_command("demo_story", students=300, today=TODAY, top=1, timed=True, stdout=out)
    text = out.getvalue()
    assert text.count("max likelihood: wall median") == 4 and text.count("moments (baseline)") == 4
    assert "prior strength α + β = " in text
