import pytest
from django.urls import reverse

from kruzhok.school import models as school
from tests.browser.conftest import DESKTOP, PHONE, login

pytestmark = pytest.mark.django_db(transaction=True)


def fits_the_screen(page):
    width = page.evaluate("document.documentElement.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize(("viewport", "size"), [(PHONE, "phone"), (DESKTOP, "desktop")])
def test_a_manager_enrols_a_new_child_with_a_guardian_into_a_group(new_page, snap, alpha, viewport, size):
    page = new_page(viewport=viewport)
    login(page, alpha.manager.username)
    page.goto(reverse("school:students"))
    assert page.get_by_role("heading", level=1).inner_text() == "Ученики"
    fits_the_screen(page)
    snap(page, f"students-{size}")

    page.get_by_role("link", name="+ Записать ребёнка").click()
    page.wait_for_load_state()
    page.get_by_label("Фамилия").fill("Соколова")
    page.get_by_label("Имя", exact=True).fill("Вера")
    page.get_by_label("Дата рождения").fill("2017-04-12")
    page.get_by_label("Заметки").fill("Аллергия на орехи")
    page.get_by_label("Телефон").fill("8 (905) 123-45-67")
    page.get_by_label("ФИО").fill("Соколова Ирина Петровна")
    page.get_by_label("Telegram").fill("@irina_s")
    page.get_by_label("Кем приходится ребёнку").select_option("mother")
    page.get_by_label("Согласие на обработку персональных данных получено").check()
    page.locator("#id_group").select_option(str(alpha.group.pk))
    fits_the_screen(page)
    snap(page, f"student-create-{size}")
    page.get_by_role("button", name="Записать", exact=True).click()
    page.wait_for_load_state()

    assert page.get_by_role("heading", level=1).inner_text() == "Соколова Вера"
    assert "записан(а) в группу «Роботы-1 (alpha)»" in page.content()
    assert page.get_by_text("Соколова Ирина Петровна", exact=True).is_visible()
    assert page.get_by_text("+7 905 123-45-67").is_visible()
    fits_the_screen(page)
    snap(page, f"student-detail-{size}")

    page.get_by_role("link", name="← Ученики").click()
    page.wait_for_load_state()
    assert page.get_by_role("link", name="Соколова Вера").is_visible()

    # The live search narrows the list without a page load.
    page.evaluate("window.__marker = 'still here'")
    page.get_by_placeholder("Имя, фамилия или телефон").fill("сокол")
    page.wait_for_function("!document.body.innerText.includes('Петрова-alpha')")
    assert page.get_by_role("link", name="Соколова Вера").is_visible()
    assert page.evaluate("window.__marker") == "still here"
    snap(page, f"students-search-{size}")

    student = school.Student.objects.get(last_name="Соколова")
    assert student.enrollments.get().group == alpha.group
    assert student.consents.get().recorded_by == alpha.manager


def test_a_full_group_offers_the_waiting_list_in_the_form(new_page, snap, alpha):
    alpha.group.capacity = 1
    alpha.group.save()
    page = new_page(viewport=PHONE)
    login(page, alpha.manager.username)
    page.goto(reverse("school:student_create"))
    page.get_by_label("Фамилия").fill("Орлов")
    page.get_by_label("Имя", exact=True).fill("Глеб")
    page.get_by_label("Дата рождения").fill("2016-01-20")
    page.get_by_label("Телефон").fill(alpha.guardian.phone)
    # The existing guardian is recognised by phone while typing.
    page.wait_for_selector(".people-found")
    assert "Петрова Ольга (alpha)" in page.locator(".people-found").inner_text()
    page.get_by_label("Согласие на обработку персональных данных получено").check()
    page.locator("#id_group").select_option(str(alpha.group.pk))
    page.get_by_role("button", name="Записать", exact=True).click()
    page.wait_for_load_state()
    assert "нет свободных мест" in page.content()
    fits_the_screen(page)
    snap(page, "student-create-full-phone")

    page.get_by_label("Если мест нет — поставить в лист ожидания").check()
    page.get_by_role("button", name="Записать", exact=True).click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "Орлов Глеб"
    assert "в листе ожидания группы" in page.content()
    page.goto(reverse("school:waitlist"))
    assert page.get_by_role("link", name="Орлов Глеб").is_visible()
    fits_the_screen(page)
    snap(page, "waitlist-phone")


def test_a_manager_pauses_and_transfers_a_child_and_sees_the_history(new_page, snap, alpha):
    from kruzhok.testing import factories as f

    other = f.GroupFactory(
        organization=alpha.org,
        branch=alpha.branch,
        course=alpha.course,
        name="Роботы-2 (alpha)",
        start_date=alpha.group.start_date,
        end_date=alpha.group.end_date,
    )
    page = new_page(viewport=PHONE)
    login(page, alpha.manager.username)
    page.goto(reverse("school:student_detail", args=[alpha.student.pk]))
    page.get_by_role("link", name="Изменить статус").click()
    page.wait_for_load_state()
    page.get_by_label("Новый статус").select_option("paused")
    page.get_by_label("Комментарий").fill("Болеет")
    fits_the_screen(page)
    snap(page, "enrollment-transition-phone")
    page.get_by_role("button", name="Сохранить").click()
    page.wait_for_load_state()
    assert "Статус изменён: Пауза" in page.content()

    page.get_by_role("link", name="Перевести").click()
    page.wait_for_load_state()
    page.get_by_label("В группу").select_option(str(other.pk))
    snap(page, "enrollment-transfer-phone")
    page.get_by_role("button", name="Перевести").click()
    page.wait_for_load_state()
    assert "Переведён(а) в группу «Роботы-2 (alpha)»" in page.content()
    for summary in page.locator("details.people-history summary").all():
        summary.click()
    assert page.get_by_text("Болеет").is_visible()
    fits_the_screen(page)
    snap(page, "student-history-phone")
