import pytest

from kruzhok.attendance.services import attendance_mark
from kruzhok.messaging import services
from tests.browser.conftest import DESKTOP, PHONE, login

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_parent_reads_the_absence_notice_and_the_manager_answers_their_feedback(new_page, snap, alpha):
    # The teacher marks Маша absent; the event reaches messaging after the commit.
    attendance_mark(lesson=alpha.lesson, student=alpha.student, status="absent", actor=alpha.teacher)

    parent = new_page(viewport=PHONE)
    login(parent, alpha.parent.username)
    parent.goto("/messaging/")
    parent.get_by_role("link", name="Маша: пропуск занятия").click()
    assert parent.get_by_text("Маша не пришла на занятие по робототехнике").is_visible()
    snap(parent, "messaging-absence-phone")
    parent.goto("/messaging/")
    snap(parent, "messaging-inbox-phone")

    parent.goto("/feedback/write/")
    parent.get_by_label("О ком").select_option(label="Маша")
    parent.get_by_label("Ваш отзыв").fill("Очень недовольны: преподаватель грубит детям.")
    parent.get_by_role("button", name="Отправить отзыв").click()
    assert parent.get_by_text("Спасибо! Отзыв получен").is_visible()
    snap(parent, "feedback-give-phone")

    manager = new_page(viewport=DESKTOP)
    login(manager, alpha.manager.username)
    manager.goto("/feedback/")
    assert manager.get_by_text("1 негативный отзыв ждёт ответа").is_visible()
    snap(manager, "feedback-inbox-desktop")
    manager.get_by_text("Очень недовольны").click()
    manager.get_by_label("Ответ семье").fill("Простите! Поговорим с преподавателем сегодня и перезвоним.")
    manager.get_by_role("button", name="Ответить").click()
    assert manager.get_by_text("Ответ отправлен семье.").is_visible()
    snap(manager, "feedback-detail-desktop")

    parent.goto("/messaging/")
    assert parent.get_by_text("Ответ на ваш отзыв").is_visible()
    parent.get_by_role("link", name="Как со мной связываться").click()
    parent.get_by_label("Куда писать в первую очередь").select_option("email")
    parent.get_by_label("Не присылать SMS").check()
    parent.get_by_role("button", name="Сохранить").click()
    assert parent.get_by_text("Настройки сохранены.").is_visible()
    snap(parent, "messaging-preferences-phone")


def test_a_child_rates_todays_lesson_with_one_tap(new_page, snap, alpha):
    import datetime as dt

    from django.utils import timezone

    alpha.lesson.starts_at = timezone.now() - dt.timedelta(hours=2)
    alpha.lesson.ends_at = alpha.lesson.starts_at + dt.timedelta(hours=1)
    alpha.lesson.save()
    child = new_page(viewport=PHONE)
    login(child, alpha.student_user.username)
    child.goto("/feedback/lessons/")
    snap(child, "feedback-pulse-phone")
    child.get_by_role("button", name="4 из 5").click()
    assert child.get_by_text("Спасибо! Учитель увидит твой ответ.").is_visible()
    assert child.get_by_text("Ты уже ответил(а). Спасибо!").is_visible()


def test_a_manager_sends_an_announcement_and_a_parent_reads_it(new_page, snap, alpha):
    manager = new_page(viewport=DESKTOP)
    login(manager, alpha.manager.username)
    manager.goto("/messaging/announcements/")
    manager.get_by_label("Группа").select_option(label=alpha.group.name)
    manager.get_by_label("Тема").fill("Экскурсия в субботу")
    manager.get_by_label("Текст").fill("{родитель}, в субботу {ребёнок} едет на выставку роботов.")
    manager.get_by_role("button", name="Отправить").click()
    assert manager.get_by_text("Отчёт о доставке").is_visible()
    services.outbox_drain()
    manager.reload()
    snap(manager, "messaging-report-desktop")

    parent = new_page(viewport=PHONE)
    login(parent, alpha.parent.username)
    parent.goto("/messaging/")
    parent.get_by_role("link", name="Экскурсия в субботу").click()
    assert parent.get_by_text("в субботу Маша едет на выставку роботов").is_visible()
    snap(parent, "messaging-announcement-phone")
    manager.goto("/messaging/announcements/")
    snap(manager, "messaging-announcements-desktop")


def test_a_teacher_and_a_parent_talk_in_a_conversation(new_page, snap, alpha):
    teacher = new_page(viewport=DESKTOP)
    login(teacher, alpha.teacher.username)
    teacher.goto("/messaging/conversations/")
    teacher.get_by_role("link", name="Написать семье").click()
    teacher.get_by_label("Семья (родитель)").select_option(label=alpha.guardian.full_name)
    teacher.get_by_label("О ком").select_option(label=alpha.student.full_name)
    teacher.get_by_label("Тема").fill("Проект на выставку")
    teacher.get_by_label("Сообщение").fill("Маша собрала робота сама! Принесите, пожалуйста, батарейки АА.")
    teacher.get_by_role("button", name="Отправить").click()
    assert teacher.get_by_text("Сообщение отправлено.").is_visible()

    parent = new_page(viewport=PHONE)
    login(parent, alpha.parent.username)
    parent.goto("/messaging/conversations/")
    assert parent.get_by_text("1 новое").is_visible()
    snap(parent, "messaging-conversations-phone")
    parent.get_by_role("link", name="Проект на выставку").click()
    parent.get_by_label("Ваш ответ").fill("Спасибо! Батарейки принесём в среду.")
    parent.get_by_role("button", name="Отправить").click()
    assert parent.get_by_text("Спасибо! Батарейки принесём в среду.").is_visible()
    snap(parent, "messaging-conversation-phone")

    teacher.goto("/messaging/conversations/")
    assert teacher.get_by_text("1 новое").is_visible()
    teacher.get_by_role("link", name="Проект на выставку").click()
    assert teacher.get_by_text("Батарейки принесём в среду").is_visible()
    snap(teacher, "messaging-conversation-desktop")


def test_a_parent_answers_the_survey_with_one_tap_and_a_teacher_rates_engagement(new_page, snap, alpha):
    import datetime as dt

    from django.utils import timezone

    from kruzhok.feedback.models import Survey

    survey = Survey.objects.create(
        organization=alpha.org,
        enrollment=alpha.enrollment,
        guardian=alpha.guardian,
        student=alpha.student,
        reason="after_lessons",
        sent_on=timezone.localdate(),
    )
    parent = new_page(viewport=PHONE)
    login(parent, alpha.parent.username)
    parent.goto(f"/feedback/surveys/{survey.pk}/")
    snap(parent, "feedback-survey-phone")
    parent.get_by_role("button", name="9 из 10").click()
    assert parent.get_by_text("Спасибо! Ваш ответ помогает нам стать лучше.").is_visible()
    assert parent.get_by_text("9/10").is_visible()

    alpha.lesson.starts_at = timezone.now() - dt.timedelta(hours=2)
    alpha.lesson.ends_at = alpha.lesson.starts_at + dt.timedelta(hours=1)
    alpha.lesson.save()
    teacher = new_page(viewport=PHONE)
    login(teacher, alpha.teacher.username)
    teacher.goto("/feedback/engagement/")
    teacher.get_by_role("link", name=alpha.group.name).click()
    teacher.get_by_role("button", name="Маша: 4 из 5").click()
    # htmx swaps the row: the chosen score is marked without a page reload.
    teacher.wait_for_selector('button[aria-label="Маша: 4 из 5"][aria-pressed="true"]')
    snap(teacher, "feedback-engagement-phone")
    desktop = new_page(viewport=DESKTOP)
    login(desktop, alpha.teacher.username)
    desktop.goto(teacher.url)
    snap(desktop, "feedback-engagement-desktop")
