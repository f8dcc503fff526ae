"""Writes for reports: queue a report, generate it (in a Celery task, or a thread in development),
schedule monthly reports and mail them.

A run is claimed with a conditional UPDATE (queued → running), so a task delivered twice generates
once. Generation re-checks the parameters against the author's membership as it is at that moment:
a manager who lost a branch no longer gets its figures, even from an old schedule.
"""

import logging
import threading

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import connections, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kruzhok.accounts.models import Membership, Organization
from kruzhok.accounts.permissions import role_can
from kruzhok.lib.dates import org_today
from kruzhok.lib.tenancy import tenant_context, unscoped
from kruzhok.reports import documents
from kruzhok.reports.models import ReportKind, ReportRun, ReportSchedule, RunStatus
from kruzhok.reports.params import (
    EXPORT_TABLES,
    month_key,
    params_for_period,
    parse_month,
    previous_month,
    report_params_clean,
)
from kruzhok.reports.selectors import recipient_choices

logger = logging.getLogger(__name__)

FAILED_TEXT = gettext_lazy(
    "Не удалось подготовить отчёт. Попробуйте ещё раз; если не выйдет, напишите в поддержку."
)


def _max_bytes() -> int:
    return getattr(settings, "REPORTS_MAX_BYTES", 50 * 1024 * 1024)


def run_title(*, kind: str, params: dict) -> str:
    """A short human title before the file exists (the builder sets the final one)."""
    label = ReportKind(kind).label
    if kind == ReportKind.EXPORT:
        return f"{label}: {EXPORT_TABLES[params['table']][0]}"
    if params.get("month"):
        return f"{label}, {documents.month_words(parse_month(params['month']))}"
    return str(label)


def report_run_create(*, membership: Membership, kind: str, data: dict, schedule=None) -> ReportRun:
    """Checks the parameters and queues the report; the task starts once the transaction commits."""
    if not role_can(membership.role, "reports.export"):
        raise ValidationError(_("Нет прав на отчёты."), code="forbidden")
    params = report_params_clean(membership=membership, kind=kind, data=data)
    with transaction.atomic():
        run = ReportRun(
            organization_id=membership.organization_id,
            kind=kind,
            params=params,
            title=run_title(kind=kind, params=params)[:300],
            created_by=membership.user,
            schedule=schedule,
        )
        run.full_clean(exclude=["organization", "created_by", "schedule", "content"])
        run.save()
        if schedule is None:
            transaction.on_commit(lambda: report_run_start(run.pk))
    return run


def report_run_start(run_id: int) -> None:
    """Hands a committed run to Celery, or (REPORTS_IN_THREAD: development, the demo) to a thread of
    this process, so the request returns at once and the run's page shows the bar filling."""
    if getattr(settings, "REPORTS_IN_THREAD", False):
        threading.Thread(
            target=_run_in_thread, args=(run_id,), name=f"report-run-{run_id}", daemon=True
        ).start()
        return
    from kruzhok.reports.tasks import report_run_task

    report_run_task.delay(run_id)


def _run_in_thread(run_id: int) -> None:
    try:
        report_run_execute(run_id=run_id)
    except Exception:
        # Nobody waits on the thread: say it in the log and on the run's page.
        logger.exception("report run %s failed in its thread", run_id)
        _fail(run_id, str(FAILED_TEXT))
    finally:
        # The thread opened its own connection; a runserver thread never closes it otherwise.
        connections.close_all()


def _progress(run_id: int):
    def set_progress(percent: int) -> None:
        ReportRun.all_objects.filter(pk=run_id, status=RunStatus.RUNNING).update(
            progress=max(0, min(99, int(percent)))
        )

    return set_progress


def _fail(run_id: int, error: str) -> None:
    ReportRun.all_objects.filter(pk=run_id).update(
        status=RunStatus.FAILED, error=error[:500], finished_at=timezone.now()
    )


def _validation_text(exc: ValidationError) -> str:
    return " ".join(str(m) for m in exc.messages) or str(FAILED_TEXT)


def report_run_execute(*, run_id: int) -> ReportRun | None:
    """Generates a queued run. Safe to call twice: only the call that claims the row works."""
    with unscoped():
        org_id = ReportRun.all_objects.filter(pk=run_id).values_list("organization_id", flat=True).first()
    if org_id is None:
        return None
    with tenant_context(org_id):
        claimed = ReportRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
            status=RunStatus.RUNNING, progress=5, started_at=timezone.now()
        )
        run = ReportRun.objects.select_related("organization").get(pk=run_id)
        if not claimed:
            return run
        membership = (
            Membership.objects.filter(organization_id=org_id, user_id=run.created_by_id, is_active=True)
            .select_related("organization", "user")
            .first()
        )
        if membership is None or not role_can(membership.role, "reports.export"):
            _fail(run_id, _("Автор отчёта больше не может делать отчёты в этой организации."))
            run.refresh_from_db()
            return run
        try:
            params = report_params_clean(membership=membership, kind=run.kind, data=run.params)
            document = documents.build(
                membership=membership, kind=run.kind, params=params, progress=_progress(run_id)
            )
        except ValidationError as exc:
            _fail(run_id, _validation_text(exc))
        except Exception:
            logger.exception("report run %s failed", run_id)
            _fail(run_id, str(FAILED_TEXT))
        else:
            if len(document.content) > _max_bytes():
                _fail(run_id, _("Файл получился слишком большим: сузьте период или выберите один филиал."))
            else:
                ReportRun.objects.filter(pk=run_id).update(
                    status=RunStatus.DONE,
                    progress=100,
                    title=document.title[:300],
                    file_name=document.file_name[:200],
                    content_type=document.content_type[:100],
                    content=document.content,
                    size=len(document.content),
                    finished_at=timezone.now(),
                )
        run.refresh_from_db()
        return run


# ---------------------------------------------------------------- schedules


def schedule_create(
    *, membership: Membership, kind: str, data: dict, day_of_month: int, recipients
) -> ReportSchedule:
    if not role_can(membership.role, "reports.export"):
        raise ValidationError(_("Нет прав на отчёты."), code="forbidden")
    params = report_params_clean(membership=membership, kind=kind, data=data, scheduled=True)
    try:
        day = int(day_of_month)
    except (TypeError, ValueError):
        day = 0
    if not 1 <= day <= 28:
        raise ValidationError(
            {"day_of_month": ValidationError(_("День месяца — от 1 до 28."), code="invalid_day")}
        )
    allowed = recipient_choices(membership=membership)
    ids = {int(getattr(r, "pk", r)) for r in recipients}
    chosen = list(allowed.filter(pk__in=ids))
    if not chosen or len(chosen) != len(ids):
        raise ValidationError(
            {
                "recipients": ValidationError(
                    _("Выберите получателей из сотрудников центра."), code="recipients"
                )
            }
        )
    with transaction.atomic():
        schedule = ReportSchedule(
            organization_id=membership.organization_id,
            kind=kind,
            params=params,
            day_of_month=day,
            created_by=membership.user,
        )
        schedule.full_clean(exclude=["organization", "created_by"])
        schedule.save()
        schedule.recipients.set(chosen)
    return schedule


def schedule_delete(*, schedule: ReportSchedule) -> None:
    schedule.delete()


def _recipient_emails(schedule: ReportSchedule) -> list[str]:
    members = schedule.recipients.filter(is_active=True).select_related("user")
    return sorted({m.user.email for m in members if m.user.email})


def _mail(schedule: ReportSchedule, run: ReportRun) -> int:
    to = _recipient_emails(schedule)
    if not to:
        logger.warning("report schedule %s has no recipient with an email", schedule.pk)
        return 0
    org = run.organization
    if run.status == RunStatus.DONE:
        subject = f"{run.title} — {org.name}"
        body = _(
            "Отчёт «%(title)s» во вложении.\n\nПисьмо отправлено по расписанию отчётов центра «%(org)s»."
        ) % {
            "title": run.title,
            "org": org.name,
        }
    else:
        subject = _("Отчёт не получился: %(title)s") % {"title": run.title}
        body = _("Отчёт «%(title)s» не удалось подготовить: %(error)s") % {
            "title": run.title,
            "error": run.error,
        }
    message = EmailMessage(subject=subject[:200], body=body, to=to)
    if run.status == RunStatus.DONE:
        from kruzhok.reports.selectors import run_content

        message.attach(run.file_name, run_content(run=run), run.content_type.split(";")[0])
    return message.send(fail_silently=False)


def schedules_run_due(*, org: Organization, today=None) -> int:
    """Generates and mails every schedule of `org` due by `today` that has not covered last month
    yet. The conditional UPDATE of last_period makes a doubled beat run mail once."""
    today = today or org_today(org)
    period = month_key(previous_month(today))
    sent = 0
    due = ReportSchedule.objects.filter(
        organization_id=org.pk, is_active=True, day_of_month__lte=today.day
    ).exclude(last_period=period)
    for schedule in due:
        claimed = (
            ReportSchedule.objects.filter(pk=schedule.pk)
            .filter(~Q(last_period=period))
            .update(last_period=period)
        )
        if not claimed:
            continue
        author = Membership.objects.filter(
            organization_id=org.pk, user_id=schedule.created_by_id, is_active=True
        ).first()
        params = params_for_period(kind=schedule.kind, params=schedule.params, today=today)
        run = ReportRun.objects.create(
            organization_id=org.pk,
            kind=schedule.kind,
            params=params,
            title=run_title(kind=schedule.kind, params=params)[:300],
            created_by_id=author.user_id if author else schedule.created_by_id,
            schedule=schedule,
        )
        run = report_run_execute(run_id=run.pk)
        try:
            sent += _mail(schedule, run)
        except OSError:
            # The SMTP server is down: let the next beat run try again for this month.
            logger.exception("mailing report schedule %s failed", schedule.pk)
            ReportSchedule.objects.filter(pk=schedule.pk).update(last_period="")
    return sent


def schedules_run_all() -> dict[str, int]:
    totals = {"organizations": 0, "sent": 0}
    with unscoped():
        org_ids = list(
            ReportSchedule.all_objects.filter(is_active=True)
            .values_list("organization_id", flat=True)
            .distinct()
        )
        orgs = list(Organization.objects.filter(pk__in=org_ids).order_by("pk"))
    for org in orgs:
        with tenant_context(org.pk):
            totals["sent"] += schedules_run_due(org=org)
        totals["organizations"] += 1
    return totals
