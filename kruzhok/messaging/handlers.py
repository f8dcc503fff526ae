"""Reactions to lower apps' events (subscribed in MessagingConfig.ready)."""

import logging

from kruzhok.accounts.models import Organization
from kruzhok.lib.tenancy import tenant_context

logger = logging.getLogger(__name__)


def on_attendance_marked(*, organization_id: int, lesson_id: int, student_id: int, status: str, **_) -> None:
    if status != "absent":
        return
    from kruzhok.messaging.services import absence_notice_enqueue

    with tenant_context(organization_id):
        org = Organization.objects.filter(pk=organization_id).first()
        if org is not None:
            absence_notice_enqueue(org=org, lesson_id=lesson_id, student_id=student_id)
