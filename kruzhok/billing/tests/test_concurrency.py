"""Money under races, on real PostgreSQL connections: a double-clicked payment, two staff marking the
same lesson, two write-offs fighting for the last lesson of a pack, a webhook retried in parallel,
two managers booking the same make-up. Nothing may post twice."""

import datetime as dt
import json
import threading
import time
import uuid

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


@pytest.mark.django_db(transaction=True)
def test_a_retried_webhook_delivered_in_parallel_credits_once(alpha, settings):
    """The provider retries one notification (same event id) and also sends a second event for the
    same payment, all at once: the payment is credited exactly once."""
    from kruzhok.billing import online
    from kruzhok.billing.tests.fake_provider import FakeProvider

    with FakeProvider(shop_id="shop-1", secret="s3cret", webhook_secret="hook-secret") as provider:
        settings.BILLING_PROVIDER_URL = provider.url
        settings.BILLING_PROVIDER_SHOP_ID = "shop-1"
        settings.BILLING_PROVIDER_SECRET = "s3cret"
        settings.BILLING_WEBHOOK_SECRET = "hook-secret"
        account = services.account_for_guardian(guardian=alpha.guardian)
        payment, _ = online.online_payment_start(
            org=alpha.org,
            account=account,
            amount="4800",
            actor=None,
            return_url="http://x/",
            idempotency_key="w1",
        )
        provider.payments[payment.external_id]["status"] = "succeeded"
        deliveries = []
        for _ in range(2):  # two distinct events, each delivered twice
            body = json.dumps(
                {
                    "id": str(uuid.uuid4()),
                    "event": "payment.succeeded",
                    "object": provider.payments[payment.external_id],
                }
            ).encode()
            timestamp = str(int(time.time()))
            deliveries += [(body, timestamp, online.sign(body, timestamp, "hook-secret"))] * 2

        def deliver(body, timestamp, signature):
            def job(barrier):
                barrier.wait(timeout=10)
                return online.online_webhook_handle(body=body, timestamp=timestamp, signature=signature).code

            return job

        errors, results = race(org_id=alpha.org.pk, jobs=[deliver(*d) for d in deliveries])
    assert errors == []
    assert results.count("replayed") == 2 and set(results) <= {"ok", "replayed"}
    assert LedgerEntry.objects.filter(kind=EntryKind.PAYMENT).count() == 1
    assert selectors.account_balance(account=account) == 4800
    assert ledger_problems() == []


@pytest.mark.django_db(transaction=True)
def test_two_managers_booking_the_same_makeup_book_it_once(alpha):
    from django.core.exceptions import ValidationError

    from kruzhok.billing import makeups
    from kruzhok.billing.models import MakeupLesson
    from kruzhok.testing import factories as f

    missed = AttendanceMark.objects.create(
        organization=alpha.org,
        lesson=extra_lesson(alpha, days_ago=2),
        student=alpha.student,
        enrollment=alpha.enrollment,
        status="excused",
    )
    other = f.GroupFactory(organization=alpha.org, course=alpha.course, branch=alpha.branch)
    targets = [
        f.LessonFactory(
            organization=alpha.org, group=other, starts_at=alpha.lesson.starts_at + dt.timedelta(days=d)
        )
        for d in (1, 2)
    ]

    def book(lesson_pk):
        def job(barrier):
            mark = AttendanceMark.objects.select_related("lesson__group", "enrollment").get(pk=missed.pk)
            lesson = Lesson.objects.select_related("group").get(pk=lesson_pk)
            barrier.wait(timeout=10)
            try:
                return makeups.makeup_book(org=alpha.org, actor=None, mark=mark, lesson=lesson).pk
            except ValidationError as exc:
                return exc.code

        return job

    errors, results = race(org_id=alpha.org.pk, jobs=[book(t.pk) for t in targets] * 2)
    assert errors == []
    assert MakeupLesson.objects.filter(status="booked").count() == 1
    assert results.count("already_booked") >= 2
