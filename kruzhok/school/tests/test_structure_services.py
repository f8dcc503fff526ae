"""Set-up services refuse what a person could get wrong, in Russian, with a code, and save nothing."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from kruzhok.accounts.models import Membership, Role
from kruzhok.school.models import Branch, Course, Group, Holiday, Lesson, Room, ScheduleSlot
from kruzhok.school.services import structure as services
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db

MON_4PM = {"weekday": 0, "start_time": dt.time(16, 0), "duration_minutes": 60}


@pytest.fixture
def org():
    return f.OrganizationFactory(name="Центр «Ромашка»")


@pytest.fixture
def branch(org):
    return f.BranchFactory(organization=org, name="Центральный")


@pytest.fixture
def course(org):
    return f.CourseFactory(organization=org, title="Шахматы для начинающих")


@pytest.fixture
def teacher(org):
    user = f.UserFactory()
    Membership.objects.create(user=user, organization=org, role=Role.TEACHER)
    return user


def group_kwargs(org, course, branch, **extra):
    kwargs = {
        "org": org,
        "course": course,
        "branch": branch,
        "name": "Шахматы-1",
        "capacity": 10,
        "start_date": dt.date(2026, 9, 1),
        "end_date": dt.date(2027, 5, 31),
    }
    kwargs.update(extra)
    return kwargs


def refused(code, call, *args, **kwargs):
    with pytest.raises(ValidationError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, caught.value
    assert any(ch in "абвгдеёжзийклмнопрстуфхцчшщъыьэюя" for ch in caught.value.messages[0].lower())
    return caught.value


# ---------------------------------------------------------------- branches and rooms


def test_it_creates_a_branch_with_a_trimmed_name(org):
    branch = services.branch_create(org=org, name="  Северный  ", address="ул. Мира, 5")
    assert branch.name == "Северный"
    assert branch.organization == org


def test_it_refuses_a_duplicate_branch_name(org, branch):
    refused("duplicate", services.branch_create, org=org, name="центральный")
    assert Branch.objects.filter(organization=org).count() == 1


def test_the_same_branch_name_is_fine_in_another_organisation(branch):
    other = f.OrganizationFactory()
    assert services.branch_create(org=other, name=branch.name).pk


def test_it_refuses_an_empty_branch_name(org):
    refused("required", services.branch_create, org=org, name="   ")


def test_it_refuses_a_branch_manager_who_is_not_a_manager(org, branch, teacher):
    refused("manager", services.branch_update, branch=branch, managers=[teacher])
    assert not branch.managers.exists()


def test_it_sets_branch_managers(org, branch):
    manager = f.UserFactory()
    Membership.objects.create(user=manager, organization=org, role=Role.MANAGER)
    services.branch_update(branch=branch, name="Центральный-2", managers=[manager])
    branch.refresh_from_db()
    assert branch.name == "Центральный-2"
    assert list(branch.managers.all()) == [manager]


def test_a_failed_branch_update_leaves_the_row_and_the_object_unchanged(org, branch):
    services.branch_create(org=org, name="Южный")
    refused("duplicate", services.branch_update, branch=branch, name="Южный")
    assert branch.name == "Центральный"
    branch.refresh_from_db()
    assert branch.name == "Центральный"


def test_it_refuses_a_room_with_no_places(org, branch):
    refused("capacity", services.room_create, org=org, branch=branch, name="Кабинет 5", capacity=0)
    assert not Room.objects.filter(organization=org).exists()


def test_it_refuses_a_duplicate_room_in_the_same_branch_only(org, branch):
    services.room_create(org=org, branch=branch, name="Кабинет 5")
    refused("duplicate", services.room_create, org=org, branch=branch, name="Кабинет 5")
    other_branch = f.BranchFactory(organization=org)
    assert services.room_create(org=org, branch=other_branch, name="Кабинет 5").pk


def test_it_refuses_a_room_in_another_organisations_branch(org):
    foreign_branch = f.BranchFactory()
    refused("foreign", services.room_create, org=org, branch=foreign_branch, name="Кабинет")


def test_it_updates_a_room(org, branch):
    room = services.room_create(org=org, branch=branch, name="Кабинет 5", capacity=8)
    services.room_update(room=room, name="Кабинет 6", capacity=15)
    room.refresh_from_db()
    assert (room.name, room.capacity) == ("Кабинет 6", 15)


# ---------------------------------------------------------------- courses


def test_it_creates_a_course(org):
    course = services.course_create(
        org=org,
        title="Робототехника",
        subject="robotics",
        age_min=7,
        age_max=11,
        lessons_per_week=2,
        lesson_minutes=90,
        length_weeks=32,
        price_per_month=Decimal("4500"),
    )
    course.refresh_from_db()
    assert (course.age_min, course.age_max, course.price_per_month) == (7, 11, Decimal("4500.00"))


def test_it_refuses_an_age_range_upside_down(org):
    error = refused("age_range", services.course_create, org=org, title="Танцы", age_min=12, age_max=7)
    assert "возраст" in error.messages[0].lower()
    assert not Course.objects.filter(organization=org).exists()


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("age_max", 150, "age_range"),
        ("lessons_per_week", 0, "lessons_per_week"),
        ("price_per_month", Decimal("-1"), "price"),
        ("price_per_month", "дорого", "price"),
        ("lesson_minutes", 2, "duration"),
        ("subject", "alchemy", "subject"),
        ("length_weeks", 0, "length"),
    ],
)
def test_it_refuses_a_course_with_a_bad_value(org, field, value, code):
    refused(code, services.course_create, org=org, title="Курс", **{field: value})
    assert not Course.objects.filter(organization=org).exists()


def test_it_refuses_a_duplicate_course_title(org, course):
    refused("duplicate", services.course_create, org=org, title=course.title)


def test_it_updates_a_course_and_refuses_a_bad_update(org, course):
    services.course_update(course=course, age_min=6, age_max=9, is_active=False)
    course.refresh_from_db()
    assert (course.age_min, course.age_max, course.is_active) == (6, 9, False)
    refused("age_range", services.course_update, course=course, age_min=10)
    course.refresh_from_db()
    assert course.age_min == 6


def test_it_refuses_unknown_course_fields(org):
    with pytest.raises(TypeError):
        services.course_create(org=org, title="Курс", organization_id=999)


# ---------------------------------------------------------------- groups


def test_it_creates_a_group_with_its_weekly_rule(org, course, branch, teacher):
    room = f.RoomFactory(organization=org, branch=branch)
    group = services.group_create(
        **group_kwargs(org, course, branch, room=room, teacher=teacher, slots=[MON_4PM])
    )
    slot = ScheduleSlot.objects.get(group=group)
    assert (slot.weekday, slot.start_time, slot.duration_minutes) == (0, dt.time(16, 0), 60)
    assert group.teacher == teacher


def test_it_refuses_a_group_that_ends_before_it_starts(org, course, branch):
    kwargs = group_kwargs(org, course, branch, start_date=dt.date(2026, 9, 1), end_date=dt.date(2026, 8, 1))
    error = refused("dates", services.group_create, slots=[MON_4PM], **kwargs)
    assert "раньше" in error.messages[0]
    assert not Group.objects.filter(organization=org).exists()
    assert not Lesson.objects.filter(organization=org).exists()


@pytest.mark.parametrize("capacity", [0, -3, 100000, "много"])
def test_it_refuses_a_group_without_sensible_capacity(org, course, branch, capacity):
    refused("capacity", services.group_create, **group_kwargs(org, course, branch, capacity=capacity))
    assert not Group.objects.filter(organization=org).exists()


def test_it_refuses_a_duplicate_group_name(org, course, branch):
    services.group_create(**group_kwargs(org, course, branch))
    refused("duplicate", services.group_create, **group_kwargs(org, course, branch))


def test_it_refuses_a_room_from_another_branch(org, course, branch):
    other_room = f.RoomFactory(organization=org, branch=f.BranchFactory(organization=org))
    refused("room_branch", services.group_create, **group_kwargs(org, course, branch, room=other_room))
    assert not Group.objects.filter(organization=org).exists()


def test_it_refuses_a_course_of_another_organisation(org, branch):
    foreign_course = f.CourseFactory()
    refused("foreign", services.group_create, **group_kwargs(org, foreign_course, branch))


@pytest.mark.parametrize("role", [Role.PARENT, Role.MANAGER, Role.STUDENT, None])
def test_it_refuses_a_teacher_who_is_not_teaching_staff_here(org, course, branch, role):
    user = f.UserFactory()
    if role is not None:
        Membership.objects.create(user=user, organization=org, role=role)
    else:  # a teacher, but of another organisation
        Membership.objects.create(user=user, organization=f.OrganizationFactory(), role=Role.TEACHER)
    refused("teacher", services.group_create, **group_kwargs(org, course, branch, teacher=user))


def test_an_owner_may_teach_a_group(org, course, branch):
    owner = f.UserFactory()
    Membership.objects.create(user=owner, organization=org, role=Role.OWNER)
    assert services.group_create(**group_kwargs(org, course, branch, teacher=owner)).teacher == owner


def test_it_refuses_a_deactivated_teacher(org, course, branch, teacher):
    Membership.objects.filter(user=teacher).update(is_active=False)
    refused("teacher", services.group_create, **group_kwargs(org, course, branch, teacher=teacher))


@pytest.mark.parametrize(
    ("slot", "code"),
    [
        ({"weekday": 7, "start_time": dt.time(16, 0), "duration_minutes": 60}, "slot_weekday"),
        ({"weekday": "пн", "start_time": dt.time(16, 0), "duration_minutes": 60}, "slot_weekday"),
        ({"weekday": 1, "start_time": dt.time(16, 0), "duration_minutes": 2}, "slot_duration"),
        ({"weekday": 1, "start_time": dt.time(16, 0), "duration_minutes": 100000}, "slot_duration"),
        ({"weekday": 1, "start_time": dt.time(23, 30), "duration_minutes": 60}, "slot_duration"),
        ({"weekday": 1, "start_time": "в обед", "duration_minutes": 60}, "slot_time"),
        ({"weekday": 1, "start_time": None, "duration_minutes": 60}, "slot_time"),
    ],
)
def test_it_refuses_an_invalid_slot(org, course, branch, slot, code):
    refused(code, services.group_create, slots=[slot], **group_kwargs(org, course, branch))
    assert not Group.objects.filter(organization=org).exists()
    assert not ScheduleSlot.objects.filter(organization=org).exists()


def test_it_refuses_overlapping_slots(org, course, branch):
    slots = [
        {"weekday": 2, "start_time": dt.time(16, 0), "duration_minutes": 90},
        {"weekday": 2, "start_time": dt.time(17, 0), "duration_minutes": 60},
    ]
    error = refused("slot_overlap", services.group_create, slots=slots, **group_kwargs(org, course, branch))
    assert "пересекаются" in error.messages[0]
    assert not Group.objects.filter(organization=org).exists()


def test_back_to_back_slots_do_not_overlap(org, course, branch):
    slots = [
        {"weekday": 2, "start_time": dt.time(16, 0), "duration_minutes": 60},
        {"weekday": 2, "start_time": "17:00", "duration_minutes": 60},
    ]
    group = services.group_create(slots=slots, **group_kwargs(org, course, branch))
    assert group.slots.count() == 2


def test_a_failed_group_update_changes_nothing(org, course, branch):
    group = services.group_create(slots=[MON_4PM], **group_kwargs(org, course, branch))
    refused("dates", services.group_update, group=group, end_date=dt.date(2020, 1, 1), slots=[])
    assert group.end_date == dt.date(2027, 5, 31)
    group.refresh_from_db()
    assert group.end_date == dt.date(2027, 5, 31)
    assert group.slots.count() == 1


def test_a_bad_slot_in_an_update_keeps_the_old_rule(org, course, branch):
    group = services.group_create(slots=[MON_4PM], **group_kwargs(org, course, branch))
    bad = {"weekday": 3, "start_time": dt.time(16, 0), "duration_minutes": 1}
    refused("slot_duration", services.group_update, group=group, name="Новое имя", slots=[bad])
    group.refresh_from_db()
    assert group.name == "Шахматы-1"
    assert [s.weekday for s in group.slots.all()] == [0]


# ---------------------------------------------------------------- holidays


def test_it_creates_a_holiday(org):
    holiday = services.holiday_create(
        org=org, name="Новогодние каникулы", start_date=dt.date(2026, 12, 31), end_date=dt.date(2027, 1, 8)
    )
    assert Holiday.objects.get(pk=holiday.pk).name == "Новогодние каникулы"


def test_it_refuses_a_holiday_that_ends_before_it_starts(org):
    refused(
        "dates",
        services.holiday_create,
        org=org,
        name="Каникулы",
        start_date=dt.date(2027, 1, 8),
        end_date=dt.date(2026, 12, 31),
    )
    assert not Holiday.objects.filter(organization=org).exists()


def test_it_refuses_a_holiday_longer_than_a_year(org):
    refused(
        "dates",
        services.holiday_create,
        org=org,
        name="Вечные каникулы",
        start_date=dt.date(2026, 1, 1),
        end_date=dt.date(2030, 1, 1),
    )
