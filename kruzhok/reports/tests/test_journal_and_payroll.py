"""The attendance journal per group and the payroll summary per teacher, read back with openpyxl."""

import io

import pytest
from openpyxl import load_workbook

from kruzhok.accounts.models import Membership
from kruzhok.reports.models import RunStatus
from kruzhok.reports.services import report_run_create

pytestmark = pytest.mark.django_db


def _run(alpha, user, kind, data, django_capture_on_commit_callbacks):
    membership = Membership.objects.get(organization=alpha.org, user=user)
    with django_capture_on_commit_callbacks(execute=True):
        run = report_run_create(membership=membership, kind=kind, data=data)
    run.refresh_from_db()
    assert run.status == RunStatus.DONE, run.error
    return run, load_workbook(io.BytesIO(bytes(run.content)))


def _rows(sheet):
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def test_the_journal_has_a_sheet_per_group_with_letters_and_totals(
    alpha, month_world, django_capture_on_commit_callbacks
):
    month = f"{month_world.month:%Y-%m}"
    _, book = _run(
        alpha, alpha.owner, "journal", {"month": month, "format": "xlsx"}, django_capture_on_commit_callbacks
    )
    assert alpha.group.name in book.sheetnames
    rows = _rows(book[alpha.group.name])
    flat = [c for r in rows for c in r if c]
    assert alpha.group.name in flat and alpha.course.title in flat
    header = next(r for r in rows if r[0] == "№")
    # One column per lesson held; the cancelled lesson is left out, as on paper.
    assert header[2:-2] == [f"{day:02d}.{month_world.month:%m}" for day in (3, 10, 17)]
    by_name = {r[1]: r for r in rows if r[1] and r[0] not in ("№", None, "")}
    anya = by_name[month_world.anya.full_name]
    assert anya[2:5] == ["+", "н", "б"] and anya[5:7] == [1, 2]
    boris = by_name[month_world.boris.full_name]
    assert boris[2:5] == ["+", "+", None] and boris[5:7] == [2, 0]
    totals = rows[-1]
    assert totals[1] == "Присутствовало"
    # Present per lesson, counted from the marks the fixture wrote.
    for index in range(3):
        expected = sum(
            1 for (i, _s), status in month_world.marks.items() if i == index and status in ("present", "late")
        )
        assert totals[2 + index] == expected


def test_payroll_counts_held_and_cancelled_lessons_hours_and_present_children(
    alpha, month_world, django_capture_on_commit_callbacks
):
    month = f"{month_world.month:%Y-%m}"
    _, book = _run(
        alpha,
        alpha.owner,
        "teacher_payroll",
        {"month": month, "month_to": month},
        django_capture_on_commit_callbacks,
    )
    rows = _rows(book.active)
    teacher = alpha.teacher.get_full_name() or alpha.teacher.username
    row = next(r for r in rows if r[0] == teacher and r[1] == month)
    held = len(month_world.lessons)
    present = sum(1 for status in month_world.marks.values() if status in ("present", "late"))
    assert row[2:6] == [held, 1, held * 1.5, present]
    totals = rows[-1]
    assert totals[0] == "Итого" and totals[2] == held and totals[5] == present


def test_a_managers_payroll_names_their_own_branch_not_all_branches(
    alpha, month_world, django_capture_on_commit_callbacks
):
    month = f"{month_world.month:%Y-%m}"
    _, book = _run(
        alpha,
        alpha.manager,
        "teacher_payroll",
        {"month": month, "month_to": month},
        django_capture_on_commit_callbacks,
    )
    header = _rows(book.active)[1]
    assert header[1] == alpha.branch.name
    assert alpha.other_branch.name not in header and "все филиалы" not in header
    # The owner's report covers the whole network and says so.
    _, book = _run(
        alpha,
        alpha.owner,
        "teacher_payroll",
        {"month": month, "month_to": month},
        django_capture_on_commit_callbacks,
    )
    assert _rows(book.active)[1][1] == "все филиалы"
