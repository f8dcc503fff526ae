import pytest
from django.urls import reverse

from kruzhok.attendance.models import AttendanceMark
from kruzhok.testing import factories as f
from tests.browser.conftest import DESKTOP, PHONE, login

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def petya(alpha):
    child = f.StudentFactory(
        organization=alpha.org, first_name="Петя", last_name="Иванов", branch=alpha.branch
    )
    f.EnrollmentFactory(organization=alpha.org, student=child, group=alpha.group, status="trial")
    return child


def row(page, student):
    return page.locator(f"#student-{student.pk}")


def test_a_teacher_marks_two_children_on_a_phone_without_a_reload(new_page, snap, alpha, petya):
    page = new_page(viewport=PHONE)
    login(page, alpha.teacher.username)
    # A teacher starts the day on the Today page.
    assert page.url.endswith(reverse("attendance:today"))
    assert page.get_by_role("heading", level=1).inner_text().startswith("Сегодня")
    snap(page, "journal-today-phone")

    page.get_by_role("link", name="Роботы-1 (alpha)").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Посещаемость").is_visible()
    snap(page, "journal-lesson-phone")

    page.evaluate("window.__marker = 'still here'")
    row(page, alpha.student).get_by_role("button", name="Был", exact=True).click()
    page.wait_for_selector(f"#student-{alpha.student.pk} button.present[aria-pressed='true']")
    row(page, petya).locator("input[name=comment]").fill("болеет")
    row(page, petya).get_by_role("button", name="Не был", exact=True).click()
    page.wait_for_selector(f"#student-{petya.pk} button.absent[aria-pressed='true']")
    assert page.locator("#marked-count").inner_text() == "отмечено 2 из 2"
    assert page.evaluate("window.__marker") == "still here"  # no full page load happened
    snap(page, "journal-lesson-marked-phone")

    # Every button fits the 360-px screen.
    width = page.evaluate("document.documentElement.clientWidth")
    for box in (b.bounding_box() for b in page.locator(".marks button").all()):
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    clipped = page.evaluate(
        "[...document.querySelectorAll('.marks button')].filter(b => b.scrollWidth > b.clientWidth).length"
    )
    assert clipped == 0

    page.reload()
    assert page.evaluate("window.__marker") is None
    assert row(page, alpha.student).locator("button.present").get_attribute("aria-pressed") == "true"
    assert row(page, petya).locator("button.absent").get_attribute("aria-pressed") == "true"
    assert row(page, petya).locator("input[name=comment]").input_value() == "болеет"
    assert dict(AttendanceMark.objects.values_list("student__first_name", "status")) == {
        "Маша": "present",
        "Петя": "absent",
    }


def test_the_journal_works_without_javascript(browser, live_server, alpha, petya):
    context = browser.new_context(viewport=PHONE, java_script_enabled=False, base_url=live_server.url)
    try:
        page = context.new_page()
        login(page, alpha.teacher.username)
        page.goto(reverse("attendance:lesson", args=[alpha.lesson.pk]))
        row(page, petya).get_by_role("button", name="Опоздал", exact=True).click()
        page.wait_for_load_state()
        assert row(page, petya).locator("button.late").get_attribute("aria-pressed") == "true"
        assert AttendanceMark.objects.get().status == "late"
    finally:
        context.close()


def test_desktop_pages_and_lesson_forms(new_page, snap, alpha, petya):
    page = new_page(viewport=DESKTOP)
    login(page, alpha.owner.username)
    page.goto(reverse("attendance:today"))
    snap(page, "journal-today-desktop")
    page.get_by_role("link", name="Роботы-1 (alpha)").click()
    page.wait_for_load_state()
    row(page, alpha.student).get_by_role("button", name="Уважит.", exact=True).click()
    page.wait_for_selector(f"#student-{alpha.student.pk} button.excused[aria-pressed='true']")
    page.get_by_text("Изменить тему и задание").click()
    page.get_by_label("Домашнее задание").fill("Собрать модель по схеме")
    page.get_by_role("button", name="Сохранить").click()
    page.wait_for_load_state()
    assert "Собрать модель по схеме" in page.locator(".lesson-content").inner_text()
    page.get_by_text("Перенести занятие").click()
    page.get_by_role("button", name="Перенести", exact=True).click()  # no reason given
    page.wait_for_load_state()
    assert page.get_by_text("Укажите причину переноса.").is_visible()
    snap(page, "journal-lesson-desktop")

    page.goto(reverse("attendance:student_history", args=[alpha.student.pk]))
    assert page.get_by_role("heading", level=1).inner_text() == "Петрова-alpha Маша"
    snap(page, "journal-history-desktop")
