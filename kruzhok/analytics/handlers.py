"""Event handlers: each takes ids only and is idempotent in effect (a spare bump only costs a recompute,
a spare recount gives the same row)."""

import datetime as dt

from django.db.models import F

from kruzhok.accounts.models import Organization
from kruzhok.analytics import facts
from kruzhok.analytics.models import DataVersion
from kruzhok.lib.dates import org_timezone
from kruzhok.lib.tenancy import unscoped
from kruzhok.school.models import Enrollment, Lesson

TOPICS = (
    "attendance.marked",
    "enrollment.changed",
    "billing.debt_opened",
    "billing.subscription_frozen",
    "billing.renewal_due",
    "billing.renewal_missed",
    "lesson.changed",
    "risk.settings_changed",
)
# Which counters besides the page-level `version` a topic moves (see DataVersion).
_PARTS = {"enrollment.changed": ("enrollments",), "lesson.changed": ("lessons",)}
_PARTS.update({topic: ("money",) for topic in TOPICS if topic.startswith("billing.")})


def data_version_bump(*, organization_id: int, parts: tuple[str, ...] = ()) -> None:
    bumps = {name: F(name) + 1 for name in ("version", *parts)}
    with unscoped():
        updated = DataVersion.objects.filter(organization_id=organization_id).update(**bumps)
        if not updated:
            DataVersion.objects.get_or_create(
                organization_id=organization_id, defaults=dict.fromkeys(("version", *parts), 1)
            )


def on_data_changed(*, organization_id=None, _topic: str = "", **_payload) -> None:
    if organization_id:
        data_version_bump(organization_id=int(organization_id), parts=_PARTS.get(_topic, ()))


def _bump_for(topic: str):
    def handler(*, organization_id=None, **payload) -> None:
        on_data_changed(organization_id=organization_id, _topic=topic, **payload)

    handler.__name__ = f"on_{topic.replace('.', '_')}"
    return handler


def on_lesson_facts(*, organization_id=None, lesson_id=None, old_starts_at=None, **_payload) -> None:
    """attendance.marked and lesson.changed: recount the lesson's (group, month), and for a move the
    month it left too."""
    if not organization_id or not lesson_id:
        return
    with unscoped():
        org = Organization.objects.filter(pk=int(organization_id)).first()
        lesson = Lesson.all_objects.filter(organization_id=organization_id, pk=int(lesson_id)).first()
        if org is None or lesson is None:
            return
        tz = org_timezone(org)
        pairs = {(lesson.group_id, facts.local_month(lesson.starts_at, tz))}
        if old_starts_at:
            try:
                pairs.add((lesson.group_id, facts.local_month(dt.datetime.fromisoformat(old_starts_at), tz)))
            except (TypeError, ValueError):
                pass
        facts.refresh(org, pairs)


def on_enrollment_facts(*, organization_id=None, enrollment_id=None, **_payload) -> None:
    """enrollment.changed: recount the enrollment flows of the enrollment's group."""
    if not organization_id or not enrollment_id:
        return
    with unscoped():
        org = Organization.objects.filter(pk=int(organization_id)).first()
        group_id = (
            Enrollment.all_objects.filter(organization_id=organization_id, pk=int(enrollment_id))
            .values_list("group_id", flat=True)
            .first()
        )
        if org is None or group_id is None:
            return
        facts.refresh_enrollments(org, [group_id])


HANDLERS = {topic: [_bump_for(topic)] for topic in TOPICS}
HANDLERS["attendance.marked"].insert(0, on_lesson_facts)
HANDLERS["lesson.changed"].insert(0, on_lesson_facts)
HANDLERS["enrollment.changed"].insert(0, on_enrollment_facts)
