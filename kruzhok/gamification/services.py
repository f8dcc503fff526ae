"""Writes: awarding XP exactly once, reversing it on correction, badges, kudos, rules.

Exactly once, three ways: (1) the child's `StudentXp` row is locked (SELECT … FOR UPDATE) before any
decision, so two deliveries of the same event for one child run one after the other; (2) every award
is keyed by (source_key, component, seq) under a unique constraint, so even a writer that skipped the
lock cannot pay twice; (3) the decision compares the wanted outcome with what the ledger already
holds, so a retry finds nothing left to do.
"""

import datetime as dt
import re
import uuid
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, IntegrityError, transaction
from django.db.models import F, Max, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kruzhok.accounts.models import Organization
from kruzhok.attendance.models import AttendanceMark, AttendanceStatus
from kruzhok.attendance.selectors import lesson_local_date, org_timezone
from kruzhok.gamification import notes, selectors
from kruzhok.gamification.config import OrgConfig, config_changed, config_for, version_subquery
from kruzhok.gamification.models import (
    Badge,
    BadgeAward,
    BadgeEvent,
    BadgeRule,
    CoinEntry,
    Component,
    GamificationSettings,
    GroupGoal,
    Quest,
    QuestCompletion,
    QuestKind,
    QuestMetric,
    QuestPrerequisite,
    QuestStep,
    RequestStatus,
    Reward,
    RewardRequest,
    StudentXp,
    XpAward,
)
from kruzhok.homework.models import HomeworkResult, HomeworkStatus
from kruzhok.lib import prepared
from kruzhok.school.models import Group, Lesson, Student

XP_MAX = 1000
STREAK_MAX_WEEKS = 104
COUNT_MAX = 1000
MILESTONE_MAX = 100_000
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class Wanted:
    component: str
    amount: int
    basis: str
    note: str


def attendance_source_key(mark_id: int) -> str:
    return f"attendance:{mark_id}"


def kudos_source_key(lesson_id: int, student_id: int) -> str:
    return f"kudos:{lesson_id}:{student_id}"


def homework_source_key(result_id: int) -> str:
    return f"homework:{result_id}"


def quest_source_key(quest_id: int, student_id: int) -> str:
    return f"quest:{quest_id}:{student_id}"


def _lock_query(*, org, student):
    return (
        StudentXp.all_objects.select_for_update()
        .filter(organization_id=org, student_id=student)
        .values_list("id", "xp", "coins")
        .order_by()
    )


def _totals_locked(*, org_id: int, student_id: int) -> StudentXp:
    # Most children already have a row: lock it in one query (compiled once), and create it only the
    # first time. The other columns are deferred: read if anyone asks for them.
    found = prepared.rows(_lock_query, org=org_id, student=student_id)
    if found:
        pk, xp, coins = found[0]
        return StudentXp.from_db(
            DEFAULT_DB_ALIAS,
            ["id", "organization_id", "student_id", "xp", "coins"],
            [pk, org_id, student_id, xp, coins],
        )
    # get_or_create survives a racing insert (it retries the read on IntegrityError).
    StudentXp.objects.get_or_create(organization_id=org_id, student_id=student_id)
    return StudentXp.objects.select_for_update().get(organization_id=org_id, student_id=student_id)


def _source_awards(*, org_id: int, source_key: str):
    """Every ledger row of one source. The plain manager with the organisation written once: the tenant
    filter repeated on top of ours makes SQLite's planner (no statistics) walk the organisation-only
    index, i.e. the whole organisation's ledger (10 ms per award on the demo), instead of
    (organization, source_key)."""
    return XpAward.all_objects.filter(organization_id=org_id, source_key=source_key).order_by()


def _live_in(history: list[XpAward]) -> dict[str, XpAward]:
    """The live award per component among a source's rows: not a reversal, and not reversed."""
    reversed_ids = {award.reverses_id for award in history if award.reverses_id is not None}
    return {
        award.component: award
        for award in history
        if award.reverses_id is None and award.pk not in reversed_ids
    }


def _live(*, org_id: int, source_key: str) -> dict[str, XpAward]:
    return _live_in(list(_source_awards(org_id=org_id, source_key=source_key)))


def _checked(**fields) -> XpAward:
    award = XpAward(**fields)
    # Foreign keys were resolved by the caller; the constraints are the database's job.
    award.full_clean(
        exclude=["organization", "student", "reverses", "actor"],
        validate_unique=False,
        validate_constraints=False,
    )
    return award


def _settle(
    *, org_id: int, student_id: int, source_key: str, occurred_on: dt.date, wanted: list[Wanted], actor=None
) -> int:
    """Make the live awards of one source match `wanted`, appending rows only. Returns the XP change.

    The caller holds the child's totals lock. An award whose basis is unchanged is kept as it is, so a
    retry, a re-save of the same mark or a later change of the org's rules never rewrites history."""
    return _settle_live(
        org_id=org_id,
        student_id=student_id,
        source_key=source_key,
        occurred_on=occurred_on,
        wanted=wanted,
        actor=actor,
    )[0]


def _settle_live(
    *,
    org_id: int,
    student_id: int,
    source_key: str,
    occurred_on: dt.date,
    wanted: list[Wanted],
    actor=None,
    actor_id: int | None = None,
    history: list[XpAward] | None = None,
) -> tuple[int, dict[str, str]]:
    """`_settle`, also returning the basis of each component's live award afterwards.

    One read of the source's whole history gives both the live awards and the last seq per component
    (a source has a handful of rows), instead of a query for each. `history`: that read, when the
    caller made it already (read under the child's lock)."""
    if actor is not None:
        actor_id = actor.pk
    if history is None:
        history = list(_source_awards(org_id=org_id, source_key=source_key))
    live = _live_in(history)
    last_seq: dict[str, int] = {}
    for award in history:
        if award.reverses_id is None:
            last_seq[award.component] = max(last_seq.get(award.component, 0), award.seq)
    after = {component: award.basis for component, award in live.items()}
    wanted_by = {w.component: w for w in wanted}
    delta = 0
    appended: list[XpAward] = []
    for component in [c for c in Component.values if c in live or c in wanted_by]:
        current, want = live.get(component), wanted_by.get(component)
        if current is not None and want is not None and current.basis == want.basis:
            continue
        if current is not None:
            appended.append(
                _checked(
                    organization_id=org_id,
                    student_id=student_id,
                    source_key=source_key,
                    component=component,
                    seq=current.seq,
                    amount=-current.amount,
                    basis="correction",
                    note=notes.CORRECTED,
                    occurred_on=current.occurred_on,
                    reverses=current,
                    actor_id=actor_id,
                )
            )
            delta -= current.amount
            after.pop(component, None)
        if want is not None:
            appended.append(
                _checked(
                    organization_id=org_id,
                    student_id=student_id,
                    source_key=source_key,
                    component=component,
                    seq=last_seq.get(component, 0) + 1,
                    amount=want.amount,
                    basis=want.basis,
                    note=want.note,
                    occurred_on=occurred_on,
                    actor_id=actor_id,
                )
            )
            delta += want.amount
            after[component] = want.basis
    # Reversals and new awards in one INSERT; the unique key still refuses a second live award.
    if appended:
        XpAward.objects.bulk_create(appended)
    return delta, after


def _history_and_used(
    *, org_id: int, student_id: int, source_key: str, day: dt.date | None
) -> tuple[list[XpAward], int]:
    """The source's whole history and the XP the child got from other sources on `day`, in one read
    (the daily cap needs the second; None: no cap, history only).

    A UNION ALL of two disjoint halves, not one WHERE with an OR: SQLite's planner (no statistics) takes
    the OR to the organisation-only index, i.e. the whole organisation's ledger; each half of the union
    takes its own index, (organization, source_key) and (organization, student, occurred_on)."""
    if day is None:
        return list(_source_awards(org_id=org_id, source_key=source_key)), 0
    others = XpAward.all_objects.filter(organization_id=org_id, student_id=student_id, occurred_on=day)
    rows = _source_awards(org_id=org_id, source_key=source_key).union(
        others.exclude(source_key=source_key).order_by(), all=True
    )
    history, used = [], 0
    for award in rows:
        if award.source_key == source_key:
            history.append(award)
        else:
            used += award.amount
    return history, used


def _used_on(*, org_id: int, student_id: int, day: dt.date, except_source: str) -> int:
    return (
        XpAward.objects.filter(organization_id=org_id, student_id=student_id, occurred_on=day)
        .exclude(source_key=except_source)
        .aggregate(total=Sum("amount"))["total"]
        or 0
    )


def _capped(amount: int, left: int | None, note: str, cap: int) -> tuple[int, str, int | None]:
    if left is None or amount <= left:
        return amount, note, None if left is None else left - amount
    return max(0, left), notes.stored(notes.CAPPED, note=note, cap=cap, given=max(0, left)), 0


def _wanted_for_mark(*, status: str, rules: GamificationSettings, left: int | None) -> list[Wanted]:
    cap = rules.daily_cap
    if status in (AttendanceStatus.PRESENT, AttendanceStatus.LATE):
        wanted = []
        if rules.count_visits:
            amount, note, left = _capped(rules.xp_visit, left, notes.VISIT, cap)
            wanted.append(Wanted(Component.VISIT, amount, status, note))
        else:
            wanted.append(Wanted(Component.VISIT, 0, status, notes.VISIT_NOT_COUNTED))
        if status == AttendanceStatus.LATE:
            wanted.append(Wanted(Component.ON_TIME, 0, status, notes.LATE))
        elif rules.count_on_time:
            amount, note, left = _capped(rules.xp_on_time, left, notes.ON_TIME, cap)
            wanted.append(Wanted(Component.ON_TIME, amount, status, note))
        return wanted
    if status == AttendanceStatus.EXCUSED:
        note = notes.EXCUSED
    else:
        note = notes.ABSENT
    return [Wanted(Component.VISIT, 0, status, note)]


def _coin_append(
    *,
    totals: StudentXp,
    source_key: str,
    amount: int,
    note: str,
    last: int | None = None,
    update_totals: bool = True,
) -> CoinEntry:
    if last is None:
        last = CoinEntry.objects.filter(
            organization_id=totals.organization_id, source_key=source_key
        ).aggregate(seq=Max("seq"))["seq"]
    entry = CoinEntry.objects.create(
        organization_id=totals.organization_id,
        student_id=totals.student_id,
        source_key=source_key,
        seq=(last or 0) + 1,
        amount=amount,
        note=note,
    )
    if not update_totals:
        # The caller holds the child's lock and writes the balance together with its XP change.
        totals.coins += amount
        return entry
    StudentXp.objects.filter(pk=totals.pk).update(coins=F("coins") + amount)
    totals.refresh_from_db(fields=["coins"])
    return entry


def _settle_coins(*, totals: StudentXp, source_key: str, wanted: int, update_totals: bool = True) -> int:
    """Coins earned by one source follow its XP; a correction takes back at most what is left, so the
    balance never goes below zero even when the coins were already spent. `update_totals=False`: the
    caller adds the returned change to the balance itself (in one UPDATE with the XP)."""
    # The sum and the last seq in one read: the caller holds the child's lock, so neither moves under us.
    earned_and_last = CoinEntry.objects.filter(
        organization_id=totals.organization_id, source_key=source_key
    ).aggregate(total=Sum("amount"), seq=Max("seq"))
    earned = earned_and_last["total"] or 0
    delta = wanted - earned
    if delta < 0:
        totals.refresh_from_db(fields=["coins"])
        delta = max(delta, -totals.coins)
    if delta:
        note = notes.COINS_FOR_LESSON if delta > 0 else notes.COINS_RETURNED
        _coin_append(
            totals=totals,
            source_key=source_key,
            amount=delta,
            note=note,
            last=earned_and_last["seq"] or 0,
            update_totals=update_totals,
        )
    return delta


def _mark_query(*, org, lesson, student):
    return (
        AttendanceMark.all_objects.filter(organization_id=org, lesson_id=lesson, student_id=student)
        .values_list(
            "id",
            "status",
            "marked_by_id",
            "lesson__starts_at",
            "organization__timezone",
            version_subquery(),
        )
        .order_by()
    )


def xp_apply_mark(*, org_id: int, lesson_id: int, student_id: int) -> int:
    """Bring the child's XP for one attendance mark in line with the mark as it is now.

    Reads the mark afresh rather than trusting the event's payload, so late or repeated deliveries
    converge on the current truth. Returns the XP change (0 on a retry)."""
    # The configuration's stamp and the organisation's time zone come with the mark: a cached
    # configuration costs no query, and the organisation none of its own.
    found = prepared.rows(_mark_query, org=org_id, lesson=lesson_id, student=student_id)
    if not found:
        return 0
    mark_id, status, marked_by_id, starts_at, zone, version = found[0]
    config = config_for(org_id=org_id, version=version)
    rules = config.rules
    if not rules.enabled:
        return 0
    # Only the id and the time zone are read from it here; anything else is loaded if asked for.
    org = Organization.from_db(DEFAULT_DB_ALIAS, ["id", "timezone"], [org_id, zone])
    day = timezone.localdate(starts_at, timezone=org_timezone(org))
    source_key = attendance_source_key(mark_id)
    with transaction.atomic():
        totals = _totals_locked(org_id=org_id, student_id=student_id)
        # Read after the lock: the source's history and the day's other XP (for the cap) in one query.
        history, used = _history_and_used(
            org_id=org_id, student_id=student_id, source_key=source_key, day=day if rules.daily_cap else None
        )
        left = rules.daily_cap - used if rules.daily_cap else None
        wanted = _wanted_for_mark(status=status, rules=rules, left=left)
        delta, live = _settle_live(
            org_id=org_id,
            student_id=student_id,
            source_key=source_key,
            occurred_on=day,
            wanted=wanted,
            actor_id=marked_by_id,
            history=history,
        )
        attended = live.get(Component.VISIT) in (AttendanceStatus.PRESENT, AttendanceStatus.LATE)
        coins = _settle_coins(
            totals=totals,
            source_key=source_key,
            wanted=rules.coins_per_visit if attended else 0,
            update_totals=False,
        )
        if delta or coins:
            # XP and coins in one UPDATE; relative, so the row never needs reading again.
            StudentXp.objects.filter(pk=totals.pk).update(xp=F("xp") + delta, coins=F("coins") + coins)
        paid = quests_evaluate(org=org, student_id=student_id, day=day, metrics=MARK_METRICS, config=config)
        badges_evaluate(
            org=org,
            student_id=student_id,
            today=day,
            events=MARK_BADGE_EVENTS,
            config=config,
            # The locked total plus this mark's change, unless a quest reward moved it again.
            xp_total=None if paid else totals.xp + delta,
        )
    return delta


# What an attendance mark can move: visit counts, points and week streaks (streak and milestone badges
# are always checked), and quest steps of visits and points.
MARK_BADGE_EVENTS = frozenset({BadgeEvent.VISIT})
MARK_METRICS = frozenset({QuestMetric.VISITS, QuestMetric.XP})


def homework_basis(result: HomeworkResult) -> str:
    if result.status != HomeworkStatus.SUBMITTED:
        return "missed"
    return "late" if result.is_late else "submitted"


def _wanted_for_homework(
    *, result: HomeworkResult, rules: GamificationSettings, left: int | None
) -> list[Wanted]:
    cap = rules.daily_cap
    basis = homework_basis(result)
    if basis == "missed":
        return [Wanted(Component.HOMEWORK, 0, basis, notes.HOMEWORK_MISSED)]
    done = notes.HOMEWORK_LATE if basis == "late" else notes.HOMEWORK_DONE
    if rules.count_homework:
        amount, note, left = _capped(rules.xp_homework, left, done, cap)
        wanted = [Wanted(Component.HOMEWORK, amount, basis, note)]
    else:
        not_counted = notes.HOMEWORK_LATE_NOT_COUNTED if basis == "late" else notes.HOMEWORK_NOT_COUNTED
        wanted = [Wanted(Component.HOMEWORK, 0, basis, not_counted)]
    if result.grade is not None:
        grade, grade_basis = result.grade, f"grade{result.grade}"
        if grade < 4:
            note = notes.stored(notes.GRADE_LOW, grade=grade)
            wanted.append(Wanted(Component.GRADE, 0, grade_basis, note))
        elif rules.count_grades:
            amount, note, left = _capped(
                rules.xp_good_grade, left, notes.stored(notes.GRADE_GOOD, grade=grade), cap
            )
            wanted.append(Wanted(Component.GRADE, amount, grade_basis, note))
        else:
            note = notes.stored(notes.GRADE_NOT_COUNTED, grade=grade)
            wanted.append(Wanted(Component.GRADE, 0, grade_basis, note))
    return wanted


def xp_apply_homework(*, org_id: int, result_id: int) -> int:
    """Bring the child's XP for one homework result (handed in, late, missed; its grade) in line with
    the result as it is now. A changed grade reverses exactly the old grade's award. Returns the XP change."""
    org = Organization.objects.get(pk=org_id)
    config = config_for(org_id=org_id)
    rules = config.rules
    if not rules.enabled:
        return 0
    result = (
        HomeworkResult.objects.filter(organization_id=org_id, pk=result_id)
        .select_related("lesson", "lesson__organization")
        .first()
    )
    source_key = homework_source_key(result_id)
    if result is None:
        # The result was deleted: take back whatever it gave.
        live = _live(org_id=org_id, source_key=source_key)
        if not live:
            return 0
        student_id, day = next(iter(live.values())).student_id, next(iter(live.values())).occurred_on
        wanted: list[Wanted] = []
    else:
        student_id, day = result.student_id, lesson_local_date(result.lesson)
    with transaction.atomic():
        totals = _totals_locked(org_id=org_id, student_id=student_id)
        if result is not None:
            left = None
            if rules.daily_cap:
                left = rules.daily_cap - _used_on(
                    org_id=org_id, student_id=student_id, day=day, except_source=source_key
                )
            wanted = _wanted_for_homework(result=result, rules=rules, left=left)
        delta = _settle(
            org_id=org_id,
            student_id=student_id,
            source_key=source_key,
            occurred_on=day,
            wanted=wanted,
            actor=result.recorded_by if result is not None else None,
        )
        if delta:
            StudentXp.objects.filter(pk=totals.pk).update(xp=F("xp") + delta)
        quests_evaluate(org=org, student_id=student_id, day=day, config=config)
        badges_evaluate(org=org, student_id=student_id, today=day, config=config)
    return delta


def kudos_give(*, lesson: Lesson, student: Student, actor, note: str = "") -> tuple[XpAward, bool]:
    """A teacher's «молодец на занятии»: once per child per lesson. Returns (award, created)."""
    note = (note or "").strip()
    if len(note) > 200:
        raise ValidationError(_("Слишком длинная похвала: не больше 200 символов."), code="note_too_long")
    mark = AttendanceMark.objects.filter(
        organization_id=lesson.organization_id, lesson=lesson, student=student
    ).first()
    if mark is None or mark.status not in (AttendanceStatus.PRESENT, AttendanceStatus.LATE):
        raise ValidationError(
            _("Похвалить можно только ребёнка, который был на занятии: сначала отметьте его."),
            code="not_present",
        )
    org = lesson.organization
    config = config_for(org_id=org.pk)
    rules = config.rules
    source_key = kudos_source_key(lesson.pk, student.pk)
    with transaction.atomic():
        totals = _totals_locked(org_id=org.pk, student_id=student.pk)
        existing = _live(org_id=org.pk, source_key=source_key).get(Component.KUDOS)
        if existing is not None:
            return existing, False
        amount = rules.xp_kudos if rules.enabled and rules.count_kudos else 0
        if note:
            text = notes.stored(
                notes.KUDOS_WITH_TEXT if amount else notes.KUDOS_WITH_TEXT_NOT_COUNTED, text=note
            )
        else:
            text = notes.KUDOS if amount else notes.KUDOS_NOT_COUNTED
        delta = _settle(
            org_id=org.pk,
            student_id=student.pk,
            source_key=source_key,
            occurred_on=lesson_local_date(lesson),
            wanted=[Wanted(Component.KUDOS, amount, "kudos", text[:300])],
            actor=actor,
        )
        if delta:
            StudentXp.objects.filter(pk=totals.pk).update(xp=F("xp") + delta)
        if rules.enabled:
            _settle_coins(totals=totals, source_key=source_key, wanted=rules.coins_per_kudos)
        quests_evaluate(org=org, student_id=student.pk, day=lesson_local_date(lesson), config=config)
        badges_evaluate(org=org, student_id=student.pk, today=lesson_local_date(lesson), config=config)
    return _live(org_id=org.pk, source_key=source_key)[Component.KUDOS], True


# --- badges ---------------------------------------------------------------------------------------


def badges_evaluate(
    *,
    org: Organization,
    student_id: int,
    today: dt.date | None = None,
    events: frozenset[str] | None = None,
    config: OrgConfig | None = None,
    xp_total: int | None = None,
) -> list[BadgeAward]:
    """Give every automatic badge the child now qualifies for. Badges are kept once earned.

    `events` names the badge events the caller's event can move (None: all). Count and first-time badges
    of other events are left for their own events; streak and milestone badges are always checked.
    `config` is the organisation's cached configuration (read when not given); `xp_total` the child's
    total when the caller already holds it."""
    config = config or config_for(org_id=org.pk)
    badges = [
        badge
        for badge in config.badges
        if events is None or badge.rule in (BadgeRule.STREAK, BadgeRule.MILESTONE) or badge.event in events
    ]
    if not badges:
        return []
    have = selectors.badges_held(org_id=org.pk, student_id=student_id)
    candidates = [badge for badge in badges if badge.pk not in have]
    if not candidates:
        return []
    live: dict[tuple[str, str], int] | None = None
    streak = None
    given = []
    for badge in candidates:
        if badge.rule == BadgeRule.STREAK:
            if streak is None:
                # The streak reads by the child's id only: no need to load the child.
                student = Student(pk=student_id, organization=org)
                streak = selectors.streak_weeks(org=org, student=student, today=today).best
            reached = streak >= badge.threshold
        elif badge.rule == BadgeRule.MILESTONE:
            if xp_total is None:
                xp_total = (
                    StudentXp.objects.filter(organization=org, student_id=student_id)
                    .values_list("xp", flat=True)
                    .first()
                    or 0
                )
            reached = xp_total >= badge.threshold
        else:
            if live is None:
                live = selectors.live_counts(org_id=org.pk, student_id=student_id)
            need = 1 if badge.rule == BadgeRule.FIRST else badge.threshold
            reached = selectors.event_count(live, badge.event) >= need
        if reached:
            award, created = BadgeAward.objects.get_or_create(
                organization=org,
                badge=badge,
                student_id=student_id,
                defaults={"awarded_on": today or timezone.localdate(timezone=org_timezone(org))},
            )
            if created:
                given.append(award)
    return given


def badge_grant(*, badge: Badge, student: Student, actor, note: str = "") -> BadgeAward:
    """A teacher-awarded badge; giving it again changes nothing."""
    if badge.rule != BadgeRule.TEACHER:
        raise ValidationError(_("Этот значок выдаётся автоматически, по правилу."), code="not_manual")
    if badge.organization_id != student.organization_id:
        raise ValidationError(_("Значок и ребёнок из разных организаций."), code="wrong_org")
    with transaction.atomic():
        award, _created = BadgeAward.objects.get_or_create(
            organization_id=badge.organization_id,
            badge=badge,
            student=student,
            defaults={
                "awarded_on": timezone.localdate(timezone=org_timezone(badge.organization)),
                "awarded_by": actor,
                "note": (note or "")[:300],
            },
        )
    return award


def _badge_clean(*, org: Organization, fields: dict, pk: int | None = None) -> dict:
    name = (fields.get("name") or "").strip()
    if not name:
        raise ValidationError(_("Дайте значку название."), code="name_required")
    rule = fields.get("rule")
    if rule not in BadgeRule.values:
        raise ValidationError(_("Выберите правило значка."), code="invalid_rule")
    event = fields.get("event") or ""
    threshold = fields.get("threshold")
    threshold = 1 if threshold is None else threshold
    if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 1:
        raise ValidationError(_("«Сколько нужно» — целое число от 1."), code="invalid_threshold")
    if rule in (BadgeRule.COUNT, BadgeRule.FIRST) and event not in BadgeEvent.values:
        raise ValidationError(_("Выберите, за какое событие даётся значок."), code="event_required")
    if rule == BadgeRule.STREAK:
        event = BadgeEvent.VISIT
        if threshold > STREAK_MAX_WEEKS:
            raise ValidationError(
                _(
                    "Такой значок никогда не выдадут: серия больше %(max)d недель подряд невозможна за время курса."
                ),
                code="never_fires",
                params={"max": STREAK_MAX_WEEKS},
            )
    if rule == BadgeRule.COUNT and threshold > COUNT_MAX:
        raise ValidationError(
            _("Такой значок никогда не выдадут: больше %(max)d раз — слишком много."),
            code="never_fires",
            params={"max": COUNT_MAX},
        )
    if rule == BadgeRule.MILESTONE:
        event = ""
        if threshold > MILESTONE_MAX:
            raise ValidationError(
                _("Такой значок никогда не выдадут: больше %(max)d очков не набрать."),
                code="never_fires",
                params={"max": MILESTONE_MAX},
            )
        rules = selectors.rules_for(org=org)
        if not rules.enabled or not selectors.any_xp_source(rules=rules):
            raise ValidationError(
                _(
                    "Такой значок никогда не выдадут: сейчас центр не начисляет очков ни за что. Сначала "
                    "включите очки в правилах."
                ),
                code="never_fires",
            )
    if rule == BadgeRule.FIRST:
        threshold = 1
    if rule == BadgeRule.TEACHER:
        event, threshold = "", 1
    color = fields.get("color") or "#2f6fdf"
    if not COLOR_RE.match(color):
        raise ValidationError(_("Цвет — в виде #1a2b3c."), code="invalid_color")
    symbol = (fields.get("symbol") or "★").strip()[:2] or "★"
    # Compared in Python: SQLite folds case for ASCII only, and badge names are Russian.
    others = Badge.objects.filter(organization=org).exclude(pk=pk).values_list("name", flat=True)
    if any(other.casefold() == name.casefold() for other in others):
        raise ValidationError(_("Значок с таким названием уже есть."), code="duplicate")
    return {
        "name": name[:80],
        "description": (fields.get("description") or "").strip()[:300],
        "rule": rule,
        "event": event,
        "threshold": threshold,
        "symbol": symbol,
        "color": color,
        "is_active": fields.get("is_active", True),
    }


def badge_create(*, org: Organization, **fields) -> Badge:
    clean = _badge_clean(org=org, fields=fields)
    with transaction.atomic():
        badge = Badge(organization=org, **clean)
        badge.full_clean(exclude=["organization"])
        badge.save()
        config_changed(org_id=org.pk)
    return badge


def badge_update(*, badge: Badge, **fields) -> Badge:
    """Edit a badge; children who already earned it keep it (a badge is never taken back)."""
    clean = _badge_clean(org=badge.organization, fields=fields, pk=badge.pk)
    with transaction.atomic():
        for name, value in clean.items():
            setattr(badge, name, value)
        badge.full_clean(exclude=["organization"])
        badge.save()
        config_changed(org_id=badge.organization_id)
    return badge


# --- rules ----------------------------------------------------------------------------------------

RULE_FIELDS = (
    "enabled",
    "count_visits",
    "xp_visit",
    "count_on_time",
    "xp_on_time",
    "count_kudos",
    "xp_kudos",
    "count_homework",
    "xp_homework",
    "count_grades",
    "xp_good_grade",
    "daily_cap",
    "leaderboard_top",
    "coins_per_visit",
    "coins_per_kudos",
)
XP_FIELD_LABELS = {
    "xp_visit": gettext_lazy("очки за посещение"),
    "xp_on_time": gettext_lazy("бонус за приход вовремя"),
    "xp_kudos": gettext_lazy("очки за «молодец на занятии»"),
    "xp_homework": gettext_lazy("очки за сданное домашнее задание"),
    "xp_good_grade": gettext_lazy("очки за оценку 4 или 5"),
    "daily_cap": gettext_lazy("лимит очков в день"),
    "coins_per_visit": gettext_lazy("монет за посещение"),
    "coins_per_kudos": gettext_lazy("монет за «молодец»"),
}


def gamification_settings_update(*, org: Organization, **fields) -> GamificationSettings:
    """Change the org's rules; refuses settings that are negative, absurd or contradict each other."""
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise ValidationError(
            _("Неизвестная настройка: %(names)s."),
            code="unknown",
            params={"names": ", ".join(sorted(unknown))},
        )
    with transaction.atomic():
        # The row may appear at any moment (an award saves the defaults to get a stamp): make sure it
        # exists, then lock it. A refused change rolls the new row back with everything else.
        GamificationSettings.objects.get_or_create(organization=org)
        rules = GamificationSettings.objects.select_for_update().get(organization=org)
        for name, value in fields.items():
            setattr(rules, name, value)
        for name, label in XP_FIELD_LABELS.items():
            value = getattr(rules, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValidationError(
                    _("«%(label)s» — целое число."), code="not_a_number", params={"label": label}
                )
            if value < 0:
                raise ValidationError(
                    _("«%(label)s» не может быть отрицательным: очки у детей не отнимаем."),
                    code="negative_xp",
                    params={"label": label},
                )
            if value > XP_MAX:
                raise ValidationError(
                    _("«%(label)s» — не больше %(max)d."),
                    code="too_much",
                    params={"label": label, "max": XP_MAX},
                )
        if rules.count_visits and rules.daily_cap and rules.daily_cap < rules.xp_visit:
            raise ValidationError(
                _(
                    "Лимит в день (%(cap)d) меньше очков за одно посещение (%(visit)d): ребёнок никогда не получит "
                    "полных очков. Увеличьте лимит или поставьте 0 (без лимита)."
                ),
                code="cap_below_visit",
                params={"cap": rules.daily_cap, "visit": rules.xp_visit},
            )
        if not 1 <= rules.leaderboard_top <= 20:
            raise ValidationError(_("Рейтинг: показывайте от 1 до 20 лучших."), code="invalid_top")
        rules.full_clean(exclude=["organization"], validate_unique=False)
        # A new stamp with the new rules: every process's next award reads them.
        rules.config_version = uuid.uuid4()
        rules.save()
    return rules


def leaderboard_opt_out_set(*, org: Organization, student: Student, opt_out: bool) -> StudentXp:
    with transaction.atomic():
        totals = _totals_locked(org_id=org.pk, student_id=student.pk)
        totals.leaderboard_opt_out = opt_out
        totals.save(update_fields=["leaderboard_opt_out", "updated_at"])
    return totals


# --- rebuild --------------------------------------------------------------------------------------


def xp_rebuild(*, org: Organization, fix: bool = False) -> list[str]:
    """Recompute every child's total from the ledger and check the ledger against the attendance marks.

    Returns one line per difference. With fix=True, missing or stale awards are settled again from
    the marks (appending, never editing) and the totals are rewritten from the ledger."""
    problems: list[str] = []
    rules = selectors.rules_for(org=org)
    if rules.enabled:
        marks = {
            attendance_source_key(m.pk): m
            for m in AttendanceMark.objects.filter(organization=org).only(
                "pk", "status", "lesson_id", "student_id"
            )
        }
        visits = {
            award.source_key: award
            for award in XpAward.objects.filter(
                organization=org,
                source_key__startswith="attendance:",
                component=Component.VISIT,
                reverses__isnull=True,
                reversed_by__isnull=True,
            )
        }
        for key, mark in marks.items():
            award = visits.get(key)
            if award is None or award.basis != mark.status:
                problems.append(
                    f"{org.slug}: mark {mark.pk} (student {mark.student_id}) is {mark.status}, "
                    f"ledger says {award.basis if award else 'nothing'}"
                )
                if fix:
                    xp_apply_mark(org_id=org.pk, lesson_id=mark.lesson_id, student_id=mark.student_id)
        for key, award in visits.items():
            if key not in marks:
                problems.append(f"{org.slug}: award {award.pk} for a mark that no longer exists")
                if fix:
                    with transaction.atomic():
                        totals = _totals_locked(org_id=org.pk, student_id=award.student_id)
                        delta = _settle(
                            org_id=org.pk,
                            student_id=award.student_id,
                            source_key=key,
                            occurred_on=award.occurred_on,
                            wanted=[],
                        )
                        StudentXp.objects.filter(pk=totals.pk).update(xp=F("xp") + delta)
        problems += _homework_rebuild(org=org, fix=fix)
        problems += _quests_rebuild(org=org, fix=fix)
    ledger = selectors.ledger_totals(org=org)
    cached = dict(StudentXp.objects.filter(organization=org).values_list("student_id", "xp"))
    for student_id in sorted(set(ledger) | set(cached)):
        expected, stored = max(0, ledger.get(student_id, 0)), cached.get(student_id, 0)
        if expected != stored:
            problems.append(f"{org.slug}: student {student_id} total is {stored}, ledger says {expected}")
            if fix:
                with transaction.atomic():
                    totals = _totals_locked(org_id=org.pk, student_id=student_id)
                    totals.xp = expected
                    totals.save(update_fields=["xp", "updated_at"])
    coin_ledger = dict(
        CoinEntry.objects.filter(organization=org)
        .values("student_id")
        .annotate(total=Sum("amount"))
        .order_by()
        .values_list("student_id", "total")
    )
    coin_cached = dict(StudentXp.objects.filter(organization=org).values_list("student_id", "coins"))
    for student_id in sorted(set(coin_ledger) | set(coin_cached)):
        expected, stored = max(0, coin_ledger.get(student_id) or 0), coin_cached.get(student_id, 0)
        if expected != stored:
            problems.append(f"{org.slug}: student {student_id} coins are {stored}, ledger says {expected}")
            if fix:
                StudentXp.objects.filter(organization=org, student_id=student_id).update(coins=expected)
    return problems


def _live_by_source(*, org: Organization, prefix: str, component: str) -> dict[str, XpAward]:
    return {
        award.source_key: award
        for award in XpAward.objects.filter(
            organization=org,
            source_key__startswith=prefix,
            component=component,
            reverses__isnull=True,
            reversed_by__isnull=True,
        )
    }


def _homework_rebuild(*, org: Organization, fix: bool) -> list[str]:
    """Every homework result against its live awards: the hand-in and the grade."""
    problems = []
    results = {
        homework_source_key(r.pk): r
        for r in HomeworkResult.objects.filter(organization=org).only(
            "pk", "status", "is_late", "grade", "student_id"
        )
    }
    handed = _live_by_source(org=org, prefix="homework:", component=Component.HOMEWORK)
    grades = _live_by_source(org=org, prefix="homework:", component=Component.GRADE)
    for key, result in results.items():
        award, grade = handed.get(key), grades.get(key)
        want_grade = (
            f"grade{result.grade}" if result.grade is not None and result.status == "submitted" else None
        )
        if (
            award is None
            or award.basis != homework_basis(result)
            or (grade.basis if grade else None) != want_grade
        ):
            problems.append(
                f"{org.slug}: homework {result.pk} (student {result.student_id}) is {homework_basis(result)}"
                f"/{want_grade or 'no grade'}, ledger says {award.basis if award else 'nothing'}"
                f"/{grade.basis if grade else 'no grade'}"
            )
            if fix:
                xp_apply_homework(org_id=org.pk, result_id=result.pk)
    for key in (set(handed) | set(grades)) - set(results):
        problems.append(f"{org.slug}: award for {key}, a homework result that no longer exists")
        if fix:
            xp_apply_homework(org_id=org.pk, result_id=int(key.split(":")[1]))
    return problems


def _quests_rebuild(*, org: Organization, fix: bool) -> list[str]:
    """Every completion paid once, every quest payment backed by a completion, and no child or group that
    did every step of an open quest left without its completion."""
    problems = []
    today = timezone.localdate(timezone=org_timezone(org))
    quests = {q.pk: q for q in Quest.objects.filter(organization=org).select_related("reward_badge", "group")}
    completions = list(QuestCompletion.objects.filter(organization=org))
    by_child = {(c.quest_id, c.student_id): c for c in completions if c.student_id}
    by_group = {(c.quest_id, c.group_id): c for c in completions if c.group_id}
    paid: dict[int, set[int]] = {}
    for key, award in _live_by_source(org=org, prefix="quest:", component=Component.QUEST).items():
        _prefix, quest_id, student_id = key.split(":")
        paid.setdefault(int(quest_id), set()).add(int(student_id))
        quest = quests.get(int(quest_id))
        backed = quest is not None and (
            (int(quest_id), int(student_id)) in by_child
            if quest.kind == QuestKind.SOLO
            else (int(quest_id), quest.group_id) in by_group
        )
        if not backed:
            problems.append(
                f"{org.slug}: quest reward {award.pk} (student {student_id}) without a completion"
            )
    for (quest_id, student_id), completion in by_child.items():
        if student_id not in paid.get(quest_id, set()):
            problems.append(f"{org.slug}: quest {quest_id} done by student {student_id} but never paid")
            if fix:
                with transaction.atomic():
                    totals = _totals_locked(org_id=org.pk, student_id=student_id)
                    _quest_reward(org=org, quest=quests[quest_id], totals=totals, day=completion.completed_on)
    for quest_id, group_id in by_group:
        if not paid.get(quest_id):
            problems.append(f"{org.slug}: team quest {quest_id} done by group {group_id} but nobody was paid")
    # Completions that the event handlers should have recorded but did not (a lost delivery).
    for quest in quests.values():
        if not quest.is_active:
            continue
        steps = list(quest.steps.all())
        if quest.kind == QuestKind.TEAM:
            if (quest.pk, quest.group_id) in by_group:
                continue
            finished = {q for (q, g) in by_group if g == quest.group_id}
            ids = list(selectors.group_students(org=org, group=quest.group).values_list("pk", flat=True))
            if ids and selectors.prerequisites_met(quest=quest, finished=finished):
                if selectors.quest_progress(org=org, quest=quest, student_ids=ids).done:
                    problems.append(
                        f"{org.slug}: team quest {quest.pk} reached by group {quest.group_id}, not completed"
                    )
                    if fix:
                        team_quest_settle(
                            org_id=org.pk,
                            quest_id=quest.pk,
                            group_id=quest.group_id,
                            day=min(quest.ends_on, today),
                        )
            continue
        if not steps:
            continue
        reached: set[int] | None = None
        for step in steps:
            values = selectors.step_values(org=org, quest=quest, metric=step.metric, student_ids=None)
            ok = {sid for sid, value in values.items() if value >= step.target}
            reached = ok if reached is None else reached & ok
        if quest.group_id:
            reached &= set(selectors.group_students(org=org, group=quest.group).values_list("pk", flat=True))
        for student_id in sorted(reached or ()):
            if (quest.pk, student_id) in by_child:
                continue
            finished = {q for (q, s) in by_child if s == student_id}
            if not selectors.prerequisites_met(quest=quest, finished=finished):
                continue
            problems.append(f"{org.slug}: quest {quest.pk} reached by student {student_id}, not completed")
            if fix:
                with transaction.atomic():
                    _totals_locked(org_id=org.pk, student_id=student_id)
                    quests_evaluate(org=org, student_id=student_id, day=min(quest.ends_on, today))
                # Completions just made unlock the quests that depend on them, later in this loop.
                for done in QuestCompletion.objects.filter(organization=org, student_id=student_id):
                    by_child[(done.quest_id, student_id)] = done
    return problems


# --- the rewards shop -----------------------------------------------------------------------------


def reward_create(
    *, org: Organization, title: str, price: int, stock: int = 0, description: str = ""
) -> Reward:
    title = (title or "").strip()
    if not title:
        raise ValidationError(_("Назовите награду."), code="title_required")
    if not isinstance(price, int) or price < 1:
        raise ValidationError(_("Цена — целое число монет, не меньше 1."), code="invalid_price")
    if not isinstance(stock, int) or stock < 0:
        raise ValidationError(_("Количество не может быть отрицательным."), code="invalid_stock")
    with transaction.atomic():
        reward = Reward(
            organization=org, title=title[:120], price=price, stock=stock, description=description[:300]
        )
        reward.full_clean(exclude=["organization"])
        reward.save()
    return reward


def reward_update(
    *, reward: Reward, title: str, price: int, stock: int, description: str = "", is_active: bool = True
) -> Reward:
    """Change a reward's name, price or stock; requests already made keep the price they were made at."""
    title = (title or "").strip()
    if not title:
        raise ValidationError(_("Назовите награду."), code="title_required")
    if not isinstance(price, int) or isinstance(price, bool) or price < 1:
        raise ValidationError(_("Цена — целое число монет, не меньше 1."), code="invalid_price")
    if not isinstance(stock, int) or isinstance(stock, bool) or stock < 0:
        raise ValidationError(_("Количество не может быть отрицательным."), code="invalid_stock")
    with transaction.atomic():
        fresh = Reward.objects.select_for_update().get(organization_id=reward.organization_id, pk=reward.pk)
        fresh.title, fresh.price, fresh.stock = title[:120], price, stock
        fresh.description, fresh.is_active = (description or "").strip()[:300], bool(is_active)
        fresh.full_clean(exclude=["organization"])
        fresh.save()
    return fresh


def reward_request_create(*, reward: Reward, student: Student) -> RewardRequest:
    """A child asks for a reward: the coins are held at once, so two requests can never overspend."""
    if reward.organization_id != student.organization_id:
        raise ValidationError(_("Награда из другого центра."), code="wrong_org")
    with transaction.atomic():
        totals = _totals_locked(org_id=student.organization_id, student_id=student.pk)
        fresh = Reward.objects.select_for_update().get(organization_id=reward.organization_id, pk=reward.pk)
        if not fresh.is_active:
            raise ValidationError(_("Этой награды больше нет в магазине."), code="inactive")
        if fresh.stock < 1:
            raise ValidationError(_("Эта награда закончилась."), code="out_of_stock")
        if totals.coins < fresh.price:
            raise ValidationError(
                _("Не хватает монет: нужно %(price)d, а у тебя %(coins)d."),
                code="not_enough_coins",
                params={"price": fresh.price, "coins": totals.coins},
            )
        request = RewardRequest.objects.create(
            organization_id=student.organization_id, reward=fresh, student=student, price=fresh.price
        )
        _coin_append(
            totals=totals,
            source_key=f"shop:{request.pk}",
            amount=-fresh.price,
            note=notes.stored(notes.ORDER, title=fresh.title),
        )
    return request


def reward_request_decide(*, request: RewardRequest, actor, approve: bool, note: str = "") -> RewardRequest:
    """A manager hands the reward out (stock goes down) or refuses (the coins come back)."""
    with transaction.atomic():
        fresh = RewardRequest.objects.select_for_update().get(
            organization_id=request.organization_id, pk=request.pk
        )
        if fresh.status != RequestStatus.PENDING:
            raise ValidationError(_("По этой заявке уже есть решение."), code="already_decided")
        totals = _totals_locked(org_id=fresh.organization_id, student_id=fresh.student_id)
        if approve:
            reward = Reward.objects.select_for_update().get(
                organization_id=fresh.organization_id, pk=fresh.reward_id
            )
            if reward.stock < 1:
                raise ValidationError(
                    _("Награда закончилась: откажите в заявке (монеты вернутся) или пополните запас."),
                    code="out_of_stock",
                )
            Reward.objects.filter(pk=reward.pk).update(stock=F("stock") - 1)
            fresh.status = RequestStatus.APPROVED
        else:
            _coin_append(
                totals=totals,
                source_key=f"shop:{fresh.pk}",
                amount=fresh.price,
                note=notes.REQUEST_REJECTED,
            )
            fresh.status = RequestStatus.REJECTED
        fresh.decided_by = actor
        fresh.decided_at = timezone.now()
        fresh.decision_note = (note or "")[:300]
        fresh.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "updated_at"])
    return fresh


# --- cooperative group goals ----------------------------------------------------------------------


def _goal_clean(
    *, org: Organization, group, title: str, target_xp: int, starts_on: dt.date, ends_on: dt.date, reward: str
) -> dict:
    title = (title or "").strip()
    if not title:
        raise ValidationError(_("Назовите цель группы."), code="title_required")
    if group is None or group.organization_id != org.pk:
        raise ValidationError(_("Группа из другой организации."), code="wrong_org")
    if not isinstance(target_xp, int) or isinstance(target_xp, bool) or target_xp < 1:
        raise ValidationError(_("Цель — целое число очков, не меньше 1."), code="invalid_target")
    if ends_on < starts_on:
        raise ValidationError(_("Дата окончания раньше даты начала."), code="dates_order")
    if (ends_on - starts_on).days > 366:
        raise ValidationError(_("Цель группы — не дольше года."), code="too_long")
    rules = selectors.rules_for(org=org)
    weeks = (ends_on - starts_on).days // 7 + 1
    children = selectors.group_students(org=org, group=group).count() or group.capacity or 1
    per_lesson = rules.xp_visit + rules.xp_on_time + rules.xp_kudos + rules.xp_homework + rules.xp_good_grade
    ceiling = children * weeks * 3 * per_lesson
    if target_xp > ceiling:
        raise ValidationError(
            _(
                "Такую цель группа не сможет достичь: даже при трёх занятиях в неделю у всех детей выйдет не больше "
                "%(max)d очков."
            ),
            code="never_reached",
            params={"max": ceiling},
        )
    return {
        "group": group,
        "title": title[:120],
        "target_xp": target_xp,
        "starts_on": starts_on,
        "ends_on": ends_on,
        "reward": (reward or "").strip()[:200],
    }


def group_goal_create(
    *,
    org: Organization,
    group,
    title: str,
    target_xp: int,
    starts_on: dt.date,
    ends_on: dt.date,
    reward: str = "",
) -> GroupGoal:
    clean = _goal_clean(
        org=org,
        group=group,
        title=title,
        target_xp=target_xp,
        starts_on=starts_on,
        ends_on=ends_on,
        reward=reward,
    )
    with transaction.atomic():
        goal = GroupGoal(organization=org, **clean)
        goal.full_clean(exclude=["organization", "group"])
        goal.save()
    return goal


def group_goal_update(
    *,
    goal: GroupGoal,
    group,
    title: str,
    target_xp: int,
    starts_on: dt.date,
    ends_on: dt.date,
    reward: str = "",
) -> GroupGoal:
    clean = _goal_clean(
        org=goal.organization,
        group=group,
        title=title,
        target_xp=target_xp,
        starts_on=starts_on,
        ends_on=ends_on,
        reward=reward,
    )
    with transaction.atomic():
        for name, value in clean.items():
            setattr(goal, name, value)
        goal.full_clean(exclude=["organization", "group"])
        goal.save()
    return goal


# --- quests ---------------------------------------------------------------------------------------

QUEST_STEPS_MAX = 5
# Targets past these can never be met within a quest (at most a year, a few lessons a week).
QUEST_TARGET_MAX = {
    QuestMetric.VISITS: 300,
    QuestMetric.HOMEWORK: 300,
    QuestMetric.GOOD_GRADES: 300,
    QuestMetric.KUDOS: 300,
    QuestMetric.XP: 100_000,
}


def _prerequisite_cycle(*, quest_id: int, requires: list[Quest]) -> list[Quest] | None:
    """The chain of prerequisites that leads from `requires` back to the quest itself, or None."""
    edges: dict[int, list[int]] = {}
    for quest, required in (
        QuestPrerequisite.objects.filter(organization_id=requires[0].organization_id)
        .exclude(quest_id=quest_id)
        .values_list("quest_id", "required_id")
    ):
        edges.setdefault(quest, []).append(required)
    for start in requires:
        # Depth-first from each direct prerequisite, remembering the path to report it.
        stack: list[tuple[int, list[int]]] = [(start.pk, [start.pk])]
        seen: set[int] = set()
        while stack:
            node, path = stack.pop()
            if node == quest_id:
                titles = dict(Quest.objects.filter(pk__in=path).values_list("pk", "title"))
                return [Quest(pk=pk, title=titles.get(pk, "")) for pk in path]
            if node in seen:
                continue
            seen.add(node)
            stack.extend((nxt, [*path, nxt]) for nxt in edges.get(node, []))
    return None


def _quest_clean(
    *, org: Organization, quest_id: int | None, fields: dict
) -> tuple[dict, list[tuple[str, int]], list]:
    title = (fields.get("title") or "").strip()
    if not title:
        raise ValidationError(_("Назовите квест."), code="title_required")
    kind = fields.get("kind") or QuestKind.SOLO
    if kind not in QuestKind.values:
        raise ValidationError(_("Выберите вид квеста: личный или командный."), code="invalid_kind")
    group = fields.get("group")
    if group is not None and group.organization_id != org.pk:
        raise ValidationError(_("Группа из другой организации."), code="wrong_org")
    if kind == QuestKind.TEAM and group is None:
        raise ValidationError(
            _("Командный квест проходит вся группа: выберите группу."), code="group_required"
        )
    starts_on, ends_on = fields.get("starts_on"), fields.get("ends_on")
    if not isinstance(starts_on, dt.date) or not isinstance(ends_on, dt.date):
        raise ValidationError(_("Укажите даты квеста."), code="dates_required")
    if ends_on < starts_on:
        raise ValidationError(_("Дата окончания раньше даты начала."), code="dates_order")
    if (ends_on - starts_on).days > 366:
        raise ValidationError(_("Квест — не дольше года."), code="too_long")
    steps = [(metric, target) for metric, target in (fields.get("steps") or []) if metric]
    if not steps:
        raise ValidationError(
            _("Добавьте хотя бы один шаг: что нужно сделать и сколько раз."), code="steps_required"
        )
    if len(steps) > QUEST_STEPS_MAX:
        raise ValidationError(
            _("Не больше %(max)d шагов в одном квесте."),
            code="too_many_steps",
            params={"max": QUEST_STEPS_MAX},
        )
    for metric, target in steps:
        if metric not in QuestMetric.values:
            raise ValidationError(_("Неизвестный шаг квеста."), code="invalid_metric")
        if not isinstance(target, int) or isinstance(target, bool) or target < 1:
            raise ValidationError(_("Сколько раз — целое число от 1."), code="invalid_target")
        if target > QUEST_TARGET_MAX[metric]:
            raise ValidationError(
                _("Такой шаг никогда не выполнить: «%(step)s» — не больше %(max)d."),
                code="never_completes",
                params={"step": QuestMetric(metric).label, "max": QUEST_TARGET_MAX[metric]},
            )
    rewards = {}
    for name, label in (("reward_xp", _("награда, очков")), ("reward_coins", _("награда, монет"))):
        value = fields.get(name) or 0
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValidationError(
                _("«%(label)s» — целое число."), code="not_a_number", params={"label": label}
            )
        if value < 0:
            raise ValidationError(
                _("«%(label)s» не может быть отрицательной: очки у детей не отнимаем."),
                code="negative_xp",
                params={"label": label},
            )
        if value > XP_MAX:
            raise ValidationError(
                _("«%(label)s» — не больше %(max)d."), code="too_much", params={"label": label, "max": XP_MAX}
            )
        rewards[name] = value
    badge = fields.get("reward_badge")
    if badge is not None:
        if badge.organization_id != org.pk:
            raise ValidationError(_("Значок из другой организации."), code="wrong_org")
        if badge.rule != BadgeRule.TEACHER:
            raise ValidationError(
                _(
                    "Наградой за квест может быть только значок, который выдают вручную (правило «Выдаёт педагог»): "
                    "остальные значки выдаются по своим правилам."
                ),
                code="badge_not_manual",
            )
    requires = list(fields.get("requires") or [])
    for required in requires:
        if required.organization_id != org.pk:
            raise ValidationError(_("Квест из другой организации."), code="wrong_org")
        if quest_id is not None and required.pk == quest_id:
            raise ValidationError(
                _("Квест не может зависеть сам от себя: уберите его из списка «Сначала пройти»."),
                code="depends_on_itself",
            )
        if required.kind != kind or (
            kind == QuestKind.TEAM and required.group_id != getattr(group, "pk", None)
        ):
            raise ValidationError(
                _(
                    "«%(title)s» нельзя сделать условием: личный квест может зависеть только от личных, командный — "
                    "от командных квестов той же группы."
                ),
                code="prerequisite_kind",
                params={"title": required.title},
            )
    if quest_id is not None and requires:
        cycle = _prerequisite_cycle(quest_id=quest_id, requires=requires)
        if cycle:
            chain = " → ".join(f"«{q.title}»" for q in [Quest(pk=quest_id, title=title), *cycle])
            raise ValidationError(
                _(
                    "Квест зависит сам от себя по цепочке %(chain)s: его никогда не открыть. Уберите одно из условий."
                ),
                code="depends_on_itself",
                params={"chain": chain},
            )
    clean = {
        "title": title[:120],
        "description": (fields.get("description") or "").strip()[:300],
        "kind": kind,
        "group": group,
        "starts_on": starts_on,
        "ends_on": ends_on,
        "reward_badge": badge,
        "group_reward": (fields.get("group_reward") or "").strip()[:200] if kind == QuestKind.TEAM else "",
        "is_active": bool(fields.get("is_active", True)),
        **rewards,
    }
    return clean, steps, requires


def quest_save(*, org: Organization, quest: Quest | None = None, **fields) -> Quest:
    """Create a quest (quest=None) or edit one. Refuses a quest that depends on itself, directly or
    through a chain of prerequisites, and steps that could never be done."""
    clean, steps, requires = _quest_clean(org=org, quest_id=quest.pk if quest else None, fields=fields)
    with transaction.atomic():
        if quest is None:
            quest = Quest(organization=org)
        for name, value in clean.items():
            setattr(quest, name, value)
        quest.full_clean(exclude=["organization", "group", "reward_badge"])
        quest.save()
        # Steps and prerequisites are configuration, not history: replaced as a whole.
        QuestStep.objects.filter(organization=org, quest=quest).delete()
        QuestStep.objects.bulk_create(
            [
                QuestStep(organization=org, quest=quest, position=i, metric=metric, target=target)
                for i, (metric, target) in enumerate(steps, start=1)
            ]
        )
        QuestPrerequisite.objects.filter(organization=org, quest=quest).delete()
        QuestPrerequisite.objects.bulk_create(
            [QuestPrerequisite(organization=org, quest=quest, required=r) for r in requires]
        )
        config_changed(org_id=org.pk)
    return quest


def _quest_reward(*, org: Organization, quest: Quest, totals: StudentXp, day: dt.date) -> int:
    """Pay one child for a finished quest, exactly once (keyed by quest and child). Returns the XP."""
    source_key = quest_source_key(quest.pk, totals.student_id)
    parts = []
    if quest.reward_coins:
        parts.append(notes.stored(notes.REWARD_COINS, coins=quest.reward_coins))
    if quest.reward_badge_id:
        parts.append(notes.stored(notes.REWARD_BADGE, name=quest.reward_badge.name))
    team = quest.kind == QuestKind.TEAM
    if parts:
        template = notes.TEAM_QUEST_DONE_REWARD if team else notes.QUEST_DONE_REWARD
        note = notes.stored(template, title=quest.title, reward=", ".join(parts))
    else:
        note = notes.stored(notes.TEAM_QUEST_DONE if team else notes.QUEST_DONE, title=quest.title)
    delta = _settle(
        org_id=org.pk,
        student_id=totals.student_id,
        source_key=source_key,
        occurred_on=day,
        wanted=[Wanted(Component.QUEST, quest.reward_xp, "quest", note[:300])],
    )
    if delta:
        StudentXp.objects.filter(pk=totals.pk).update(xp=F("xp") + delta)
    if quest.reward_coins:
        _settle_coins(totals=totals, source_key=source_key, wanted=quest.reward_coins)
    if quest.reward_badge_id:
        BadgeAward.objects.get_or_create(
            organization=org,
            badge_id=quest.reward_badge_id,
            student_id=totals.student_id,
            defaults={"awarded_on": day, "note": notes.stored(notes.FOR_QUEST, title=quest.title)},
        )
    return delta


def _complete(*, org: Organization, quest: Quest, day: dt.date, student_id=None, group_id=None) -> bool:
    """Record the completion; False when someone else recorded it first (the unique constraint decides)."""
    try:
        with transaction.atomic():
            QuestCompletion.objects.create(
                organization=org, quest=quest, student_id=student_id, group_id=group_id, completed_on=day
            )
    except IntegrityError:
        return False
    return True


def quests_evaluate(
    *,
    org: Organization,
    student_id: int,
    day: dt.date,
    metrics: frozenset[str] | None = None,
    config: OrgConfig | None = None,
) -> list[Quest]:
    """Complete and pay the child's solo quests that are now done; check the group's team quests after
    commit. The caller holds the child's totals lock, so a solo quest is paid once.

    `metrics` names the quest steps the event can move (None: any). A team quest none of whose steps it
    can move is not re-checked, unless it waits on another quest (finishing that one may open it).
    The quests, their steps and prerequisites come from the organisation's cached `config`."""
    config = config or config_for(org_id=org.pk)
    running = config.quests_on(day)
    if not running:
        return []
    candidates, finished = selectors.quests_open_with_finished(
        org=org, student_id=student_id, day=day, quests=running
    )
    if not candidates:
        return []
    done: list[Quest] = []
    solo = [q for q in candidates if q.kind == QuestKind.SOLO]
    required = {q.pk: set(config.requires.get(q.pk, ())) for q in candidates}
    # Read once: a quest's own reward (component "quest") never counts towards another quest's steps.
    reached = selectors.quests_reached(org=org, quests=solo, student_ids=[student_id])
    progressed = True
    # A quest finished now may unlock one that depends on it: go round until nothing changes.
    while progressed and solo:
        progressed = False
        for quest in list(solo):
            if quest.pk in finished or not required[quest.pk] <= finished:
                continue
            if quest.pk not in reached:
                continue
            solo.remove(quest)
            if _complete(org=org, quest=quest, day=day, student_id=student_id):
                totals = _totals_locked(org_id=org.pk, student_id=student_id)
                _quest_reward(org=org, quest=quest, totals=totals, day=day)
                done.append(quest)
            finished.add(quest.pk)
            progressed = True
    for quest in candidates:
        if quest.kind != QuestKind.TEAM:
            continue
        if metrics is not None and not required[quest.pk]:
            if not any(step.metric in metrics for step in quest.steps.all()):
                continue
        # Paying a whole group takes every child's lock: do it in its own transaction, after ours.
        transaction.on_commit(
            lambda q=quest.pk, g=quest.group_id: team_quest_settle(
                org_id=org.pk, quest_id=q, group_id=g, day=day, config=config
            )
        )
    return done


def team_quest_settle(
    *, org_id: int, quest_id: int, group_id: int, day: dt.date, config: OrgConfig | None = None
) -> bool:
    """Complete a team quest when the group's children together did every step, and pay each of them once.
    Children's rows are locked in id order, so two settlements never wait on each other in a circle.
    `config`: the organisation's configuration the award that triggered this one already held."""
    from kruzhok.lib.tenancy import tenant_context

    with tenant_context(org_id):
        # This runs after every mark of a group with a team quest: the quest, its steps and its
        # prerequisites come from the cached configuration, and one read of the group's completions
        # answers "done already?" and "prerequisites done?". The reads need no transaction (each sees
        # what is committed, as it would inside one); a transaction is opened only to pay, and the
        # completion's unique key decides who pays.
        config = config or config_for(org_id=org_id)
        quest = next((q for q in config.quests if q.pk == quest_id), None)
        if quest is None:
            return False
        org = Organization(pk=org_id)
        if quest.group_id == group_id:
            group = Group(pk=group_id, organization_id=org_id)
        else:
            group = Group.objects.filter(organization=org, pk=group_id).first()
        if group is None:
            return False
        finished = selectors.group_completed_quests(org_id=org_id, group_id=group.pk)
        if quest.pk in finished or not config.requires.get(quest.pk, frozenset()) <= finished:
            return False
        student_ids = selectors.group_student_ids(org_id=org_id, group_id=group.pk)
        if quest.pk not in selectors.quests_reached(org=org, quests=[quest], student_ids=student_ids):
            return False
        with transaction.atomic():
            if not _complete(org=org, quest=quest, day=day, group_id=group.pk):
                return False
            for student_id in student_ids:
                totals = _totals_locked(org_id=org.pk, student_id=student_id)
                _quest_reward(org=org, quest=quest, totals=totals, day=day)
                badges_evaluate(org=org, student_id=student_id, today=day)
    return True
