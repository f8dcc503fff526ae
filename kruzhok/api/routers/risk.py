"""Early warning: each open enrollment's dropout risk with its reasons, and the alerts staff work
through (acknowledge, assign, log what was done, mark not useful, close). Scoped like the pages: the
owner sees the organisation, a manager their branches, a teacher their groups; families see nothing."""

import datetime as dt
from typing import Annotated, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from kruzhok.api.auth import require
from kruzhok.api.errors import ERROR_RESPONSES, ApiError
from kruzhok.api.lookups import get_or_404
from kruzhok.api.pagination import Pagination
from kruzhok.api.schemas import Id, InSchema, Text
from kruzhok.risk import alerts, explain, selectors
from kruzhok.risk.models import ActionKind, RiskAlert, RiskBand, RiskScore

scores_router = Router(tags=["risk"])
alerts_router = Router(tags=["risk"])


class ReasonOut(Schema):
    feature: str
    text: str
    value: float | None = None
    contribution: float | None = None


class ScoreOut(Schema):
    enrollment: int
    student: int
    student_name: str
    group: int
    group_name: str
    scored_on: dt.date
    probability: float
    percent: int
    band: str
    decline_started_on: dt.date | None
    reasons: list[ReasonOut]
    open_alert: int | None
    # The organisation's alert threshold (its RiskSettings): high band and alerts start here.
    threshold_percent: int


class HistoryPointOut(Schema):
    scored_on: dt.date
    probability: float


class ScoreDetailOut(ScoreOut):
    history: list[HistoryPointOut]


class ScoreFilters(Schema):
    band: RiskBand | None = None
    group: Id | None = None
    branch: Id | None = None
    min_probability: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0


class ActionOut(Schema):
    id: int
    kind: str
    kind_label: str
    note: str
    actor: int | None
    created_at: dt.datetime


class EventOut(Schema):
    kind: str
    kind_label: str
    note: str
    actor: int | None
    target: int | None
    created_at: dt.datetime


class AlertOut(Schema):
    id: int
    enrollment: int
    student: int
    student_name: str
    group_name: str
    opened_on: dt.date
    probability: float
    reason: str
    status: str
    assigned_to: int | None
    escalation_level: int
    escalated_to: int | None
    not_useful: bool
    # Closed by nightly scoring because the risk stayed under the threshold (no action was taken).
    risk_fell: bool
    outcome: str
    outcome_on: dt.date | None
    reasons: list[ReasonOut]
    actions: list[ActionOut]


class AlertDetailOut(AlertOut):
    events: list[EventOut]


class AlertFilters(Schema):
    status: Literal["active", "open", "acknowledged", "escalated", "closed", "all"] = "active"
    mine: bool = False


class NoteIn(InSchema):
    note: Text(500) = ""


class AssignIn(InSchema):
    assignee: Id


class ActionIn(InSchema):
    kind: ActionKind
    note: Text(500) = ""
    close: bool = True


def _reasons(factors) -> list[dict]:
    rows = []
    for f in factors or []:
        # Worded in the request's language from the stored reason code (older scores carry ready text).
        text = explain.factor_text(f)
        if not text:
            continue
        rows.append(
            {
                "feature": str(f.get("feature", "")),
                "text": text,
                "value": _number(f.get("value")),
                "contribution": _number(f.get("contribution")),
            }
        )
    return rows


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _score_out(score: RiskScore, threshold_percent: int) -> dict:
    e = score.enrollment
    return {
        "enrollment": e.pk,
        "student": e.student_id,
        "student_name": e.student.full_name,
        "group": e.group_id,
        "group_name": e.group.name,
        "scored_on": score.scored_on,
        "probability": score.probability,
        "percent": score.percent,
        "band": score.band,
        "decline_started_on": score.decline_started_on,
        "reasons": _reasons(score.factors),
        "open_alert": getattr(score, "open_alert_id", None),
        "threshold_percent": threshold_percent,
    }


def _alert_out(alert: RiskAlert, *, events: bool = False) -> dict:
    e = alert.enrollment
    out = {
        "id": alert.pk,
        "enrollment": e.pk,
        "student": e.student_id,
        "student_name": e.student.full_name,
        "group_name": e.group.name,
        "opened_on": alert.opened_on,
        "probability": alert.probability,
        "reason": alert.reason,
        "status": alert.status,
        "assigned_to": alert.assigned_to_id,
        "escalation_level": alert.escalation_level,
        "escalated_to": alert.escalated_to_id,
        "not_useful": alert.not_useful,
        "risk_fell": alert.risk_fell,
        "outcome": alert.outcome,
        "outcome_on": alert.outcome_on,
        "reasons": _reasons(alert.factors),
        "actions": [
            {
                "id": a.pk,
                "kind": a.kind,
                "kind_label": str(a.get_kind_display()),
                "note": a.note,
                "actor": a.actor_id,
                "created_at": a.created_at,
            }
            for a in alert.actions.all()
        ],
    }
    if events:
        out["events"] = [
            {
                "kind": ev.kind,
                "kind_label": str(ev.get_kind_display()),
                "note": ev.note_shown,
                "actor": ev.actor_id,
                "target": ev.target_id,
                "created_at": ev.created_at,
            }
            for ev in selectors.alert_events(alert=alert)
        ]
    return out


class _ScoreRows:
    """Turns the scoped queryset into output rows page by page (the paginator slices it first)."""

    def __init__(self, queryset, threshold_percent: int = 0):
        self.queryset = queryset
        self.threshold_percent = threshold_percent

    def __len__(self) -> int:
        return self.queryset.count()

    def count(self) -> int:
        return self.queryset.count()

    def __getitem__(self, item):
        return [self.convert(row) for row in self.queryset[item]]

    def convert(self, row) -> dict:
        return _score_out(row, self.threshold_percent)


class _AlertRows(_ScoreRows):
    def convert(self, row) -> dict:
        return _alert_out(row)


def _threshold_percent(request: HttpRequest) -> int:
    return alerts.risk_settings_for(org=request.org).threshold_percent


@scores_router.get("", response={200: list[ScoreOut], **ERROR_RESPONSES})
@paginate(Pagination)
def risk_scores_list(request: HttpRequest, filters: Query[ScoreFilters]):
    """The latest score of every open enrollment the caller may see, riskiest first, with reasons."""
    require(request, "risk.view")
    membership = request.membership
    group = branch = None
    if filters.group is not None:
        group = selectors.risk_groups(membership=membership).filter(pk=filters.group).first()
        if group is None:
            return _ScoreRows(RiskScore.objects.none())
    if filters.branch is not None:
        branch = selectors.risk_branches(membership=membership).filter(pk=filters.branch).first()
        if branch is None:
            return _ScoreRows(RiskScore.objects.none())
    rows = selectors.at_risk_list(
        membership=membership,
        band=filters.band or "",
        group=group,
        branch=branch,
        min_probability=filters.min_probability,
    )
    return _ScoreRows(rows, _threshold_percent(request))


@scores_router.get("/{pk}", response={200: ScoreDetailOut, **ERROR_RESPONSES})
def risk_scores_read(request: HttpRequest, pk: Id):
    """One enrollment (by its id): the latest score with reasons and the score history."""
    require(request, "risk.view")
    enrollment = get_or_404(selectors.risk_enrollment_scope(membership=request.membership), pk)
    history = selectors.risk_history(enrollment=enrollment)
    if not history:
        raise ApiError(404, "not_scored", _("Риск для этой записи ещё не рассчитан."))
    latest = history[-1]
    open_alert = selectors.alert_list(membership=request.membership, enrollment=enrollment, open_only=True)
    latest.open_alert_id = open_alert.values_list("pk", flat=True).first()
    out = _score_out(latest, _threshold_percent(request))
    out["history"] = [{"scored_on": s.scored_on, "probability": s.probability} for s in history]
    return out


@alerts_router.get("", response={200: list[AlertOut], **ERROR_RESPONSES})
@paginate(Pagination)
def risk_alerts_list(request: HttpRequest, filters: Query[AlertFilters]):
    """The alert feed: `active` (not closed, the default), open, acknowledged, escalated, closed, all;
    `mine` keeps those assigned or escalated to the caller."""
    require(request, "risk.view")
    return _AlertRows(
        selectors.alert_feed(membership=request.membership, status=filters.status, mine=filters.mine)
    )


def _alert(request: HttpRequest, pk: int) -> RiskAlert:
    return get_or_404(selectors.alert_list(membership=request.membership).select_related("escalated_to"), pk)


def _act(call):
    try:
        return call()
    except ValidationError as error:
        message = " ".join(error.messages)
        code = getattr(error, "code", None) or "invalid"
        if code == "alert_closed":
            raise ApiError(409, "alert_closed", message) from None
        if code == "invalid_assignee":
            raise ApiError(422, "invalid_assignee", message, fields={"assignee": message}) from None
        raise ApiError(422, code, message) from None


@alerts_router.get("/{pk}", response={200: AlertDetailOut, **ERROR_RESPONSES})
def risk_alerts_read(request: HttpRequest, pk: Id):
    """One alert with its reasons, actions and timeline (opened, assigned, escalated, closed, outcome)."""
    require(request, "risk.view")
    return _alert_out(_alert(request, pk), events=True)


@alerts_router.post("/{pk}/acknowledge", response={200: AlertDetailOut, **ERROR_RESPONSES})
def risk_alerts_acknowledge(request: HttpRequest, pk: Id):
    require(request, "risk.act")
    alert = _alert(request, pk)
    _act(lambda: alerts.alert_acknowledge(alert=alert, actor=request.user))
    return _alert_out(_alert(request, pk), events=True)


@alerts_router.post("/{pk}/not-useful", response={200: AlertDetailOut, **ERROR_RESPONSES})
def risk_alerts_not_useful(request: HttpRequest, pk: Id, payload: NoteIn):
    """Closes the alert as a false alarm; the verdict is kept as feedback for the model."""
    require(request, "risk.act")
    alert = _alert(request, pk)
    _act(lambda: alerts.alert_not_useful(alert=alert, actor=request.user, note=payload.note))
    return _alert_out(_alert(request, pk), events=True)


@alerts_router.post("/{pk}/assign", response={200: AlertDetailOut, **ERROR_RESPONSES})
def risk_alerts_assign(request: HttpRequest, pk: Id, payload: AssignIn):
    """Hands the alert to a staff member who can see the child (group's teacher, branch manager, owner)."""
    require(request, "risk.act")
    alert = _alert(request, pk)
    _act(lambda: alerts.alert_assign(alert=alert, actor=request.user, assignee_id=payload.assignee))
    return _alert_out(_alert(request, pk), events=True)


@alerts_router.post("/{pk}/actions", response={201: AlertDetailOut, **ERROR_RESPONSES})
def risk_alerts_log_action(request: HttpRequest, pk: Id, payload: ActionIn):
    """Logs what was done (call the parent, talk to the child, another group or time, a trial of
    another course, a freeze instead of leaving, other); closes the alert unless `close` is false."""
    require(request, "risk.act")
    alert = _alert(request, pk)
    _act(
        lambda: alerts.alert_log_action(
            alert=alert, actor=request.user, kind=payload.kind, note=payload.note, close=payload.close
        )
    )
    return Status(201, _alert_out(_alert(request, pk), events=True))


@alerts_router.post("/{pk}/close", response={200: AlertDetailOut, **ERROR_RESPONSES})
def risk_alerts_close(request: HttpRequest, pk: Id, payload: NoteIn):
    require(request, "risk.act")
    alert = _alert(request, pk)
    _act(lambda: alerts.alert_close(alert=alert, actor=request.user, note=payload.note))
    return _alert_out(_alert(request, pk), events=True)
