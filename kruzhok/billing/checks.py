"""Consistency checks behind `manage.py billing_check`: the ledger is the only truth, so every
number shown anywhere must be derivable from it. Returns human-readable problems (empty = healthy)."""

from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce

from kruzhok.billing.models import (
    Account,
    EntryKind,
    LedgerEntry,
    MakeupLesson,
    Payment,
    PaymentStatus,
    Subscription,
)

ZERO = Decimal("0.00")


def ledger_problems(*, org_id: int | None = None) -> list[str]:
    problems: list[str] = []
    scope = {} if org_id is None else {"organization_id": org_id}

    # Balance computed by the database equals the sum of the rows read one by one.
    for account in Account.objects.filter(**scope).annotate(db_total=Coalesce(Sum("entries__amount"), ZERO)):
        rows = sum((e.amount for e in LedgerEntry.objects.filter(account=account)), ZERO)
        if rows != account.db_total:
            problems.append(f"account {account.pk}: balance {account.db_total} != sum of entries {rows}")

    for sub in Subscription.objects.filter(**scope).annotate(
        sold=Coalesce(Sum("entries__lessons", filter=Q(entries__kind=EntryKind.CHARGE)), 0),
        left=Coalesce(Sum("entries__lessons"), 0),
        charges=Count("entries", filter=Q(entries__kind=EntryKind.CHARGE)),
    ):
        if sub.charges != 1:
            problems.append(f"subscription {sub.pk}: {sub.charges} sale entries, expected 1")
        if sub.sold != sub.lessons_total:
            problems.append(f"subscription {sub.pk}: lessons_total {sub.lessons_total} != sold {sub.sold}")
        if sub.left < 0:
            problems.append(f"subscription {sub.pk}: {sub.left} lessons left (written off more than sold)")
        freeze_days = sum(f.days for f in sub.freezes.all())
        if freeze_days != sub.frozen_days:
            problems.append(f"subscription {sub.pk}: frozen_days {sub.frozen_days} != freezes {freeze_days}")
        if (sub.valid_to - sub.valid_from).days + 1 != sub.valid_days + sub.frozen_days:
            problems.append(f"subscription {sub.pk}: validity does not match its plan days plus freezes")

    for payment in Payment.objects.filter(**scope):
        credits = LedgerEntry.objects.filter(payment=payment, kind=EntryKind.PAYMENT)
        expected = 1 if payment.status == PaymentStatus.SUCCEEDED else 0
        if credits.count() != expected:
            problems.append(f"payment {payment.pk}: {credits.count()} credit entries, expected {expected}")
        elif expected and credits.get().amount != payment.amount:
            problems.append(f"payment {payment.pk}: credited {credits.get().amount} != paid {payment.amount}")
        refunded = -(
            LedgerEntry.objects.filter(payment=payment)
            .exclude(kind=EntryKind.PAYMENT)
            .aggregate(t=Coalesce(Sum("amount"), ZERO))["t"]
        )
        if refunded > payment.amount:
            problems.append(f"payment {payment.pk}: refunded {refunded} > paid {payment.amount}")

    # One open write-off per attendance mark at most.
    doubled = (
        LedgerEntry.objects.filter(kind=EntryKind.WRITEOFF, reversed_by__isnull=True, **scope)
        .exclude(attendance_mark__isnull=True)
        .values("attendance_mark_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    for row in doubled:
        problems.append(f"attendance mark {row['attendance_mark_id']}: written off {row['n']} times")

    # A lesson is written off once per child, whether by its own mark or by its make-up visit.
    twice = (
        LedgerEntry.objects.filter(kind=EntryKind.WRITEOFF, reversed_by__isnull=True, **scope)
        .exclude(lesson__isnull=True)
        .values("lesson_id", "student_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    for row in twice:
        problems.append(
            f"lesson {row['lesson_id']}, student {row['student_id']}: written off {row['n']} times"
        )

    # A write-off for a lesson other than the marked one is a make-up visit: it needs its booking.
    visits = (
        LedgerEntry.objects.filter(kind=EntryKind.WRITEOFF, **scope)
        .exclude(attendance_mark__isnull=True)
        .exclude(lesson_id=F("attendance_mark__lesson_id"))
        .values_list("pk", "attendance_mark__lesson_id", "student_id", "lesson_id")
    )
    for pk, visit_lesson, student, missed_lesson in visits:
        if not MakeupLesson.objects.filter(
            lesson_id=visit_lesson, student_id=student, missed_mark__lesson_id=missed_lesson
        ).exists():
            problems.append(f"entry {pk}: a make-up write-off without its booking")
    return problems
