import datetime as dt

from django.db.models import Exists, OuterRef, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from kruzhok.accounts.models import Membership, Organization, Role
from kruzhok.feedback.models import Feedback, Source
from kruzhok.feedback.services import PULSE_WINDOW
from kruzhok.school.models import (
    OPEN_ENROLLMENT_STATUSES,
    Enrollment,
    Guardian,
    Lesson,
    LessonStatus,
    Student,
)


def feedback_list(
    *,
    membership: Membership,
    status: str | None = None,
    sentiment: str | None = None,
    source: str | None = None,
    alert_only: bool = False,
    aspect: str | None = None,
) -> QuerySet[Feedback]:
    """Owners see the whole organisation; a manager sees feedback from their branches."""
    qs = Feedback.objects.filter(organization_id=membership.organization_id).select_related(
        "student", "guardian", "lesson", "lesson__group", "branch", "author", "answered_by"
    )
    if membership.role == Role.MANAGER:
        qs = qs.filter(branch__managers=membership.user)
    elif membership.role != Role.OWNER:
        return qs.none()
    if status:
        qs = qs.filter(status=status)
    if sentiment:
        qs = qs.filter(sentiment=sentiment)
    if source:
        qs = qs.filter(source=source)
    if alert_only:
        qs = qs.filter(alert_open=True)
    if aspect:
        # JSON containment is not on SQLite; the aspect names are fixed words, so a quoted match is exact.
        qs = qs.filter(aspects__icontains=f'"{aspect}"')
    return qs.order_by("-alert_open", "-created_at", "-id")


def feedback_get(*, membership: Membership, pk) -> Feedback:
    return get_object_or_404(feedback_list(membership=membership), pk=pk)


def feedback_by_author(*, user, org: Organization) -> QuerySet[Feedback]:
    return (
        Feedback.objects.filter(organization=org, author=user)
        .select_related("student")
        .prefetch_related("replies")
        .order_by("-created_at")
    )


def guardian_of_user(*, user, org: Organization) -> Guardian | None:
    return Guardian.objects.filter(organization=org, user=user).first()


def student_of_user(*, user, org: Organization) -> Student | None:
    return Student.objects.filter(organization=org, user=user).first()


def pulse_lessons(*, student: Student, now: dt.datetime | None = None) -> QuerySet[Lesson]:
    """The child's lessons of the last week that took place, each with `answered`."""
    now = now or timezone.now()
    groups = Enrollment.objects.filter(
        organization_id=student.organization_id, student=student, status__in=OPEN_ENROLLMENT_STATUSES
    ).values("group_id")
    answered = Feedback.objects.filter(lesson=OuterRef("pk"), student=student, source=Source.PULSE)
    return (
        Lesson.objects.filter(
            organization_id=student.organization_id,
            group_id__in=groups,
            status=LessonStatus.SCHEDULED,
            starts_at__lte=now,
            starts_at__gte=now - PULSE_WINDOW,
        )
        .select_related("group", "group__course")
        .annotate(answered=Exists(answered))
        .order_by("-starts_at")
    )


def pulse_lesson_get(*, student: Student, pk) -> Lesson:
    return get_object_or_404(pulse_lessons(student=student), pk=pk)


def inbox_figures(*, membership: Membership) -> dict:
    """What the inbox header shows: median time to the first answer of negative feedback over the last
    90 days (the "close the loop" figure) and the NPS of survey answers in the same scope."""
    since = timezone.now() - dt.timedelta(days=90)
    scoped = feedback_list(membership=membership).filter(created_at__gte=since)
    waits = sorted(
        (answered - (opened or created)).total_seconds()
        for opened, created, answered in scoped.filter(
            alert_opened_at__isnull=False, first_answered_at__isnull=False
        ).values_list("alert_opened_at", "created_at", "first_answered_at")
    )
    median = None
    if waits:
        middle = len(waits) // 2
        median = waits[middle] if len(waits) % 2 else (waits[middle - 1] + waits[middle]) / 2
    answers = scoped.filter(source=Source.SURVEY, nps__isnull=False).values_list("nps", flat=True)
    scores = list(answers)
    nps = None
    if scores:
        nps = round(100 * (sum(1 for s in scores if s >= 9) - sum(1 for s in scores if s <= 6)) / len(scores))
    return {
        "median_answer": dt.timedelta(seconds=round(median)) if median is not None else None,
        "median_answer_text": human_duration(median) if median is not None else "",
        "answered": len(waits),
        "nps": nps,
        "nps_answers": len(scores),
    }


def human_duration(seconds: float) -> str:
    """«12 мин», «3 ч 5 мин», «2 дн 4 ч»: how long a family waited, at a glance."""
    from django.utils.translation import gettext as _

    minutes = max(0, round(seconds / 60))
    if minutes < 60:
        return _("%(m)d мин") % {"m": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return _("%(h)d ч %(m)d мин") % {"h": hours, "m": minutes}
    days, hours = divmod(hours, 24)
    return _("%(d)d дн %(h)d ч") % {"d": days, "h": hours}
