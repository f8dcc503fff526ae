"""Messaging: the caller's inbox (list, read), conversations between staff and a family (list, open,
start, answer), and announcements (staff: send to a group or a family, list, delivery report)."""

import datetime as dt
from typing import Literal

from django.http import HttpRequest
from ninja import Router, Schema, Status
from ninja.pagination import paginate

from kruzhok.accounts.permissions import role_can
from kruzhok.api.auth import require
from kruzhok.api.errors import ERROR_RESPONSES, FIELD_MESSAGES, MESSAGES, ApiError
from kruzhok.api.lookups import get_or_404
from kruzhok.api.pagination import Pagination
from kruzhok.api.schemas import Id, InSchema, StudentRef, Text
from kruzhok.messaging import conversations, selectors, services
from kruzhok.messaging.models import Side
from kruzhok.school.models import Student, StudentGuardian
from kruzhok.school.selectors.people import guardian_list
from kruzhok.school.selectors.structure import group_list

inbox_router = Router(tags=["messaging"])
conversations_router = Router(tags=["messaging"])
announcements_router = Router(tags=["messaging"])


class MessageOut(Schema):
    id: int
    kind: str
    subject: str
    body: str
    link: str
    created_at: dt.datetime
    read_at: dt.datetime | None
    student: StudentRef | None
    conversation_id: int | None


@inbox_router.get("", response={200: list[MessageOut], **ERROR_RESPONSES})
@paginate(Pagination)
def inbox_list(request: HttpRequest):
    """The caller's messages, newest first (absence notices, announcements, answers, alerts)."""
    require(request, "inbox.view")
    return selectors.inbox_for_user(user=request.user, org=request.org)


@inbox_router.post("/{pk}/read", response={200: MessageOut, **ERROR_RESPONSES})
def inbox_read(request: HttpRequest, pk: Id):
    """Marks the message read (which also confirms every channel that carried it)."""
    require(request, "inbox.view")
    message = get_or_404(selectors.inbox_for_user(user=request.user, org=request.org), pk)
    return services.message_mark_read(message=message)


# --- conversations ---------------------------------------------------------------------------------


class PartyRef(Schema):
    id: int
    full_name: str


class ConversationOut(Schema):
    id: int
    subject: str
    guardian: PartyRef
    student: StudentRef | None
    last_post_at: dt.datetime
    unread: int


class PostOut(Schema):
    id: int
    side: Literal["staff", "family"]
    body: str
    via: str
    author_name: str
    created_at: dt.datetime

    @staticmethod
    def resolve_author_name(obj) -> str:
        if obj.author is None:
            return ""
        return obj.author.get_full_name() or obj.author.get_username()


class ConversationDetailOut(ConversationOut):
    posts: list[PostOut]


class ConversationIn(InSchema):
    subject: Text(200, 1)
    body: Text(4096, 1)
    guardian: Id | None = None
    student: Id | None = None


class PostIn(InSchema):
    body: Text(4096, 1)


def _require_converser(request: HttpRequest) -> None:
    require(request, "conversation.view")


def _detail(conversation, side: str) -> dict:
    conversations.conversation_mark_read(conversation=conversation, side=side)
    return {
        "id": conversation.pk,
        "subject": conversation.subject,
        "guardian": conversation.guardian,
        "student": conversation.student,
        "last_post_at": conversation.last_post_at,
        "unread": 0,
        "posts": list(conversation.posts.select_related("author")),
    }


@conversations_router.get("", response={200: list[ConversationOut], **ERROR_RESPONSES})
@paginate(Pagination)
def conversations_list(request: HttpRequest):
    """Staff: the families of the children in their scope; a parent: their own threads."""
    _require_converser(request)
    return conversations.conversation_list_for(membership=request.membership)


@conversations_router.get("/{pk}", response={200: ConversationDetailOut, **ERROR_RESPONSES})
def conversations_read(request: HttpRequest, pk: Id):
    _require_converser(request)
    conversation = conversations.conversation_get(membership=request.membership, pk=pk)
    return _detail(conversation, conversations.side_of(request.membership))


@conversations_router.post("", response={201: ConversationDetailOut, **ERROR_RESPONSES})
def conversations_start(request: HttpRequest, payload: ConversationIn):
    """Staff name the `guardian` (and optionally the child); a parent writes to the centre."""
    _require_converser(request)
    membership = request.membership
    staff = role_can(request.role, "conversation.staff")
    if staff:
        if payload.guardian is None:
            raise ApiError(422, "invalid_input", fields={"guardian": FIELD_MESSAGES["missing"]})
        guardian = get_or_404(
            conversations.guardians_for_staff(membership=membership), payload.guardian, field="guardian"
        )
        students = conversations._staff_students(membership)
        scope = students if students is not None else Student.objects.filter(organization=request.org)
    else:
        guardian = conversations._guardians_of_user(user=request.user, org_id=request.org.pk).first()
        if guardian is None:
            raise ApiError(404, "not_found")
        linked = StudentGuardian.objects.filter(organization=request.org, guardian=guardian)
        scope = Student.objects.filter(organization=request.org, pk__in=linked.values("student_id"))
    student = get_or_404(scope, payload.student, field="student") if payload.student is not None else None
    if staff and not conversations.staff_may_write_to(
        membership=membership, guardian=guardian, student=student
    ):
        raise ApiError(404, "not_found", fields={"student": MESSAGES["not_found"]})
    conversation = conversations.conversation_start(
        org=request.org,
        actor=request.user,
        side=Side.STAFF if staff else Side.FAMILY,
        guardian=guardian,
        student=student,
        subject=payload.subject,
        body=payload.body,
    )
    conversation = conversations.conversation_get(membership=membership, pk=conversation.pk)
    return Status(201, _detail(conversation, conversations.side_of(membership)))


@conversations_router.post("/{pk}/posts", response={201: PostOut, **ERROR_RESPONSES})
def conversations_reply(request: HttpRequest, pk: Id, payload: PostIn):
    """Adds a post; the other side is told (a family through their channels, Telegram first)."""
    _require_converser(request)
    conversation = conversations.conversation_get(membership=request.membership, pk=pk)
    post = conversations.conversation_post(
        conversation=conversation,
        actor=request.user,
        side=conversations.side_of(request.membership),
        body=payload.body,
    )
    return Status(201, post)


# --- announcements ---------------------------------------------------------------------------------


class AnnouncementIn(InSchema):
    title: Text(200, 1)
    body: Text(4000, 1)
    audience: Literal["group", "family"]
    group: Id | None = None
    guardian: Id | None = None


class AnnouncementOut(Schema):
    id: int
    title: str
    body_template: str
    audience: str
    group_id: int | None
    guardian_id: int | None
    created_at: dt.datetime
    recipients: int

    @staticmethod
    def resolve_recipients(obj) -> int:
        return obj.messages.count()


class ReportRowOut(Schema):
    message: int
    guardian: str
    student: str
    read: bool
    channel: str
    status: str
    error: str


class AnnouncementReportOut(Schema):
    announcement: AnnouncementOut
    total: int
    read: int
    statuses: dict[str, int]
    channels: dict[str, int]
    rows: list[ReportRowOut]


@announcements_router.get("", response={200: list[AnnouncementOut], **ERROR_RESPONSES})
@paginate(Pagination)
def announcements_list(request: HttpRequest):
    """Owners: all; a manager: the ones they sent."""
    require(request, "announcement.send")
    return selectors.announcement_list(membership=request.membership).prefetch_related("messages")


@announcements_router.post("", response={201: AnnouncementOut, **ERROR_RESPONSES})
def announcements_send(request: HttpRequest, payload: AnnouncementIn):
    """Renders the template per family ({ребёнок} {родитель} {группа} {курс} {центр}) and queues it;
    an unknown variable or a value missing for any family stops it all (400, nothing sent)."""
    require(request, "announcement.send")
    membership = request.membership
    group = guardian = None
    if payload.audience == "group":
        if payload.group is None:
            raise ApiError(422, "invalid_input", fields={"group": FIELD_MESSAGES["missing"]})
        group = get_or_404(
            group_list(membership=membership).filter(is_active=True), payload.group, field="group"
        )
    else:
        if payload.guardian is None:
            raise ApiError(422, "invalid_input", fields={"guardian": FIELD_MESSAGES["missing"]})
        guardian = get_or_404(guardian_list(membership=membership), payload.guardian, field="guardian")
    announcement = services.announcement_send(
        org=request.org,
        actor=request.user,
        title=payload.title,
        body_template=payload.body,
        audience=payload.audience,
        group=group,
        guardian=guardian,
    )
    return Status(201, announcement)


@announcements_router.get("/{pk}", response={200: AnnouncementReportOut, **ERROR_RESPONSES})
def announcements_report(request: HttpRequest, pk: Id):
    """The delivery report: per family, whether it was read and its latest channel's status."""
    require(request, "announcement.send")
    announcement = selectors.announcement_get(membership=request.membership, pk=pk)
    report = selectors.announcement_report(announcement=announcement)
    rows = []
    for message in report["rows"]:
        deliveries = sorted(message.deliveries.all(), key=lambda d: d.position)
        latest = deliveries[-1] if deliveries else None
        rows.append(
            {
                "message": message.pk,
                "guardian": message.guardian.full_name if message.guardian_id else "",
                "student": message.student.first_name if message.student_id else "",
                "read": message.read_at is not None,
                "channel": latest.channel if latest else "",
                "status": latest.status if latest else "",
                "error": latest.last_error if latest else "",
            }
        )
    return {
        "announcement": announcement,
        "total": report["total"],
        "read": report["read"],
        "statuses": report["statuses"],
        "channels": report["channels"],
        "rows": rows,
    }
