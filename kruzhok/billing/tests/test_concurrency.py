"""Money under races, on real PostgreSQL connections: a double-clicked payment, two staff marking the
same lesson, two write-offs fighting for the last lesson of a pack. Nothing may post twice."""

import threading

import pytest
from django.db import connection, connections

from kruzhok.attendance.models import AttendanceMark
from kruzhok.attendance.services import attendance_mark
from kruzhok.billing import selectors, services
from kruzhok.billing.checks import ledger_problems
from kruzhok.billing.models import Account, EntryKind, LedgerEntry, Payment
from kruzhok.billing.tests.helpers import extra_lesson, pack_plan, sell
from kruzhok.lib.tenancy import tenant_context
from kruzhok.school.models import Lesson, Student

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: parallel connections"),
]


def race(*, org_id, jobs):
    barrier = threading.Barrier(len(jobs))
    errors, results = [], []

    def worker(job):
        try:
            with tenant_context(org_id):
                results.append(job(barrier))
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
    return errors, results


@pytest.mark.django_db(transaction=True)
def test_a_double_clicked_payment_credits_once(alpha):
    account = services.account_for_guardian(guardian=alpha.guardian)

    def pay(barrier):
        fresh = Account.objects.get(pk=account.pk)
        barrier.wait(timeout=10)
        return services.payment_take(
            org=alpha.org,
            account=fresh,
            amount="4800",
            method="card",
            actor=None,
            idempotency_key="double-click",
        ).pk

    errors, results = race(org_id=alpha.org.pk, jobs=[pay, pay, pay, pay])
    assert errors == []
    assert len(set(results)) == 1
    assert Payment.objects.count() == 1
    assert LedgerEntry.objects.filter(kind=EntryKind.PAYMENT).count() == 1
    assert selectors.account_balance(account=account) == 4800


@pytest.mark.django_db(transaction=True)
def test_two_staff_marking_the_same_lesson_write_off_once(alpha):
    sell(alpha)

    def mark(barrier):
        lesson = Lesson.objects.select_related("group", "organization").get(pk=alpha.lesson.pk)
        student = Student.objects.get(pk=alpha.student.pk)
        barrier.wait(timeout=10)
        attendance_mark(lesson=lesson, student=student, status="present", actor=None)

    errors, _ = race(org_id=alpha.org.pk, jobs=[mark, mark, mark])
    assert errors == []
    assert LedgerEntry.objects.filter(kind=EntryKind.WRITEOFF).count() == 1
    assert selectors.subscription_list(org=alpha.org).get().lessons_left == 7
    # And the handler run again by hand (a nightly catch-up) changes nothing.
    services.writeoff_sync_mark(mark_id=AttendanceMark.objects.get().pk, organization_id=alpha.org.pk)
    assert LedgerEntry.objects.filter(kind=EntryKind.WRITEOFF).count() == 1
    assert ledger_problems() == []


@pytest.mark.django_db(transaction=True)
def test_two_lessons_racing_for_the_last_lesson_of_a_pack(alpha):
    sell(alpha, pack_plan(alpha, lessons=1))
    lessons = [alpha.lesson, extra_lesson(alpha, days_ago=1)]

    def job_for(lesson_pk):
        def mark(barrier):
            lesson = Lesson.objects.select_related("group", "organization").get(pk=lesson_pk)
            student = Student.objects.get(pk=alpha.student.pk)
            barrier.wait(timeout=10)
            attendance_mark(lesson=lesson, student=student, status="present", actor=None)

        return mark

    errors, _ = race(org_id=alpha.org.pk, jobs=[job_for(lesson.pk) for lesson in lessons])
    assert errors == []
    assert selectors.subscription_list(org=alpha.org).get().lessons_left == 0
    assert ledger_problems() == []
