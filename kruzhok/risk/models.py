"""Dropout risk: model versions, the score history, and alerts with what was done about them."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
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
    # [{"feature", "value", "contribution", "reason", "params"}], strongest first; worded when shown
    # (explain.factor_text). Rows scored before reasons became codes hold a Russian "text" instead.
    factors = models.JSONField(default=list)
    model_version = models.ForeignKey(ModelVersion, on_delete=models.SET_NULL, null=True, related_name="+")
    decline_started_on = models.DateField(null=True, blank=True)

    class Meta(TenantOwned.Meta):
        ordering = ["-scored_on", "-probability"]
        indexes = [
            models.Index(fields=["organization", "scored_on", "probability"]),
            # Analytics re-reads the day's scores rewritten since it last looked (analytics risk_rows).
            models.Index(fields=["organization", "scored_on", "updated_at"], name="risk_score_day_updated"),
        ]
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


class AlertOutcome(models.TextChoices):
    STAYED = "stayed", _("Остался")
    DROPPED = "dropped", _("Ушёл")
    UNKNOWN = "unknown", _("Неизвестно")


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
    # Escalation when nobody acknowledges: 0 = not escalated, 1 = branch manager, 2 = owner.
    escalation_level = models.PositiveSmallIntegerField(default=0)
    escalated_at = models.DateTimeField(null=True, blank=True)
    escalated_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # How it ended, settled by the daily task: dropped (the enrollment ended in a drop) or stayed (still
    # enrolled N days after the alert); blank while undecided. "What helps" counts only settled alerts.
    outcome = models.CharField(max_length=8, choices=AlertOutcome.choices, blank=True, default="")
    outcome_on = models.DateField(null=True, blank=True)
    # Closed by nightly scoring because the risk stayed under the threshold (alerts.RISK_FELL_DAYS):
    # nobody acted, so "what helps" counts it among alerts without an action.
    risk_fell = models.BooleanField(default=False)

    class Meta(TenantOwned.Meta):
        ordering = ["-opened_on", "-id"]
        indexes = [models.Index(fields=["organization", "status", "opened_on"])]
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


class AlertEventKind(models.TextChoices):
    OPENED = "opened", _("Сигнал поднят")
    ACKNOWLEDGED = "acknowledged", _("Взят в работу")
    ASSIGNED = "assigned", _("Назначен ответственный")
    ESCALATED = "escalated", _("Эскалация")
    ACTION = "action", _("Записано действие")
    NOT_USEFUL = "not_useful", _("Отмечен как не по делу")
    CLOSED = "closed", _("Закрыт")
    OUTCOME = "outcome", _("Итог")


class RiskAlertEvent(TenantOwned):
    """The alert's timeline: who did what and when (assignments and escalations included)."""

    alert = models.ForeignKey(RiskAlert, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=AlertEventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The person the alert was assigned or escalated to, when there is one.
    target = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True)

    class Meta(TenantOwned.Meta):
        ordering = ["created_at", "id"]

    @property
    def note_shown(self) -> str:
        """The note in the reader's language. A person's note is shown as typed; the system's notes
        (an escalation's recipient, the action's kind, "the enrollment ended") are stored as a kind code
        or as their Russian msgid and translated here."""
        from django.utils.translation import gettext

        if self.kind == AlertEventKind.ACTION and self.note in ActionKind.values:
            return str(ActionKind(self.note).label)
        if self.kind in (AlertEventKind.ESCALATED, AlertEventKind.ACTION) or (
            self.kind == AlertEventKind.CLOSED and self.actor_id is None
        ):
            return gettext(self.note) if self.note else ""
        return self.note


THRESHOLD_PERCENT_RANGE = (5, 95)
WEEKLY_BUDGET_RANGE = (1, 50)


def default_threshold_percent() -> int:
    """The server's RISK_ALERT_THRESHOLD as a percent: a centre that never set its own keeps it."""
    low, high = THRESHOLD_PERCENT_RANGE
    return min(high, max(low, round(float(getattr(settings, "RISK_ALERT_THRESHOLD", 0.5)) * 100)))


def default_weekly_budget() -> int:
    low, high = WEEKLY_BUDGET_RANGE
    return min(high, max(low, int(getattr(settings, "RISK_ALERTS_PER_TEACHER_WEEK", 5))))


class RiskSettings(TenantOwned):
    """An organisation's alert rules; an organisation without a row uses the defaults below."""

    threshold_percent = models.PositiveSmallIntegerField(
        _("порог сигнала, %"),
        default=default_threshold_percent,
        validators=[
            MinValueValidator(THRESHOLD_PERCENT_RANGE[0]),
            MaxValueValidator(THRESHOLD_PERCENT_RANGE[1]),
        ],
        help_text=_("Сигнал поднимается, когда риск ухода ребёнка достигает этого значения."),
    )
    weekly_budget = models.PositiveSmallIntegerField(
        _("сигналов одному сотруднику в неделю, не больше"),
        default=default_weekly_budget,
        validators=[MinValueValidator(WEEKLY_BUDGET_RANGE[0]), MaxValueValidator(WEEKLY_BUDGET_RANGE[1])],
        help_text=_("Сверх этого новые сигналы ждут следующей недели; сначала — самые рискованные дети."),
    )

    escalation_days = models.PositiveSmallIntegerField(
        _("эскалация через, дней"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text=_("Если сигнал никто не взял в работу, он уходит руководителю филиала, потом владельцу."),
    )
    outcome_days = models.PositiveSmallIntegerField(
        _("итог через, дней"),
        default=30,
        validators=[MinValueValidator(7), MaxValueValidator(180)],
        help_text=_("Ребёнок, который занимается столько дней после сигнала, считается оставшимся."),
    )

    class Meta(TenantOwned.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="risk_settings_one_per_org"),
            models.CheckConstraint(
                condition=Q(threshold_percent__gte=THRESHOLD_PERCENT_RANGE[0])
                & Q(threshold_percent__lte=THRESHOLD_PERCENT_RANGE[1]),
                name="risk_settings_threshold_range",
            ),
            models.CheckConstraint(
                condition=Q(weekly_budget__gte=WEEKLY_BUDGET_RANGE[0])
                & Q(weekly_budget__lte=WEEKLY_BUDGET_RANGE[1]),
                name="risk_settings_budget_range",
            ),
        ]

    @property
    def threshold(self) -> float:
        return self.threshold_percent / 100
