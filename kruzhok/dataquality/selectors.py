"""Reads for the data-quality page: the checks in the member's scope and the daily trend."""

import datetime as dt
from dataclasses import dataclass

from kruzhok.accounts.models import Membership, Role
from kruzhok.dataquality.checks import CHECKS, Check, Problem
from kruzhok.dataquality.models import DataQualitySnapshot
from kruzhok.school.models import Branch

TREND_DAYS = 30


@dataclass
class CheckResult:
    check: Check
    problems: list[Problem]
    # For checks computed once a day (the ledger), the day their rows come from.
    as_of: dt.date | None = None

    @property
    def count(self) -> int:
        return len(self.problems)


def scope_branch_ids(membership: Membership) -> list[int] | None:
    """None: the whole organisation (owner); a manager's own branches otherwise."""
    if membership.role == Role.OWNER:
        return None
    return list(
        Branch.objects.filter(
            organization_id=membership.organization_id, managers=membership.user_id
        ).values_list("pk", flat=True)
    )


def latest_snapshot(*, org) -> DataQualitySnapshot | None:
    return DataQualitySnapshot.objects.filter(organization_id=org.pk).order_by("-day").first()


def check_results(*, membership: Membership, today: dt.date) -> list[CheckResult]:
    org = membership.organization
    branch_ids = scope_branch_ids(membership)
    snapshot = None
    results = []
    for check in CHECKS:
        if check.owner_only:
            if membership.role != Role.OWNER:
                continue
            # Too slow to run on every page view of a big network: the daily snapshot keeps its rows.
            snapshot = snapshot or latest_snapshot(org=org)
            rows = (snapshot.details.get(check.key, []) if snapshot else []) or []
            problems = [Problem(text=r["text"], url=r["url"], branch_id=None) for r in rows]
            results.append(CheckResult(check, problems, as_of=snapshot.day if snapshot else None))
            continue
        results.append(CheckResult(check, check.find(org, branch_ids, today)))
    return results


def trend(*, membership: Membership, today: dt.date, days: int = TREND_DAYS) -> list[dict]:
    """[{day, total}] for the last `days` snapshots: problems in the member's scope, oldest first."""
    branch_ids = scope_branch_ids(membership)
    snapshots = DataQualitySnapshot.objects.filter(
        organization_id=membership.organization_id, day__gt=today - dt.timedelta(days=days), day__lte=today
    ).order_by("day")
    points = []
    for snapshot in snapshots:
        if branch_ids is None:
            total = sum(snapshot.counts.get("all", {}).values())
        else:
            total = sum(sum(snapshot.counts.get(str(b), {}).values()) for b in branch_ids)
        points.append({"day": snapshot.day, "total": total})
    return points
