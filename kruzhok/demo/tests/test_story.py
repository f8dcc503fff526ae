"""The story the demo network tells on the analytics dashboards (behaviours.tell_story)."""

import datetime as dt
import html
import io
import random
import re

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

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


# --- The story on the pages, on the default 600-child demo -------------------------------------------------

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def default_demo(db, client):
    """`make demo`'s school year (no other areas), seen by the owner on 29 November 2026."""
    with time_machine.travel(NOW, tick=False):
        call_command("seed_demo", today=TODAY, core_only=True, stdout=io.StringIO())
        assert client.login(username="owner", password="kruzhok-demo")
        yield client


def _text(client, url: str) -> str:
    page = client.get(url).content.decode()
    page = re.sub(r"<script.*?</script>|<style.*?</style>", "", page, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _churn(client, month: str) -> dict[str, float]:
    text = _text(client, f"{reverse('analytics:dashboard')}?month={month}")
    listed = re.search(r"Отток по месяцам, %: ((?:\d\d\.\d\d — [\d.]+(?:, )?)+)", text).group(1)
    return {m: float(v) for m, v in re.findall(r"(\d\d\.\d\d) — ([\d.]+)", listed)}


def _rows(text: str) -> dict[str, tuple[float, float]]:
    """Comparison table rows: label → (interval low, interval high), in per cent."""
    return {
        name.strip(): (float(low), float(high))
        for name, low, high in re.findall(r"\d+ ([^\d%]+?) (?:мало данных )?\d+ % (\d+)–(\d+) %", text)
    }


def _mean(text: str) -> float:
    return 100 * float(re.search(r"Среднее по сети \(априорное\): ([\d,]+)", text).group(1).replace(",", "."))


def test_last_years_history_gives_a_180_day_retention_and_churn_with_seasons(default_demo):
    retention = _text(default_demo, reverse("analytics:retention"))
    overall = re.search(r"Все: 30 дн\. — (\S+) %?, 90 дн\. — (\S+) %?, 180 дн\. — (\S+)", retention)
    assert overall is not None and overall.group(3) != "—", "the 180-day figure needs last year's children"
    churn = _churn(default_demo, "2026-02") | _churn(default_demo, "2026-05")
    assert len(churn) == 9  # September 2025 … May 2026
    quiet = (churn["10.25"] + churn["11.25"] + churn["02.26"] + churn["03.26"]) / 4
    # Families rethink the year before the New Year break and in spring.
    assert (churn["12.25"] + churn["01.26"]) / 2 > 1.3 * quiet
    assert (churn["04.26"] + churn["05.26"]) / 2 > 1.3 * quiet


def test_the_strong_teacher_and_the_weak_branch_stand_out_on_retention(default_demo):
    plan = OrgPlan(
        demo_spec(600), Season.for_today(TODAY, settings.LESSON_HORIZON_DAYS), random.Random("42:demo")
    )
    plan.plan()
    strong = plan.users[plan.strong_teacher]
    compare = reverse("analytics:compare")
    teachers = _text(default_demo, f"{compare}?unit=teacher&metric=retention")
    assert "не больше случайного" not in teachers
    low, _high = _rows(teachers)[f"{strong.last_name} {strong.first_name}"]
    assert low > _mean(teachers), "the strong teacher's shrunk interval lies above the network mean"
    branches = _text(default_demo, f"{compare}?unit=branch&metric=retention")
    weak = f"Филиал «{demo_spec(600).branches[bh.WEAK_BRANCH_INDEX][0]}»"
    _low, high = _rows(branches)[weak]
    assert high < _mean(branches)


def test_feedback_comes_every_month_worse_in_the_weak_branch_and_a_new_complaint_raises_its_alert(
    default_demo,
):
    from kruzhok.accounts.models import Organization
    from kruzhok.demo.messaging import seed_messaging
    from kruzhok.feedback.models import Feedback
    from kruzhok.messaging.models import Message, MessageKind
    from kruzhok.school.models import Branch

    org = Organization.objects.get(slug="demo")
    with time_machine.travel(NOW, tick=False):
        seed_messaging(org=org, seed=42, today=TODAY)
        months = {}
        for month in ("2026-05", "2026-11"):
            text = _text(default_demo, f"{reverse('analytics:dashboard')}?month={month}")
            table = re.search(r"Месяц Позитив Нейтрально Негатив NPS (.*?) NPS по оценкам", text).group(1)
            for label, pos, neu, neg in re.findall(r"(\d\d\.\d{4}) (\d+) (\d+) (\d+)", table):
                months[label] = int(pos) + int(neu) + int(neg)
    # Every month with children has feedback: last year's December–May and this autumn; none in summer.
    assert all(months[m] >= 10 for m in ("12.2025", "01.2026", "05.2026", "09.2026", "10.2026", "11.2026"))
    assert months["07.2026"] == 0
    weak = Branch.objects.filter(organization=org).order_by("pk")[bh.WEAK_BRANCH_INDEX]
    feedback = Feedback.objects.filter(organization=org)

    def negative_share(rows) -> float:
        return rows.filter(sentiment="negative").count() / rows.count()

    assert negative_share(feedback.filter(branch=weak)) > negative_share(feedback.exclude(branch=weak)) + 0.05
    # History was answered back then; this month's complaints raise alerts as any new one does.
    old = feedback.filter(sentiment="negative", created_at__lt=dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    assert old.exists() and not old.filter(first_answered_at__isnull=True).exists()
    assert Message.objects.filter(organization=org, kind=MessageKind.FEEDBACK_ALERT).exists()
