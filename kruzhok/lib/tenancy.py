"""The safety net under tenant isolation.

Every selector and service takes the organisation explicitly; this module is the second line of
defence. Tenant-owned models use `TenantManager`, which filters every query by the organisation that
is active in the current context and *raises* when none is, so a query that forgot its tenant cannot
silently read across organisations. Code that legitimately works across tenants (seeding, nightly
jobs, migrations) says so with `unscoped()`.
"""

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import models

logger = logging.getLogger(__name__)

_UNSCOPED = object()
_active: ContextVar[object] = ContextVar("kruzhok_active_org", default=None)


class TenantNotActive(RuntimeError):
    """A tenant-owned table was queried with no organisation active."""


@contextmanager
def tenant_context(organization_id: int) -> Iterator[None]:
    token = _active.set(int(organization_id))
    try:
        yield
    finally:
        _active.reset(token)


@contextmanager
def unscoped() -> Iterator[None]:
    token = _active.set(_UNSCOPED)
    try:
        yield
    finally:
        _active.reset(token)


def active_organization_id() -> int | None:
    value = _active.get()
    return value if isinstance(value, int) else None


class TenantManager(models.Manager):
    def get_queryset(self) -> models.QuerySet:
        state = _active.get()
        queryset = super().get_queryset()
        if state is _UNSCOPED:
            return queryset
        if state is None:
            raise TenantNotActive(
                f"{self.model.__name__} queried with no organisation active; "
                "use tenant_context(org.id) or unscoped()"
            )
        return queryset.filter(organization_id=state)


class TimeStamped(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class TenantOwned(TimeStamped):
    """Base for every table that belongs to one organisation."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")

    objects = TenantManager()
    # Django's internals (related descriptors, deletion) use the plain base manager.
    all_objects = models.Manager()

    class Meta:
        abstract = True
        base_manager_name = "all_objects"


def for_each_organisation(
    job: Callable[..., int | dict], *, count_key: str = "count", **kwargs
) -> dict[str, int]:
    """Runs `job(org=…, **kwargs)` for every organisation, oldest first, each inside its own tenant
    context, as nightly and periodic work does. One organisation's failure is logged and counted and the
    rest still run. A job returns a count (added up under `count_key`) or a dict of counts (added up key
    by key); the totals also say how many organisations ran and how many failed."""
    from django.apps import apps

    organization_model = apps.get_model("accounts", "Organization")  # lib sits below accounts
    totals: dict[str, int] = {"organizations": 0, "failed": 0}
    with unscoped():
        organizations = list(organization_model.objects.order_by("pk"))
    for org in organizations:
        try:
            with tenant_context(org.pk):
                result = job(org=org, **kwargs)
        except Exception:
            logger.exception("%s failed for organisation %s", getattr(job, "__name__", job), org.pk)
            totals["failed"] += 1
            continue
        totals["organizations"] += 1
        counts = result if isinstance(result, dict) else {count_key: result}
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
    return totals
