"""Analytics reads other apps' tables; it owns a per-organisation change counter and the monthly facts."""

from django.db import models

from kruzhok.lib.tenancy import TenantOwned


class DataVersion(TenantOwned):
    """Bumped by event handlers whenever attendance, enrollments or billing change in an organisation.

    Cached dashboard figures are keyed by it (together with the newest ids of the append-only tables),
    so a cached figure can never outlive the data it was computed from. `enrollments` and `money` move
    only on their own events, so a mark does not throw away figures computed from enrollments or money.
    The `facts_*` ids are how far MonthlyFact has seen rows that came in without an event (bulk loads):
    null until the facts were first built."""

    version = models.PositiveBigIntegerField(default=0)
    enrollments = models.PositiveBigIntegerField(default=0)
    money = models.PositiveBigIntegerField(default=0)
    facts_mark_id = models.BigIntegerField(null=True, blank=True)
    facts_lesson_id = models.BigIntegerField(null=True, blank=True)

    class Meta(TenantOwned.Meta):
        ordering = ["organization_id"]
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="analytics_data_version_one_per_org")
        ]


class MonthlyFact(TenantOwned):
    """Marks and lessons of one group in one month (the organisation's local month of the lesson).

    Kept exact by the attendance.marked and lesson.changed handlers (they recount the one row they
    touch) and by a catch-up over rows that arrived without events; `analytics_facts --check` compares
    every row with a count from scratch. Dashboards sum these rows instead of scanning the marks."""

    group = models.ForeignKey("school.Group", on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    present = models.PositiveIntegerField(default=0)
    late = models.PositiveIntegerField(default=0)
    absent = models.PositiveIntegerField(default=0)
    excused = models.PositiveIntegerField(default=0)
    lessons_scheduled = models.PositiveIntegerField(default=0)
    lessons_cancelled = models.PositiveIntegerField(default=0)

    class Meta(TenantOwned.Meta):
        ordering = ["organization_id", "month", "group_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["group", "month"], name="analytics_monthly_fact_one_per_group_month"
            )
        ]
        indexes = [models.Index(fields=["organization", "month"])]
