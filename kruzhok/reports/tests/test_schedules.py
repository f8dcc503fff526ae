"""Monthly reports by email, through a real SMTP server on loopback."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from openpyxl import load_workbook

from kruzhok.accounts.models import Membership
from kruzhok.reports.models import ReportRun, ReportSchedule
from kruzhok.reports.services import schedule_create, schedules_run_due

pytestmark = pytest.mark.django_db


def _membership(world, user):
    return Membership.objects.get(organization=world.org, user=user)


def test_a_due_schedule_mails_the_report_once_a_month(alpha, month_world, mail_catcher):
    alpha.owner.email, alpha.manager.email = "owner@alpha.test", "manager@alpha.test"
    alpha.owner.save()
    alpha.manager.save()
    schedule_create(
        membership=_membership(alpha, alpha.owner),
        kind="branch_month",
        data={"branch_id": alpha.branch.pk, "format": "xlsx"},
        day_of_month=1,
        recipients=[_membership(alpha, alpha.owner), _membership(alpha, alpha.manager)],
    )
    today = timezone.localdate()
    assert schedules_run_due(org=alpha.org, today=today) == 1
    assert schedules_run_due(org=alpha.org, today=today) == 0  # a doubled beat run mails nothing
    assert len(mail_catcher.received) == 1
    mail = mail_catcher.received[0]
    assert mail["to"] == ["manager@alpha.test", "owner@alpha.test"]
    assert alpha.branch.name in mail["subject"]
    [(name, content_type, content)] = mail["attachments"]
    assert name.endswith(f"{month_world.month:%Y-%m}.xlsx")
    summary = load_workbook(io.BytesIO(content))["Сводка"]
    assert [alpha.branch.name] == [r[1] for r in summary.iter_rows(values_only=True) if r[0] == "Филиал"]
    run = ReportRun.objects.get()
    assert run.schedule is not None and run.params["month"] == f"{month_world.month:%Y-%m}"


def test_a_schedule_is_not_due_before_its_day(alpha, mail_catcher):
    alpha.owner.email = "owner@alpha.test"
    alpha.owner.save()
    schedule_create(
        membership=_membership(alpha, alpha.owner),
        kind="export",
        data={"table": "payments", "format": "csv"},
        day_of_month=28,
        recipients=[_membership(alpha, alpha.owner)],
    )
    today = timezone.localdate().replace(day=27)
    assert schedules_run_due(org=alpha.org, today=today) == 0
    assert mail_catcher.received == [] and not ReportRun.objects.exists()


def test_recipients_must_be_staff_of_the_same_organisation(alpha, beta):
    owner = _membership(alpha, alpha.owner)
    for recipients in ([_membership(beta, beta.owner)], [_membership(alpha, alpha.parent)], []):
        with pytest.raises(ValidationError) as exc:
            schedule_create(
                membership=owner,
                kind="export",
                data={"table": "students"},
                day_of_month=1,
                recipients=recipients,
            )
        assert "Выберите получателей" in str(exc.value)
    with pytest.raises(ValidationError, match="от 1 до 28"):
        schedule_create(
            membership=owner, kind="export", data={"table": "students"}, day_of_month=31, recipients=[owner]
        )
    assert not ReportSchedule.objects.exists()


def test_the_schedule_form_saves_and_deletes(alpha, client_as):
    client = client_as(alpha.owner)
    owner = _membership(alpha, alpha.owner)
    response = client.post(
        "/reports/schedules/new/",
        {
            "schedule-kind": "teacher_payroll",
            "schedule-day_of_month": "3",
            "schedule-recipients": [owner.pk],
        },
        follow=True,
    )
    assert "Расписание сохранено" in response.content.decode()
    schedule = ReportSchedule.objects.get()
    assert schedule.day_of_month == 3 and list(schedule.recipients.all()) == [owner]
    bad = client.post(
        "/reports/schedules/new/", {"schedule-kind": "branch_month", "schedule-day_of_month": "99"}
    )
    assert bad.status_code == 400 and ReportSchedule.objects.count() == 1
    client.post(f"/reports/schedules/{schedule.pk}/delete/")
    assert not ReportSchedule.objects.exists()
