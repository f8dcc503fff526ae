"""Revenue, read from the ledger: money earned (lessons written off) beside money received
(payments minus refunds) and sales (subscriptions sold, net of discounts), by month, branch,
course or teacher. Also the selector the analytics app reads: `revenue_by(org, ...)`.

- Earned: a write-off from a subscription is worth the subscription's net price / its lessons;
  a lesson billed without one is worth what it was charged. Reversed write-offs cancel out.
  Lessons that lapse unused in an expired pack are not counted as earned.
- Received: a payment belongs to a family, not to a course, so by branch, course or teacher it is
  shared out in proportion to what that family bought (its net sales), or, for a family that only
  pays per lesson, to what was written off; a family with neither is "Не распределено".
  Every family's share adds up to its payment to the kopeck.
"""

import calendar
import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth import get_user_model
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.utils.translation import gettext as _

from kruzhok.billing.models import EntryKind, LedgerEntry, Subscription
from kruzhok.school.models import Branch, Course

ZERO = Decimal("0.00")
KOPECK = Decimal("0.01")
GROUPINGS = ("month", "branch", "course", "teacher")
SALE_KINDS = [EntryKind.CHARGE, EntryKind.DISCOUNT]
MONEY_KINDS = [EntryKind.PAYMENT, EntryKind.REFUND]
UNALLOCATED = (None, None, None)

# A cell is (branch_id, course_id, teacher_id); every grouping but month is a projection of it.
CELL_INDEX = {"branch": 0, "course": 1, "teacher": 2}


def _of_kinds(kinds) -> Q:
    return Q(kind__in=kinds) | Q(kind=EntryKind.CORRECTION, reverses__kind__in=kinds)


def month_window(month_from: dt.date, month_to: dt.date) -> tuple[dt.date, dt.date]:
    first = month_from.replace(day=1)
    last = month_to.replace(day=calendar.monthrange(month_to.year, month_to.month)[1])
    return first, last


def _unit_prices(subscription_ids) -> dict[int, Decimal]:
    """Net price of one lesson of each subscription: (price − discounts) / lessons sold."""
    net = dict(
        LedgerEntry.objects.filter(subscription_id__in=subscription_ids)
        .filter(_of_kinds(SALE_KINDS))
        .order_by()
        .values_list("subscription_id")
        .annotate(total=Sum("amount"))
    )
    totals = dict(Subscription.objects.filter(pk__in=subscription_ids).values_list("pk", "lessons_total"))
    return {pk: -Decimal(net.get(pk) or 0) / lessons for pk, lessons in totals.items() if lessons}


def _share(amount: Decimal, weights: dict) -> dict:
    """Splits `amount` by `weights` so that the parts add up to it exactly (kopecks)."""
    total = sum(weights.values(), ZERO)
    if not weights or total <= 0:
        return {UNALLOCATED: amount}
    parts = {k: (amount * w / total).quantize(KOPECK, rounding=ROUND_HALF_UP) for k, w in weights.items()}
    biggest = max(weights, key=lambda k: weights[k])
    parts[biggest] += amount - sum(parts.values(), ZERO)
    return parts


def revenue_by(
    org,
    *,
    month_from: dt.date,
    month_to: dt.date,
    by: str,
    branch_ids=None,
) -> list[dict]:
    """Rows {"key": id (a month's first day for "month"; None = not attributable), "label": str,
    "earned", "received", "sold": Decimal}, sorted by key, for the months month_from..month_to
    (any day of each), optionally only for `branch_ids`."""
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {GROUPINGS}")
    first, last = month_window(month_from, month_to)
    entries = LedgerEntry.objects.filter(
        organization_id=org.pk, occurred_on__gte=first, occurred_on__lte=last
    ).order_by()
    branch_set = None if branch_ids is None else {int(b) for b in branch_ids}

    earned: dict = defaultdict(lambda: ZERO)
    received: dict = defaultdict(lambda: ZERO)
    sold: dict = defaultdict(lambda: ZERO)

    # Earned: write-offs (and their reversals), valued per lesson.
    writeoffs = list(
        entries.filter(_of_kinds([EntryKind.WRITEOFF]))
        .annotate(
            month=TruncMonth("occurred_on"),
            teacher=Coalesce("lesson__teacher_id", "lesson__group__teacher_id"),
        )
        .values("month", "lesson__group__branch_id", "lesson__group__course_id", "teacher", "subscription_id")
        .annotate(lessons=Sum("lessons"), amount=Sum("amount"))
    )
    units = _unit_prices({row["subscription_id"] for row in writeoffs if row["subscription_id"]})
    for row in writeoffs:
        cell = (row["lesson__group__branch_id"], row["lesson__group__course_id"], row["teacher"])
        value = -Decimal(row["amount"]) - row["lessons"] * units.get(row["subscription_id"], ZERO)
        earned[(row["month"], cell)] += value

    # Sold: subscriptions sold, net of discounts and reversed sales.
    for row in (
        entries.filter(_of_kinds(SALE_KINDS), subscription__isnull=False)
        .annotate(month=TruncMonth("occurred_on"))
        .values(
            "month",
            "subscription__group__branch_id",
            "subscription__course_id",
            "subscription__group__teacher_id",
        )
        .annotate(amount=Sum("amount"))
    ):
        cell = (
            row["subscription__group__branch_id"],
            row["subscription__course_id"],
            row["subscription__group__teacher_id"],
        )
        sold[(row["month"], cell)] += -Decimal(row["amount"])

    # Received: each family's money shared out over what it bought.
    money = list(
        entries.filter(_of_kinds(MONEY_KINDS))
        .annotate(month=TruncMonth("occurred_on"))
        .values("month", "account_id")
        .annotate(amount=Sum("amount"))
    )
    account_ids = {row["account_id"] for row in money}
    weights: dict = defaultdict(dict)
    for row in (
        LedgerEntry.objects.filter(
            organization_id=org.pk, account_id__in=account_ids, subscription__isnull=False
        )
        .filter(_of_kinds(SALE_KINDS))
        .order_by()
        .values(
            "account_id",
            "subscription__group__branch_id",
            "subscription__course_id",
            "subscription__group__teacher_id",
        )
        .annotate(amount=Sum("amount"))
    ):
        cell = (
            row["subscription__group__branch_id"],
            row["subscription__course_id"],
            row["subscription__group__teacher_id"],
        )
        if row["amount"] < 0:
            weights[row["account_id"]][cell] = -Decimal(row["amount"])
    per_lesson_only = account_ids - set(weights)
    for row in (
        LedgerEntry.objects.filter(
            organization_id=org.pk,
            account_id__in=per_lesson_only,
            subscription__isnull=True,
            lesson__isnull=False,
        )
        .filter(_of_kinds([EntryKind.WRITEOFF]))
        .order_by()
        .annotate(teacher=Coalesce("lesson__teacher_id", "lesson__group__teacher_id"))
        .values("account_id", "lesson__group__branch_id", "lesson__group__course_id", "teacher")
        .annotate(amount=Sum("amount"))
    ):
        cell = (row["lesson__group__branch_id"], row["lesson__group__course_id"], row["teacher"])
        if row["amount"] < 0:
            weights[row["account_id"]][cell] = -Decimal(row["amount"])
    for row in money:
        for cell, part in _share(Decimal(row["amount"]), weights.get(row["account_id"], {})).items():
            received[(row["month"], cell)] += part

    def keep(cell) -> bool:
        return branch_set is None or cell[0] in branch_set

    def key_of(month, cell):
        return _month_key(month) if by == "month" else cell[CELL_INDEX[by]]

    rows: dict = {}
    for column, values in (("earned", earned), ("received", received), ("sold", sold)):
        for (month, cell), amount in values.items():
            if not keep(cell):
                continue
            key = key_of(month, cell)
            row = rows.setdefault(key, {"key": key, "earned": ZERO, "received": ZERO, "sold": ZERO})
            row[column] += amount
    labels = _labels(org, by, [k for k in rows if k is not None])
    result = []
    for key, row in rows.items():
        for column in ("earned", "received", "sold"):
            row[column] = row[column].quantize(KOPECK, rounding=ROUND_HALF_UP)
        row["label"] = labels.get(key, "") if key is not None else _("Не распределено")
        result.append(row)
    return sorted(result, key=lambda r: (r["key"] is None, r["label"] if by != "month" else r["key"]))


def _month_key(month) -> dt.date:
    return month.date() if isinstance(month, dt.datetime) else month


def _labels(org, by: str, keys) -> dict:
    if by == "month":
        return {k: k.strftime("%m.%Y") for k in keys}
    if by == "branch":
        return dict(Branch.objects.filter(organization_id=org.pk, pk__in=keys).values_list("pk", "name"))
    if by == "course":
        return dict(Course.objects.filter(organization_id=org.pk, pk__in=keys).values_list("pk", "title"))
    users = get_user_model().objects.filter(pk__in=keys)
    return {u.pk: u.get_full_name() or u.username for u in users}
