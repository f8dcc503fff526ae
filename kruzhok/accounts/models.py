from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kruzhok.lib.tenancy import TenantOwned, TimeStamped


class Role(models.TextChoices):
    OWNER = "owner", _("Владелец")
    MANAGER = "manager", _("Менеджер")
    TEACHER = "teacher", _("Преподаватель")
    PARENT = "parent", _("Родитель")
    STUDENT = "student", _("Ученик")


STAFF_ROLES = (Role.OWNER, Role.MANAGER, Role.TEACHER)


class Organization(TimeStamped):
    """The tenant: one centre or a network of centres."""

    name = models.CharField(_("название"), max_length=200)
    slug = models.SlugField(_("адрес"), max_length=60, unique=True)
    timezone = models.CharField(_("часовой пояс"), max_length=64, default="Europe/Moscow")

    class Meta:
        ordering = ["name"]
        verbose_name = _("организация")

    def __str__(self) -> str:
        return self.name


class Membership(TimeStamped):
    """A user's role in one organisation. Tenancy for users lives here, not on the user row."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("роль"), max_length=16, choices=Role.choices)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["organization_id", "role", "user_id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="membership_one_per_org"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.role})"


class Invitation(TenantOwned):
    """A one-time link that turns whoever opens it into staff of the organisation."""

    role = models.CharField(
        _("роль"),
        max_length=16,
        choices=[(Role.MANAGER, Role.MANAGER.label), (Role.TEACHER, Role.TEACHER.label)],
    )
    email = models.EmailField(_("email"), blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    branch_ids = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta(TenantOwned.Meta):
        ordering = ["-created_at"]


class ApiToken(TimeStamped):
    """Bearer token for the JSON API. Only a hash is stored; the key is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    key_hash = models.CharField(max_length=64, unique=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
