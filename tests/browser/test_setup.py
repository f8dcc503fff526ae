import datetime as dt

import pytest
from django.utils import timezone

from tests.browser.conftest import DESKTOP, PHONE, login

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_owner_sets_up_a_course_and_a_group_and_sees_its_lessons(new_page, snap, alpha):
    page = new_page(viewport=DESKTOP)
    login(page, alpha.owner.username)
    assert page.get_by_role("heading", name="Обзор").is_visible()

    page.goto("/school/courses/new/")
    page.get_by_label("Название").fill("Шахматы для начинающих")
    page.get_by_label("Направление").select_option("chess")
    page.get_by_label("Возраст от, лет").fill("6")
    page.get_by_label("Возраст до, лет").fill("9")
    page.get_by_label("Цена в месяц, ₽").fill("3200")
    page.get_by_role("button", name="Сохранить").click()
    page.wait_for_load_state()
    assert "Курс добавлен." in page.content()
    assert page.get_by_text("Шахматы для начинающих").is_visible()

    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    page.goto("/school/groups/new/")
    page.get_by_label("Название группы").fill("Шахматы-1")
    page.get_by_label("Курс").select_option(label="Шахматы для начинающих")
    page.get_by_label("Филиал").select_option(str(alpha.branch.pk))
    page.get_by_label("Кабинет").select_option(str(alpha.room.pk))
    page.get_by_label("Преподаватель").select_option(str(alpha.teacher.pk))
    page.get_by_label("Мест в группе").fill("8")
    page.get_by_label("Начало занятий").fill(timezone.localdate().isoformat())
    page.get_by_label("Окончание").fill((tomorrow + dt.timedelta(days=120)).isoformat())
    page.locator("#id_slots-0-weekday").select_option(str(tomorrow.weekday()))
    page.locator("#id_slots-0-start_time").fill("16:30")
    page.locator("#id_slots-0-duration_minutes").fill("90")
    page.get_by_role("button", name="Создать группу").click()
    page.wait_for_load_state()

    assert page.get_by_role("heading", name="Шахматы-1").is_visible()
    assert "16:30–18:00" in page.content()
    snap(page, "setup-created-group-desktop")
    assert page.locator(".setup-lesson").count() >= 8


def test_bad_dates_are_explained_on_the_page(new_page, snap, alpha):
    page = new_page(viewport=PHONE)
    login(page, alpha.owner.username)
    page.goto("/school/groups/new/")
    page.get_by_label("Название группы").fill("Шахматы-1")
    page.get_by_label("Курс").select_option(str(alpha.course.pk))
    page.get_by_label("Филиал").select_option(str(alpha.branch.pk))
    page.get_by_label("Начало занятий").fill("2026-09-01")
    page.get_by_label("Окончание").fill("2026-08-01")
    page.get_by_role("button", name="Создать группу").click()
    page.wait_for_load_state()
    assert page.get_by_text("Дата окончания раньше даты начала.").is_visible()
    snap(page, "setup-group-form-error-phone")


@pytest.mark.parametrize(("size", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_set_up_pages_look_right(new_page, snap, alpha, size, viewport):
    page = new_page(viewport=viewport)
    login(page, alpha.owner.username)
    pages = {
        "dashboard": "/school/",
        "groups": "/school/groups/",
        "group-form": f"/school/groups/{alpha.group.pk}/edit/",
        "group-detail": f"/school/groups/{alpha.group.pk}/",
        "branches": "/school/branches/",
        "courses": "/school/courses/",
        "holidays": "/school/holidays/",
    }
    for name, path in pages.items():
        page.goto(path)
        page.wait_for_load_state()
        # Nothing may push the page sideways on a phone.
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= viewport["width"], f"{name} is {scroll_width}px wide at {viewport['width']}px"
        snap(page, f"setup-{name}-{size}")
