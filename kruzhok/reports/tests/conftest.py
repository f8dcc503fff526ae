"""A month of one group in organisation A, with marks of every kind, for the report tests."""

import datetime as dt
from dataclasses import dataclass
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from django.utils import timezone

from kruzhok.attendance.models import AttendanceMark
from kruzhok.lib.dates import org_timezone
from kruzhok.messaging.tests.fake_servers import FakeSMTP
from kruzhok.reports.params import previous_month
from kruzhok.school.models import LessonStatus
from kruzhok.testing import factories as f


@dataclass
class MonthWorld:
    month: dt.date
    lessons: list
    cancelled: object
    anya: object
    boris: object
    marks: dict  # (lesson index, student) → status


@pytest.fixture
def month_world(alpha):
    org = alpha.org
    tz = org_timezone(org)
    month = previous_month(timezone.localdate())
    start = month - dt.timedelta(days=20)
    anya = f.StudentFactory(organization=org, branch=alpha.branch, first_name="Аня", last_name="Акимова")
    boris = f.StudentFactory(organization=org, branch=alpha.branch, first_name="Борис", last_name="Бобров")
    enrollments = {
        s.pk: f.EnrollmentFactory(organization=org, student=s, group=alpha.group, started_on=start)
        for s in (anya, boris)
    }
    lessons = []
    for day in (3, 10, 17):
        starts = dt.datetime.combine(month.replace(day=day), dt.time(16, 0), tzinfo=tz)
        lessons.append(
            f.LessonFactory(
                organization=org,
                group=alpha.group,
                starts_at=starts,
                ends_at=starts + dt.timedelta(minutes=90),
                teacher=alpha.teacher,
            )
        )
    starts = dt.datetime.combine(month.replace(day=24), dt.time(16, 0), tzinfo=tz)
    cancelled = f.LessonFactory(
        organization=org,
        group=alpha.group,
        starts_at=starts,
        ends_at=starts + dt.timedelta(minutes=90),
        teacher=alpha.teacher,
        status=LessonStatus.CANCELLED,
    )
    marks = {
        (0, anya): "present",
        (1, anya): "absent",
        (2, anya): "excused",
        (0, boris): "present",
        (1, boris): "late",
    }
    for (index, student), status in marks.items():
        AttendanceMark.objects.create(
            organization=org,
            lesson=lessons[index],
            student=student,
            enrollment=enrollments[student.pk],
            status=status,
        )
    return MonthWorld(month=month, lessons=lessons, cancelled=cancelled, anya=anya, boris=boris, marks=marks)


class MailCatcher(FakeSMTP):
    """messaging's real SMTP server on loopback, keeping attachments as well."""

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 — aiosmtpd hook name
        parsed = message_from_bytes(envelope.content, policy=default_policy)
        self.received.append(
            {
                "to": sorted(envelope.rcpt_tos),
                "subject": str(parsed["Subject"]),
                "body": parsed.get_body(preferencelist=("plain",)).get_content(),
                "attachments": [
                    (part.get_filename(), part.get_content_type(), part.get_content())
                    for part in parsed.iter_attachments()
                ],
            }
        )
        return "250 Message accepted for delivery"


@pytest.fixture
def mail_catcher(settings):
    server = MailCatcher().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    yield server
    server.stop()
