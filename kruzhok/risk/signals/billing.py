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

from kruzhok.lib import prepared
from kruzhok.risk.features import FeatureContext, org_rows, register, register_loader
from kruzhok.risk.signals.common import days, narrow, student_id_list, until_or_never

SUB_FIELDS = ("id", "enrollment_id", "student_id", "valid_from", "valid_to", "lessons_total", "account_id")


# A one-child rescore's statements (compiled once per shape, see prepared.rows); the nightly run calls
# them without id lists.
def _subscriptions(org, until, students=None, *, narrow_rows=True):
    from kruzhok.billing.models import Subscription, SubscriptionStatus

    subs = org_rows(Subscription, org, narrow=narrow_rows).exclude(status=SubscriptionStatus.CANCELLED)
    if students is not None:
        subs = subs.filter(student_id__in=students)
    return subs.filter(valid_from__lte=until).values_list(*SUB_FIELDS)


def _writeoffs(org, until, subs, *, narrow_rows=True):
    from kruzhok.billing.models import EntryKind, LedgerEntry

    return (
        org_rows(LedgerEntry, org, narrow=narrow_rows)
        .filter(occurred_on__lte=until, kind=EntryKind.WRITEOFF, subscription_id__in=subs)
        .values_list("subscription_id", "occurred_on", "lessons")
    )


def _ledger(org, until, accounts, *, narrow_rows=True):
    from kruzhok.billing.models import LedgerEntry

    return (
        org_rows(LedgerEntry, org, narrow=narrow_rows)
        .filter(occurred_on__lte=until, account_id__in=accounts)
        .values_list("account_id", "occurred_on", "amount")
    )


def _freezes(org, subs, *, narrow_rows=True):
    from kruzhok.billing.models import SubscriptionFreeze

    return (
        org_rows(SubscriptionFreeze, org, narrow=narrow_rows)
        .filter(subscription_id__in=subs)
        .values_list("subscription_id", "start_date", "end_date")
    )


@register_loader("billing")
def load_billing(*, org, enrollments, until):
    last_day = until_or_never(until)
    small = narrow(enrollments)
    if small:
        rows = prepared.rows(
            _subscriptions, org=org.id, until=last_day, students=student_id_list(enrollments)
        )
    else:
        rows = list(_subscriptions(org.id, last_day, narrow_rows=False))
    if not rows:
        # Most children of a one-child rescore have no subscription: skip the ledger queries.
        return {}
    # A subscription sold for an enrollment belongs to it; one sold to the child alone, to each of the
    # child's loaded enrollments (direct ones first, then the child's, in order). Plain lists into one
    # frame: pandas' merge and concat cost milliseconds of set-up on a one-child rescore.
    of_student: dict = {}
    for eid, sid in zip(enrollments.index.tolist(), enrollments["student_id"].tolist(), strict=True):
        of_student.setdefault(sid, []).append(eid)
    owned = [(r[0], r[1], r[3], r[4], r[5], r[6]) for r in rows if r[1] is not None]
    owned += [
        (r[0], eid, r[3], r[4], r[5], r[6]) for r in rows if r[1] is None for eid in of_student.get(r[2], ())
    ]
    subscriptions = pd.DataFrame(
        {
            "sub_id": np.array([r[0] for r in owned], dtype=np.int64),
            "enrollment_id": np.array([r[1] for r in owned], dtype=np.int64),
            "day": days([r[2] for r in owned]),
            "valid_to": days([r[3] for r in owned]),
            "lessons_total": np.array([r[4] for r in owned], dtype=np.int64),
            "account_id": np.array([r[5] for r in owned], dtype=np.int64),
        }
    )
    sub_ids = sorted({r[0] for r in rows})
    accounts = sorted({r[6] for r in rows})

    def fetch(build, **args):
        if small:
            return prepared.rows(build, org=org.id, **args)
        return list(build(org.id, **args, narrow_rows=False))

    def frame(found, names, *, floats=()):
        columns = {}
        for k, name in enumerate(names):
            values = [r[k] for r in found]
            if name in ("day", "end"):
                columns[name] = days(values)
            elif name in floats:
                columns[name] = np.array(values, dtype=float)
            else:
                columns[name] = np.array(values, dtype=np.int64)
        return pd.DataFrame(columns)

    writeoffs = frame(
        fetch(_writeoffs, until=last_day, subs=sub_ids), ("sub_id", "day", "lessons"), floats=("lessons",)
    )
    ledger = frame(
        fetch(_ledger, until=last_day, accounts=accounts), ("account_id", "day", "amount"), floats=("amount",)
    )
    freezes = frame(fetch(_freezes, subs=sub_ids), ("sub_id", "day", "end"))
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
