"""Two-way conversations between the centre's staff and a family.

A family writes in the app or answers the centre's bot in Telegram; staff of the child's branch (its
managers, the owner) and the child's teachers answer in the app. Every staff post reaches the family
through the outbox (Telegram first, as they chose); a family post shows as unread to the staff and
notifies them once per unread stretch, not once per line.
"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kruzhok.accounts.models import Membership, Organization, Role
from kruzhok.messaging.models import (
    Channel,
    Conversation,
    ConversationPost,
    Delivery,
    MessageKind,
    Side,
)
from kruzhok.school.models import (
    OPEN_ENROLLMENT_STATUSES,
    Branch,
    Enrollment,
    Guardian,
    Student,
    StudentGuardian,
)

POST_MAX = 4096  # what Telegram carries in one message: nothing a parent sends is cut
SUBJECT_MAX = 200
# A Telegram message with no reply-to continues the family's latest conversation if it is this fresh.
TELEGRAM_CONTINUE = dt.timedelta(days=14)


def _body(value: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError(_("Напишите сообщение."), code="empty")
    if len(value) > POST_MAX:
        raise ValidationError(
            _("Слишком длинное сообщение: не больше %(max)d символов."),
            code="too_long",
            params={"max": POST_MAX},
        )
    return value


def _subject(value: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError(_("Укажите тему."), code="empty")
    if len(value) > SUBJECT_MAX:
        raise ValidationError(
            _("Слишком длинная тема: не больше %(max)d символов."),
            code="too_long",
            params={"max": SUBJECT_MAX},
        )
    return value


# --- who sees what -------------------------------------------------------------------------------


def _staff_students(membership: Membership) -> QuerySet[Student] | None:
    """Children whose families this staff member may talk to; None = the whole organisation."""
    org_id = membership.organization_id
    if membership.role == Role.OWNER:
        return None
    if membership.role == Role.MANAGER:
        branches = Branch.objects.filter(organization_id=org_id, managers=membership.user)
        in_groups = Enrollment.objects.filter(
            organization_id=org_id, group__branch__in=branches, status__in=OPEN_ENROLLMENT_STATUSES
        ).values("student_id")
        return Student.objects.filter(organization_id=org_id).filter(
            Q(branch__in=branches) | Q(pk__in=in_groups)
        )
    if membership.role == Role.TEACHER:
        taught = Enrollment.objects.filter(
            organization_id=org_id, group__teacher=membership.user, status__in=OPEN_ENROLLMENT_STATUSES
        ).values("student_id")
        return Student.objects.filter(organization_id=org_id, pk__in=taught)
    return Student.objects.none()


def conversation_list_for_staff(*, membership: Membership) -> QuerySet[Conversation]:
    """Owner: all; manager: families of their branches' children (and threads of their branch);
    teacher: families of the children in their groups. Each row carries `unread` (family posts the
    staff have not read)."""
    qs = Conversation.objects.filter(organization_id=membership.organization_id)
    students = _staff_students(membership)
    if students is not None:
        family_of = StudentGuardian.objects.filter(
            organization_id=membership.organization_id, student__in=students
        ).values("guardian_id")
        scope = Q(student__in=students) | Q(student__isnull=True, guardian_id__in=family_of)
        if membership.role == Role.MANAGER:
            scope |= Q(branch__managers=membership.user)
        qs = qs.filter(scope)
    return _with_unread(qs, reader=Side.STAFF).distinct()


def _guardians_of_user(*, user, org_id: int) -> QuerySet[Guardian]:
    return Guardian.objects.filter(organization_id=org_id, user=user)


def conversation_list_for_family(*, user, org: Organization) -> QuerySet[Conversation]:
    qs = Conversation.objects.filter(
        organization=org, guardian__in=_guardians_of_user(user=user, org_id=org.pk)
    )
    return _with_unread(qs, reader=Side.FAMILY)


def _with_unread(qs: QuerySet[Conversation], *, reader: str) -> QuerySet[Conversation]:
    writer = Side.FAMILY if reader == Side.STAFF else Side.STAFF
    read_at = "staff_read_at" if reader == Side.STAFF else "family_read_at"
    unread = Count(
        "posts",
        filter=Q(posts__side=writer)
        & (Q(**{f"{read_at}__isnull": True}) | Q(posts__created_at__gt=F(read_at))),
    )
    return (
        qs.select_related("guardian", "student", "branch")
        .annotate(unread=unread)
        .order_by("-last_post_at", "-id")
    )


def conversation_list_for(*, membership: Membership) -> QuerySet[Conversation]:
    if membership.role == Role.PARENT:
        return conversation_list_for_family(user=membership.user, org=membership.organization)
    if membership.role in (Role.OWNER, Role.MANAGER, Role.TEACHER):
        return conversation_list_for_staff(membership=membership)
    return Conversation.objects.none()


def conversation_get(*, membership: Membership, pk) -> Conversation:
    return get_object_or_404(conversation_list_for(membership=membership), pk=pk)


def unread_conversations(*, membership: Membership) -> int:
    return conversation_list_for(membership=membership).filter(unread__gt=0).count()


def side_of(membership: Membership) -> str:
    return Side.FAMILY if membership.role == Role.PARENT else Side.STAFF


def staff_may_write_to(*, membership: Membership, guardian: Guardian, student: Student | None) -> bool:
    students = _staff_students(membership)
    if students is None:
        return guardian.organization_id == membership.organization_id
    links = StudentGuardian.objects.filter(organization_id=membership.organization_id, guardian=guardian)
    if student is not None:
        return links.filter(student=student).exists() and students.filter(pk=student.pk).exists()
    return links.filter(student__in=students).exists()


def guardians_for_staff(*, membership: Membership) -> QuerySet[Guardian]:
    students = _staff_students(membership)
    qs = Guardian.objects.filter(organization_id=membership.organization_id)
    if students is not None:
        qs = qs.filter(Exists(StudentGuardian.objects.filter(guardian=OuterRef("pk"), student__in=students)))
    return qs.order_by("full_name", "pk")


# --- writes --------------------------------------------------------------------------------------


def _branch_for(*, org_id: int, guardian: Guardian, student: Student | None) -> Branch | None:
    students = (
        [student]
        if student is not None
        else [
            link.student
            for link in StudentGuardian.objects.filter(
                organization_id=org_id, guardian=guardian
            ).select_related("student")
        ]
    )
    for child in students:
        enrollment = (
            Enrollment.objects.filter(
                organization_id=org_id, student=child, status__in=OPEN_ENROLLMENT_STATUSES
            )
            .select_related("group")
            .order_by("pk")
            .first()
        )
        if enrollment is not None:
            return enrollment.group.branch
        if child.branch_id:
            return child.branch
    return None


def conversation_start(
    *,
    org: Organization,
    actor,
    side: str,
    guardian: Guardian,
    subject: str,
    body: str,
    student: Student | None = None,
    via: str = "inapp",
    external_ref: str = "",
) -> Conversation:
    """Opens a thread with its first post. The caller has checked the actor may write to this family."""
    subject = _subject(subject)
    body = _body(body)
    if guardian.organization_id != org.pk or (student is not None and student.organization_id != org.pk):
        raise ValidationError(_("Семья не найдена."), code="unknown_recipient")
    if (
        student is not None
        and not StudentGuardian.objects.filter(organization=org, guardian=guardian, student=student).exists()
    ):
        raise ValidationError(_("Этот ребёнок не из этой семьи."), code="unknown_recipient")
    now = timezone.now()
    with transaction.atomic():
        conversation = Conversation(
            organization=org,
            guardian=guardian,
            student=student,
            branch=_branch_for(org_id=org.pk, guardian=guardian, student=student),
            subject=subject,
            started_by=actor,
            last_post_at=now,
        )
        conversation.full_clean(exclude=["organization", "guardian", "student", "branch", "started_by"])
        conversation.save()
        conversation_post(
            conversation=conversation, actor=actor, side=side, body=body, via=via, external_ref=external_ref
        )
    return conversation


def conversation_post(
    *, conversation: Conversation, actor, side: str, body: str, via: str = "inapp", external_ref: str = ""
) -> ConversationPost:
    """Adds a post and tells the other side. A Telegram update delivered twice adds nothing twice."""
    body = _body(body)
    if side not in Side.values:
        raise ValidationError(_("Неизвестная сторона переписки."), code="invalid")
    now = timezone.now()
    try:
        with transaction.atomic():
            post = ConversationPost(
                organization_id=conversation.organization_id,
                conversation=conversation,
                side=side,
                author=actor,
                body=body,
                via=via,
                external_ref=external_ref[:64],
            )
            post.full_clean(exclude=["organization", "conversation", "author"], validate_constraints=False)
            post.save()
            # The writer has read everything up to their own post.
            read_field = "staff_read_at" if side == Side.STAFF else "family_read_at"
            Conversation.all_objects.filter(pk=conversation.pk).update(
                last_post_at=now, updated_at=now, **{read_field: now}
            )
            conversation.last_post_at = now
            setattr(conversation, read_field, now)
            if side == Side.STAFF:
                _notify_family(conversation=conversation, post=post)
            else:
                _notify_staff(conversation=conversation, post=post)
    except IntegrityError as error:
        if external_ref:
            return ConversationPost.all_objects.get(
                organization_id=conversation.organization_id, external_ref=external_ref[:64]
            )
        raise ValidationError(_("Не удалось сохранить сообщение."), code="conflict") from error
    return post


def conversation_mark_read(*, conversation: Conversation, side: str) -> None:
    field = "staff_read_at" if side == Side.STAFF else "family_read_at"
    now = timezone.now()
    Conversation.all_objects.filter(pk=conversation.pk).update(**{field: now})
    setattr(conversation, field, now)


def _link(conversation: Conversation) -> str:
    return reverse("messaging:conversation", args=[conversation.pk])


def _notify_family(*, conversation: Conversation, post: ConversationPost) -> None:
    from kruzhok.messaging.services import message_enqueue

    guardian = conversation.guardian
    message_enqueue(
        org=conversation.organization,
        guardian=guardian,
        user=guardian.user,
        student=conversation.student,
        kind=MessageKind.CONVERSATION,
        subject=(_("Ответ центра: %(subject)s") % {"subject": conversation.subject})[:200],
        body=post.body,
        actor=post.author,
        link=_link(conversation),
        conversation=conversation,
        dedupe_key=f"conv-post:{post.pk}",
    )


def staff_recipients(*, conversation: Conversation) -> list:
    """Managers of the thread's branch (owners when it has none) and the child's teachers."""
    from django.contrib.auth import get_user_model

    users = []
    if conversation.branch_id:
        users = list(conversation.branch.managers.all())
    if not users:
        owner_ids = Membership.objects.filter(
            organization_id=conversation.organization_id, role=Role.OWNER, is_active=True
        ).values_list("user_id", flat=True)
        users = list(get_user_model().objects.filter(pk__in=owner_ids))
    if conversation.student_id:
        teacher_ids = (
            Enrollment.objects.filter(
                organization_id=conversation.organization_id,
                student_id=conversation.student_id,
                status__in=OPEN_ENROLLMENT_STATUSES,
                group__teacher__isnull=False,
            )
            .values_list("group__teacher_id", flat=True)
            .distinct()
        )
        known = {u.pk for u in users}
        users += [u for u in get_user_model().objects.filter(pk__in=teacher_ids) if u.pk not in known]
    return users


def _notify_staff(*, conversation: Conversation, post: ConversationPost) -> None:
    from kruzhok.messaging.services import message_enqueue

    earlier_unread = ConversationPost.all_objects.filter(
        conversation=conversation, side=Side.FAMILY, pk__lt=post.pk
    )
    if conversation.staff_read_at is not None:
        earlier_unread = earlier_unread.filter(created_at__gt=conversation.staff_read_at)
    if earlier_unread.exists():
        return  # staff already have a notice waiting for this thread
    who = conversation.guardian.full_name
    for user in staff_recipients(conversation=conversation):
        message_enqueue(
            org=conversation.organization,
            user=user,
            kind=MessageKind.CONVERSATION,
            subject=(_("Сообщение от семьи: %(who)s") % {"who": who})[:200],
            body=post.body[:1000],
            link=_link(conversation),
            conversation=conversation,
            dedupe_key=f"conv-staff:{post.pk}:{user.pk}",
        )


# --- Telegram: a family's text to the centre's bot -------------------------------------------------


def telegram_post_receive(
    *, org: Organization, user, chat_id: int, message_id: int | None, text: str, reply_to: int | None
) -> ConversationPost | None:
    """Files a linked parent's Telegram text in a conversation: the one whose notice they replied to,
    else their latest thread of the last two weeks, else a new one. None when the user is no guardian."""
    guardian = _guardians_of_user(user=user, org_id=org.pk).order_by("pk").first()
    if guardian is None:
        return None
    external_ref = f"tg:{chat_id}:{message_id}" if message_id is not None else ""
    if external_ref:
        # Telegram redelivers an update it thinks we missed: the post is already here.
        known = ConversationPost.all_objects.filter(organization_id=org.pk, external_ref=external_ref).first()
        if known is not None:
            return known
    conversation = None
    replied = None
    if reply_to is not None:
        replied = (
            Delivery.all_objects.filter(
                organization_id=org.pk,
                channel=Channel.TELEGRAM,
                address=str(chat_id),
                external_id=str(reply_to),
            )
            .select_related("message", "message__conversation")
            .first()
        )
        if replied is not None and replied.message.conversation_id:
            conversation = replied.message.conversation
    if conversation is None and replied is None:
        conversation = (
            Conversation.objects.filter(
                organization=org, guardian=guardian, last_post_at__gte=timezone.now() - TELEGRAM_CONTINUE
            )
            .order_by("-last_post_at", "-id")
            .first()
        )
    if conversation is None:
        about = replied.message if replied is not None else None
        subject = f"Re: {about.subject}" if about is not None else _("Сообщение в Telegram")
        conversation = conversation_start(
            org=org,
            actor=user,
            side=Side.FAMILY,
            guardian=guardian,
            student=about.student if about is not None and about.student_id else None,
            subject=subject[:SUBJECT_MAX],
            body=text[:POST_MAX],
            via="telegram",
            external_ref=external_ref,
        )
        return conversation.posts.order_by("pk").first()
    return conversation_post(
        conversation=conversation,
        actor=user,
        side=Side.FAMILY,
        body=text[:POST_MAX],
        via="telegram",
        external_ref=external_ref,
    )
