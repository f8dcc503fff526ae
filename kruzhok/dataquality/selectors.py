"""Reads for the data-quality page: the checks in the member's scope and the daily trend."""

import datetime as dt
from dataclasses import dataclass

from kruzhok.accounts.models import Membership, Role
from kruzhok.dataquality.checks import CHECKS, Check, Problem, problem_text
from kruzhok.dataquality.models import DataQualitySnapshot
from kruzhok.school.models import Branch

TREND_DAYS = 30


@dataclass
class CheckResult:
    check: Check
    problems: list[Problem]
    # The day of the snapshot the rows come from (None: never checked).
    as_of: dt.date | None = None
    # How many the snapshot counted (it keeps only the first rows of each check).
    total: int | None = None

    @property
    def count(self) -> int:
        return self.total if self.total is not None else len(self.problems)


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


def _rows(snapshot: DataQualitySnapshot, key: str, branch_ids: list[int] | None) -> list[dict]:
    details = snapshot.details.get(key) or {}
    if isinstance(details, list):  # snapshots taken before details were kept per branch
        return details if branch_ids is None else []
    if branch_ids is None:
        return details.get("all", [])
    return [row for b in branch_ids for row in details.get(str(b), [])]


def _count(snapshot: DataQualitySnapshot, key: str, branch_ids: list[int] | None) -> int:
    if branch_ids is None:
        return snapshot.counts.get("all", {}).get(key, 0)
    return sum(snapshot.counts.get(str(b), {}).get(key, 0) for b in branch_ids)


def _row_text(row: dict) -> str:
    """In the reader's language; rows of older snapshots kept only the text of the night's run."""
    if row.get("message"):
        try:
            return problem_text(row["message"], row["params"])
        except (KeyError, TypeError, ValueError):  # a msgid whose placeholders changed since
            pass
    return row["text"]


def check_results(*, membership: Membership, today: dt.date) -> list[CheckResult]:
    """Every check as the latest snapshot found it (the checks take seconds on a big network, so they
    run nightly or on «Пересчитать», never on a page view). Empty with no snapshot yet."""
    org = membership.organization
    branch_ids = scope_branch_ids(membership)
    snapshot = latest_snapshot(org=org)
    results = []
    for check in CHECKS:
        if check.owner_only and membership.role != Role.OWNER:
            continue
        if snapshot is None:
            results.append(CheckResult(check, [], as_of=None))
            continue
        rows = _rows(snapshot, check.key, branch_ids)
        problems = [Problem(text=_row_text(r), url=r["url"], branch_id=None) for r in rows]
        results.append(
            CheckResult(check, problems, as_of=snapshot.day, total=_count(snapshot, check.key, branch_ids))
        )
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
