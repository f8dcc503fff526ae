"""Automatic messages to families: lesson reminders, lesson changes (cancelled, moved) and renewal
reminders. Each is idempotent through the message's dedupe key, so a re-run or a redelivered event
sends nothing twice."""

import datetime as dt

from django.utils import timezone

from kruzhok.accounts.models import Organization
from kruzhok.lib.dates import org_timezone
from kruzhok.lib.tenancy import for_each_organisation
from kruzhok.messaging import texts
from kruzhok.messaging.models import Message, MessageKind
from kruzhok.school.models import (
    OPEN_ENROLLMENT_STATUSES,
    Enrollment,
    Lesson,
    LessonStatus,
    Student,
    StudentGuardian,
)

MONTHS = [
    "января", "февраля", "марта", "апреля", "мая", "июня",
    "июля", "августа", "сентября", "октября", "ноября", "декабря",
]  # fmt: skip
WEEKDAYS = ["понедельник", "вторник", "среду", "четверг", "пятницу", "субботу", "воскресенье"]


def _when(moment: dt.datetime, zone) -> str:
    """«в среду, 3 декабря, в 16:00» in the organisation's zone."""
    local = moment.astimezone(zone)
    return f"в {WEEKDAYS[local.weekday()]}, {local.day} {MONTHS[local.month - 1]}, в {local:%H:%M}"


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
        course = lesson.group.course
        _send_once(
            org=org,
            guardian=guardian,
            student=student,
            kind=MessageKind.LESSON_REMINDER,
            subject=f"{student.first_name}: занятие {_when(lesson.starts_at, zone)}",
            body=(
                f"Напоминаем: {student.first_name}, "
                f"{texts.lesson_phrase(subject=course.subject, course_title=course.title)[3:]} "
                f"{_when(lesson.starts_at, zone)} (группа «{lesson.group.name}»). Ждём!"
            ),
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
    course = lesson.group.course
    what = texts.lesson_phrase(subject=course.subject, course_title=course.title)[3:]
    what = what[:1].upper() + what[1:]
    if change == "cancelled":
        subject = f"Занятие {_when(old, zone)} отменено"
        body = f"{what} {_when(old, zone)} (группа «{lesson.group.name}») отменено."
    else:
        subject = f"Занятие перенесено: {_when(lesson.starts_at, zone)}"
        body = (
            f"{what} (группа «{lesson.group.name}») перенесено {_when(old, zone).replace('в ', 'с ', 1)} "
            f"на {_when(lesson.starts_at, zone).removeprefix('в ')}."
        )
    if reason:
        body += f" Причина: {reason[:300]}"
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
            subject=f"{student.first_name}: {subject[:1].lower()}{subject[1:]}",
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
    left = int(lessons_left or 0)
    left_text = f", осталось занятий: {left}" if left > 0 else ", занятия по нему закончились"
    body = (
        f"Абонемент {student.first_name} действует до {ends.day} {MONTHS[ends.month - 1]}{left_text}. "
        "Чтобы не было перерыва, продлите его у администратора центра."
    )
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
            subject=f"{student.first_name}: пора продлить абонемент",
            body=body,
            key=key,
        )
        sent += 1
    return sent
