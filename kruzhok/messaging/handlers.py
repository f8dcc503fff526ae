"""Reactions to lower apps' events (subscribed in MessagingConfig.ready)."""

import logging

from kruzhok.accounts.models import Organization
from kruzhok.lib.tenancy import tenant_context

logger = logging.getLogger(__name__)


def _org(organization_id: int) -> Organization | None:
    return Organization.objects.filter(pk=organization_id).first()


def on_attendance_marked(*, organization_id: int, lesson_id: int, student_id: int, status: str, **_) -> None:
    if status != "absent":
        return
    from kruzhok.messaging.services import absence_notice_enqueue

    with tenant_context(organization_id):
        org = _org(organization_id)
        if org is not None:
            absence_notice_enqueue(org=org, lesson_id=lesson_id, student_id=student_id)


def on_lesson_changed(
    *, organization_id: int, lesson_id: int, change: str, old_starts_at: str = "", reason: str = "", **_
) -> None:
    from kruzhok.messaging.automatic import lesson_change_notify

    with tenant_context(organization_id):
        org = _org(organization_id)
        if org is not None:
            lesson_change_notify(
                org=org, lesson_id=lesson_id, change=change, old_starts_at=old_starts_at, reason=reason
            )


def on_renewal_due(
    *, organization_id: int, subscription_id: int, student_id: int, valid_to: str, lessons_left=0, **_
) -> None:
    from kruzhok.messaging.automatic import renewal_reminder_enqueue

    with tenant_context(organization_id):
        org = _org(organization_id)
        if org is not None:
            renewal_reminder_enqueue(
                org=org,
                subscription_id=subscription_id,
                student_id=student_id,
                valid_to=valid_to,
                lessons_left=lessons_left,
            )
