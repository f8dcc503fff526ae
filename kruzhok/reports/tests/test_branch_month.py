"""The monthly branch report: its figures against an independent count, and the PDF's text."""

import io

import pytest
from django.db.models import Q
from openpyxl import load_workbook
from pypdf import PdfReader

from kruzhok.accounts.models import Membership
from kruzhok.reports.models import RunStatus
from kruzhok.reports.params import month_end
from kruzhok.reports.services import report_run_create
from kruzhok.school.models import Enrollment

pytestmark = pytest.mark.django_db


def _make(alpha, user, fmt, month_world, capture):
    membership = Membership.objects.get(organization=alpha.org, user=user)
    with capture(execute=True):
        run = report_run_create(
            membership=membership,
            kind="branch_month",
            data={"branch_id": alpha.branch.pk, "month": f"{month_world.month:%Y-%m}", "format": fmt},
        )
    run.refresh_from_db()
    assert run.status == RunStatus.DONE, run.error
    return run


def test_the_xlsx_has_the_branchs_figures_and_a_row_per_group(
    alpha, month_world, django_capture_on_commit_callbacks
):
    run = _make(alpha, alpha.owner, "xlsx", month_world, django_capture_on_commit_callbacks)
    book = load_workbook(io.BytesIO(bytes(run.content)))
    summary = {row[0]: row[1] for row in book["Сводка"].iter_rows(values_only=True) if row and row[0]}
    assert summary["Филиал"] == alpha.branch.name

    # Independently of analytics: children with an open enrollment in the branch on the month's last day.
    last = month_end(month_world.month)
    open_at_end = Enrollment.objects.filter(group__branch=alpha.branch, started_on__lte=last).filter(
        Q(ended_on__isnull=True) | Q(ended_on__gte=last)
    )
    assert summary["Активных учеников"] == open_at_end.values("student").distinct().count()
    attended = sum(1 for s in month_world.marks.values() if s in ("present", "late"))
    assert summary["Посещаемость"] == pytest.approx(attended / len(month_world.marks))
    assert summary["Занятий проведено"] == len(month_world.lessons)
    assert summary["Занятий отменено"] == 1
    assert summary["Выручка, ₽"] == 0

    groups = list(book["Группы"].iter_rows(values_only=True))
    assert groups[0][0] == "Группа"
    row = next(r for r in groups if r[0] == alpha.group.name)
    assert row[1] == alpha.course.title
    assert row[5] == pytest.approx(attended / len(month_world.marks))


def test_the_pdf_names_the_branch_in_cyrillic(alpha, month_world, django_capture_on_commit_callbacks):
    run = _make(alpha, alpha.manager, "pdf", month_world, django_capture_on_commit_callbacks)
    assert bytes(run.content).startswith(b"%PDF")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(bytes(run.content))).pages)
    assert alpha.branch.name in text
    assert alpha.group.name in text
