"""Demo data for early warning (kruzhok/risk): a trained model where the history allows one, four
weekly risk scores so cards show a history and alerts are raised, and a past of settled alerts — what
staff did and how it ended — so «Что помогает» has something to show. Called by the seed command.

The past alerts follow the enrollments' real endings in the demo (a child who left is "dropped", one
still enrolled a month later "stayed"); which actions were logged is drawn so that calling the parent
and offering a freeze go with staying more often, talking to the child a little, another group not at
all, and trials of another course are too rare to judge — the story the demo centre tells.
"""

import datetime as dt
import random

from kruzhok.lib.tenancy import tenant_context

# P(action logged | the child stayed), P(action logged | the child left).
ACTION_ODDS = {
    "call_parent": (0.6, 0.25),
    "talk_child": (0.4, 0.3),
    "freeze": (0.2, 0.05),
    "other_group": (0.12, 0.12),
    "trial_course": (0.04, 0.02),
}
PAST_DROPPED, PAST_STAYED = 70, 110
OUTCOME_DAYS = 30
# Days from an alert to the first reaction: most within two days, a few left waiting a week or more.
ACK_DAYS = (0, 0, 1, 1, 1, 2, 2, 3, 5, 9)


def seed_risk(*, orgs, today: dt.date | None = None) -> dict[str, int]:
    from kruzhok.risk.alerts import alerts_escalate
    from kruzhok.risk.services import risk_score_compute
    from kruzhok.risk.training import risk_train
    from kruzhok.school.services.people import org_today

    totals = {"scored": 0, "alerts": 0, "trained_active": 0, "past_alerts": 0, "escalated": 0}
    for org in orgs:
        day = today or org_today(org)
        with tenant_context(org.id):
            totals["trained_active"] += int(risk_train(org=org, today=day).is_active)
            for weeks_ago in (3, 2, 1, 0):
                result = risk_score_compute(org=org, as_of=day - dt.timedelta(weeks=weeks_ago))
                totals["alerts"] += result["alerts"]
            totals["scored"] += result["scored"]
            totals["past_alerts"] += seed_alert_history(org=org, today=day)
            totals["escalated"] += alerts_escalate(org=org, today=day)
            date_alert_timeline(org=org)
    return totals


def date_alert_timeline(*, org) -> int:
    """Dates each seeded alert's timeline as its story goes (raised on the day it was opened,
    acknowledged, escalated and closed when the alert says), not at seeding time: an alert opened on
    08.11 must not show «29.11 15:36 Сигнал поднят». Never later than its seeding moment."""
    from kruzhok.lib.dates import org_timezone
    from kruzhok.risk.models import AlertEventKind, RiskAlertAction, RiskAlertEvent

    tz = org_timezone(org)

    def morning(day: dt.date, pk: int) -> dt.datetime:
        # Nightly scoring raises alerts and settles outcomes early in the morning.
        return dt.datetime.combine(day, dt.time(6, pk % 50), tzinfo=tz)

    events = list(
        RiskAlertEvent.all_objects.filter(organization_id=org.id).select_related("alert").order_by("pk")
    )
    changed = []
    for event in events:
        alert = event.alert
        opened = morning(alert.opened_on, alert.pk)
        when = {
            AlertEventKind.OPENED: opened,
            AlertEventKind.ACKNOWLEDGED: alert.acknowledged_at,
            AlertEventKind.ASSIGNED: alert.acknowledged_at,
            AlertEventKind.ESCALATED: alert.escalated_at,
            AlertEventKind.ACTION: alert.closed_at or alert.acknowledged_at,
            AlertEventKind.NOT_USEFUL: alert.closed_at,
            AlertEventKind.CLOSED: alert.closed_at,
            AlertEventKind.OUTCOME: morning(alert.outcome_on, alert.pk) if alert.outcome_on else None,
        }.get(event.kind)
        if when is not None:
            when = max(opened, min(when, event.created_at))
            if when != event.created_at:
                event.created_at = when
                changed.append(event)
    RiskAlertEvent.all_objects.bulk_update(changed, ["created_at"], batch_size=500)
    actions = []
    for action in RiskAlertAction.all_objects.filter(organization_id=org.id).select_related("alert"):
        when = action.alert.closed_at or action.alert.acknowledged_at
        if when is not None and when < action.created_at:
            action.created_at = when
            actions.append(action)
    RiskAlertAction.all_objects.bulk_update(actions, ["created_at"], batch_size=500)
    return len(changed) + len(actions)


def seed_alert_history(*, org, today: dt.date, seed: int = 7) -> int:
    """Closed alerts from the past months with logged actions and settled outcomes (bulk inserts)."""
    from django.utils import timezone

    from kruzhok.risk.models import (
        ActionKind,
        AlertEventKind,
        AlertOutcome,
        AlertStatus,
        RiskAlert,
        RiskAlertAction,
        RiskAlertEvent,
    )
    from kruzhok.school.models import OPEN_ENROLLMENT_STATUSES, Enrollment, EnrollmentStatus

    rng = random.Random(seed * 100_003 + org.id)
    flagged = set(
        RiskAlert.all_objects.filter(organization_id=org.id).values_list("enrollment_id", flat=True)
    )
    rows = Enrollment.all_objects.filter(organization_id=org.id).values_list(
        "pk", "status", "started_on", "ended_on", "group__teacher_id"
    )
    dropped, stayed = [], []
    for pk, status, started, ended, teacher in rows.order_by("pk"):
        if pk in flagged or teacher is None:
            continue
        if status == EnrollmentStatus.DROPPED and ended and today - dt.timedelta(days=200) <= ended <= today:
            opened = max(started, ended - dt.timedelta(days=rng.randint(7, 28)))
            dropped.append((pk, teacher, opened, AlertOutcome.DROPPED, ended))
        elif status in OPEN_ENROLLMENT_STATUSES and started <= today - dt.timedelta(days=OUTCOME_DAYS + 45):
            latest = (today - dt.timedelta(days=OUTCOME_DAYS + 5) - started).days
            opened = started + dt.timedelta(days=rng.randint(14, max(14, latest)))
            stayed.append(
                (pk, teacher, opened, AlertOutcome.STAYED, opened + dt.timedelta(days=OUTCOME_DAYS))
            )
    chosen = rng.sample(dropped, min(PAST_DROPPED, len(dropped))) + rng.sample(
        stayed, min(PAST_STAYED, len(stayed))
    )
    if not chosen:
        return 0
    from kruzhok.lib.dates import org_timezone

    now = timezone.now()
    tz = org_timezone(org)
    clock = random.Random(seed * 7919 + org.id)  # its own draws, so the actions drawn below stay as they were

    def moment(day: dt.date, hour: int) -> dt.datetime:
        # Handled on the days they were, not at seeding time: the dashboard shows how fast alerts
        # are handled from these.
        return min(now, dt.datetime.combine(day, dt.time(hour, clock.randint(0, 59)), tzinfo=tz))

    alerts = []
    for pk, teacher, opened, outcome, outcome_on in chosen:
        high = rng.random() < 0.8
        probability = round(rng.uniform(0.5, 0.9) if high else rng.uniform(0.3, 0.49), 3)
        acknowledged = moment(min(opened + dt.timedelta(days=clock.choice(ACK_DAYS)), outcome_on), 10)
        alerts.append(
            RiskAlert(
                organization_id=org.id,
                enrollment_id=pk,
                opened_on=opened,
                probability=probability,
                reason="threshold" if high else "jump",
                factors=[],
                status=AlertStatus.CLOSED,
                assigned_to_id=teacher,
                acknowledged_at=acknowledged,
                closed_at=max(acknowledged, moment(outcome_on, 18)),
                outcome=outcome,
                outcome_on=outcome_on,
            )
        )
    RiskAlert.all_objects.bulk_create(alerts)
    saved = {
        a.enrollment_id: a
        for a in RiskAlert.all_objects.filter(
            organization_id=org.id, enrollment_id__in=[c[0] for c in chosen], status=AlertStatus.CLOSED
        )
    }
    actions, events = [], []
    for pk, teacher, _opened, outcome, _on in chosen:
        alert = saved[pk]
        events.append(RiskAlertEvent(organization_id=org.id, alert=alert, kind=AlertEventKind.OPENED))
        did = [
            kind
            for kind, (if_stayed, if_left) in ACTION_ODDS.items()
            if rng.random() < (if_stayed if outcome == AlertOutcome.STAYED else if_left)
        ]
        for kind in did:
            actions.append(RiskAlertAction(organization_id=org.id, alert=alert, kind=kind, actor_id=teacher))
            events.append(
                RiskAlertEvent(
                    organization_id=org.id,
                    alert=alert,
                    kind=AlertEventKind.ACTION,
                    actor_id=teacher,
                    note=str(ActionKind(kind).label),
                )
            )
        events.append(RiskAlertEvent(organization_id=org.id, alert=alert, kind=AlertEventKind.CLOSED))
        events.append(
            RiskAlertEvent(
                organization_id=org.id, alert=alert, kind=AlertEventKind.OUTCOME, note=str(outcome.label)
            )
        )
    RiskAlertAction.all_objects.bulk_create(actions)
    RiskAlertEvent.all_objects.bulk_create(events)
    return len(alerts)
