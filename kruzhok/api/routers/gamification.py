"""Gamification: a child's XP profile, log, badges and quests (staff of their groups, their family, the
child), group leaderboards (staff), the teacher's kudos, the rewards shop (the child asks, a manager
decides), and the manager's configuration: rules, badges, quests, group goals and rewards."""

import datetime as dt
from typing import Literal

from django.db.models import Q
from django.http import HttpRequest
from ninja import Router, Schema, Status
from ninja.pagination import paginate
from pydantic import Field

from kruzhok.accounts.permissions import role_can
from kruzhok.api.auth import require, require_any
from kruzhok.api.errors import ERROR_RESPONSES, ApiError
from kruzhok.api.lookups import get_or_404
from kruzhok.api.pagination import Pagination
from kruzhok.api.schemas import Day, Id, InSchema, Text
from kruzhok.attendance import selectors as attendance_selectors
from kruzhok.gamification import selectors, services
from kruzhok.gamification.models import RewardRequest
from kruzhok.school.selectors.structure import group_list

xp_router = Router(tags=["gamification"])
leaderboards_router = Router(tags=["gamification"])
kudos_router = Router(tags=["gamification"])
rewards_router = Router(tags=["gamification"])
reward_requests_router = Router(tags=["gamification"])
settings_router = Router(tags=["gamification"])
badges_router = Router(tags=["gamification"])
quests_router = Router(tags=["gamification"])
goals_router = Router(tags=["gamification"])

# Wide bounds on purpose: a negative or absurd number reaches the service, which explains what is wrong.
Amount = Field(0, ge=-1_000_000, le=1_000_000)


class BadgeOut(Schema):
    id: int
    name: str
    rule: str
    awarded_on: str


class LogOut(Schema):
    amount: int
    component: str
    note: str
    occurred_on: str


class XpProfileOut(Schema):
    student: int
    xp: int
    coins: int
    level: int
    level_name: str
    next_level_at: int | None
    streak_weeks: int
    best_streak_weeks: int
    badges: list[BadgeOut]
    log: list[LogOut]


class BoardRowOut(Schema):
    place: int
    student: int
    name: str
    xp: int


class KudosIn(InSchema):
    lesson: Id
    student: Id
    note: Text(200) = ""


class KudosOut(Schema):
    id: int
    amount: int
    created: bool


class RewardOut(Schema):
    id: int
    title: str
    description: str
    price: int
    stock: int


class RewardRequestOut(Schema):
    id: int
    reward: int
    student: int
    price: int
    status: str


class DecisionIn(InSchema):
    approve: bool


def _students_for(request: HttpRequest):
    if role_can(request.role, "gamification.view"):
        return attendance_selectors.student_scope(membership=request.membership)
    return selectors.children_of_user(user=request.user, org=request.org)


@xp_router.get("/{pk}", response={200: XpProfileOut, **ERROR_RESPONSES})
def xp_profile(request: HttpRequest, pk: Id):
    """A child's XP, level, coins, week streak, badges and the latest log of why points were (not) given."""
    require_any(request, "gamification.view", "gamification.self")
    student = get_or_404(_students_for(request), pk)
    page = selectors.child_page(org=request.org, student=student)
    return {
        "student": student.pk,
        "xp": page["xp"],
        "coins": page["coins"],
        "level": page["level"].number,
        "level_name": page["level"].name,
        "next_level_at": page["level"].next_at,
        "streak_weeks": page["streak"].current,
        "best_streak_weeks": page["streak"].best,
        "badges": [
            {
                "id": a.badge_id,
                "name": a.badge.name,
                "rule": a.badge.rule,
                "awarded_on": a.awarded_on.isoformat(),
            }
            for a in page["badges"]
        ],
        "log": [
            {
                "amount": a.amount,
                "component": a.component,
                "note": a.note_shown,
                "occurred_on": a.occurred_on.isoformat(),
            }
            for a in page["log"]
        ],
    }


@leaderboards_router.get("/{pk}", response={200: list[BoardRowOut], **ERROR_RESPONSES})
def leaderboard(request: HttpRequest, pk: Id):
    """The whole board of a group in the caller's scope; children who opted out are left out."""
    require(request, "gamification.view")
    group = get_or_404(group_list(membership=request.membership), pk)
    return [
        {"place": row.place, "student": row.student.pk, "name": row.student.full_name, "xp": row.xp}
        for row in selectors.group_leaderboard(org=request.org, group=group)
    ]


@kudos_router.post("", response={200: KudosOut, **ERROR_RESPONSES})
def kudos(request: HttpRequest, payload: KudosIn):
    """«Молодец на занятии» for a child at a lesson; repeating it gives nothing more (created=false)."""
    require(request, "gamification.kudos")
    lesson = get_or_404(
        attendance_selectors.lesson_scope(membership=request.membership), payload.lesson, field="lesson"
    )
    student = get_or_404(
        attendance_selectors.student_scope(membership=request.membership), payload.student, field="student"
    )
    award, created = services.kudos_give(
        lesson=lesson, student=student, actor=request.user, note=payload.note
    )
    return {"id": award.pk, "amount": award.amount, "created": created}


@rewards_router.get("", response={200: list[RewardOut], **ERROR_RESPONSES})
def rewards(request: HttpRequest):
    require_any(request, "gamification.shop", "gamification.manage")
    return list(selectors.shop_rewards(org=request.org))


@rewards_router.post("/{pk}/requests", response={200: RewardRequestOut, **ERROR_RESPONSES})
def reward_ask(request: HttpRequest, pk: Id):
    """The child asks for a reward; the price is held from their coins at once."""
    require(request, "gamification.shop")
    reward = get_or_404(selectors.shop_rewards(org=request.org), pk)
    student = selectors.children_of_user(user=request.user, org=request.org).filter(user=request.user).first()
    if student is None:
        raise ApiError(404, "not_found")
    made = services.reward_request_create(reward=reward, student=student)
    return {
        "id": made.pk,
        "reward": made.reward_id,
        "student": made.student_id,
        "price": made.price,
        "status": made.status,
    }


@reward_requests_router.post("/{pk}/decision", response={200: RewardRequestOut, **ERROR_RESPONSES})
def reward_decide(request: HttpRequest, pk: Id, payload: DecisionIn):
    require(request, "gamification.manage")
    pending = get_or_404(selectors.requests_for_staff(membership=request.membership, status=None), pk)
    made = services.reward_request_decide(request=pending, actor=request.user, approve=payload.approve)
    return {
        "id": made.pk,
        "reward": made.reward_id,
        "student": made.student_id,
        "price": made.price,
        "status": made.status,
    }


# --- a child's log, badges and quests -------------------------------------------------------------


class LogEntryOut(Schema):
    id: int
    amount: int
    component: str
    basis: str
    note: str
    occurred_on: dt.date


class ChildBadgeOut(Schema):
    id: int
    badge: int
    name: str
    description: str
    rule: str
    awarded_on: dt.date
    shared: bool


class StepProgressOut(Schema):
    metric: str
    label: str
    target: int
    value: int
    done: bool


class QuestProgressOut(Schema):
    id: int
    title: str
    description: str
    kind: str
    ends_on: dt.date
    percent: int
    completed_on: dt.date | None
    locked_by: list[str]
    reward_xp: int
    reward_coins: int
    steps: list[StepProgressOut]


def _child(request: HttpRequest, pk: int):
    require_any(request, "gamification.view", "gamification.self")
    return get_or_404(_students_for(request), pk)


@xp_router.get("/{pk}/log", response={200: list[LogEntryOut], **ERROR_RESPONSES})
@paginate(Pagination)
def xp_log(request: HttpRequest, pk: Id):
    """Why each point was or was not given (cap reached, event not counted, a correction), newest first."""
    student = _child(request, pk)
    return selectors.xp_log(org=request.org, student=student, limit=None)


@xp_router.get("/{pk}/badges", response={200: list[ChildBadgeOut], **ERROR_RESPONSES})
def xp_badges(request: HttpRequest, pk: Id):
    student = _child(request, pk)
    return [
        {
            "id": a.pk,
            "badge": a.badge_id,
            "name": a.badge.name,
            "description": a.badge.description,
            "rule": a.badge.rule,
            "awarded_on": a.awarded_on,
            "shared": a.public_id is not None,
        }
        for a in selectors.badges_of(org=request.org, student=student)
    ]


@xp_router.get("/{pk}/quests", response={200: list[QuestProgressOut], **ERROR_RESPONSES})
def xp_quests(request: HttpRequest, pk: Id):
    """The child's quests with progress: solo ones their own, team ones their group's together."""
    student = _child(request, pk)
    return [
        {
            "id": p.quest.pk,
            "title": p.quest.title,
            "description": p.quest.description,
            "kind": p.quest.kind,
            "ends_on": p.quest.ends_on,
            "percent": p.percent,
            "completed_on": p.completed_on,
            "locked_by": list(p.locked_by),
            "reward_xp": p.quest.reward_xp,
            "reward_coins": p.quest.reward_coins,
            "steps": [
                {"metric": s.metric, "label": s.label, "target": s.target, "value": s.value, "done": s.done}
                for s in p.steps
            ],
        }
        for p in selectors.quests_for_child(org=request.org, student=student)
    ]


# --- the shop: requests, and the manager's rewards ------------------------------------------------


class RewardRequestListOut(Schema):
    id: int
    reward: int
    student: int
    price: int
    status: str
    reward_title: str
    student_name: str
    created_at: dt.datetime

    @staticmethod
    def resolve_reward(obj) -> int:
        return obj.reward_id

    @staticmethod
    def resolve_student(obj) -> int:
        return obj.student_id

    @staticmethod
    def resolve_reward_title(obj) -> str:
        return obj.reward.title

    @staticmethod
    def resolve_student_name(obj) -> str:
        return obj.student.full_name


@reward_requests_router.get("", response={200: list[RewardRequestListOut], **ERROR_RESPONSES})
@paginate(Pagination)
def reward_requests(request: HttpRequest, status: Literal["pending", "approved", "rejected"] | None = None):
    """A child: their own requests. A manager: the requests of children in their branches."""
    require_any(request, "gamification.shop", "gamification.manage")
    if role_can(request.role, "gamification.manage"):
        return selectors.requests_for_staff(membership=request.membership, status=status).order_by(
            "-created_at", "-id"
        )
    student = selectors.children_of_user(user=request.user, org=request.org).filter(user=request.user).first()
    if student is None:
        return RewardRequest.objects.none()
    rows = selectors.requests_of(org=request.org, student=student).select_related("student")
    return rows.filter(status=status) if status else rows


class RewardIn(InSchema):
    title: Text(120, 1)
    description: Text(300) = ""
    price: int = Amount
    stock: int = Amount
    is_active: bool = True


class RewardAdminOut(RewardOut):
    is_active: bool


@rewards_router.post("", response={201: RewardAdminOut, **ERROR_RESPONSES})
def reward_create(request: HttpRequest, payload: RewardIn):
    require(request, "gamification.manage")
    data = payload.dict()
    is_active = data.pop("is_active")
    reward = services.reward_create(org=request.org, **data)
    if not is_active:
        reward = services.reward_update(reward=reward, **data, is_active=False)
    return Status(201, reward)


@rewards_router.put("/{pk}", response={200: RewardAdminOut, **ERROR_RESPONSES})
def reward_update(request: HttpRequest, pk: Id, payload: RewardIn):
    require(request, "gamification.manage")
    reward = get_or_404(selectors.reward_list(org=request.org), pk)
    return services.reward_update(reward=reward, **payload.dict())


# --- the manager's rules --------------------------------------------------------------------------


class RulesOut(Schema):
    enabled: bool
    count_visits: bool
    xp_visit: int
    count_on_time: bool
    xp_on_time: int
    count_kudos: bool
    xp_kudos: int
    count_homework: bool
    xp_homework: int
    count_grades: bool
    xp_good_grade: int
    daily_cap: int
    leaderboard_top: int
    coins_per_visit: int
    coins_per_kudos: int


class RulesPatch(InSchema):
    enabled: bool | None = None
    count_visits: bool | None = None
    xp_visit: int | None = Field(None, ge=-1_000_000, le=1_000_000)
    count_on_time: bool | None = None
    xp_on_time: int | None = Field(None, ge=-1_000_000, le=1_000_000)
    count_kudos: bool | None = None
    xp_kudos: int | None = Field(None, ge=-1_000_000, le=1_000_000)
    count_homework: bool | None = None
    xp_homework: int | None = Field(None, ge=-1_000_000, le=1_000_000)
    count_grades: bool | None = None
    xp_good_grade: int | None = Field(None, ge=-1_000_000, le=1_000_000)
    daily_cap: int | None = Field(None, ge=-1_000_000, le=1_000_000)
    leaderboard_top: int | None = Field(None, ge=-1_000_000, le=1_000_000)
    coins_per_visit: int | None = Field(None, ge=-1_000_000, le=1_000_000)
    coins_per_kudos: int | None = Field(None, ge=-1_000_000, le=1_000_000)


@settings_router.get("", response={200: RulesOut, **ERROR_RESPONSES})
def rules_read(request: HttpRequest):
    require(request, "gamification.manage")
    return selectors.rules_for(org=request.org)


@settings_router.patch("", response={200: RulesOut, **ERROR_RESPONSES})
def rules_update(request: HttpRequest, payload: RulesPatch):
    """Change some rules; negative XP, a daily cap below one visit and the like are refused with a reason."""
    require(request, "gamification.manage")
    changes = {k: v for k, v in payload.dict(exclude_unset=True).items() if v is not None}
    return services.gamification_settings_update(org=request.org, **changes)


# --- badges ---------------------------------------------------------------------------------------


class BadgeDefOut(Schema):
    id: int
    name: str
    description: str
    rule: str
    event: str
    threshold: int
    symbol: str
    color: str
    is_active: bool


class BadgeIn(InSchema):
    name: Text(80, 1)
    description: Text(300) = ""
    rule: Literal["count", "first", "streak", "teacher", "milestone"]
    event: Literal["", "visit", "kudos", "homework", "good_grade"] = ""
    threshold: int = Field(1, ge=-1_000_000, le=1_000_000)
    symbol: Text(2) = "★"
    color: Text(7) = "#2f6fdf"
    is_active: bool = True


@badges_router.get("", response={200: list[BadgeDefOut], **ERROR_RESPONSES})
def badges_list(request: HttpRequest):
    require_any(request, "gamification.manage", "gamification.kudos")
    return list(selectors.badge_list(org=request.org))


@badges_router.post("", response={201: BadgeDefOut, **ERROR_RESPONSES})
def badge_create(request: HttpRequest, payload: BadgeIn):
    """A rule that could never fire (a 500-week streak, a milestone with no XP given) is refused."""
    require(request, "gamification.manage")
    return Status(201, services.badge_create(org=request.org, **payload.dict()))


@badges_router.put("/{pk}", response={200: BadgeDefOut, **ERROR_RESPONSES})
def badge_update(request: HttpRequest, pk: Id, payload: BadgeIn):
    require(request, "gamification.manage")
    badge = get_or_404(selectors.badge_list(org=request.org), pk)
    return services.badge_update(badge=badge, **payload.dict())


# --- quests ---------------------------------------------------------------------------------------


class QuestStepIn(InSchema):
    metric: Literal["visits", "homework", "good_grades", "kudos", "xp"]
    target: int = Field(ge=-1_000_000, le=1_000_000)


class QuestIn(InSchema):
    title: Text(120, 1)
    description: Text(300) = ""
    kind: Literal["solo", "team"] = "solo"
    group: Id | None = None
    starts_on: Day
    ends_on: Day
    steps: list[QuestStepIn] = Field(min_length=1, max_length=10)
    reward_xp: int = Amount
    reward_coins: int = Amount
    reward_badge: Id | None = None
    group_reward: Text(200) = ""
    requires: list[Id] = Field(default_factory=list, max_length=50)
    is_active: bool = True


class QuestStepOut(Schema):
    metric: str
    target: int


class QuestOut(Schema):
    id: int
    title: str
    description: str
    kind: str
    group: int | None
    starts_on: dt.date
    ends_on: dt.date
    steps: list[QuestStepOut]
    reward_xp: int
    reward_coins: int
    reward_badge: int | None
    group_reward: str
    requires: list[int]
    is_active: bool


def _quest_out(quest) -> dict:
    return {
        "id": quest.pk,
        "title": quest.title,
        "description": quest.description,
        "kind": quest.kind,
        "group": quest.group_id,
        "starts_on": quest.starts_on,
        "ends_on": quest.ends_on,
        "steps": [{"metric": s.metric, "target": s.target} for s in quest.steps.all()],
        "reward_xp": quest.reward_xp,
        "reward_coins": quest.reward_coins,
        "reward_badge": quest.reward_badge_id,
        "group_reward": quest.group_reward,
        "requires": [q.pk for q in quest.requires.all()],
        "is_active": quest.is_active,
    }


def _quest_fields(request: HttpRequest, payload: QuestIn) -> dict:
    data = payload.dict()
    if data["group"] is not None:
        data["group"] = get_or_404(group_list(membership=request.membership), data["group"], field="group")
    if data["reward_badge"] is not None:
        data["reward_badge"] = get_or_404(
            selectors.badge_list(org=request.org), data["reward_badge"], field="reward_badge"
        )
    data["requires"] = [
        get_or_404(selectors.quest_list(org=request.org), pk, field="requires") for pk in data["requires"]
    ]
    data["steps"] = [(step["metric"], step["target"]) for step in data["steps"]]
    return data


def _quests_in_scope(request: HttpRequest):
    quests = selectors.quest_list(org=request.org)
    if role_can(request.role, "gamification.manage"):
        # A manager sees quests open to all and those of the groups in their branches.
        return quests.filter(Q(group__isnull=True) | Q(group__in=group_list(membership=request.membership)))
    return quests.none()


@quests_router.get("", response={200: list[QuestOut], **ERROR_RESPONSES})
def quests_list(request: HttpRequest):
    require(request, "gamification.manage")
    return [_quest_out(q) for q in _quests_in_scope(request)]


@quests_router.post("", response={201: QuestOut, **ERROR_RESPONSES})
def quest_create(request: HttpRequest, payload: QuestIn):
    """A quest that depends on itself (directly or through a chain) or can never be done is refused."""
    require(request, "gamification.manage")
    quest = services.quest_save(org=request.org, **_quest_fields(request, payload))
    return Status(201, _quest_out(quest))


@quests_router.put("/{pk}", response={200: QuestOut, **ERROR_RESPONSES})
def quest_update(request: HttpRequest, pk: Id, payload: QuestIn):
    require(request, "gamification.manage")
    quest = get_or_404(_quests_in_scope(request), pk)
    quest = services.quest_save(org=request.org, quest=quest, **_quest_fields(request, payload))
    return _quest_out(quest)


# --- cooperative group goals ----------------------------------------------------------------------


class GoalIn(InSchema):
    group: Id
    title: Text(120, 1)
    target_xp: int = Field(ge=-1_000_000_000, le=1_000_000_000)
    starts_on: Day
    ends_on: Day
    reward: Text(200) = ""


class GoalOut(Schema):
    id: int
    group: int
    title: str
    target_xp: int
    starts_on: dt.date
    ends_on: dt.date
    reward: str

    @staticmethod
    def resolve_group(obj) -> int:
        return obj.group_id


def _goals_in_scope(request: HttpRequest):
    return selectors.goal_list(org=request.org).filter(group__in=group_list(membership=request.membership))


@goals_router.get("", response={200: list[GoalOut], **ERROR_RESPONSES})
def goals_list(request: HttpRequest):
    require(request, "gamification.manage")
    return list(_goals_in_scope(request))


@goals_router.post("", response={201: GoalOut, **ERROR_RESPONSES})
def goal_create(request: HttpRequest, payload: GoalIn):
    require(request, "gamification.manage")
    data = payload.dict()
    data["group"] = get_or_404(group_list(membership=request.membership), data["group"], field="group")
    return Status(201, services.group_goal_create(org=request.org, **data))


@goals_router.put("/{pk}", response={200: GoalOut, **ERROR_RESPONSES})
def goal_update(request: HttpRequest, pk: Id, payload: GoalIn):
    require(request, "gamification.manage")
    goal = get_or_404(_goals_in_scope(request), pk)
    data = payload.dict()
    data["group"] = get_or_404(group_list(membership=request.membership), data["group"], field="group")
    return services.group_goal_update(goal=goal, **data)
