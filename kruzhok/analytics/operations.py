"""The dashboards' second half: alerts and how fast they are handled, what helped, feedback and NPS, and
a manager's and a teacher's lists for today. Read through the owning apps' selectors where they exist."""

import datetime as dt
import logging
import statistics
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext

from kruzhok.accounts.models import Membership, Organization
from kruzhok.analytics.cache import cached
from kruzhok.analytics.selectors import Facts, add_months
from kruzhok.attendance.selectors import day_bounds
from kruzhok.feedback.models import Feedback, Sentiment
from kruzhok.lib.dates import org_timezone
from kruzhok.risk.models import ActionKind, RiskAlert, RiskAlertAction
from kruzhok.school.models import Lesson, LessonStatus

LIST_LIMIT = 20
logger = logging.getLogger(__name__)


# ---------------------------------------------------------------- alerts


@dataclass(frozen=True)
class AlertHandling:
    opened: int
    still_open: int
    acknowledged: int
    closed: int
    median_days_to_ack: float | None
    median_days_to_close: float | None
    share_acked_within_2_days: float | None


def _days(opened_on: dt.date, moment: dt.datetime | None, tz) -> float | None:
    if moment is None:
        return None
    return max(0, (timezone.localtime(moment, tz).date() - opened_on).days)


def alert_handling(facts: Facts, *, since: dt.date) -> AlertHandling:
    """Alerts opened since `since` on the scope's groups: how many, and days from opening to handling."""

    def compute():
        tz = org_timezone(facts.org)
        rows = list(
            RiskAlert.objects.filter(
                facts.group_q("enrollment__group_id"), organization_id=facts.org.pk, opened_on__gte=since
            ).values_list("opened_on", "status", "acknowledged_at", "closed_at")
        )
        to_ack = [d for o, _s, a, c in rows if (d := _days(o, a or c, tz)) is not None]
        to_close = [d for o, _s, _a, c in rows if (d := _days(o, c, tz)) is not None]
        fast = sum(1 for d in to_ack if d <= 2)
        return AlertHandling(
            opened=len(rows),
            still_open=sum(1 for r in rows if r[1] == "open"),
            acknowledged=sum(1 for r in rows if r[1] == "acknowledged"),
            closed=sum(1 for r in rows if r[1] == "closed"),
            median_days_to_ack=statistics.median(to_ack) if to_ack else None,
            median_days_to_close=statistics.median(to_close) if to_close else None,
            share_acked_within_2_days=fast / len(rows) if rows else None,
        )

    return cached(
        facts.org.pk,
        "alerts",
        {"g": _groups_key(facts), "since": since},
        compute,
        version=_version(facts, "alerts"),
    )


def _groups_key(facts: Facts) -> str:
    return facts.key


def _version(facts: Facts, part: str) -> str:
    """Alerts and interventions follow new alerts and enrollments, feedback new feedback: not marks, nor
    the rescore a mark causes unless it opens an alert."""
    return facts.versions.part(part) if facts.use_facts else facts.version


@dataclass(frozen=True)
class InterventionRow:
    label: str
    alerts: int
    stayed: int
    dropped: int
    stay_rate: float | None
    note: str = ""


def interventions(facts: Facts, *, branch_ids=None) -> tuple[str, list]:
    """("what_helps", rows from the risk app) when it offers its analysis, else ("outcomes", rows) with
    the plain outcome of settled alerts by the kind of action taken."""
    from kruzhok.risk import selectors as risk_selectors

    what_helps = getattr(risk_selectors, "what_helps", None)
    if what_helps is not None:
        try:
            rows = facts.cached(
                "what_helps",
                {"b": branch_ids},
                lambda: list(what_helps(facts.org, branch_ids=branch_ids)),
                part="alerts",
            )
            return "what_helps", rows
        except Exception:  # noqa: BLE001 — the risk area is still changing; fall back to the plain table
            logger.exception("risk what_helps failed; showing alert outcomes instead")

    def compute():
        alerts = RiskAlert.objects.filter(
            facts.group_q("enrollment__group_id"), organization_id=facts.org.pk
        ).select_related("enrollment")
        kinds: dict[str, set[int]] = defaultdict(set)
        for alert_id, kind in RiskAlertAction.objects.filter(
            organization_id=facts.org.pk, alert__in=alerts
        ).values_list("alert_id", "kind"):
            kinds[kind].add(alert_id)
        outcome = {a.pk: a.enrollment.status for a in alerts}
        acted = set().union(*kinds.values()) if kinds else set()
        rows = []
        labels = dict(ActionKind.choices)
        for kind, ids in sorted(kinds.items()):
            rows.append(_outcome_row(str(labels.get(kind, kind)), ids, outcome))
        rows.append(_outcome_row(gettext("Без действий"), set(outcome) - acted, outcome))
        return rows

    return "outcomes", cached(
        facts.org.pk, "interventions", {"g": _groups_key(facts)}, compute, version=_version(facts, "alerts")
    )


def _outcome_row(label: str, ids: set[int], status_by_alert: dict[int, str]) -> InterventionRow:
    dropped = sum(1 for i in ids if status_by_alert.get(i) == "dropped")
    return InterventionRow(
        label=label,
        alerts=len(ids),
        stayed=len(ids) - dropped,
        dropped=dropped,
        stay_rate=(len(ids) - dropped) / len(ids) if ids else None,
    )


# ---------------------------------------------------------------- feedback


def feedback_trend(facts: Facts, *, months: list[dt.date], teacher_id: int | None = None) -> list[dict]:
    """Per month: feedback by sentiment and an NPS-style index from the 1–5 scores (5 promotes,
    1–3 detract, 4 is passive; index = % promoters − % detractors)."""

    def compute():
        qs = Feedback.objects.filter(organization_id=facts.org.pk, created_at__date__gte=months[0])
        if not facts.whole_org:
            branch_ids = {facts.groups[g].branch_id for g in facts.group_ids}
            qs = qs.filter(
                Q(lesson__group_id__in=list(facts.group_ids))
                | Q(lesson__isnull=True, branch_id__in=branch_ids)
            )
        if teacher_id is not None:
            qs = qs.filter(lesson__group__teacher_id=teacher_id)
        rows = (
            qs.annotate(month=TruncMonth("created_at", tzinfo=org_timezone(facts.org)))
            .values_list("month", "sentiment")
            .annotate(
                n=Count("pk"),
                promoters=Count("pk", filter=Q(score=5)),
                detractors=Count("pk", filter=Q(score__lte=3)),
                scored=Count("pk", filter=Q(score__isnull=False)),
            )
            .order_by()
        )
        by_month = {
            m: {
                "month": m,
                "positive": 0,
                "neutral": 0,
                "negative": 0,
                "promoters": 0,
                "detractors": 0,
                "scored": 0,
            }
            for m in months
        }
        for month, sentiment, n, promoters, detractors, scored in rows:
            key = month.date() if isinstance(month, dt.datetime) else month
            if key not in by_month:
                continue
            row = by_month[key]
            row[sentiment] = row.get(sentiment, 0) + n
            row["promoters"] += promoters
            row["detractors"] += detractors
            row["scored"] += scored
        out = []
        for row in by_month.values():
            total = row["positive"] + row["neutral"] + row["negative"]
            row["total"] = total
            row["negative_share"] = row["negative"] / total if total else None
            row["nps"] = (
                round(100 * (row["promoters"] - row["detractors"]) / row["scored"]) if row["scored"] else None
            )
            out.append(row)
        return out

    return cached(
        facts.org.pk,
        "feedback",
        {"g": _groups_key(facts), "m": months[0], "t": teacher_id},
        compute,
        version=_version(facts, "feedback"),
    )


# ---------------------------------------------------------------- today's lists


def unmarked_lessons(
    *, membership: Membership, org: Organization, facts: Facts, today: dt.date, days: int = 7
):
    """Lessons of the last `days` days (up to now) with no attendance taken, oldest first."""
    start, _ = day_bounds(org, today - dt.timedelta(days=days))
    return (
        Lesson.objects.filter(
            facts.group_q(),
            organization_id=org.pk,
            status=LessonStatus.SCHEDULED,
            starts_at__gte=start,
            ends_at__lte=timezone.now(),
            attendance_taken_at__isnull=True,
        )
        .select_related("group", "teacher")
        .order_by("starts_at")[:LIST_LIMIT]
    )


def manager_lists(*, membership: Membership, org: Organization, facts: Facts, today: dt.date) -> dict:
    from kruzhok.billing import selectors as billing
    from kruzhok.feedback import selectors as feedback

    def money_lists() -> dict:
        accounts, students = _billing_scope(membership, facts) if facts.use_facts else (None, None)
        debtors = billing.debtor_list(membership=membership, within=accounts)
        ending = billing.subscriptions_ending(membership=membership, today=today, within=students)
        return {
            "debtors": list(debtors[:LIST_LIMIT]),
            "debtors_count": debtors.count(),
            "ending": list(ending[:LIST_LIMIT]),
            "ending_count": ending.count(),
        }

    def feedback_lists() -> dict:
        negative = feedback.feedback_list(
            membership=membership, sentiment=Sentiment.NEGATIVE, alert_only=True
        )
        return {"negative": list(negative[:LIST_LIMIT]), "negative_count": negative.count()}

    # Debtors and renewals follow money, negative feedback follows feedback: a mark (which only moves
    # the unmarked list, read live) recomputes neither, unless it opens a debt or a renewal.
    params = {"m": membership.pk, "today": today}
    if facts.use_facts:
        lists = {
            **cached(org.pk, "manager_money", params, money_lists, version=facts.versions.money),
            **cached(org.pk, "manager_feedback", params, feedback_lists, version=facts.versions.feedback),
        }
    else:
        lists = {**money_lists(), **feedback_lists()}
    return {
        "unmarked": list(unmarked_lessons(membership=membership, org=org, facts=facts, today=today)),
        **lists,
    }


# Beyond this many ids the scope stays a subquery: an IN list that long costs more than it saves (and
# SQLite caps a statement's parameters).
SCOPE_IDS_MAX = 5000


def _billing_scope(membership: Membership, facts: Facts) -> tuple:
    """A manager's accounts and children, resolved once per enrollment version (new families come with
    enrollments; a family added without one shows within the cache's lifetime): the scope's subqueries
    over every child of the network cost ~35 ms a query, and a mark re-reads the money lists."""
    from kruzhok.billing import selectors as billing

    def compute():
        return (
            billing.account_ids_in_scope(membership=membership),
            billing.student_ids_in_scope(membership=membership),
        )

    v = facts.versions
    accounts, students = cached(
        membership.organization_id,
        "billing_scope",
        {"m": membership.pk},
        compute,
        version=f"{v.enrollments}:{v.account_id}:{v.student_id}",
        memo=True,
    )
    if accounts is not None and len(accounts) > SCOPE_IDS_MAX:
        accounts = None
    if students is not None and len(students) > SCOPE_IDS_MAX:
        students = None
    return accounts, students


def teacher_lists(*, membership: Membership, org: Organization, facts: Facts, today: dt.date) -> dict:
    from kruzhok.risk import selectors as risk

    at_risk = risk.at_risk_list(membership=membership, min_probability=0.0)
    since = add_months(today.replace(day=1), -2)
    feedback = (
        Feedback.objects.filter(
            organization_id=org.pk, lesson__group__teacher_id=membership.user_id, created_at__date__gte=since
        )
        .select_related("lesson__group", "student")
        .order_by("-created_at")
    )
    return {
        "unmarked": list(unmarked_lessons(membership=membership, org=org, facts=facts, today=today)),
        "at_risk": list(at_risk.filter(band="high")[:LIST_LIMIT]),
        "feedback": list(feedback[:LIST_LIMIT]),
    }
