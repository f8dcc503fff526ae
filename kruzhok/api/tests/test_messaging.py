"""The messaging and feedback API: inbox, conversations, announcements, feedback, pulse, surveys."""

import datetime as dt

import pytest
from django.utils import timezone

from kruzhok.api.tests.helpers import error_code, ids
from kruzhok.feedback.models import Feedback, Survey, TeacherPulse
from kruzhok.messaging import services
from kruzhok.messaging.models import Announcement, Conversation, ConversationPost, Message

pytestmark = pytest.mark.django_db


def lesson_started(world):
    world.lesson.starts_at = timezone.now() - dt.timedelta(hours=2)
    world.lesson.ends_at = world.lesson.starts_at + dt.timedelta(hours=1)
    world.lesson.save()
    return world.lesson


def test_a_parent_lists_and_reads_their_inbox(alpha, api_as):
    message = services.message_enqueue(
        org=alpha.org, guardian=alpha.guardian, user=alpha.parent, subject="Собрание", body="В субботу"
    )
    client = api_as(alpha.parent)
    page = client.get("/inbox")
    assert page.status_code == 200 and ids(page) == [message.pk] and page.json()["count"] == 1
    assert page.json()["items"][0]["read_at"] is None
    read = client.post(f"/inbox/{message.pk}/read")
    assert read.status_code == 200 and read.json()["read_at"] is not None
    assert api_as(alpha.manager).post(f"/inbox/{message.pk}/read").status_code == 404


def test_staff_and_a_family_talk_in_a_conversation(alpha, api_as):
    teacher = api_as(alpha.teacher)
    started = teacher.post(
        "/conversations",
        {"guardian": alpha.guardian.pk, "student": alpha.student.pk, "subject": "Успехи", "body": "Молодец!"},
    )
    assert started.status_code == 201, started.content
    pk = started.json()["id"]
    parent = api_as(alpha.parent)
    listing = parent.get("/conversations").json()["items"]
    assert [(c["id"], c["unread"]) for c in listing] == [(pk, 1)]
    answer = parent.post(f"/conversations/{pk}/posts", {"body": "Спасибо!"})
    assert answer.status_code == 201 and answer.json()["side"] == "family"
    thread = teacher.get(f"/conversations/{pk}").json()
    assert [p["body"] for p in thread["posts"]] == ["Молодец!", "Спасибо!"]


@pytest.mark.parametrize(
    "body,status,code",
    [
        ({"body": ""}, 422, "invalid_input"),
        ({"body": "я" * 4097}, 422, "invalid_input"),
        ({"body": "ok", "extra": 1}, 422, "invalid_input"),
        ({"body": "bad\x00byte"}, 422, "invalid_input"),
    ],
)
def test_a_bad_post_is_refused_and_nothing_is_added(alpha, api_as, body, status, code):
    from kruzhok.messaging import conversations

    conversation = conversations.conversation_start(
        org=alpha.org,
        actor=alpha.manager,
        side="staff",
        guardian=alpha.guardian,
        subject="Тема",
        body="Привет",
    )
    response = api_as(alpha.parent).post(f"/conversations/{conversation.pk}/posts", body)
    assert response.status_code == status and error_code(response) == code
    assert ConversationPost.objects.count() == 1


def test_a_staff_member_cannot_write_to_an_unknown_family(alpha, beta, api_as):
    response = api_as(alpha.teacher).post(
        "/conversations", {"guardian": beta.guardian.pk, "subject": "Тема", "body": "Текст"}
    )
    assert response.status_code == 404 and not Conversation.objects.exists()
    no_guardian = api_as(alpha.manager).post("/conversations", {"subject": "Тема", "body": "Текст"})
    assert no_guardian.status_code == 422


def test_a_manager_sends_an_announcement_and_reads_its_report(alpha, api_as):
    client = api_as(alpha.manager)
    sent = client.post(
        "/announcements",
        {
            "title": "Экскурсия",
            "body": "{родитель}, {ребёнок} едет на выставку.",
            "audience": "group",
            "group": alpha.group.pk,
        },
    )
    assert sent.status_code == 201 and sent.json()["recipients"] == 1
    message = Message.objects.get(announcement_id=sent.json()["id"])
    assert message.body == "Петрова Ольга (alpha), Маша едет на выставку."
    report = client.get(f"/announcements/{sent.json()['id']}").json()
    assert report["total"] == 1 and report["rows"][0]["guardian"] == "Петрова Ольга (alpha)"
    assert ids(client.get("/announcements")) == [sent.json()["id"]]


@pytest.mark.parametrize(
    "payload,status,code",
    [
        ({"title": "Т", "body": "Привет, {питомец}!", "audience": "group"}, 400, "unknown_variable"),
        ({"title": "Т", "body": "{курс}", "audience": "family"}, 400, "missing_variable"),
        ({"title": "Т", "body": "", "audience": "group"}, 422, "invalid_input"),
        ({"title": "Т", "body": "я" * 4001, "audience": "group"}, 422, "invalid_input"),
        ({"title": "Т", "body": "Текст", "audience": "everyone"}, 422, "invalid_input"),
        ({"title": "Т", "body": "Текст", "audience": "group", "group": 10**12}, 404, "not_found"),
    ],
)
def test_a_bad_announcement_is_refused_and_nothing_is_sent(alpha, api_as, payload, status, code):
    from kruzhok.school.models import StudentGuardian

    if payload.get("audience") == "group" and "group" not in payload:
        payload = {**payload, "group": alpha.group.pk}
    if payload.get("audience") == "family":
        # A family whose child has no open group: {курс} has no value for them.
        StudentGuardian.objects.filter(guardian=alpha.guardian).delete()
        payload = {**payload, "guardian": alpha.guardian.pk}
    response = api_as(alpha.owner).post("/announcements", payload)
    assert response.status_code == status and error_code(response) == code, response.content
    assert not Announcement.objects.exists() and not Message.objects.exists()


def test_only_staff_send_announcements(alpha, api_as):
    for user in (alpha.teacher, alpha.parent, alpha.student_user):
        assert api_as(user).get("/announcements").status_code == 403


def test_a_parent_gives_feedback_and_the_manager_answers_and_closes_it(alpha, api_as):
    given = api_as(alpha.parent).post(
        "/feedback", {"text": "Преподаватель грубит детям, мы недовольны", "student": alpha.student.pk}
    )
    assert given.status_code == 201 and given.json()["alert_open"] is True
    pk = given.json()["id"]
    manager = api_as(alpha.manager)
    assert ids(manager.get("/feedback", {"alert_only": "true"})) == [pk]
    refused = manager.post(f"/feedback/{pk}/status", {"status": "closed"})
    assert refused.status_code == 409 and error_code(refused) == "answer_required"
    assert manager.post(f"/feedback/{pk}/replies", {"body": "Простите, разберёмся."}).status_code == 201
    detail = manager.get(f"/feedback/{pk}").json()
    assert detail["alert_open"] is False and detail["minutes_to_answer"] is not None
    assert manager.post(f"/feedback/{pk}/status", {"status": "closed"}).json()["status"] == "closed"


@pytest.mark.parametrize("payload", [{"text": ""}, {"text": "я" * 2001}, {"text": "ok", "student": "x"}, {}])
def test_malformed_feedback_is_refused(alpha, api_as, payload):
    response = api_as(alpha.parent).post("/feedback", payload)
    assert response.status_code == 422 and not Feedback.objects.exists()


def test_a_parent_cannot_give_feedback_about_another_familys_child(alpha, beta, api_as):
    response = api_as(alpha.parent).post("/feedback", {"text": "Хорошо", "student": beta.student.pk})
    assert response.status_code == 404 and not Feedback.objects.exists()


def test_a_child_gives_a_pulse_once(alpha, api_as):
    lesson = lesson_started(alpha)
    client = api_as(alpha.student_user)
    assert client.post("/pulse", {"lesson": lesson.pk, "score": 5}).status_code == 201
    again = client.post("/pulse", {"lesson": lesson.pk, "score": 1})
    assert again.status_code == 409 and error_code(again) == "already_answered"
    assert client.post("/pulse", {"lesson": lesson.pk, "score": 9}).status_code == 422


def test_a_teacher_rates_engagement(alpha, api_as):
    lesson = lesson_started(alpha)
    client = api_as(alpha.teacher)
    rated = client.post("/engagement", {"lesson": lesson.pk, "student": alpha.student.pk, "score": 4})
    assert rated.status_code == 200 and rated.json()["enrollment_id"] == alpha.enrollment.pk
    assert (
        client.post("/engagement", {"lesson": lesson.pk, "student": alpha.student.pk, "score": 0}).status_code
        == 422
    )
    assert TeacherPulse.objects.get().score == 4


def test_a_parent_answers_a_survey_once_and_a_malformed_answer_is_refused(alpha, api_as):
    survey = Survey.objects.create(
        organization=alpha.org,
        enrollment=alpha.enrollment,
        guardian=alpha.guardian,
        student=alpha.student,
        reason="after_lessons",
        sent_on=timezone.localdate(),
    )
    client = api_as(alpha.parent)
    assert ids(client.get("/surveys")) == [survey.pk]
    for bad in ({"nps": 11}, {"nps": -1}, {"nps": "ten"}, {"nps": 5, "satisfaction": 0}, {}):
        assert client.post(f"/surveys/{survey.pk}/answer", bad).status_code == 422
    assert client.post(f"/surveys/{survey.pk}/answer", {"nps": 3}).json()["alert_open"] is True
    again = client.post(f"/surveys/{survey.pk}/answer", {"nps": 10})
    assert again.status_code == 409 and error_code(again) == "already_answered"
