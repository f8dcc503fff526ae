"""Reports in a real browser: an owner generates the monthly branch report, waits for it and
downloads it as PDF and XLSX; the data-quality page at phone and desktop widths."""

import datetime as dt
import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader

from kruzhok.attendance.models import AttendanceMark
from kruzhok.lib.dates import org_timezone
from kruzhok.reports.params import previous_month
from kruzhok.testing import factories as f
from tests.browser.conftest import DESKTOP, PHONE, login

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def last_month(alpha):
    """Three lessons of A's group last month, with marks, so the report has figures to show."""
    month = previous_month(timezone.localdate())
    tz = org_timezone(alpha.org)
    alpha.enrollment.started_on = month - dt.timedelta(days=10)
    alpha.enrollment.save()
    for day, status in ((5, "present"), (12, "absent"), (19, "present")):
        starts = dt.datetime.combine(month.replace(day=day), dt.time(16), tzinfo=tz)
        lesson = f.LessonFactory(
            organization=alpha.org,
            group=alpha.group,
            starts_at=starts,
            ends_at=starts + dt.timedelta(hours=1),
        )
        AttendanceMark.objects.create(
            organization=alpha.org,
            lesson=lesson,
            student=alpha.student,
            enrollment=alpha.enrollment,
            status=status,
        )
    return month


def _menu_link(page, size: str, name: str):
    """A menu link, opening the phone menu and the drop-down it was filed under if there is one."""
    if size == "phone":
        page.locator(".nav-toggle-label").click()
    link = page.locator(".mainnav a", has_text=name)
    group = page.locator(".mainnav details.navgroup").filter(has=page.locator("a", has_text=name))
    if group.count():
        group.locator("summary").click()
    return link


def _generate(page, branch_name: str, month: dt.date, fmt: str):
    card = page.locator("form.rep-card").filter(
        has=page.get_by_role("heading", name="Отчёт филиала за месяц")
    )
    card.get_by_label("Филиал").select_option(label=branch_name)
    card.get_by_label("Месяц").fill(f"{month:%Y-%m}")
    card.get_by_label("Формат").select_option(fmt)
    card.get_by_role("button", name="Сформировать").click()
    page.wait_for_load_state()
    # The status block polls with htmx until the report is ready.
    page.locator('#run-status[data-status="done"]').wait_for(timeout=30_000)
    assert page.get_by_text("Отчёт готов.").is_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Скачать").click()
    return download.value


@pytest.mark.parametrize("viewport, size", [(DESKTOP, "desktop"), (PHONE, "phone")])
def test_an_owner_generates_and_downloads_the_monthly_branch_report(
    new_page, snap, alpha, last_month, viewport, size, tmp_path
):
    page = new_page(viewport=viewport)
    page.set_default_navigation_timeout(90_000)  # the shared machine can be very slow
    login(page, alpha.owner.username)
    _menu_link(page, size, "Отчёты").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "Отчёты"
    snap(page, f"reports-index-{size}")

    pdf = _generate(page, alpha.branch.name, last_month, "pdf")
    snap(page, f"reports-run-{size}")
    path = tmp_path / "report.pdf"
    pdf.save_as(path)
    text = " ".join(p.extract_text() for p in PdfReader(path).pages)
    assert alpha.branch.name in text and alpha.group.name in text

    page.get_by_role("link", name="← Все отчёты").click()
    page.wait_for_load_state()
    xlsx = _generate(page, alpha.branch.name, last_month, "xlsx")
    path = tmp_path / "report.xlsx"
    xlsx.save_as(path)
    book = load_workbook(io.BytesIO(path.read_bytes()))
    summary = {r[0]: r[1] for r in book["Сводка"].iter_rows(values_only=True) if r and r[0]}
    assert summary["Филиал"] == alpha.branch.name
    assert summary["Посещаемость"] == pytest.approx(2 / 3)
    assert [r[0] for r in book["Группы"].iter_rows(values_only=True)][1:] == [alpha.group.name]

    page.get_by_role("link", name="← Все отчёты").click()
    page.wait_for_load_state()
    assert page.locator(".rep-runs > li").count() == 2
    snap(page, f"reports-list-{size}")


@pytest.mark.parametrize("viewport, size", [(DESKTOP, "desktop"), (PHONE, "phone")])
def test_a_manager_opens_the_data_quality_page(new_page, snap, alpha, viewport, size):
    tz = org_timezone(alpha.org)
    starts = dt.datetime.combine(timezone.localdate() - dt.timedelta(days=2), dt.time(10), tzinfo=tz)
    lesson = f.LessonFactory(
        organization=alpha.org, group=alpha.group, starts_at=starts, ends_at=starts + dt.timedelta(hours=1)
    )
    f.StudentFactory(organization=alpha.org, branch=alpha.branch, last_name="Безродителев", first_name="Петя")
    page = new_page(viewport=viewport)
    page.set_default_navigation_timeout(90_000)  # the shared machine can be very slow
    login(page, alpha.manager.username)
    _menu_link(page, size, "Качество данных").click()
    page.wait_for_load_state()
    # No snapshot yet: every check shows a dash, not a zero; «Пересчитать» runs the checks in the background
    # (at once here, as in development) and the page comes back with the figures.
    assert page.locator('[data-check="unmarked_lessons"] .dq-count').inner_text() == "—"
    page.get_by_role("button", name="Пересчитать").click()
    page.wait_for_load_state()
    assert page.get_by_text("Пересчёт запущен").is_visible()
    check = page.locator('[data-check="unmarked_lessons"]')
    assert check.locator(".dq-count").inner_text() == "1"
    check.locator(f'a[href="/attendance/lessons/{lesson.pk}/"]').wait_for()
    assert page.locator('[data-check="children_without_guardian"] .dq-count').inner_text() == "1"
    assert page.locator("svg.dq-chart rect").count() == 1
    snap(page, f"dataquality-{size}")
