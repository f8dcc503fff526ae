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
    return totals


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
    now = timezone.now()
    alerts = []
    for pk, teacher, opened, outcome, outcome_on in chosen:
        high = rng.random() < 0.8
        probability = round(rng.uniform(0.5, 0.9) if high else rng.uniform(0.3, 0.49), 3)
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
                acknowledged_at=now,
                closed_at=now,
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
