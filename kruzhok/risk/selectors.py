"""Reads of risk scores and alerts, scoped like the groups they belong to: the owner sees the whole
organisation, a manager the groups of their branches, a teacher their own groups."""

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.shortcuts import get_object_or_404

from kruzhok.accounts.models import Membership, Role
from kruzhok.risk.models import OPEN_ALERT_STATUSES, RiskAlert, RiskScore
from kruzhok.school.models import OPEN_ENROLLMENT_STATUSES, Enrollment, Group

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


def at_risk_list(
    *, membership: Membership, band: str = "", group=None, query: str = "", min_probability: float = 0.0
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
        .order_by("-probability", "enrollment__student__last_name", "pk")
    )


def risk_enrollment_get(*, membership: Membership, pk) -> Enrollment:
    qs = Enrollment.objects.filter(organization_id=membership.organization_id).select_related(
        "student", "group", "group__course", "group__teacher"
    )
    return get_object_or_404(_scoped(qs, membership, "").distinct(), pk=pk)


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


def alert_get(*, membership: Membership, pk) -> RiskAlert:
    return get_object_or_404(alert_list(membership=membership), pk=pk)
