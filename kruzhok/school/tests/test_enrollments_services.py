import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from kruzhok.school import models as school
from kruzhok.school.selectors import people as selectors
from kruzhok.school.services import enrollments, people
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db
S = school.EnrollmentStatus


def today():
    return timezone.localdate()


def consented_child(world, **kwargs):
    child = f.StudentFactory(organization=world.org, branch=world.branch, **kwargs)
    people.guardian_link(student=child, guardian=world.guardian, relation="mother", is_primary=False)
    people.consent_record(guardian=world.guardian, student=child, text_version="2026-01", actor=world.manager)
    return child


def group(world, **kwargs):
    defaults = {
        "organization": world.org,
        "branch": world.branch,
        "course": world.course,
        "start_date": today() - dt.timedelta(days=30),
        "end_date": today() + dt.timedelta(days=200),
    }
    return f.GroupFactory(**{**defaults, **kwargs})


def events(enrollment):
    return list(enrollment.events.values_list("from_status", "to_status"))


def test_it_enrols_a_consented_child_and_writes_the_first_event(alpha):
    child = consented_child(alpha)
    enrollment = enrollments.enrollment_create(student=child, group=alpha.group, actor=alpha.manager)
    assert (enrollment.status, enrollment.started_on) == (S.TRIAL, today())
    assert events(enrollment) == [("", "trial")]
    assert enrollment.events.get().actor == alpha.manager


def test_it_refuses_a_child_without_consent(alpha):
    child = f.StudentFactory(organization=alpha.org)
    with pytest.raises(ValidationError) as exc:
        enrollments.enrollment_create(student=child, group=alpha.group, actor=alpha.manager)
    assert exc.value.code == "no_consent"
    assert not child.enrollments.exists()


def test_a_revoked_consent_does_not_count(alpha):
    child = consented_child(alpha)
    people.consent_revoke(consent=child.consents.get())
    with pytest.raises(ValidationError) as exc:
        enrollments.enrollment_create(student=child, group=alpha.group, actor=alpha.manager)
    assert exc.value.code == "no_consent"


def test_a_consent_from_someone_no_longer_a_guardian_does_not_count(alpha):
    child = consented_child(alpha)
    school.StudentGuardian.objects.filter(student=child).delete()
    with pytest.raises(ValidationError) as exc:
        enrollments.enrollment_create(student=child, group=alpha.group, actor=alpha.manager)
    assert exc.value.code == "no_consent"


def test_it_refuses_the_same_child_twice_in_a_group(alpha):
    with pytest.raises(ValidationError) as exc:
        enrollments.enrollment_create(student=alpha.student, group=alpha.group, actor=alpha.manager)
    assert exc.value.code == "duplicate"
    assert "уже записан" in exc.value.messages[0]


def test_the_database_also_refuses_a_second_open_enrollment(alpha):
    with pytest.raises(IntegrityError), transaction.atomic():
        school.Enrollment.objects.create(
            organization=alpha.org,
            student=alpha.student,
            group=alpha.group,
            status=S.TRIAL,
            started_on=today(),
        )


def test_a_child_who_left_may_come_back_to_the_same_group(alpha):
    enrollments.enrollment_transition(
        enrollment=alpha.enrollment, to_status=S.DROPPED, actor=alpha.manager, reason="schedule"
    )
    again = enrollments.enrollment_create(student=alpha.student, group=alpha.group, actor=alpha.manager)
    assert again.status == S.TRIAL


def test_it_refuses_a_full_group(alpha):
    small = group(alpha, capacity=1)
    enrollments.enrollment_create(student=consented_child(alpha), group=small, actor=alpha.manager)
    late = consented_child(alpha)
    with pytest.raises(ValidationError) as exc:
        enrollments.enrollment_create(student=late, group=small, actor=alpha.manager)
    assert exc.value.code == "group_full"
    assert "1 из 1" in exc.value.messages[0]


def test_paused_children_keep_their_seat_but_finished_ones_free_it(alpha):
    small = group(alpha, capacity=1)
    first = enrollments.enrollment_create(student=consented_child(alpha), group=small, actor=alpha.manager)
    enrollments.enrollment_transition(enrollment=first, to_status=S.ACTIVE, actor=alpha.manager)
    enrollments.enrollment_transition(enrollment=first, to_status=S.PAUSED, actor=alpha.manager)
    with pytest.raises(ValidationError):
        enrollments.enrollment_create(student=consented_child(alpha), group=small, actor=alpha.manager)
    enrollments.enrollment_transition(enrollment=first, to_status=S.COMPLETED, actor=alpha.manager)
    enrollments.enrollment_create(student=consented_child(alpha), group=small, actor=alpha.manager)


def test_it_refuses_a_group_that_has_ended(alpha):
    old = group(alpha, start_date=today() - dt.timedelta(days=300), end_date=today() - dt.timedelta(days=1))
    with pytest.raises(ValidationError) as exc:
        enrollments.enrollment_create(student=consented_child(alpha), group=old, actor=alpha.manager)
    assert exc.value.code == "group_ended"


def test_it_refuses_a_closed_group(alpha):
    closed = group(alpha, is_active=False)
    with pytest.raises(ValidationError) as exc:
        enrollments.enrollment_create(student=consented_child(alpha), group=closed, actor=alpha.manager)
    assert exc.value.code == "group_ended"


def test_a_start_before_the_group_starts_is_moved_to_its_first_day(alpha):
    future = group(alpha, start_date=today() + dt.timedelta(days=20))
    enrollment = enrollments.enrollment_create(
        student=consented_child(alpha), group=future, actor=alpha.manager, started_on=today()
    )
    assert enrollment.started_on == future.start_date


def test_it_refuses_a_group_of_another_organisation(alpha, beta):
    with pytest.raises(ValidationError) as exc:
        enrollments.enrollment_create(student=consented_child(alpha), group=beta.group, actor=alpha.manager)
    assert exc.value.code == "wrong_org"


def test_it_refuses_an_unknown_starting_status(alpha):
    with pytest.raises(ValidationError) as exc:
        enrollments.enrollment_create(
            student=consented_child(alpha), group=alpha.group, actor=alpha.manager, status="completed"
        )
    assert exc.value.code == "invalid_status"


# Lifecycle


def test_the_full_lifecycle_is_kept_as_events(alpha):
    enrollment = enrollments.enrollment_create(
        student=consented_child(alpha),
        group=alpha.group,
        actor=alpha.manager,
        started_on=today() - dt.timedelta(10),
    )
    enrollments.enrollment_transition(
        enrollment=enrollment, to_status=S.ACTIVE, actor=alpha.manager, on_date=today() - dt.timedelta(8)
    )
    enrollments.enrollment_transition(
        enrollment=enrollment,
        to_status=S.PAUSED,
        actor=alpha.manager,
        on_date=today() - dt.timedelta(5),
        note="Болеет",
    )
    enrollments.enrollment_transition(enrollment=enrollment, to_status=S.ACTIVE, actor=alpha.manager)
    enrollments.enrollment_transition(enrollment=enrollment, to_status=S.COMPLETED, actor=alpha.manager)
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.ended_on) == (S.COMPLETED, today())
    assert events(enrollment) == [
        ("", "trial"),
        ("trial", "active"),
        ("active", "paused"),
        ("paused", "active"),
        ("active", "completed"),
    ]
    assert enrollment.events.get(to_status="paused").note == "Болеет"


def test_dropping_needs_a_reason_from_the_list(alpha):
    with pytest.raises(ValidationError) as exc:
        enrollments.enrollment_transition(
            enrollment=alpha.enrollment, to_status=S.DROPPED, actor=alpha.manager
        )
    assert exc.value.code == "reason_required"
    with pytest.raises(ValidationError) as exc:
        enrollments.enrollment_transition(
            enrollment=alpha.enrollment, to_status=S.DROPPED, actor=alpha.manager, reason="made-up"
        )
    assert exc.value.code == "invalid_reason"
    enrollments.enrollment_transition(
        enrollment=alpha.enrollment, to_status=S.DROPPED, actor=alpha.manager, reason="price", note="Дорого"
    )
    alpha.enrollment.refresh_from_db()
    assert (alpha.enrollment.status, alpha.enrollment.drop_reason, alpha.enrollment.ended_on) == (
        S.DROPPED,
        "price",
        today(),
    )


@pytest.mark.parametrize(
    ("start", "to"),
    [(S.ACTIVE, S.TRIAL), (S.TRIAL, S.PAUSED), (S.ACTIVE, S.TRANSFERRED), (S.ACTIVE, "nonsense")],
)
def test_it_refuses_a_transition_that_is_not_allowed(alpha, start, to):
    alpha.enrollment.status = start
    alpha.enrollment.save()
    with pytest.raises(ValidationError) as exc:
        enrollments.enrollment_transition(enrollment=alpha.enrollment, to_status=to, actor=alpha.manager)
    assert exc.value.code == "invalid_transition"


def test_nothing_moves_a_finished_enrollment(alpha):
    enrollments.enrollment_transition(enrollment=alpha.enrollment, to_status=S.COMPLETED, actor=alpha.manager)
    with pytest.raises(ValidationError) as exc:
        enrollments.enrollment_transition(
            enrollment=alpha.enrollment, to_status=S.ACTIVE, actor=alpha.manager
        )
    assert exc.value.code == "invalid_transition"


def test_it_refuses_an_end_before_the_start(alpha):
    with pytest.raises(ValidationError) as exc:
        enrollments.enrollment_transition(
            enrollment=alpha.enrollment,
            to_status=S.COMPLETED,
            actor=alpha.manager,
            on_date=alpha.enrollment.started_on - dt.timedelta(days=1),
        )
    assert exc.value.code == "end_before_start"
    alpha.enrollment.refresh_from_db()
    assert alpha.enrollment.status == S.ACTIVE


def test_it_refuses_a_change_dated_in_the_future(alpha):
    with pytest.raises(ValidationError) as exc:
        enrollments.enrollment_transition(
            enrollment=alpha.enrollment,
            to_status=S.PAUSED,
            actor=alpha.manager,
            on_date=today() + dt.timedelta(3),
        )
    assert exc.value.code == "date_in_future"


def test_it_refuses_a_change_dated_before_the_last_one(alpha):
    enrollments.enrollment_transition(enrollment=alpha.enrollment, to_status=S.PAUSED, actor=alpha.manager)
    with pytest.raises(ValidationError) as exc:
        enrollments.enrollment_transition(
            enrollment=alpha.enrollment,
            to_status=S.ACTIVE,
            actor=alpha.manager,
            on_date=today() - dt.timedelta(2),
        )
    assert exc.value.code == "date_before_last_change"


# Transfer


def test_a_transfer_closes_the_old_enrollment_and_links_the_new_one(alpha):
    other = group(alpha, name="Роботы-2")
    new = enrollments.enrollment_transfer(
        enrollment=alpha.enrollment, to_group=other, actor=alpha.manager, note="Удобнее по времени"
    )
    alpha.enrollment.refresh_from_db()
    assert alpha.enrollment.status == S.TRANSFERRED
    assert alpha.enrollment.ended_on == today() - dt.timedelta(days=1)
    assert (new.group, new.status, new.started_on, new.transferred_from) == (
        other,
        S.ACTIVE,
        today(),
        alpha.enrollment,
    )
    assert events(alpha.enrollment)[-1] == ("active", "transferred")
    assert events(new) == [("", "active")]
    assert new.events.get().note == "Удобнее по времени"
    # On the day of the transfer the child is on one register only.
    assert alpha.enrollment not in selectors.enrolled_students_on(group=alpha.group, on_date=today())
    assert alpha.enrollment in selectors.enrolled_students_on(
        group=alpha.group, on_date=today() - dt.timedelta(1)
    )
    assert list(selectors.enrolled_students_on(group=other, on_date=today())) == [new]


def test_a_transfer_into_a_full_group_changes_nothing(alpha):
    full = group(alpha, capacity=1)
    enrollments.enrollment_create(student=consented_child(alpha), group=full, actor=alpha.manager)
    with pytest.raises(ValidationError) as exc:
        enrollments.enrollment_transfer(enrollment=alpha.enrollment, to_group=full, actor=alpha.manager)
    assert exc.value.code == "group_full"
    alpha.enrollment.refresh_from_db()
    assert alpha.enrollment.status == S.ACTIVE
    assert events(alpha.enrollment) == []


def test_a_transfer_to_the_same_group_or_of_a_finished_enrollment_is_refused(alpha):
    with pytest.raises(ValidationError) as exc:
        enrollments.enrollment_transfer(
            enrollment=alpha.enrollment, to_group=alpha.group, actor=alpha.manager
        )
    assert exc.value.code == "same_group"
    enrollments.enrollment_transition(enrollment=alpha.enrollment, to_status=S.COMPLETED, actor=alpha.manager)
    with pytest.raises(ValidationError) as exc:
        enrollments.enrollment_transfer(
            enrollment=alpha.enrollment, to_group=group(alpha), actor=alpha.manager
        )
    assert exc.value.code == "invalid_transition"


def test_a_trial_stays_a_trial_after_a_transfer(alpha):
    enrollment = enrollments.enrollment_create(student=consented_child(alpha), group=alpha.group, actor=None)
    new = enrollments.enrollment_transfer(enrollment=enrollment, to_group=group(alpha), actor=None)
    assert new.status == S.TRIAL


# Waiting list


def test_a_full_group_has_a_waiting_list_that_enrols_when_a_seat_frees(alpha):
    small = group(alpha, capacity=1)
    first = enrollments.enrollment_create(student=consented_child(alpha), group=small, actor=alpha.manager)
    waiting = consented_child(alpha)
    entry = enrollments.waitlist_add(student=waiting, group=small, actor=alpha.manager, note="Просили вечер")
    with pytest.raises(ValidationError) as exc:
        enrollments.waitlist_enroll(entry=entry, actor=alpha.manager)
    assert exc.value.code == "group_full"
    entry.refresh_from_db()
    assert entry.status == school.WaitlistStatus.WAITING

    enrollments.enrollment_transition(
        enrollment=first, to_status=S.DROPPED, actor=alpha.manager, reason="moved"
    )
    enrollment = enrollments.waitlist_enroll(entry=entry, actor=alpha.manager)
    entry.refresh_from_db()
    assert (enrollment.student, enrollment.status, entry.status) == (waiting, S.TRIAL, "enrolled")
    with pytest.raises(ValidationError) as exc:
        enrollments.waitlist_enroll(entry=entry, actor=alpha.manager)
    assert exc.value.code == "not_waiting"


def test_a_child_waits_once_per_group_and_not_for_their_own_group(alpha):
    child = consented_child(alpha)
    enrollments.waitlist_add(student=child, group=alpha.group, actor=None)
    with pytest.raises(ValidationError) as exc:
        enrollments.waitlist_add(student=child, group=alpha.group, actor=None)
    assert exc.value.code == "already_waiting"
    with pytest.raises(ValidationError) as exc:
        enrollments.waitlist_add(student=alpha.student, group=alpha.group, actor=None)
    assert exc.value.code == "duplicate"


def test_a_cancelled_waitlist_entry_leaves_the_list(alpha):
    entry = enrollments.waitlist_add(student=consented_child(alpha), group=alpha.group, actor=None)
    enrollments.waitlist_cancel(entry=entry, actor=alpha.manager)
    entry.refresh_from_db()
    assert entry.status == "cancelled"


# The enrol form's service


def admit(world, **overrides):
    data = {
        "org": world.org,
        "actor": world.manager,
        "first_name": "Тимофей",
        "last_name": "Орлов",
        "birth_date": dt.date(2016, 2, 2),
        "branch": world.branch,
        "guardian_full_name": "Орлова Дарья",
        "guardian_phone": "8 903 777-66-55",
        "relation": "mother",
        "consent_text_version": "2026-01",
    }
    return enrollments.student_admit(**{**data, **overrides})


def test_admission_creates_child_guardian_consent_and_enrollment_together(alpha):
    admission = admit(alpha, group=alpha.group, status="active")
    assert admission.guardian.phone == "+79037776655"
    assert admission.student.consents.get().text_version == "2026-01"
    assert admission.enrollment.status == S.ACTIVE
    assert not admission.guardian_existed


def test_admission_reuses_a_guardian_found_by_phone(alpha):
    admission = admit(alpha, guardian_phone="+7 (916) " + alpha.guardian.phone[5:], guardian_full_name="")
    assert admission.guardian == alpha.guardian and admission.guardian_existed
    assert school.Guardian.objects.filter(organization=alpha.org).count() == 1


def test_a_failed_admission_leaves_nothing_behind(alpha):
    full = group(alpha, capacity=1)
    enrollments.enrollment_create(student=consented_child(alpha), group=full, actor=None)
    before = (school.Student.objects.count(), school.Guardian.objects.count(), school.Consent.objects.count())
    with pytest.raises(ValidationError) as exc:
        admit(alpha, group=full)
    assert exc.value.code == "group_full"
    assert (
        school.Student.objects.count(),
        school.Guardian.objects.count(),
        school.Consent.objects.count(),
    ) == before


def test_admission_into_a_full_group_can_go_to_the_waiting_list(alpha):
    full = group(alpha, capacity=1)
    enrollments.enrollment_create(student=consented_child(alpha), group=full, actor=None)
    admission = admit(alpha, group=full, waitlist_if_full=True)
    assert admission.enrollment is None
    assert admission.waitlist_entry.group == full


def test_admission_needs_a_guardian_name_for_a_new_phone(alpha):
    with pytest.raises(ValidationError) as exc:
        admit(alpha, guardian_full_name="")
    assert exc.value.code == "guardian_name_required"
    assert not school.Student.objects.filter(last_name="Орлов").exists()
