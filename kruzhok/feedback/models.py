"""Feedback from families: a child's one-tap pulse after a lesson, a parent's free text, imported reviews.

Every text gets a sentiment; a negative one opens an alert for the branch manager that stays open until
someone answers the family ("close the loop"), and the time to that first answer is kept.
"""

import re

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kruzhok.lib.tenancy import TenantOwned


class Source(models.TextChoices):
    PULSE = "pulse", _("Опрос после занятия")
    PARENT = "parent", _("Отзыв родителя")
    EXTERNAL = "external", _("Внешний отзыв")
    SURVEY = "survey", _("Опрос родителей (NPS)")


class Status(models.TextChoices):
    NEW = "new", _("Новый")
    IN_PROGRESS = "in_progress", _("В работе")
    ANSWERED = "answered", _("Отвечен")
    CLOSED = "closed", _("Закрыт")


class Sentiment(models.TextChoices):
    NEGATIVE = "negative", _("Негатив")
    NEUTRAL = "neutral", _("Нейтрально")
    POSITIVE = "positive", _("Позитив")


class Feedback(TenantOwned):
    source = models.CharField(_("источник"), max_length=16, choices=Source.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    guardian = models.ForeignKey(
        "school.Guardian", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    student = models.ForeignKey(
        "school.Student", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    lesson = models.ForeignKey(
        "school.Lesson", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    branch = models.ForeignKey(
        "school.Branch", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Per enrollment, so scores and sentiment become early-warning signals of that enrollment.
    enrollment = models.ForeignKey(
        "school.Enrollment", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    score = models.PositiveSmallIntegerField(_("оценка"), null=True, blank=True)
    # A parent's Telegram message filed here for its tone: the answer goes back into that conversation.
    conversation = models.ForeignKey(
        "messaging.Conversation", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # A parent survey's "would you recommend us?" 0–10 (NPS); `score` then holds satisfaction 1–5.
    nps = models.PositiveSmallIntegerField(_("готовность рекомендовать"), null=True, blank=True)
    text = models.TextField(_("текст"), blank=True)
    sentiment = models.CharField(max_length=16, choices=Sentiment.choices, default=Sentiment.NEUTRAL)
    sentiment_confidence = models.FloatField(default=0.0)
    sentiment_terms = models.JSONField(default=list, blank=True)
    # teacher, schedule, price, content, premises, communication, mood (kruzhok/feedback/aspects.py)
    aspects = models.JSONField(default=list, blank=True)
    status = models.CharField(_("статус"), max_length=16, choices=Status.choices, default=Status.NEW)
    alert_open = models.BooleanField(default=False)
    alert_opened_at = models.DateTimeField(null=True, blank=True)
    first_answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Imported reviews: who wrote it there, and a fingerprint so a re-imported file adds nothing twice.
    external_author = models.CharField(max_length=200, blank=True)
    external_ref = models.CharField(max_length=64, blank=True)

    class Meta(TenantOwned.Meta):
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "status", "-created_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["lesson", "student"],
                condition=Q(source="pulse"),
                name="feedback_one_pulse_per_lesson",
            ),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=1, score__lte=5), name="feedback_score_1_to_5"
            ),
            models.CheckConstraint(
                condition=Q(nps__isnull=True) | Q(nps__gte=0, nps__lte=10), name="feedback_nps_0_to_10"
            ),
            models.UniqueConstraint(
                fields=["organization", "external_ref"],
                condition=~Q(external_ref=""),
                name="feedback_import_once",
            ),
        ]

    @property
    def sentiment_terms_shown(self) -> list[str]:
        """The words behind the tone; the rating and NPS terms the service adds are stored in Russian
        («оценка 2/5», «рекомендация 3/10») and worded here in the reader's language."""
        from django.utils.translation import gettext

        shown = []
        for term in self.sentiment_terms or []:
            if match := re.fullmatch(r"оценка (\d+)/5", str(term)):
                term = gettext("оценка %(score)s/5") % {"score": match[1]}
            elif match := re.fullmatch(r"рекомендация (\d+)/10", str(term)):
                term = gettext("рекомендация %(nps)s/10") % {"nps": match[1]}
            shown.append(term)
        return shown

    @property
    def aspect_labels(self) -> list[str]:
        from kruzhok.feedback.aspects import ASPECT_LABELS

        return [ASPECT_LABELS.get(a, a) for a in self.aspects]

    @property
    def time_to_answer(self):
        if self.first_answered_at is None:
            return None
        return self.first_answered_at - (self.alert_opened_at or self.created_at)


class FeedbackReply(TenantOwned):
    feedback = models.ForeignKey(Feedback, on_delete=models.CASCADE, related_name="replies")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    body = models.TextField(_("ответ"))

    class Meta(TenantOwned.Meta):
        ordering = ["created_at", "id"]


class FeedbackSettings(TenantOwned):
    """When the centre asks parents for NPS and satisfaction."""

    survey_after_lessons = models.PositiveSmallIntegerField(_("первый опрос после занятия №"), default=4)
    # Then again every N days while the child studies; 0 = only the first survey.
    survey_every_days = models.PositiveSmallIntegerField(_("повторять опрос каждые, дней"), default=90)

    class Meta(TenantOwned.Meta):
        ordering = ["organization_id"]
        constraints = [models.UniqueConstraint(fields=["organization"], name="feedback_settings_one_per_org")]


class Survey(TenantOwned):
    """An invitation to one guardian to rate one enrollment (NPS 0–10 + satisfaction 1–5)."""

    enrollment = models.ForeignKey("school.Enrollment", on_delete=models.CASCADE, related_name="+")
    guardian = models.ForeignKey("school.Guardian", on_delete=models.CASCADE, related_name="+")
    student = models.ForeignKey("school.Student", on_delete=models.CASCADE, related_name="+")
    # "after_lessons" for the first one, "every_days" for the ones on the schedule.
    reason = models.CharField(max_length=16)
    sent_on = models.DateField()
    answered_at = models.DateTimeField(null=True, blank=True)
    feedback = models.OneToOneField(
        Feedback, on_delete=models.SET_NULL, null=True, blank=True, related_name="survey"
    )

    class Meta(TenantOwned.Meta):
        ordering = ["-sent_on", "-id"]
        constraints = [
            # One invitation per enrollment, guardian and day: a re-run of the daily job sends nothing.
            models.UniqueConstraint(fields=["enrollment", "guardian", "sent_on"], name="survey_once_a_day")
        ]


class TeacherPulse(TenantOwned):
    """The teacher's one-tap «вовлечён ли ребёнок?» (1–5) about one child at one lesson."""

    lesson = models.ForeignKey("school.Lesson", on_delete=models.CASCADE, related_name="+")
    student = models.ForeignKey("school.Student", on_delete=models.CASCADE, related_name="+")
    enrollment = models.ForeignKey(
        "school.Enrollment", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # The lesson's local date, so a feature provider can read "as of" a date without a join.
    on_date = models.DateField()
    score = models.PositiveSmallIntegerField(_("вовлечённость"))
    note = models.CharField(_("заметка"), max_length=300, blank=True)

    class Meta(TenantOwned.Meta):
        ordering = ["-on_date", "-id"]
        indexes = [models.Index(fields=["organization", "enrollment", "on_date"])]
        constraints = [
            models.UniqueConstraint(fields=["lesson", "student"], name="teacher_pulse_once"),
            models.CheckConstraint(condition=Q(score__gte=1, score__lte=5), name="teacher_pulse_1_to_5"),
        ]
