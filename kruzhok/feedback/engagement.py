"""The teacher's pulse: «вовлечён ли ребёнок?» 1–5 for each child after a lesson, one tap each.

Rows are dated (`on_date`, the lesson's local day) and tied to the enrollment, so the early-warning
feature provider reads "engagement as of a date" per enrollment without joins. A tap can be changed
(the latest one counts); there is no alert: it is a signal for the risk model and the weekly digest.
"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Avg, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kruzhok.accounts.models import Membership
from kruzhok.attendance import selectors as attendance_selectors
from kruzhok.feedback.models import TeacherPulse
from kruzhok.school.models import Lesson, LessonStatus, Student

NOTE_MAX = 300
# A teacher rates the lessons of the last two weeks; older impressions are not a pulse any more.
RATE_WINDOW = dt.timedelta(days=14)
SCORES = [(1, "1"), (2, "2"), (3, "3"), (4, "4"), (5, "5")]


def teacher_lessons(*, membership: Membership, now: dt.datetime | None = None) -> QuerySet[Lesson]:
    """Lessons in the member's scope that have started within the window, newest first."""
    now = now or timezone.now()
    return (
        attendance_selectors.lesson_scope(membership=membership)
        .filter(status=LessonStatus.SCHEDULED, starts_at__lte=now, starts_at__gte=now - RATE_WINDOW)
        .order_by("-starts_at", "-pk")
    )


def lesson_for_rating(*, membership: Membership, pk) -> Lesson:
    lesson = teacher_lessons(membership=membership).filter(pk=pk).first()
    if lesson is None:
        from django.http import Http404

        raise Http404
    return lesson


def roster_with_scores(*, lesson: Lesson) -> list[dict]:
    """The lesson's children, each with the score given (None when not rated yet)."""
    scores = {
        p.student_id: p
        for p in TeacherPulse.objects.filter(organization_id=lesson.organization_id, lesson=lesson)
    }
    return [
        {"student": row.student, "pulse": scores.get(row.student.pk)}
        for row in attendance_selectors.roster_for_lesson(lesson=lesson)
    ]


def teacher_pulse_set(*, lesson: Lesson, student: Student, actor, score, note: str = "") -> TeacherPulse:
    """Records (or changes) the teacher's 1–5 about one child at one lesson."""
    if isinstance(score, bool):
        score = None
    try:
        score = int(str(score).strip())
    except (TypeError, ValueError):
        score = 0
    if not 1 <= score <= 5:
        raise ValidationError(_("Оценка вовлечённости — число от 1 до 5."), code="invalid_score")
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationError(
            _("Заметка слишком длинная: не больше %(max)d символов."),
            code="too_long",
            params={"max": NOTE_MAX},
        )
    if lesson.status == LessonStatus.CANCELLED or lesson.starts_at > timezone.now():
        raise ValidationError(_("Оценить можно только прошедшее занятие."), code="not_open")
    enrollment = attendance_selectors.enrollment_for_mark(lesson=lesson, student=student)
    if enrollment is None or student.organization_id != lesson.organization_id:
        raise ValidationError(_("Этого ребёнка не было в группе на этом занятии."), code="not_in_group")
    on_date = attendance_selectors.lesson_local_date(lesson)
    with transaction.atomic():
        pulse, _created = TeacherPulse.all_objects.update_or_create(
            organization_id=lesson.organization_id,
            lesson=lesson,
            student=student,
            defaults={
                "enrollment": enrollment,
                "teacher": actor,
                "on_date": on_date,
                "score": score,
                "note": note,
            },
        )
    return pulse


def engagement_as_of(*, enrollment_ids, on_date: dt.date, days: int = 28) -> dict[int, float]:
    """Mean teacher score per enrollment over the `days` before `on_date` (inclusive), for features."""
    rows = (
        TeacherPulse.objects.filter(
            enrollment_id__in=list(enrollment_ids),
            on_date__lte=on_date,
            on_date__gt=on_date - dt.timedelta(days=days),
        )
        .values("enrollment_id")
        .annotate(mean=Avg("score"))
    )
    return {row["enrollment_id"]: float(row["mean"]) for row in rows}


def digest_teacher_line(*, org, student_id: int, since: dt.datetime, until: dt.datetime) -> list[str]:
    """The weekly digest's «what the teacher says»: the latest note, else the week's engagement."""
    pulses = TeacherPulse.objects.filter(
        organization=org, student_id=student_id, on_date__gte=since.date(), on_date__lte=until.date()
    ).order_by("-on_date", "-pk")
    latest_note = pulses.exclude(note="").first()
    if latest_note is not None:
        return [_("Учитель: «%(note)s»") % {"note": latest_note.note}]
    mean = pulses.aggregate(mean=Avg("score"))["mean"]
    if mean is None:
        return []
    if mean >= 4.5:
        line = _("Учитель отмечает: на занятиях очень вовлечён(а) (%(mean)s из 5).")
    elif mean >= 3.5:
        line = _("Учитель отмечает: на занятиях вовлечён(а) (%(mean)s из 5).")
    else:
        line = _("Учитель отмечает: на занятиях пока вовлечён(а) не всегда (%(mean)s из 5).")
    return [line % {"mean": f"{mean:.1f}"}]
