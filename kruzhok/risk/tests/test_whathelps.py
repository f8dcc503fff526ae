"""«Что помогает»: the interval arithmetic against published values, and the report built from alerts."""

import datetime as dt

import pytest

from kruzhok.risk.models import AlertOutcome, AlertStatus, RiskAlert, RiskAlertAction
from kruzhok.risk.selectors import what_helps
from kruzhok.risk.whathelps import newcombe_difference, wilson
from kruzhok.testing import factories as f

DAY = dt.date(2026, 9, 1)


def test_wilson_and_newcombe_match_the_published_examples():
    # Newcombe, Statistics in Medicine 17 (1998) 873–890, table II, method 10.
    d, low, high = newcombe_difference(56, 70, 48, 80)
    assert round(d, 4) == 0.2 and (round(low, 4), round(high, 4)) == (0.0524, 0.3339)
    d, low, high = newcombe_difference(5, 56, 0, 29)
    assert (round(d, 4), round(low, 4), round(high, 4)) == (0.0893, -0.0381, 0.1926)
    # Newcombe (1998) companion paper on one proportion, method 3 (Wilson): 81/263.
    assert tuple(round(x, 4) for x in wilson(81, 263)) == (0.2553, 0.3662)
    assert wilson(0, 0) == (0.0, 1.0)


def settled_alerts(
    world, *, band_probability: float, stayed: int, dropped: int, kind: str | None, branch=None
):
    """`stayed + dropped` settled alerts in one band, each with `kind` logged (or nothing)."""
    group = world.group
    if branch is not None:
        group = f.GroupFactory(
            organization=world.org, branch=branch, course=world.course, teacher=world.teacher
        )
    made = []
    for n in range(stayed + dropped):
        student = f.StudentFactory(organization=world.org, branch=group.branch)
        enrollment = f.EnrollmentFactory(organization=world.org, student=student, group=group)
        alert = RiskAlert.objects.create(
            organization=world.org,
            enrollment=enrollment,
            opened_on=DAY,
            probability=band_probability,
            status=AlertStatus.CLOSED,
            outcome=AlertOutcome.STAYED if n < stayed else AlertOutcome.DROPPED,
        )
        if kind:
            RiskAlertAction.objects.create(
                organization=world.org, alert=alert, kind=kind, actor=world.teacher
            )
        made.append(alert)
    return made


def row(rows, kind, band):
    return next(r for r in rows if r.action_kind == kind and r.band == band)


@pytest.mark.django_db
def test_calls_help_within_the_high_band_with_an_honest_interval(alpha):
    settled_alerts(alpha, band_probability=0.7, stayed=16, dropped=4, kind="call_parent")
    settled_alerts(alpha, band_probability=0.7, stayed=6, dropped=14, kind=None)
    # Medium-band alerts are compared only with each other.
    settled_alerts(alpha, band_probability=0.3, stayed=3, dropped=0, kind=None)
    rows = what_helps(alpha.org)
    call = row(rows, "call_parent", "high")
    assert (call.n_with, call.retained_with, call.n_without, call.retained_without) == (20, 16, 20, 6)
    assert round(call.difference, 2) == 0.5 and call.ci_low > 0 and call.enough_data
    assert call.verdict.startswith("После этого действия дети оставались чаще: +50 п. п.")
    medium_call = row(rows, "call_parent", "medium")
    assert (medium_call.n_with, medium_call.n_without) == (0, 3)
    assert not medium_call.enough_data and "Данных пока мало, чтобы судить" in medium_call.verdict
    freeze = row(rows, "freeze", "high")
    assert freeze.n_with == 0 and freeze.difference is None and not freeze.enough_data


@pytest.mark.django_db
def test_small_numbers_say_so_and_not_useful_and_unsettled_alerts_are_left_out(alpha):
    settled_alerts(alpha, band_probability=0.7, stayed=3, dropped=0, kind="talk_child")
    settled_alerts(alpha, band_probability=0.7, stayed=0, dropped=3, kind=None)
    false_alarm = settled_alerts(alpha, band_probability=0.7, stayed=1, dropped=0, kind=None)[0]
    false_alarm.not_useful = True
    false_alarm.save()
    pending = settled_alerts(alpha, band_probability=0.7, stayed=1, dropped=0, kind="talk_child")[0]
    pending.outcome = ""
    pending.save()
    talk = row(what_helps(alpha.org), "talk_child", "high")
    assert (talk.n_with, talk.n_without) == (3, 3)
    assert talk.difference == 1.0 and not talk.enough_data
    assert talk.verdict.startswith("Данных пока мало, чтобы судить")


@pytest.mark.django_db
def test_no_difference_is_called_so_and_filters_by_period_and_branch(alpha, beta):
    settled_alerts(alpha, band_probability=0.7, stayed=10, dropped=5, kind="other_group")
    settled_alerts(alpha, band_probability=0.7, stayed=10, dropped=5, kind=None, branch=alpha.other_branch)
    settled_alerts(beta, band_probability=0.7, stayed=0, dropped=30, kind=None)
    rows = what_helps(alpha.org)
    group = row(rows, "other_group", "high")
    assert (group.n_with, group.n_without) == (15, 15) and group.difference == 0
    assert group.verdict.startswith("Разницы не видно")
    only_main = row(what_helps(alpha.org, branch_ids=[alpha.branch.pk]), "other_group", "high")
    assert (only_main.n_with, only_main.n_without) == (15, 0)
    assert what_helps(alpha.org, period=(DAY + dt.timedelta(days=1), None)) == []
    assert len(what_helps(alpha.org, period=(DAY, DAY))) > 0
