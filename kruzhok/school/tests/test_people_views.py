import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from kruzhok.accounts.models import Membership, Role
from kruzhok.school import models as school
from kruzhok.school.services import people
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db


def north_manager(world):
    """A manager of the organisation's other branch only."""
    user = f.UserFactory(username=f"{world.org.slug}_north_manager")
    Membership.objects.create(user=user, organization=world.org, role=Role.MANAGER)
    world.other_branch.managers.add(user)
    return user


def enrol_data(world, **overrides):
    data = {
        "last_name": "Соколова",
        "first_name": "Вера",
        "birth_date": "2017-04-12",
        "branch": world.branch.pk,
        "notes": "",
        "guardian_phone": "8 (905) 123-45-67",
        "guardian_full_name": "Соколова Ирина",
        "guardian_email": "irina@example.ru",
        "guardian_telegram_username": "@irina_s",
        "relation": "mother",
        "consent": "on",
        "group": world.group.pk,
        "status": "trial",
        "started_on": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def counts():
    return (
        school.Student.objects.count(),
        school.Guardian.objects.count(),
        school.Consent.objects.count(),
        school.Enrollment.objects.count(),
        school.WaitlistEntry.objects.count(),
    )


# The student list


def test_the_manager_sees_their_children_with_groups_and_badges(client_as, alpha):
    response = client_as(alpha.manager).get(reverse("school:students"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Петрова-alpha Маша" in body and "Роботы-1 (alpha)" in body and "Занимается" in body
    assert "+7 916" in body


def test_the_search_box_answers_htmx_with_only_the_results(client_as, alpha):
    f.StudentFactory(organization=alpha.org, branch=alpha.branch, first_name="Глеб", last_name="Орлов")
    response = client_as(alpha.manager).get(
        reverse("school:students"), {"q": "ГЛЕБ"}, headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert "<html" not in body
    assert "Орлов Глеб" in body and "Петрова-alpha" not in body


def test_the_search_finds_a_child_by_a_guardians_phone_in_any_format(client_as, alpha):
    digits = alpha.guardian.phone[2:]  # without +7
    response = client_as(alpha.manager).get(
        reverse("school:students"), {"q": f"8 ({digits[:3]}) {digits[3:]}"}
    )
    assert "Петрова-alpha Маша" in response.content.decode()


def test_the_list_takes_the_same_number_of_queries_for_1_or_15_children(client_as, alpha):
    client = client_as(alpha.manager)
    client.get(reverse("school:students"))  # warm the session and permission caches
    with CaptureQueriesContext(connection) as one:
        assert client.get(reverse("school:students")).status_code == 200
    for _ in range(14):
        kid = f.StudentFactory(organization=alpha.org, branch=alpha.branch)
        f.EnrollmentFactory(organization=alpha.org, student=kid, group=alpha.group)
        school.StudentGuardian.objects.create(organization=alpha.org, student=kid, guardian=alpha.guardian)
    with CaptureQueriesContext(connection) as fifteen:
        assert client.get(reverse("school:students")).status_code == 200
    assert len(fifteen) == len(one) <= 12


def test_a_huge_search_query_is_cut_not_a_crash(client_as, alpha):
    response = client_as(alpha.manager).get(reverse("school:students"), {"q": "я" * 5000})
    assert response.status_code == 200


@pytest.mark.parametrize("role", [Role.TEACHER, Role.PARENT, Role.STUDENT])
def test_lower_roles_are_refused_the_people_pages(client_as, alpha, role):
    client = client_as(alpha.user(role))
    for url in (
        reverse("school:students"),
        reverse("school:student_create"),
        reverse("school:student_detail", args=[alpha.student.pk]),
        reverse("school:waitlist"),
    ):
        assert client.get(url).status_code == 403


def test_a_visitor_who_is_not_logged_in_is_sent_to_log_in(client, alpha):
    response = client.get(reverse("school:students"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# Student detail and scope


def test_the_detail_shows_guardians_consents_and_history(client_as, alpha):
    response = client_as(alpha.manager).get(reverse("school:student_detail", args=[alpha.student.pk]))
    body = response.content.decode()
    assert "Петрова Ольга (alpha)" in body
    assert "версия 2026-01" in body
    assert "Роботы-1 (alpha)" in body
    assert "Изменить статус" in body


def test_a_manager_of_another_branch_gets_404_for_a_child_not_in_their_groups(client_as, alpha):
    client = client_as(north_manager(alpha))
    assert client.get(reverse("school:student_detail", args=[alpha.student.pk])).status_code == 404
    assert "Петрова-alpha" not in client.get(reverse("school:students")).content.decode()


def test_a_manager_of_another_branch_sees_a_child_enrolled_in_their_group(client_as, alpha):
    manager = north_manager(alpha)
    north_group = f.GroupFactory(
        organization=alpha.org,
        branch=alpha.other_branch,
        course=alpha.course,
        start_date=timezone.localdate() - dt.timedelta(10),
        end_date=timezone.localdate() + dt.timedelta(100),
    )
    f.EnrollmentFactory(organization=alpha.org, student=alpha.student, group=north_group)
    assert (
        client_as(manager).get(reverse("school:student_detail", args=[alpha.student.pk])).status_code == 200
    )


def test_the_owner_sees_every_branch(client_as, alpha):
    elsewhere = f.StudentFactory(organization=alpha.org, branch=alpha.other_branch, last_name="Северный")
    assert (
        client_as(alpha.owner).get(reverse("school:student_detail", args=[elsewhere.pk])).status_code == 200
    )


def test_users_of_another_organisation_get_404_on_every_people_page(client_as, alpha, beta):
    entry = school.WaitlistEntry.objects.create(
        organization=alpha.org, group=alpha.group, student=alpha.student
    )
    consent = alpha.student.consents.get()
    urls = [
        ("get", reverse("school:student_detail", args=[alpha.student.pk])),
        ("get", reverse("school:student_edit", args=[alpha.student.pk])),
        ("get", reverse("school:guardian_edit", args=[alpha.guardian.pk])),
        ("get", reverse("school:guardian_add", args=[alpha.student.pk])),
        ("get", reverse("school:consent_create", args=[alpha.student.pk])),
        ("post", reverse("school:consent_revoke", args=[consent.pk])),
        ("get", reverse("school:enrollment_create", args=[alpha.student.pk])),
        ("get", reverse("school:enrollment_transition", args=[alpha.enrollment.pk])),
        ("get", reverse("school:enrollment_transfer", args=[alpha.enrollment.pk])),
        ("post", reverse("school:waitlist_enroll", args=[entry.pk])),
        ("post", reverse("school:waitlist_cancel", args=[entry.pk])),
    ]
    for role in (Role.OWNER, Role.MANAGER):
        client = client_as(beta.user(role))
        for method, url in urls:
            assert getattr(client, method)(url).status_code == 404, (role, url)
    consent.refresh_from_db()
    entry.refresh_from_db()
    assert consent.revoked_at is None and entry.status == "waiting"


# The enrol form


def test_the_enrol_form_creates_child_guardian_consent_and_enrollment(client_as, alpha):
    response = client_as(alpha.manager).post(reverse("school:student_create"), enrol_data(alpha))
    student = school.Student.objects.get(last_name="Соколова")
    assert response.status_code == 302 and response["Location"] == reverse(
        "school:student_detail", args=[student.pk]
    )
    link = student.guardian_links.get()
    assert (link.guardian.phone, link.guardian.telegram_username, link.relation) == (
        "+79051234567",
        "irina_s",
        "mother",
    )
    consent = student.consents.get()
    assert (consent.text_version, consent.recorded_by) == (people.CONSENT_TEXT_VERSION, alpha.manager)
    enrollment = student.enrollments.get()
    assert (enrollment.group, enrollment.status) == (alpha.group, "trial")
    assert enrollment.events.get().actor == alpha.manager


def test_the_enrol_form_without_a_group_just_adds_the_child(client_as, alpha):
    client_as(alpha.manager).post(reverse("school:student_create"), enrol_data(alpha, group=""))
    student = school.Student.objects.get(last_name="Соколова")
    assert not student.enrollments.exists() and student.consents.exists()


def test_the_enrol_form_links_an_existing_guardian_by_phone(client_as, alpha):
    phone = alpha.guardian.phone
    client = client_as(alpha.manager)
    response = client.post(
        reverse("school:student_create"),
        enrol_data(alpha, guardian_phone=f"8 {phone[2:5]} {phone[5:]}", guardian_full_name=""),
        follow=True,
    )
    assert "Телефон уже был в базе" in response.content.decode()
    student = school.Student.objects.get(last_name="Соколова")
    assert student.guardian_links.get().guardian == alpha.guardian
    assert school.Guardian.objects.filter(organization=alpha.org).count() == 1


def test_the_phone_lookup_names_the_existing_guardian(client_as, alpha, beta):
    client = client_as(alpha.manager)
    response = client.get(reverse("school:guardian_lookup"), {"guardian_phone": alpha.guardian.phone})
    assert "Петрова Ольга (alpha)" in response.content.decode()
    response = client_as(beta.manager).get(
        reverse("school:guardian_lookup"), {"guardian_phone": alpha.guardian.phone}
    )
    assert "alpha" not in response.content.decode()


def test_the_enrol_form_refuses_without_consent_and_writes_nothing(client_as, alpha):
    before = counts()
    response = client_as(alpha.manager).post(
        reverse("school:student_create"), enrol_data(alpha, consent=None)
    )
    assert response.status_code == 200
    assert "Без согласия представителя ребёнка записать нельзя" in response.content.decode()
    assert counts() == before


def test_the_enrol_form_refuses_a_birth_date_in_the_future(client_as, alpha):
    before = counts()
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    response = client_as(alpha.manager).post(
        reverse("school:student_create"), enrol_data(alpha, birth_date=tomorrow)
    )
    assert "Дата рождения не может быть в будущем" in response.content.decode()
    assert counts() == before


def test_the_enrol_form_refuses_a_bad_phone_and_writes_nothing(client_as, alpha):
    before = counts()
    response = client_as(alpha.manager).post(
        reverse("school:student_create"), enrol_data(alpha, guardian_phone="12-34")
    )
    assert "не похож на номер" in response.content.decode()
    assert counts() == before


def test_a_full_group_offers_the_waiting_list_and_writes_nothing(client_as, alpha):
    alpha.group.capacity = 1
    alpha.group.save()
    before = counts()
    response = client_as(alpha.manager).post(reverse("school:student_create"), enrol_data(alpha))
    body = response.content.decode()
    assert "нет свободных мест" in body and "лист ожидания" in body
    assert counts() == before


def test_a_full_group_puts_the_child_on_its_waiting_list_when_asked(client_as, alpha):
    alpha.group.capacity = 1
    alpha.group.save()
    response = client_as(alpha.manager).post(
        reverse("school:student_create"), enrol_data(alpha, waitlist_if_full="on"), follow=True
    )
    student = school.Student.objects.get(last_name="Соколова")
    assert student.waitlist_entries.get().group == alpha.group
    assert not student.enrollments.exists()
    assert "в листе ожидания" in response.content.decode()


def test_a_manager_cannot_enrol_into_another_branch_or_organisation(client_as, alpha, beta):
    north = f.GroupFactory(organization=alpha.org, branch=alpha.other_branch, course=alpha.course)
    before = counts()
    client = client_as(alpha.manager)
    for data in (
        enrol_data(alpha, group=north.pk),
        enrol_data(alpha, group=beta.group.pk),
        enrol_data(alpha, branch=alpha.other_branch.pk),
        enrol_data(alpha, branch=beta.branch.pk),
    ):
        response = client.post(reverse("school:student_create"), data)
        assert response.status_code == 200
        assert "Выберите корректный вариант" in response.content.decode()
    assert counts() == before


def test_hostile_input_is_shown_escaped(client_as, alpha):
    client = client_as(alpha.manager)
    client.post(
        reverse("school:student_create"),
        enrol_data(alpha, first_name="<script>alert(1)</script>", notes="<img src=x onerror=alert(1)>"),
    )
    student = school.Student.objects.get(last_name="Соколова")
    body = client.get(reverse("school:student_detail", args=[student.pk])).content.decode()
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<img src=x" not in body
    body = client.get(reverse("school:students"), {"q": "<script>"}).content.decode()
    assert "<script>alert" not in body


def test_huge_notes_are_refused_with_a_message(client_as, alpha):
    before = counts()
    response = client_as(alpha.manager).post(
        reverse("school:student_create"), enrol_data(alpha, notes="я" * (people.NOTES_MAX + 1))
    )
    assert "Заметки слишком длинные" in response.content.decode()
    assert counts() == before


def test_missing_fields_are_explained(client_as, alpha):
    response = client_as(alpha.manager).post(reverse("school:student_create"), {})
    body = response.content.decode()
    assert response.status_code == 200 and "Обязательное поле" in body


def test_a_wrong_date_type_is_explained(client_as, alpha):
    response = client_as(alpha.manager).post(
        reverse("school:student_create"), enrol_data(alpha, birth_date="вчера")
    )
    assert "Введите правильную дату" in response.content.decode()


# Edit pages


def test_the_student_edit_saves_and_refuses_a_future_birth_date(client_as, alpha):
    client = client_as(alpha.manager)
    url = reverse("school:student_edit", args=[alpha.student.pk])
    data = {
        "last_name": "Петрова",
        "first_name": "Мария",
        "birth_date": "2016-03-14",
        "branch": alpha.branch.pk,
    }
    assert client.post(url, data).status_code == 302
    alpha.student.refresh_from_db()
    assert alpha.student.first_name == "Мария"
    future = (timezone.localdate() + dt.timedelta(days=5)).isoformat()
    response = client.post(url, {**data, "birth_date": future})
    assert "не может быть в будущем" in response.content.decode()
    alpha.student.refresh_from_db()
    assert alpha.student.birth_date == dt.date(2016, 3, 14)


def test_the_guardian_edit_normalises_the_phone_and_returns_to_the_child(client_as, alpha):
    detail = reverse("school:student_detail", args=[alpha.student.pk])
    response = client_as(alpha.manager).post(
        reverse("school:guardian_edit", args=[alpha.guardian.pk]) + f"?next={detail}",
        {"full_name": "Петрова Ольга", "phone": "8 903 000 11 22", "email": "", "telegram_username": ""},
    )
    assert response["Location"] == detail
    alpha.guardian.refresh_from_db()
    assert alpha.guardian.phone == "+79030001122"


def test_the_guardian_edit_never_redirects_off_site(client_as, alpha):
    response = client_as(alpha.manager).post(
        reverse("school:guardian_edit", args=[alpha.guardian.pk]),
        {"full_name": "Петрова Ольга", "phone": "", "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("school:students")


def test_adding_a_second_guardian_with_consent(client_as, alpha):
    response = client_as(alpha.manager).post(
        reverse("school:guardian_add", args=[alpha.student.pk]),
        {
            "guardian_phone": "+7 926 000-00-01",
            "guardian_full_name": "Петров Иван",
            "relation": "father",
            "consent": "on",
        },
    )
    assert response.status_code == 302
    dad = school.Guardian.objects.get(full_name="Петров Иван")
    assert alpha.student.guardian_links.filter(guardian=dad, relation="father").exists()
    assert alpha.student.consents.filter(guardian=dad).exists()


def test_adding_the_same_guardian_twice_is_explained(client_as, alpha):
    response = client_as(alpha.manager).post(
        reverse("school:guardian_add", args=[alpha.student.pk]),
        {"guardian_phone": alpha.guardian.phone, "relation": "mother"},
    )
    assert "уже указан(а) как представитель" in response.content.decode()


def test_consent_is_recorded_and_revoked(client_as, alpha):
    client = client_as(alpha.manager)
    response = client.post(
        reverse("school:consent_create", args=[alpha.student.pk]),
        {"guardian": alpha.guardian.pk, "confirm": "on"},
    )
    assert response.status_code == 302
    assert alpha.student.consents.count() == 2
    consent = alpha.student.consents.first()
    client.post(reverse("school:consent_revoke", args=[consent.pk]))
    consent.refresh_from_db()
    assert consent.revoked_at is not None


def test_consent_cannot_be_given_by_someone_elses_guardian(client_as, alpha):
    stranger = f.GuardianFactory(organization=alpha.org)
    response = client_as(alpha.manager).post(
        reverse("school:consent_create", args=[alpha.student.pk]), {"guardian": stranger.pk, "confirm": "on"}
    )
    assert response.status_code == 200 and "Выберите корректный вариант" in response.content.decode()
    assert not school.Consent.objects.filter(guardian=stranger).exists()


def test_the_profile_links_each_enrollment_to_its_risk_card_for_staff_who_may_open_it(client_as, alpha):
    """The north manager sees the child through their group only: the card of the other branch's
    enrollment is not theirs to open, so no link to it."""
    manager = north_manager(alpha)
    north_group = f.GroupFactory(
        organization=alpha.org,
        branch=alpha.other_branch,
        course=alpha.course,
        start_date=timezone.localdate() - dt.timedelta(10),
        end_date=timezone.localdate() + dt.timedelta(100),
    )
    north = f.EnrollmentFactory(organization=alpha.org, student=alpha.student, group=north_group)
    url = reverse("school:student_detail", args=[alpha.student.pk])
    home_card = reverse("risk:card", args=[alpha.enrollment.pk])
    north_card = reverse("risk:card", args=[north.pk])
    owner_page = client_as(alpha.owner).get(url).content.decode()
    assert f'href="{home_card}"' in owner_page and f'href="{north_card}"' in owner_page
    assert "Риск ухода" in owner_page
    north_page = client_as(manager).get(url).content.decode()
    assert f'href="{north_card}"' in north_page and f'href="{home_card}"' not in north_page
    assert client_as(manager).get(north_card).status_code == 200
    assert client_as(manager).get(home_card).status_code == 404
