"""Reads for XP pages: totals, the log, levels, week streaks, badges and group leaderboards."""

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, QuerySet, Sum, prefetch_related_objects
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kruzhok.accounts.models import Organization
from kruzhok.attendance.models import AttendanceMark, AttendanceStatus
from kruzhok.attendance.selectors import org_timezone, student_scope
from kruzhok.billing.models import SubscriptionFreeze
from kruzhok.gamification.models import (
    Badge,
    BadgeAward,
    BadgeEvent,
    CoinEntry,
    Component,
    GamificationSettings,
    GroupGoal,
    Quest,
    QuestCompletion,
    QuestKind,
    QuestMetric,
    QuestPrerequisite,
    RequestStatus,
    Reward,
    RewardRequest,
    StudentXp,
    XpAward,
)
from kruzhok.lib import prepared
from kruzhok.school.models import (
    OPEN_ENROLLMENT_STATUSES,
    Enrollment,
    Group,
    Holiday,
    Student,
    StudentGuardian,
)

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


ATTENDED = (AttendanceStatus.PRESENT, AttendanceStatus.LATE)
HOMEWORK_DONE = ("submitted", "late")
GOOD_GRADES = ("grade4", "grade5")

# Which live ledger rows count as one "event" for badges and quest steps: (component, bases or None).
BADGE_EVENT_SOURCES: dict[str, tuple[str, tuple[str, ...] | None]] = {
    BadgeEvent.VISIT: (Component.VISIT, ATTENDED),
    BadgeEvent.KUDOS: (Component.KUDOS, None),
    BadgeEvent.HOMEWORK: (Component.HOMEWORK, HOMEWORK_DONE),
    BadgeEvent.GOOD_GRADE: (Component.GRADE, GOOD_GRADES),
}
QUEST_METRIC_SOURCES: dict[str, tuple[str, tuple[str, ...] | None]] = {
    QuestMetric.VISITS: (Component.VISIT, ATTENDED),
    QuestMetric.HOMEWORK: (Component.HOMEWORK, HOMEWORK_DONE),
    QuestMetric.GOOD_GRADES: (Component.GRADE, GOOD_GRADES),
    QuestMetric.KUDOS: (Component.KUDOS, None),
}


def any_xp_source(*, rules: GamificationSettings) -> bool:
    """Whether the rules give XP for anything at all (a milestone badge needs some)."""
    return any(
        (
            rules.count_visits and rules.xp_visit,
            rules.count_on_time and rules.xp_on_time,
            rules.count_kudos and rules.xp_kudos,
            rules.count_homework and rules.xp_homework,
            rules.count_grades and rules.xp_good_grade,
        )
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


FREEZE_EVERY_WEEKS = 4
FREEZES_MAX = 2


@dataclass(frozen=True)
class Streak:
    current: int
    best: int
    this_week_done: bool
    # Freezes earned and not used yet; weeks a freeze saved (most recent last).
    freezes: int = 0
    frozen_weeks: tuple[dt.date, ...] = ()
    # Weeks in a row still needed for the next freeze.
    to_next_freeze: int = FREEZE_EVERY_WEEKS


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _excused_days(*, org: Organization, student: Student) -> list[tuple[dt.date, dt.date]]:
    """Periods when missing a lesson is no one's fault: the centre's holidays and the child's paused
    subscriptions (заморозка абонемента)."""
    periods = list(Holiday.objects.filter(organization=org).values_list("start_date", "end_date"))
    periods += SubscriptionFreeze.objects.filter(organization=org, subscription__student=student).values_list(
        "start_date", "end_date"
    )
    return periods


def streak_weeks(*, org: Organization, student: Student, today: dt.date | None = None) -> Streak:
    """Weeks in a row with at least one visit.

    Children come once or twice a week, so the unit is a week. A week with no lesson (holidays, a
    cancelled lesson, a break) or with only excused absences is neutral: it neither adds to nor breaks
    the streak, and so is an absence during a holiday or a paused subscription. Only a week whose lessons
    were all missed without reason breaks it, and the current week cannot break it before it is over.
    Every 4 weeks in a row earn a streak freeze (at most 2 kept); a missed week uses one instead of
    breaking the streak. Everything is recomputed from the marks, so a corrected mark corrects it too."""
    zone: ZoneInfo = org_timezone(org)
    today = today or timezone.localdate(timezone=zone)
    this_week = week_start(today)
    weeks: dict[dt.date, str] = {}
    marks = AttendanceMark.objects.filter(organization=org, student=student).values_list(
        "status", "lesson__starts_at"
    )
    excused: list[tuple[dt.date, dt.date]] | None = None
    for status, starts_at in marks:
        day = timezone.localdate(starts_at, timezone=zone)
        monday = week_start(day)
        if status in ATTENDED:
            weeks[monday] = "attended"
        elif status == AttendanceStatus.ABSENT and weeks.get(monday) != "attended":
            if excused is None:
                excused = _excused_days(org=org, student=student)
            if not any(start <= day <= end for start, end in excused):
                weeks[monday] = "missed"
    current = best = freezes = earning = 0
    frozen: list[dt.date] = []
    for monday in sorted(weeks):
        if monday > this_week:
            continue
        if weeks[monday] == "attended":
            current += 1
            best = max(best, current)
            earning += 1
            if earning == FREEZE_EVERY_WEEKS:
                freezes, earning = min(FREEZES_MAX, freezes + 1), 0
        elif monday < this_week:
            if freezes:
                freezes -= 1
                frozen.append(monday)
            else:
                current = earning = 0
    return Streak(
        current=current,
        best=best,
        this_week_done=weeks.get(this_week) == "attended",
        freezes=freezes,
        frozen_weeks=tuple(frozen),
        to_next_freeze=FREEZE_EVERY_WEEKS - earning,
    )


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


def live_counts(*, org_id: int, student_id: int) -> dict[tuple[str, str], int]:
    """The child's live ledger rows counted by (component, basis) in one query, for badge rules."""
    # Live rows counted with a filtered COUNT, not a WHERE: SQLite's planner (no statistics) would take
    # `reverses_id IS NULL` to the unique reverses index and walk nearly the whole ledger (11 ms per
    # award on the demo) instead of the (organization, student) index.
    rows = prepared.rows(_live_counts_query, org=org_id, student=student_id)
    return {(component, basis): n for component, basis, n in rows if n}


# The awarding path's small reads, compiled once per shape (`kruzhok.lib.prepared`): building a query
# with the ORM costs several times what running it does. They read through the plain manager with the
# organisation as a bound value, so no tenant's id is ever baked into the cached SQL.


def _live_counts_query(*, org, student):
    return (
        XpAward.all_objects.filter(organization_id=org, student_id=student)
        .values_list("component", "basis")
        .annotate(n=Count("id", filter=Q(reverses__isnull=True, reversed_by__isnull=True)))
        .order_by()
    )


def _badges_held_query(*, org, student):
    return BadgeAward.all_objects.filter(organization_id=org, student_id=student).values_list("badge_id")


def badges_held(*, org_id: int, student_id: int) -> set[int]:
    """Ids of the badges the child holds."""
    return {badge_id for (badge_id,) in prepared.rows(_badges_held_query, org=org_id, student=student_id)}


def _open_groups_query(*, org, student):
    return (
        Enrollment.all_objects.filter(
            organization_id=org, student_id=student, status__in=OPEN_ENROLLMENT_STATUSES
        )
        .values_list("group_id")
        .order_by()
    )


def _completions_query(*, org, student, groups, quests):
    return (
        QuestCompletion.all_objects.filter(organization_id=org)
        .filter(Q(student_id=student) | Q(student__isnull=True, group_id__in=groups, quest_id__in=quests))
        .values_list("quest_id", "student_id")
        .order_by()
    )


def _group_completions_query(*, org, group):
    return QuestCompletion.all_objects.filter(organization_id=org, group_id=group).values_list("quest_id")


def group_completed_quests(*, org_id: int, group_id: int) -> set[int]:
    """Ids of the team quests the group has finished."""
    return {quest_id for (quest_id,) in prepared.rows(_group_completions_query, org=org_id, group=group_id)}


def _group_student_ids_query(*, org, group):
    enrolled = Enrollment.all_objects.filter(
        organization_id=org, group_id=group, status__in=OPEN_ENROLLMENT_STATUSES
    ).values("student_id")
    return Student.all_objects.filter(organization_id=org, pk__in=enrolled).values_list("pk").order_by()


def group_student_ids(*, org_id: int, group_id: int) -> list[int]:
    """`group_students`' ids, in id order."""
    return sorted(pk for (pk,) in prepared.rows(_group_student_ids_query, org=org_id, group=group_id))


def _ledger_by_day_query(*, org, students, start, end):
    return (
        XpAward.all_objects.filter(
            organization_id=org, student_id__in=students, occurred_on__gte=start, occurred_on__lte=end
        )
        .values_list("component", "basis", "occurred_on")
        .annotate(
            live=Count("id", filter=Q(reverses__isnull=True, reversed_by__isnull=True)),
            total=Sum("amount"),
        )
        .order_by()
    )


def event_count(counts: dict[tuple[str, str], int], event: str) -> int:
    component, bases = BADGE_EVENT_SOURCES[event]
    return sum(n for (c, basis), n in counts.items() if c == component and (bases is None or basis in bases))


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
        "quests": quests_for_child(org=org, student=student, today=today),
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


# --- quests ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepProgress:
    metric: str
    label: str
    target: int
    value: int

    @property
    def done(self) -> bool:
        return self.value >= self.target

    @property
    def percent(self) -> int:
        return min(100, int(100 * max(0, self.value) / self.target))


@dataclass(frozen=True)
class QuestProgress:
    quest: Quest
    steps: list[StepProgress]
    completed_on: dt.date | None = None
    locked_by: tuple[str, ...] = ()

    @property
    def done(self) -> bool:
        return bool(self.steps) and all(step.done for step in self.steps)

    @property
    def percent(self) -> int:
        if self.completed_on:
            return 100
        if not self.steps:
            return 0
        return int(sum(step.percent for step in self.steps) / len(self.steps))


def step_values(*, org: Organization, quest: Quest, metric: str, student_ids) -> dict[int, int]:
    """Per child: how much of a step they did inside the quest's dates, read from the live ledger."""
    awards = XpAward.objects.filter(
        organization=org, occurred_on__gte=quest.starts_on, occurred_on__lte=quest.ends_on
    )
    if student_ids is not None:
        awards = awards.filter(student_id__in=student_ids)
    if metric == QuestMetric.XP:
        # Points earned in the dates (corrections included), not counting quest rewards themselves.
        rows = awards.exclude(component=Component.QUEST).values("student_id").annotate(v=Sum("amount"))
    else:
        component, bases = QUEST_METRIC_SOURCES[metric]
        awards = awards.filter(component=component, reverses__isnull=True, reversed_by__isnull=True)
        if bases is not None:
            awards = awards.filter(basis__in=bases)
        rows = awards.values("student_id").annotate(v=Count("id"))
    return {row["student_id"]: row["v"] or 0 for row in rows.order_by()}


def quest_progress(
    *, org: Organization, quest: Quest, student_ids, completed_on: dt.date | None = None, locked_by=()
) -> QuestProgress:
    """Progress of one child (one id) or of a whole group together (its children's ids)."""
    steps = []
    for step in quest.steps.all():
        values = step_values(org=org, quest=quest, metric=step.metric, student_ids=student_ids)
        steps.append(
            StepProgress(
                metric=step.metric,
                label=str(QuestMetric(step.metric).label),
                target=step.target,
                value=max(0, sum(values.values())),
            )
        )
    return QuestProgress(quest=quest, steps=steps, completed_on=completed_on, locked_by=tuple(locked_by))


def prerequisites_met(*, quest: Quest, finished: set[int]) -> bool:
    required = QuestPrerequisite.objects.filter(
        organization_id=quest.organization_id, quest=quest
    ).values_list("required_id", flat=True)
    return all(pk in finished for pk in required)


def quests_open_on(*, org: Organization, student_id: int, day: dt.date) -> list[Quest]:
    """Active quests whose dates include the day and that the child (solo) or their group (team) has not
    finished yet. Plain indexed queries filtered here: this runs on every mark, so it stays cheap, and
    it is one query when the centre runs no quest."""
    quests = list(
        Quest.objects.filter(organization=org, is_active=True, starts_on__lte=day, ends_on__gte=day)
        .select_related("reward_badge")
        .order_by("starts_on", "pk")
    )
    if not quests:
        return []
    groups = set(
        Enrollment.objects.filter(
            organization=org, student_id=student_id, status__in=OPEN_ENROLLMENT_STATUSES
        ).values_list("group_id", flat=True)
    )
    done = QuestCompletion.objects.filter(organization=org, quest__in=quests).filter(
        Q(student_id=student_id) | Q(student__isnull=True, group_id__in=groups)
    )
    finished = set(done.values_list("quest_id", flat=True))
    open_quests = [
        q
        for q in quests
        if q.pk not in finished
        and (q.group_id in groups or (q.kind == QuestKind.SOLO and q.group_id is None))
    ]
    if open_quests:
        prefetch_related_objects(open_quests, "steps")
    return open_quests


def quests_open_with_finished(
    *, org: Organization, student_id: int, day: dt.date, quests: list[Quest] | None = None
) -> tuple[list[Quest], set[int]]:
    """`quests_open_on` for awarding, in one pass: the open quests (steps prefetched) and the ids of every
    solo quest the child ever finished (prerequisites may have ended long ago). Four queries at most;
    two when the caller passes the running quests with their steps (awarding keeps them cached)."""
    prefetch = quests is None
    if quests is None:
        quests = list(
            Quest.objects.filter(organization=org, is_active=True, starts_on__lte=day, ends_on__gte=day)
            .select_related("reward_badge")
            .order_by("starts_on", "pk")
        )
    if not quests:
        return [], set()
    groups = {group_id for (group_id,) in prepared.rows(_open_groups_query, org=org.pk, student=student_id)}
    rows = prepared.rows(
        _completions_query,
        org=org.pk,
        student=student_id,
        groups=sorted(groups),
        quests=[q.pk for q in quests],
    )
    finished_solo, finished_here = set(), set()
    for quest_id, done_by_student in rows:
        finished_here.add(quest_id)
        if done_by_student is not None:
            finished_solo.add(quest_id)
    open_quests = [
        q
        for q in quests
        if q.pk not in finished_here
        and (q.group_id in groups or (q.kind == QuestKind.SOLO and q.group_id is None))
    ]
    if open_quests and prefetch:
        prefetch_related_objects(open_quests, "steps")
    return open_quests, finished_solo


def quests_reached(*, org: Organization, quests: list[Quest], student_ids: list[int]) -> set[int]:
    """Which quests have every step reached by these children together (one child for a solo quest):
    `quest_progress(...).done` for many quests with one read of the ledger inside their dates, grouped
    by day, instead of a query per step."""
    if not quests or not student_ids:
        return set()
    keys = ("component", "basis", "occurred_on", "live", "total")
    rows = [
        dict(zip(keys, row, strict=True))
        for row in prepared.rows(
            _ledger_by_day_query,
            org=org.pk,
            students=list(student_ids),
            start=min(q.starts_on for q in quests),
            end=max(q.ends_on for q in quests),
        )
    ]
    done = set()
    for quest in quests:
        inside = [row for row in rows if quest.starts_on <= row["occurred_on"] <= quest.ends_on]
        steps = list(quest.steps.all())
        for step in steps:
            if step.metric == QuestMetric.XP:
                # Points earned in the dates (corrections included), not counting quest rewards themselves.
                value = sum(row["total"] or 0 for row in inside if row["component"] != Component.QUEST)
            else:
                component, bases = QUEST_METRIC_SOURCES[step.metric]
                value = sum(
                    row["live"]
                    for row in inside
                    if row["component"] == component and (bases is None or row["basis"] in bases)
                )
            if max(0, value) < step.target:
                break
        else:
            if steps:
                done.add(quest.pk)
    return done


def quests_for_child(
    *, org: Organization, student: Student, today: dt.date | None = None
) -> list[QuestProgress]:
    """The quests a child sees: running now or ended in the last week, solo ones with their own progress and
    team ones with their group's, done or locked behind another quest."""
    today = today or timezone.localdate(timezone=org_timezone(org))
    groups = list(child_groups(org=org, student=student))
    group_ids = [g.pk for g in groups]
    quests = (
        Quest.objects.filter(
            organization=org, is_active=True, starts_on__lte=today, ends_on__gte=today - dt.timedelta(days=7)
        )
        .filter(Q(kind=QuestKind.SOLO, group__isnull=True) | Q(group_id__in=group_ids))
        .select_related("reward_badge", "group")
        .prefetch_related("steps")
        .order_by("ends_on", "pk")
    )
    completions = QuestCompletion.objects.filter(organization=org).filter(
        Q(student=student) | Q(group_id__in=group_ids, student__isnull=True)
    )
    solo_done = {c.quest_id: c.completed_on for c in completions if c.student_id}
    team_done = {(c.quest_id, c.group_id): c.completed_on for c in completions if c.group_id}
    titles = dict(Quest.objects.filter(organization=org).values_list("pk", "title"))
    required: dict[int, list[int]] = {}
    for quest_id, required_id in QuestPrerequisite.objects.filter(organization=org).values_list(
        "quest_id", "required_id"
    ):
        required.setdefault(quest_id, []).append(required_id)
    result = []
    for quest in quests:
        if quest.kind == QuestKind.TEAM:
            finished = {q for (q, g) in team_done if g == quest.group_id}
            completed_on = team_done.get((quest.pk, quest.group_id))
            ids = list(group_students(org=org, group=quest.group).values_list("pk", flat=True))
        else:
            finished, completed_on, ids = set(solo_done), solo_done.get(quest.pk), [student.pk]
        locked = [titles.get(r, "") for r in required.get(quest.pk, []) if r not in finished]
        result.append(
            quest_progress(org=org, quest=quest, student_ids=ids, completed_on=completed_on, locked_by=locked)
        )
    return result


def quest_list(*, org: Organization) -> QuerySet[Quest]:
    return (
        Quest.objects.filter(organization=org)
        .select_related("group", "reward_badge")
        .prefetch_related("steps", "requires")
        .annotate(done_count=Count("completions", distinct=True))
        .order_by("-is_active", "-starts_on", "title")
    )


def quest_get(*, org: Organization, pk) -> Quest:
    return get_object_or_404(Quest.objects.filter(organization=org), pk=pk)


def goal_get(*, org: Organization, pk) -> GroupGoal:
    return get_object_or_404(GroupGoal.objects.filter(organization=org), pk=pk)
