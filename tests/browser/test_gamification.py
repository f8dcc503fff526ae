import pytest
from django.urls import reverse

from kruzhok.gamification import services
from tests.browser.conftest import DESKTOP, PHONE, login

pytestmark = pytest.mark.django_db(transaction=True)


def slow_page(new_page, viewport):
    # The shared 2-core machine can take minutes to serve the live server's first page under load.
    page = new_page(viewport=viewport)
    page.set_default_timeout(180_000)
    return page


def test_a_teacher_marks_and_praises_and_the_child_sees_xp_and_a_badge(new_page, snap, alpha):
    services.badge_create(org=alpha.org, name="Первый шаг", rule="first", event="visit", symbol="1")
    services.badge_create(org=alpha.org, name="Похвала", rule="first", event="kudos", color="#e08a00")

    teacher = slow_page(new_page, PHONE)
    login(teacher, alpha.teacher.username)
    teacher.goto(reverse("attendance:lesson", args=[alpha.lesson.pk]))
    row = teacher.locator(f"#student-{alpha.student.pk}")
    row.get_by_role("button", name="Был", exact=True).click()
    teacher.wait_for_selector(f"#student-{alpha.student.pk} button.present[aria-pressed='true']")
    # The praise link appears in the row once the child is marked present.
    row.get_by_role("link", name="Молодец").click()
    teacher.wait_for_load_state()
    teacher.get_by_label("За что (необязательно)").fill("Собрал робота первым")
    snap(teacher, "gamification-kudos-phone")
    teacher.get_by_role("button", name="Похвалить").click()
    teacher.wait_for_load_state()
    assert "отправлен" in teacher.locator(".messages").inner_text()
    snap(teacher, "gamification-journal-after-kudos-phone")

    for viewport, suffix in ((PHONE, "phone"), (DESKTOP, "desktop")):
        child = slow_page(new_page, viewport)
        login(child, alpha.student_user.username)
        child.get_by_role("link", name="Росток").click()
        child.wait_for_load_state()
        assert child.locator("#xp-total").inner_text() == "30"
        body = (
            child.locator("main").inner_text() if child.locator("main").count() else child.inner_text("body")
        )
        assert "Первый шаг" in body and "Похвала" in body
        assert "Собрал робота первым" in body
        assert child.locator(".gam-progress").is_visible()
        width = child.evaluate("document.documentElement.clientWidth")
        assert child.evaluate("document.documentElement.scrollWidth") <= width
        snap(child, f"gamification-child-{suffix}")


def test_the_manager_sets_rules_on_a_phone(new_page, snap, alpha):
    page = slow_page(new_page, PHONE)
    login(page, alpha.manager.username)
    page.goto(reverse("gamification:settings"))
    # A negative number is stopped by the browser itself; a contradiction is explained by the server.
    page.get_by_label("Лимит очков в день (0 — без лимита)").fill("5")
    page.get_by_role("button", name="Сохранить правила").click()
    page.wait_for_load_state()
    assert "меньше очков за одно посещение" in page.locator(".errorlist").first.inner_text()
    snap(page, "gamification-settings-error-phone")
    page.get_by_label("Лимит очков в день (0 — без лимита)").fill("60")
    page.get_by_role("button", name="Сохранить правила").click()
    page.wait_for_load_state()
    assert "Правила сохранены" in page.locator(".messages").inner_text()
    snap(page, "gamification-settings-phone")


def test_a_child_asks_for_a_reward_and_a_manager_approves_it(new_page, snap, alpha):
    from kruzhok.gamification.models import StudentXp

    StudentXp.objects.create(organization=alpha.org, student=alpha.student, xp=40, coins=5)
    services.reward_create(org=alpha.org, title="Наклейка-робот", price=3, stock=2, description="Блестящая")

    child = slow_page(new_page, PHONE)
    login(child, alpha.student_user.username)
    child.goto(reverse("gamification:shop"))
    child.get_by_role("button", name="Хочу: Наклейка-робот").click()
    child.wait_for_load_state()
    assert "Заявка отправлена" in child.locator(".messages").inner_text()
    assert child.locator("#coins").inner_text() == "2"
    snap(child, "gamification-shop-phone")

    manager = slow_page(new_page, PHONE)
    login(manager, alpha.manager.username)
    manager.goto(reverse("gamification:shop_manage"))
    snap(manager, "gamification-shop-manage-phone")
    manager.get_by_role("button", name="Выдать").click()
    manager.wait_for_load_state()
    assert "Награда выдана" in manager.locator(".messages").inner_text()

    child.reload()
    assert "Выдано" in child.inner_text("body")
    width = child.evaluate("document.documentElement.clientWidth")
    assert child.evaluate("document.documentElement.scrollWidth") <= width


def test_a_manager_sets_a_quest_and_the_child_sees_it_done_after_the_lesson(new_page, snap, alpha):
    import datetime as dt

    day = alpha.lesson.starts_at.date()
    manager = slow_page(new_page, PHONE)
    login(manager, alpha.manager.username)
    manager.goto(reverse("gamification:quest_create"))
    manager.get_by_label("Название").fill("Первое занятие")
    manager.get_by_label("С", exact=True).fill(str(day - dt.timedelta(days=3)))
    manager.get_by_label("По", exact=True).fill(str(day + dt.timedelta(days=3)))
    manager.get_by_label("Шаг 1: сколько").fill("1")
    manager.get_by_label("Награда, очков").fill("25")
    snap(manager, "gamification-quest-form-phone")
    manager.get_by_role("button", name="Добавить квест").click()
    manager.wait_for_load_state()
    assert "Квест добавлен" in manager.locator(".messages").inner_text()
    assert "Первое занятие" in manager.inner_text("body")

    teacher = slow_page(new_page, PHONE)
    login(teacher, alpha.teacher.username)
    teacher.goto(reverse("attendance:lesson", args=[alpha.lesson.pk]))
    teacher.locator(f"#student-{alpha.student.pk}").get_by_role("button", name="Был", exact=True).click()
    teacher.wait_for_selector(f"#student-{alpha.student.pk} button.present[aria-pressed='true']")

    child = slow_page(new_page, PHONE)
    login(child, alpha.student_user.username)
    child.goto(reverse("gamification:home"))
    quests = child.locator("#quests").inner_text()
    assert "Первое занятие" in quests and "Квест пройден" in quests
    assert child.locator("#xp-total").inner_text() == str(15 + 25)
    assert "Пройден квест «Первое занятие»" in child.inner_text("body")
    width = child.evaluate("document.documentElement.clientWidth")
    assert child.evaluate("document.documentElement.scrollWidth") <= width
    snap(child, "gamification-child-quest-phone")
