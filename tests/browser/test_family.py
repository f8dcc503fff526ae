import datetime as dt

import pytest
from django.utils import timezone

from kruzhok.attendance.models import AttendanceMark
from kruzhok.school.models import LessonStatus
from kruzhok.testing import factories as f
from tests.browser.conftest import DESKTOP, PHONE, login

pytestmark = pytest.mark.django_db(transaction=True)


def _at(days: int, hour: int) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, 0)))


@pytest.fixture
def family_week(alpha):
    """A realistic week around Маша: past lessons with marks and homework, a cancelled and a moved one."""

    def lesson(days, hour=16, **fields):
        return f.LessonFactory(
            organization=alpha.org,
            group=alpha.group,
            starts_at=_at(days, hour),
            ends_at=_at(days, hour) + dt.timedelta(hours=1),
            room=alpha.room,
            teacher=alpha.teacher,
            **fields,
        )

    for days, status, topic in [
        (-7, "present", "Датчик света"),
        (-14, "late", "Моторы"),
        (-21, "absent", ""),
    ]:
        past = lesson(days, topic=topic, homework="Собрать модель по схеме на с. 12" if days == -7 else "")
        AttendanceMark.objects.create(
            organization=alpha.org,
            lesson=past,
            student=alpha.student,
            enrollment=alpha.enrollment,
            status=status,
            marked_by=alpha.teacher,
        )
    lesson(2, status=LessonStatus.CANCELLED, cancel_reason="Преподаватель заболел")
    lesson(4, hour=18, moved_from=_at(3, 16), move_reason="Праздник")
    lesson(7, topic="Соревнование роботов")
    return alpha


def test_a_parent_on_a_phone_sees_the_childs_lesson_in_the_schedule(new_page, snap, family_week):
    alpha = family_week
    page = new_page(viewport=PHONE)
    login(page, alpha.parent.username)
    assert page.get_by_role("heading", name="Мои дети").is_visible()
    snap(page, "family-parent-home-phone")

    page.goto("/family/schedule/")
    assert page.get_by_text("Первый робот").is_visible()
    assert page.get_by_text("Отменено").first.is_visible()
    assert page.get_by_text("Перенесено").first.is_visible()
    snap(page, "family-schedule-phone")

    page.get_by_role("link", name="Неделя вперёд →").click()
    page.wait_for_url("**/family/schedule/?start=*")
    assert page.get_by_text("Соревнование роботов").is_visible()

    page.goto("/family/attendance/")
    assert page.get_by_text("Был: 1", exact=True).is_visible()
    snap(page, "family-attendance-phone")


def test_a_parent_resets_the_calendar_link(new_page, family_week):
    alpha = family_week
    page = new_page(viewport=PHONE)
    login(page, alpha.parent.username)
    page.goto("/family/schedule/")
    page.get_by_role("button", name="Получить ссылку").click()
    page.wait_for_load_state()
    first = page.locator("#calendar-url").input_value()
    assert "/family/calendar/" in first
    page.get_by_role("button", name="Сбросить ссылку").click()
    page.wait_for_load_state()
    assert page.get_by_text("Старая больше не работает").is_visible()
    assert page.locator("#calendar-url").input_value() != first


def test_a_student_sees_my_schedule(new_page, snap, family_week):
    alpha = family_week
    page = new_page(viewport=PHONE)
    login(page, alpha.student_user.username)
    assert page.get_by_role("heading", name="Моё расписание").is_visible()
    assert page.get_by_text("Привет, Маша!").is_visible()
    snap(page, "family-student-home-phone")


def test_desktop_screens(new_page, snap, family_week):
    alpha = family_week
    page = new_page(viewport=DESKTOP)
    login(page, alpha.parent.username)
    snap(page, "family-parent-home-desktop")
    page.goto("/family/schedule/")
    snap(page, "family-schedule-desktop")
    page.goto("/family/attendance/")
    snap(page, "family-attendance-desktop")
    page.goto(f"/family/children/{alpha.student.pk}/")
    assert page.get_by_text("Датчик света").is_visible()
    snap(page, "family-child-desktop")

    student_page = new_page(viewport=DESKTOP)
    login(student_page, alpha.student_user.username)
    assert student_page.get_by_role("heading", name="Моё расписание").is_visible()
    snap(student_page, "family-student-home-desktop")


def test_the_child_page_on_a_phone(new_page, snap, family_week):
    alpha = family_week
    page = new_page(viewport=PHONE)
    login(page, alpha.parent.username)
    page.goto(f"/family/children/{alpha.student.pk}/")
    assert page.get_by_text("Собрать модель по схеме").first.is_visible()
    snap(page, "family-child-phone")
