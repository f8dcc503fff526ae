"""Parent surveys: NPS + satisfaction after the Nth lesson, then on the centre's schedule."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from kruzhok.attendance.models import AttendanceMark
from kruzhok.feedback import surveys
from kruzhok.feedback.models import Feedback, Source, Survey
from kruzhok.messaging.models import Message, MessageKind
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db


def attended(world, lessons: int):
    already = AttendanceMark.objects.filter(student=world.student).count()
    for n in range(already, already + lessons):
        starts = timezone.now() - dt.timedelta(days=7 * (n + 1))
        lesson = f.LessonFactory(
            organization=world.org,
            group=world.group,
            slot=world.slot,
            origin_date=starts.date(),
            starts_at=starts,
            ends_at=starts + dt.timedelta(hours=1),
            room=world.room,
            teacher=world.teacher,
        )
        AttendanceMark.objects.create(
            organization=world.org,
            lesson=lesson,
            student=world.student,
            enrollment=world.enrollment,
            status="present",
        )


def test_the_first_survey_goes_after_the_fourth_lesson_once(alpha):
    attended(alpha, 3)
    assert surveys.surveys_send(org=alpha.org) == 0
    attended(alpha, 1)
    assert surveys.surveys_send(org=alpha.org) == 1
    assert surveys.surveys_send(org=alpha.org) == 0
    survey = Survey.objects.get()
    message = Message.objects.get(kind=MessageKind.SURVEY)
    assert message.guardian == alpha.guardian and message.link == reverse("feedback:survey", args=[survey.pk])


def test_then_again_on_the_centres_schedule(alpha):
    surveys.feedback_settings_update(org=alpha.org, survey_after_lessons=2, survey_every_days=30)
    attended(alpha, 2)
    today = timezone.localdate()
    assert surveys.surveys_send(org=alpha.org, today=today) == 1
    assert surveys.surveys_send(org=alpha.org, today=today + dt.timedelta(days=29)) == 0
    assert surveys.surveys_send(org=alpha.org, today=today + dt.timedelta(days=30)) == 1
    assert list(Survey.objects.order_by("sent_on").values_list("reason", flat=True)) == [
        "after_lessons",
        "every_days",
    ]


def test_a_parent_answers_with_one_tap(alpha, client_as):
    attended(alpha, 4)
    surveys.surveys_send(org=alpha.org)
    survey = Survey.objects.get()
    client = client_as(alpha.parent)
    page = client.get(reverse("feedback:survey", args=[survey.pk])).content.decode()
    assert "порекомендуете нас друзьям" in page
    response = client.post(reverse("feedback:survey", args=[survey.pk]), {"nps": "9", "satisfaction": "5"})
    assert response.status_code == 302
    feedback = Feedback.objects.get()
    assert (feedback.source, feedback.nps, feedback.score) == (Source.SURVEY, 9, 5)
    assert feedback.enrollment == alpha.enrollment and not feedback.alert_open
    assert "Вы уже ответили" in client.get(reverse("feedback:survey", args=[survey.pk])).content.decode()
    # A second tap (another tab, a retry) changes nothing.
    assert client.post(reverse("feedback:survey", args=[survey.pk]), {"nps": "0"}).status_code == 400
    assert Feedback.objects.count() == 1


def test_a_detractor_alerts_the_branch_manager(alpha):
    attended(alpha, 4)
    surveys.surveys_send(org=alpha.org)
    feedback = surveys.survey_answer(survey=Survey.objects.get(), actor=alpha.parent, nps=2)
    assert feedback.sentiment == "negative" and feedback.alert_open
    assert Message.objects.filter(kind=MessageKind.FEEDBACK_ALERT, user=alpha.manager).exists()


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"nps": "11"},
        {"nps": "-1"},
        {"nps": "десять"},
        {"nps": "5", "satisfaction": "9"},
        {"nps": "5", "comment": "я" * 1001},
        {"nps": "5.5"},
    ],
)
def test_a_malformed_answer_is_refused_and_the_survey_stays_open(alpha, client_as, data):
    attended(alpha, 4)
    surveys.surveys_send(org=alpha.org)
    survey = Survey.objects.get()
    response = client_as(alpha.parent).post(reverse("feedback:survey", args=[survey.pk]), data)
    assert response.status_code == 400
    survey.refresh_from_db()
    assert survey.answered_at is None and not Feedback.objects.exists()


def test_another_parent_or_organisation_cannot_open_the_survey(alpha, beta, client_as):
    attended(alpha, 4)
    surveys.surveys_send(org=alpha.org)
    survey = Survey.objects.get()
    other_parent = f.UserFactory(username="alpha_parent2")
    from kruzhok.accounts.models import Membership

    Membership.objects.create(user=other_parent, organization=alpha.org, role="parent")
    for user in (other_parent, beta.parent):
        assert client_as(user).get(reverse("feedback:survey", args=[survey.pk])).status_code == 404
        assert (
            client_as(user).post(reverse("feedback:survey", args=[survey.pk]), {"nps": "0"}).status_code
            == 404
        )
    assert client_as(alpha.manager).get(reverse("feedback:survey", args=[survey.pk])).status_code == 403


def test_the_owner_sets_the_schedule_and_bad_values_are_refused(alpha, client_as):
    client = client_as(alpha.owner)
    url = reverse("feedback:survey_settings")
    assert client.post(url, {"survey_after_lessons": "6", "survey_every_days": "60"}).status_code == 302
    assert surveys.feedback_settings_for(org=alpha.org).survey_after_lessons == 6
    assert client.post(url, {"survey_after_lessons": "0", "survey_every_days": "-1"}).status_code == 400
    assert surveys.feedback_settings_for(org=alpha.org).survey_every_days == 60
    assert client_as(alpha.manager).get(url).status_code == 403


def test_the_inbox_shows_nps_and_the_median_time_to_answer(alpha, client_as):
    attended(alpha, 4)
    surveys.surveys_send(org=alpha.org)
    surveys.survey_answer(survey=Survey.objects.get(), actor=alpha.parent, nps=10, satisfaction=5)
    page = client_as(alpha.owner).get(reverse("feedback:inbox")).content.decode()
    assert "NPS: <strong>100</strong>" in page


def test_the_command_sends_for_every_organisation(alpha, beta, capsys):
    attended(alpha, 4)
    call_command("send_surveys")
    assert "organizations: 2, surveys: 1" in capsys.readouterr().out
