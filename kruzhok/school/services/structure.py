"""The owner's set-up of an organisation: branches, rooms, courses, groups with their weekly rule, holidays.

Every check that a person can fail is made here, before anything is written, with a Russian message
and a stable `code` the views and the API map to a field. The database constraints stay as the
backstop for races.
"""

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kruzhok.accounts.models import Membership, Organization, Role
from kruzhok.school.models import Branch, Course, Group, Holiday, LessonStatus, Room, ScheduleSlot, Subject
from kruzhok.school.services.lessons import lessons_generate, org_timezone, untouched_future_lessons

BRANCH_FIELDS = {"name", "address"}
ROOM_FIELDS = {"name", "capacity"}
COURSE_FIELDS = {
    "title",
    "subject",
    "description",
    "age_min",
    "age_max",
    "lesson_minutes",
    "lessons_per_week",
    "length_weeks",
    "price_per_month",
    "is_active",
}
GROUP_FIELDS = {
    "course",
    "branch",
    "room",
    "teacher",
    "name",
    "capacity",
    "start_date",
    "end_date",
    "is_active",
}

MAX_AGE = 99
MAX_CAPACITY = 500
MAX_SLOT_MINUTES = 480
MIN_SLOT_MINUTES = 5
MAX_SLOTS = 14
MAX_GROUP_DAYS = 5 * 366
MAX_HOLIDAY_DAYS = 366
MAX_PRICE = Decimal("10000000")


def _refuse_unknown(fields: dict[str, Any], allowed: set[str]) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"unknown fields: {', '.join(sorted(unknown))}")


def _clean_name(value: Any, *, max_length: int) -> str:
    name = str(value or "").strip()
    if not name:
        raise ValidationError(_("Укажите название."), code="required")
    if len(name) > max_length:
        raise ValidationError(
            _("Название слишком длинное: не больше %(n)s символов.") % {"n": max_length}, code="too_long"
        )
    return name


def _int_in(value: Any, *, low: int, high: int, message: str, code: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError(message, code=code) from None
    if number < low or number > high:
        raise ValidationError(message, code=code)
    return number


def _same_org(obj: Any, org: Organization) -> None:
    if obj is not None and obj.organization_id != org.pk:
        # Never say what the foreign object is: its existence is not ours to reveal.
        raise ValidationError(_("Объект не найден в вашей организации."), code="foreign")


def _check_dates(start: Any, end: Any, *, max_days: int) -> None:
    if not isinstance(start, dt.date) or not isinstance(end, dt.date):
        raise ValidationError(_("Укажите даты начала и окончания."), code="dates")
    if end < start:
        raise ValidationError(_("Дата окончания раньше даты начала."), code="dates")
    if (end - start).days > max_days:
        raise ValidationError(_("Слишком длинный период: проверьте даты."), code="dates")


def _name_taken(queryset, field: str, value: str, *, exclude_pk: Any) -> bool:
    # Compared in Python: SQLite folds only ASCII case, and «Центральный» must clash with «центральный».
    wanted = value.casefold()
    if exclude_pk is not None:
        queryset = queryset.exclude(pk=exclude_pk)
    return any(name.casefold() == wanted for name in queryset.values_list(field, flat=True))


def _is_staff_member(*, org: Organization, user: Any, roles: Iterable[str]) -> bool:
    return Membership.objects.filter(
        organization=org, user=user, is_active=True, role__in=list(roles)
    ).exists()


# ---------------------------------------------------------------- branches and rooms


def _validate_branch(*, org: Organization, branch: Branch) -> None:
    branch.name = _clean_name(branch.name, max_length=200)
    branch.address = str(branch.address or "").strip()
    if len(branch.address) > 300:
        raise ValidationError(_("Адрес слишком длинный: не больше 300 символов."), code="too_long")
    if _name_taken(Branch.objects.filter(organization=org), "name", branch.name, exclude_pk=branch.pk):
        raise ValidationError(_("Филиал с таким названием уже есть."), code="duplicate")


def _set_managers(*, branch: Branch, managers: Iterable[Any]) -> None:
    managers = list(managers)
    for user in managers:
        if not _is_staff_member(org=branch.organization, user=user, roles=[Role.MANAGER]):
            raise ValidationError(_("Руководить филиалом может только менеджер организации."), code="manager")
    branch.managers.set(managers)


def branch_create(*, org: Organization, name: str, address: str = "", managers: Iterable[Any] = ()) -> Branch:
    branch = Branch(organization=org, name=name, address=address)
    _validate_branch(org=org, branch=branch)
    with transaction.atomic():
        branch.full_clean()
        branch.save()
        _set_managers(branch=branch, managers=managers)
    return branch


def branch_update(*, branch: Branch, managers: Iterable[Any] | None = None, **fields: Any) -> Branch:
    _refuse_unknown(fields, BRANCH_FIELDS)
    for key, value in fields.items():
        setattr(branch, key, value)
    try:
        _validate_branch(org=branch.organization, branch=branch)
        with transaction.atomic():
            branch.full_clean()
            branch.save()
            if managers is not None:
                _set_managers(branch=branch, managers=managers)
    except ValidationError:
        branch.refresh_from_db()
        raise
    return branch


def _validate_room(*, room: Room) -> None:
    room.name = _clean_name(room.name, max_length=100)
    room.capacity = _int_in(
        room.capacity,
        low=1,
        high=MAX_CAPACITY,
        message=_("Вместимость — от 1 до %(n)s человек.") % {"n": MAX_CAPACITY},
        code="capacity",
    )
    rooms = Room.objects.filter(organization_id=room.organization_id, branch_id=room.branch_id)
    if _name_taken(rooms, "name", room.name, exclude_pk=room.pk):
        raise ValidationError(_("В этом филиале уже есть кабинет с таким названием."), code="duplicate")


def room_create(*, org: Organization, branch: Branch, name: str, capacity: int = 12) -> Room:
    _same_org(branch, org)
    room = Room(organization=org, branch=branch, name=name, capacity=capacity)
    _validate_room(room=room)
    with transaction.atomic():
        room.full_clean()
        room.save()
    return room


def room_update(*, room: Room, **fields: Any) -> Room:
    _refuse_unknown(fields, ROOM_FIELDS)
    for key, value in fields.items():
        setattr(room, key, value)
    try:
        _validate_room(room=room)
        with transaction.atomic():
            room.full_clean()
            room.save()
    except ValidationError:
        room.refresh_from_db()
        raise
    return room


# ---------------------------------------------------------------- courses


def _validate_course(*, org: Organization, course: Course) -> None:
    course.title = _clean_name(course.title, max_length=200)
    if course.subject not in Subject.values:
        raise ValidationError(_("Выберите направление из списка."), code="subject")
    age_message = _("Возраст — от 0 до %(n)s лет.") % {"n": MAX_AGE}
    course.age_min = _int_in(course.age_min, low=0, high=MAX_AGE, message=age_message, code="age_range")
    course.age_max = _int_in(course.age_max, low=0, high=MAX_AGE, message=age_message, code="age_range")
    if course.age_min > course.age_max:
        raise ValidationError(_("Минимальный возраст больше максимального."), code="age_range")
    course.lesson_minutes = _int_in(
        course.lesson_minutes,
        low=MIN_SLOT_MINUTES,
        high=MAX_SLOT_MINUTES,
        message=_("Длительность занятия — от %(a)s до %(b)s минут.")
        % {"a": MIN_SLOT_MINUTES, "b": MAX_SLOT_MINUTES},
        code="duration",
    )
    course.lessons_per_week = _int_in(
        course.lessons_per_week,
        low=1,
        high=14,
        message=_("Занятий в неделю — от 1 до 14."),
        code="lessons_per_week",
    )
    course.length_weeks = _int_in(
        course.length_weeks,
        low=1,
        high=520,
        message=_("Длительность курса — от 1 до 520 недель."),
        code="length",
    )
    try:
        price = Decimal(str(course.price_per_month))
    except (InvalidOperation, ValueError):
        raise ValidationError(_("Цена должна быть числом."), code="price") from None
    if not price.is_finite() or price < 0 or price >= MAX_PRICE:
        raise ValidationError(_("Цена должна быть от 0 до 10 000 000 ₽."), code="price")
    course.price_per_month = price
    course.description = str(course.description or "").strip()
    if _name_taken(Course.objects.filter(organization=org), "title", course.title, exclude_pk=course.pk):
        raise ValidationError(_("Курс с таким названием уже есть."), code="duplicate")


def course_create(*, org: Organization, **fields: Any) -> Course:
    _refuse_unknown(fields, COURSE_FIELDS)
    course = Course(organization=org, **fields)
    _validate_course(org=org, course=course)
    with transaction.atomic():
        course.full_clean()
        course.save()
    return course


def course_update(*, course: Course, **fields: Any) -> Course:
    _refuse_unknown(fields, COURSE_FIELDS)
    for key, value in fields.items():
        setattr(course, key, value)
    try:
        _validate_course(org=course.organization, course=course)
        with transaction.atomic():
            course.full_clean()
            course.save()
    except ValidationError:
        course.refresh_from_db()
        raise
    return course


# ---------------------------------------------------------------- groups and their weekly rule

SlotKey = tuple[int, dt.time]


def _parse_time(value: Any) -> dt.time:
    if isinstance(value, dt.time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    if isinstance(value, str):
        try:
            return dt.time.fromisoformat(value.strip()).replace(second=0, microsecond=0)
        except ValueError:
            pass
    raise ValidationError(_("Укажите время начала занятия, например 16:00."), code="slot_time")


def clean_slots(slots: Iterable[dict[str, Any]]) -> dict[SlotKey, int]:
    """The weekly rule as {(weekday, start_time): minutes}, or a ValidationError a person can act on."""
    rule: dict[SlotKey, int] = {}
    for raw in slots:
        weekday = _int_in(
            raw.get("weekday"), low=0, high=6, message=_("Выберите день недели."), code="slot_weekday"
        )
        start = _parse_time(raw.get("start_time"))
        minutes = _int_in(
            raw.get("duration_minutes", 60),
            low=MIN_SLOT_MINUTES,
            high=MAX_SLOT_MINUTES,
            message=_("Длительность занятия — от %(a)s до %(b)s минут.")
            % {"a": MIN_SLOT_MINUTES, "b": MAX_SLOT_MINUTES},
            code="slot_duration",
        )
        if start.hour * 60 + start.minute + minutes > 24 * 60:
            raise ValidationError(_("Занятие должно закончиться до полуночи."), code="slot_duration")
        if (weekday, start) in rule:
            raise ValidationError(_("В расписании два одинаковых занятия."), code="slot_overlap")
        rule[(weekday, start)] = minutes
    if len(rule) > MAX_SLOTS:
        raise ValidationError(
            _("Слишком много занятий в неделю: не больше %(n)s.") % {"n": MAX_SLOTS}, code="slot_count"
        )
    previous: tuple[int, int, int] | None = None
    for (weekday, start), minutes in sorted(rule.items()):
        begins = start.hour * 60 + start.minute
        if previous and previous[0] == weekday and previous[2] > begins:
            day = dict(ScheduleSlot._meta.get_field("weekday").choices)[weekday]
            raise ValidationError(
                _("Занятия в расписании пересекаются (%(day)s %(time)s).")
                % {"day": day, "time": start.strftime("%H:%M")},
                code="slot_overlap",
            )
        previous = (weekday, begins, begins + minutes)
    return rule


def _validate_group(*, org: Organization, group: Group) -> None:
    group.name = _clean_name(group.name, max_length=200)
    if group.course_id is None or group.branch_id is None:
        raise ValidationError(_("Выберите курс и филиал."), code="required")
    for related in (group.course, group.branch, group.room):
        _same_org(related, org)
    if group.room is not None and group.room.branch_id != group.branch_id:
        raise ValidationError(_("Этот кабинет находится в другом филиале."), code="room_branch")
    if group.teacher is not None and not _is_staff_member(
        org=org, user=group.teacher, roles=[Role.TEACHER, Role.OWNER]
    ):
        raise ValidationError(_("Преподаватель должен быть сотрудником организации."), code="teacher")
    group.capacity = _int_in(
        group.capacity,
        low=1,
        high=MAX_CAPACITY,
        message=_("В группе должно быть от 1 до %(n)s мест.") % {"n": MAX_CAPACITY},
        code="capacity",
    )
    _check_dates(group.start_date, group.end_date, max_days=MAX_GROUP_DAYS)
    if _name_taken(Group.objects.filter(organization=org), "name", group.name, exclude_pk=group.pk):
        raise ValidationError(_("Группа с таким названием уже есть."), code="duplicate")


def _sync_slots(*, group: Group, rule: dict[SlotKey, int]) -> None:
    org = group.organization
    existing = {
        (slot.weekday, slot.start_time): slot
        for slot in ScheduleSlot.objects.filter(organization=org, group=group)
    }
    removed = [slot.pk for key, slot in existing.items() if key not in rule]
    if removed:
        # Lesson.slot is SET_NULL: delete the untouched lessons first, or they would outlive their rule.
        today = timezone.localdate(timezone=org_timezone(org))
        untouched_future_lessons(org=org, now=timezone.now(), today=today).filter(
            slot_id__in=removed
        ).delete()
        ScheduleSlot.objects.filter(organization=org, pk__in=removed).delete()
    for (weekday, start), minutes in rule.items():
        slot = existing.get((weekday, start))
        if slot is None:
            slot = ScheduleSlot(
                organization=org, group=group, weekday=weekday, start_time=start, duration_minutes=minutes
            )
        elif slot.duration_minutes == minutes:
            continue
        slot.duration_minutes = minutes
        slot.full_clean()
        slot.save()


def _follow_group_staff(*, group: Group, old_room_id: int | None, old_teacher_id: int | None) -> None:
    """Future lessons nobody has marked follow the group to its new room and teacher."""
    upcoming = group.lessons.filter(
        organization_id=group.organization_id,
        starts_at__gt=timezone.now(),
        status=LessonStatus.SCHEDULED,
        attendance_taken_at__isnull=True,
    )
    if group.room_id != old_room_id:
        upcoming.filter(room_id=old_room_id).update(room_id=group.room_id)
    if group.teacher_id != old_teacher_id:
        upcoming.filter(teacher_id=old_teacher_id).update(teacher_id=group.teacher_id)


def group_create(
    *,
    org: Organization,
    course: Course,
    branch: Branch,
    name: str,
    capacity: int,
    start_date: dt.date,
    end_date: dt.date,
    room: Room | None = None,
    teacher: Any = None,
    slots: Iterable[dict[str, Any]] = (),
    is_active: bool = True,
) -> Group:
    group = Group(
        organization=org,
        course=course,
        branch=branch,
        room=room,
        teacher=teacher,
        name=name,
        capacity=capacity,
        start_date=start_date,
        end_date=end_date,
        is_active=is_active,
    )
    _validate_group(org=org, group=group)
    rule = clean_slots(slots)
    with transaction.atomic():
        group.full_clean()
        group.save()
        _sync_slots(group=group, rule=rule)
        lessons_generate(org=org, group=group)
    return group


def group_update(*, group: Group, slots: Iterable[dict[str, Any]] | None = None, **fields: Any) -> Group:
    """Change the group and, when `slots` is given, replace its weekly rule; lessons follow (see lessons.py)."""
    _refuse_unknown(fields, GROUP_FIELDS)
    org = group.organization
    old_room_id, old_teacher_id = group.room_id, group.teacher_id
    for key, value in fields.items():
        setattr(group, key, value)
    try:
        _validate_group(org=org, group=group)
        rule = clean_slots(slots) if slots is not None else None
        with transaction.atomic():
            group.full_clean()
            group.save()
            if rule is not None:
                _sync_slots(group=group, rule=rule)
            _follow_group_staff(group=group, old_room_id=old_room_id, old_teacher_id=old_teacher_id)
            lessons_generate(org=org, group=group)
    except ValidationError:
        group.refresh_from_db()
        raise
    return group


# ---------------------------------------------------------------- holidays


def holiday_create(*, org: Organization, name: str, start_date: dt.date, end_date: dt.date) -> Holiday:
    holiday = Holiday(
        organization=org, name=_clean_name(name, max_length=200), start_date=start_date, end_date=end_date
    )
    _check_dates(start_date, end_date, max_days=MAX_HOLIDAY_DAYS)
    with transaction.atomic():
        holiday.full_clean()
        holiday.save()
        lessons_generate(org=org)
    return holiday


def holiday_delete(*, holiday: Holiday) -> None:
    org = holiday.organization
    with transaction.atomic():
        holiday.delete()
        # The days come back: lessons the holiday had removed are generated again.
        lessons_generate(org=org)
