import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kruzhok.accounts.models import Membership, Organization, Role
from kruzhok.feedback import sentiment as sentiment_model
from kruzhok.feedback.aspects import aspects_of
from kruzhok.feedback.models import Feedback, FeedbackReply, Source, Status
from kruzhok.messaging.models import MessageKind
from kruzhok.messaging.services import message_enqueue
from kruzhok.school.models import (
    OPEN_ENROLLMENT_STATUSES,
    Branch,
    Enrollment,
    Guardian,
    Lesson,
    LessonStatus,
    Student,
)

TEXT_MAX = 2000
COMMENT_MAX = 1000
REPLY_MAX = 2000
# A pulse can be given for a week after the lesson; later memories are not a pulse.
PULSE_WINDOW = dt.timedelta(days=7)
# NPS calls 0–6 detractors; the alert is kept for the clearly unhappy ones so managers are not flooded.
NPS_ALERT_AT_OR_BELOW = 4


def _text(value: str, *, limit: int, required: bool) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationError(_("Напишите текст отзыва."), code="empty")
    if len(value) > limit:
        raise ValidationError(
            _("Слишком длинный текст: не больше %(max)d символов."), code="too_long", params={"max": limit}
        )
    return value


def _score(value) -> int | None:
    if value in (None, ""):
        return None
    try:
        score = int(value)
    except (TypeError, ValueError):
        score = 0
    if not 1 <= score <= 5:
        raise ValidationError(_("Оценка — число от 1 до 5."), code="invalid_score")
    return score


def _branch_of(*, org: Organization, student: Student | None, lesson: Lesson | None) -> Branch | None:
    if lesson is not None:
        return lesson.group.branch
    if student is None:
        return None
    enrollment = (
        Enrollment.objects.filter(organization=org, student=student, status__in=OPEN_ENROLLMENT_STATUSES)
        .select_related("group__branch")
        .first()
    )
    return enrollment.group.branch if enrollment else student.branch


def _enrollment_of(*, org: Organization, student: Student | None, lesson: Lesson | None) -> Enrollment | None:
    """The enrollment a piece of feedback is about, so it becomes a signal of that enrollment."""
    if student is None:
        return None
    qs = Enrollment.objects.filter(organization=org, student=student, status__in=OPEN_ENROLLMENT_STATUSES)
    if lesson is not None:
        qs = qs.filter(group_id=lesson.group_id)
    return qs.order_by("-started_on", "-pk").first()


def feedback_classify(feedback: Feedback) -> None:
    """Sets the tone, its confidence, the words behind it and the aspects of an unsaved feedback (the
    rules every feedback goes through; saving and alerting are the caller's)."""
    result = sentiment_model.analyse(feedback.text)
    label, confidence, terms = result.label, result.confidence, result.terms
    # A sad face is a negative answer even without words; a happy one without words is positive.
    if feedback.score is not None and feedback.score <= 2 and label != sentiment_model.POSITIVE:
        label, confidence = sentiment_model.NEGATIVE, max(confidence, 0.8)
        terms = [f"оценка {feedback.score}/5", *terms]
    elif feedback.score is not None and feedback.score >= 4 and label == sentiment_model.NEUTRAL:
        label, confidence = sentiment_model.POSITIVE, 0.7
    # A survey's 0–4 on "would you recommend us?" is a family about to leave, whatever the words say.
    if feedback.nps is not None and feedback.nps <= NPS_ALERT_AT_OR_BELOW:
        label, confidence = sentiment_model.NEGATIVE, max(confidence, 0.8)
        terms = [f"рекомендация {feedback.nps}/10", *[t for t in terms if not t.startswith("рекомендация")]]
    feedback.sentiment, feedback.sentiment_confidence, feedback.sentiment_terms = label, confidence, terms
    feedback.aspects = aspects_of(feedback.text)


def _alert_recipients(*, feedback: Feedback) -> list:
    managers = []
    if feedback.branch_id:
        managers = list(feedback.branch.managers.all())
    if not managers:
        owner_ids = Membership.objects.filter(
            organization_id=feedback.organization_id, role=Role.OWNER, is_active=True
        ).values_list("user_id", flat=True)
        from django.contrib.auth import get_user_model

        managers = list(get_user_model().objects.filter(pk__in=owner_ids))
    return managers


def _open_alert(*, feedback: Feedback) -> None:
    if feedback.sentiment != sentiment_model.NEGATIVE:
        return
    feedback.alert_open = True
    feedback.alert_opened_at = timezone.now()
    feedback.save(update_fields=["alert_open", "alert_opened_at", "updated_at"])
    who = (
        feedback.student.first_name
        if feedback.student_id
        else (feedback.guardian.full_name if feedback.guardian_id else "")
    )
    excerpt = feedback.text[:300] or _("оценка %(score)s из 5") % {"score": feedback.score}
    subject = _("Негативный отзыв: %(who)s") % {"who": who} if who else _("Негативный отзыв")
    body = _("%(source)s: «%(excerpt)s». Ответьте семье — отзыв открыт, пока нет ответа.") % {
        "source": feedback.get_source_display(),
        "excerpt": excerpt,
    }
    for manager in _alert_recipients(feedback=feedback):
        message_enqueue(
            org=feedback.organization,
            user=manager,
            kind=MessageKind.FEEDBACK_ALERT,
            subject=subject,
            body=body,
            link=reverse("feedback:feedback_detail", args=[feedback.pk]),
            dedupe_key=f"feedback-alert:{feedback.pk}:{manager.pk}",
        )


# The relations a service resolves itself; full_clean checks only the fields the family typed.
RESOLVED_RELATIONS = [
    "organization",
    "author",
    "guardian",
    "student",
    "lesson",
    "branch",
    "answered_by",
    "enrollment",
    "conversation",
]


def feedback_file(
    feedback: Feedback, *, validate: bool = True, validate_constraints: bool = True
) -> Feedback:
    """Classifies a new response, checks and saves it, and opens the manager's alert if it is negative.
    Every way feedback arrives (a message, a pulse, a survey, an import) goes through here."""
    feedback_classify(feedback)
    if validate:
        feedback.full_clean(exclude=RESOLVED_RELATIONS, validate_constraints=validate_constraints)
    feedback.save()
    _open_alert(feedback=feedback)
    return feedback


def feedback_submit(
    *,
    org: Organization,
    actor,
    guardian: Guardian,
    text: str,
    student: Student | None = None,
    score=None,
    conversation=None,
) -> Feedback:
    """A parent's free-text feedback at any time (optionally about one of their children)."""
    text = _text(text, limit=TEXT_MAX, required=True)
    score = _score(score)
    if guardian.organization_id != org.pk or (student is not None and student.organization_id != org.pk):
        raise ValidationError(_("Семья не найдена."), code="unknown_family")
    with transaction.atomic():
        feedback = Feedback(
            organization=org,
            source=Source.PARENT,
            author=actor,
            guardian=guardian,
            student=student,
            branch=_branch_of(org=org, student=student, lesson=None) or getattr(conversation, "branch", None),
            enrollment=_enrollment_of(org=org, student=student, lesson=None),
            conversation=conversation,
            text=text,
            score=score,
        )
        feedback_file(feedback)
    return feedback


def pulse_submit(
    *, org: Organization, actor, student: Student, lesson: Lesson, score, comment: str = ""
) -> Feedback:
    """A child's one-tap answer (1–5 faces) after a lesson of their group."""
    score = _score(score)
    if score is None:
        raise ValidationError(_("Выберите смайлик."), code="invalid_score")
    comment = _text(comment, limit=COMMENT_MAX, required=False)
    now = timezone.now()
    if lesson.organization_id != org.pk or student.organization_id != org.pk:
        raise ValidationError(_("Занятие не найдено."), code="unknown_lesson")
    in_group = Enrollment.objects.filter(
        organization=org, student=student, group_id=lesson.group_id, status__in=OPEN_ENROLLMENT_STATUSES
    ).exists()
    if not in_group:
        raise ValidationError(_("Это занятие не вашей группы."), code="not_in_group")
    if (
        lesson.status == LessonStatus.CANCELLED
        or lesson.starts_at > now
        or lesson.starts_at < now - PULSE_WINDOW
    ):
        raise ValidationError(_("Об этом занятии сейчас нельзя оставить отзыв."), code="not_open")
    try:
        with transaction.atomic():
            feedback = Feedback(
                organization=org,
                source=Source.PULSE,
                author=actor,
                student=student,
                lesson=lesson,
                branch=lesson.group.branch,
                enrollment=_enrollment_of(org=org, student=student, lesson=lesson),
                score=score,
                text=comment,
            )
            feedback_file(feedback, validate_constraints=False)
    except IntegrityError as error:
        raise ValidationError(
            _("Вы уже ответили про это занятие. Спасибо!"), code="already_answered"
        ) from error
    return feedback


def feedback_reply(*, feedback: Feedback, actor, body: str) -> FeedbackReply:
    """Answers the family in their inbox; the first answer closes the alert and stops its clock."""
    body = _text(body, limit=REPLY_MAX, required=True)
    now = timezone.now()
    with transaction.atomic():
        reply = FeedbackReply(
            organization_id=feedback.organization_id, feedback=feedback, author=actor, body=body
        )
        reply.full_clean(exclude=["organization", "feedback", "author"])
        reply.save()
        fields = ["status", "alert_open", "updated_at"]
        if feedback.first_answered_at is None:
            feedback.first_answered_at, feedback.answered_by = now, actor
            fields += ["first_answered_at", "answered_by"]
        feedback.alert_open = False
        if feedback.status in (Status.NEW, Status.IN_PROGRESS):
            feedback.status = Status.ANSWERED
        feedback.save(update_fields=fields)
        recipient_user = feedback.author
        guardian = feedback.guardian
        if feedback.conversation_id:
            # It came from a conversation (Telegram): the answer continues it and reaches them there.
            from kruzhok.messaging.conversations import conversation_post
            from kruzhok.messaging.models import Side

            conversation_post(conversation=feedback.conversation, actor=actor, side=Side.STAFF, body=body)
        elif recipient_user is not None or guardian is not None:
            message_enqueue(
                org=feedback.organization,
                user=recipient_user,
                guardian=guardian,
                student=feedback.student,
                kind=MessageKind.FEEDBACK_REPLY,
                subject=_("Ответ на ваш отзыв"),
                body=body,
                actor=actor,
            )
    return reply


def feedback_set_status(*, feedback: Feedback, status: str, actor) -> Feedback:
    if status not in Status.values:
        raise ValidationError(_("Неизвестный статус."), code="invalid_status")
    if status == Status.CLOSED and feedback.alert_open:
        raise ValidationError(
            _("Сначала ответьте семье: негативный отзыв закрывается ответом."), code="answer_required"
        )
    feedback.status = status
    feedback.save(update_fields=["status", "updated_at"])
    return feedback


IMPORT_MAX_ROWS = 5000
TEXT_COLUMNS = ("text", "текст", "отзыв", "review")
AUTHOR_COLUMNS = ("author", "автор", "имя", "name")
RATING_COLUMNS = ("rating", "оценка", "stars", "звёзды", "звезды")


def _pick(row: dict, names: tuple[str, ...]) -> str:
    lowered = {str(k or "").strip().lower(): v for k, v in row.items()}
    for name in names:
        value = lowered.get(name)
        if value not in (None, ""):
            return str(value).strip()
    return ""


def external_reviews_import(*, org: Organization, actor, branch: Branch | None, rows) -> dict:
    """Reviews exported from map services (CSV rows as dicts) into the same inbox: each gets sentiment,
    a negative one opens an alert. A row already imported (same author, rating and text) is skipped;
    a bad row is reported by its line number and the rest still go in."""
    import hashlib

    if branch is not None and branch.organization_id != org.pk:
        raise ValidationError(_("Филиал не найден."), code="unknown_branch")
    result = {"created": 0, "skipped": 0, "errors": []}
    for line, row in enumerate(rows, start=2):
        if line - 1 > IMPORT_MAX_ROWS:
            result["errors"].append(_("Строки после %(n)s не загружены.") % {"n": IMPORT_MAX_ROWS})
            break
        text = _pick(row, TEXT_COLUMNS)
        author = _pick(row, AUTHOR_COLUMNS)[:200]
        try:
            text = _text(text, limit=TEXT_MAX, required=True)
            raw_rating = _pick(row, RATING_COLUMNS)
            score = _score(raw_rating.split(".")[0].split(",")[0] if raw_rating else None)
        except ValidationError as error:
            result["errors"].append(
                _("Строка %(line)s: %(errors)s") % {"line": line, "errors": " ".join(error.messages)}
            )
            continue
        ref = hashlib.sha256(f"{author}\x00{score}\x00{text}".encode()).hexdigest()[:64]
        if Feedback.objects.filter(organization=org, external_ref=ref).exists():
            result["skipped"] += 1
            continue
        with transaction.atomic():
            feedback = Feedback(
                organization=org,
                source=Source.EXTERNAL,
                author=None,
                branch=branch,
                text=text,
                score=score,
                external_author=author,
                external_ref=ref,
            )
            feedback_file(feedback, validate=False)  # the import checked each row already
        result["created"] += 1
    return result
