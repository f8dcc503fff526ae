"""Gamification: a child's XP profile (staff of their groups, their family, the child), group
leaderboards (staff), the teacher's kudos, and the rewards shop (the child asks, a manager decides)."""

from django.http import HttpRequest
from ninja import Router, Schema

from kruzhok.accounts.permissions import role_can
from kruzhok.api.auth import require, require_any
from kruzhok.api.errors import ERROR_RESPONSES, ApiError
from kruzhok.api.lookups import get_or_404
from kruzhok.api.schemas import Id, InSchema, Text
from kruzhok.attendance import selectors as attendance_selectors
from kruzhok.gamification import selectors, services
from kruzhok.school.selectors.structure import group_list

xp_router = Router(tags=["gamification"])
leaderboards_router = Router(tags=["gamification"])
kudos_router = Router(tags=["gamification"])
rewards_router = Router(tags=["gamification"])
reward_requests_router = Router(tags=["gamification"])


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
                "note": a.note,
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
