import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from kruzhok.accounts.models import Role
from kruzhok.school import models as school
from kruzhok.school.services import enrollments, people
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db


def today():
    return timezone.localdate()


def new_group(world, **kwargs):
    defaults = {
        "organization": world.org,
        "branch": world.branch,
        "course": world.course,
        "start_date": today() - dt.timedelta(days=30),
        "end_date": today() + dt.timedelta(days=200),
    }
    return f.GroupFactory(**{**defaults, **kwargs})


def consented_child(world, **kwargs):
    child = f.StudentFactory(organization=world.org, branch=world.branch, **kwargs)
    people.guardian_link(student=child, guardian=world.guardian, relation="mother", is_primary=False)
    people.consent_record(guardian=world.guardian, student=child, text_version="2026-01", actor=None)
    return child


# Enrol an existing child


def test_an_existing_child_is_enrolled_into_another_group(client_as, alpha):
    other = new_group(alpha, name="Шахматы-1")
    response = client_as(alpha.manager).post(
        reverse("school:enrollment_create", args=[alpha.student.pk]), {"group": other.pk, "status": "active"}
    )
    assert response.status_code == 302
    assert alpha.student.enrollments.get(group=other).status == "active"


def test_the_same_child_twice_in_a_group_is_explained(client_as, alpha):
    response = client_as(alpha.manager).post(
        reverse("school:enrollment_create", args=[alpha.student.pk]),
        {"group": alpha.group.pk, "status": "trial"},
    )
    assert "уже записан(а) в группу" in response.content.decode()
    assert alpha.student.enrollments.count() == 1


def test_a_child_without_consent_is_explained(client_as, alpha):
    kid = f.StudentFactory(organization=alpha.org, branch=alpha.branch)
    client = client_as(alpha.manager)
    url = reverse("school:enrollment_create", args=[kid.pk])
    assert "Нет действующего согласия" in client.get(url).content.decode()
    response = client.post(url, {"group": alpha.group.pk, "status": "trial"})
    assert "Нет согласия представителя" in response.content.decode()
    assert not kid.enrollments.exists()


def test_a_full_group_is_explained_and_the_waiting_list_offered(client_as, alpha):
    full = new_group(alpha, capacity=1)
    enrollments.enrollment_create(student=consented_child(alpha), group=full, actor=None)
    kid = consented_child(alpha)
    client = client_as(alpha.manager)
    url = reverse("school:enrollment_create", args=[kid.pk])
    body = client.post(url, {"group": full.pk, "status": "trial"}).content.decode()
    assert "нет свободных мест (1 из 1)" in body
    assert "Отметьте, чтобы ребёнок встал в лист ожидания" in body
    assert not kid.enrollments.exists() and not kid.waitlist_entries.exists()
    client.post(url, {"group": full.pk, "status": "trial", "waitlist_if_full": "on"})
    assert kid.waitlist_entries.get().group == full


def test_an_ended_group_is_not_offered(client_as, alpha):
    old = new_group(
        alpha, start_date=today() - dt.timedelta(300), end_date=today() - dt.timedelta(1), name="Старая"
    )
    client = client_as(alpha.manager)
    url = reverse("school:enrollment_create", args=[alpha.student.pk])
    assert "Старая" not in client.get(url).content.decode()
    response = client.post(url, {"group": old.pk, "status": "trial"})
    assert "Выберите корректный вариант" in response.content.decode()


# Status changes


def test_dropping_a_child_needs_a_reason_and_is_kept_in_history(client_as, alpha):
    client = client_as(alpha.manager)
    url = reverse("school:enrollment_transition", args=[alpha.enrollment.pk])
    response = client.post(url, {"to_status": "dropped"})
    assert "Укажите причину ухода" in response.content.decode()
    alpha.enrollment.refresh_from_db()
    assert alpha.enrollment.status == "active"

    response = client.post(url, {"to_status": "dropped", "reason": "schedule", "note": "Сменили школу"})
    assert response.status_code == 302
    alpha.enrollment.refresh_from_db()
    assert (alpha.enrollment.status, alpha.enrollment.drop_reason) == ("dropped", "schedule")
    body = client.get(reverse("school:student_detail", args=[alpha.student.pk])).content.decode()
    assert "Не подходит расписание" in body and "Сменили школу" in body


def test_an_end_before_the_start_is_explained(client_as, alpha):
    before_start = (alpha.enrollment.started_on - dt.timedelta(days=3)).isoformat()
    response = client_as(alpha.manager).post(
        reverse("school:enrollment_transition", args=[alpha.enrollment.pk]),
        {"to_status": "completed", "on_date": before_start},
    )
    assert "Дата окончания раньше начала занятий" in response.content.decode()
    alpha.enrollment.refresh_from_db()
    assert alpha.enrollment.status == "active"


def test_a_status_not_allowed_from_the_current_one_is_refused(client_as, alpha):
    response = client_as(alpha.manager).post(
        reverse("school:enrollment_transition", args=[alpha.enrollment.pk]), {"to_status": "trial"}
    )
    assert "Выберите корректный вариант" in response.content.decode()


def test_a_closed_enrollment_cannot_change_status(client_as, alpha):
    enrollments.enrollment_transition(enrollment=alpha.enrollment, to_status="completed", actor=None)
    response = client_as(alpha.manager).get(
        reverse("school:enrollment_transition", args=[alpha.enrollment.pk])
    )
    assert response.status_code == 302


def test_a_teacher_cannot_change_statuses(client_as, alpha):
    response = client_as(alpha.teacher).post(
        reverse("school:enrollment_transition", args=[alpha.enrollment.pk]), {"to_status": "paused"}
    )
    assert response.status_code == 403
    alpha.enrollment.refresh_from_db()
    assert alpha.enrollment.status == "active"


# Transfers


def test_a_transfer_keeps_the_history(client_as, alpha):
    other = new_group(alpha, name="Роботы-2")
    client = client_as(alpha.manager)
    response = client.post(
        reverse("school:enrollment_transfer", args=[alpha.enrollment.pk]),
        {"to_group": other.pk, "note": "По просьбе"},
    )
    assert response.status_code == 302
    alpha.enrollment.refresh_from_db()
    new = alpha.student.enrollments.get(group=other)
    assert alpha.enrollment.status == "transferred" and new.transferred_from == alpha.enrollment
    body = client.get(reverse("school:student_detail", args=[alpha.student.pk])).content.decode()
    assert "Переведён(а) в группу «Роботы-2»" in body
    assert "Переведён(а) из группы «Роботы-1 (alpha)»" in body


def test_a_transfer_into_a_full_group_is_explained_and_changes_nothing(client_as, alpha):
    full = new_group(alpha, capacity=1)
    enrollments.enrollment_create(student=consented_child(alpha), group=full, actor=None)
    response = client_as(alpha.manager).post(
        reverse("school:enrollment_transfer", args=[alpha.enrollment.pk]), {"to_group": full.pk}
    )
    assert "нет свободных мест" in response.content.decode()
    alpha.enrollment.refresh_from_db()
    assert alpha.enrollment.status == "active"
    assert not alpha.student.enrollments.filter(group=full).exists()


def test_a_transfer_to_a_group_of_another_organisation_is_refused(client_as, alpha, beta):
    response = client_as(alpha.manager).post(
        reverse("school:enrollment_transfer", args=[alpha.enrollment.pk]), {"to_group": beta.group.pk}
    )
    assert "Выберите корректный вариант" in response.content.decode()
    alpha.enrollment.refresh_from_db()
    assert alpha.enrollment.status == "active"


# Waiting list


def test_the_waiting_list_enrols_when_a_seat_is_free(client_as, alpha):
    small = new_group(alpha, capacity=1, name="Малая группа")
    first = enrollments.enrollment_create(student=consented_child(alpha), group=small, actor=None)
    kid = consented_child(alpha, last_name="Ожидающий")
    entry = enrollments.waitlist_add(student=kid, group=small, actor=None, note="Только по субботам")
    client = client_as(alpha.manager)

    body = client.get(reverse("school:waitlist")).content.decode()
    assert "Малая группа" in body and "Ожидающий" in body and "Только по субботам" in body
    assert "мест нет" in body
    assert reverse("school:waitlist_enroll", args=[entry.pk]) not in body

    response = client.post(reverse("school:waitlist_enroll", args=[entry.pk]), follow=True)
    assert "нет свободных мест" in response.content.decode()

    enrollments.enrollment_transition(enrollment=first, to_status="dropped", actor=None, reason="moved")
    body = client.get(reverse("school:waitlist")).content.decode()
    assert reverse("school:waitlist_enroll", args=[entry.pk]) in body
    client.post(reverse("school:waitlist_enroll", args=[entry.pk]))
    assert kid.enrollments.get(group=small).status == "trial"
    entry.refresh_from_db()
    assert entry.status == "enrolled"


def test_the_waiting_list_can_show_one_group_and_drop_an_entry(client_as, alpha):
    kid = consented_child(alpha, last_name="Ожидающий")
    entry = enrollments.waitlist_add(student=kid, group=alpha.group, actor=None)
    client = client_as(alpha.manager)
    assert "Ожидающий" in client.get(reverse("school:waitlist"), {"group": alpha.group.pk}).content.decode()
    assert "Ожидающий" not in client.get(reverse("school:waitlist"), {"group": "999999"}).content.decode()
    client.post(reverse("school:waitlist_cancel", args=[entry.pk]))
    entry.refresh_from_db()
    assert entry.status == "cancelled"


def test_a_manager_sees_only_waiting_lists_of_their_branches(client_as, alpha):
    north = new_group(alpha, branch=alpha.other_branch, name="Северная группа")
    enrollments.waitlist_add(student=consented_child(alpha), group=north, actor=None)
    assert "Северная группа" not in client_as(alpha.manager).get(reverse("school:waitlist")).content.decode()
    assert "Северная группа" in client_as(alpha.owner).get(reverse("school:waitlist")).content.decode()


@pytest.mark.parametrize("role", [Role.TEACHER, Role.PARENT])
def test_lower_roles_cannot_enrol_from_the_waiting_list(client_as, alpha, role):
    entry = enrollments.waitlist_add(student=consented_child(alpha), group=alpha.group, actor=None)
    assert (
        client_as(alpha.user(role)).post(reverse("school:waitlist_enroll", args=[entry.pk])).status_code
        == 403
    )
    entry.refresh_from_db()
    assert entry.status == school.WaitlistStatus.WAITING
