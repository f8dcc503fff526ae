"""Dropout risk: model versions, the score history, and alerts with what was done about them."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kruzhok.lib.tenancy import TenantOwned


class ModelKind(models.TextChoices):
    PRIOR = "prior", _("Базовая модель (веса заданы вручную)")
    GBM = "gbm", _("Обученная модель (LightGBM)")


class ModelVersion(TenantOwned):
    """One trained (or prior) model: what data it saw, which signals, how well it did, where the file is."""

    kind = models.CharField(max_length=16, choices=ModelKind.choices)
    is_active = models.BooleanField(default=False)
    trained_at = models.DateTimeField(null=True, blank=True)
    data_from = models.DateField(null=True, blank=True)
    data_to = models.DateField(null=True, blank=True)
    horizon_days = models.PositiveSmallIntegerField(default=30)
    features = models.JSONField(default=list)
    params = models.JSONField(default=dict)
    metrics = models.JSONField(default=dict)
    library_versions = models.JSONField(default=dict)
    seed = models.IntegerField(default=0)
    # Relative to settings.RISK_MODEL_DIR; empty for the prior, which lives in code.
    artefact_path = models.CharField(max_length=300, blank=True)
    artefact_sha256 = models.CharField(max_length=64, blank=True)
    note = models.CharField(max_length=500, blank=True)

    class Meta(TenantOwned.Meta):
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization"], condition=Q(is_active=True), name="risk_one_active_model"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


class RiskBand(models.TextChoices):
    LOW = "low", _("Низкий")
    MEDIUM = "medium", _("Средний")
    HIGH = "high", _("Высокий")


class RiskScore(TenantOwned):
    """One enrollment's risk on one day; rescoring the same day overwrites the row (history = one per day)."""

    enrollment = models.ForeignKey("school.Enrollment", on_delete=models.CASCADE, related_name="risk_scores")
    scored_on = models.DateField()
    probability = models.FloatField()
    band = models.CharField(max_length=8, choices=RiskBand.choices)
    # [{"feature", "value", "contribution", "text"}], strongest first.
    factors = models.JSONField(default=list)
    model_version = models.ForeignKey(ModelVersion, on_delete=models.SET_NULL, null=True, related_name="+")
    decline_started_on = models.DateField(null=True, blank=True)

    class Meta(TenantOwned.Meta):
        ordering = ["-scored_on", "-probability"]
        indexes = [models.Index(fields=["organization", "scored_on", "probability"])]
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "scored_on"], name="risk_score_one_per_day"),
            models.CheckConstraint(
                condition=Q(probability__gte=0) & Q(probability__lte=1), name="risk_probability_range"
            ),
        ]

    @property
    def percent(self) -> int:
        return round(self.probability * 100)


class AlertStatus(models.TextChoices):
    OPEN = "open", _("Новый")
    ACKNOWLEDGED = "acknowledged", _("Взят в работу")
    CLOSED = "closed", _("Закрыт")


OPEN_ALERT_STATUSES = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)


class RiskAlert(TenantOwned):
    """Raised once per crossing of the threshold; a second one cannot open while this one is open."""

    enrollment = models.ForeignKey("school.Enrollment", on_delete=models.CASCADE, related_name="risk_alerts")
    opened_on = models.DateField()
    probability = models.FloatField()
    reason = models.CharField(max_length=16, default="threshold")  # threshold | jump
    factors = models.JSONField(default=list)
    status = models.CharField(max_length=16, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # "Not useful" is kept as feedback for the model, not deleted.
    not_useful = models.BooleanField(default=False)

    class Meta(TenantOwned.Meta):
        ordering = ["-opened_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment"],
                condition=Q(status__in=["open", "acknowledged"]),
                name="risk_alert_one_open_per_enrollment",
            )
        ]

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_ALERT_STATUSES

    @property
    def percent(self) -> int:
        return round(self.probability * 100)


class ActionKind(models.TextChoices):
    CALL_PARENT = "call_parent", _("Позвонил родителю")
    TALK_CHILD = "talk_child", _("Поговорил с ребёнком")
    OTHER_GROUP = "other_group", _("Предложил другую группу или время")
    TRIAL_COURSE = "trial_course", _("Предложил пробное занятие другого курса")
    FREEZE = "freeze", _("Предложил заморозку вместо ухода")
    OTHER = "other", _("Другое")


class RiskAlertAction(TenantOwned):
    """What someone did about an alert, and how it ended."""

    alert = models.ForeignKey(RiskAlert, on_delete=models.CASCADE, related_name="actions")
    kind = models.CharField(max_length=16, choices=ActionKind.choices)
    note = models.CharField(max_length=500, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta(TenantOwned.Meta):
        ordering = ["created_at", "id"]
