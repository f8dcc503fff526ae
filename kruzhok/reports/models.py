"""Reports generated in the background, and schedules that mail them every month.

A finished report's file is kept in the row itself (BinaryField), not under MEDIA_ROOT: the Celery
worker and the web server may run on different machines with no shared disk, the file is deleted with
its row, it is backed up with the database, and it can only be reached through the row's organisation.
Reports are small (a month of one branch, or one table with a bounded date range) and capped by
REPORTS_MAX_BYTES, so the database carries them without trouble.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kruzhok.lib.tenancy import TenantOwned


class ReportKind(models.TextChoices):
    BRANCH_MONTH = "branch_month", _("Отчёт филиала за месяц")
    TEACHER_PAYROLL = "teacher_payroll", _("Посещаемость по преподавателям (для зарплаты)")
    JOURNAL = "journal", _("Журнал посещаемости групп")
    EXPORT = "export", _("Выгрузка таблицы")


class ReportFormat(models.TextChoices):
    XLSX = "xlsx", "XLSX"
    PDF = "pdf", "PDF"
    CSV = "csv", "CSV"


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("В очереди")
    RUNNING = "running", _("Готовится")
    DONE = "done", _("Готов")
    FAILED = "failed", _("Ошибка")


class ReportSchedule(TenantOwned):
    """A report made on a day of every month, for the month before, and mailed to staff."""

    kind = models.CharField(_("отчёт"), max_length=32, choices=ReportKind.choices)
    params = models.JSONField(default=dict, blank=True)
    day_of_month = models.PositiveSmallIntegerField(_("день месяца"), default=1)
    recipients = models.ManyToManyField("accounts.Membership", related_name="+", verbose_name=_("кому"))
    is_active = models.BooleanField(_("действует"), default=True)
    # The month ("2026-10") last generated, so a retried or doubled beat run never mails twice.
    last_period = models.CharField(max_length=7, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta(TenantOwned.Meta):
        ordering = ["day_of_month", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(day_of_month__gte=1, day_of_month__lte=28), name="reports_schedule_day_valid"
            )
        ]


class ReportRun(TenantOwned):
    kind = models.CharField(_("отчёт"), max_length=32, choices=ReportKind.choices)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    title = models.CharField(max_length=300, blank=True)
    file_name = models.CharField(max_length=200, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    content = models.BinaryField(null=True, blank=True)
    size = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    schedule = models.ForeignKey(
        ReportSchedule, on_delete=models.SET_NULL, null=True, blank=True, related_name="runs"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantOwned.Meta):
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "created_by", "created_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="reports_run_progress_valid")
        ]

    def __str__(self) -> str:
        return self.title or self.get_kind_display()

    @property
    def is_finished(self) -> bool:
        return self.status in (RunStatus.DONE, RunStatus.FAILED)
