"""Parent surveys: «would you recommend us?» 0–10 (NPS) and satisfaction 1–5, per enrollment.

The first invitation goes after the child's Nth attended lesson (4 by default), then every N days while
the child studies (90 by default), both set by the centre. A daily job sends them (idempotent: one
invitation per enrollment, guardian and day), the parent answers with one tap on a page linked from
the message, and a low answer raises the same negative-feedback alert as any other feedback.
"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kruzhok.accounts.models import Organization
from kruzhok.attendance.models import AttendanceMark
from kruzhok.feedback.models import Feedback, FeedbackSettings, Source, Survey
from kruzhok.lib.dates import org_today
from kruzhok.lib.tenancy import for_each_organisation
from kruzhok.messaging.models import MessageKind
from kruzhok.messaging.services import message_enqueue
from kruzhok.school.models import OPEN_ENROLLMENT_STATUSES, Enrollment, StudentGuardian

COMMENT_MAX = 1000
# An invitation can be answered for this long; later it is history, not a pulse.
ANSWER_WINDOW = dt.timedelta(days=30)


def feedback_settings_for(*, org: Organization) -> FeedbackSettings:
    row = FeedbackSettings.all_objects.filter(organization=org).first()
    return row or FeedbackSettings(organization=org)


def feedback_settings_update(*, org: Organization, survey_after_lessons: int, survey_every_days: int):
    if not 1 <= int(survey_after_lessons) <= 100:
        raise ValidationError(_("Номер занятия — от 1 до 100."), code="invalid")
    if not 0 <= int(survey_every_days) <= 730:
        raise ValidationError(_("Период — от 0 до 730 дней."), code="invalid")
    with transaction.atomic():
        row, _created = FeedbackSettings.all_objects.get_or_create(organization=org)
        row.survey_after_lessons = int(survey_after_lessons)
        row.survey_every_days = int(survey_every_days)
        row.save()
    return row


def _due(*, org: Organization, today: dt.date) -> list[tuple[Enrollment, object, str]]:
    """(enrollment, guardian, reason) pairs that should get an invitation today."""
    rules = feedback_settings_for(org=org)
    enrollments = list(
        Enrollment.objects.filter(organization=org, status__in=OPEN_ENROLLMENT_STATUSES).select_related(
            "student", "group", "group__course"
        )
    )
    if not enrollments:
        return []
    ids = [e.pk for e in enrollments]
    attended = dict(
        AttendanceMark.objects.filter(organization=org, enrollment_id__in=ids, status__in=("present", "late"))
        .values("enrollment_id")
        .annotate(n=Count("pk"))
        .values_list("enrollment_id", "n")
    )
    last_sent = {
        (row["enrollment_id"], row["guardian_id"]): row["last"]
        for row in Survey.objects.filter(organization=org, enrollment_id__in=ids)
        .values("enrollment_id", "guardian_id")
        .annotate(last=Max("sent_on"))
    }
    guardians: dict[int, list] = {}
    for link in StudentGuardian.objects.filter(
        organization=org, student_id__in={e.student_id for e in enrollments}
    ).select_related("guardian", "guardian__user"):
        guardians.setdefault(link.student_id, []).append(link.guardian)
    due = []
    for enrollment in enrollments:
        if attended.get(enrollment.pk, 0) < rules.survey_after_lessons:
            continue
        for guardian in guardians.get(enrollment.student_id, []):
            last = last_sent.get((enrollment.pk, guardian.pk))
            if last is None:
                due.append((enrollment, guardian, "after_lessons"))
            elif rules.survey_every_days and last <= today - dt.timedelta(days=rules.survey_every_days):
                due.append((enrollment, guardian, "every_days"))
    return due


def surveys_send(*, org: Organization, today: dt.date | None = None) -> int:
    """Sends today's invitations; running it twice the same day sends nothing more."""
    today = today or org_today(org)
    sent = 0
    for enrollment, guardian, reason in _due(org=org, today=today):
        try:
            with transaction.atomic():
                survey = Survey.objects.create(
                    organization=org,
                    enrollment=enrollment,
                    guardian=guardian,
                    student=enrollment.student,
                    reason=reason,
                    sent_on=today,
                )
                name = enrollment.student.first_name
                message_enqueue(
                    org=org,
                    guardian=guardian,
                    user=guardian.user,
                    student=enrollment.student,
                    kind=MessageKind.SURVEY,
                    subject=(
                        _("Как %(name)s на курсе «%(course)s»?")
                        % {"name": name, "course": enrollment.group.course.title}
                    )[:200],
                    body=_(
                        "Пожалуйста, оцените занятия %(name)s — это займёт 10 секунд: порекомендовали бы "
                        "вы нас друзьям (0–10) и насколько довольны (1–5)."
                    )
                    % {"name": name},
                    link=reverse("feedback:survey", args=[survey.pk]),
                    dedupe_key=f"survey:{survey.pk}",
                )
        except IntegrityError:
            continue  # a parallel run sent this one
        sent += 1
    return sent


def surveys_send_all(*, today: dt.date | None = None) -> dict[str, int]:
    return for_each_organisation(surveys_send, count_key="surveys", today=today)


def surveys_for_parent(*, user, org: Organization) -> QuerySet[Survey]:
    return (
        Survey.objects.filter(organization=org, guardian__user=user)
        .select_related("student", "enrollment__group__course", "feedback")
        .order_by("-sent_on", "-id")
    )


def survey_for_parent(*, user, org: Organization, pk) -> Survey:
    return get_object_or_404(surveys_for_parent(user=user, org=org), pk=pk)


def _int_in(value, *, low: int, high: int, message: str, code: str) -> int:
    if isinstance(value, bool):
        raise ValidationError(message, code=code)
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationError(message, code=code) from None
    if not low <= number <= high:
        raise ValidationError(message, code=code)
    return number


def survey_answer(*, survey: Survey, actor, nps, satisfaction=None, comment: str = "") -> Feedback:
    """Stores the answer as feedback of the enrollment (a detractor's answer opens an alert)."""
    from kruzhok.feedback.services import _branch_of, feedback_file

    nps = _int_in(nps, low=0, high=10, message=_("Выберите число от 0 до 10."), code="invalid_nps")
    # Satisfaction is optional: the one tap on 0–10 is the answer, the faces add to it.
    if satisfaction not in (None, ""):
        satisfaction = _int_in(
            satisfaction, low=1, high=5, message=_("Оценка — число от 1 до 5."), code="invalid_score"
        )
    else:
        satisfaction = None
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise ValidationError(
            _("Слишком длинный комментарий: не больше %(max)d символов."),
            code="too_long",
            params={"max": COMMENT_MAX},
        )
    if survey.answered_at is not None:
        raise ValidationError(_("Вы уже ответили на этот опрос. Спасибо!"), code="already_answered")
    if survey.sent_on < timezone.localdate() - ANSWER_WINDOW:
        raise ValidationError(_("Этот опрос уже закрыт."), code="not_open")
    org = survey.organization
    with transaction.atomic():
        # The conditional UPDATE makes a double tap (two tabs, a retry) count once.
        claimed = Survey.all_objects.filter(pk=survey.pk, answered_at__isnull=True).update(
            answered_at=timezone.now()
        )
        if claimed != 1:
            raise ValidationError(_("Вы уже ответили на этот опрос. Спасибо!"), code="already_answered")
        feedback = Feedback(
            organization=org,
            source=Source.SURVEY,
            author=actor,
            guardian=survey.guardian,
            student=survey.student,
            enrollment=survey.enrollment,
            branch=_branch_of(org=org, student=survey.student, lesson=None),
            score=satisfaction,
            nps=nps,
            text=comment,
        )
        feedback_file(feedback)
        Survey.all_objects.filter(pk=survey.pk).update(feedback=feedback)
        survey.feedback, survey.answered_at = feedback, timezone.now()
    return feedback


def nps_summary(*, org: Organization, since: dt.date | None = None, branch_ids=None) -> dict:
    """NPS = % promoters (9–10) − % detractors (0–6) over survey answers."""
    qs = Feedback.objects.filter(organization=org, source=Source.SURVEY, nps__isnull=False)
    if since is not None:
        qs = qs.filter(created_at__date__gte=since)
    if branch_ids is not None:
        qs = qs.filter(branch_id__in=branch_ids)
    counts = qs.aggregate(
        total=Count("pk"),
        promoters=Count("pk", filter=Q(nps__gte=9)),
        detractors=Count("pk", filter=Q(nps__lte=6)),
    )
    total = counts["total"] or 0
    score = round(100 * (counts["promoters"] - counts["detractors"]) / total) if total else None
    return {**counts, "nps": score}
