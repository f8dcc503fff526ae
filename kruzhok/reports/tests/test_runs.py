"""Reports through the pages: queue, watch, download; scope, isolation and bad input."""

import csv
import datetime as dt
import io
import threading

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from kruzhok.reports import documents, services
from kruzhok.reports.models import ReportRun, RunStatus
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db


def _post_report(client, capture, data):
    with capture(execute=True):
        response = client.post(reverse("reports:create"), data)
    return response


def _download(client, run) -> bytes:
    response = client.get(reverse("reports:download", args=[run.pk]))
    assert response.status_code == 200
    return b"".join(response) if response.streaming else response.content


def _csv_rows(content: bytes) -> list[list[str]]:
    assert content.startswith("\ufeff".encode())  # the BOM Excel needs to read UTF-8
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))


def test_an_owner_exports_students_and_downloads_the_csv(
    alpha, beta, client_as, django_capture_on_commit_callbacks
):
    client = client_as(alpha.owner)
    response = _post_report(
        client,
        django_capture_on_commit_callbacks,
        {"kind": "export", "export-table": "students", "export-format": "csv"},
    )
    run = ReportRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("reports:run", args=[run.pk])
    page = client.get(response["Location"])
    assert "Отчёт готов" in page.content.decode()
    response = client.get(reverse("reports:download", args=[run.pk]))
    assert response["Content-Disposition"].startswith("attachment;")
    rows = _csv_rows(response.content)
    assert rows[0][:3] == ["ID", "Фамилия", "Имя"]
    names = {r[1] for r in rows[1:]}
    assert alpha.student.last_name in names
    assert beta.student.last_name not in names


def test_cells_that_look_like_formulas_are_defused_in_csv_and_xlsx(
    alpha, client_as, django_capture_on_commit_callbacks
):
    f.StudentFactory(
        organization=alpha.org,
        branch=alpha.branch,
        last_name='=HYPERLINK("http://evil")',
        first_name="@SUM(A1)",
    )
    client = client_as(alpha.owner)
    for fmt in ("csv", "xlsx"):
        _post_report(
            client,
            django_capture_on_commit_callbacks,
            {"kind": "export", "export-table": "students", "export-format": fmt},
        )
    csv_run, xlsx_run = ReportRun.objects.order_by("pk")
    rows = _csv_rows(_download(client, csv_run))
    evil = next(r for r in rows if "HYPERLINK" in r[1])
    assert evil[1] == '\'=HYPERLINK("http://evil")' and evil[2] == "'@SUM(A1)"
    sheet = load_workbook(io.BytesIO(_download(client, xlsx_run))).active
    cells = [c for row in sheet.iter_rows() for c in row if c.value and "HYPERLINK" in str(c.value)]
    assert len(cells) == 1 and cells[0].data_type == "s" and cells[0].value.startswith("'=")


def test_a_managers_export_has_only_their_branches_children(
    alpha, client_as, django_capture_on_commit_callbacks
):
    elsewhere = f.StudentFactory(organization=alpha.org, branch=alpha.other_branch, last_name="Северов")
    client = client_as(alpha.manager)
    _post_report(
        client,
        django_capture_on_commit_callbacks,
        {"kind": "export", "export-table": "students", "export-format": "csv"},
    )
    names = {r[1] for r in _csv_rows(_download(client, ReportRun.objects.get()))[1:]}
    assert alpha.student.last_name in names and elsewhere.last_name not in names


def test_attendance_export_covers_the_chosen_days_only(alpha, client_as, django_capture_on_commit_callbacks):
    from kruzhok.attendance.models import AttendanceMark

    AttendanceMark.objects.create(
        organization=alpha.org,
        lesson=alpha.lesson,
        student=alpha.student,
        enrollment=alpha.enrollment,
        status="late",
    )
    client = client_as(alpha.owner)
    today = timezone.localdate()
    for start, end in ((today, today), (today - dt.timedelta(days=9), today - dt.timedelta(days=1))):
        _post_report(
            client,
            django_capture_on_commit_callbacks,
            {
                "kind": "export",
                "export-table": "attendance",
                "export-format": "csv",
                "export-date_from": start.isoformat(),
                "export-date_to": end.isoformat(),
            },
        )
    with_mark, without = ReportRun.objects.order_by("pk")
    rows = _csv_rows(_download(client, with_mark))
    assert [r[2:4] for r in rows[1:]] == [[alpha.student.full_name, "Опоздал"]]
    assert len(_csv_rows(_download(client, without))) == 1


@pytest.mark.parametrize(
    "data, message",
    [
        (
            {"kind": "branch_month", "branch_month-branch_id": "999999", "branch_month-month": "2026-01"},
            "Филиал не найден",
        ),
        (
            {"kind": "branch_month", "branch_month-month": "2999-01", "branch_month-format": "pdf"},
            "ещё не наступил",
        ),
        ({"kind": "journal", "journal-month": "январь"}, "ГГГГ-ММ"),
        ({"kind": "journal", "journal-month": "2026-01", "journal-group_id": "abc"}, "Группа не найдена"),
        (
            {
                "kind": "export",
                "export-table": "lessons",
                "export-format": "csv",
                "export-date_from": "2020-01-01",
                "export-date_to": "2026-01-01",
            },
            "Слишком большой период",
        ),
        (
            {
                "kind": "export",
                "export-table": "lessons",
                "export-format": "csv",
                "export-date_from": "2026-02-01",
                "export-date_to": "2026-01-01",
            },
            "Конец периода раньше начала",
        ),
        ({"kind": "export", "export-table": "passwords", "export-format": "csv"}, "Неизвестная таблица"),
        (
            {
                "kind": "teacher_payroll",
                "teacher_payroll-month": "2024-01",
                "teacher_payroll-month_to": "2026-01",
            },
            "не больше 12 месяцев",
        ),
        ({"kind": "nonsense"}, "Неизвестный отчёт"),
    ],
)
def test_bad_parameters_get_a_clear_message_and_queue_nothing(alpha, client_as, data, message):
    client = client_as(alpha.owner)
    if data.get("branch_month-month", "").startswith("2999"):
        data = {**data, "branch_month-branch_id": str(alpha.branch.pk)}
    response = client.post(reverse("reports:create"), data, follow=True)
    assert message in response.content.decode()
    assert not ReportRun.objects.exists()


def test_another_organisations_branch_reads_as_not_found(alpha, beta, client_as):
    client = client_as(alpha.owner)
    # A Django ChoiceField refuses it first; the service refuses it too (see test_params).
    response = client.post(
        reverse("reports:create"),
        {
            "kind": "branch_month",
            "branch_month-branch_id": str(beta.branch.pk),
            "branch_month-month": "2026-01",
        },
    )
    assert response.status_code == 400 and not ReportRun.objects.exists()
    assert "Филиал не найден" in response.content.decode()
    assert beta.branch.name not in response.content.decode()


def test_a_failed_report_says_so_in_russian(
    alpha, client_as, django_capture_on_commit_callbacks, monkeypatch
):
    def broken(membership, params, progress):
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(documents.BUILDERS, ("export", "csv"), broken)
    client = client_as(alpha.owner)
    response = _post_report(
        client,
        django_capture_on_commit_callbacks,
        {"kind": "export", "export-table": "students", "export-format": "csv"},
    )
    run = ReportRun.objects.get()
    assert run.status == RunStatus.FAILED
    page = client.get(response["Location"]).content.decode()
    assert "Не удалось подготовить отчёт" in page and "disk on fire" not in page
    assert client.get(reverse("reports:download", args=[run.pk])).status_code == 404


def test_a_file_over_the_limit_is_refused(alpha, client_as, django_capture_on_commit_callbacks, settings):
    settings.REPORTS_MAX_BYTES = 10
    client = client_as(alpha.owner)
    _post_report(
        client,
        django_capture_on_commit_callbacks,
        {"kind": "export", "export-table": "students", "export-format": "csv"},
    )
    run = ReportRun.objects.get()
    assert run.status == RunStatus.FAILED and "слишком большим" in run.error


def test_the_progress_partial_polls_until_the_run_is_finished(alpha, client_as):
    run = ReportRun.objects.create(
        organization=alpha.org,
        kind="export",
        params={},
        status="running",
        progress=40,
        created_by=alpha.owner,
    )
    client = client_as(alpha.owner)
    partial = client.get(reverse("reports:run", args=[run.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in partial and "40 %" in partial and "<html" not in partial
    ReportRun.objects.filter(pk=run.pk).update(status="done", progress=100, content=b"x", file_name="a.csv")
    partial = client.get(reverse("reports:run", args=[run.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in partial and reverse("reports:download", args=[run.pk]) in partial


def test_runs_are_private_to_their_organisation_and_author(alpha, beta, client_as):
    run = ReportRun.objects.create(
        organization=alpha.org,
        kind="export",
        params={},
        status="done",
        content=b"secret",
        created_by=alpha.owner,
    )
    for user in (beta.owner, beta.manager, alpha.manager):
        client = client_as(user)
        assert client.get(reverse("reports:run", args=[run.pk])).status_code == 404
        assert client.get(reverse("reports:download", args=[run.pk])).status_code == 404
    for user in (alpha.teacher, alpha.parent, alpha.student_user):
        assert client_as(user).get(reverse("reports:download", args=[run.pk])).status_code == 403
    assert client_as(alpha.owner).get(reverse("reports:download", args=[run.pk])).content == b"secret"


@pytest.mark.django_db(transaction=True)
def test_in_development_a_thread_makes_the_report_while_its_page_shows_the_bar(
    alpha, client_as, settings, monkeypatch
):
    """REPORTS_IN_THREAD: the request returns at once; the page polls the bar, then offers the file.
    The builder is held at its first step so the page is seen mid-way on every run."""
    settings.REPORTS_IN_THREAD = True
    reached, go_on = threading.Event(), threading.Event()
    real_progress = services._progress

    def held_progress(run_id):
        set_progress = real_progress(run_id)

        def step(percent):
            set_progress(percent)
            if not reached.is_set():
                reached.set()
                go_on.wait(30)

        return step

    monkeypatch.setattr(services, "_progress", held_progress)
    client = client_as(alpha.owner)
    response = client.post(
        reverse("reports:create"), {"kind": "export", "export-table": "students", "export-format": "csv"}
    )
    run = ReportRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("reports:run", args=[run.pk])
    assert reached.wait(30), "the thread started the report"
    worker = next(t for t in threading.enumerate() if t.name == f"report-run-{run.pk}")
    try:
        page = client.get(response["Location"]).content.decode()
        assert "Отчёт готовится…" in page and '<progress max="100" value="30"' in page
        assert 'hx-trigger="every 1s"' in page  # htmx polls the status
    finally:
        go_on.set()
        worker.join(30)
    assert not worker.is_alive()
    polled = client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert "Отчёт готов." in polled and "hx-trigger" not in polled  # polling stops
    assert alpha.student.last_name in {r[1] for r in _csv_rows(_download(client, run))}
