"""Feedback: a parent's free text at any time, a child's pulse after a lesson, the teacher's
«вовлечён ли ребёнок?», parent surveys (NPS 0–10 + satisfaction 1–5), and the staff's inbox (list,
read, answer the family, set the status)."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from kruzhok.api.auth import require
from kruzhok.api.errors import ERROR_RESPONSES, MESSAGES, ApiError
from kruzhok.api.lookups import get_or_404
from kruzhok.api.pagination import Pagination
from kruzhok.api.schemas import Id, InSchema, StudentRef, Text
from kruzhok.feedback import engagement, selectors, services, surveys
from kruzhok.feedback.models import Sentiment, Source
from kruzhok.feedback.models import Status as FeedbackStatus
from kruzhok.school.models import Student, StudentGuardian

feedback_router = Router(tags=["feedback"])
pulse_router = Router(tags=["feedback"])
engagement_router = Router(tags=["feedback"])
surveys_router = Router(tags=["feedback"])


class FeedbackOut(Schema):
    id: int
    source: str
    status: str
    student: StudentRef | None
    enrollment_id: int | None
    lesson_id: int | None
    score: int | None
    nps: int | None
    text: str
    sentiment: str
    sentiment_confidence: float
    aspects: list[str]
    alert_open: bool
    created_at: dt.datetime
    first_answered_at: dt.datetime | None
    minutes_to_answer: int | None = Field(description="from the alert (or the feedback) to the first answer")

    @staticmethod
    def resolve_minutes_to_answer(obj) -> int | None:
        wait = obj.time_to_answer
        return round(wait.total_seconds() / 60) if wait is not None else None


class ReplyOut(Schema):
    id: int
    body: str
    created_at: dt.datetime


class FeedbackDetailOut(FeedbackOut):
    replies: list[ReplyOut]

    @staticmethod
    def resolve_replies(obj) -> list:
        return list(obj.replies.all())


class FeedbackFilters(Schema):
    status: FeedbackStatus | None = None
    sentiment: Sentiment | None = None
    source: Source | None = None
    alert_only: bool = Field(False, description="only negative feedback still waiting for an answer")


class FeedbackIn(InSchema):
    text: Text(2000, 1)
    student: Id | None = Field(None, description="one of the caller's children; empty = about the centre")


class ReplyIn(InSchema):
    body: Text(2000, 1)


class StatusIn(InSchema):
    status: FeedbackStatus


@feedback_router.get("", response={200: list[FeedbackOut], **ERROR_RESPONSES})
@paginate(Pagination)
def feedback_list(request: HttpRequest, filters: Query[FeedbackFilters]):
    """Owners: everything; a manager: their branches. Open alerts first."""
    require(request, "feedback.manage")
    return selectors.feedback_list(
        membership=request.membership,
        status=filters.status,
        sentiment=filters.sentiment,
        source=filters.source,
        alert_only=filters.alert_only,
    )


@feedback_router.post("", response={201: FeedbackOut, **ERROR_RESPONSES})
def feedback_give(request: HttpRequest, payload: FeedbackIn):
    """A parent's feedback at any time; a negative one alerts the branch manager at once."""
    require(request, "feedback.give")
    guardian = selectors.guardian_of_user(user=request.user, org=request.org)
    if guardian is None:
        raise ApiError(404, "not_found")
    student = None
    if payload.student is not None:
        linked = StudentGuardian.objects.filter(organization=request.org, guardian=guardian)
        children = Student.objects.filter(organization=request.org, pk__in=linked.values("student_id"))
        student = get_or_404(children, payload.student, field="student")
    feedback = services.feedback_submit(
        org=request.org, actor=request.user, guardian=guardian, student=student, text=payload.text
    )
    return Status(201, feedback)


@feedback_router.get("/{pk}", response={200: FeedbackDetailOut, **ERROR_RESPONSES})
def feedback_read(request: HttpRequest, pk: Id):
    require(request, "feedback.manage")
    return selectors.feedback_get(membership=request.membership, pk=pk)


@feedback_router.post("/{pk}/replies", response={201: ReplyOut, **ERROR_RESPONSES})
def feedback_answer(request: HttpRequest, pk: Id, payload: ReplyIn):
    """Answers the family (their inbox and channels); the first answer closes the alert."""
    require(request, "feedback.manage")
    feedback = selectors.feedback_get(membership=request.membership, pk=pk)
    return Status(201, services.feedback_reply(feedback=feedback, actor=request.user, body=payload.body))


@feedback_router.post("/{pk}/status", response={200: FeedbackOut, **ERROR_RESPONSES})
def feedback_status(request: HttpRequest, pk: Id, payload: StatusIn):
    """Closing a negative item nobody has answered is refused (409 answer_required)."""
    require(request, "feedback.manage")
    feedback = selectors.feedback_get(membership=request.membership, pk=pk)
    try:
        return services.feedback_set_status(feedback=feedback, status=payload.status, actor=request.user)
    except ValidationError as error:
        raise ApiError(409, "answer_required", " ".join(error.messages)) from error


# --- a child's pulse and the teacher's pulse ----------------------------------------------------


class PulseIn(InSchema):
    lesson: Id
    score: int = Field(ge=1, le=5, description="1 😢 … 5 😄")
    comment: Text(1000) = ""


@pulse_router.post("", response={201: FeedbackOut, **ERROR_RESPONSES})
def pulse_give(request: HttpRequest, payload: PulseIn):
    """The child's one tap after a lesson of their group (the last 7 days); once per lesson (409)."""
    require(request, "feedback.pulse")
    student = selectors.student_of_user(user=request.user, org=request.org)
    if student is None:
        raise ApiError(404, "not_found")
    lesson = get_or_404(selectors.pulse_lessons(student=student), payload.lesson, field="lesson")
    try:
        feedback = services.pulse_submit(
            org=request.org,
            actor=request.user,
            student=student,
            lesson=lesson,
            score=payload.score,
            comment=payload.comment,
        )
    except ValidationError as error:
        if error.code == "already_answered":
            raise ApiError(409, "already_answered", " ".join(error.messages)) from error
        raise
    return Status(201, feedback)


class TeacherPulseIn(InSchema):
    lesson: Id
    student: Id
    score: int = Field(ge=1, le=5, description="1 = not engaged … 5 = fully engaged")
    note: Text(300) = ""


class TeacherPulseOut(Schema):
    id: int
    lesson_id: int
    student_id: int
    enrollment_id: int | None
    on_date: dt.date
    score: int
    note: str


@engagement_router.post("", response={200: TeacherPulseOut, **ERROR_RESPONSES})
def engagement_rate(request: HttpRequest, payload: TeacherPulseIn):
    """«Вовлечён ли ребёнок?» for one child at a lesson in the caller's scope; a repeat changes it."""
    require(request, "feedback.teacher_pulse")
    lesson = get_or_404(
        engagement.teacher_lessons(membership=request.membership), payload.lesson, field="lesson"
    )
    rows = engagement.roster_with_scores(lesson=lesson)
    student = next((row["student"] for row in rows if row["student"].pk == payload.student), None)
    if student is None:
        raise ApiError(404, "not_found", fields={"student": MESSAGES["not_found"]})
    return engagement.teacher_pulse_set(
        lesson=lesson, student=student, actor=request.user, score=payload.score, note=payload.note
    )


# --- parent surveys ----------------------------------------------------------------------------


class SurveyOut(Schema):
    id: int
    student: StudentRef
    enrollment_id: int
    sent_on: dt.date
    answered_at: dt.datetime | None


class SurveyAnswerIn(InSchema):
    nps: int = Field(ge=0, le=10, description="how likely they recommend the centre, 0–10")
    satisfaction: int | None = Field(None, ge=1, le=5, description="1–5, optional")
    comment: Text(1000) = ""


@surveys_router.get("", response={200: list[SurveyOut], **ERROR_RESPONSES})
@paginate(Pagination)
def surveys_list(request: HttpRequest):
    """The caller's survey invitations, newest first."""
    require(request, "feedback.survey")
    return surveys.surveys_for_parent(user=request.user, org=request.org)


@surveys_router.post("/{pk}/answer", response={201: FeedbackOut, **ERROR_RESPONSES})
def surveys_answer(request: HttpRequest, pk: Id, payload: SurveyAnswerIn):
    """One answer per invitation (409 already_answered); a 0–4 alerts the branch manager."""
    require(request, "feedback.survey")
    survey = get_or_404(surveys.surveys_for_parent(user=request.user, org=request.org), pk)
    try:
        feedback = surveys.survey_answer(
            survey=survey,
            actor=request.user,
            nps=payload.nps,
            satisfaction=payload.satisfaction,
            comment=payload.comment,
        )
    except ValidationError as error:
        if error.code in ("already_answered", "not_open"):
            raise ApiError(409, error.code, " ".join(error.messages)) from error
        raise
    return Status(201, feedback)
