import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from kruzhok.accounts.models import Membership, Role
from kruzhok.school import models as school
from kruzhok.school.selectors import people as selectors
from kruzhok.school.services import people
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db


def membership(world, role):
    return Membership.objects.get(organization=world.org, user=world.user(role))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("8 (916) 123-45-67", "+79161234567"),
        ("+7 916 123 45 67", "+79161234567"),
        ("79161234567", "+79161234567"),
        ("9161234567", "+79161234567"),
        ("  +44 20 7946 0958 ", "+442079460958"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_it_normalises_any_spelling_of_a_phone(raw, expected):
    assert people.normalize_phone(raw) == expected


def test_it_stores_a_guardians_phone_normalised(alpha):
    guardian = people.guardian_create(org=alpha.org, full_name="Иванова Анна", phone="8 (903) 111-22-33")
    assert guardian.phone == "+79031112233"


@pytest.mark.parametrize("phone", ["123", "8 916 123", "+7 916 123 45 67 89", "phone"])
def test_it_refuses_a_phone_that_is_not_a_number(alpha, phone):
    with pytest.raises(ValidationError) as exc:
        people.guardian_create(org=alpha.org, full_name="Иванова Анна", phone=phone)
    assert exc.value.code in ("invalid_phone",)
    assert not school.Guardian.objects.filter(full_name="Иванова Анна").exists()


def test_it_cleans_a_telegram_username_and_refuses_a_bad_one(alpha):
    guardian = people.guardian_create(org=alpha.org, full_name="Иванова Анна", telegram_username="@anna_iv")
    assert guardian.telegram_username == "anna_iv"
    guardian = people.guardian_update(guardian=guardian, telegram_username="https://t.me/anna_ivanova")
    assert guardian.telegram_username == "anna_ivanova"
    with pytest.raises(ValidationError) as exc:
        people.guardian_update(guardian=guardian, telegram_username="анна!")
    assert exc.value.code == "invalid_telegram"


def test_it_refuses_a_guardian_without_a_name(alpha):
    with pytest.raises(ValidationError) as exc:
        people.guardian_create(org=alpha.org, full_name="  ", phone="+79030000000")
    assert exc.value.code == "guardian_name_required"


def test_it_creates_a_student(alpha):
    student = people.student_create(
        org=alpha.org,
        actor=alpha.manager,
        first_name=" Лёва ",
        last_name="Соколов",
        birth_date=dt.date(2017, 5, 1),
        branch=alpha.branch,
        notes="Аллергия на орехи",
    )
    student.refresh_from_db()
    assert (student.first_name, student.branch, student.notes) == ("Лёва", alpha.branch, "Аллергия на орехи")


def test_it_refuses_a_birth_date_in_the_future(alpha):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    with pytest.raises(ValidationError) as exc:
        people.student_create(org=alpha.org, actor=None, first_name="А", last_name="Б", birth_date=tomorrow)
    assert exc.value.code == "birth_date_future"


def test_it_refuses_an_unreasonably_old_birth_date(alpha):
    with pytest.raises(ValidationError) as exc:
        people.student_create(
            org=alpha.org, actor=None, first_name="А", last_name="Б", birth_date=dt.date(1016, 1, 1)
        )
    assert exc.value.code == "birth_date_too_old"
    with pytest.raises(ValidationError) as exc:
        people.student_update(student=alpha.student, birth_date=dt.date(1950, 1, 1))
    assert exc.value.code == "birth_date_too_old"


def test_it_refuses_huge_notes(alpha):
    with pytest.raises(ValidationError) as exc:
        people.student_update(student=alpha.student, notes="я" * (people.NOTES_MAX + 1))
    assert exc.value.code == "notes_too_long"


def test_it_refuses_a_branch_of_another_organisation(alpha, beta):
    with pytest.raises(ValidationError) as exc:
        people.student_update(student=alpha.student, branch=beta.branch)
    assert exc.value.code == "wrong_org"


def test_it_refuses_to_update_unknown_fields(alpha):
    with pytest.raises(ValidationError) as exc:
        people.student_update(student=alpha.student, organization=None)
    assert exc.value.code == "unknown_field"


def test_one_guardian_may_have_several_children(alpha):
    sister = f.StudentFactory(organization=alpha.org, first_name="Оля")
    people.guardian_link(student=sister, guardian=alpha.guardian, relation="mother")
    assert set(alpha.guardian.student_links.values_list("student__first_name", flat=True)) == {"Маша", "Оля"}


def test_it_refuses_to_link_the_same_guardian_twice(alpha):
    with pytest.raises(ValidationError) as exc:
        people.guardian_link(student=alpha.student, guardian=alpha.guardian, relation="mother")
    assert exc.value.code == "already_linked"


def test_a_new_primary_guardian_replaces_the_old_primary(alpha):
    dad = people.guardian_create(org=alpha.org, full_name="Петров Иван", phone="+79035550000")
    people.guardian_link(student=alpha.student, guardian=dad, relation="father", is_primary=True)
    primaries = school.StudentGuardian.objects.filter(student=alpha.student, is_primary=True)
    assert [link.guardian for link in primaries] == [dad]


def test_it_records_and_revokes_consent(alpha):
    consent = people.consent_record(
        guardian=alpha.guardian, student=alpha.student, text_version="2026-01", actor=alpha.manager
    )
    assert consent.recorded_by == alpha.manager and consent.revoked_at is None
    people.consent_revoke(consent=consent)
    consent.refresh_from_db()
    assert consent.revoked_at is not None
    with pytest.raises(ValidationError) as exc:
        people.consent_revoke(consent=consent)
    assert exc.value.code == "already_revoked"


def test_only_the_childs_own_guardian_may_consent(alpha):
    stranger = people.guardian_create(org=alpha.org, full_name="Чужой Взрослый", phone="+79030001122")
    with pytest.raises(ValidationError) as exc:
        people.consent_record(guardian=stranger, student=alpha.student, text_version="2026-01", actor=None)
    assert exc.value.code == "not_guardian"


def test_consent_needs_a_text_version(alpha):
    with pytest.raises(ValidationError) as exc:
        people.consent_record(guardian=alpha.guardian, student=alpha.student, text_version=" ", actor=None)
    assert exc.value.code == "text_version_required"


# Search


@pytest.fixture
def searchable(alpha):
    kid = f.StudentFactory(
        organization=alpha.org, branch=alpha.branch, first_name="Ярослав", last_name="Ёлкин"
    )
    mum = people.guardian_create(org=alpha.org, full_name="Ёлкина Светлана", phone="8 (926) 555-44-33")
    people.guardian_link(student=kid, guardian=mum, relation="mother")
    return kid


@pytest.mark.parametrize(
    "query", ["Ёлкин", "ёлкин", "ЁЛКИН", "лки", "ЯРОСЛАВ", "ярослав", "Ёлкин Ярослав", "светлана"]
)
def test_it_finds_a_child_by_a_cyrillic_name_in_any_case(alpha, searchable, query):
    found = selectors.student_list(membership=membership(alpha, Role.OWNER), query=query)
    assert searchable in found
    assert alpha.student not in found


@pytest.mark.parametrize("query", ["+7 926 555-44-33", "89265554433", "926 555", "5554433", "79265554433"])
def test_it_finds_a_child_by_a_guardians_phone_in_any_format(alpha, searchable, query):
    found = list(selectors.student_list(membership=membership(alpha, Role.OWNER), query=query))
    assert found == [searchable]


def test_a_search_that_matches_nothing_is_empty(alpha, searchable):
    assert not selectors.student_list(
        membership=membership(alpha, Role.OWNER), query="Несуществующий"
    ).exists()


def test_guardians_are_found_by_name_or_phone(alpha, searchable):
    owner = membership(alpha, Role.OWNER)
    assert [g.full_name for g in selectors.guardian_list(membership=owner, query="ЁЛКИНА")] == [
        "Ёлкина Светлана"
    ]
    assert [g.full_name for g in selectors.guardian_list(membership=owner, query="8-926-555")] == [
        "Ёлкина Светлана"
    ]


def test_a_manager_sees_only_children_of_their_branches_or_groups(alpha):
    elsewhere = f.StudentFactory(organization=alpha.org, branch=alpha.other_branch, last_name="Далёкий")
    in_my_group = f.StudentFactory(organization=alpha.org, branch=alpha.other_branch, last_name="Ближний")
    f.EnrollmentFactory(organization=alpha.org, student=in_my_group, group=alpha.group)
    visible = set(selectors.student_list(membership=membership(alpha, Role.MANAGER)))
    assert alpha.student in visible and in_my_group in visible and elsewhere not in visible
    assert elsewhere in set(selectors.student_list(membership=membership(alpha, Role.OWNER)))


def test_a_teacher_sees_only_children_of_own_groups_and_parents_see_none(alpha):
    outsider = f.StudentFactory(organization=alpha.org, branch=alpha.branch)
    visible = set(selectors.student_list(membership=membership(alpha, Role.TEACHER)))
    assert visible == {alpha.student}
    assert outsider not in visible
    assert not selectors.student_list(membership=membership(alpha, Role.PARENT)).exists()


def test_the_student_list_never_crosses_organisations(alpha, beta):
    assert beta.student not in set(selectors.student_list(membership=membership(alpha, Role.OWNER)))
