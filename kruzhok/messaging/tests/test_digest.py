import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from kruzhok.attendance.models import AttendanceMark
from kruzhok.messaging import services
from kruzhok.messaging.models import Message

pytestmark = pytest.mark.django_db


def test_the_weekly_digest_tells_each_family_about_their_childs_week(alpha, beta):
    alpha.lesson.homework = "Собрать модель по схеме"
    alpha.lesson.save()
    AttendanceMark.objects.create(
        organization=alpha.org,
        lesson=alpha.lesson,
        student=alpha.student,
        enrollment=alpha.enrollment,
        status="absent",
    )
    today = timezone.localdate()
    assert services.weekly_digest_enqueue(org=alpha.org, today=today) == 1
    (digest,) = Message.objects.filter(organization=alpha.org, subject="Маша: итоги недели")
    assert "был(а) на 0 занятиях, пропустил(а) 1" in digest.body
    assert "Домашнее задание: Собрать модель по схеме" in digest.body
    assert digest.guardian == alpha.guardian
    # The same week again sends nothing; another organisation's family is not in A's digest.
    assert services.weekly_digest_enqueue(org=alpha.org, today=today) == 0
    assert not Message.objects.filter(organization=alpha.org, guardian=beta.guardian).exists()


def test_the_command_runs_for_every_organisation(alpha, beta, capsys):
    call_command("send_weekly_digest", "--date", (timezone.localdate() + dt.timedelta(days=1)).isoformat())
    assert "organisations: 2, messages queued: 2" in capsys.readouterr().out
