"""Billing (kruzhok.billing): lessons left on the current subscription, days to its end, a missed renewal,
a freeze in force, debt. Side tables, each row dated by the day it became known:

subscriptions: enrollment_id, day (valid_from), valid_to, lessons_total, sub_id, account_id
writeoffs: sub_id, day, lessons (−1 per lesson written off, +1 for a reversal)
freezes: sub_id, day (start), end
ledger: account_id, day, amount (sales negative, payments positive: a negative balance is debt)

Backtest CSVs carry `subscription_ended` / `renewal_missed` events instead; the provider reads those when the
side tables are absent.
"""

import numpy as np
import pandas as pd

from kruzhok.risk.features import FeatureContext, register, register_loader
from kruzhok.risk.signals.common import SCOPE_LIMIT, days, per_student, rows_of, until_limit


@register_loader("billing")
def load_billing(*, org, enrollments, until):
    from kruzhok.billing.models import (
        EntryKind,
        LedgerEntry,
        Subscription,
        SubscriptionFreeze,
        SubscriptionStatus,
    )

    subs = rows_of(Subscription, org, enrollments).exclude(status=SubscriptionStatus.CANCELLED)
    if len(enrollments) <= SCOPE_LIMIT:
        subs = subs.filter(student_id__in=[int(s) for s in enrollments["student_id"].unique()])
    subs = subs.filter(**until_limit(until, "valid_from"))
    rows = list(
        subs.values_list(
            "id", "enrollment_id", "student_id", "valid_from", "valid_to", "lessons_total", "account_id"
        )
    )
    frame = pd.DataFrame(
        rows,
        columns=["sub_id", "enrollment_id", "student_id", "day", "valid_to", "lessons_total", "account_id"],
    )
    if frame.empty:
        # Most children of a one-child rescore have no subscription: skip the ledger queries.
        return {}
    frame["day"] = days(frame["day"])
    frame["valid_to"] = days(frame["valid_to"])
    # A subscription sold for an enrollment belongs to it; one sold to the child alone, to all the child's.
    direct = frame[frame["enrollment_id"].notna()].drop(columns="student_id")
    loose = per_student(frame[frame["enrollment_id"].isna()].drop(columns="enrollment_id"), enrollments)
    subscriptions = pd.concat([direct, loose], ignore_index=True)
    subscriptions["enrollment_id"] = subscriptions["enrollment_id"].astype(np.int64)
    sub_ids = [int(i) for i in frame["sub_id"]]

    entries = rows_of(LedgerEntry, org, enrollments).filter(**until_limit(until, "occurred_on"))
    writeoffs = pd.DataFrame(
        list(
            entries.filter(kind=EntryKind.WRITEOFF, subscription_id__in=sub_ids).values_list(
                "subscription_id", "occurred_on", "lessons"
            )
        ),
        columns=["sub_id", "day", "lessons"],
    )
    writeoffs["day"] = days(writeoffs["day"])
    writeoffs["lessons"] = writeoffs["lessons"].astype(float)
    accounts = [int(a) for a in frame["account_id"].unique()]
    ledger = pd.DataFrame(
        list(entries.filter(account_id__in=accounts).values_list("account_id", "occurred_on", "amount")),
        columns=["account_id", "day", "amount"],
    )
    ledger["day"] = days(ledger["day"])
    ledger["amount"] = ledger["amount"].astype(float)
    freezes = pd.DataFrame(
        list(
            rows_of(SubscriptionFreeze, org, enrollments)
            .filter(subscription_id__in=sub_ids)
            .values_list("subscription_id", "start_date", "end_date")
        ),
        columns=["sub_id", "day", "end"],
    )
    freezes["day"] = days(freezes["day"])
    freezes["end"] = days(freezes["end"])
    return {"subscriptions": subscriptions, "writeoffs": writeoffs, "freezes": freezes, "ledger": ledger}


BILLING = ("sub_lessons_left", "sub_days_to_end", "renewal_missed", "frozen_now", "debt")


@register(*BILLING, group="billing")
def billing(ctx: FeatureContext) -> dict[str, np.ndarray]:
    extra = ctx.data.extra
    subs = extra.get("subscriptions")
    if subs is None:
        return _from_events(ctx)
    out = {name: np.full(ctx.n, np.nan) for name in BILLING}
    # numpy over the columns, not pandas sort/groupby: a one-child rescore has a handful of rows and
    # pandas' fixed cost per call was most of this signal's time.
    enrollment = subs["enrollment_id"].to_numpy(dtype=np.int64)
    mine = np.flatnonzero(np.isin(enrollment, ctx.rows.index.to_numpy()))
    if not len(mine):
        return out
    # The current subscription: the latest one that has begun (its successor not yet begun), i.e. the
    # last by (day, sub_id) within each enrollment.
    sub_id = subs["sub_id"].to_numpy(dtype=np.int64)[mine]
    order = np.lexsort((sub_id, subs["day"].to_numpy()[mine], enrollment[mine]))
    ordered_enrollment = enrollment[mine][order]
    last = order[np.r_[ordered_enrollment[1:] != ordered_enrollment[:-1], True]]
    latest = subs.iloc[mine[last]]
    row = ctx.rows.index.get_indexer(latest["enrollment_id"].to_numpy(dtype=np.int64))
    latest_subs = sub_id[last]
    writeoffs = extra["writeoffs"]
    used = _sum_per_key(
        writeoffs["sub_id"].to_numpy(dtype=np.int64), writeoffs["lessons"].to_numpy(dtype=float), latest_subs
    )
    to_end = latest["valid_to"].to_numpy() - ctx.as_of
    out["sub_lessons_left"][row] = np.maximum(latest["lessons_total"].to_numpy() + used, 0)
    out["sub_days_to_end"][row] = to_end
    out["renewal_missed"][row] = (to_end < 0).astype(float)
    freezes = extra["freezes"]
    frozen = freezes["sub_id"].to_numpy()[freezes["end"].to_numpy() >= ctx.as_of]
    out["frozen_now"][row] = np.isin(latest_subs, frozen).astype(float)
    balance = extra["ledger"].groupby("account_id")["amount"].sum()
    out["debt"][row] = np.maximum(
        -np.nan_to_num(balance.reindex(latest["account_id"]).to_numpy(dtype=float)), 0
    )
    return out


def _sum_per_key(keys: np.ndarray, values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Sum of `values` per key, for each of `wanted` (0 where a key has no rows; NaN values count as 0,
    as in a pandas groupby sum). Integer lesson counts: the order of summation cannot change the total."""
    if not len(keys):
        return np.zeros(len(wanted))
    unique, inverse = np.unique(keys, return_inverse=True)
    totals = np.bincount(inverse, weights=np.nan_to_num(values), minlength=len(unique))
    at = np.minimum(np.searchsorted(unique, wanted), len(unique) - 1)
    return np.where(unique[at] == wanted, totals[at], 0.0)


def _from_events(ctx: FeatureContext) -> dict[str, np.ndarray]:
    out = {name: np.full(ctx.n, np.nan) for name in BILLING}
    events = ctx.data.extra.get("events")
    if events is None:
        return out
    ended = events[(events["kind"] == "subscription_ended") & events["enrollment_id"].isin(ctx.rows.index)]
    missed = events[(events["kind"] == "renewal_missed") & events["enrollment_id"].isin(ctx.rows.index)]
    if ended.empty and missed.empty:
        return out
    last_end = ended.groupby("enrollment_id")["day"].max().reindex(ctx.rows.index)
    out["sub_days_to_end"] = (last_end - ctx.as_of).to_numpy(dtype=float)
    recent = missed[missed["day"] > ctx.as_of - 60].groupby("enrollment_id").size()
    out["renewal_missed"] = (recent.reindex(ctx.rows.index).fillna(0).to_numpy() > 0).astype(float)
    return out
