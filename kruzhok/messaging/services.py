"""Writes for messaging: enqueue a message, drain the outbox, automatic and staff-written messages.

The outbox follows healthchecks' `sendalerts`: a worker picks candidate rows, then claims each with a
conditional UPDATE that succeeds for exactly one worker. Before touching the network it writes a
DeliveryAttempt row; so after a crash the next worker can tell "claimed but never sent" (safe to send)
from "send started, outcome unknown" (not resent: a message must never arrive twice).
"""

import datetime as dt
import logging
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kruzhok.accounts.models import Membership, Organization, Role
from kruzhok.lib.tenancy import for_each_organisation, tenant_context, unscoped
from kruzhok.messaging import texts
from kruzhok.messaging.channels import ADAPTERS, PermanentFailure, RetryLater
from kruzhok.messaging.models import (
    Announcement,
    AttemptOutcome,
    Audience,
    Channel,
    ContactPreference,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Message,
    MessageKind,
    MessagingSettings,
    PushSubscription,
)
from kruzhok.school.models import (
    OPEN_ENROLLMENT_STATUSES,
    Enrollment,
    Group,
    Guardian,
    Lesson,
    LessonStatus,
    Student,
    StudentGuardian,
)

logger = logging.getLogger(__name__)

SUBJECT_MAX = 200
BODY_MAX = 4000  # Telegram takes 4096 characters; the subject travels with the body.
# SMS costs money: it is tried only after the free channels, and only where a gateway is configured.
DEFAULT_CHANNELS = (Channel.TELEGRAM, Channel.WEBPUSH, Channel.EMAIL, Channel.SMS, Channel.INAPP)


def _setting(name: str, default):
    return getattr(settings, name, default)


def _zone(org_id: int) -> ZoneInfo:
    name = Organization.objects.filter(pk=org_id).values_list("timezone", flat=True).first()
    try:
        return ZoneInfo(name or "Europe/Moscow")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Europe/Moscow")


def messaging_settings_for(*, org_id: int) -> MessagingSettings | None:
    return MessagingSettings.all_objects.filter(organization_id=org_id).first()


def messaging_settings_update(*, org: Organization, **fields) -> MessagingSettings:
    with transaction.atomic():
        row, _created = MessagingSettings.all_objects.get_or_create(organization=org)
        for name, value in fields.items():
            setattr(row, name, value)
        row.full_clean(exclude=["organization"], validate_constraints=False)
        row.save()
    return row


def quiet_until(
    *, org_id: int, now: dt.datetime, settings_row: MessagingSettings | None
) -> dt.datetime | None:
    """The end of the children's quiet hours if `now` falls inside them, else None."""
    start = settings_row.quiet_start if settings_row else dt.time(21, 0)
    end = settings_row.quiet_end if settings_row else dt.time(8, 0)
    if start == end:
        return None
    zone = _zone(org_id)
    local = now.astimezone(zone)
    clock = local.time()
    inside = (start <= clock < end) if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    end_day = local.date() if clock < end else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(end_day, end, tzinfo=zone)


def _preference(message: Message) -> ContactPreference | None:
    prefs = ContactPreference.all_objects.filter(organization_id=message.organization_id)
    if message.guardian_id:
        found = prefs.filter(guardian_id=message.guardian_id).first()
        if found:
            return found
    user_id = message.user_id or (message.guardian.user_id if message.guardian_id else None)
    return prefs.filter(user_id=user_id).first() if user_id else None


def _push_address(*, org_id: int, user) -> str:
    if user is None or not _setting("VAPID_PRIVATE_KEY", ""):
        return ""
    pk = (
        PushSubscription.all_objects.filter(organization_id=org_id, user=user)
        .order_by("-created_at", "-id")
        .values_list("pk", flat=True)
        .first()
    )
    return str(pk) if pk else ""


def channel_plan(*, message: Message) -> list[tuple[str, str]]:
    """The ordered (channel, address) list the cascade walks; the in-app inbox always closes it."""
    pref = _preference(message)
    order = list(pref.channel_order if pref and pref.channel_order else DEFAULT_CHANNELS)
    opted_out = set(pref.opted_out if pref else [])
    guardian = message.guardian if message.guardian_id else None
    user = message.user if message.user_id else (guardian.user if guardian and guardian.user_id else None)
    email = (guardian.email if guardian else "") or (user.email if user else "")
    settings_row = messaging_settings_for(org_id=message.organization_id)
    addresses = {
        Channel.EMAIL: email,
        Channel.TELEGRAM: pref.telegram_chat_id
        if pref and settings_row and settings_row.telegram_bot_token
        else "",
        Channel.SMS: (guardian.phone if guardian else "") if _setting("SMS_GATEWAY_URL", "") else "",
        Channel.WEBPUSH: _push_address(org_id=message.organization_id, user=user),
        Channel.INAPP: "inbox",
    }
    plan: list[tuple[str, str]] = []
    for channel in order:
        if channel not in Channel.values or channel in (c for c, _ in plan):
            continue
        if channel != Channel.INAPP and (channel in opted_out or not addresses[channel]):
            continue
        plan.append((channel, addresses[channel]))
        if channel == Channel.INAPP:
            break  # the inbox never fails, so nothing after it would be tried
    if not plan or plan[-1][0] != Channel.INAPP:
        plan.append((Channel.INAPP, "inbox"))
    return plan


def _delivery_create(*, message: Message, plan: list, position: int, now: dt.datetime) -> Delivery | None:
    if position >= len(plan):
        return None
    channel, address = plan[position]
    not_before = now
    if message.recipient_is_child and channel != Channel.INAPP:
        settings_row = messaging_settings_for(org_id=message.organization_id)
        not_before = quiet_until(org_id=message.organization_id, now=now, settings_row=settings_row) or now
    return Delivery.all_objects.create(
        organization_id=message.organization_id,
        message=message,
        channel=channel,
        address=address,
        payload={"plan": [list(step) for step in plan]},
        position=position,
        next_attempt_at=not_before,
    )


def _clean_text(value: str, *, limit: int, empty: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError(empty, code="empty")
    if len(value) > limit:
        raise ValidationError(
            _("Слишком длинный текст: не больше %(max)d символов."), code="too_long", params={"max": limit}
        )
    return value


def message_enqueue(
    *,
    org: Organization,
    subject: str,
    body: str,
    kind: str = MessageKind.OTHER,
    user=None,
    guardian: Guardian | None = None,
    student: Student | None = None,
    dedupe_key: str = "",
    announcement: Announcement | None = None,
    actor=None,
    link: str = "",
    now: dt.datetime | None = None,
    conversation=None,
) -> Message:
    """Stores a message for one recipient and queues its first channel. With a `dedupe_key`, a second
    call returns the first message and queues nothing."""
    subject = _clean_text(subject, limit=SUBJECT_MAX, empty=_("Заполните тему."))
    body = _clean_text(body, limit=BODY_MAX, empty=_("Заполните текст."))
    if user is None and guardian is None:
        raise ValidationError(_("Не указан получатель."), code="unknown_recipient")
    if guardian is not None and guardian.organization_id != org.pk:
        raise ValidationError(_("Получатель не найден в этой организации."), code="unknown_recipient")
    role = None
    if user is not None:
        role = (
            Membership.objects.filter(organization=org, user=user, is_active=True)
            .values_list("role", flat=True)
            .first()
        )
        # A guardian is reachable by email/Telegram even when their account has left the centre.
        if role is None and guardian is None:
            raise ValidationError(_("Получатель не найден в этой организации."), code="unknown_recipient")
        if role is None:
            user = None
    now = now or timezone.now()
    with transaction.atomic():
        if dedupe_key:
            existing = Message.all_objects.filter(organization=org, dedupe_key=dedupe_key).first()
            if existing is not None:
                return existing
        message = Message(
            organization=org,
            user=user,
            guardian=guardian,
            student=student,
            recipient_is_child=role == Role.STUDENT,
            kind=kind,
            subject=subject,
            body=body,
            link=link,
            dedupe_key=dedupe_key[:200],
            announcement=announcement,
            created_by=actor,
            conversation=conversation,
        )
        message.full_clean(
            exclude=[
                "organization",
                "user",
                "guardian",
                "student",
                "announcement",
                "created_by",
                "conversation",
            ],
            validate_constraints=False,
        )
        try:
            with transaction.atomic():
                message.save()
        except IntegrityError:
            # Another process stored the same automatic message a moment earlier.
            return Message.all_objects.get(organization=org, dedupe_key=dedupe_key)
        _delivery_create(message=message, plan=channel_plan(message=message), position=0, now=now)
    return message


def message_mark_read(*, message: Message) -> Message:
    """Opening a message in the app confirms every channel that carried it (the cascade stops)."""
    if message.read_at is None:
        message.read_at = timezone.now()
        Message.all_objects.filter(pk=message.pk, read_at__isnull=True).update(read_at=message.read_at)
        Delivery.all_objects.filter(
            message_id=message.pk, status=DeliveryStatus.SENT, confirmed_at__isnull=True
        ).update(confirmed_at=message.read_at, confirm_by=None, updated_at=message.read_at)
    return message


# --- the outbox worker -------------------------------------------------------------------------


def _claimable(now: dt.datetime):
    stale = now - dt.timedelta(seconds=_setting("MESSAGING_CLAIM_TIMEOUT", 300))
    return (
        Delivery.all_objects.filter(
            Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            | Q(status=DeliveryStatus.SENDING, claimed_at__lt=stale)
        )
        .select_related("message", "message__guardian", "message__user")
        .order_by("next_attempt_at", "id")
    )


def delivery_claim(*, delivery: Delivery, now: dt.datetime) -> bool:
    """True for exactly one worker: the UPDATE only matches the row as this worker saw it."""
    updated = Delivery.all_objects.filter(
        pk=delivery.pk, status=delivery.status, claimed_at=delivery.claimed_at
    ).update(status=DeliveryStatus.SENDING, claimed_at=now, updated_at=now)
    if updated != 1:
        # Nothing got updated: another worker got there first.
        return False
    delivery.status, delivery.claimed_at = DeliveryStatus.SENDING, now
    return True


def _finish(delivery: Delivery, *, now: dt.datetime, **fields) -> None:
    Delivery.all_objects.filter(pk=delivery.pk).update(updated_at=now, **fields)
    for name, value in fields.items():
        setattr(delivery, name, value)


def _fail_and_cascade(delivery: Delivery, *, now: dt.datetime, error: str) -> Delivery | None:
    with transaction.atomic():
        _finish(delivery, now=now, status=DeliveryStatus.FAILED, processed_at=now, last_error=error[:500])
        return _cascade_next(delivery, now=now)


def _cascade_next(delivery: Delivery, *, now: dt.datetime) -> Delivery | None:
    """Queues the next channel of the delivery's plan that this message has not used yet."""
    with transaction.atomic():
        plan = [tuple(step) for step in delivery.payload.get("plan", [])] or channel_plan(
            message=delivery.message
        )
        taken = set(
            Delivery.all_objects.filter(message_id=delivery.message_id).values_list("channel", flat=True)
        )
        position = delivery.position + 1
        while position < len(plan) and plan[position][0] in taken:
            position += 1
        return _delivery_create(message=delivery.message, plan=plan, position=position, now=now)


def delivery_send(*, delivery: Delivery, now: dt.datetime | None = None) -> str:
    """Sends one claimed delivery and records the outcome; returns the attempt's outcome."""
    now = now or timezone.now()
    open_attempts = DeliveryAttempt.all_objects.filter(delivery=delivery, outcome=AttemptOutcome.STARTED)
    if open_attempts.exists():
        # A previous worker handed the message to the channel and died before hearing back.
        open_attempts.update(outcome=AttemptOutcome.UNKNOWN, finished_at=now, detail="исполнитель прерван")
        _finish(
            delivery,
            now=now,
            status=DeliveryStatus.UNKNOWN,
            processed_at=now,
            last_error="исполнитель прервался во время отправки; повтор мог бы дать дубль",
        )
        return AttemptOutcome.UNKNOWN
    number = delivery.attempts + 1
    attempt = DeliveryAttempt.all_objects.create(
        organization_id=delivery.organization_id, delivery=delivery, number=number, started_at=now
    )
    Delivery.all_objects.filter(pk=delivery.pk).update(attempts=F("attempts") + 1)
    delivery.attempts = number
    settings_row = messaging_settings_for(org_id=delivery.organization_id)
    try:
        note = ADAPTERS[delivery.channel].send(delivery=delivery, settings_row=settings_row)
    except RetryLater as retry:
        outcome = AttemptOutcome.RATE_LIMITED if retry.rate_limited else AttemptOutcome.RETRY
        _log(attempt, outcome=outcome, detail=retry.detail)
        transient = DeliveryAttempt.all_objects.filter(
            delivery=delivery, outcome=AttemptOutcome.RETRY
        ).count()
        if not retry.rate_limited and transient >= _setting("MESSAGING_MAX_RETRIES", 5):
            _fail_and_cascade(delivery, now=timezone.now(), error=retry.detail)
            return AttemptOutcome.FAILED
        # 429 never exhausts: Telegram says when to come back and the message waits exactly that long.
        wait = retry.seconds if retry.rate_limited else max(retry.seconds, 30 * 2 ** (transient - 1))
        _finish(
            delivery,
            now=now,
            status=DeliveryStatus.PENDING,
            claimed_at=None,
            next_attempt_at=timezone.now() + dt.timedelta(seconds=wait),
            last_error=retry.detail[:500],
        )
        return outcome
    except PermanentFailure as failure:
        _log(attempt, outcome=AttemptOutcome.FAILED, detail=failure.detail)
        _fail_and_cascade(delivery, now=timezone.now(), error=failure.detail)
        return AttemptOutcome.FAILED
    except Exception as error:  # an adapter bug must not stop the worker or lose the message
        logger.exception("delivery %s failed unexpectedly", delivery.pk)
        _log(attempt, outcome=AttemptOutcome.FAILED, detail=f"внутренняя ошибка: {type(error).__name__}")
        _fail_and_cascade(delivery, now=timezone.now(), error=type(error).__name__)
        return AttemptOutcome.FAILED
    _log(attempt, outcome=AttemptOutcome.SENT, detail=note)
    done = timezone.now()
    confirm_by = _confirmation_deadline(delivery, settings_row=settings_row, sent_at=done)
    _finish(
        delivery,
        now=now,
        status=DeliveryStatus.SENT,
        processed_at=done,
        last_error="",
        external_id=(getattr(delivery, "external_id", "") or "")[:64],
        confirm_by=confirm_by,
        confirmed_at=None if confirm_by else done,
    )
    return AttemptOutcome.SENT


# What "confirmed" means per channel (docs/messaging.md): Telegram's 200 with a message_id, an SMTP 250
# and an SMS gateway's acceptance are the last word those channels give us, so they confirm at once.
# A push service's 201 only means "queued for the browser": it is confirmed when the service worker
# reports the notification shown, or the person opens the message; until then the cascade waits.
AWAITS_CONFIRMATION = {Channel.WEBPUSH}


def _confirmation_deadline(
    delivery: Delivery, *, settings_row: MessagingSettings | None, sent_at: dt.datetime
) -> dt.datetime | None:
    if delivery.channel not in AWAITS_CONFIRMATION:
        return None
    minutes = settings_row.push_confirm_minutes if settings_row else 30
    plan = delivery.payload.get("plan") or []
    if not minutes or delivery.position + 1 >= len(plan):
        return None  # nothing left to fall back to: waiting would change nothing
    return sent_at + dt.timedelta(minutes=minutes)


def delivery_confirm(*, delivery_id: int, org_id: int | None = None, now: dt.datetime | None = None) -> bool:
    """The channel (or the person) confirmed the delivery; the cascade will not move on. True when this
    call confirmed it."""
    now = now or timezone.now()
    rows = Delivery.all_objects.filter(pk=delivery_id, confirmed_at__isnull=True, status=DeliveryStatus.SENT)
    if org_id is not None:
        rows = rows.filter(organization_id=org_id)
    return rows.update(confirmed_at=now, confirm_by=None, updated_at=now) == 1


def deliveries_unconfirmed_cascade(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Periodic: a delivery not confirmed by its deadline is marked `expired` and the next channel is
    queued. The conditional UPDATE lets exactly one worker act on each row. Returns how many moved on."""
    now = now or timezone.now()
    moved = 0
    with unscoped():
        overdue = list(
            Delivery.all_objects.filter(
                status=DeliveryStatus.SENT, confirmed_at__isnull=True, confirm_by__lt=now
            )
            .select_related("message", "message__guardian", "message__user")
            .order_by("confirm_by", "id")[:limit]
        )
        for delivery in overdue:
            if delivery.message.read_at is not None:
                # Opened in the app after all: that is the confirmation.
                delivery_confirm(delivery_id=delivery.pk, now=now)
                continue
            with transaction.atomic():
                taken = Delivery.all_objects.filter(
                    pk=delivery.pk,
                    status=DeliveryStatus.SENT,
                    confirmed_at__isnull=True,
                    confirm_by=delivery.confirm_by,
                ).update(
                    status=DeliveryStatus.EXPIRED,
                    confirm_by=None,
                    last_error="не подтверждено вовремя: пробуем следующий канал",
                    updated_at=now,
                )
                if taken != 1:
                    continue  # another worker moved it on, or it was confirmed a moment ago
                with tenant_context(delivery.organization_id):
                    _cascade_next(delivery, now=now)
            moved += 1
    return moved


def _log(attempt: DeliveryAttempt, *, outcome: str, detail: str) -> None:
    attempt.outcome, attempt.detail, attempt.finished_at = outcome, detail[:500], timezone.now()
    attempt.save(update_fields=["outcome", "detail", "finished_at", "updated_at"])


def _next_local_midnight(org_id: int, moment: dt.datetime) -> dt.datetime:
    zone = _zone(org_id)
    return dt.datetime.combine(
        moment.astimezone(zone).date() + dt.timedelta(days=1), dt.time.min, tzinfo=zone
    )


def _over_daily_limit(delivery: Delivery, moment: dt.datetime, sent_today: dict[int, int]) -> bool:
    row = messaging_settings_for(org_id=delivery.organization_id)
    if row is None or not row.daily_limit:
        return False
    org_id = delivery.organization_id
    if org_id not in sent_today:
        day_start = _next_local_midnight(org_id, moment) - dt.timedelta(days=1)
        sent_today[org_id] = (
            Delivery.all_objects.filter(
                organization_id=org_id, status=DeliveryStatus.SENT, processed_at__gte=day_start
            )
            .exclude(channel=Channel.INAPP)
            .count()
        )
    return sent_today[org_id] >= row.daily_limit


def outbox_drain(*, limit: int = 200, now: dt.datetime | None = None) -> dict[str, int]:
    """One pass over due deliveries of every organisation. Safe to run in several processes at once."""
    totals = {"claimed": 0, "skipped": 0, "deferred": 0}
    last_to_chat: dict[str, dt.datetime] = {}
    sent_today: dict[int, int] = {}
    with unscoped():
        candidates = list(_claimable(now or timezone.now())[:limit])
        for delivery in candidates:
            moment = now or timezone.now()
            if not delivery_claim(delivery=delivery, now=moment):
                totals["skipped"] += 1
                continue
            totals["claimed"] += 1
            if delivery.channel != Channel.INAPP and _over_daily_limit(delivery, moment, sent_today):
                # The organisation's daily budget is spent: the message waits for tomorrow, it is not dropped.
                _finish(
                    delivery,
                    now=moment,
                    status=DeliveryStatus.PENDING,
                    claimed_at=None,
                    next_attempt_at=_next_local_midnight(delivery.organization_id, moment),
                )
                totals["deferred"] += 1
                continue
            chat = f"{delivery.organization_id}:{delivery.address}"
            if delivery.channel == Channel.TELEGRAM and chat in last_to_chat:
                # Telegram allows about one message a second to one chat: come back in a second.
                _finish(
                    delivery,
                    now=moment,
                    status=DeliveryStatus.PENDING,
                    claimed_at=None,
                    next_attempt_at=last_to_chat[chat] + dt.timedelta(seconds=1),
                )
                totals["deferred"] += 1
                continue
            with tenant_context(delivery.organization_id):
                outcome = delivery_send(delivery=delivery, now=moment)
            if delivery.channel == Channel.TELEGRAM:
                last_to_chat[chat] = moment
            if delivery.channel != Channel.INAPP and outcome == AttemptOutcome.SENT:
                sent_today[delivery.organization_id] = sent_today.get(delivery.organization_id, 0) + 1
            key = outcome or "unknown"
            totals[key] = totals.get(key, 0) + 1
    return totals


# --- automatic messages ------------------------------------------------------------------------


def absence_notice_enqueue(*, org: Organization, lesson_id: int, student_id: int) -> list[Message]:
    """«Маша не пришла на занятие по робототехнике»: once per lesson, child and guardian, and only on
    the lesson's own day (a journal corrected a week later must not alarm a family)."""
    lesson = (
        Lesson.objects.select_related("group", "group__course")
        .filter(organization=org, pk=lesson_id, status=LessonStatus.SCHEDULED)
        .first()
    )
    student = Student.objects.filter(organization=org, pk=student_id).first()
    if lesson is None or student is None:
        return []
    zone = _zone(org.pk)
    start = lesson.starts_at.astimezone(zone)
    if start.date() != timezone.localdate(timezone=zone):
        return []
    course = lesson.group.course
    body = (
        f"{student.first_name} {texts.absence_verb(student.first_name)} "
        f"{texts.lesson_phrase(subject=course.subject, course_title=course.title)} "
        + _(
            "сегодня в %(time)s (группа «%(group)s»). "
            "Если это ошибка или причина уважительная, напишите администратору центра."
        )
        % {"time": f"{start:%H:%M}", "group": lesson.group.name}
    )
    messages = []
    links = StudentGuardian.objects.filter(organization=org, student=student).select_related("guardian")
    for link in links:
        messages.append(
            message_enqueue(
                org=org,
                guardian=link.guardian,
                user=link.guardian.user,
                student=student,
                kind=MessageKind.ABSENCE,
                subject=_("%(name)s: пропуск занятия") % {"name": student.first_name},
                body=body,
                dedupe_key=f"absence:{lesson.pk}:{student.pk}:{link.guardian_id}",
            )
        )
    return messages


def _announcement_targets(*, org: Organization, audience: str, group, guardian) -> list[tuple]:
    """(guardian, child, group) triples the announcement goes to."""
    targets = []
    if audience == Audience.GROUP:
        if group is None or group.organization_id != org.pk:
            raise ValidationError(_("Выберите группу."), code="unknown_recipient")
        enrollments = Enrollment.objects.filter(
            organization=org, group=group, status__in=OPEN_ENROLLMENT_STATUSES
        ).select_related("student")
        students = {e.student_id: e.student for e in enrollments}
        links = StudentGuardian.objects.filter(organization=org, student_id__in=students).select_related(
            "guardian", "guardian__user"
        )
        for link in links.order_by("student_id", "guardian_id"):
            targets.append((link.guardian, students[link.student_id], group))
    elif audience == Audience.FAMILY:
        if guardian is None or guardian.organization_id != org.pk:
            raise ValidationError(_("Выберите семью."), code="unknown_recipient")
        links = StudentGuardian.objects.filter(organization=org, guardian=guardian).select_related("student")
        for link in links.order_by("student__first_name"):
            enrollment = (
                Enrollment.objects.filter(
                    organization=org, student=link.student, status__in=OPEN_ENROLLMENT_STATUSES
                )
                .select_related("group", "group__course")
                .first()
            )
            targets.append((guardian, link.student, enrollment.group if enrollment else None))
        if not targets:
            targets.append((guardian, None, None))
    else:
        raise ValidationError(_("Выберите, кому отправить."), code="invalid_audience")
    return targets


def announcement_send(
    *,
    org: Organization,
    actor,
    title: str,
    body_template: str,
    audience: str,
    group: Group | None = None,
    guardian: Guardian | None = None,
) -> Announcement:
    """Renders the template for every family first (any missing value stops it all: nothing half-sent),
    then stores the announcement and queues one message per guardian (per child when the text names the child)."""
    title = _clean_text(title, limit=SUBJECT_MAX, empty=_("Заполните тему."))
    body_template = _clean_text(body_template, limit=BODY_MAX, empty=_("Заполните текст."))
    texts.template_check(title)
    texts.template_check(body_template)
    targets = _announcement_targets(org=org, audience=audience, group=group, guardian=guardian)
    if not targets:
        raise ValidationError(
            _("В этой группе пока нет семей, которым можно написать."), code="no_recipients"
        )
    per_child = any(
        texts.VARIABLES.get(name) == "child" for name in texts.VARIABLE.findall(body_template + title)
    )
    rendered = []
    seen = set()
    for target_guardian, child, target_group in targets:
        key = (target_guardian.pk, child.pk if (child and per_child) else None)
        if key in seen:
            continue
        seen.add(key)
        context = {
            "child": child.first_name if child else "",
            "parent": target_guardian.full_name,
            "group": target_group.name if target_group else "",
            "course": target_group.course.title if target_group else "",
            "org": org.name,
        }
        rendered.append(
            (
                target_guardian,
                child,
                texts.template_render(title, context),
                texts.template_render(body_template, context),
                key,
            )
        )
    with transaction.atomic():
        announcement = Announcement(
            organization=org,
            title=title,
            body_template=body_template,
            audience=audience,
            group=group if audience == Audience.GROUP else None,
            guardian=guardian if audience == Audience.FAMILY else None,
            created_by=actor,
        )
        announcement.full_clean(exclude=["organization", "group", "guardian", "created_by"])
        announcement.save()
        for target_guardian, child, subject, body, key in rendered:
            message_enqueue(
                org=org,
                guardian=target_guardian,
                user=target_guardian.user,
                student=child,
                kind=MessageKind.ANNOUNCEMENT,
                subject=subject[:SUBJECT_MAX],
                body=body[:BODY_MAX],
                announcement=announcement,
                actor=actor,
                dedupe_key=f"ann:{announcement.pk}:{key[0]}:{key[1] or 0}",
            )
    return announcement


def preference_update(
    *,
    org: Organization,
    user,
    channel_order: list[str],
    opted_out: list[str],
    telegram_chat_id: str | None = None,
) -> ContactPreference:
    if any(c not in Channel.values for c in [*channel_order, *opted_out]):
        raise ValidationError(_("Неизвестный канал."), code="invalid_channel")
    with transaction.atomic():
        pref, _created = ContactPreference.all_objects.get_or_create(organization=org, user=user)
        pref.channel_order = list(dict.fromkeys(channel_order))
        pref.opted_out = sorted(set(opted_out) - {Channel.INAPP})
        if telegram_chat_id is not None:
            pref.telegram_chat_id = telegram_chat_id
        pref.full_clean(exclude=["organization", "user", "guardian"], validate_constraints=False)
        pref.save()
    return pref


# --- Telegram linking: t.me/<bot>?start=<code> ---------------------------------------------------


def telegram_link_start(*, org: Organization, user) -> str:
    """A fresh one-time code for the deep link; an earlier unused code stops working."""
    import secrets

    with transaction.atomic():
        pref, _created = ContactPreference.all_objects.get_or_create(organization=org, user=user)
        pref.telegram_link_token = secrets.token_urlsafe(24)
        pref.save(update_fields=["telegram_link_token", "updated_at"])
    return pref.telegram_link_token


def telegram_webhook_secret_ensure(*, org: Organization) -> MessagingSettings:
    import secrets

    row = messaging_settings_for(org_id=org.pk) or messaging_settings_update(org=org)
    if not row.telegram_webhook_secret:
        row.telegram_webhook_secret = secrets.token_urlsafe(32)
        row.save(update_fields=["telegram_webhook_secret", "updated_at"])
    return row


def _telegram_text_received(*, settings_row: MessagingSettings, message: dict) -> str:
    """A linked parent wrote to the bot: the text lands in their conversation with the centre (the one
    whose notice they replied to), and is published for whoever else listens (feedback reads its tone)."""
    from kruzhok.lib import events
    from kruzhok.messaging.conversations import telegram_post_receive

    chat_id = message["chat"]["id"]
    text = message["text"].strip()
    pref = (
        ContactPreference.all_objects.filter(
            organization_id=settings_row.organization_id, telegram_chat_id=str(chat_id), user__isnull=False
        )
        .select_related("user")
        .order_by("pk")
        .first()
    )
    if pref is None or not text:
        return "ignored"
    reply = message.get("reply_to_message")
    reply_to = reply.get("message_id") if isinstance(reply, dict) else None
    message_id = message.get("message_id")
    org = Organization.objects.get(pk=settings_row.organization_id)
    post = telegram_post_receive(
        org=org,
        user=pref.user,
        chat_id=chat_id,
        message_id=message_id if isinstance(message_id, int) else None,
        text=text,
        reply_to=reply_to if isinstance(reply_to, int) else None,
    )
    events.publish(
        "messaging.telegram_text",
        organization_id=settings_row.organization_id,
        user_id=pref.user_id,
        chat_id=chat_id,
        text=text,
        conversation_id=post.conversation_id if post is not None else None,
    )
    return "text" if post is not None else "ignored"


def telegram_update_handle(*, settings_row: MessagingSettings, update: dict) -> str:
    """Handles one Bot API Update sent to the organisation's webhook. Only `/start <code>` does
    anything today: it binds the chat to the person who asked for the code. Returns what happened."""
    message = update.get("message") if isinstance(update, dict) else None
    if not isinstance(message, dict):
        return "ignored"
    text = message.get("text")
    chat = message.get("chat")
    if not isinstance(text, str) or not isinstance(chat, dict) or not isinstance(chat.get("id"), int):
        return "ignored"
    command, _sep, code = text.strip().partition(" ")
    if command != "/start":
        return _telegram_text_received(settings_row=settings_row, message=message)
    if not code.strip() or len(code) > 64:
        return "ignored"
    with transaction.atomic():
        pref = (
            ContactPreference.all_objects.select_for_update()
            .filter(organization_id=settings_row.organization_id, telegram_link_token=code.strip())
            .first()
        )
        if pref is None:
            return "unknown_code"
        pref.telegram_chat_id = str(chat["id"])
        pref.telegram_link_token = None
        pref.save(update_fields=["telegram_chat_id", "telegram_link_token", "updated_at"])
        if pref.user_id:
            org = Organization.objects.get(pk=settings_row.organization_id)
            with tenant_context(org.pk):
                message_enqueue(
                    org=org,
                    user=pref.user,
                    subject=_("Telegram подключён"),
                    body=_("Теперь сообщения центра будут приходить в Telegram."),
                    dedupe_key=f"tg-linked:{pref.pk}:{chat['id']}",
                )
    return "linked"


def push_subscription_save(
    *, org: Organization, user, endpoint: str, p256dh: str, auth: str
) -> PushSubscription:
    """Stores the browser's PushSubscription. Push services are HTTPS; plain HTTP only where a setting
    allows it (the fake push service in tests)."""
    import base64
    from urllib.parse import urlsplit

    endpoint = (endpoint or "").strip()
    parts = urlsplit(endpoint)
    allowed = ("https", "http") if _setting("MESSAGING_PUSH_ALLOW_HTTP", False) else ("https",)
    if parts.scheme not in allowed or not parts.netloc or len(endpoint) > 1000:
        raise ValidationError(_("Неверный адрес подписки."), code="invalid_subscription")
    try:
        key = base64.urlsafe_b64decode(p256dh + "=" * (-len(p256dh) % 4))
        secret = base64.urlsafe_b64decode(auth + "=" * (-len(auth) % 4))
    except (ValueError, TypeError) as error:
        raise ValidationError(_("Неверные ключи подписки."), code="invalid_subscription") from error
    if len(key) != 65 or key[0] != 4 or len(secret) != 16:
        raise ValidationError(_("Неверные ключи подписки."), code="invalid_subscription")
    with transaction.atomic():
        subscription, _created = PushSubscription.all_objects.update_or_create(
            organization=org, endpoint=endpoint, defaults={"user": user, "p256dh": p256dh, "auth": auth}
        )
    return subscription


# --- weekly digest ---------------------------------------------------------------------------------

# Lines higher apps add to each child's digest (achievements, the teacher's word): a function
# (org=, student_id=, since=, until=) -> list[str], appended in their AppConfig.ready(), so messaging
# never imports them. A failing section is left out; the digest still goes.
DIGEST_SECTIONS: list = []


def _digest_extra_lines(
    *, org: Organization, student_id: int, since: dt.datetime, until: dt.datetime
) -> list[str]:
    lines: list[str] = []
    for section in DIGEST_SECTIONS:
        try:
            lines += [
                str(line)[:500] for line in section(org=org, student_id=student_id, since=since, until=until)
            ]
        except Exception:
            logger.exception("digest section %s failed", section)
    return lines


def weekly_digest_enqueue(*, org: Organization, today: dt.date | None = None) -> int:
    """One message per child and guardian about the past seven days: visits, misses, the latest homework
    and the next lesson. Once per ISO week (dedupe key), so a re-run the same week sends nothing."""
    from kruzhok.attendance.models import AttendanceMark
    from kruzhok.homework.selectors import week_line as homework_week_line

    zone = _zone(org.pk)
    today = today or timezone.localdate(timezone=zone)
    week_start = dt.datetime.combine(today - dt.timedelta(days=7), dt.time.min, tzinfo=zone)
    now_at = dt.datetime.combine(today, dt.time.max, tzinfo=zone)
    year, week, _weekday = today.isocalendar()
    sent = 0
    enrollments = (
        Enrollment.objects.filter(organization=org, status__in=OPEN_ENROLLMENT_STATUSES)
        .select_related("student", "group", "group__course")
        .order_by("student_id", "pk")
    )
    by_student: dict[int, list[Enrollment]] = {}
    for enrollment in enrollments:
        by_student.setdefault(enrollment.student_id, []).append(enrollment)
    for student_id, student_enrollments in by_student.items():
        student = student_enrollments[0].student
        marks = AttendanceMark.objects.filter(
            organization=org,
            student_id=student_id,
            lesson__starts_at__gte=week_start,
            lesson__starts_at__lte=now_at,
        )
        came = marks.filter(status__in=("present", "late")).count()
        missed = marks.filter(status__in=("absent", "excused")).count()
        groups = [e.group_id for e in student_enrollments]
        lessons = Lesson.objects.filter(organization=org, group_id__in=groups, status=LessonStatus.SCHEDULED)
        homework = lessons.filter(starts_at__lte=now_at).exclude(homework="").order_by("-starts_at").first()
        upcoming = (
            lessons.filter(starts_at__gt=now_at).select_related("group__course").order_by("starts_at").first()
        )
        lines = [
            ngettext(
                "%(name)s за неделю: был(а) на %(came)s занятии, пропустил(а) %(missed)s.",
                "%(name)s за неделю: был(а) на %(came)s занятиях, пропустил(а) %(missed)s.",
                came,
            )
            % {"name": student.first_name, "came": came, "missed": missed}
        ]
        homework_done = homework_week_line(org=org, student_id=student_id, since=week_start, until=now_at)
        if homework_done:
            lines.append(homework_done)
        if homework is not None:
            lines.append(_("Домашнее задание: %(text)s") % {"text": homework.homework[:500]})
        if upcoming is not None:
            when = upcoming.starts_at.astimezone(zone)
            lines.append(
                _("Следующее занятие: %(course)s, %(date)s в %(time)s.")
                % {"course": upcoming.group.course.title, "date": f"{when:%d.%m}", "time": f"{when:%H:%M}"}
            )
        if homework is not None and homework.topic:
            lines.append(_("Последняя тема: «%(topic)s».") % {"topic": homework.topic})
        lines += _digest_extra_lines(org=org, student_id=student_id, since=week_start, until=now_at)
        links = StudentGuardian.objects.filter(organization=org, student_id=student_id).select_related(
            "guardian"
        )
        for link in links:
            key = f"digest:{year}-W{week:02d}:{student_id}:{link.guardian_id}"
            if Message.objects.filter(organization=org, dedupe_key=key).exists():
                continue
            message_enqueue(
                org=org,
                guardian=link.guardian,
                user=link.guardian.user,
                student=student,
                kind=MessageKind.DIGEST,
                subject=_("%(name)s: итоги недели") % {"name": student.first_name},
                body="\n".join(lines),
                dedupe_key=key,
            )
            sent += 1
    return sent


def weekly_digest_all(*, today: dt.date | None = None) -> dict[str, int]:
    return for_each_organisation(weekly_digest_enqueue, count_key="messages", today=today)
