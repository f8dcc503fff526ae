"""Signals from other apps (homework, billing, feedback, gamification), plugged in through the registry in
features.py. Each module loads its app's rows in bulk as canonical events or dated side tables and registers
the providers that read them; an app that is not installed simply adds nothing.

Imported from RiskConfig.ready(); the model code never changes when a module here is added.
"""

from django.apps import apps

AREAS = ("homework", "billing", "feedback", "gamification")


def load_all() -> None:
    import importlib

    for area in AREAS:
        if apps.is_installed(f"kruzhok.{area}"):
            importlib.import_module(f"kruzhok.risk.signals.{area}")


def on_homework_recorded(*, organization_id, enrollment_id=None, **_payload) -> None:
    from kruzhok.risk.handlers import rescore

    rescore(organization_id=organization_id, enrollment_id=enrollment_id)


def on_student_billing(*, organization_id, student_id=None, **_payload) -> None:
    """Billing facts name the child, not the enrollment: rescore each of the child's open enrollments."""
    from kruzhok.lib.tenancy import tenant_context
    from kruzhok.risk.handlers import rescore
    from kruzhok.school.models import OPEN_ENROLLMENT_STATUSES, Enrollment

    if not student_id:
        return
    with tenant_context(organization_id):
        ids = list(
            Enrollment.objects.filter(
                organization_id=organization_id, student_id=student_id, status__in=OPEN_ENROLLMENT_STATUSES
            ).values_list("pk", flat=True)
        )
    for enrollment_id in ids:
        rescore(organization_id=organization_id, enrollment_id=enrollment_id)


def subscribe_rescoring() -> None:
    from kruzhok.lib import events

    events.subscribe("homework.recorded", on_homework_recorded)
    for topic in ("billing.subscription_frozen", "billing.renewal_missed"):
        events.subscribe(topic, on_student_billing)
