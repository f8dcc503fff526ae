"""Feedback from families: a child's one-tap pulse after a lesson, a parent's free text, imported reviews.

Every text gets a sentiment; a negative one opens an alert for the branch manager that stays open until
someone answers the family ("close the loop"), and the time to that first answer is kept.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kruzhok.lib.tenancy import TenantOwned


class Source(models.TextChoices):
    PULSE = "pulse", _("Опрос после занятия")
    PARENT = "parent", _("Отзыв родителя")
    EXTERNAL = "external", _("Внешний отзыв")


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
    score = models.PositiveSmallIntegerField(_("оценка"), null=True, blank=True)
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
            models.UniqueConstraint(
                fields=["organization", "external_ref"],
                condition=~Q(external_ref=""),
                name="feedback_import_once",
            ),
        ]

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
