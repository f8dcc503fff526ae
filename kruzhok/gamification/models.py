"""XP, badges and the org's rules.

`XpAward` is an append-only ledger: a row is never updated or deleted. A correction appends a reversing
row that points at the award it cancels. Each award is keyed by (source_key, component, seq): the same
source event can give only one live award per component, and the unique constraint makes a second
writer of the same award fail instead of paying twice. `StudentXp` is a cache of the ledger's sums,
rebuilt and checked by `manage.py gamification_rebuild`.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from kruzhok.gamification import notes
from kruzhok.lib.tenancy import TenantOwned


class Component(models.TextChoices):
    VISIT = "visit", _("Посещение")
    ON_TIME = "on_time", _("Вовремя")
    KUDOS = "kudos", _("Молодец на занятии")
    HOMEWORK = "homework", _("Домашнее задание")
    GRADE = "grade", _("Оценка")
    QUEST = "quest", _("Квест")


class GamificationSettings(TenantOwned):
    """The org's rules. A missing row means the defaults below."""

    enabled = models.BooleanField(_("геймификация включена"), default=True)
    count_visits = models.BooleanField(_("давать очки за посещение"), default=True)
    xp_visit = models.PositiveSmallIntegerField(_("очков за посещение"), default=10)
    count_on_time = models.BooleanField(_("давать бонус за приход вовремя"), default=True)
    xp_on_time = models.PositiveSmallIntegerField(_("бонус за приход вовремя"), default=5)
    count_kudos = models.BooleanField(_("давать очки за «молодец»"), default=True)
    xp_kudos = models.PositiveSmallIntegerField(_("очков за «молодец на занятии»"), default=15)
    count_homework = models.BooleanField(_("давать очки за сданное домашнее задание"), default=True)
    xp_homework = models.PositiveSmallIntegerField(_("очков за сданное домашнее задание"), default=10)
    count_grades = models.BooleanField(_("давать очки за хорошую оценку (4 или 5)"), default=True)
    xp_good_grade = models.PositiveSmallIntegerField(_("очков за оценку 4 или 5"), default=10)
    daily_cap = models.PositiveSmallIntegerField(
        _("лимит очков в день"), default=60, help_text=_("0 — без лимита")
    )
    leaderboard_top = models.PositiveSmallIntegerField(_("сколько лучших видит ребёнок"), default=3)
    coins_per_visit = models.PositiveSmallIntegerField(_("монет за посещение"), default=1)
    coins_per_kudos = models.PositiveSmallIntegerField(_("монет за «молодец»"), default=1)
    # A new random stamp whenever the rules, badges or quests change (`config.config_changed`, in the
    # same transaction): awarding keeps them cached per process under it. Random rather than a counter,
    # so a rolled-back edit can never hand its number to a different configuration.
    config_version = models.UUIDField(default=uuid.uuid4, editable=False)

    class Meta(TenantOwned.Meta):
        ordering = ["organization_id"]
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="gamification_one_settings_per_org"),
            models.CheckConstraint(
                condition=Q(xp_visit__lte=1000)
                & Q(xp_on_time__lte=1000)
                & Q(xp_kudos__lte=1000)
                & Q(xp_homework__lte=1000)
                & Q(xp_good_grade__lte=1000),
                name="gamification_xp_at_most_1000",
            ),
            models.CheckConstraint(
                condition=Q(leaderboard_top__gte=1) & Q(leaderboard_top__lte=20),
                name="gamification_leaderboard_top_range",
            ),
        ]


class StudentXp(TenantOwned):
    """Totals per child, kept in step with the ledger inside the same transaction."""

    student = models.OneToOneField("school.Student", on_delete=models.CASCADE, related_name="xp")
    xp = models.IntegerField(default=0)
    coins = models.IntegerField(default=0)
    leaderboard_opt_out = models.BooleanField(_("не показывать в рейтинге группы"), default=False)

    class Meta(TenantOwned.Meta):
        ordering = ["-xp", "student_id"]
        constraints = [
            # Points are never shown or kept below zero: a reversal only cancels what was given.
            models.CheckConstraint(condition=Q(xp__gte=0), name="gamification_xp_not_negative"),
            # The shop can never leave a child in debt, whatever the code above it does.
            models.CheckConstraint(condition=Q(coins__gte=0), name="gamification_coins_not_negative"),
        ]


class XpAward(TenantOwned):
    student = models.ForeignKey("school.Student", on_delete=models.CASCADE, related_name="xp_awards")
    # What happened, e.g. "attendance:<mark id>" or "kudos:<lesson id>:<student id>".
    source_key = models.CharField(max_length=120)
    component = models.CharField(max_length=16, choices=Component.choices)
    # 1 for the first award of a (source, component); a re-award after a reversal takes the next one.
    seq = models.PositiveIntegerField(default=1)
    amount = models.IntegerField()
    # Why: the mark status it was based on ("present", "absent", …) or a rule ("cap", "off").
    basis = models.CharField(max_length=24)
    note = models.CharField(max_length=300)
    occurred_on = models.DateField()
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta(TenantOwned.Meta):
        ordering = ["-occurred_on", "-id"]
        indexes = [
            models.Index(fields=["organization", "student", "occurred_on"]),
            models.Index(fields=["organization", "source_key"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "source_key", "component", "seq"],
                condition=Q(reverses__isnull=True),
                name="gamification_award_once_per_source",
            ),
            # A reversal cancels exactly what its award gave.
            models.CheckConstraint(
                condition=Q(reverses__isnull=True) | Q(amount__lte=0),
                name="gamification_reversal_not_positive",
            ),
            models.CheckConstraint(condition=~Q(reverses=F("id")), name="gamification_reversal_not_self"),
        ]

    @property
    def note_shown(self) -> str:
        """The system's note in the reader's language (kept in Russian, see gamification/notes.py)."""
        return notes.shown(self.note)


class BadgeRule(models.TextChoices):
    COUNT = "count", _("Сколько раз")
    FIRST = "first", _("В первый раз")
    STREAK = "streak", _("Серия недель подряд")
    TEACHER = "teacher", _("Выдаёт педагог")
    # Reaching a total of N XP (a round number: 100, 500, 1000 …).
    MILESTONE = "milestone", _("Рубеж очков")


class BadgeEvent(models.TextChoices):
    VISIT = "visit", _("Посещение")
    KUDOS = "kudos", _("«Молодец на занятии»")
    HOMEWORK = "homework", _("Сданное домашнее задание")
    GOOD_GRADE = "good_grade", _("Оценка 4 или 5")


class Badge(TenantOwned):
    name = models.CharField(_("название"), max_length=80)
    description = models.CharField(_("за что"), max_length=300, blank=True)
    rule = models.CharField(_("правило"), max_length=16, choices=BadgeRule.choices)
    event = models.CharField(_("событие"), max_length=16, choices=BadgeEvent.choices, blank=True)
    threshold = models.PositiveSmallIntegerField(_("сколько нужно"), default=1)
    symbol = models.CharField(_("знак на значке"), max_length=2, default="★")
    color = models.CharField(_("цвет"), max_length=7, default="#2f6fdf")
    is_active = models.BooleanField(_("действует"), default=True)
    # Set when an award of this badge is first shared: the public BadgeClass URL (Open Badges 2.0).
    public_id = models.UUIDField(null=True, blank=True, unique=True)

    class Meta(TenantOwned.Meta):
        ordering = ["rule", "threshold", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="gamification_badge_name_unique"),
            models.CheckConstraint(
                condition=Q(threshold__gte=1), name="gamification_badge_threshold_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class BadgeAward(TenantOwned):
    badge = models.ForeignKey(Badge, on_delete=models.CASCADE, related_name="awards")
    student = models.ForeignKey("school.Student", on_delete=models.CASCADE, related_name="badge_awards")
    awarded_on = models.DateField()
    awarded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)
    # Open Badges 2.0 hosted assertion: public only once the family shares it; the recipient is a salted hash.
    public_id = models.UUIDField(null=True, blank=True, unique=True)
    salt = models.CharField(max_length=32, blank=True)
    recipient_hash = models.CharField(max_length=80, blank=True)
    shared_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantOwned.Meta):
        ordering = ["-awarded_on", "-id"]
        constraints = [
            # A badge is earned once; a retry or a race cannot give it twice.
            models.UniqueConstraint(fields=["badge", "student"], name="gamification_badge_once"),
        ]

    @property
    def note_shown(self) -> str:
        """The system's note in the reader's language (kept in Russian, see gamification/notes.py)."""
        return notes.shown(self.note)


class CoinEntry(TenantOwned):
    """Append-only coin ledger: earned with visits and kudos, spent in the shop, refunded on refusal."""

    student = models.ForeignKey("school.Student", on_delete=models.CASCADE, related_name="coin_entries")
    source_key = models.CharField(max_length=120)
    seq = models.PositiveIntegerField(default=1)
    amount = models.IntegerField()
    note = models.CharField(max_length=300)

    class Meta(TenantOwned.Meta):
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "source_key", "seq"], name="gamification_coin_entry_once"
            ),
        ]

    @property
    def note_shown(self) -> str:
        """The system's note in the reader's language (kept in Russian, see gamification/notes.py)."""
        return notes.shown(self.note)


class Reward(TenantOwned):
    title = models.CharField(_("награда"), max_length=120)
    description = models.CharField(_("описание"), max_length=300, blank=True)
    price = models.PositiveIntegerField(_("цена, монет"))
    stock = models.PositiveIntegerField(_("в наличии"), default=0)
    is_active = models.BooleanField(_("в магазине"), default=True)

    class Meta(TenantOwned.Meta):
        ordering = ["price", "title"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=1), name="gamification_reward_price_positive"),
            models.CheckConstraint(condition=Q(stock__gte=0), name="gamification_reward_stock_not_negative"),
        ]

    def __str__(self) -> str:
        return self.title


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("Ждёт решения")
    APPROVED = "approved", _("Выдано")
    REJECTED = "rejected", _("Отказано")


class RewardRequest(TenantOwned):
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="requests")
    student = models.ForeignKey("school.Student", on_delete=models.CASCADE, related_name="reward_requests")
    price = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=300, blank=True)

    class Meta(TenantOwned.Meta):
        ordering = ["-created_at", "-id"]


class GroupGoal(TenantOwned):
    """A cooperative goal: the whole group together reaches target XP within the dates → a group reward."""

    group = models.ForeignKey("school.Group", on_delete=models.CASCADE, related_name="xp_goals")
    title = models.CharField(_("цель"), max_length=120)
    target_xp = models.PositiveIntegerField(_("сколько очков вместе"))
    starts_on = models.DateField(_("с"))
    ends_on = models.DateField(_("по"))
    reward = models.CharField(_("награда группе"), max_length=200, blank=True)

    class Meta(TenantOwned.Meta):
        ordering = ["-starts_on", "title"]
        constraints = [
            models.CheckConstraint(condition=Q(target_xp__gte=1), name="gamification_goal_target_positive"),
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")), name="gamification_goal_dates_order"
            ),
        ]


class OrgSigningKey(TenantOwned):
    """The organisation's Ed25519 key for Open Badges 3.0 credentials (raw 32-byte keys, base64url).

    Kept in the database for the embedded set-up; production should move the private half to a KMS."""

    private_key = models.CharField(max_length=64)
    public_key = models.CharField(max_length=64)

    class Meta(TenantOwned.Meta):
        ordering = ["organization_id"]
        constraints = [models.UniqueConstraint(fields=["organization"], name="gamification_one_key_per_org")]


class QuestKind(models.TextChoices):
    SOLO = "solo", _("Личный")
    TEAM = "team", _("Командный (вся группа)")


class QuestMetric(models.TextChoices):
    VISITS = "visits", _("Прийти на занятия")
    HOMEWORK = "homework", _("Сдать домашние задания")
    GOOD_GRADES = "good_grades", _("Получить оценки 4 или 5")
    KUDOS = "kudos", _("Получить «молодец на занятии»")
    XP = "xp", _("Заработать очки")


class Quest(TenantOwned):
    """Steps to do between two dates; done when every step reaches its target.

    A solo quest is done by each child on their own; a team quest by the whole group together (the
    children's counts add up) and rewards every child of the group. Progress is read from the XP ledger,
    so a corrected mark or grade moves it back too; a completion, like a badge, is kept once reached."""

    title = models.CharField(_("название"), max_length=120)
    description = models.CharField(_("описание"), max_length=300, blank=True)
    kind = models.CharField(_("вид"), max_length=8, choices=QuestKind.choices, default=QuestKind.SOLO)
    # A team quest belongs to one group; a solo quest may be limited to one group or open to all.
    group = models.ForeignKey(
        "school.Group", on_delete=models.CASCADE, null=True, blank=True, related_name="quests"
    )
    starts_on = models.DateField(_("с"))
    ends_on = models.DateField(_("по"))
    reward_xp = models.PositiveSmallIntegerField(_("награда, очков"), default=0)
    reward_coins = models.PositiveSmallIntegerField(_("награда, монет"), default=0)
    reward_badge = models.ForeignKey(
        Badge,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="quests",
        verbose_name=_("значок"),
    )
    group_reward = models.CharField(_("награда группе"), max_length=200, blank=True)
    requires = models.ManyToManyField(
        "self",
        symmetrical=False,
        blank=True,
        through="QuestPrerequisite",
        related_name="unlocks",
        verbose_name=_("сначала пройти"),
    )
    is_active = models.BooleanField(_("действует"), default=True)

    class Meta(TenantOwned.Meta):
        ordering = ["starts_on", "title", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="gamification_quest_dates"),
            models.CheckConstraint(
                condition=Q(kind="solo") | Q(group__isnull=False), name="gamification_team_quest_has_group"
            ),
            models.CheckConstraint(
                condition=Q(reward_xp__lte=1000) & Q(reward_coins__lte=1000),
                name="gamification_quest_reward_at_most_1000",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class QuestPrerequisite(TenantOwned):
    quest = models.ForeignKey(Quest, on_delete=models.CASCADE, related_name="+")
    required = models.ForeignKey(Quest, on_delete=models.CASCADE, related_name="+")

    class Meta(TenantOwned.Meta):
        ordering = ["quest_id", "required_id"]
        constraints = [
            models.UniqueConstraint(fields=["quest", "required"], name="gamification_prerequisite_once"),
            models.CheckConstraint(
                condition=~Q(quest=F("required")), name="gamification_quest_not_own_prerequisite"
            ),
        ]


class QuestStep(TenantOwned):
    quest = models.ForeignKey(Quest, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(default=1)
    metric = models.CharField(_("что сделать"), max_length=16, choices=QuestMetric.choices)
    target = models.PositiveIntegerField(_("сколько"))

    class Meta(TenantOwned.Meta):
        ordering = ["quest_id", "position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(target__gte=1), name="gamification_step_target_positive"),
        ]


class QuestCompletion(TenantOwned):
    """A quest done: by one child (solo) or by a group (team). Exactly one per quest and doer."""

    quest = models.ForeignKey(Quest, on_delete=models.CASCADE, related_name="completions")
    student = models.ForeignKey(
        "school.Student", on_delete=models.CASCADE, null=True, blank=True, related_name="quest_completions"
    )
    group = models.ForeignKey(
        "school.Group", on_delete=models.CASCADE, null=True, blank=True, related_name="quest_completions"
    )
    completed_on = models.DateField()

    class Meta(TenantOwned.Meta):
        ordering = ["-completed_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["quest", "student"],
                condition=Q(student__isnull=False),
                name="gamification_quest_done_once_by_child",
            ),
            models.UniqueConstraint(
                fields=["quest", "group"],
                condition=Q(student__isnull=True),
                name="gamification_quest_done_once_by_group",
            ),
            models.CheckConstraint(
                condition=(Q(student__isnull=False) & Q(group__isnull=True))
                | (Q(student__isnull=True) & Q(group__isnull=False)),
                name="gamification_quest_done_by_child_or_group",
            ),
        ]
