import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from kruzhok.feedback import services
from kruzhok.feedback.models import Feedback, Source, Status
from kruzhok.messaging.models import Message, MessageKind

pytestmark = pytest.mark.django_db


def negative(world, text="Преподаватель грубит детям, мы недовольны"):
    return services.feedback_submit(
        org=world.org, actor=world.parent, guardian=world.guardian, student=world.student, text=text
    )


def lesson_started(world):
    world.lesson.starts_at = timezone.now() - dt.timedelta(hours=2)
    world.lesson.ends_at = world.lesson.starts_at + dt.timedelta(hours=1)
    world.lesson.save()
    return world.lesson


def test_negative_feedback_alerts_the_branch_manager(alpha):
    feedback = negative(alpha)
    assert feedback.sentiment == "negative" and feedback.alert_open
    (alert,) = Message.objects.filter(kind=MessageKind.FEEDBACK_ALERT)
    assert alert.user == alpha.manager
    assert alert.link == reverse("feedback:feedback_detail", args=[feedback.pk])
    assert "грубит" in alert.body


def test_positive_feedback_raises_no_alert(alpha):
    feedback = negative(alpha, text="Спасибо, ребёнку очень нравится!")
    assert feedback.sentiment == "positive" and not feedback.alert_open
    assert not Message.objects.filter(kind=MessageKind.FEEDBACK_ALERT).exists()


def test_an_answer_closes_the_loop_and_records_time_to_answer(alpha, client_as):
    feedback = negative(alpha)
    client = client_as(alpha.manager)
    response = client.post(
        reverse("feedback:feedback_detail", args=[feedback.pk]), {"body": "Извините, разберёмся сегодня."}
    )
    assert response.status_code == 302
    feedback.refresh_from_db()
    assert not feedback.alert_open and feedback.status == Status.ANSWERED
    assert feedback.answered_by == alpha.manager and feedback.time_to_answer >= dt.timedelta(0)
    reply = Message.objects.get(kind=MessageKind.FEEDBACK_REPLY)
    assert reply.body == "Извините, разберёмся сегодня." and reply.guardian == alpha.guardian
    # The parent sees the answer both in the inbox and under their feedback.
    parent = client_as(alpha.parent)
    assert "Ответ на ваш отзыв" in parent.get(reverse("messaging:inbox")).content.decode()
    assert "разберёмся сегодня" in parent.get(reverse("feedback:give")).content.decode()


def test_an_open_alert_cannot_be_closed_without_an_answer(alpha, client_as):
    feedback = negative(alpha)
    client_as(alpha.manager).post(
        reverse("feedback:feedback_status", args=[feedback.pk]), {"status": "closed"}
    )
    feedback.refresh_from_db()
    assert feedback.status == Status.NEW and feedback.alert_open


def test_a_parent_leaves_feedback_from_the_page(alpha, client_as):
    client = client_as(alpha.parent)
    response = client.post(reverse("feedback:give"), {"student": alpha.student.pk, "text": "Всё отлично!"})
    assert response.status_code == 302
    feedback = Feedback.objects.get()
    assert feedback.source == Source.PARENT and feedback.student == alpha.student
    assert feedback.branch == alpha.branch


@pytest.mark.parametrize(
    "data",
    [
        {"text": ""},
        {"text": "х" * 2001},
        {"text": "ок", "student": "not-a-number"},
    ],
)
def test_bad_parent_feedback_is_refused_with_a_message(alpha, client_as, data):
    response = client_as(alpha.parent).post(reverse("feedback:give"), data)
    assert response.status_code == 400
    assert not Feedback.objects.exists()


def test_a_parent_cannot_write_about_another_familys_child(alpha, beta, client_as):
    response = client_as(alpha.parent).post(
        reverse("feedback:give"), {"student": beta.student.pk, "text": "x"}
    )
    assert response.status_code == 400 and not Feedback.objects.exists()


def test_hostile_text_is_escaped_in_the_inbox(alpha, client_as):
    negative(alpha, text="<script>alert('x')</script> ужасно")
    page = client_as(alpha.owner).get(reverse("feedback:inbox")).content.decode()
    assert "<script>alert" not in page and "&lt;script&gt;" in page


def test_a_child_rates_a_lesson_with_a_face(alpha, client_as):
    lesson = lesson_started(alpha)
    client = client_as(alpha.student_user)
    assert "Робототехника (alpha)" in client.get(reverse("feedback:pulse_list")).content.decode()
    response = client.post(reverse("feedback:pulse", args=[lesson.pk]), {"score": "1", "comment": ""})
    assert response.status_code == 302
    pulse = Feedback.objects.get(source=Source.PULSE)
    assert pulse.score == 1 and pulse.sentiment == "negative" and pulse.alert_open
    again = client.post(reverse("feedback:pulse", args=[lesson.pk]), {"score": "5"})
    assert again.status_code == 400 and "уже ответили" in again.content.decode()
    assert Feedback.objects.count() == 1


@pytest.mark.parametrize("score", ["0", "6", "abc", "", "3.5"])
def test_a_malformed_pulse_is_refused(alpha, client_as, score):
    lesson = lesson_started(alpha)
    response = client_as(alpha.student_user).post(
        reverse("feedback:pulse", args=[lesson.pk]), {"score": score}
    )
    assert response.status_code == 400 and not Feedback.objects.exists()


def test_a_future_lesson_cannot_be_rated(alpha):
    alpha.lesson.starts_at = timezone.now() + dt.timedelta(hours=3)
    alpha.lesson.ends_at = alpha.lesson.starts_at + dt.timedelta(hours=1)
    alpha.lesson.save()
    with pytest.raises(ValidationError) as error:
        services.pulse_submit(
            org=alpha.org, actor=alpha.student_user, student=alpha.student, lesson=alpha.lesson, score=5
        )
    assert error.value.code == "not_open"


def test_the_inbox_filters_by_tone_and_open_alerts(alpha, client_as):
    negative(alpha)
    negative(alpha, text="Спасибо большое, всё отлично!")
    client = client_as(alpha.manager)
    page = client.get(reverse("feedback:inbox"), {"sentiment": "positive"}).content.decode()
    assert "всё отлично" in page and "грубит" not in page
    page = client.get(reverse("feedback:inbox"), {"alert": "on"}, HTTP_HX_REQUEST="true").content.decode()
    assert "грубит" in page and "всё отлично" not in page


def test_managers_of_other_branches_and_other_orgs_do_not_see_it(alpha, beta, client_as):
    feedback = negative(alpha)
    alpha.branch.managers.clear()
    assert (
        client_as(alpha.manager).get(reverse("feedback:feedback_detail", args=[feedback.pk])).status_code
        == 404
    )
    assert (
        client_as(beta.owner).get(reverse("feedback:feedback_detail", args=[feedback.pk])).status_code == 404
    )
    assert (
        client_as(alpha.owner).get(reverse("feedback:feedback_detail", args=[feedback.pk])).status_code == 200
    )


def test_lower_roles_are_refused(alpha, client_as):
    for user in (alpha.teacher, alpha.parent, alpha.student_user):
        assert client_as(user).get(reverse("feedback:inbox")).status_code == 403
    assert client_as(alpha.parent).get(reverse("feedback:pulse_list")).status_code == 403
    assert client_as(alpha.student_user).get(reverse("feedback:give")).status_code == 403


def test_feedback_is_tagged_with_what_it_is_about_and_filtered_by_it(alpha, client_as):
    feedback = negative(alpha, text="Преподаватель грубит, а в кабинете холодно")
    negative(alpha, text="Очень дорого, недовольны ценой")
    assert feedback.aspects == ["teacher", "premises"]
    client = client_as(alpha.owner)
    page = client.get(reverse("feedback:inbox"), {"aspect": "premises"}).content.decode()
    assert "в кабинете холодно" in page and "дорого" not in page
    assert "помещение" in page
    assert client.get(reverse("feedback:inbox"), {"aspect": "<script>"}).status_code == 200
