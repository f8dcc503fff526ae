"""Two-way conversations between staff and a family, in the app and from Telegram."""

import json

import pytest
from django.urls import reverse

from kruzhok.messaging import conversations, services
from kruzhok.messaging.models import Conversation, ConversationPost, Delivery, Message, MessageKind, Side
from kruzhok.messaging.tests.helpers import PARENT_CHAT, telegram_ready
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db


def staff_starts(world, body="Маша сегодня молодец!", actor=None, client_as=None):
    return client_as(actor or world.teacher).post(
        reverse("messaging:conversation_new"),
        {"guardian": world.guardian.pk, "student": world.student.pk, "subject": "Успехи", "body": body},
    )


def test_a_teacher_writes_and_the_parent_answers_in_the_same_thread(alpha, client_as):
    response = staff_starts(alpha, client_as=client_as)
    conversation = Conversation.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "messaging:conversation", args=[conversation.pk]
    )
    # The family is told through the outbox, with a link to the thread.
    notice = Message.objects.get(kind=MessageKind.CONVERSATION, guardian=alpha.guardian)
    assert notice.body == "Маша сегодня молодец!" and notice.conversation == conversation

    parent = client_as(alpha.parent)
    listing = parent.get(reverse("messaging:conversations")).content.decode()
    assert "Успехи" in listing and "1 новое" in listing
    page = parent.get(reverse("messaging:conversation", args=[conversation.pk])).content.decode()
    assert "Маша сегодня молодец!" in page
    assert "1 новое" not in parent.get(reverse("messaging:conversations")).content.decode()

    parent.post(
        reverse("messaging:conversation", args=[conversation.pk]), {"body": "Спасибо, очень приятно!"}
    )
    assert list(conversation.posts.values_list("side", flat=True)) == [Side.STAFF, Side.FAMILY]
    # The teacher and the branch's manager see it as unread.
    for user in (alpha.teacher, alpha.manager, alpha.owner):
        (row,) = conversations.conversation_list_for_staff(membership=user.memberships.get())
        assert row.unread == 1, user.username


def test_the_staff_are_notified_once_per_unread_stretch(alpha):
    conversation = conversations.conversation_start(
        org=alpha.org, actor=alpha.parent, side=Side.FAMILY, guardian=alpha.guardian,
        student=alpha.student, subject="Вопрос", body="Можно перенести занятие?",
    )  # fmt: skip
    conversations.conversation_post(
        conversation=conversation, actor=alpha.parent, side=Side.FAMILY, body="И ещё…"
    )
    notices = Message.objects.filter(kind=MessageKind.CONVERSATION)
    # The manager of the branch and the child's teacher, each once.
    assert sorted(m.user.username for m in notices) == ["alpha_manager", "alpha_teacher"]


def test_staff_outside_the_childs_branch_or_groups_cannot_see_or_answer(alpha, client_as):
    conversation = conversations.conversation_start(
        org=alpha.org, actor=alpha.parent, side=Side.FAMILY, guardian=alpha.guardian,
        student=alpha.student, subject="Вопрос", body="Когда собрание?",
    )  # fmt: skip
    other_teacher = f.UserFactory(username="alpha_teacher2")
    other_manager = f.UserFactory(username="alpha_manager2")
    from kruzhok.accounts.models import Membership

    Membership.objects.create(user=other_teacher, organization=alpha.org, role="teacher")
    Membership.objects.create(user=other_manager, organization=alpha.org, role="manager")
    alpha.other_branch.managers.add(other_manager)
    for user in (other_teacher, other_manager):
        client = client_as(user)
        url = reverse("messaging:conversation", args=[conversation.pk])
        assert client.get(url).status_code == 404
        assert client.post(url, {"body": "Ответ"}).status_code == 404
        response = staff_starts(alpha, actor=user, client_as=client_as)
        assert response.status_code == 400
    assert conversation.posts.count() == 1


def test_a_student_has_no_conversations(alpha, client_as):
    assert client_as(alpha.student_user).get(reverse("messaging:conversations")).status_code == 403


@pytest.mark.parametrize("body", ["", "   ", "я" * 4097])
def test_an_empty_or_huge_post_is_refused_and_the_thread_is_unchanged(alpha, client_as, body):
    conversation = conversations.conversation_start(
        org=alpha.org, actor=alpha.manager, side=Side.STAFF, guardian=alpha.guardian,
        student=alpha.student, subject="Тема", body="Здравствуйте!",
    )  # fmt: skip
    response = client_as(alpha.parent).post(
        reverse("messaging:conversation", args=[conversation.pk]), {"body": body}
    )
    assert response.status_code == 400
    assert conversation.posts.count() == 1
    assert "Здравствуйте!" in response.content.decode()


def test_a_parent_writes_to_the_centre_from_the_app(alpha, client_as):
    response = client_as(alpha.parent).post(
        reverse("messaging:conversation_new"),
        {"student": alpha.student.pk, "subject": "Больничный", "body": "Маша болеет до пятницы."},
    )
    assert response.status_code == 302
    conversation = Conversation.objects.get()
    assert conversation.guardian == alpha.guardian and conversation.branch == alpha.branch
    assert conversation.posts.get().side == Side.FAMILY


def test_a_parent_cannot_write_about_another_family_child(alpha, client_as):
    other = f.StudentFactory(organization=alpha.org, branch=alpha.branch, first_name="Чужой")
    response = client_as(alpha.parent).post(
        reverse("messaging:conversation_new"), {"student": other.pk, "subject": "Тема", "body": "Текст"}
    )
    assert response.status_code == 400 and not Conversation.objects.exists()


# --- Telegram ----------------------------------------------------------------------------------


@pytest.fixture
def bot(alpha):
    telegram_ready(alpha)
    return services.telegram_webhook_secret_ensure(org=alpha.org)


def update(text, *, message_id=50, reply_to=None, chat_id=int(PARENT_CHAT)):
    message = {"message_id": message_id, "chat": {"id": chat_id, "type": "private"}, "text": text}
    if reply_to is not None:
        message["reply_to_message"] = {"message_id": reply_to, "chat": {"id": chat_id}}
    return {"update_id": message_id, "message": message}


def webhook(client, org, body, secret):
    return client.post(
        reverse("messaging:telegram_webhook", args=[org.pk]),
        data=json.dumps(body),
        content_type="application/json",
        HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=secret,
    )


def test_a_telegram_reply_lands_in_the_conversation_it_answers(
    alpha, bot, fake_telegram, client, django_capture_on_commit_callbacks
):
    fake_telegram.known_chats.add(PARENT_CHAT)
    first = conversations.conversation_start(
        org=alpha.org, actor=alpha.teacher, side=Side.STAFF, guardian=alpha.guardian,
        student=alpha.student, subject="Проект", body="Принесите, пожалуйста, батарейки.",
    )  # fmt: skip
    conversations.conversation_start(
        org=alpha.org, actor=alpha.manager, side=Side.STAFF, guardian=alpha.guardian,
        subject="Собрание", body="Собрание в субботу.",
    )  # fmt: skip
    services.outbox_drain()
    sent = Delivery.objects.get(message__conversation=first, channel="telegram")
    assert sent.external_id

    with django_capture_on_commit_callbacks(execute=True):
        response = webhook(
            client,
            alpha.org,
            update("Хорошо, принесём!", reply_to=int(sent.external_id)),
            bot.telegram_webhook_secret,
        )
    assert response.status_code == 200
    post = ConversationPost.objects.get(side=Side.FAMILY)
    assert post.conversation == first and post.via == "telegram" and post.body == "Хорошо, принесём!"

    # Telegram redelivers the same update: nothing is added twice.
    webhook(
        client,
        alpha.org,
        update("Хорошо, принесём!", reply_to=int(sent.external_id)),
        bot.telegram_webhook_secret,
    )
    assert ConversationPost.objects.filter(side=Side.FAMILY).count() == 1


def test_a_telegram_text_without_reply_continues_the_latest_thread_or_starts_one(alpha, bot, client):
    response = webhook(
        client, alpha.org, update("Здравствуйте, Маша заболела", message_id=7), bot.telegram_webhook_secret
    )
    assert response.status_code == 200
    conversation = Conversation.objects.get()
    assert conversation.subject == "Сообщение в Telegram" and conversation.guardian == alpha.guardian
    webhook(client, alpha.org, update("Вернёмся в понедельник", message_id=8), bot.telegram_webhook_secret)
    assert list(conversation.posts.values_list("body", flat=True)) == [
        "Здравствуйте, Маша заболела",
        "Вернёмся в понедельник",
    ]


def test_a_forged_telegram_reply_is_refused_and_changes_nothing(alpha, bot, client):
    assert webhook(client, alpha.org, update("Взлом"), "wrong-secret").status_code == 403
    assert not ConversationPost.objects.exists()


def test_a_text_from_an_unlinked_chat_is_ignored(alpha, bot, client):
    assert (
        webhook(client, alpha.org, update("Кто я?", chat_id=31337), bot.telegram_webhook_secret).status_code
        == 200
    )
    assert not Conversation.objects.exists()


def test_a_negative_telegram_text_also_alerts_the_manager_and_the_answer_returns_to_the_thread(
    alpha, bot, client, client_as, django_capture_on_commit_callbacks
):
    from kruzhok.feedback.models import Feedback

    with django_capture_on_commit_callbacks(execute=True):
        webhook(
            client, alpha.org, update("Ужасно, преподаватель грубит, мы очень недовольны", message_id=9),
            bot.telegram_webhook_secret,
        )  # fmt: skip
    conversation = Conversation.objects.get()
    feedback = Feedback.objects.get()
    assert feedback.alert_open and feedback.conversation == conversation
    assert Message.objects.filter(kind=MessageKind.FEEDBACK_ALERT, user=alpha.manager).exists()

    client_as(alpha.manager).post(
        reverse("feedback:feedback_detail", args=[feedback.pk]), {"body": "Простите, разберёмся сегодня."}
    )
    assert list(conversation.posts.values_list("side", "body")) == [
        (Side.FAMILY, "Ужасно, преподаватель грубит, мы очень недовольны"),
        (Side.STAFF, "Простите, разберёмся сегодня."),
    ]
