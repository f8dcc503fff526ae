"""Rescore the one enrollment an event touched. Handlers take ids and are idempotent (see lib/events)."""

import logging

from kruzhok.lib.tenancy import tenant_context
from kruzhok.risk import orgcache

logger = logging.getLogger(__name__)
# Saving a holiday, a model version or the organisation reloads the rescore's per-organisation cache.
orgcache.connect()


def rescore(*, organization_id: int, enrollment_id: int | None) -> None:
    from kruzhok.risk.services import alerts_close_for_ended, risk_score_compute

    if not enrollment_id:
        return
    static = orgcache.org_static(organization_id)
    if static is None:
        return
    org = static.org
    with tenant_context(org.id):
        risk_score_compute(org=org, enrollment_ids=[enrollment_id])
        alerts_close_for_ended(org=org, enrollment_id=enrollment_id)


def on_attendance_marked(*, organization_id, enrollment_id=None, **_payload) -> None:
    rescore(organization_id=organization_id, enrollment_id=enrollment_id)


def on_enrollment_changed(*, organization_id, enrollment_id=None, **_payload) -> None:
    rescore(organization_id=organization_id, enrollment_id=enrollment_id)
