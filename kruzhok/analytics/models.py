"""Analytics reads other apps' tables; it owns a per-organisation change counter and the monthly facts."""

from django.db import models

from kruzhok.lib.tenancy import TenantOwned


class DataVersion(TenantOwned):
    """Bumped by event handlers whenever attendance, enrollments or billing change in an organisation.

    Cached dashboard figures are keyed by it (together with the newest ids of the append-only tables),
    so a cached figure can never outlive the data it was computed from. `enrollments`, `money` and
    `lessons` move only on their own events, so a mark does not throw away figures computed from enrollments or money.
    The `facts_*` ids are how far MonthlyFact has seen marks, lessons and enrollments that came in
    without an event (bulk loads):
    null until the facts were first built."""

    version = models.PositiveBigIntegerField(default=0)
    enrollments = models.PositiveBigIntegerField(default=0)
    money = models.PositiveBigIntegerField(default=0)
    lessons = models.PositiveBigIntegerField(default=0)
    facts_mark_id = models.BigIntegerField(null=True, blank=True)
    facts_lesson_id = models.BigIntegerField(null=True, blank=True)
    facts_enrollment_id = models.BigIntegerField(null=True, blank=True)

    class Meta(TenantOwned.Meta):
        ordering = ["organization_id"]
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="analytics_data_version_one_per_org")
        ]


class MonthlyFact(TenantOwned):
    """Marks, lessons and enrollment flows of one group in one month (the organisation's local month of the lesson).

    Kept exact by the attendance.marked, lesson.changed and enrollment.changed handlers (they recount
    the rows they touch) and by a catch-up over rows that arrived without events;
    `analytics_facts --check` compares every row with a count from scratch. Dashboards sum these rows instead of scanning the marks."""

    group = models.ForeignKey("school.Group", on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    present = models.PositiveIntegerField(default=0)
    late = models.PositiveIntegerField(default=0)
    absent = models.PositiveIntegerField(default=0)
    excused = models.PositiveIntegerField(default=0)
    lessons_scheduled = models.PositiveIntegerField(default=0)
    lessons_cancelled = models.PositiveIntegerField(default=0)
    # Enrollment flows of the group in the month (by started_on / ended_on), kept by enrollment.changed.
    enrollments_started = models.PositiveIntegerField(default=0)
    enrollments_new = models.PositiveIntegerField(default=0)  # started, not a transfer
    enrollments_ended = models.PositiveIntegerField(default=0)
    enrollments_dropped = models.PositiveIntegerField(default=0)  # ended with the status «ушёл»

    class Meta(TenantOwned.Meta):
        ordering = ["organization_id", "month", "group_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["group", "month"], name="analytics_monthly_fact_one_per_group_month"
            )
        ]
        indexes = [models.Index(fields=["organization", "month"])]
