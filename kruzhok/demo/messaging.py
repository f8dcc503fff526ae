"""Demo data for messaging and feedback: an announcement, today's absence notices, parents' feedback
(some negative, half of those already answered). Called by the seed command after the school year is
built; deterministic for a given seed."""

import datetime as dt
import random

from kruzhok.accounts.models import Membership, Organization, Role
from kruzhok.attendance.models import AttendanceMark
from kruzhok.demo.feedback_history import seed_feedback_history
from kruzhok.feedback.services import feedback_reply, feedback_submit
from kruzhok.lib.dates import org_today
from kruzhok.lib.tenancy import tenant_context
from kruzhok.messaging.services import absence_notice_enqueue, announcement_send, messaging_settings_update
from kruzhok.school.models import OPEN_ENROLLMENT_STATUSES, Enrollment, Group, StudentGuardian

FEEDBACK_TEXTS = [
    ("Ребёнку очень нравится, спасибо преподавателю!", None),
    ("Дочь в восторге от занятий, всё отлично.", None),
    ("Занятия часто переносят, неудобно планировать неделю.", None),
    ("Преподаватель грубо разговаривает с детьми, мы недовольны.", None),
    ("Было скучно, сын не хочет идти на следующее занятие.", None),
    ("Спасибо за интересный проект на прошлой неделе!", None),
    ("В кабинете холодно и грязно, просим разобраться.", None),
    ("Всё хорошо, вопросов нет.", None),
]


def seed_messaging(
    *, org: Organization, seed: int = 7, families: int = 24, today: dt.date | None = None
) -> dict[str, int]:
    rng = random.Random(seed)
    totals = {"announcements": 0, "absence_notices": 0, "feedback": 0, "replies": 0}
    with tenant_context(org.pk):
        # Every month's feedback first, from its own stream: what follows draws as it did before.
        totals.update(
            seed_feedback_history(
                org=org, rng=random.Random(f"{seed}:feedback"), today=today or org_today(org)
            )
        )
        owner_id = (
            Membership.objects.filter(organization=org, role=Role.OWNER, is_active=True)
            .values_list("user_id", flat=True)
            .first()
        )
        owner = Membership.objects.get(organization=org, user_id=owner_id).user if owner_id else None
        messaging_settings_update(org=org)
        group = (
            Group.objects.filter(
                organization=org, is_active=True, enrollments__status__in=OPEN_ENROLLMENT_STATUSES
            )
            .order_by("pk")
            .first()
        )
        if group is not None:
            announcement_send(
                org=org,
                actor=owner,
                title="Открытое занятие в субботу",
                body_template="{родитель}, приглашаем вас на открытое занятие группы «{группа}»: "
                "{ребёнок} покажет, чему научился(ась).",
                audience="group",
                group=group,
            )
            totals["announcements"] += 1
        for mark in AttendanceMark.objects.filter(organization=org, status="absent").order_by(
            "-lesson__starts_at"
        )[:50]:
            totals["absence_notices"] += len(
                absence_notice_enqueue(org=org, lesson_id=mark.lesson_id, student_id=mark.student_id)
            )
        links = list(
            StudentGuardian.objects.filter(
                organization=org,
                guardian__user__isnull=False,
                student__in=Enrollment.objects.filter(
                    organization=org, status__in=OPEN_ENROLLMENT_STATUSES
                ).values("student_id"),
            )
            .select_related("guardian", "guardian__user", "student")
            .order_by("pk")[: families * 3]
        )
        rng.shuffle(links)
        for link in links[:families]:
            text, _ = rng.choice(FEEDBACK_TEXTS)
            feedback = feedback_submit(
                org=org, actor=link.guardian.user, guardian=link.guardian, student=link.student, text=text
            )
            totals["feedback"] += 1
            if feedback.alert_open and owner is not None and rng.random() < 0.5:
                feedback_reply(
                    feedback=feedback,
                    actor=owner,
                    body="Спасибо, что написали. Мы разобрались и позвоним вам сегодня.",
                )
                totals["replies"] += 1
        totals.update(_seed_conversations_and_surveys(org=org, owner=owner, links=links[:families], rng=rng))
    return totals


PARENT_LINES = [
    "Здравствуйте! Можно ли перейти в группу на час позже?",
    "Спасибо, ребёнок в восторге от проекта.",
    "Подскажите, что взять на следующее занятие?",
]


def _seed_conversations_and_surveys(*, org: Organization, owner, links: list, rng: random.Random) -> dict:
    """A few conversations (one answered), survey answers with NPS, and the teacher's pulse."""
    from django.utils import timezone

    from kruzhok.feedback.engagement import teacher_pulse_set
    from kruzhok.feedback.models import Survey
    from kruzhok.feedback.surveys import survey_answer
    from kruzhok.messaging.conversations import conversation_post, conversation_start
    from kruzhok.messaging.models import Side
    from kruzhok.school.models import Lesson, LessonStatus

    totals = {"conversations": 0, "survey_answers": 0, "teacher_pulses": 0}
    for index, link in enumerate(links[:6]):
        conversation = conversation_start(
            org=org,
            actor=link.guardian.user,
            side=Side.FAMILY,
            guardian=link.guardian,
            student=link.student,
            subject="Вопрос о занятиях",
            body=PARENT_LINES[index % len(PARENT_LINES)],
            via="telegram" if index % 2 else "inapp",
        )
        if owner is not None and index % 3 == 0:
            conversation_post(
                conversation=conversation,
                actor=owner,
                side=Side.STAFF,
                body="Добрый день! Да, поможем — напишем завтра.",
            )
        totals["conversations"] += 1
    for link in links[:12]:
        enrollment = (
            Enrollment.objects.filter(
                organization=org, student=link.student, status__in=OPEN_ENROLLMENT_STATUSES
            )
            .order_by("pk")
            .first()
        )
        if enrollment is None:
            continue
        survey, created = Survey.objects.get_or_create(
            organization=org,
            enrollment=enrollment,
            guardian=link.guardian,
            sent_on=timezone.localdate() - dt.timedelta(days=rng.randint(1, 20)),
            defaults={"student": link.student, "reason": "after_lessons"},
        )
        if created and rng.random() < 0.8:
            survey_answer(
                survey=survey,
                actor=link.guardian.user,
                nps=rng.choice([10, 10, 9, 9, 8, 7, 6, 3]),
                satisfaction=rng.choice([5, 5, 4, 4, 3]),
            )
            totals["survey_answers"] += 1
    lessons = Lesson.objects.filter(
        organization=org,
        status=LessonStatus.SCHEDULED,
        starts_at__lte=timezone.now(),
        starts_at__gte=timezone.now() - dt.timedelta(days=7),
        group__teacher__isnull=False,
    ).select_related("group", "group__teacher")[:10]
    from kruzhok.attendance.selectors import roster_for_lesson

    for lesson in lessons:
        for row in roster_for_lesson(lesson=lesson)[:8]:
            teacher_pulse_set(
                lesson=lesson,
                student=row.student,
                actor=lesson.group.teacher,
                score=rng.choice([5, 4, 4, 3, 2]),
            )
            totals["teacher_pulses"] += 1
    return totals
