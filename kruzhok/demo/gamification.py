"""Demo data for gamification: default badges, a stocked rewards shop, and XP, coins and badges
replayed from the demo's whole attendance and homework history, plus kudos, quests (solo, chained and
team) and a few shop requests.

The seed writes marks and homework with bulk inserts and publishes no events, so this module replays them
the same way the event handlers would (same source keys, notes and amounts) with bulk inserts too, and
settles quests through the same catch-up the rebuild uses; afterwards `manage.py gamification_rebuild
--check` finds no difference. Deterministic for a given seed."""

import datetime as dt
import random
from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from kruzhok.accounts.models import Membership, Organization, Role
from kruzhok.attendance.models import AttendanceMark, AttendanceStatus
from kruzhok.attendance.selectors import org_timezone
from kruzhok.gamification import selectors, services
from kruzhok.gamification.models import Badge, CoinEntry, Component, StudentXp, XpAward
from kruzhok.homework.models import HomeworkResult
from kruzhok.lib.tenancy import tenant_context
from kruzhok.school.models import Group

BADGES = [
    {
        "name": "Первый шаг",
        "rule": "first",
        "event": "visit",
        "symbol": "1",
        "color": "#2f6fdf",
        "description": "Первое занятие в центре",
    },
    {
        "name": "Десять занятий",
        "rule": "count",
        "event": "visit",
        "threshold": 10,
        "symbol": "10",
        "color": "#1f8a4c",
        "description": "Пришёл на 10 занятий",
    },
    {
        "name": "Тридцать занятий",
        "rule": "count",
        "event": "visit",
        "threshold": 30,
        "symbol": "30",
        "color": "#7a3fd0",
        "description": "Пришёл на 30 занятий",
    },
    {
        "name": "Месяц без пропусков",
        "rule": "streak",
        "threshold": 4,
        "symbol": "4",
        "color": "#e08a00",
        "description": "4 недели подряд",
    },
    {
        "name": "Молодец!",
        "rule": "first",
        "event": "kudos",
        "symbol": "★",
        "color": "#d0406a",
        "description": "Первая похвала педагога",
    },
    {
        "name": "Сто очков",
        "rule": "milestone",
        "threshold": 100,
        "symbol": "♛",
        "color": "#b8860b",
        "description": "Набрал 100 очков",
    },
    {
        "name": "Отличник",
        "rule": "first",
        "event": "good_grade",
        "symbol": "5",
        "color": "#c0392b",
        "description": "Первая пятёрка или четвёрка за домашнее задание",
    },
    {
        "name": "Домашний герой",
        "rule": "count",
        "event": "homework",
        "threshold": 10,
        "symbol": "✎",
        "color": "#16a085",
        "description": "Сдал 10 домашних заданий",
    },
    {
        "name": "Квестер",
        "rule": "teacher",
        "symbol": "?",
        "color": "#8e44ad",
        "description": "Награда за квест",
    },
    {
        "name": "Помощник педагога",
        "rule": "teacher",
        "symbol": "♥",
        "color": "#0f8f99",
        "description": "Выдаёт педагог",
    },
]
REWARDS = [
    ("Наклейка «Кружок»", 3, 200),
    ("Значок на рюкзак", 8, 60),
    ("Брелок-робот", 15, 30),
    ("Футболка центра", 40, 10),
    ("Дополнительное занятие", 60, 5),
]


def _replay_marks(*, org: Organization, rng: random.Random) -> dict[str, int]:
    """Awards for every mark, as xp_apply_mark would give them, and kudos for some good lessons."""
    rules = selectors.rules_for(org=org)
    zone = org_timezone(org)
    awards, coins = [], []
    xp_by_student, coins_by_student = defaultdict(int), defaultdict(int)
    used_on: dict[tuple[int, dt.date], int] = defaultdict(int)
    marks = (
        AttendanceMark.objects.filter(organization=org)
        .select_related("lesson")
        .only(
            "pk",
            "status",
            "student_id",
            "lesson__starts_at",
            "lesson__id",
            "lesson__group_id",
            "marked_by_id",
        )
        .order_by("lesson__starts_at", "pk")
    )
    for mark in marks.iterator(chunk_size=2000):
        day = timezone.localdate(mark.lesson.starts_at, timezone=zone)
        left = rules.daily_cap - used_on[(mark.student_id, day)] if rules.daily_cap else None
        for want in services._wanted_for_mark(status=mark.status, rules=rules, left=left):
            awards.append(
                XpAward(
                    organization=org,
                    student_id=mark.student_id,
                    source_key=services.attendance_source_key(mark.pk),
                    component=want.component,
                    seq=1,
                    amount=want.amount,
                    basis=want.basis,
                    note=want.note,
                    occurred_on=day,
                    actor_id=mark.marked_by_id,
                )
            )
            used_on[(mark.student_id, day)] += want.amount
            xp_by_student[mark.student_id] += want.amount
        if mark.status in (AttendanceStatus.PRESENT, AttendanceStatus.LATE):
            if rules.coins_per_visit:
                coins.append(
                    CoinEntry(
                        organization=org,
                        student_id=mark.student_id,
                        source_key=services.attendance_source_key(mark.pk),
                        seq=1,
                        amount=rules.coins_per_visit,
                        note="Монеты за занятие",
                    )
                )
                coins_by_student[mark.student_id] += rules.coins_per_visit
            # Teachers praise about one child in twelve per lesson.
            if rng.random() < 0.08:
                key = services.kudos_source_key(mark.lesson_id, mark.student_id)
                amount = rules.xp_kudos if rules.count_kudos else 0
                awards.append(
                    XpAward(
                        organization=org,
                        student_id=mark.student_id,
                        source_key=key,
                        component=Component.KUDOS,
                        seq=1,
                        amount=amount,
                        basis="kudos",
                        note="Молодец на занятии! "
                        + rng.choice(
                            [
                                "Собрал модель первым.",
                                "Помог соседу.",
                                "Отличный вопрос.",
                                "Довёл проект до конца.",
                                "",
                            ]
                        ).strip(),
                        occurred_on=day,
                        actor_id=mark.marked_by_id,
                    )
                )
                xp_by_student[mark.student_id] += amount
                if rules.coins_per_kudos:
                    coins.append(
                        CoinEntry(
                            organization=org,
                            student_id=mark.student_id,
                            source_key=key,
                            seq=1,
                            amount=rules.coins_per_kudos,
                            note="Монеты за занятие",
                        )
                    )
                    coins_by_student[mark.student_id] += rules.coins_per_kudos
    results = (
        HomeworkResult.objects.filter(organization=org)
        .select_related("lesson")
        .only("pk", "status", "is_late", "grade", "student_id", "recorded_by_id", "lesson__starts_at")
        .order_by("lesson__starts_at", "pk")
    )
    for result in results.iterator(chunk_size=2000):
        day = timezone.localdate(result.lesson.starts_at, timezone=zone)
        left = rules.daily_cap - used_on[(result.student_id, day)] if rules.daily_cap else None
        for want in services._wanted_for_homework(result=result, rules=rules, left=left):
            awards.append(
                XpAward(
                    organization=org,
                    student_id=result.student_id,
                    source_key=services.homework_source_key(result.pk),
                    component=want.component,
                    seq=1,
                    amount=want.amount,
                    basis=want.basis,
                    note=want.note,
                    occurred_on=day,
                    actor_id=result.recorded_by_id,
                )
            )
            used_on[(result.student_id, day)] += want.amount
            xp_by_student[result.student_id] += want.amount
    # Some history was written through live services whose events already paid (billing's make-up
    # lessons, for one): those sources keep their awards, the replay adds only the rest.
    paid = set(XpAward.objects.filter(organization=org).values_list("source_key", "component"))
    awards = [a for a in awards if (a.source_key, a.component) not in paid]
    paid_coins = set(CoinEntry.objects.filter(organization=org).values_list("source_key", flat=True))
    coins = [c for c in coins if c.source_key not in paid_coins]
    xp_by_student, coins_by_student = defaultdict(int), defaultdict(int)
    for award in awards:
        xp_by_student[award.student_id] += award.amount
    for entry in coins:
        coins_by_student[entry.student_id] += entry.amount
    XpAward.objects.bulk_create(awards, batch_size=2000)
    CoinEntry.objects.bulk_create(coins, batch_size=2000)
    students = set(xp_by_student) | set(coins_by_student)
    have = {
        row.student_id: row for row in StudentXp.objects.filter(organization=org, student_id__in=students)
    }
    for student_id, row in have.items():
        row.xp = max(0, row.xp + xp_by_student[student_id])
        row.coins = max(0, row.coins + coins_by_student[student_id])
    StudentXp.objects.bulk_update(list(have.values()), ["xp", "coins"], batch_size=2000)
    StudentXp.objects.bulk_create(
        [
            StudentXp(organization=org, student_id=s, xp=max(0, xp_by_student[s]), coins=coins_by_student[s])
            for s in students - set(have)
        ],
        batch_size=2000,
    )
    return {"awards": len(awards), "coin_entries": len(coins), "children": len(students)}


def seed_gamification(*, org: Organization, seed: int = 11) -> dict[str, int]:
    """Badges, a shop, the replayed history, earned badges and a few requests. Safe to run once per org."""
    rng = random.Random(seed)
    with tenant_context(org.pk), transaction.atomic():
        if Badge.objects.filter(organization=org).exists():
            return {"skipped": 1}
        badges = [services.badge_create(org=org, **fields) for fields in BADGES]
        rewards = [services.reward_create(org=org, title=t, price=p, stock=s) for t, p, s in REWARDS]
        totals = _replay_marks(org=org, rng=rng)
        earned = 0
        for student_id in StudentXp.objects.filter(organization=org).values_list("student_id", flat=True):
            earned += len(services.badges_evaluate(org=org, student_id=student_id))
        teacher = (
            Membership.objects.filter(organization=org, role=Role.TEACHER).select_related("user").first()
        )
        rich = list(StudentXp.objects.filter(organization=org, coins__gte=10).select_related("student")[:12])
        for totals_row in rich[:6]:
            services.badge_grant(
                badge=badges[-1], student=totals_row.student, actor=teacher.user if teacher else None
            )
        requests = 0
        manager = Membership.objects.filter(organization=org, role__in=[Role.MANAGER, Role.OWNER]).first()
        for index, totals_row in enumerate(rich):
            reward = rewards[index % 2]
            request = services.reward_request_create(reward=reward, student=totals_row.student)
            requests += 1
            if index % 3 == 0 and manager:
                services.reward_request_decide(request=request, actor=manager.user, approve=True)
        # Cooperative goals for the month in a few active groups.
        today = timezone.localdate(timezone=org_timezone(org))
        month_start = today.replace(day=1)
        month_end = (month_start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        goals = 0
        for group in Group.objects.filter(organization=org, is_active=True).order_by("pk")[:6]:
            children = selectors.group_students(org=org, group=group).count()
            if not children:
                continue
            services.group_goal_create(
                org=org,
                group=group,
                title="Вместе к цели месяца",
                target_xp=children * 60,
                starts_on=month_start,
                ends_on=month_end,
                reward="Пицца-вечеринка в конце месяца",
            )
            goals += 1
        quests = _seed_quests(org=org, badges=badges, today=today)
        # A few families chose to stay out of rankings.
        for totals_row in StudentXp.objects.filter(organization=org).order_by("student_id")[::17]:
            services.leaderboard_opt_out_set(org=org, student=totals_row.student, opt_out=True)
    return {**totals, "badges_earned": earned, "requests": requests, "goals": goals, **quests}


def _seed_quests(*, org: Organization, badges: list[Badge], today: dt.date) -> dict[str, int]:
    """Last month's quest (many finished it), this month's quest that opens after it, a homework quest,
    and team quests for a few groups; completions are settled from the replayed history, the way
    `gamification_rebuild` catches up a lost event."""
    quest_badge = next(b for b in badges if b.name == "Квестер")
    month_start = today.replace(day=1)
    month_end = (month_start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    last_start = (month_start - dt.timedelta(days=1)).replace(day=1)
    autumn = services.quest_save(
        org=org,
        title="Хороший старт",
        description="Приходи на занятия весь месяц",
        starts_on=last_start,
        ends_on=month_start - dt.timedelta(days=1),
        steps=[("visits", 4)],
        reward_xp=20,
        reward_coins=2,
    )
    services.quest_save(
        org=org,
        title="Путь мастера",
        description="Открывается после «Хорошего старта»",
        starts_on=month_start,
        ends_on=month_end,
        steps=[("visits", 4), ("kudos", 1)],
        reward_xp=40,
        reward_coins=5,
        reward_badge=quest_badge,
        requires=[autumn],
    )
    services.quest_save(
        org=org,
        title="Домашний марафон",
        description="Сдай три домашних задания и получи хорошую оценку",
        starts_on=last_start,
        ends_on=month_end,
        steps=[("homework", 3), ("good_grades", 1)],
        reward_xp=30,
        reward_coins=3,
    )
    team = 0
    for group in Group.objects.filter(organization=org, is_active=True).order_by("pk")[:4]:
        children = selectors.group_students(org=org, group=group).count()
        if not children:
            continue
        services.quest_save(
            org=org,
            title="Вся группа в сборе",
            description="Вместе придите на занятия — каждое посещение считается",
            kind="team",
            group=group,
            starts_on=month_start,
            ends_on=month_end,
            steps=[("visits", children * 3)],
            reward_xp=25,
            reward_coins=3,
            group_reward="Игровое занятие всей группой",
        )
        team += 1
    settled = services._quests_rebuild(org=org, fix=True)
    return {"quests": 3 + team, "quest_completions_settled": len(settled)}
