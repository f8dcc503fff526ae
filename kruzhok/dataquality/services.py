"""Writes for the data-quality monitor: the daily snapshot, reminders to teachers about unmarked
lessons, and the digest to owners and managers. All three are idempotent for a day: the snapshot is
one row per organisation and day, and every message carries a dedupe key."""

import datetime as dt
import logging
from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kruzhok.accounts.models import Membership, Organization, Role
from kruzhok.dataquality.checks import CHECKS, unmarked_lesson_list
from kruzhok.dataquality.models import DataQualitySnapshot
from kruzhok.lib.dates import org_timezone, org_today
from kruzhok.lib.tenancy import for_each_organisation
from kruzhok.messaging.services import message_enqueue

logger = logging.getLogger(__name__)

# Rows kept per check for the whole organisation and per branch: the page shows the first 100.
DETAILS_MAX = 200


def _details(problems) -> dict[str, list[dict]]:
    """{"all": first rows, "<branch id>": that branch's first rows}: what the page lists, per scope."""
    out: dict[str, list[dict]] = {"all": []}
    for p in problems:
        row = {"text": p.text, "url": p.url}
        if p.message:  # shown in the reader's language (selectors.check_results)
            row.update(message=p.message, params=p.params)
        if len(out["all"]) < DETAILS_MAX:
            out["all"].append(row)
        if p.branch_id is not None:
            rows = out.setdefault(str(p.branch_id), [])
            if len(rows) < DETAILS_MAX:
                rows.append(row)
    return out


def snapshot_take(*, org: Organization, today: dt.date | None = None) -> DataQualitySnapshot:
    """Runs every check over the whole organisation and stores today's counts and the rows to fix,
    per branch too: the page reads this snapshot instead of running the checks on every view."""
    today = today or org_today(org)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {c.key: 0 for c in CHECKS})
    details: dict[str, dict] = {}
    for check in CHECKS:
        problems = check.find(org, None, today)
        counts["all"][check.key] = len(problems)
        for problem in problems:
            if problem.branch_id is not None:
                counts[str(problem.branch_id)][check.key] += 1
        details[check.key] = _details(problems)
    with transaction.atomic():
        snapshot, _ = DataQualitySnapshot.objects.update_or_create(
            organization_id=org.pk,
            day=today,
            defaults={"counts": {k: dict(v) for k, v in counts.items()}, "details": details},
        )
    return snapshot


def teacher_reminders_send(*, org: Organization, today: dt.date | None = None) -> int:
    """One reminder per unmarked lesson to the teacher who taught it (never twice for a lesson)."""
    today = today or org_today(org)
    sent = 0
    tz = org_timezone(org)
    for lesson in unmarked_lesson_list(org, None, today):
        teacher = lesson.teacher or lesson.group.teacher
        if teacher is None:
            continue
        when = timezone.localtime(lesson.starts_at, tz)
        try:
            message_enqueue(
                org=org,
                user=teacher,
                subject=_("Отметьте посещаемость"),
                body=_(
                    "Занятие «%(group)s» %(day)s в %(time)s ещё не отмечено. "
                    "Отметьте, кто был: по отметкам считаются абонементы и риск ухода."
                )
                % {"group": lesson.group.name, "day": f"{when:%d.%m}", "time": f"{when:%H:%M}"},
                link=reverse("attendance:lesson", args=[lesson.pk]),
                dedupe_key=f"dq-unmarked-{lesson.pk}",
            )
        except ValidationError:
            # A teacher who left the centre cannot be reached; the others still get theirs.
            logger.warning("no reminder for lesson %s", lesson.pk, exc_info=True)
            continue
        sent += 1
    return sent


def _scope_counts(snapshot: DataQualitySnapshot, membership: Membership) -> dict[str, int]:
    if membership.role == Role.OWNER:
        return dict(snapshot.counts.get("all", {}))
    totals: dict[str, int] = defaultdict(int)
    for branch_id in membership.user.managed_branches.filter(
        organization_id=snapshot.organization_id
    ).values_list("pk", flat=True):
        for key, n in snapshot.counts.get(str(branch_id), {}).items():
            totals[key] += n
    return dict(totals)


def digest_send(*, org: Organization, snapshot: DataQualitySnapshot) -> int:
    """A daily message to each owner and manager with the problems in their scope (none if zero)."""
    titles = {c.key: c.title for c in CHECKS}
    staff = Membership.objects.filter(
        organization_id=org.pk, is_active=True, role__in=(Role.OWNER, Role.MANAGER)
    ).select_related("user")
    sent = 0
    for membership in staff:
        counts = {k: n for k, n in _scope_counts(snapshot, membership).items() if n}
        if membership.role != Role.OWNER:
            counts.pop("ledger_disagreements", None)
        if not counts:
            continue
        lines = [f"• {titles.get(k, k)}: {n}" for k, n in counts.items()]
        message_enqueue(
            org=org,
            user=membership.user,
            subject=_("Качество данных на %(day)s: найдено проблем — %(n)s")
            % {"day": f"{snapshot.day:%d.%m.%Y}", "n": sum(counts.values())},
            body=_("Что стоит поправить:") + "\n" + "\n".join(lines),
            link=reverse("dataquality:index"),
            dedupe_key=f"dq-digest-{snapshot.day:%Y-%m-%d}-{membership.pk}",
        )
        sent += 1
    return sent


def snapshot_refresh_queue(*, org: Organization) -> None:
    """«Пересчитать»: the checks run in the background (at once where Celery runs eagerly)."""
    from kruzhok.dataquality.tasks import dataquality_snapshot_task

    transaction.on_commit(lambda: dataquality_snapshot_task.delay(org.pk))


def daily_run(*, org: Organization, today: dt.date | None = None) -> dict[str, int]:
    today = today or org_today(org)
    snapshot = snapshot_take(org=org, today=today)
    return {
        "reminders": teacher_reminders_send(org=org, today=today),
        "digests": digest_send(org=org, snapshot=snapshot),
    }


def daily_run_all() -> dict[str, int]:
    return for_each_organisation(daily_run)
