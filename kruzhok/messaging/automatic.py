"""Automatic messages to families: lesson reminders, lesson changes (cancelled, moved) and renewal
reminders. Each is idempotent through the message's dedupe key, so a re-run or a redelivered event
sends nothing twice."""

import datetime as dt

from django.utils import dateformat, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from kruzhok.accounts.models import Organization
from kruzhok.lib.dates import org_timezone
from kruzhok.lib.tenancy import for_each_organisation
from kruzhok.messaging.models import Message, MessageKind
from kruzhok.school.models import (
    OPEN_ENROLLMENT_STATUSES,
    Enrollment,
    Lesson,
    LessonStatus,
    Student,
    StudentGuardian,
)

# «в среду»: Django's date format knows only the nominative weekday («среда»), and a sentence needs the
# form after «в»; English takes the plain name («on Wednesday»).
WEEKDAYS_AFTER_V = [
    pgettext_lazy("weekday after «в»", "понедельник"),
    pgettext_lazy("weekday after «в»", "вторник"),
    pgettext_lazy("weekday after «в»", "среду"),
    pgettext_lazy("weekday after «в»", "четверг"),
    pgettext_lazy("weekday after «в»", "пятницу"),
    pgettext_lazy("weekday after «в»", "субботу"),
    pgettext_lazy("weekday after «в»", "воскресенье"),
]

# The lesson named whole, so each language words it its own way («занятие по робототехнике» /
# «robotics lesson»); one entry per Subject value (kruzhok.school.models.Subject).
LESSON_OF_SUBJECT = {
    "robotics": gettext_lazy("занятие по робототехнике"),
    "programming": gettext_lazy("занятие по программированию"),
    "english": gettext_lazy("занятие по английскому языку"),
    "chess": gettext_lazy("занятие по шахматам"),
    "drawing": gettext_lazy("занятие по рисованию"),
    "dance": gettext_lazy("занятие по танцам"),
    "music": gettext_lazy("занятие по музыке"),
    "math": gettext_lazy("занятие по математике"),
    "sports": gettext_lazy("занятие по спорту"),
    "theatre": gettext_lazy("занятие по театральному мастерству"),
    "science": gettext_lazy("занятие по естественным наукам"),
}


def _moment(moment: dt.datetime, zone, prefix: str = "") -> dict[str, str]:
    """The words of a lesson's time in the organisation's zone, in the active language:
    weekday («среду»), date («3 декабря», from Django's localized month names) and time («16:00»)."""
    local = moment.astimezone(zone)
    return {
        f"{prefix}weekday": str(WEEKDAYS_AFTER_V[local.weekday()]),
        f"{prefix}date": dateformat.format(local, "j E"),
        f"{prefix}time": dateformat.format(local, "H:i"),
    }


def _lesson_words(course) -> str:
    words = LESSON_OF_SUBJECT.get(course.subject)
    if words is not None:
        return str(words)
    return _("занятие «%(title)s»") % {"title": course.title}


def reminder_text(*, lesson: Lesson, student: Student, zone) -> tuple[str, str]:
    """(subject, body) of a lesson reminder in the active language."""
    when = _moment(lesson.starts_at, zone)
    subject = _("%(child)s: занятие в %(weekday)s, %(date)s, в %(time)s") % {
        "child": student.first_name,
        **when,
    }
    body = _(
        "Напоминаем: %(child)s, %(lesson)s в %(weekday)s, %(date)s, в %(time)s (группа «%(group)s»). Ждём!"
    ) % {
        "child": student.first_name,
        "lesson": _lesson_words(lesson.group.course),
        "group": lesson.group.name,
        **when,
    }
    return subject, body


def change_text(*, lesson: Lesson, change: str, old: dt.datetime, reason: str, zone) -> tuple[str, str]:
    """(subject without the child's name, body) of a lesson cancelled or moved, in the active language."""
    words = {"lesson": _lesson_words(lesson.group.course), "group": lesson.group.name}
    if change == "cancelled":
        when = _moment(old, zone)
        subject = _("занятие в %(weekday)s, %(date)s, в %(time)s отменено") % when
        body = _("%(lesson)s в %(weekday)s, %(date)s, в %(time)s (группа «%(group)s») отменено.") % {
            **words,
            **when,
        }
    else:
        when = _moment(lesson.starts_at, zone)
        subject = _("занятие перенесено: в %(weekday)s, %(date)s, в %(time)s") % when
        body = _(
            # «с %(old_date)s», not «с %(old_weekday)s»: after «с» Russian needs the genitive («со среды»).
            "%(lesson)s (группа «%(group)s») перенесено с %(old_date)s, %(old_time)s, "
            "на %(weekday)s, %(date)s, в %(time)s."
        ) % {**words, **when, **_moment(old, zone, prefix="old_")}
    body = capfirst(body)
    if reason:
        body = _("%(notice)s Причина: %(reason)s") % {"notice": body, "reason": reason[:300]}
    return subject, body


def renewal_text(*, student: Student, ends: dt.date, lessons_left: int) -> tuple[str, str]:
    """(subject, body) of a renewal reminder in the active language."""
    words = {"child": student.first_name, "date": dateformat.format(ends, "j E"), "left": lessons_left}
    if lessons_left > 0:
        body = _(
            "Абонемент %(child)s действует до %(date)s, осталось занятий: %(left)s. "
            "Чтобы не было перерыва, продлите его у администратора центра."
        )
    else:
        body = _(
            "Абонемент %(child)s действует до %(date)s, занятия по нему закончились. "
            "Чтобы не было перерыва, продлите его у администратора центра."
        )
    subject = _("%(child)s: пора продлить абонемент") % words
    return subject, body % words


def _families(*, org: Organization, group_ids: list[int]) -> dict[int, list[tuple]]:
    """group id → [(guardian, student)] for the children with an open enrollment."""
    enrollments = Enrollment.objects.filter(
        organization=org, group_id__in=group_ids, status__in=OPEN_ENROLLMENT_STATUSES
    ).values_list("group_id", "student_id")
    students_by_group: dict[int, set[int]] = {}
    for group_id, student_id in enrollments:
        students_by_group.setdefault(group_id, set()).add(student_id)
    all_students = {s for ids in students_by_group.values() for s in ids}
    links = StudentGuardian.objects.filter(organization=org, student_id__in=all_students).select_related(
        "guardian", "guardian__user", "student"
    )
    by_student: dict[int, list] = {}
    for link in links.order_by("student_id", "guardian_id"):
        by_student.setdefault(link.student_id, []).append((link.guardian, link.student))
    return {
        group_id: [pair for s in sorted(ids) for pair in by_student.get(s, [])]
        for group_id, ids in students_by_group.items()
    }


def _send_once(
    *, org: Organization, guardian, student: Student, kind: str, subject: str, body: str, key: str
):
    from kruzhok.messaging.services import message_enqueue

    return message_enqueue(
        org=org,
        guardian=guardian,
        user=guardian.user,
        student=student,
        kind=kind,
        subject=subject,
        body=body,
        dedupe_key=key,
    )


def lesson_reminders_enqueue(*, org: Organization, now: dt.datetime | None = None) -> int:
    """Reminds each family of a lesson starting within the centre's `reminder_hours` (24 = the day
    before). Once per lesson, child, guardian and start time: a moved lesson is reminded again."""
    from kruzhok.messaging.services import messaging_settings_for

    row = messaging_settings_for(org_id=org.pk)
    hours = row.reminder_hours if row is not None else 24
    if not hours:
        return 0
    now = now or timezone.now()
    zone = org_timezone(org)
    lessons = list(
        Lesson.objects.filter(
            organization=org,
            status=LessonStatus.SCHEDULED,
            starts_at__gt=now,
            starts_at__lte=now + dt.timedelta(hours=hours),
        ).select_related("group", "group__course")
    )
    if not lessons:
        return 0
    families = _families(org=org, group_ids=sorted({lesson.group_id for lesson in lessons}))
    keys = {}
    for lesson in lessons:
        for guardian, student in families.get(lesson.group_id, []):
            stamp = int(lesson.starts_at.timestamp())
            keys[f"remind:{lesson.pk}:{stamp}:{student.pk}:{guardian.pk}"] = (lesson, guardian, student)
    sent_before = set(
        Message.objects.filter(organization=org, dedupe_key__in=list(keys)).values_list(
            "dedupe_key", flat=True
        )
    )
    sent = 0
    for key, (lesson, guardian, student) in keys.items():
        if key in sent_before:
            continue
        subject, body = reminder_text(lesson=lesson, student=student, zone=zone)
        _send_once(
            org=org,
            guardian=guardian,
            student=student,
            kind=MessageKind.LESSON_REMINDER,
            subject=subject,
            body=body,
            key=key,
        )
        sent += 1
    return sent


def lesson_reminders_all(*, now: dt.datetime | None = None) -> dict[str, int]:
    return for_each_organisation(lesson_reminders_enqueue, count_key="messages", now=now)


def lesson_change_notify(
    *, org: Organization, lesson_id: int, change: str, old_starts_at: str = "", reason: str = ""
) -> int:
    """Tells each family of the group that a lesson was cancelled or moved (only when it matters: the
    old or the new time is still ahead)."""
    lesson = (
        Lesson.objects.filter(organization=org, pk=lesson_id).select_related("group", "group__course").first()
    )
    if lesson is None or change not in ("cancelled", "moved"):
        return 0
    zone = org_timezone(org)
    try:
        old = dt.datetime.fromisoformat(old_starts_at) if old_starts_at else lesson.starts_at
    except ValueError:
        old = lesson.starts_at
    now = timezone.now()
    if max(old, lesson.starts_at) < now:
        return 0
    subject, body = change_text(lesson=lesson, change=change, old=old, reason=reason, zone=zone)
    sent = 0
    stamp = int(lesson.starts_at.timestamp())
    for guardian, student in _families(org=org, group_ids=[lesson.group_id]).get(lesson.group_id, []):
        key = f"lesson-{change}:{lesson.pk}:{stamp}:{student.pk}:{guardian.pk}"
        if Message.objects.filter(organization=org, dedupe_key=key).exists():
            continue
        _send_once(
            org=org,
            guardian=guardian,
            student=student,
            kind=MessageKind.LESSON_CHANGE,
            subject=f"{student.first_name}: {subject}",
            body=body,
            key=key,
        )
        sent += 1
    return sent


def renewal_reminder_enqueue(
    *, org: Organization, subscription_id: int, student_id: int, valid_to: str, lessons_left
) -> int:
    """«Абонемент Маши заканчивается 5 декабря»: once per subscription and end date, to each guardian."""
    student = Student.objects.filter(organization=org, pk=student_id).first()
    if student is None:
        return 0
    try:
        ends = dt.date.fromisoformat(valid_to)
    except (TypeError, ValueError):
        return 0
    subject, body = renewal_text(student=student, ends=ends, lessons_left=int(lessons_left or 0))
    sent = 0
    links = StudentGuardian.objects.filter(organization=org, student=student).select_related(
        "guardian", "guardian__user"
    )
    for link in links.order_by("guardian_id"):
        key = f"renewal:{subscription_id}:{valid_to}:{link.guardian_id}"
        if Message.objects.filter(organization=org, dedupe_key=key).exists():
            continue
        _send_once(
            org=org,
            guardian=link.guardian,
            student=student,
            kind=MessageKind.RENEWAL,
            subject=subject,
            body=body,
            key=key,
        )
        sent += 1
    return sent
