import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from kruzhok.school.models import Group, Lesson, ScheduleSlot
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db


def group_post(world, *, slots=(), **overrides):
    today = timezone.localdate()
    data = {
        "name": "Шахматы-2",
        "course": world.course.pk,
        "branch": world.branch.pk,
        "room": world.room.pk,
        "teacher": world.teacher.pk,
        "capacity": 12,
        "start_date": today.isoformat(),
        "end_date": (today + dt.timedelta(days=90)).isoformat(),
        "slots-TOTAL_FORMS": "4",
        "slots-INITIAL_FORMS": "0",
        "slots-MIN_NUM_FORMS": "0",
        "slots-MAX_NUM_FORMS": "14",
    }
    for i in range(4):
        weekday, start, minutes = slots[i] if i < len(slots) else ("", "", "60")
        data.update(
            {
                f"slots-{i}-weekday": weekday,
                f"slots-{i}-start_time": start,
                f"slots-{i}-duration_minutes": minutes,
            }
        )
    data.update(overrides)
    return data


def tomorrow_weekday() -> str:
    return str((timezone.localdate() + dt.timedelta(days=1)).weekday())


# ---------------------------------------------------------------- list


def test_the_owner_sees_every_group_with_its_fill(client_as, alpha):
    f.GroupFactory(organization=alpha.org, branch=alpha.other_branch, course=alpha.course, name="Север-1")
    response = client_as(alpha.owner).get(reverse("school:groups"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Роботы-1 (alpha)" in page
    assert "Север-1" in page
    assert "1 / 10" in page


def test_a_manager_sees_only_groups_of_their_branches(client_as, alpha):
    f.GroupFactory(organization=alpha.org, branch=alpha.other_branch, course=alpha.course, name="Север-1")
    page = client_as(alpha.manager).get(reverse("school:groups")).content.decode()
    assert "Роботы-1 (alpha)" in page
    assert "Север-1" not in page
    assert reverse("school:group_create") not in page


def test_a_teacher_sees_only_their_own_groups(client_as, alpha):
    f.GroupFactory(organization=alpha.org, branch=alpha.branch, course=alpha.course, name="Чужая группа")
    page = client_as(alpha.teacher).get(reverse("school:groups")).content.decode()
    assert "Роботы-1 (alpha)" in page
    assert "Чужая группа" not in page


def test_the_list_filters_by_branch_course_and_teacher(client_as, alpha):
    f.GroupFactory(organization=alpha.org, branch=alpha.other_branch, course=alpha.course, name="Север-1")
    client = client_as(alpha.owner)
    page = client.get(reverse("school:groups"), {"branch": alpha.other_branch.pk}).content.decode()
    assert "Север-1" in page and "Роботы-1 (alpha)" not in page
    page = client.get(reverse("school:groups"), {"teacher": alpha.teacher.pk}).content.decode()
    assert "Роботы-1 (alpha)" in page and "Север-1" not in page
    other_course = f.CourseFactory(organization=alpha.org)
    page = client.get(reverse("school:groups"), {"course": other_course.pk}).content.decode()
    assert "Нет групп с такими условиями." in page


@pytest.mark.parametrize("value", ["abc", "999999", "<script>"])
def test_a_nonsense_filter_shows_the_list_instead_of_failing(client_as, alpha, value):
    response = client_as(alpha.owner).get(reverse("school:groups"), {"branch": value})
    assert response.status_code == 200
    assert "<script>" not in response.content.decode().split("<main")[1]


def test_a_filter_with_another_organisations_branch_does_not_leak(client_as, alpha, beta):
    page = client_as(alpha.owner).get(reverse("school:groups"), {"branch": beta.branch.pk}).content.decode()
    assert "Роботы-1 (beta)" not in page


def test_the_list_takes_a_fixed_number_of_queries(client_as, alpha, django_assert_max_num_queries):
    for i in range(15):
        group = f.GroupFactory(
            organization=alpha.org, branch=alpha.branch, course=alpha.course, teacher=alpha.teacher
        )
        f.ScheduleSlotFactory(organization=alpha.org, group=group, weekday=i % 7)
        f.EnrollmentFactory(organization=alpha.org, group=group)
    client = client_as(alpha.owner)
    with django_assert_max_num_queries(14):
        assert client.get(reverse("school:groups")).status_code == 200


@pytest.mark.parametrize("role", ["parent", "student"])
def test_families_may_not_see_the_groups_list(client_as, alpha, role):
    assert client_as(alpha.user(role)).get(reverse("school:groups")).status_code == 403


# ---------------------------------------------------------------- detail


def test_the_detail_shows_rule_roster_and_next_lessons(client_as, alpha):
    response = client_as(alpha.owner).get(reverse("school:group_detail", args=[alpha.group.pk]))
    page = response.content.decode()
    weekday = ["Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс"][alpha.slot.weekday]
    assert response.status_code == 200
    assert f"{weekday} 16:00–17:00" in page
    assert "Петрова-alpha Маша" in page
    assert "Первый робот" in page
    assert "Кабинет 1" in page
    assert reverse("school:group_edit", args=[alpha.group.pk]) in page


def test_the_detail_lists_at_most_ten_lessons(client_as, alpha):
    from kruzhok.school.services.lessons import lessons_generate

    lessons_generate(org=alpha.org, horizon_days=200)
    response = client_as(alpha.owner).get(reverse("school:group_detail", args=[alpha.group.pk]))
    assert len(response.context["lessons"]) == 10


def test_a_teacher_sees_their_group_but_not_another(client_as, alpha):
    other = f.GroupFactory(organization=alpha.org, branch=alpha.branch, course=alpha.course)
    client = client_as(alpha.teacher)
    response = client.get(reverse("school:group_detail", args=[alpha.group.pk]))
    assert response.status_code == 200
    assert reverse("school:group_edit", args=[alpha.group.pk]) not in response.content.decode()
    assert client.get(reverse("school:group_detail", args=[other.pk])).status_code == 404


def test_a_manager_gets_404_on_a_group_of_another_branch(client_as, alpha):
    other = f.GroupFactory(organization=alpha.org, branch=alpha.other_branch, course=alpha.course)
    client = client_as(alpha.manager)
    assert client.get(reverse("school:group_detail", args=[alpha.group.pk])).status_code == 200
    assert client.get(reverse("school:group_detail", args=[other.pk])).status_code == 404


@pytest.mark.parametrize("role", ["owner", "manager", "teacher"])
def test_another_organisations_staff_get_404_on_our_group(client_as, alpha, beta, role):
    client = client_as(beta.user(role))
    assert client.get(reverse("school:group_detail", args=[alpha.group.pk])).status_code == 404


# ---------------------------------------------------------------- create and edit


def test_the_owner_creates_a_group_and_its_lessons_appear(client_as, alpha):
    client = client_as(alpha.owner)
    assert "slots-3-weekday" in client.get(reverse("school:group_create")).content.decode()
    response = client.post(
        reverse("school:group_create"), group_post(alpha, slots=[(tomorrow_weekday(), "10:00", "45")])
    )
    group = Group.objects.get(organization=alpha.org, name="Шахматы-2")
    assert response.status_code == 302
    assert response["Location"] == reverse("school:group_detail", args=[group.pk])
    assert group.is_active  # the create form has no "active" box: a new group is always active
    assert Lesson.objects.filter(group=group).count() == 8  # horizon 56 days: tomorrow and 7 more weeks
    page = client.get(response["Location"]).content.decode()
    assert "10:00–10:45" in page


def test_a_group_that_ends_before_it_starts_is_explained_and_nothing_is_saved(client_as, alpha):
    today = timezone.localdate()
    data = group_post(
        alpha,
        slots=[(tomorrow_weekday(), "10:00", "45")],
        end_date=(today - dt.timedelta(days=1)).isoformat(),
    )
    response = client_as(alpha.owner).post(reverse("school:group_create"), data)
    assert response.status_code == 200
    assert "Дата окончания раньше даты начала." in response.content.decode()
    assert not Group.objects.filter(name="Шахматы-2").exists()
    assert ScheduleSlot.objects.filter(organization=alpha.org).count() == 1


def test_a_room_of_another_branch_is_refused(client_as, alpha):
    far_room = f.RoomFactory(organization=alpha.org, branch=alpha.other_branch)
    response = client_as(alpha.owner).post(
        reverse("school:group_create"), group_post(alpha, room=far_room.pk)
    )
    assert "Этот кабинет находится в другом филиале." in response.content.decode()
    assert not Group.objects.filter(name="Шахматы-2").exists()


def test_overlapping_slots_are_refused(client_as, alpha):
    data = group_post(alpha, slots=[("2", "16:00", "90"), ("2", "17:00", "60")])
    response = client_as(alpha.owner).post(reverse("school:group_create"), data)
    assert "Занятия в расписании пересекаются" in response.content.decode()
    assert not Group.objects.filter(name="Шахматы-2").exists()


@pytest.mark.parametrize(
    "slot",
    [("9", "16:00", "60"), ("2", "25:00", "60"), ("2", "16:00", "1"), ("2", "", "60"), ("", "16:00", "60")],
)
def test_a_bad_slot_row_is_refused(client_as, alpha, slot):
    response = client_as(alpha.owner).post(reverse("school:group_create"), group_post(alpha, slots=[slot]))
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert not Group.objects.filter(name="Шахматы-2").exists()


def test_a_hostile_group_name_is_escaped(client_as, alpha):
    client = client_as(alpha.owner)
    client.post(reverse("school:group_create"), group_post(alpha, name="<script>x()</script>"))
    page = client.get(reverse("school:groups")).content.decode()
    assert "<script>x()</script>" not in page
    assert "&lt;script&gt;x()&lt;/script&gt;" in page


def test_a_course_of_another_organisation_is_not_accepted(client_as, alpha, beta):
    response = client_as(alpha.owner).post(
        reverse("school:group_create"), group_post(alpha, course=beta.course.pk)
    )
    assert response.status_code == 200
    assert not Group.objects.filter(name="Шахматы-2").exists()


def test_the_owner_edits_the_rule_and_a_marked_lesson_survives(client_as, alpha):
    from kruzhok.school.services.lessons import lessons_generate

    lessons_generate(org=alpha.org)
    next_week = (
        Lesson.objects.filter(group=alpha.group, starts_at__gt=timezone.now())
        .exclude(pk=alpha.lesson.pk)
        .first()
    )
    next_week.attendance_taken_at = timezone.now()
    next_week.save()
    url = reverse("school:group_edit", args=[alpha.group.pk])
    client = client_as(alpha.owner)
    assert 'value="16:00"' in client.get(url).content.decode()

    data = group_post(
        alpha,
        name=alpha.group.name,
        start_date=alpha.group.start_date.isoformat(),
        end_date=alpha.group.end_date.isoformat(),
        is_active="on",
        slots=[(tomorrow_weekday(), "12:00", "60")],
    )
    response = client.post(url, data)

    assert response.status_code == 302
    assert [s.start_time for s in alpha.group.slots.all()] == [dt.time(12, 0)]
    assert Lesson.objects.filter(pk=next_week.pk).exists()
    assert Lesson.objects.filter(pk=alpha.lesson.pk).exists()  # today's lesson has a topic
    assert Lesson.objects.filter(group=alpha.group, slot__start_time=dt.time(12, 0)).count() == 8


def test_unticking_active_on_edit_stops_the_group(client_as, alpha):
    data = group_post(
        alpha,
        name=alpha.group.name,
        start_date=alpha.group.start_date.isoformat(),
        end_date=alpha.group.end_date.isoformat(),
        slots=[(str(alpha.slot.weekday), "16:00", "60")],
    )
    response = client_as(alpha.owner).post(reverse("school:group_edit", args=[alpha.group.pk]), data)
    assert response.status_code == 302
    alpha.group.refresh_from_db()
    assert alpha.group.is_active is False


@pytest.mark.parametrize("role", ["manager", "teacher", "parent", "student"])
def test_other_roles_may_not_create_or_edit_groups(client_as, alpha, role):
    client = client_as(alpha.user(role))
    for url in (reverse("school:group_create"), reverse("school:group_edit", args=[alpha.group.pk])):
        assert client.get(url).status_code == 403
        assert client.post(url, group_post(alpha)).status_code == 403
    assert not Group.objects.filter(name="Шахматы-2").exists()


def test_another_organisations_owner_gets_404_when_editing_our_group(client_as, alpha, beta):
    url = reverse("school:group_edit", args=[alpha.group.pk])
    client = client_as(beta.owner)
    assert client.get(url).status_code == 404
    assert client.post(url, group_post(beta)).status_code == 404
    alpha.group.refresh_from_db()
    assert alpha.group.name == "Роботы-1 (alpha)"


@pytest.mark.parametrize("total", ["1000", "много"])
def test_a_tampered_schedule_form_is_refused_without_a_crash(client_as, alpha, total):
    data = group_post(alpha, slots=[("2", "16:00", "60")], **{"slots-TOTAL_FORMS": total})
    response = client_as(alpha.owner).post(reverse("school:group_create"), data)
    assert response.status_code == 200
    assert "Не сохранено" in response.content.decode()
    assert not Group.objects.filter(name="Шахматы-2").exists()


def test_a_missing_schedule_management_form_is_refused_without_a_crash(client_as, alpha):
    data = {k: v for k, v in group_post(alpha).items() if not k.startswith("slots-")}
    response = client_as(alpha.owner).post(reverse("school:group_create"), data)
    assert response.status_code == 200
    assert not Group.objects.filter(name="Шахматы-2").exists()
