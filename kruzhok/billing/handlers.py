"""Reactions to lower apps' events. Handlers take ids and are idempotent (see lib/events.py)."""

from kruzhok.attendance.models import AttendanceMark
from kruzhok.billing import services
from kruzhok.lib.tenancy import tenant_context


def on_attendance_marked(*, organization_id, lesson_id, student_id, **_payload) -> None:
    with tenant_context(organization_id):
        mark_id = (
            AttendanceMark.objects.filter(
                organization_id=organization_id, lesson_id=lesson_id, student_id=student_id
            )
            .values_list("pk", flat=True)
            .first()
        )
        if mark_id is not None:
            services.writeoff_sync_mark(mark_id=mark_id, organization_id=organization_id)
