import datetime as dt
import secrets
import zoneinfo
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from kruzhok.accounts.models import ApiToken, Invitation, Membership, Organization, Role
from kruzhok.accounts.selectors import hash_key
from kruzhok.lib.tenancy import tenant_context


@transaction.atomic
def api_token_issue(*, user, org: Organization) -> str:
    """A new bearer key for `user` in `org`. Only its hash is stored, so the key is returned once."""
    if not Membership.objects.filter(user=user, organization=org, is_active=True).exists():
        raise ValidationError(_("Нет доступа к этой организации."), code="not_a_member")
    key = secrets.token_urlsafe(32)
    token = ApiToken(user=user, organization=org, key_hash=hash_key(key))
    token.full_clean()
    token.save()
    return key


@transaction.atomic
def api_token_revoke(*, key: str) -> int:
    """Forgets the token behind `key` (logging a device out). Returns how many tokens were removed."""
    deleted, _by_model = ApiToken.objects.filter(key_hash=hash_key(key)).delete()
    return deleted


# --- organisations, invitations, memberships -----------------------------------------------------

User = get_user_model()

INVITATION_TTL = dt.timedelta(days=7)
INVITABLE_ROLES = (Role.MANAGER, Role.TEACHER)

_CYRILLIC_TO_LATIN = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch",
    "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya", "і": "i", "ї": "yi", "є": "ye", "ґ": "g",
}  # fmt: skip


def _transliterate(text: str) -> str:
    return "".join(_CYRILLIC_TO_LATIN.get(char, char) for char in text.lower())


def _organization_slug(name: str) -> str:
    base = slugify(_transliterate(name))[:50].strip("-") or "centre"
    slug, n = base, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def _username_taken(username: str) -> ValidationError:
    return ValidationError(
        _("Логин «%(username)s» уже занят. Выберите другой.") % {"username": username},
        code="username_taken",
    )


def _email_check(email: str) -> str:
    email = (email or "").strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationError(_("Проверьте адрес электронной почты."), code="invalid_email") from None
    return email


def _user_build(*, username: str, password: str, email: str = "", first_name: str = "", last_name: str = ""):
    """An unsaved, fully validated user; the caller saves it inside its transaction."""
    username = (username or "").strip()
    if not username:
        raise ValidationError(_("Укажите логин."), code="username_required")
    if User.objects.filter(username__iexact=username).exists():
        raise _username_taken(username)
    user = User(
        username=username,
        email=_email_check(email),
        first_name=(first_name or "").strip()[:150],
        last_name=(last_name or "").strip()[:150],
    )
    try:
        user.clean_fields(exclude=["password"])
    except ValidationError as exc:
        if "username" in exc.error_dict:
            raise ValidationError(
                _("Логин может содержать только буквы, цифры и символы @ . + - _ (до 150 знаков)."),
                code="invalid_username",
            ) from None
        raise ValidationError(" ".join(exc.messages), code="invalid") from None
    if not password:
        raise ValidationError(_("Придумайте пароль."), code="password_required")
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise ValidationError(" ".join(exc.messages), code="weak_password") from None
    user.set_password(password)
    return user


def _user_save(user) -> None:
    # Two sign-ups racing for one login: the unique index decides, the loser gets the same message.
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise _username_taken(user.username) from None


def organization_create(
    *,
    name: str,
    owner_username: str,
    owner_password: str,
    owner_email: str = "",
    owner_first_name: str = "",
    owner_last_name: str = "",
    timezone: str = "Europe/Moscow",
) -> Organization:
    """A new tenant with its first owner (a new user) and the owner's membership."""
    name = (name or "").strip()
    if not name:
        raise ValidationError(_("Укажите название центра."), code="name_required")
    if len(name) > 200:
        raise ValidationError(_("Название центра — не длиннее 200 знаков."), code="name_too_long")
    if timezone not in zoneinfo.available_timezones():
        raise ValidationError(_("Неизвестный часовой пояс: %(tz)s.") % {"tz": timezone}, code="bad_timezone")
    owner = _user_build(
        username=owner_username,
        password=owner_password,
        email=owner_email,
        first_name=owner_first_name,
        last_name=owner_last_name,
    )
    with transaction.atomic():
        org = Organization(name=name, slug=_organization_slug(name), timezone=timezone)
        org.full_clean()
        org.save()
        _user_save(owner)
        membership = Membership(user=owner, organization=org, role=Role.OWNER)
        membership.full_clean()
        membership.save()
    return org


def invitation_create(
    *, org: Organization, actor, role: str, email: str = "", branch_ids: Iterable[int] = ()
) -> tuple[Invitation, str]:
    """A one-time staff invitation, valid 7 days. Returns the row and the raw token; only its sha256
    is stored, so the link can be shown once."""
    # Branches belong to school, one layer up; accounts reaches up only for staff invitations.
    from kruzhok.school.selectors.staff import branch_list_for_staff

    if role not in INVITABLE_ROLES:
        raise ValidationError(_("Пригласить можно менеджера или преподавателя."), code="bad_role")
    email = _email_check(email)
    try:
        wanted = sorted({int(pk) for pk in branch_ids}) if role == Role.MANAGER else []
    except (TypeError, ValueError):
        raise ValidationError(_("Выбран филиал не из вашей организации."), code="bad_branch") from None
    with transaction.atomic(), tenant_context(org.id):
        found = set(branch_list_for_staff(org=org).filter(pk__in=wanted).values_list("pk", flat=True))
        if found != set(wanted):
            raise ValidationError(_("Выбран филиал не из вашей организации."), code="bad_branch")
        raw_token = secrets.token_urlsafe(32)
        invitation = Invitation(
            organization=org,
            role=role,
            email=email,
            token_hash=hash_key(raw_token),
            branch_ids=wanted,
            created_by=actor,
            expires_at=timezone.now() + INVITATION_TTL,
        )
        invitation.full_clean()
        invitation.save()
    return invitation, raw_token


def invitation_accept(
    *,
    raw_token: str,
    user=None,
    username: str = "",
    password: str = "",
    first_name: str = "",
    last_name: str = "",
    email: str = "",
) -> Membership:
    """Joins `user` (or a new account built from the other arguments) to the inviting organisation.

    One-time: the invitation row is locked and stamped, so a second use fails with code "used";
    a stale one with "expired". An unknown token raises Http404.
    """
    from kruzhok.school.selectors.staff import branch_list_for_staff
    from kruzhok.school.services.staff import branch_managers_set

    token_hash = hash_key(raw_token or "")
    with transaction.atomic():
        # The token is the tenant key here: the visitor has no organisation yet, so look across tenants.
        invitation = (
            Invitation.all_objects.select_for_update()
            .select_related("organization")
            .filter(token_hash=token_hash)
            .first()
        )
        if invitation is None:
            raise Http404("invitation not found")
        if invitation.accepted_at is not None:
            raise ValidationError(
                _("Это приглашение уже использовано. Попросите владельца центра прислать новое."), code="used"
            )
        if invitation.expires_at <= timezone.now():
            raise ValidationError(
                _("Срок действия приглашения истёк. Попросите владельца центра прислать новое."),
                code="expired",
            )
        org = invitation.organization
        membership = None
        if user is None:
            user = _user_build(
                username=username,
                password=password,
                email=email or invitation.email,
                first_name=first_name,
                last_name=last_name,
            )
            _user_save(user)
        else:
            membership = Membership.objects.filter(organization=org, user=user).first()
            if membership is not None and membership.is_active:
                raise ValidationError(
                    _("Вы уже состоите в организации «%(org)s».") % {"org": org.name}, code="already_member"
                )
        if membership is None:
            membership = Membership(user=user, organization=org, role=invitation.role)
        else:
            # A former employee comes back: the old row is reused (one membership per organisation).
            membership.role, membership.is_active = invitation.role, True
        membership.full_clean()
        membership.save()
        if invitation.role == Role.MANAGER and invitation.branch_ids:
            with tenant_context(org.id):
                for branch in branch_list_for_staff(org=org).filter(pk__in=invitation.branch_ids):
                    branch_managers_set(branch=branch, users=[*branch.managers.all(), user])
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by", "updated_at"])
    return membership


def invitation_revoke(*, invitation: Invitation, actor) -> None:
    """Deletes a pending invitation, so its link stops working."""
    with transaction.atomic():
        locked = Invitation.all_objects.select_for_update().filter(pk=invitation.pk).first()
        if locked is None:
            return
        if locked.accepted_at is not None:
            raise ValidationError(_("Приглашение уже принято, отозвать его нельзя."), code="used")
        locked.delete()


def membership_deactivate(*, membership: Membership, actor) -> Membership:
    """Takes away a member's access to the organisation; the row stays for history."""
    with transaction.atomic():
        membership = Membership.objects.select_for_update().get(pk=membership.pk)
        if not membership.is_active:
            return membership
        if membership.role == Role.OWNER:
            other_owners = Membership.objects.filter(
                organization_id=membership.organization_id, role=Role.OWNER, is_active=True
            ).exclude(pk=membership.pk)
            if not other_owners.exists():
                raise ValidationError(
                    _("Нельзя отключить единственного владельца организации."), code="last_owner"
                )
        membership.is_active = False
        membership.save(update_fields=["is_active", "updated_at"])
    return membership
