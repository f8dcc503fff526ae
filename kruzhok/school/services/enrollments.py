"""A child's life in a group: enrolment, trial → active → paused → completed/dropped, transfers and
waiting lists. Every change writes an EnrollmentEvent row; the history is never edited.

Dates:
- `started_on` before the group's start is moved to the group's first day (enrolling in August for a
  September group is normal), rather than refused.
- `ended_on` is the child's last day in the group. A transfer on day X ends the old enrollment on X−1
  and starts the new one on X, so the child is on one register a day.
"""

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from kruzhok.lib import events
from kruzhok.school.models import (
    OPEN_ENROLLMENT_STATUSES,
    DropReason,
    Enrollment,
    EnrollmentEvent,
    EnrollmentStatus,
    Group,
    Guardian,
    Student,
    WaitlistEntry,
    WaitlistStatus,
)
from kruzhok.school.services import people
from kruzhok.school.services.people import org_today

S = EnrollmentStatus
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.TRIAL: frozenset({S.ACTIVE, S.DROPPED, S.COMPLETED}),
    S.ACTIVE: frozenset({S.PAUSED, S.COMPLETED, S.DROPPED}),
    S.PAUSED: frozenset({S.ACTIVE, S.DROPPED, S.COMPLETED}),
}
CLOSING_STATUSES = frozenset({S.COMPLETED, S.DROPPED, S.TRANSFERRED})
START_STATUSES = (S.TRIAL, S.ACTIVE)
NOTE_MAX = EnrollmentEvent._meta.get_field("note").max_length


def _event(
    *, enrollment: Enrollment, from_status: str, to_status: str, on_date: dt.date, actor, note=""
) -> None:
    EnrollmentEvent.objects.create(
        organization_id=enrollment.organization_id,
        enrollment=enrollment,
        from_status=from_status,
        to_status=to_status,
        on_date=on_date,
        actor=actor,
        note=note[:NOTE_MAX],
    )
    events.publish(
        "enrollment.changed",
        organization_id=enrollment.organization_id,
        enrollment_id=enrollment.pk,
        from_status=from_status,
        to_status=to_status,
    )


def _clean_note(note: str) -> str:
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationError(
            _("Комментарий слишком длинный: не больше %(max)d символов."),
            code="note_too_long",
            params={"max": NOTE_MAX},
        )
    return note


def _duplicate_error(student: Student, group: Group) -> ValidationError:
    return ValidationError(
        _("%(student)s уже записан(а) в группу «%(group)s»."),
        code="duplicate",
        params={"student": student.full_name, "group": group.name},
    )


def group_open_count(*, group: Group) -> int:
    return Enrollment.objects.filter(
        organization_id=group.organization_id, group=group, status__in=OPEN_ENROLLMENT_STATUSES
    ).count()


def _create(
    *,
    student: Student,
    group: Group,
    actor,
    status: str,
    started_on: dt.date | None,
    note: str = "",
    transferred_from: Enrollment | None = None,
) -> Enrollment:
    """The checks and insert shared by enrolment, transfer and the waiting list. Caller holds a transaction."""
    if student.organization_id != group.organization_id:
        raise ValidationError(_("Группа не найдена."), code="wrong_org")
    if status not in START_STATUSES:
        raise ValidationError(
            _("Записать можно на пробное занятие или сразу в группу."), code="invalid_status"
        )
    # The group row is the lock that serialises enrolments into it, so two managers cannot both take
    # the last seat (SQLite serialises writers anyway with IMMEDIATE transactions).
    group = Group.objects.select_for_update().get(organization_id=group.organization_id, pk=group.pk)
    today = org_today(student.organization)
    started_on = started_on or today
    if started_on < group.start_date:
        started_on = group.start_date
    if not group.is_active:
        raise ValidationError(
            _("Группа «%(group)s» закрыта."), code="group_ended", params={"group": group.name}
        )
    if started_on > group.end_date or group.end_date < today:
        raise ValidationError(
            _("Группа «%(group)s» закончилась %(date)s."),
            code="group_ended",
            params={"group": group.name, "date": group.end_date.strftime("%d.%m.%Y")},
        )
    if not people.student_has_consent(student=student):
        raise ValidationError(
            _("Нет согласия представителя на обработку персональных данных — сначала отметьте согласие."),
            code="no_consent",
        )
    if Enrollment.objects.filter(
        organization_id=group.organization_id,
        student=student,
        group=group,
        status__in=OPEN_ENROLLMENT_STATUSES,
    ).exists():
        raise _duplicate_error(student, group)
    taken = group_open_count(group=group)
    if taken >= group.capacity:
        raise ValidationError(
            _("В группе «%(group)s» нет свободных мест (%(taken)d из %(capacity)d)."),
            code="group_full",
            params={"group": group.name, "taken": taken, "capacity": group.capacity},
        )
    enrollment = Enrollment(
        organization_id=group.organization_id,
        student=student,
        group=group,
        status=status,
        started_on=started_on,
        transferred_from=transferred_from,
    )
    enrollment.full_clean(validate_constraints=False)
    try:
        # A savepoint, so a lost race on the partial unique index leaves the outer transaction usable.
        with transaction.atomic():
            enrollment.save()
    except IntegrityError as exc:
        raise _duplicate_error(student, group) from exc
    _event(
        enrollment=enrollment, from_status="", to_status=status, on_date=started_on, actor=actor, note=note
    )
    return enrollment


def enrollment_create(
    *, student: Student, group: Group, actor, status: str = "trial", started_on: dt.date | None = None
) -> Enrollment:
    """Enrols a child who has a guardian's consent into a group with a free seat.

    Errors (code): "no_consent", "duplicate" (already in the group), "group_full", "group_ended".
    """
    with transaction.atomic():
        return _create(student=student, group=group, actor=actor, status=status, started_on=started_on)


def _locked(enrollment: Enrollment) -> Enrollment:
    return Enrollment.objects.select_for_update().get(
        organization_id=enrollment.organization_id, pk=enrollment.pk
    )


def _check_change_date(current: Enrollment, on_date: dt.date, today: dt.date) -> None:
    if on_date > today:
        raise ValidationError(_("Дата изменения не может быть в будущем."), code="date_in_future")
    if on_date < current.started_on:
        raise ValidationError(
            _("Дата окончания раньше начала занятий (%(start)s)."),
            code="end_before_start",
            params={"start": current.started_on.strftime("%d.%m.%Y")},
        )
    last = current.events.order_by("-on_date").values_list("on_date", flat=True).first()
    if last is not None and on_date < last:
        raise ValidationError(
            _("Дата раньше последнего изменения (%(last)s)."),
            code="date_before_last_change",
            params={"last": last.strftime("%d.%m.%Y")},
        )


def enrollment_transition(
    *,
    enrollment: Enrollment,
    to_status: str,
    actor,
    on_date: dt.date | None = None,
    reason: str = "",
    note: str = "",
) -> Enrollment:
    """Moves an enrollment along its lifecycle (see ALLOWED_TRANSITIONS); dropping needs a DropReason.

    Errors (code): "invalid_transition", "reason_required", "end_before_start", "date_in_future".
    """
    note = _clean_note(note)
    with transaction.atomic():
        current = _locked(enrollment)
        if to_status not in ALLOWED_TRANSITIONS.get(current.status, frozenset()):
            raise ValidationError(
                _("Нельзя перевести из статуса «%(from)s» в «%(to)s»."),
                code="invalid_transition",
                params={
                    "from": S(current.status).label if current.status in S.values else current.status,
                    "to": S(to_status).label if to_status in S.values else to_status,
                },
            )
        if to_status == S.DROPPED:
            if not reason:
                raise ValidationError(_("Укажите причину ухода."), code="reason_required")
            if reason not in DropReason.values:
                raise ValidationError(_("Выберите причину ухода из списка."), code="invalid_reason")
        today = org_today(current.organization)
        on_date = on_date or today
        _check_change_date(current, on_date, today)
        from_status = current.status
        current.status = to_status
        if to_status in CLOSING_STATUSES:
            current.ended_on = on_date
        if to_status == S.DROPPED:
            current.drop_reason = reason
            current.drop_note = note
        current.full_clean(validate_constraints=False)
        current.save()
        _event(
            enrollment=current,
            from_status=from_status,
            to_status=to_status,
            on_date=on_date,
            actor=actor,
            note=note,
        )
    _refresh(enrollment, current)
    return enrollment


def _refresh(target: Enrollment, source: Enrollment) -> None:
    for field in source._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))


def enrollment_transfer(
    *, enrollment: Enrollment, to_group: Group, actor, on_date: dt.date | None = None, note: str = ""
) -> Enrollment:
    """Moves a child to another group, keeping the history: the old enrollment becomes "transferred"
    and the new one points back to it. The new group gets every check of enrollment_create.

    Returns the new enrollment. Errors (code): "invalid_transition", "same_group", plus enrollment_create's.
    """
    note = _clean_note(note)
    with transaction.atomic():
        current = _locked(enrollment)
        if current.status not in OPEN_ENROLLMENT_STATUSES:
            raise ValidationError(
                _("Перевести можно только того, кто сейчас занимается."), code="invalid_transition"
            )
        if to_group.pk == current.group_id:
            raise ValidationError(_("Выберите другую группу."), code="same_group")
        today = org_today(current.organization)
        on_date = on_date or today
        _check_change_date(current, on_date, today)
        from_status = current.status
        current.status = S.TRANSFERRED
        current.ended_on = max(on_date - dt.timedelta(days=1), current.started_on)
        current.save()
        _event(
            enrollment=current,
            from_status=from_status,
            to_status=S.TRANSFERRED,
            on_date=on_date,
            actor=actor,
            note=note,
        )
        new = _create(
            student=current.student,
            group=to_group,
            actor=actor,
            status=S.TRIAL if from_status == S.TRIAL else S.ACTIVE,
            started_on=on_date,
            note=note,
            transferred_from=current,
        )
    _refresh(enrollment, current)
    return new


def waitlist_add(*, student: Student, group: Group, actor, note: str = "") -> WaitlistEntry:
    """Puts a child in the queue for a full group. Errors (code): "duplicate" (already in the group),
    "already_waiting", "group_ended"."""
    note = (note or "").strip()[: WaitlistEntry._meta.get_field("note").max_length]
    if student.organization_id != group.organization_id:
        raise ValidationError(_("Группа не найдена."), code="wrong_org")
    if not group.is_active or group.end_date < org_today(student.organization):
        raise ValidationError(
            _("Группа «%(group)s» закончилась."), code="group_ended", params={"group": group.name}
        )
    with transaction.atomic():
        if Enrollment.objects.filter(
            organization_id=group.organization_id,
            student=student,
            group=group,
            status__in=OPEN_ENROLLMENT_STATUSES,
        ).exists():
            raise _duplicate_error(student, group)
        entry = WaitlistEntry(organization_id=group.organization_id, student=student, group=group, note=note)
        try:
            with transaction.atomic():
                entry.save()
        except IntegrityError as exc:
            raise ValidationError(
                _("%(student)s уже в листе ожидания группы «%(group)s»."),
                code="already_waiting",
                params={"student": student.full_name, "group": group.name},
            ) from exc
    return entry


def _locked_entry(entry: WaitlistEntry) -> WaitlistEntry:
    current = WaitlistEntry.objects.select_for_update().get(
        organization_id=entry.organization_id, pk=entry.pk
    )
    if current.status != WaitlistStatus.WAITING:
        raise ValidationError(_("Эта запись уже не в листе ожидания."), code="not_waiting")
    return current


def waitlist_enroll(*, entry: WaitlistEntry, actor) -> Enrollment:
    """Enrols the child from the waiting list (as a trial) once a seat is free."""
    with transaction.atomic():
        current = _locked_entry(entry)
        enrollment = _create(
            student=current.student,
            group=current.group,
            actor=actor,
            status=S.TRIAL,
            started_on=None,
            note="Из листа ожидания",
        )
        current.status = WaitlistStatus.ENROLLED
        current.save(update_fields=["status", "updated_at"])
    entry.status = current.status
    return enrollment


def waitlist_cancel(*, entry: WaitlistEntry, actor) -> WaitlistEntry:
    with transaction.atomic():
        current = _locked_entry(entry)
        current.status = WaitlistStatus.CANCELLED
        current.save(update_fields=["status", "updated_at"])
    entry.status = current.status
    return entry


@dataclass
class Admission:
    student: Student
    guardian: Guardian
    enrollment: Enrollment | None = None
    waitlist_entry: WaitlistEntry | None = None
    guardian_existed: bool = False


def student_admit(
    *,
    org,
    actor,
    first_name: str,
    last_name: str,
    birth_date: dt.date,
    guardian_phone: str,
    relation: str,
    consent_text_version: str,
    branch=None,
    notes: str = "",
    guardian_full_name: str = "",
    guardian_email: str = "",
    guardian_telegram_username: str = "",
    group: Group | None = None,
    status: str = "trial",
    started_on: dt.date | None = None,
    waitlist_if_full: bool = False,
) -> Admission:
    """The enrol form in one transaction: child + guardian (found by phone, else created) + consent +
    optionally a group, or that group's waiting list when it is full. Any error leaves nothing behind.

    Errors (code): the people services' codes, "guardian_phone_required", enrollment_create's codes.
    """
    with transaction.atomic():
        student = people.student_create(
            org=org,
            actor=actor,
            first_name=first_name,
            last_name=last_name,
            birth_date=birth_date,
            branch=branch,
            notes=notes,
        )
        if not (guardian_phone or "").strip():
            raise ValidationError(_("Укажите телефон представителя."), code="guardian_phone_required")
        guardian = people.guardian_find_by_phone(org=org, phone=guardian_phone)
        existed = guardian is not None
        if guardian is None:
            guardian = people.guardian_create(
                org=org,
                full_name=guardian_full_name,
                phone=guardian_phone,
                email=guardian_email,
                telegram_username=guardian_telegram_username,
            )
        people.guardian_link(student=student, guardian=guardian, relation=relation, is_primary=True)
        people.consent_record(
            guardian=guardian, student=student, text_version=consent_text_version, actor=actor
        )
        admission = Admission(student=student, guardian=guardian, guardian_existed=existed)
        if group is not None:
            placed = enrollment_or_waitlist(
                student=student,
                group=group,
                actor=actor,
                status=status,
                started_on=started_on,
                waitlist_if_full=waitlist_if_full,
            )
            if isinstance(placed, WaitlistEntry):
                admission.waitlist_entry = placed
            else:
                admission.enrollment = placed
    return admission


def enrollment_or_waitlist(
    *,
    student: Student,
    group: Group,
    actor,
    status: str = "trial",
    started_on: dt.date | None = None,
    waitlist_if_full: bool = False,
) -> Enrollment | WaitlistEntry:
    """Enrols the child; when the group is full and the manager asked for it, queues them instead."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                return enrollment_create(
                    student=student, group=group, actor=actor, status=status, started_on=started_on
                )
        except ValidationError as exc:
            if exc.code != "group_full" or not waitlist_if_full:
                raise
        return waitlist_add(student=student, group=group, actor=actor)
