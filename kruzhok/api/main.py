"""The JSON API, /api/v1/: one router per domain, thin endpoints over the domain's services and
selectors, one error envelope (errors.py). Mobile clients authenticate with a bearer token from
POST /auth/token; the logged-in browser may use its session (with CSRF) on the docs page."""

from ninja import NinjaAPI, Swagger
from ninja.renderers import JSONRenderer

from kruzhok.api.auth import api_auth
from kruzhok.api.errors import install_error_handlers
from kruzhok.api.routers import (
    analytics,
    attendance,
    auth,
    billing,
    branches,
    courses,
    enrollments,
    feedback,
    gamification,
    groups,
    guardians,
    homework,
    lessons,
    messaging,
    organization,
    risk,
    students,
)


class ReadableJSONRenderer(JSONRenderer):
    # Cyrillic as is, not \u-escaped: the payload is smaller and a curl session stays readable.
    json_dumps_params = {"ensure_ascii": False}


api = NinjaAPI(
    title="Kruzhok API",
    version="1.0.0",
    description="JSON API for Kruzhok's mobile clients. See docs/api.md for the error codes.",
    urls_namespace="api",
    auth=api_auth,
    renderer=ReadableJSONRenderer(),
    # The bundled Swagger UI (no CDN); the online validator badge would call validator.swagger.io.
    docs=Swagger(settings={"validatorUrl": None}),
)
install_error_handlers(api)


@api.get("/ping", auth=None, tags=["meta"])
def ping(request) -> dict:
    return {"status": "ok"}


api.add_router("/auth", auth.router)
api.add_router("/organization", organization.router)
api.add_router("/branches", branches.router)
api.add_router("/rooms", branches.rooms_router)
api.add_router("/courses", courses.router)
api.add_router("/groups", groups.router)
api.add_router("/lessons", lessons.router)
api.add_router("/students", students.router)
api.add_router("/guardians", guardians.router)
api.add_router("/enrollments", enrollments.router)
api.add_router("/attendance", attendance.router)
api.add_router("/homework", homework.router)
api.add_router("/plans", billing.plans_router)
api.add_router("/subscriptions", billing.subscriptions_router)
api.add_router("/payments", billing.payments_router)
api.add_router("/balances", billing.balances_router)
api.add_router("/makeups", billing.makeups_router)
api.add_router("/xp", gamification.xp_router)
api.add_router("/leaderboards", gamification.leaderboards_router)
api.add_router("/kudos", gamification.kudos_router)
api.add_router("/rewards", gamification.rewards_router)
api.add_router("/reward-requests", gamification.reward_requests_router)
api.add_router("/gamification-settings", gamification.settings_router)
api.add_router("/badges", gamification.badges_router)
api.add_router("/quests", gamification.quests_router)
api.add_router("/goals", gamification.goals_router)
api.add_router("/risk-scores", risk.scores_router)
api.add_router("/risk-alerts", risk.alerts_router)
api.add_router("/analytics", analytics.router)
api.add_router("/inbox", messaging.inbox_router)
api.add_router("/conversations", messaging.conversations_router)
api.add_router("/announcements", messaging.announcements_router)
api.add_router("/feedback", feedback.feedback_router)
api.add_router("/pulse", feedback.pulse_router)
api.add_router("/engagement", feedback.engagement_router)
api.add_router("/surveys", feedback.surveys_router)
