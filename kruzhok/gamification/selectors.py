"""Reads for XP pages: totals, the log, levels, week streaks, badges and group leaderboards."""

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet, Sum
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kruzhok.accounts.models import Organization
from kruzhok.attendance.models import AttendanceMark, AttendanceStatus
from kruzhok.attendance.selectors import org_timezone, student_scope
from kruzhok.gamification.models import (
    Badge,
    BadgeAward,
    CoinEntry,
    GamificationSettings,
    GroupGoal,
    RequestStatus,
    Reward,
    RewardRequest,
    StudentXp,
    XpAward,
)
from kruzhok.school.models import OPEN_ENROLLMENT_STATUSES, Enrollment, Group, Student, StudentGuardian

# Kid-friendly level names; the threshold is the total XP needed to reach the level.
LEVELS = [
    (0, _("Росток")),
    (50, _("Искорка")),
    (120, _("Следопыт")),
    (220, _("Исследователь")),
    (350, _("Изобретатель")),
    (520, _("Мастер")),
    (750, _("Знаток")),
    (1050, _("Герой")),
    (1450, _("Чемпион")),
    (2000, _("Легенда")),
]


@dataclass(frozen=True)
class Level:
    number: int
    name: str
    xp: int
    floor: int
    next_at: int | None
    next_name: str | None

    @property
    def percent(self) -> int:
        if self.next_at is None:
            return 100
        return int(100 * (self.xp - self.floor) / (self.next_at - self.floor))

    @property
    def to_next(self) -> int:
        return 0 if self.next_at is None else self.next_at - self.xp


def level_for(xp: int) -> Level:
    xp = max(0, xp)
    index = max(i for i, (floor, _name) in enumerate(LEVELS) if xp >= floor)
    floor, name = LEVELS[index]
    nxt = LEVELS[index + 1] if index + 1 < len(LEVELS) else None
    return Level(
        number=index + 1,
        name=str(name),
        xp=xp,
        floor=floor,
        next_at=nxt[0] if nxt else None,
        next_name=str(nxt[1]) if nxt else None,
    )


def rules_for(*, org: Organization) -> GamificationSettings:
    """The org's rules, or unsaved defaults when it never changed them."""
    return GamificationSettings.objects.filter(organization=org).first() or GamificationSettings(
        organization=org
    )


def student_xp(*, org: Organization, student: Student) -> int:
    return (
        StudentXp.objects.filter(organization=org, student=student).values_list("xp", flat=True).first() or 0
    )


def is_opted_out(*, org: Organization, student: Student) -> bool:
    return bool(
        StudentXp.objects.filter(organization=org, student=student, leaderboard_opt_out=True).exists()
    )


def xp_log(*, org: Organization, student: Student, limit: int = 50) -> QuerySet[XpAward]:
    """Every award and its reason, newest first; zero-point reversals (of a «no points» note) are noise."""
    return (
        XpAward.objects.filter(organization=org, student=student)
        .exclude(reverses__isnull=False, amount=0)
        .select_related("actor")
        .order_by("-occurred_on", "-id")[:limit]
    )


def ledger_totals(*, org: Organization) -> dict[int, int]:
    rows = (
        XpAward.objects.filter(organization=org).values("student_id").annotate(total=Sum("amount")).order_by()
    )
    return {row["student_id"]: row["total"] or 0 for row in rows}


@dataclass(frozen=True)
class Streak:
    current: int
    best: int
    this_week_done: bool


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def streak_weeks(*, org: Organization, student: Student, today: dt.date | None = None) -> Streak:
    """Weeks in a row with at least one visit.

    Children come once or twice a week, so the unit is a week. A week with no lesson (holidays, a
    cancelled lesson, a break) or with only excused absences is neutral: it neither adds to nor breaks
    the streak. Only a week whose lessons were all missed without reason breaks it, and the current
    week cannot break it before it is over."""
    zone: ZoneInfo = org_timezone(org)
    today = today or timezone.localdate(timezone=zone)
    this_week = week_start(today)
    weeks: dict[dt.date, str] = {}
    marks = AttendanceMark.objects.filter(organization=org, student=student).values_list(
        "status", "lesson__starts_at"
    )
    for status, starts_at in marks:
        monday = week_start(timezone.localdate(starts_at, timezone=zone))
        if status in (AttendanceStatus.PRESENT, AttendanceStatus.LATE):
            weeks[monday] = "attended"
        elif status == AttendanceStatus.ABSENT and weeks.get(monday) != "attended":
            weeks[monday] = "missed"
    current = best = 0
    for monday in sorted(weeks):
        if monday > this_week:
            continue
        if weeks[monday] == "attended":
            current += 1
            best = max(best, current)
        elif monday < this_week:
            current = 0
    return Streak(current=current, best=best, this_week_done=weeks.get(this_week) == "attended")


def badge_list(*, org: Organization) -> QuerySet[Badge]:
    return Badge.objects.filter(organization=org).order_by("rule", "threshold", "name")


def badge_get(*, org: Organization, pk) -> Badge:
    return get_object_or_404(Badge.objects.filter(organization=org), pk=pk)


def teacher_badges(*, org: Organization) -> QuerySet[Badge]:
    return Badge.objects.filter(organization=org, rule="teacher", is_active=True).order_by("name")


def badges_of(*, org: Organization, student: Student) -> QuerySet[BadgeAward]:
    return (
        BadgeAward.objects.filter(organization=org, student=student)
        .select_related("badge")
        .order_by("-awarded_on", "-id")
    )


def live_count(*, org_id: int, student_id: int, component: str, bases: tuple[str, ...] | None = None) -> int:
    awards = XpAward.objects.filter(
        organization_id=org_id,
        student_id=student_id,
        component=component,
        reverses__isnull=True,
        reversed_by__isnull=True,
    )
    if bases is not None:
        awards = awards.filter(basis__in=bases)
    return awards.count()


# --- leaderboards: only inside a group, never negative, opt-out respected -----------------------


@dataclass(frozen=True)
class BoardRow:
    place: int
    student: Student
    xp: int

    @property
    def short_name(self) -> str:
        # A child sees classmates by first name and initial only.
        initial = f" {self.student.last_name[:1]}." if self.student.last_name else ""
        return f"{self.student.first_name}{initial}"


def group_students(*, org: Organization, group: Group) -> QuerySet[Student]:
    enrolled = Enrollment.objects.filter(
        organization=org, group=group, status__in=OPEN_ENROLLMENT_STATUSES
    ).values("student_id")
    return Student.objects.filter(organization=org, pk__in=enrolled)


def group_leaderboard(*, org: Organization, group: Group) -> list[BoardRow]:
    """Places by total XP among the group's children who did not opt out (ties share a place)."""
    students = list(group_students(org=org, group=group))
    totals = dict(
        StudentXp.objects.filter(organization=org, student__in=students).values_list("student_id", "xp")
    )
    hidden = set(
        StudentXp.objects.filter(
            organization=org, student__in=students, leaderboard_opt_out=True
        ).values_list("student_id", flat=True)
    )
    ranked = sorted(
        (s for s in students if s.pk not in hidden),
        key=lambda s: (-max(0, totals.get(s.pk, 0)), s.first_name, s.last_name, s.pk),
    )
    rows, place, previous = [], 0, None
    for index, student in enumerate(ranked, start=1):
        xp = max(0, totals.get(student.pk, 0))
        if xp != previous:
            place, previous = index, xp
        rows.append(BoardRow(place=place, student=student, xp=xp))
    return rows


@dataclass(frozen=True)
class GoalProgress:
    goal: GroupGoal
    xp: int

    @property
    def percent(self) -> int:
        return min(100, int(100 * self.xp / self.goal.target_xp))

    @property
    def reached(self) -> bool:
        return self.xp >= self.goal.target_xp


def group_goals(*, org: Organization, group: Group, today: dt.date | None = None) -> list[GoalProgress]:
    """Goals running now (or ended within a week), with the XP the group earned together in their dates."""
    today = today or timezone.localdate(timezone=org_timezone(org))
    goals = GroupGoal.objects.filter(
        organization=org, group=group, starts_on__lte=today, ends_on__gte=today - dt.timedelta(days=7)
    ).order_by("ends_on", "pk")
    students = group_students(org=org, group=group).values("pk")
    progress = []
    for goal in goals:
        total = (
            XpAward.objects.filter(
                organization=org,
                student__in=students,
                occurred_on__gte=goal.starts_on,
                occurred_on__lte=goal.ends_on,
            ).aggregate(total=Sum("amount"))["total"]
            or 0
        )
        progress.append(GoalProgress(goal=goal, xp=max(0, total)))
    return progress


def goal_list(*, org: Organization) -> QuerySet[GroupGoal]:
    return GroupGoal.objects.filter(organization=org).select_related("group").order_by("-starts_on", "title")


def leaderboard_for_child(*, org: Organization, group: Group, student: Student, top: int) -> dict:
    """What a child sees: the top few and their own place, nothing about the rest."""
    rows = group_leaderboard(org=org, group=group)
    mine = next((row for row in rows if row.student.pk == student.pk), None)
    return {
        "group": group,
        "top": rows[:top],
        "me": mine,
        "me_in_top": mine is not None and mine in rows[:top],
        "size": len(rows),
        "goals": group_goals(org=org, group=group),
    }


def child_groups(*, org: Organization, student: Student) -> QuerySet[Group]:
    enrolled = Enrollment.objects.filter(
        organization=org, student=student, status__in=OPEN_ENROLLMENT_STATUSES
    ).values("group_id")
    return Group.objects.filter(organization=org, pk__in=enrolled).select_related("course").order_by("name")


def child_page(*, org: Organization, student: Student, today: dt.date | None = None) -> dict:
    """Everything the child's page shows."""
    xp = student_xp(org=org, student=student)
    rules = rules_for(org=org)
    return {
        "student": student,
        "xp": xp,
        "level": level_for(xp),
        "streak": streak_weeks(org=org, student=student, today=today),
        "badges": list(badges_of(org=org, student=student)),
        "log": list(xp_log(org=org, student=student)),
        "opted_out": is_opted_out(org=org, student=student),
        "boards": [
            leaderboard_for_child(org=org, group=group, student=student, top=rules.leaderboard_top)
            for group in child_groups(org=org, student=student)
        ],
        "enabled": rules.enabled,
        "coins": student_coins(org=org, student=student),
    }


def children_of_user(*, user, org: Organization) -> QuerySet[Student]:
    """A parent's children or a student's own row. Same rule as the family pages (which sit above us
    in the stack, so we cannot import theirs)."""
    if not user.is_authenticated:
        return Student.objects.none()
    linked = StudentGuardian.objects.filter(
        organization=org, guardian__organization=org, guardian__user=user
    ).values("student_id")
    return (
        Student.objects.filter(organization=org)
        .filter(Q(pk__in=linked) | Q(user=user))
        .order_by("first_name", "last_name", "pk")
    )


def child_of_user(*, user, org: Organization, pk) -> Student:
    return get_object_or_404(children_of_user(user=user, org=org), pk=pk)


# --- coins and the shop -----------------------------------------------------------------------------


def student_coins(*, org: Organization, student: Student) -> int:
    return (
        StudentXp.objects.filter(organization=org, student=student).values_list("coins", flat=True).first()
        or 0
    )


def coin_log(*, org: Organization, student: Student, limit: int = 20) -> QuerySet[CoinEntry]:
    return CoinEntry.objects.filter(organization=org, student=student).order_by("-created_at", "-id")[:limit]


def shop_rewards(*, org: Organization) -> QuerySet[Reward]:
    return Reward.objects.filter(organization=org, is_active=True).order_by("price", "title")


def reward_list(*, org: Organization) -> QuerySet[Reward]:
    return Reward.objects.filter(organization=org).order_by("-is_active", "price", "title")


def reward_get(*, org: Organization, pk) -> Reward:
    return get_object_or_404(Reward.objects.filter(organization=org), pk=pk)


def requests_of(*, org: Organization, student: Student) -> QuerySet[RewardRequest]:
    return (
        RewardRequest.objects.filter(organization=org, student=student)
        .select_related("reward")
        .order_by("-created_at", "-id")
    )


def requests_for_staff(*, membership, status: str | None = RequestStatus.PENDING) -> QuerySet[RewardRequest]:
    """Requests of the children the member works with (a manager: their branches)."""
    requests = RewardRequest.objects.filter(
        organization_id=membership.organization_id, student__in=student_scope(membership=membership)
    ).select_related("reward", "student")
    if status:
        requests = requests.filter(status=status)
    return requests.order_by("created_at", "id")


def request_get_for_staff(*, membership, pk) -> RewardRequest:
    return get_object_or_404(requests_for_staff(membership=membership, status=None), pk=pk)


# --- signals for the early-warning engine ---------------------------------------------------------


@dataclass(frozen=True)
class EngagementSignals:
    xp_last_4_weeks: int
    xp_previous_4_weeks: int
    streak_weeks: int
    best_streak_weeks: int
    streak_broken: bool
    shop_requests_4_weeks: int

    @property
    def xp_pace(self) -> float:
        """Recent XP over the four weeks before (1.0 = steady, below 1 = slowing down)."""
        if self.xp_previous_4_weeks <= 0:
            return 1.0 if self.xp_last_4_weeks > 0 else 0.0
        return self.xp_last_4_weeks / self.xp_previous_4_weeks


def engagement_signals(
    *, org: Organization, student: Student, today: dt.date | None = None
) -> EngagementSignals:
    """XP pace, a broken week streak and shop activity of one child, for the early-warning engine."""
    today = today or timezone.localdate(timezone=org_timezone(org))
    recent_from, previous_from = today - dt.timedelta(days=28), today - dt.timedelta(days=56)
    awards = XpAward.objects.filter(organization=org, student=student, occurred_on__gt=previous_from)
    recent = awards.filter(occurred_on__gt=recent_from).aggregate(total=Sum("amount"))["total"] or 0
    previous = awards.filter(occurred_on__lte=recent_from).aggregate(total=Sum("amount"))["total"] or 0
    streak = streak_weeks(org=org, student=student, today=today)
    requests = RewardRequest.objects.filter(
        organization=org, student=student, created_at__date__gt=recent_from
    ).count()
    return EngagementSignals(
        xp_last_4_weeks=max(0, recent),
        xp_previous_4_weeks=max(0, previous),
        streak_weeks=streak.current,
        best_streak_weeks=streak.best,
        streak_broken=streak.current == 0 and streak.best > 0,
        shop_requests_4_weeks=requests,
    )
