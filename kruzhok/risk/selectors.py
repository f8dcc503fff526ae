"""Reads of risk scores and alerts, scoped like the groups they belong to: the owner sees the whole
organisation, a manager the groups of their branches, a teacher their own groups."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from kruzhok.accounts.models import Membership, Role
from kruzhok.accounts.permissions import role_can
from kruzhok.risk.models import (
    OPEN_ALERT_STATUSES,
    ActionKind,
    AlertStatus,
    ModelVersion,
    RiskAlert,
    RiskAlertEvent,
    RiskScore,
)
from kruzhok.risk.whathelps import WhatHelpsRow, what_helps_rows
from kruzhok.school.models import OPEN_ENROLLMENT_STATUSES, Branch, Enrollment, Group, StudentGuardian

QUERY_MAX = 100


def _group_scope(membership: Membership, prefix: str) -> Q | None:
    """None: everything in the organisation; a Q on `<prefix>group` otherwise."""
    if membership.role == Role.OWNER:
        return None
    if membership.role == Role.MANAGER:
        return Q(**{f"{prefix}group__branch__managers": membership.user_id})
    if membership.role == Role.TEACHER:
        return Q(**{f"{prefix}group__teacher": membership.user_id})
    return Q(pk__in=[])


def _scoped(qs: QuerySet, membership: Membership, prefix: str) -> QuerySet:
    scope = _group_scope(membership, prefix)
    return qs if scope is None else qs.filter(scope)


def risk_groups(*, membership: Membership) -> QuerySet[Group]:
    groups = Group.objects.filter(organization_id=membership.organization_id, is_active=True).order_by("name")
    if membership.role == Role.OWNER:
        return groups
    if membership.role == Role.MANAGER:
        return groups.filter(branch__managers=membership.user_id).distinct()
    if membership.role == Role.TEACHER:
        return groups.filter(teacher=membership.user_id)
    return groups.none()


def risk_branches(*, membership: Membership) -> QuerySet[Branch]:
    branches = Branch.objects.filter(organization_id=membership.organization_id).order_by("name")
    if membership.role == Role.OWNER:
        return branches
    if membership.role == Role.MANAGER:
        return branches.filter(managers=membership.user_id)
    if membership.role == Role.TEACHER:
        return branches.filter(groups__teacher=membership.user_id).distinct()
    return branches.none()


AT_RISK_SORTS = {
    "risk": ("-probability", "enrollment__student__last_name", "pk"),
    "name": ("enrollment__student__last_name", "enrollment__student__first_name", "pk"),
    "decline": (F("decline_started_on").asc(nulls_last=True), "-probability", "pk"),
}


def at_risk_list(
    *,
    membership: Membership,
    band: str = "",
    group=None,
    branch=None,
    query: str = "",
    min_probability: float = 0.0,
    sort: str = "risk",
) -> QuerySet[RiskScore]:
    """The latest score of every open enrollment the caller may see, riskiest first."""
    latest = (
        RiskScore.objects.filter(
            organization_id=membership.organization_id, enrollment_id=OuterRef("enrollment_id")
        )
        .order_by("-scored_on")
        .values("pk")[:1]
    )
    qs = RiskScore.objects.filter(
        organization_id=membership.organization_id,
        enrollment__status__in=OPEN_ENROLLMENT_STATUSES,
        pk=Subquery(latest),
        probability__gte=min_probability,
    )
    qs = _scoped(qs, membership, "enrollment__")
    if band:
        qs = qs.filter(band=band)
    if group is not None:
        qs = qs.filter(enrollment__group=group)
    if branch is not None:
        qs = qs.filter(enrollment__group__branch=branch)
    words = " ".join((query or "").split())[:QUERY_MAX].split()
    for word in words:
        variants = {word, word.lower(), word.capitalize(), word.upper()}
        q = Q()
        for v in variants:
            q |= Q(enrollment__student__last_name__contains=v) | Q(
                enrollment__student__first_name__contains=v
            )
        qs = qs.filter(q)
    open_alert = RiskAlert.objects.filter(
        enrollment_id=OuterRef("enrollment_id"), status__in=OPEN_ALERT_STATUSES
    ).values("pk")[:1]
    return (
        qs.annotate(open_alert_id=Subquery(open_alert))
        .select_related("enrollment__student", "enrollment__group")
        .distinct()
        .order_by(*AT_RISK_SORTS.get(sort, AT_RISK_SORTS["risk"]))
    )


def risk_enrollment_scope(*, membership: Membership) -> QuerySet[Enrollment]:
    qs = Enrollment.objects.filter(organization_id=membership.organization_id).select_related(
        "student", "group", "group__course", "group__teacher", "group__branch"
    )
    return _scoped(qs, membership, "").distinct()


def risk_enrollment_get(*, membership: Membership, pk) -> Enrollment:
    return get_object_or_404(risk_enrollment_scope(membership=membership), pk=pk)


def risk_history(*, enrollment: Enrollment, limit: int = 120) -> list[RiskScore]:
    scores = RiskScore.objects.filter(
        organization_id=enrollment.organization_id, enrollment=enrollment
    ).select_related("model_version")
    return list(reversed(scores.order_by("-scored_on")[:limit]))


def alert_list(*, membership: Membership, enrollment: Enrollment | None = None, open_only: bool = False):
    qs = RiskAlert.objects.filter(organization_id=membership.organization_id).select_related(
        "enrollment__student", "enrollment__group", "assigned_to"
    )
    qs = _scoped(qs, membership, "enrollment__")
    if enrollment is not None:
        qs = qs.filter(enrollment=enrollment)
    if open_only:
        qs = qs.filter(status__in=OPEN_ALERT_STATUSES)
    return qs.prefetch_related("actions__actor").distinct()


# The alert feed's filters: "active" = not closed yet (the default).
FEED_STATUSES = ("active", "open", "acknowledged", "escalated", "closed", "all")


def alert_feed(*, membership: Membership, status: str = "active", mine: bool = False) -> QuerySet[RiskAlert]:
    qs = alert_list(membership=membership).select_related("escalated_to")
    if status in ("active", ""):
        qs = qs.filter(status__in=OPEN_ALERT_STATUSES)
    elif status == "escalated":
        qs = qs.filter(status__in=OPEN_ALERT_STATUSES, escalation_level__gt=0)
    elif status in (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED, AlertStatus.CLOSED):
        qs = qs.filter(status=status)
    if mine:
        qs = qs.filter(Q(assigned_to=membership.user_id) | Q(escalated_to=membership.user_id))
    return qs.order_by("-opened_on", "-probability", "-id")


def alert_events(*, alert: RiskAlert) -> list[RiskAlertEvent]:
    return list(
        RiskAlertEvent.objects.filter(organization_id=alert.organization_id, alert=alert).select_related(
            "actor", "target"
        )
    )


@dataclass(frozen=True)
class RecommendedAction:
    kind: str
    label: str
    hint: str
    # Where the action is done (a phone number, the transfer or freeze page); empty when nowhere.
    url: str = ""
    url_label: str = ""


def recommended_actions(*, membership: Membership, enrollment: Enrollment) -> list[RecommendedAction]:
    """The five things that keep children, each with a link to where it is done when the caller may
    go there (a teacher has no transfer or billing pages)."""
    role = membership.role
    guardian = (
        StudentGuardian.objects.filter(
            organization_id=enrollment.organization_id, student=enrollment.student_id
        )
        .select_related("guardian")
        .order_by("-is_primary", "id")
        .first()
    )
    phone = guardian.guardian.phone if guardian else ""
    actions = [
        RecommendedAction(
            ActionKind.CALL_PARENT,
            _("Позвонить родителю"),
            _("Спросите, как ребёнку на занятиях и что изменилось."),
            f"tel:{phone}" if phone else "",
            f"{guardian.guardian.full_name}, {phone}" if phone else "",
        ),
        RecommendedAction(
            ActionKind.TALK_CHILD,
            _("Поговорить с ребёнком"),
            _("После занятия, без спешки: что нравится, что мешает."),
        ),
    ]
    manage = role_can(role, "enrollment.manage")
    actions.append(
        RecommendedAction(
            ActionKind.OTHER_GROUP,
            _("Предложить другую группу или время"),
            _("Часто мешает расписание, а не сам кружок."),
            reverse("school:enrollment_transfer", args=[enrollment.pk]) if manage else "",
            _("Перевести в другую группу") if manage else "",
        )
    )
    actions.append(
        RecommendedAction(
            ActionKind.TRIAL_COURSE,
            _("Пробное занятие другого курса"),
            _("Если интерес угас к предмету, а не к центру."),
            reverse("school:enrollment_create", args=[enrollment.student_id]) if manage else "",
            _("Записать на пробное") if manage else "",
        )
    )
    freeze_url = ""
    if role_can(role, "billing.manage"):
        from kruzhok.billing.models import Subscription

        subscription = (
            Subscription.objects.filter(
                organization_id=enrollment.organization_id, student=enrollment.student_id, status="active"
            )
            .order_by("-valid_to", "-id")
            .values_list("pk", flat=True)
            .first()
        )
        if subscription:
            freeze_url = reverse("billing:freeze", args=[subscription])
    actions.append(
        RecommendedAction(
            ActionKind.FREEZE,
            _("Заморозка вместо ухода"),
            _("Болезнь, экзамены, каникулы — абонемент можно заморозить."),
            freeze_url,
            _("Заморозить абонемент") if freeze_url else "",
        )
    )
    return actions


def what_helps(org, *, period: tuple[dt.date, dt.date] | None = None, branch_ids=None) -> list[WhatHelpsRow]:
    """Retention after alerts with and without each kind of action, within each risk band, with a 95 %
    interval of the difference and a plain-Russian verdict (kruzhok/risk/whathelps.py)."""
    return what_helps_rows(org, period=period, branch_ids=branch_ids)


def alert_get(*, membership: Membership, pk) -> RiskAlert:
    return get_object_or_404(alert_list(membership=membership), pk=pk)


# ---------------------------------------------------------------------------------- model versions

MODEL_VERSIONS_SHOWN = 20

# Training writes its notes in Russian; the page words them in the reader's language from these msgids.
_MODEL_NOTES = {
    "Начальная модель: веса заданы вручную": gettext_noop("Начальная модель: веса заданы вручную"),
    "Лучше базовой модели на проверке по времени; включена": gettext_noop(
        "Лучше базовой модели на проверке по времени; включена"
    ),
    "Не лучше базовой модели на проверке по времени; не включена": gettext_noop(
        "Не лучше базовой модели на проверке по времени; не включена"
    ),
}


@dataclass(frozen=True)
class ModelVersionRow:
    version: ModelVersion
    note: str
    model_metrics: dict
    prior_metrics: dict


def model_version_note(version: ModelVersion) -> str:
    note = version.note or ""
    if note in _MODEL_NOTES:
        return _(_MODEL_NOTES[note])
    if note.startswith("Мало данных"):
        from kruzhok.risk.training import MIN_POSITIVES

        return _("Мало данных: %(n)s уходов, нужно %(need)s; работает базовая модель") % {
            "n": (version.metrics or {}).get("positives", 0),
            "need": MIN_POSITIVES,
        }
    return note


def model_versions(*, org) -> list[ModelVersionRow]:
    """The organisation's models, newest first: what data each saw, how it did against the prior on
    the temporal test, which one scores now. Read by managers and owners (risk.report)."""
    versions = ModelVersion.objects.filter(organization_id=org.id).order_by(
        "-is_active", "-created_at", "-id"
    )
    return [
        ModelVersionRow(
            version=v,
            note=model_version_note(v),
            model_metrics=(v.metrics or {}).get("model") or {},
            prior_metrics=(v.metrics or {}).get("prior") or {},
        )
        for v in versions[:MODEL_VERSIONS_SHOWN]
    ]
