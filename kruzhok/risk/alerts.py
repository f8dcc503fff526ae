"""Alerts: who gets one and how (the messaging app's notifications), escalation when nobody answers,
assignment, what was done, and how it ended.

An alert goes to the group's teacher (the branch manager when the group has none, the owner when the
branch has none). Nobody acknowledging it in `RiskSettings.escalation_days` sends it to the branch
manager, and as long again later to the owner. The outcome (stayed / dropped) is settled by the daily
task: a drop ends it at once, an enrollment still open `outcome_days` after the alert counts as stayed.
The threshold and the weekly budget are the organisation's (RiskSettings). An alert whose risk has
stayed under the threshold for RISK_FELL_DAYS is closed by the nightly scoring («Риск снизился»), and
one whose risk is under the threshold does not escalate.
"""

import datetime as dt
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from kruzhok.accounts.models import Membership, Organization, Role
from kruzhok.lib import events
from kruzhok.risk import explain
from kruzhok.risk.models import (
    OPEN_ALERT_STATUSES,
    ActionKind,
    AlertEventKind,
    AlertOutcome,
    AlertStatus,
    RiskAlert,
    RiskAlertAction,
    RiskAlertEvent,
    RiskScore,
    RiskSettings,
)
from kruzhok.school.models import OPEN_ENROLLMENT_STATUSES, Enrollment, EnrollmentStatus

logger = logging.getLogger(__name__)

JUMP = 0.15  # a rise of 15 points in a week raises an alert even below the threshold
MAX_ESCALATION = 2  # 1 = branch manager, 2 = owner


RISK_FELL_DAYS = 14  # an open alert closes once the risk has stayed under the threshold this long


# ------------------------------------------------------------------------------------------ settings


def risk_settings_for(*, org) -> RiskSettings:
    """The organisation's alert rules; an unsaved row with the defaults when it never set any."""
    found = RiskSettings.all_objects.filter(organization_id=org.pk).first()
    return found or RiskSettings(organization_id=org.pk)


def risk_settings_update(
    *,
    org,
    escalation_days: int,
    outcome_days: int,
    threshold_percent: int | None = None,
    weekly_budget: int | None = None,
) -> RiskSettings:
    """The owner's alert rules. A save bumps the organisation's cached rules (orgcache), so the very next
    rescore uses them."""
    with transaction.atomic():
        row, _created = RiskSettings.all_objects.select_for_update().get_or_create(organization_id=org.pk)
        row.escalation_days = escalation_days
        row.outcome_days = outcome_days
        if threshold_percent is not None:
            row.threshold_percent = threshold_percent
        if weekly_budget is not None:
            row.weekly_budget = weekly_budget
        row.full_clean(exclude=["organization"], validate_constraints=False)
        row.save()
        # «В зоне риска» and revenue at risk are counted against the threshold: cached figures must move.
        events.publish("risk.settings_changed", organization_id=org.pk)
    return row


def weekly_budget(*, org=None) -> int:
    """New alerts one person may get in 7 days (no storms); the riskiest children go first. The
    organisation's own number (RiskSettings), the server default without an organisation."""
    if org is None:
        return int(getattr(settings, "RISK_ALERTS_PER_TEACHER_WEEK", 5))
    return risk_settings_for(org=org).weekly_budget


# --------------------------------------------------------------------------------------- recipients


def _active_users(org_id: int, role: str, user_ids=None) -> list:
    memberships = Membership.objects.filter(organization_id=org_id, role=role, is_active=True)
    if user_ids is not None:
        memberships = memberships.filter(user_id__in=list(user_ids))
    return [m.user for m in memberships.select_related("user").order_by("user__last_name", "user_id")]


def branch_managers(enrollment: Enrollment) -> list:
    ids = enrollment.group.branch.managers.values_list("pk", flat=True)
    return _active_users(enrollment.organization_id, Role.MANAGER, ids)


def owners(org_id: int) -> list:
    return _active_users(org_id, Role.OWNER)


def first_recipient_ids(*, org, enrollment_ids) -> dict[int, int | None]:
    """enrollment id → the user an alert goes to first: the group's teacher while they are an active
    teacher of the organisation, else the branch's first manager, else the first owner."""
    rows = list(
        Enrollment.objects.filter(organization_id=org.id, pk__in=list(enrollment_ids)).values_list(
            "pk", "group__teacher_id", "group__branch_id"
        )
    )
    teachers = set(
        Membership.objects.filter(
            organization_id=org.id,
            role=Role.TEACHER,
            is_active=True,
            user_id__in={r[1] for r in rows if r[1]},
        ).values_list("user_id", flat=True)
    )
    managers: dict[int, int] = {}
    active_managers = set(
        Membership.objects.filter(organization_id=org.id, role=Role.MANAGER, is_active=True).values_list(
            "user_id", flat=True
        )
    )
    from kruzhok.school.models import Branch

    for branch_id, user_id in (
        Branch.managers.through.objects.filter(branch_id__in={r[2] for r in rows})
        .order_by("user_id")
        .values_list("branch_id", "user_id")
    ):
        if user_id in active_managers:
            managers.setdefault(branch_id, user_id)
    owner = next(iter(u.pk for u in owners(org.id)), None)
    return {
        pk: teacher if teacher in teachers else managers.get(branch, owner) for pk, teacher, branch in rows
    }


def _notify(alert: RiskAlert, user, *, subject: str, body: str, key: str, link: str | None = None) -> None:
    """Through the messaging app: the in-app inbox always, and the person's own channels before it."""
    from kruzhok.messaging.services import message_enqueue

    if user is None:
        return
    try:
        message_enqueue(
            org=alert.organization,
            user=user,
            subject=subject,
            body=body,
            link=link or reverse("risk:card", args=[alert.enrollment_id]),
            dedupe_key=key,
        )
    except ValidationError:
        # A recipient who has left the organisation must not stop the alert itself.
        logger.warning("risk alert %s: could not notify user %s", alert.pk, getattr(user, "pk", None))


def _child_line(alert: RiskAlert) -> tuple[str, str]:
    enrollment = alert.enrollment
    name = enrollment.student.full_name
    reasons = "; ".join(filter(None, (explain.factor_text(f) for f in (alert.factors or [])[:3])))
    body = _("%(name)s, %(group)s: риск ухода %(percent)s %%.") % {
        "name": name,
        "group": enrollment.group.name,
        "percent": alert.percent,
    }
    if reasons:
        body += " " + _("Причины: %(reasons)s.") % {"reasons": reasons}
    return name, body


def _event(alert: RiskAlert, kind: str, *, actor=None, target=None, note: str = "") -> RiskAlertEvent:
    return RiskAlertEvent.all_objects.create(
        organization_id=alert.organization_id,
        alert=alert,
        kind=kind,
        actor=actor,
        target=target,
        note=(note or "")[:500],
    )


# ------------------------------------------------------------------------------------------- raising


def alerts_raise(*, org, scores: list[RiskScore], as_of: dt.date, rules: RiskSettings | None = None) -> int:
    """One alert per crossing: a score over the organisation's threshold (or 15 points above a week ago)
    opens an alert unless one is already open for that enrollment; the partial unique index settles races.
    No storms: at most the organisation's weekly budget of new alerts per recipient in 7 days, riskiest
    first. `rules`: the organisation's RiskSettings when the caller has them (the scorer's cache)."""
    rules = rules or risk_settings_for(org=org)
    threshold = rules.threshold
    candidates = {s.enrollment_id: s for s in scores if s.probability >= threshold * 0.6}
    if not candidates:
        return 0
    ids = list(candidates)
    week_ago = dict(
        RiskScore.all_objects.filter(
            organization_id=org.id,
            enrollment_id__in=ids,
            scored_on__gte=as_of - dt.timedelta(days=8),
            scored_on__lte=as_of - dt.timedelta(days=6),
        )
        .order_by("scored_on")
        .values_list("enrollment_id", "probability")
    )
    already = set(
        RiskAlert.all_objects.filter(
            organization_id=org.id, enrollment_id__in=ids, status__in=OPEN_ALERT_STATUSES
        ).values_list("enrollment_id", flat=True)
    )
    # A closed alert blocks a new one until the risk has dipped under the threshold after it.
    last_closed = dict(
        RiskAlert.all_objects.filter(organization_id=org.id, enrollment_id__in=ids, status=AlertStatus.CLOSED)
        .values("enrollment_id")
        .annotate(last=Max("opened_on"))
        .values_list("enrollment_id", "last")
    )
    dipped = set()
    if last_closed:
        dips = RiskScore.all_objects.filter(
            organization_id=org.id, enrollment_id__in=list(last_closed), probability__lt=threshold
        ).values_list("enrollment_id", "scored_on")
        dipped = {eid for eid, day in dips if day > last_closed[eid]}
    recipients = first_recipient_ids(org=org, enrollment_ids=ids)
    budget = rules.weekly_budget
    spent: dict = {}
    for user_id in RiskAlert.all_objects.filter(
        organization_id=org.id, opened_on__gt=as_of - dt.timedelta(days=7)
    ).values_list("assigned_to_id", flat=True):
        spent[user_id] = spent.get(user_id, 0) + 1
    created: list[RiskAlert] = []
    for eid, score in sorted(candidates.items(), key=lambda item: (-item[1].probability, item[0])):
        to = recipients.get(eid)
        if eid in already or spent.get(to, 0) >= budget:
            continue
        crossed = score.probability >= threshold
        jumped = eid in week_ago and score.probability - week_ago[eid] >= JUMP
        if not (crossed or jumped) or (eid in last_closed and eid not in dipped):
            continue
        try:
            with transaction.atomic():
                alert = RiskAlert.all_objects.create(
                    organization_id=org.id,
                    enrollment_id=eid,
                    opened_on=as_of,
                    probability=score.probability,
                    reason="threshold" if crossed else "jump",
                    factors=score.factors,
                    assigned_to_id=to,
                )
                _event(alert, AlertEventKind.OPENED, target=alert.assigned_to)
        except IntegrityError:
            # Another run opened it a moment ago: it spends this recipient's budget all the same, or two
            # runs at once would each fill the budget with different children.
            spent[to] = spent.get(to, 0) + 1
            continue
        created.append(alert)
        spent[to] = spent.get(to, 0) + 1
    # One message per person per run, however many children it names: a teacher's phone buzzes once.
    by_recipient: dict = {}
    for alert in (
        RiskAlert.all_objects.filter(pk__in=[a.pk for a in created])
        .select_related("organization", "enrollment__student", "enrollment__group", "assigned_to")
        .order_by("-probability", "pk")
    ):
        by_recipient.setdefault(alert.assigned_to_id, []).append(alert)
    for batch in by_recipient.values():
        first = batch[0]
        name, body = _child_line(first)
        if len(batch) == 1:
            subject = _("Риск ухода: %(name)s") % {"name": name}
            text = body + " " + _("Откройте карточку, чтобы записать, что сделано.")
        else:
            subject = _("Риск ухода: новых сигналов — %(n)s") % {"n": len(batch)}
            text = (
                " ".join(_child_line(a)[1] for a in batch)
                + " "
                + _("Откройте карточки, чтобы записать, что сделано.")
            )
        feed = reverse("risk:alerts") + "?mine=1" if len(batch) > 1 else None
        _notify(
            first,
            first.assigned_to,
            subject=subject,
            body=text[:3900],
            key=f"risk-alert:{first.pk}",
            link=feed,
        )
    return len(created)


# ------------------------------------------------------------------------------------ staff actions


def _open_alert(alert: RiskAlert) -> RiskAlert:
    locked = RiskAlert.all_objects.select_for_update().get(pk=alert.pk, organization_id=alert.organization_id)
    if not locked.is_open:
        raise ValidationError(_("Сигнал уже закрыт."), code="alert_closed")
    return locked


def alert_acknowledge(*, alert: RiskAlert, actor) -> RiskAlert:
    with transaction.atomic():
        alert = _open_alert(alert)
        if alert.status == AlertStatus.ACKNOWLEDGED:
            return alert  # a second tap changes nothing
        alert.status = AlertStatus.ACKNOWLEDGED
        alert.acknowledged_at = timezone.now()
        if alert.assigned_to_id is None:
            alert.assigned_to = actor
        alert.full_clean(exclude=["factors"])
        alert.save()
        _event(alert, AlertEventKind.ACKNOWLEDGED, actor=actor)
    return alert


def alert_not_useful(*, alert: RiskAlert, actor, note: str = "") -> RiskAlert:
    """Closes the alert and keeps the verdict as feedback for the model."""
    with transaction.atomic():
        alert = _open_alert(alert)
        alert.not_useful = True
        alert.status = AlertStatus.CLOSED
        alert.closed_at = timezone.now()
        alert.full_clean(exclude=["factors"])
        alert.save()
        _event(alert, AlertEventKind.NOT_USEFUL, actor=actor, note=note)
    return alert


def alert_close(*, alert: RiskAlert, actor, note: str = "") -> RiskAlert:
    with transaction.atomic():
        alert = _open_alert(alert)
        alert.status = AlertStatus.CLOSED
        alert.closed_at = timezone.now()
        alert.acknowledged_at = alert.acknowledged_at or alert.closed_at
        alert.save()
        _event(alert, AlertEventKind.CLOSED, actor=actor, note=note)
    return alert


def alert_log_action(
    *, alert: RiskAlert, actor, kind: str, note: str = "", close: bool = True
) -> RiskAlertAction:
    if kind not in ActionKind.values:
        raise ValidationError(_("Выберите действие из списка."), code="invalid_action")
    with transaction.atomic():
        alert = _open_alert(alert)
        action = RiskAlertAction(
            organization_id=alert.organization_id,
            alert=alert,
            kind=kind,
            note=(note or "")[:500],
            actor=actor,
        )
        action.full_clean()
        action.save()
        if alert.acknowledged_at is None:
            alert.acknowledged_at = timezone.now()
        alert.status = AlertStatus.CLOSED if close else AlertStatus.ACKNOWLEDGED
        if close:
            alert.closed_at = timezone.now()
        alert.save()
        _event(alert, AlertEventKind.ACTION, actor=actor, note=action.kind)
        if close:
            _event(alert, AlertEventKind.CLOSED, actor=actor)
    return action


def alert_assignees(*, alert: RiskAlert) -> list:
    """Staff who can see the child and so can take the alert: the group's teacher, the branch's
    managers, the owners — active members of the organisation only."""
    enrollment = alert.enrollment
    people = []
    if enrollment.group.teacher_id:
        people += _active_users(alert.organization_id, Role.TEACHER, [enrollment.group.teacher_id])
    people += branch_managers(enrollment)
    people += owners(alert.organization_id)
    seen, unique = set(), []
    for user in people:
        if user.pk not in seen:
            seen.add(user.pk)
            unique.append(user)
    return unique


def alert_assign(*, alert: RiskAlert, actor, assignee_id: int) -> RiskAlert:
    with transaction.atomic():
        alert = _open_alert(alert)
        assignee = next((u for u in alert_assignees(alert=alert) if u.pk == assignee_id), None)
        if assignee is None:
            raise ValidationError(
                _("Назначить можно только сотрудника, который видит этого ребёнка."), code="invalid_assignee"
            )
        if alert.assigned_to_id == assignee.pk:
            return alert
        alert.assigned_to = assignee
        alert.save()
        event = _event(alert, AlertEventKind.ASSIGNED, actor=actor, target=assignee)
    if assignee.pk != getattr(actor, "pk", None):
        name, body = _child_line(alert)
        _notify(
            alert,
            assignee,
            subject=_("Вам передан сигнал: %(name)s") % {"name": name},
            body=body,
            key=f"risk-assigned:{alert.pk}:{event.pk}",
        )
    return alert


# ----------------------------------------------------------------------------- escalation, outcomes


def alerts_escalate(*, org, today: dt.date) -> int:
    """Alerts nobody acknowledged in N days go to the branch manager, then (N days later) to the owner.
    Each step is claimed with a conditional UPDATE, so two runs at once escalate once."""
    rules = risk_settings_for(org=org)
    days = rules.escalation_days
    # The child's latest risk: an alert whose risk has fallen under the threshold never escalates.
    latest = (
        RiskScore.all_objects.filter(
            organization_id=org.id, enrollment_id=OuterRef("enrollment_id"), scored_on__lte=today
        )
        .order_by("-scored_on")
        .values("probability")[:1]
    )
    due = RiskAlert.all_objects.filter(
        organization_id=org.id, status=AlertStatus.OPEN, escalation_level__lt=MAX_ESCALATION
    ).filter(
        Q(escalation_level=0, opened_on__lte=today - dt.timedelta(days=days))
        | Q(escalation_level__gte=1, escalated_at__date__lte=today - dt.timedelta(days=days))
    )
    done = 0
    due = due.annotate(latest_probability=Subquery(latest))
    for alert in due.select_related("organization", "enrollment__student", "enrollment__group__branch"):
        if alert.latest_probability is not None and alert.latest_probability < rules.threshold:
            continue
        level = alert.escalation_level + 1
        targets = branch_managers(alert.enrollment) if level == 1 else []
        if not targets:
            level, targets = MAX_ESCALATION, owners(org.id)
        now = timezone.now()
        claimed = RiskAlert.all_objects.filter(
            pk=alert.pk, status=AlertStatus.OPEN, escalation_level=alert.escalation_level
        ).update(
            escalation_level=level,
            escalated_at=now,
            escalated_to=targets[0] if targets else None,
            updated_at=now,
        )
        if not claimed:
            continue  # acknowledged meanwhile, or another run got there first
        alert.escalation_level = level
        # Stored as the Russian msgid and translated when shown (RiskAlertEvent.note_shown).
        note = gettext_noop("руководителю филиала") if level == 1 else gettext_noop("владельцу")
        _event(alert, AlertEventKind.ESCALATED, target=targets[0] if targets else None, note=note)
        name, body = _child_line(alert)
        for user in targets:
            _notify(
                alert,
                user,
                subject=_("Сигнал без ответа %(days)s дн.: %(name)s") % {"days": days, "name": name},
                body=body + " " + _("Никто не взял его в работу — посмотрите, пожалуйста."),
                key=f"risk-escalation:{alert.pk}:{level}:{user.pk}",
            )
        done += 1
    return done


def alerts_close_when_risk_fell(*, org, as_of: dt.date, rules: RiskSettings | None = None) -> int:
    """Nightly: an open alert whose child's risk has stayed under the organisation's threshold for
    RISK_FELL_DAYS closes with «Риск снизился» on its timeline. Nobody acted, so it is not an action;
    its outcome (stayed / dropped) is still settled later as for any alert. Each close is claimed with a
    conditional UPDATE, so two runs at once close (and log) it once."""
    rules = rules or risk_settings_for(org=org)
    threshold = rules.threshold
    rows = list(
        RiskAlert.all_objects.filter(
            organization_id=org.id,
            status__in=OPEN_ALERT_STATUSES,
            opened_on__lte=as_of - dt.timedelta(days=RISK_FELL_DAYS),
        ).values_list("pk", "enrollment_id", "opened_on")
    )
    if not rows:
        return 0
    scores = RiskScore.all_objects.filter(
        organization_id=org.id,
        enrollment_id__in=[eid for _, eid, _ in rows],
        scored_on__gte=min(opened for _, _, opened in rows),
        scored_on__lte=as_of,
    ).values("enrollment_id")
    # Closed when some score at least RISK_FELL_DAYS old was under the threshold and none since was at
    # or over it: the last low day that old, against the last high day.
    last_low = dict(
        scores.filter(probability__lt=threshold, scored_on__lte=as_of - dt.timedelta(days=RISK_FELL_DAYS))
        .annotate(day=Max("scored_on"))
        .values_list("enrollment_id", "day")
    )
    last_high = dict(
        scores.filter(probability__gte=threshold)
        .annotate(day=Max("scored_on"))
        .values_list("enrollment_id", "day")
    )
    closed = 0
    for pk, eid, opened_on in rows:
        low, high = last_low.get(eid), last_high.get(eid)
        if low is None or low < opened_on or (high is not None and high > low):
            continue
        now = timezone.now()
        # A run for a past day (a replay, the demo's weekly runs) closes it on that day.
        closed_at = min(now, timezone.make_aware(dt.datetime.combine(as_of, dt.time(23, 59))))
        with transaction.atomic():
            if not RiskAlert.all_objects.filter(pk=pk, status__in=OPEN_ALERT_STATUSES).update(
                status=AlertStatus.CLOSED, closed_at=closed_at, risk_fell=True, updated_at=now
            ):
                continue  # closed by someone meanwhile
            # Stored as the Russian msgid and translated when shown (RiskAlertEvent.note_shown).
            RiskAlertEvent.all_objects.create(
                organization_id=org.id,
                alert_id=pk,
                kind=AlertEventKind.CLOSED,
                note=gettext_noop("Риск снизился"),
            )
        closed += 1
    return closed


def alerts_settle_outcomes(*, org, today: dt.date, enrollment_ids=None) -> int:
    """How each alert ended: dropped when the enrollment ended in a drop; stayed when the child is
    still enrolled `outcome_days` after the alert, finished the course, or moved to another group."""
    days = risk_settings_for(org=org).outcome_days
    pending = RiskAlert.all_objects.filter(organization_id=org.id, outcome="")
    if enrollment_ids is not None:
        pending = pending.filter(enrollment_id__in=list(enrollment_ids))
    settled = 0
    rows = pending.values_list("pk", "opened_on", "enrollment__status", "enrollment__ended_on")
    for pk, opened_on, status, ended_on in rows:
        if status == EnrollmentStatus.DROPPED:
            outcome, on = AlertOutcome.DROPPED, ended_on or today
        elif status in (EnrollmentStatus.COMPLETED, EnrollmentStatus.TRANSFERRED):
            outcome, on = AlertOutcome.STAYED, ended_on or today
        elif status in OPEN_ENROLLMENT_STATUSES and today >= opened_on + dt.timedelta(days=days):
            outcome, on = AlertOutcome.STAYED, opened_on + dt.timedelta(days=days)
        else:
            continue
        if RiskAlert.all_objects.filter(pk=pk, outcome="").update(
            outcome=outcome, outcome_on=on, updated_at=timezone.now()
        ):
            RiskAlertEvent.all_objects.create(
                organization_id=org.id, alert_id=pk, kind=AlertEventKind.OUTCOME, note=outcome.label
            )
            settled += 1
    return settled


def alerts_close_for_ended(*, org, enrollment_id: int) -> int:
    """An enrollment that ended (dropped, completed, transferred) keeps no open alert, and its
    alerts' outcome is known at once."""
    if Enrollment.objects.filter(
        organization_id=org.id, pk=enrollment_id, status__in=OPEN_ENROLLMENT_STATUSES
    ).exists():
        return 0
    from kruzhok.lib.dates import org_today

    closed = RiskAlert.all_objects.filter(
        organization_id=org.id, enrollment_id=enrollment_id, status__in=OPEN_ALERT_STATUSES
    ).update(status=AlertStatus.CLOSED, closed_at=timezone.now(), updated_at=timezone.now())
    alerts_settle_outcomes(org=org, today=org_today(org), enrollment_ids=[enrollment_id])
    return closed


def _close_alerts_of_ended(*, org) -> int:
    """Catches up on enrollments that ended while their `enrollment.changed` handler was missed."""
    ended = RiskAlert.all_objects.filter(organization_id=org.id, status__in=OPEN_ALERT_STATUSES).exclude(
        enrollment__status__in=OPEN_ENROLLMENT_STATUSES
    )
    ids = list(ended.values_list("pk", flat=True))
    if not ids:
        return 0
    now = timezone.now()
    RiskAlert.all_objects.filter(pk__in=ids).update(status=AlertStatus.CLOSED, closed_at=now, updated_at=now)
    RiskAlertEvent.all_objects.bulk_create(
        RiskAlertEvent(
            organization_id=org.id,
            alert_id=pk,
            kind=AlertEventKind.CLOSED,
            note=gettext_noop("запись завершена"),
        )
        for pk in ids
    )
    return len(ids)


def alerts_daily(*, today: dt.date | None = None) -> dict[str, int]:
    """The daily beat task: escalate unanswered alerts and settle outcomes, organisation by organisation."""
    from kruzhok.lib.dates import org_today
    from kruzhok.lib.tenancy import tenant_context

    total = {"orgs": 0, "escalated": 0, "settled": 0, "closed": 0}
    for org in Organization.objects.all():
        day = today or org_today(org)
        with tenant_context(org.id):
            total["closed"] += _close_alerts_of_ended(org=org)
            total["escalated"] += alerts_escalate(org=org, today=day)
            total["settled"] += alerts_settle_outcomes(org=org, today=day)
        total["orgs"] += 1
    return total
