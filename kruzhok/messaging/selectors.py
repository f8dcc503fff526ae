from collections import Counter

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from kruzhok.accounts.models import Membership, Organization, Role
from kruzhok.messaging.models import Announcement, Delivery, DeliveryStatus, Message


def inbox_for_user(*, user, org: Organization) -> QuerySet[Message]:
    """Messages addressed to the user, directly or to the guardian row that carries their account."""
    return (
        Message.objects.filter(organization=org)
        .filter(Q(user=user) | Q(guardian__user=user, guardian__organization=org))
        .select_related("student")
        .order_by("-created_at", "-id")
    )


def message_for_user(*, user, org: Organization, pk) -> Message:
    return get_object_or_404(inbox_for_user(user=user, org=org), pk=pk)


def unread_count(*, user, org: Organization) -> int:
    return inbox_for_user(user=user, org=org).filter(read_at__isnull=True).count()


def announcement_list(*, membership: Membership) -> QuerySet[Announcement]:
    """Owners see every announcement; a manager sees the ones they wrote."""
    qs = Announcement.objects.filter(organization_id=membership.organization_id).select_related(
        "group", "guardian", "created_by"
    )
    if membership.role == Role.OWNER:
        return qs
    if membership.role == Role.MANAGER:
        return qs.filter(created_by=membership.user)
    return qs.none()


def announcement_get(*, membership: Membership, pk) -> Announcement:
    return get_object_or_404(announcement_list(membership=membership), pk=pk)


def announcement_report(*, announcement: Announcement) -> dict:
    """Per message, the status of its latest channel; then the counts a manager reads."""
    latest: dict[int, Delivery] = {}
    deliveries = Delivery.objects.filter(
        organization_id=announcement.organization_id, message__announcement=announcement
    ).order_by("message_id", "position")
    for delivery in deliveries:
        latest[delivery.message_id] = delivery
    statuses = Counter(d.status for d in latest.values())
    channels = Counter(d.channel for d in latest.values() if d.status == DeliveryStatus.SENT)
    messages = Message.objects.filter(organization_id=announcement.organization_id, announcement=announcement)
    return {
        "total": messages.count(),
        "read": messages.filter(read_at__isnull=False).count(),
        "statuses": dict(statuses),
        "channels": dict(channels),
        "rows": messages.select_related("guardian", "student").prefetch_related("deliveries"),
    }
