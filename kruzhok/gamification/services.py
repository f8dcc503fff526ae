"""Writes: awarding XP exactly once, reversing it on correction, badges, kudos, rules.

Exactly once, three ways: (1) the child's `StudentXp` row is locked (SELECT … FOR UPDATE) before any
decision, so two deliveries of the same event for one child run one after the other; (2) every award
is keyed by (source_key, component, seq) under a unique constraint, so even a writer that skipped the
lock cannot pay twice; (3) the decision compares the wanted outcome with what the ledger already
holds, so a retry finds nothing left to do.
"""

import datetime as dt
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max, Sum
from django.utils import timezone

from kruzhok.accounts.models import Organization
from kruzhok.attendance.models import AttendanceMark, AttendanceStatus
from kruzhok.attendance.selectors import lesson_local_date, org_timezone
from kruzhok.gamification import selectors
from kruzhok.gamification.models import (
    Badge,
    BadgeAward,
    BadgeEvent,
    BadgeRule,
    CoinEntry,
    Component,
    GamificationSettings,
    GroupGoal,
    RequestStatus,
    Reward,
    RewardRequest,
    StudentXp,
    XpAward,
)
from kruzhok.school.models import Lesson, Student

XP_MAX = 1000
STREAK_MAX_WEEKS = 104
COUNT_MAX = 1000
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


def _totals_locked(*, org_id: int, student_id: int) -> StudentXp:
    # get_or_create survives a racing insert (it retries the read on IntegrityError).
    StudentXp.objects.get_or_create(organization_id=org_id, student_id=student_id)
    return StudentXp.objects.select_for_update().get(organization_id=org_id, student_id=student_id)


def _live(*, org_id: int, source_key: str) -> dict[str, XpAward]:
    awards = XpAward.objects.filter(
        organization_id=org_id, source_key=source_key, reverses__isnull=True, reversed_by__isnull=True
    )
    return {award.component: award for award in awards}


def _append(**fields) -> XpAward:
    award = XpAward(**fields)
    # Foreign keys were resolved by the caller; the constraints are the database's job.
    award.full_clean(
        exclude=["organization", "student", "reverses", "actor"],
        validate_unique=False,
        validate_constraints=False,
    )
    award.save()
    return award


def _settle(
    *, org_id: int, student_id: int, source_key: str, occurred_on: dt.date, wanted: list[Wanted], actor=None
) -> int:
    """Make the live awards of one source match `wanted`, appending rows only. Returns the XP change.

    The caller holds the child's totals lock. An award whose basis is unchanged is kept as it is, so a
    retry, a re-save of the same mark or a later change of the org's rules never rewrites history."""
    live = _live(org_id=org_id, source_key=source_key)
    wanted_by = {w.component: w for w in wanted}
    delta = 0
    for component in [c for c in Component.values if c in live or c in wanted_by]:
        current, want = live.get(component), wanted_by.get(component)
        if current is not None and want is not None and current.basis == want.basis:
            continue
        if current is not None:
            _append(
                organization_id=org_id,
                student_id=student_id,
                source_key=source_key,
                component=component,
                seq=current.seq,
                amount=-current.amount,
                basis="correction",
                note="Отметка исправлена — начисление отменено",
                occurred_on=current.occurred_on,
                reverses=current,
                actor=actor,
            )
            delta -= current.amount
        if want is not None:
            last = XpAward.objects.filter(
                organization_id=org_id, source_key=source_key, component=component, reverses__isnull=True
            ).aggregate(seq=Max("seq"))["seq"]
            _append(
                organization_id=org_id,
                student_id=student_id,
                source_key=source_key,
                component=component,
                seq=(last or 0) + 1,
                amount=want.amount,
                basis=want.basis,
                note=want.note,
                occurred_on=occurred_on,
                actor=actor,
            )
            delta += want.amount
    return delta


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
    return max(0, left), f"{note} Дневной лимит {cap} очков: начислено {max(0, left)}.", 0


def _wanted_for_mark(*, status: str, rules: GamificationSettings, left: int | None) -> list[Wanted]:
    cap = rules.daily_cap
    if status in (AttendanceStatus.PRESENT, AttendanceStatus.LATE):
        wanted = []
        if rules.count_visits:
            amount, note, left = _capped(rules.xp_visit, left, "Пришёл на занятие.", cap)
            wanted.append(Wanted(Component.VISIT, amount, status, note))
        else:
            wanted.append(
                Wanted(
                    Component.VISIT,
                    0,
                    status,
                    "Пришёл на занятие. Очки за посещение в центре не начисляются.",
                )
            )
        if status == AttendanceStatus.LATE:
            wanted.append(Wanted(Component.ON_TIME, 0, status, "Опоздание — бонуса за приход вовремя нет."))
        elif rules.count_on_time:
            amount, note, left = _capped(rules.xp_on_time, left, "Пришёл вовремя — бонус.", cap)
            wanted.append(Wanted(Component.ON_TIME, amount, status, note))
        return wanted
    if status == AttendanceStatus.EXCUSED:
        note = "Пропуск по уважительной причине — очков нет, серия недель не прерывается."
    else:
        note = "Не был на занятии — очков за посещение нет."
    return [Wanted(Component.VISIT, 0, status, note)]


def _coin_append(*, totals: StudentXp, source_key: str, amount: int, note: str) -> CoinEntry:
    last = CoinEntry.objects.filter(organization_id=totals.organization_id, source_key=source_key).aggregate(
        seq=Max("seq")
    )["seq"]
    entry = CoinEntry.objects.create(
        organization_id=totals.organization_id,
        student_id=totals.student_id,
        source_key=source_key,
        seq=(last or 0) + 1,
        amount=amount,
        note=note,
    )
    StudentXp.objects.filter(pk=totals.pk).update(coins=F("coins") + amount)
    totals.refresh_from_db(fields=["coins"])
    return entry


def _settle_coins(*, totals: StudentXp, source_key: str, wanted: int) -> int:
    """Coins earned by one source follow its XP; a correction takes back at most what is left, so the
    balance never goes below zero even when the coins were already spent."""
    earned = (
        CoinEntry.objects.filter(organization_id=totals.organization_id, source_key=source_key).aggregate(
            total=Sum("amount")
        )["total"]
        or 0
    )
    delta = wanted - earned
    if delta < 0:
        totals.refresh_from_db(fields=["coins"])
        delta = max(delta, -totals.coins)
    if delta:
        note = "Монеты за занятие" if delta > 0 else "Отметка исправлена — монеты возвращены"
        _coin_append(totals=totals, source_key=source_key, amount=delta, note=note)
    return delta


def xp_apply_mark(*, org_id: int, lesson_id: int, student_id: int) -> int:
    """Bring the child's XP for one attendance mark in line with the mark as it is now.

    Reads the mark afresh rather than trusting the event's payload, so late or repeated deliveries
    converge on the current truth. Returns the XP change (0 on a retry)."""
    org = Organization.objects.get(pk=org_id)
    rules = selectors.rules_for(org=org)
    if not rules.enabled:
        return 0
    mark = (
        AttendanceMark.objects.filter(organization_id=org_id, lesson_id=lesson_id, student_id=student_id)
        .select_related("lesson", "lesson__organization")
        .first()
    )
    if mark is None:
        return 0
    day = lesson_local_date(mark.lesson)
    source_key = attendance_source_key(mark.pk)
    with transaction.atomic():
        totals = _totals_locked(org_id=org_id, student_id=student_id)
        left = None
        if rules.daily_cap:
            left = rules.daily_cap - _used_on(
                org_id=org_id, student_id=student_id, day=day, except_source=source_key
            )
        wanted = _wanted_for_mark(status=mark.status, rules=rules, left=left)
        delta = _settle(
            org_id=org_id,
            student_id=student_id,
            source_key=source_key,
            occurred_on=day,
            wanted=wanted,
            actor=mark.marked_by,
        )
        if delta:
            StudentXp.objects.filter(pk=totals.pk).update(xp=F("xp") + delta)
        visit = _live(org_id=org_id, source_key=source_key).get(Component.VISIT)
        attended = visit is not None and visit.basis in (AttendanceStatus.PRESENT, AttendanceStatus.LATE)
        _settle_coins(totals=totals, source_key=source_key, wanted=rules.coins_per_visit if attended else 0)
        badges_evaluate(org=org, student_id=student_id, today=day)
    return delta


def kudos_give(*, lesson: Lesson, student: Student, actor, note: str = "") -> tuple[XpAward, bool]:
    """A teacher's «молодец на занятии»: once per child per lesson. Returns (award, created)."""
    note = (note or "").strip()
    if len(note) > 200:
        raise ValidationError("Слишком длинная похвала: не больше 200 символов.", code="note_too_long")
    mark = AttendanceMark.objects.filter(
        organization_id=lesson.organization_id, lesson=lesson, student=student
    ).first()
    if mark is None or mark.status not in (AttendanceStatus.PRESENT, AttendanceStatus.LATE):
        raise ValidationError(
            "Похвалить можно только ребёнка, который был на занятии: сначала отметьте его.",
            code="not_present",
        )
    org = lesson.organization
    rules = selectors.rules_for(org=org)
    source_key = kudos_source_key(lesson.pk, student.pk)
    with transaction.atomic():
        totals = _totals_locked(org_id=org.pk, student_id=student.pk)
        existing = _live(org_id=org.pk, source_key=source_key).get(Component.KUDOS)
        if existing is not None:
            return existing, False
        amount = rules.xp_kudos if rules.enabled and rules.count_kudos else 0
        text = "Молодец на занятии!" + (f" {note}" if note else "")
        if amount == 0:
            text += " (очки за похвалу в центре не начисляются)"
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
        badges_evaluate(org=org, student_id=student.pk, today=lesson_local_date(lesson))
    return _live(org_id=org.pk, source_key=source_key)[Component.KUDOS], True


# --- badges ---------------------------------------------------------------------------------------


def badges_evaluate(*, org: Organization, student_id: int, today: dt.date | None = None) -> list[BadgeAward]:
    """Give every automatic badge the child now qualifies for. Badges are kept once earned."""
    have = BadgeAward.objects.filter(organization=org, student_id=student_id).values("badge_id")
    candidates = list(
        Badge.objects.filter(organization=org, is_active=True)
        .exclude(rule=BadgeRule.TEACHER)
        .exclude(pk__in=have)
    )
    if not candidates:
        return []
    counts: dict[str, int] = {}
    streak = None
    given = []
    for badge in candidates:
        if badge.rule == BadgeRule.STREAK:
            if streak is None:
                student = Student.objects.get(organization=org, pk=student_id)
                streak = selectors.streak_weeks(org=org, student=student, today=today).best
            reached = streak >= badge.threshold
        else:
            if badge.event not in counts:
                bases = (
                    (AttendanceStatus.PRESENT, AttendanceStatus.LATE)
                    if badge.event == BadgeEvent.VISIT
                    else None
                )
                counts[badge.event] = selectors.live_count(
                    org_id=org.pk, student_id=student_id, component=badge.event, bases=bases
                )
            need = 1 if badge.rule == BadgeRule.FIRST else badge.threshold
            reached = counts[badge.event] >= need
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
        raise ValidationError("Этот значок выдаётся автоматически, по правилу.", code="not_manual")
    if badge.organization_id != student.organization_id:
        raise ValidationError("Значок и ребёнок из разных организаций.", code="wrong_org")
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
        raise ValidationError("Дайте значку название.", code="name_required")
    rule = fields.get("rule")
    if rule not in BadgeRule.values:
        raise ValidationError("Выберите правило значка.", code="invalid_rule")
    event = fields.get("event") or ""
    threshold = fields.get("threshold")
    threshold = 1 if threshold is None else threshold
    if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 1:
        raise ValidationError("«Сколько нужно» — целое число от 1.", code="invalid_threshold")
    if rule in (BadgeRule.COUNT, BadgeRule.FIRST) and event not in BadgeEvent.values:
        raise ValidationError("Выберите, за какое событие даётся значок.", code="event_required")
    if rule == BadgeRule.STREAK:
        event = BadgeEvent.VISIT
        if threshold > STREAK_MAX_WEEKS:
            raise ValidationError(
                "Такой значок никогда не выдадут: серия больше %(max)d недель подряд невозможна за время курса.",
                code="never_fires",
                params={"max": STREAK_MAX_WEEKS},
            )
    if rule == BadgeRule.COUNT and threshold > COUNT_MAX:
        raise ValidationError(
            "Такой значок никогда не выдадут: больше %(max)d раз — слишком много.",
            code="never_fires",
            params={"max": COUNT_MAX},
        )
    if rule == BadgeRule.FIRST:
        threshold = 1
    if rule == BadgeRule.TEACHER:
        event, threshold = "", 1
    color = fields.get("color") or "#2f6fdf"
    if not COLOR_RE.match(color):
        raise ValidationError("Цвет — в виде #1a2b3c.", code="invalid_color")
    symbol = (fields.get("symbol") or "★").strip()[:2] or "★"
    # Compared in Python: SQLite folds case for ASCII only, and badge names are Russian.
    others = Badge.objects.filter(organization=org).exclude(pk=pk).values_list("name", flat=True)
    if any(other.casefold() == name.casefold() for other in others):
        raise ValidationError("Значок с таким названием уже есть.", code="duplicate")
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
    "daily_cap",
    "leaderboard_top",
    "coins_per_visit",
    "coins_per_kudos",
)
XP_FIELD_LABELS = {
    "xp_visit": "очки за посещение",
    "xp_on_time": "бонус за приход вовремя",
    "xp_kudos": "очки за «молодец на занятии»",
    "daily_cap": "лимит очков в день",
    "coins_per_visit": "монет за посещение",
    "coins_per_kudos": "монет за «молодец»",
}


def gamification_settings_update(*, org: Organization, **fields) -> GamificationSettings:
    """Change the org's rules; refuses settings that are negative, absurd or contradict each other."""
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise ValidationError(
            "Неизвестная настройка: %(names)s.", code="unknown", params={"names": ", ".join(sorted(unknown))}
        )
    with transaction.atomic():
        current = GamificationSettings.objects.select_for_update().filter(organization=org).first()
        rules = current or GamificationSettings(organization=org)
        for name, value in fields.items():
            setattr(rules, name, value)
        for name, label in XP_FIELD_LABELS.items():
            value = getattr(rules, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValidationError(
                    "«%(label)s» — целое число.", code="not_a_number", params={"label": label}
                )
            if value < 0:
                raise ValidationError(
                    "«%(label)s» не может быть отрицательным: очки у детей не отнимаем.",
                    code="negative_xp",
                    params={"label": label},
                )
            if value > XP_MAX:
                raise ValidationError(
                    "«%(label)s» — не больше %(max)d.",
                    code="too_much",
                    params={"label": label, "max": XP_MAX},
                )
        if rules.count_visits and rules.daily_cap and rules.daily_cap < rules.xp_visit:
            raise ValidationError(
                "Лимит в день (%(cap)d) меньше очков за одно посещение (%(visit)d): ребёнок никогда не получит "
                "полных очков. Увеличьте лимит или поставьте 0 (без лимита).",
                code="cap_below_visit",
                params={"cap": rules.daily_cap, "visit": rules.xp_visit},
            )
        if not 1 <= rules.leaderboard_top <= 20:
            raise ValidationError("Рейтинг: показывайте от 1 до 20 лучших.", code="invalid_top")
        rules.full_clean(exclude=["organization"], validate_unique=False)
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


# --- the rewards shop -----------------------------------------------------------------------------


def reward_create(
    *, org: Organization, title: str, price: int, stock: int = 0, description: str = ""
) -> Reward:
    title = (title or "").strip()
    if not title:
        raise ValidationError("Назовите награду.", code="title_required")
    if not isinstance(price, int) or price < 1:
        raise ValidationError("Цена — целое число монет, не меньше 1.", code="invalid_price")
    if not isinstance(stock, int) or stock < 0:
        raise ValidationError("Количество не может быть отрицательным.", code="invalid_stock")
    with transaction.atomic():
        reward = Reward(
            organization=org, title=title[:120], price=price, stock=stock, description=description[:300]
        )
        reward.full_clean(exclude=["organization"])
        reward.save()
    return reward


def reward_request_create(*, reward: Reward, student: Student) -> RewardRequest:
    """A child asks for a reward: the coins are held at once, so two requests can never overspend."""
    if reward.organization_id != student.organization_id:
        raise ValidationError("Награда из другого центра.", code="wrong_org")
    with transaction.atomic():
        totals = _totals_locked(org_id=student.organization_id, student_id=student.pk)
        fresh = Reward.objects.select_for_update().get(organization_id=reward.organization_id, pk=reward.pk)
        if not fresh.is_active:
            raise ValidationError("Этой награды больше нет в магазине.", code="inactive")
        if fresh.stock < 1:
            raise ValidationError("Эта награда закончилась.", code="out_of_stock")
        if totals.coins < fresh.price:
            raise ValidationError(
                "Не хватает монет: нужно %(price)d, а у тебя %(coins)d.",
                code="not_enough_coins",
                params={"price": fresh.price, "coins": totals.coins},
            )
        request = RewardRequest.objects.create(
            organization_id=student.organization_id, reward=fresh, student=student, price=fresh.price
        )
        _coin_append(
            totals=totals, source_key=f"shop:{request.pk}", amount=-fresh.price, note=f"Заказ: {fresh.title}"
        )
    return request


def reward_request_decide(*, request: RewardRequest, actor, approve: bool, note: str = "") -> RewardRequest:
    """A manager hands the reward out (stock goes down) or refuses (the coins come back)."""
    with transaction.atomic():
        fresh = RewardRequest.objects.select_for_update().get(
            organization_id=request.organization_id, pk=request.pk
        )
        if fresh.status != RequestStatus.PENDING:
            raise ValidationError("По этой заявке уже есть решение.", code="already_decided")
        totals = _totals_locked(org_id=fresh.organization_id, student_id=fresh.student_id)
        if approve:
            reward = Reward.objects.select_for_update().get(
                organization_id=fresh.organization_id, pk=fresh.reward_id
            )
            if reward.stock < 1:
                raise ValidationError(
                    "Награда закончилась: откажите в заявке (монеты вернутся) или пополните запас.",
                    code="out_of_stock",
                )
            Reward.objects.filter(pk=reward.pk).update(stock=F("stock") - 1)
            fresh.status = RequestStatus.APPROVED
        else:
            _coin_append(
                totals=totals,
                source_key=f"shop:{fresh.pk}",
                amount=fresh.price,
                note="Заявка отклонена — монеты вернулись",
            )
            fresh.status = RequestStatus.REJECTED
        fresh.decided_by = actor
        fresh.decided_at = timezone.now()
        fresh.decision_note = (note or "")[:300]
        fresh.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "updated_at"])
    return fresh


# --- cooperative group goals ----------------------------------------------------------------------


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
    title = (title or "").strip()
    if not title:
        raise ValidationError("Назовите цель группы.", code="title_required")
    if group.organization_id != org.pk:
        raise ValidationError("Группа из другой организации.", code="wrong_org")
    if not isinstance(target_xp, int) or target_xp < 1:
        raise ValidationError("Цель — целое число очков, не меньше 1.", code="invalid_target")
    if ends_on < starts_on:
        raise ValidationError("Дата окончания раньше даты начала.", code="dates_order")
    if (ends_on - starts_on).days > 366:
        raise ValidationError("Цель группы — не дольше года.", code="too_long")
    rules = selectors.rules_for(org=org)
    weeks = (ends_on - starts_on).days // 7 + 1
    children = selectors.group_students(org=org, group=group).count() or group.capacity or 1
    ceiling = children * weeks * 3 * (rules.xp_visit + rules.xp_on_time + rules.xp_kudos)
    if target_xp > ceiling:
        raise ValidationError(
            "Такую цель группа не сможет достичь: даже при трёх занятиях в неделю у всех детей выйдет не больше "
            "%(max)d очков.",
            code="never_reached",
            params={"max": ceiling},
        )
    with transaction.atomic():
        goal = GroupGoal(
            organization=org,
            group=group,
            title=title[:120],
            target_xp=target_xp,
            starts_on=starts_on,
            ends_on=ends_on,
            reward=(reward or "").strip()[:200],
        )
        goal.full_clean(exclude=["organization", "group"])
        goal.save()
    return goal
