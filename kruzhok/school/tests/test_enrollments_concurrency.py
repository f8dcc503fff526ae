"""Two managers taking the last seat, or enrolling the same child, at the same moment, on real
PostgreSQL connections: the group-row lock and the partial unique index must hold."""

import datetime as dt
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.utils import timezone

from kruzhok.lib.tenancy import tenant_context
from kruzhok.school.models import Enrollment, Group, Student
from kruzhok.school.services import enrollments, people
from kruzhok.testing import factories as f

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: parallel connections"),
]


def race(*, org_id, jobs):
    barrier = threading.Barrier(len(jobs))
    errors = []

    def worker(job):
        try:
            with tenant_context(org_id):
                job(barrier)
        except Exception as exc:  # noqa: BLE001 — every failure is reported to the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a worker hung"
    return errors


def enrol_job(student_pk, group_pk, actor):
    def job(barrier):
        student = Student.objects.select_related("organization").get(pk=student_pk)
        group = Group.objects.get(pk=group_pk)
        barrier.wait(timeout=10)
        enrollments.enrollment_create(student=student, group=group, actor=actor)

    return job


def consented_child(world):
    child = f.StudentFactory(organization=world.org, branch=world.branch)
    people.guardian_link(student=child, guardian=world.guardian, relation="mother", is_primary=False)
    people.consent_record(guardian=world.guardian, student=child, text_version="2026-01", actor=None)
    return child


@pytest.mark.django_db(transaction=True)
def test_two_managers_cannot_both_take_the_last_seat(alpha):
    today = timezone.localdate()
    group = f.GroupFactory(
        organization=alpha.org,
        branch=alpha.branch,
        course=alpha.course,
        capacity=1,
        start_date=today - dt.timedelta(days=10),
        end_date=today + dt.timedelta(days=100),
    )
    kids = [consented_child(alpha) for _ in range(4)]
    errors = race(org_id=alpha.org.pk, jobs=[enrol_job(kid.pk, group.pk, alpha.manager) for kid in kids])
    assert Enrollment.objects.filter(group=group).count() == 1
    assert len(errors) == 3
    assert all(isinstance(e, ValidationError) and e.code == "group_full" for e in errors)


@pytest.mark.django_db(transaction=True)
def test_the_same_child_enrolled_twice_at_once_gets_one_enrollment(alpha):
    today = timezone.localdate()
    group = f.GroupFactory(
        organization=alpha.org,
        branch=alpha.branch,
        course=alpha.course,
        capacity=10,
        start_date=today - dt.timedelta(days=10),
        end_date=today + dt.timedelta(days=100),
    )
    kid = consented_child(alpha)
    errors = race(org_id=alpha.org.pk, jobs=[enrol_job(kid.pk, group.pk, alpha.manager) for _ in range(3)])
    assert Enrollment.objects.filter(group=group, student=kid).count() == 1
    assert len(errors) == 2
    assert all(isinstance(e, ValidationError) and e.code == "duplicate" for e in errors)
