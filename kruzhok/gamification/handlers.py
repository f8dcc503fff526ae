"""Event subscribers. They run after the attendance transaction commits and take ids only."""

from kruzhok.gamification import services
from kruzhok.lib.tenancy import tenant_context


def on_attendance_marked(*, organization_id: int, lesson_id: int, student_id: int, **_payload) -> None:
    with tenant_context(organization_id):
        services.xp_apply_mark(org_id=organization_id, lesson_id=lesson_id, student_id=student_id)


def on_homework_recorded(*, organization_id: int, result_id: int, **_payload) -> None:
    # The payload's previous status and grade are not needed: the service compares with the ledger.
    with tenant_context(organization_id):
        services.xp_apply_homework(org_id=organization_id, result_id=result_id)
