"""Changes to one lesson after it was scheduled: topic and homework, cancelling, moving, and the
"attendance was taken" flag that protects a held lesson from being regenerated."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from kruzhok.lib import events
from kruzhok.school.models import Lesson, LessonStatus, Room

REASON_MAX = Lesson._meta.get_field("cancel_reason").max_length
TOPIC_MAX = Lesson._meta.get_field("topic").max_length
HOMEWORK_MAX = 5000


def _locked(lesson: Lesson) -> Lesson:
    # The row is re-read under a lock so two staff members editing at once see each other's change
    # (a cancel racing a mark, two cancels) instead of the copy each request loaded earlier.
    return Lesson.objects.select_for_update().get(organization_id=lesson.organization_id, pk=lesson.pk)


def _clean_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Укажите причину."), code="reason_required")
    if len(reason) > REASON_MAX:
        raise ValidationError(
            _("Причина слишком длинная: не больше %(max)d символов."),
            code="reason_too_long",
            params={"max": REASON_MAX},
        )
    return reason


def _copy_into(target: Lesson, source: Lesson) -> Lesson:
    # The caller's instance reflects the saved state, like Model.refresh_from_db().
    for field in source._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    return target


def lesson_update_content(
    *, lesson: Lesson, actor, topic: str | None = None, homework: str | None = None
) -> Lesson:
    """Sets the topic and/or homework; None leaves that field as it is."""
    with transaction.atomic():
        current = _locked(lesson)
        if current.is_cancelled:
            raise ValidationError(
                _("Занятие отменено — тему и задание менять нельзя."), code="lesson_cancelled"
            )
        if topic is not None:
            topic = topic.strip()
            if len(topic) > TOPIC_MAX:
                raise ValidationError(
                    _("Тема слишком длинная: не больше %(max)d символов."),
                    code="topic_too_long",
                    params={"max": TOPIC_MAX},
                )
            current.topic = topic
        if homework is not None:
            homework = homework.strip()
            if len(homework) > HOMEWORK_MAX:
                raise ValidationError(
                    _("Домашнее задание слишком длинное: не больше %(max)d символов."),
                    code="homework_too_long",
                    params={"max": HOMEWORK_MAX},
                )
            current.homework = homework
        current.full_clean()
        current.save(update_fields=["topic", "homework", "updated_at"])
    return _copy_into(lesson, current)


def lesson_cancel(*, lesson: Lesson, actor, reason: str) -> Lesson:
    reason = _clean_reason(reason)
    with transaction.atomic():
        current = _locked(lesson)
        if current.is_cancelled:
            raise ValidationError(_("Занятие уже отменено."), code="already_cancelled")
        # A lesson with marks took place; cancelling it would hide the children's attendance.
        if current.attendance_taken_at is not None:
            raise ValidationError(
                _("На занятии уже отмечена посещаемость — его нельзя отменить."), code="attendance_taken"
            )
        current.status = LessonStatus.CANCELLED
        current.cancel_reason = reason
        current.full_clean()
        current.save(update_fields=["status", "cancel_reason", "updated_at"])
        # Families are told (kruzhok/messaging subscribes); delivered after the commit.
        events.publish(
            "lesson.changed", organization_id=current.organization_id, lesson_id=current.pk,
            change="cancelled", old_starts_at=current.starts_at.isoformat(), reason=reason,
        )  # fmt: skip
    return _copy_into(lesson, current)


def lesson_move(
    *, lesson: Lesson, actor, starts_at: dt.datetime, reason: str, room: Room | None = None
) -> Lesson:
    """Moves the lesson to `starts_at` (time-zone aware), keeping its length; `room` replaces the
    room when given. The first scheduled time is kept in `moved_from` however often it moves."""
    reason = _clean_reason(reason)
    if starts_at is None or timezone.is_naive(starts_at):
        raise ValidationError(_("Укажите дату и время занятия."), code="invalid_time")
    if room is not None and room.organization_id != lesson.organization_id:
        raise ValidationError(_("Такого кабинета нет."), code="invalid_room")
    with transaction.atomic():
        current = _locked(lesson)
        if current.is_cancelled:
            raise ValidationError(_("Занятие отменено — его нельзя перенести."), code="lesson_cancelled")
        if starts_at == current.starts_at and (room is None or room.pk == current.room_id):
            raise ValidationError(_("Новое время совпадает с прежним."), code="same_time")
        duration = current.ends_at - current.starts_at
        previous_start = current.starts_at
        if current.moved_from is None:
            current.moved_from = current.starts_at
        current.starts_at = starts_at
        current.ends_at = starts_at + duration
        if room is not None:
            current.room = room
        current.move_reason = reason
        current.full_clean()
        current.save(
            update_fields=["starts_at", "ends_at", "room", "moved_from", "move_reason", "updated_at"]
        )
        events.publish(
            "lesson.changed", organization_id=current.organization_id, lesson_id=current.pk,
            change="moved", old_starts_at=previous_start.isoformat(), reason=reason,
        )  # fmt: skip
    return _copy_into(lesson, current)


def lesson_attendance_taken(*, lesson: Lesson) -> None:
    """Records that the lesson has marks, so regeneration never deletes or moves it.

    Runs as one conditional UPDATE inside the caller's transaction: it waits for a concurrent
    lesson_cancel() and then refuses (code="lesson_cancelled"), so a mark can never land on a lesson
    that was cancelled a moment earlier."""
    updated = Lesson.objects.filter(
        organization_id=lesson.organization_id, pk=lesson.pk, status=LessonStatus.SCHEDULED
    ).update(attendance_taken_at=Coalesce("attendance_taken_at", timezone.now()))
    if updated != 1:
        raise ValidationError(_("Занятие отменено — отметить посещаемость нельзя."), code="lesson_cancelled")
    if lesson.attendance_taken_at is None:
        lesson.attendance_taken_at = (
            Lesson.objects.filter(organization_id=lesson.organization_id, pk=lesson.pk)
            .values_list("attendance_taken_at", flat=True)
            .get()
        )
