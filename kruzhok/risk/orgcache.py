"""Per-organisation data that changes rarely (the organisation row, its holidays, its active model
version, its alert rules), kept in the process between event rescores and reloaded when its version changes.

The version lives in Django's cache (Redis in production, so every web and worker process sees one
value) and is bumped by a save or delete of a Holiday, ModelVersion, RiskSettings or Organization row (receivers
connected from handlers.py, which RiskConfig.ready() imports). A missing version (cache flushed or
evicted) gets a fresh one, which reloads everything: a stale value can only live until the next bump.
"""

import dataclasses
import threading
import uuid

from django.core.cache import cache

# False reads the rows afresh on every call (risk_bench measures that as its baseline).
ENABLED = True
_local: dict[int, tuple[str, "OrgStatic"]] = {}
_lock = threading.Lock()


@dataclasses.dataclass(frozen=True)
class OrgStatic:
    org: object  # accounts.Organization
    holidays: tuple[tuple[int, int], ...]  # (first, last) day numbers
    version: object  # risk.ModelVersion, the active one (None until the first scoring creates the prior)
    rules: object = None  # risk.RiskSettings: the alert threshold and weekly budget (unsaved = defaults)


def _key(org_id: int) -> str:
    return f"risk:static:{org_id}"


def current_version(org_id: int) -> str:
    version = cache.get(_key(org_id))
    if version is None:
        cache.add(_key(org_id), uuid.uuid4().hex, timeout=None)
        version = cache.get(_key(org_id))
    return version


def bump(org_id: int) -> None:
    cache.set(_key(org_id), uuid.uuid4().hex, timeout=None)
    with _lock:
        _local.pop(org_id, None)


def org_static(org_id: int) -> OrgStatic | None:
    """The organisation's rarely changing rows; None when it does not exist."""
    if not ENABLED:
        return _load(org_id)
    version = current_version(org_id)
    found = _local.get(org_id)
    if found is not None and found[0] == version:
        return found[1]
    static = _load(org_id)
    if static is not None:
        with _lock:
            _local[org_id] = (version, static)
    return static


def _load(org_id: int) -> OrgStatic | None:
    from kruzhok.accounts.models import Organization
    from kruzhok.risk.models import ModelVersion
    from kruzhok.school.models import Holiday

    org = Organization.objects.filter(pk=org_id).first()
    if org is None:
        return None
    holidays = tuple(
        (start.toordinal(), end.toordinal())
        for start, end in Holiday.all_objects.filter(organization_id=org_id)
        .order_by("start_date", "pk")
        .values_list("start_date", "end_date")
    )
    version = ModelVersion.all_objects.filter(organization_id=org_id, is_active=True).first()
    from kruzhok.risk.alerts import risk_settings_for

    return OrgStatic(org=org, holidays=holidays, version=version, rules=risk_settings_for(org=org))


def on_row_changed(sender, instance, **_kwargs) -> None:
    """post_save / post_delete of a row this cache holds: its organisation reloads on the next use."""
    org_id = instance.pk if sender.__name__ == "Organization" else getattr(instance, "organization_id", None)
    if org_id:
        from django.db import transaction

        # Now (this process, this transaction) and again on commit: a process that reloaded in between
        # read the rows as they were before the commit.
        bump(org_id)
        transaction.on_commit(lambda: bump(org_id))


def connect() -> None:
    from django.db.models.signals import post_delete, post_save

    from kruzhok.accounts.models import Organization
    from kruzhok.risk.models import ModelVersion, RiskSettings
    from kruzhok.school.models import Holiday

    for model in (Organization, Holiday, ModelVersion, RiskSettings):
        post_save.connect(on_row_changed, sender=model, dispatch_uid=f"risk-static-{model.__name__}")
        post_delete.connect(on_row_changed, sender=model, dispatch_uid=f"risk-static-del-{model.__name__}")
