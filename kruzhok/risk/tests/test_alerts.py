"""Alerts reach the right person through the messaging app, escalate when nobody answers, can be
assigned within scope, and settle how they ended."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from kruzhok.accounts.models import Membership, Role
from kruzhok.messaging.models import Message
from kruzhok.risk import alerts
from kruzhok.risk.models import AlertEventKind, AlertOutcome, AlertStatus, RiskAlert, RiskScore
from kruzhok.school.models import EnrollmentStatus
from kruzhok.testing import factories as f

DAY = dt.date(2026, 11, 20)


def score(world, enrollment, probability, day=DAY):
    return RiskScore(
        organization_id=world.org.id,
        enrollment_id=enrollment.pk,
        scored_on=day,
        probability=probability,
        band="high" if probability >= 0.5 else "medium",
        factors=[{"feature": "absent_run", "text": "пропустил 3 занятия подряд"}],
    )


def child(world, n: int, group=None):
    student = f.StudentFactory(organization=world.org, branch=world.branch, last_name=f"Иванов-{n}")
    return f.EnrollmentFactory(organization=world.org, student=student, group=group or world.group)


def alert_for(world, enrollment=None, *, opened_on=DAY, probability=0.7, **fields):
    return RiskAlert.objects.create(
        organization=world.org,
        enrollment=enrollment or world.enrollment,
        opened_on=opened_on,
        probability=probability,
        assigned_to=world.teacher,
        **fields,
    )


@pytest.mark.django_db
def test_an_alert_goes_to_the_groups_teacher_through_the_messaging_app(alpha):
    assert alerts.alerts_raise(org=alpha.org, scores=[score(alpha, alpha.enrollment, 0.8)], as_of=DAY) == 1
    alert = RiskAlert.objects.get(enrollment=alpha.enrollment)
    assert alert.assigned_to == alpha.teacher
    message = Message.objects.get(user=alpha.teacher)
    assert "Петрова-alpha Маша" in message.subject
    assert "риск ухода 80 %" in message.body and "пропустил 3 занятия подряд" in message.body
    assert message.link == f"/risk/enrollments/{alpha.enrollment.pk}/"
    assert message.deliveries.exists()  # queued on the teacher's channels (in-app at least)
    assert [e.kind for e in alert.events.all()] == [AlertEventKind.OPENED]
    # No duplicates: the same score again raises nothing and sends nothing.
    assert alerts.alerts_raise(org=alpha.org, scores=[score(alpha, alpha.enrollment, 0.9)], as_of=DAY) == 0
    assert Message.objects.filter(user=alpha.teacher).count() == 1


@pytest.mark.django_db
def test_a_group_without_a_teacher_sends_the_alert_to_the_branch_manager(alpha):
    alpha.group.teacher = None
    alpha.group.save()
    alerts.alerts_raise(org=alpha.org, scores=[score(alpha, alpha.enrollment, 0.8)], as_of=DAY)
    assert RiskAlert.objects.get(enrollment=alpha.enrollment).assigned_to == alpha.manager
    assert Message.objects.filter(user=alpha.manager).count() == 1


@pytest.mark.django_db
def test_no_storms_a_teacher_gets_at_most_the_weekly_budget_riskiest_first(alpha, settings):
    settings.RISK_ALERTS_PER_TEACHER_WEEK = 2
    children = [child(alpha, n) for n in range(4)]
    scores = [score(alpha, e, p) for e, p in zip(children, (0.6, 0.9, 0.7, 0.8), strict=True)]
    assert alerts.alerts_raise(org=alpha.org, scores=scores, as_of=DAY) == 2
    flagged = set(RiskAlert.objects.values_list("enrollment_id", flat=True))
    assert flagged == {children[1].pk, children[3].pk}
    # One message for both, naming both children, linking to the teacher's own feed.
    message = Message.objects.get(user=alpha.teacher)
    assert message.subject == "Риск ухода: новых сигналов — 2"
    assert message.body.index("риск ухода 90 %") < message.body.index("риск ухода 80 %")
    assert message.link == "/risk/alerts/?mine=1"
    # The budget is per 7 days: the next day still nothing; a week later the rest may come.
    assert alerts.alerts_raise(org=alpha.org, scores=scores, as_of=DAY + dt.timedelta(days=1)) == 0
    assert alerts.alerts_raise(org=alpha.org, scores=scores, as_of=DAY + dt.timedelta(days=7)) == 2


@pytest.mark.django_db
def test_unacknowledged_alerts_escalate_to_the_manager_then_the_owner_once(alpha):
    alert = alert_for(alpha, opened_on=DAY)
    assert alerts.alerts_escalate(org=alpha.org, today=DAY + dt.timedelta(days=2)) == 0
    assert alerts.alerts_escalate(org=alpha.org, today=DAY + dt.timedelta(days=3)) == 1
    alert.refresh_from_db()
    assert alert.escalation_level == 1 and alert.escalated_to == alpha.manager and alert.escalated_at
    assert Message.objects.filter(user=alpha.manager, subject__contains="без ответа").count() == 1
    # Running it again the same day changes nothing and sends nothing.
    assert alerts.alerts_escalate(org=alpha.org, today=DAY + dt.timedelta(days=3)) == 0
    # escalated_at is "now"; N days after it, the owner.
    later = alert.escalated_at.date() + dt.timedelta(days=3)
    assert alerts.alerts_escalate(org=alpha.org, today=later) == 1
    alert.refresh_from_db()
    assert alert.escalation_level == 2 and alert.escalated_to == alpha.owner
    assert Message.objects.filter(user=alpha.owner).count() == 1
    assert alerts.alerts_escalate(org=alpha.org, today=later + dt.timedelta(days=30)) == 0
    kinds = [e.kind for e in alert.events.all()]
    assert kinds.count(AlertEventKind.ESCALATED) == 2


@pytest.mark.django_db
def test_an_acknowledged_alert_does_not_escalate_and_the_org_sets_the_days(alpha):
    acknowledged = alert_for(alpha)
    alerts.alert_acknowledge(alert=acknowledged, actor=alpha.teacher)
    other = alert_for(alpha, child(alpha, 1))
    alerts.risk_settings_update(org=alpha.org, escalation_days=10, outcome_days=30)
    assert alerts.alerts_escalate(org=alpha.org, today=DAY + dt.timedelta(days=9)) == 0
    assert alerts.alerts_escalate(org=alpha.org, today=DAY + dt.timedelta(days=10)) == 1
    other.refresh_from_db()
    acknowledged.refresh_from_db()
    assert other.escalation_level == 1 and acknowledged.escalation_level == 0


@pytest.mark.django_db
def test_a_branch_without_a_manager_escalates_straight_to_the_owner(alpha):
    alpha.branch.managers.clear()
    alert = alert_for(alpha)
    alerts.alerts_escalate(org=alpha.org, today=DAY + dt.timedelta(days=3))
    alert.refresh_from_db()
    assert alert.escalation_level == 2 and alert.escalated_to == alpha.owner


@pytest.mark.django_db
@pytest.mark.parametrize("escalation, outcome", [(0, 30), (61, 30), (3, 6), (3, 181), ("abc", 30)])
def test_settings_out_of_range_are_refused_and_nothing_is_saved(alpha, escalation, outcome):
    with pytest.raises((ValidationError, ValueError, TypeError)):
        alerts.risk_settings_update(org=alpha.org, escalation_days=escalation, outcome_days=outcome)
    assert alerts.risk_settings_for(org=alpha.org).escalation_days == 3


@pytest.mark.django_db
def test_assign_only_to_staff_who_can_see_the_child(alpha, beta):
    alert = alert_for(alpha)
    alerts.alert_assign(alert=alert, actor=alpha.teacher, assignee_id=alpha.manager.pk)
    alert.refresh_from_db()
    assert alert.assigned_to == alpha.manager
    assert Message.objects.filter(user=alpha.manager, subject__contains="Вам передан сигнал").count() == 1
    stranger = f.UserFactory(username="alpha_teacher_far")
    Membership.objects.create(user=stranger, organization=alpha.org, role=Role.TEACHER)
    for outsider in (stranger, beta.owner, alpha.parent):
        with pytest.raises(ValidationError) as error:
            alerts.alert_assign(alert=alert, actor=alpha.teacher, assignee_id=outsider.pk)
        assert error.value.code == "invalid_assignee"
    alert.refresh_from_db()
    assert alert.assigned_to == alpha.manager
    event = alert.events.get(kind=AlertEventKind.ASSIGNED)
    assert event.actor == alpha.teacher and event.target == alpha.manager


@pytest.mark.django_db
def test_outcomes_dropped_at_once_stayed_after_n_days(alpha):
    stays = alert_for(alpha, child(alpha, 1))
    waits = alert_for(alpha, child(alpha, 2), opened_on=DAY + dt.timedelta(days=5))
    leaves = alert_for(alpha)
    enrollment = leaves.enrollment
    enrollment.status = EnrollmentStatus.DROPPED
    enrollment.ended_on = DAY + dt.timedelta(days=4)
    enrollment.save()
    assert alerts.alerts_close_for_ended(org=alpha.org, enrollment_id=enrollment.pk) == 1
    leaves.refresh_from_db()
    assert leaves.status == AlertStatus.CLOSED
    assert (leaves.outcome, leaves.outcome_on) == (AlertOutcome.DROPPED, DAY + dt.timedelta(days=4))
    assert alerts.alerts_settle_outcomes(org=alpha.org, today=DAY + dt.timedelta(days=29)) == 0
    assert alerts.alerts_settle_outcomes(org=alpha.org, today=DAY + dt.timedelta(days=30)) == 1
    stays.refresh_from_db()
    waits.refresh_from_db()
    assert stays.outcome == AlertOutcome.STAYED and stays.outcome_on == DAY + dt.timedelta(days=30)
    assert waits.outcome == ""
    assert alerts.alerts_settle_outcomes(org=alpha.org, today=DAY + dt.timedelta(days=60)) == 1


@pytest.mark.django_db
def test_the_daily_task_runs_every_organisation(alpha, beta):
    alert_for(alpha)
    alert_for(beta, opened_on=DAY - dt.timedelta(days=40))
    from kruzhok.risk.tasks import risk_alerts_daily_task

    result = alerts.alerts_daily(today=DAY + dt.timedelta(days=3))
    assert result["orgs"] >= 2 and result["escalated"] == 2 and result["settled"] == 1
    assert risk_alerts_daily_task.name == "kruzhok.risk.tasks.risk_alerts_daily_task"


@pytest.mark.django_db
def test_actions_close_and_second_taps_are_safe(alpha):
    alert = alert_for(alpha)
    alerts.alert_acknowledge(alert=alert, actor=alpha.teacher)
    alerts.alert_acknowledge(alert=alert, actor=alpha.teacher)
    assert alert.events.filter(kind=AlertEventKind.ACKNOWLEDGED).count() == 1
    alerts.alert_log_action(alert=alert, actor=alpha.teacher, kind="talk_child", close=False)
    alerts.alert_close(alert=alert, actor=alpha.teacher, note="мама сказала, что всё хорошо")
    alert.refresh_from_db()
    assert alert.status == AlertStatus.CLOSED and alert.closed_at
    with pytest.raises(ValidationError):
        alerts.alert_close(alert=alert, actor=alpha.teacher)
    with pytest.raises(ValidationError):
        alerts.alert_log_action(alert=alert, actor=alpha.teacher, kind="bribe")


@pytest.mark.django_db
def test_the_daily_command_closes_alerts_of_enrollments_that_ended_unnoticed(alpha):
    from django.core.management import call_command

    alert = alert_for(alpha)
    alpha.enrollment.status = EnrollmentStatus.DROPPED
    alpha.enrollment.ended_on = DAY + dt.timedelta(days=2)
    alpha.enrollment.save()  # no event: as if the handler had been missed
    call_command("risk_alerts_daily", today=str(DAY + dt.timedelta(days=3)))
    alert.refresh_from_db()
    assert alert.status == AlertStatus.CLOSED and alert.outcome == AlertOutcome.DROPPED
    assert alert.escalation_level == 0  # closed first, so nobody is chased about a child who has left
