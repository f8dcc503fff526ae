"""Signals of other apps (homework, billing, feedback, gamification) reach the model through the registry,
as of a date, and read as plain Russian reasons."""

import datetime as dt

import pytest
from django.utils import timezone

from kruzhok.risk import explain
from kruzhok.risk import features as feat
from kruzhok.risk.models import RiskScore
from kruzhok.risk.tests.helpers import fading_child, weekly_lessons

AS_OF = dt.date(2026, 11, 20)


def features_of(world, as_of=AS_OF):
    data = feat.load_risk_data(org=world.org, until=as_of)
    return feat.compute_features(data, as_of=as_of).loc[world.enrollment.pk]


@pytest.mark.django_db
def test_homework_and_grades_become_signals_and_later_ones_do_not_leak(alpha):
    from kruzhok.homework.services import record_homework

    lessons = fading_child(alpha, as_of=AS_OF)
    record_homework(lesson=lessons[6], student=alpha.student, status="submitted", grade=5)
    record_homework(lesson=lessons[7], student=alpha.student, status="submitted", grade=4, is_late=True)
    record_homework(lesson=lessons[8], student=alpha.student, status="submitted", grade=3)
    record_homework(lesson=lessons[9], student=alpha.student, status="missed")
    record_homework(lesson=lessons[10], student=alpha.student, status="missed")
    before = features_of(alpha)
    assert before["hw_submitted"] == 3
    assert before["hw_missed_28d"] == 2
    assert before["hw_score_last"] == 3
    assert before["hw_score_mean"] == pytest.approx(4.0)
    assert before["hw_late_days_mean"] == pytest.approx(1 / 3)
    # A result on a lesson after the as-of day changes nothing on that day.
    later = weekly_lessons(alpha, first=AS_OF + dt.timedelta(days=2), count=1)[0]
    record_homework(lesson=later, student=alpha.student, status="submitted", grade=5)
    after = features_of(alpha)
    assert after[["hw_submitted", "hw_score_last", "hw_missed_28d"]].tolist() == [3, 3, 2]
    assert features_of(alpha, AS_OF + dt.timedelta(days=3))["hw_score_last"] == 5


@pytest.mark.django_db
def test_a_lapsed_subscription_and_debt_are_signals_with_reasons(alpha):
    from kruzhok.billing.services import plan_create, subscription_sell

    plan = plan_create(
        org=alpha.org,
        name="8 занятий",
        kind="pack",
        course=alpha.course,
        price=4000,
        lessons=8,
        valid_days=30,
    )
    start = AS_OF - dt.timedelta(days=40)
    alpha.enrollment.started_on = AS_OF - dt.timedelta(days=100)
    alpha.enrollment.save()
    subscription_sell(
        org=alpha.org, actor=alpha.owner, student=alpha.student, plan=plan, valid_from=start, sold_on=start
    )
    while_valid = features_of(alpha, start + dt.timedelta(days=5))
    assert while_valid["renewal_missed"] == 0
    assert while_valid["sub_lessons_left"] == 8
    assert while_valid["sub_days_to_end"] == 24
    row = features_of(alpha)
    assert row["renewal_missed"] == 1
    assert row["sub_days_to_end"] == -11
    assert row["debt"] == 4000
    values = row.to_dict()
    assert explain.reason_text("renewal_missed", values) == "абонемент закончился 11 дней назад и не продлён"
    assert explain.reason_text("debt", values) == "долг 4 000 ₽"
    # Before the sale there is nothing to say about billing.
    assert features_of(alpha, start - dt.timedelta(days=1))[["renewal_missed", "debt"]].isna().all()


@pytest.mark.django_db
def test_low_feedback_and_a_broken_xp_streak_are_signals(alpha):
    from kruzhok.feedback.models import Feedback, Sentiment, Source
    from kruzhok.gamification.models import XpAward

    today = timezone.localdate()
    Feedback.objects.create(
        organization=alpha.org,
        source=Source.PARENT,
        enrollment=alpha.enrollment,
        student=alpha.student,
        score=2,
        text="Ребёнку скучно",
        sentiment=Sentiment.NEGATIVE,
    )
    for week in (1, 2, 3):
        XpAward.objects.create(
            organization=alpha.org,
            student=alpha.student,
            source_key=f"test:{week}",
            component="visit",
            amount=10,
            basis="present",
            note="",
            occurred_on=today - dt.timedelta(days=7 * week + 1),
        )
    row = features_of(alpha, today)
    assert row["feedback_last"] == 2
    assert row["feedback_low_90d"] == 1
    assert row["xp_streak_broken"] == 1
    assert row["xp_28d"] == 30
    values = row.to_dict()
    assert explain.reason_text("feedback_low_90d", values) == "1 низкая оценка в отзывах за 3 месяца"
    assert explain.reason_text("xp_streak_broken", values) == "серия из трёх недель с баллами прервалась"
    # A week earlier the streak was alive and the feedback not yet written.
    earlier = features_of(alpha, today - dt.timedelta(days=8))
    assert earlier["xp_streak_broken"] == 0
    assert earlier["feedback_low_90d"] == 0


@pytest.mark.django_db
def test_a_child_who_stopped_asking_for_rewards_is_a_signal_and_later_requests_do_not_leak(alpha):
    from kruzhok.gamification.models import Reward, RewardRequest

    today = timezone.localdate()
    reward = Reward.objects.create(organization=alpha.org, title="Наклейка", price=5, stock=10)

    def ask(days_ago):
        request = RewardRequest.objects.create(
            organization=alpha.org, reward=reward, student=alpha.student, price=reward.price
        )
        moment = timezone.now() - dt.timedelta(days=days_ago)
        RewardRequest.objects.filter(pk=request.pk).update(created_at=moment)

    ask(70)
    ask(80)
    row = features_of(alpha, today)
    assert row["shop_56d"] == 0 and row["shop_quiet"] == 1
    assert explain.reason_text("shop_quiet", row.to_dict()) == (
        "перестал просить награды в магазине: 8 недель ни одной просьбы"
    )
    # A request made today ends the quiet, and is not seen from yesterday.
    ask(0)
    yesterday = features_of(alpha, today - dt.timedelta(days=1))
    assert yesterday["shop_56d"] == 0 and yesterday["shop_quiet"] == 1
    now = features_of(alpha, today)
    assert now["shop_56d"] == 1 and now["shop_quiet"] == 0


@pytest.mark.django_db
def test_recording_homework_rescores_that_child(alpha, django_capture_on_commit_callbacks):
    from kruzhok.homework.services import record_homework

    lessons = fading_child(alpha, as_of=timezone.localdate())
    with django_capture_on_commit_callbacks(execute=True):
        record_homework(lesson=lessons[-1], student=alpha.student, status="missed")
    assert RiskScore.objects.filter(enrollment=alpha.enrollment, scored_on=timezone.localdate()).exists()


def test_every_area_registers_its_signals_with_the_model():
    groups = {p.group for p in feat.providers()}
    assert {"homework", "billing", "feedback", "gamification"} <= groups
