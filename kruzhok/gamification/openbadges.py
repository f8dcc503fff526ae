"""Open Badges 2.0 hosted assertions: Issuer → BadgeClass → Assertion, as JSON-LD documents.

An award becomes public only when the family shares it. The recipient is never named: the assertion
carries sha256(email + salt), so only someone who already knows the family's email can match it.
Every URL is absolute (SITE_URL); the badge image is embedded as an SVG data URI."""

import base64
import hashlib
import secrets
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kruzhok.accounts.models import Organization
from kruzhok.gamification.badges_svg import badge_svg
from kruzhok.gamification.models import Badge, BadgeAward
from kruzhok.lib.tenancy import unscoped
from kruzhok.school.models import StudentGuardian

CONTEXT = "https://w3id.org/openbadges/v2"


def _absolute(name: str, token) -> str:
    return settings.SITE_URL.rstrip("/") + reverse(name, args=[str(token)])


def recipient_email(award: BadgeAward) -> str:
    """The primary guardian's email, else the student's own login email."""
    link = (
        StudentGuardian.objects.filter(organization_id=award.organization_id, student_id=award.student_id)
        .exclude(guardian__email="")
        .select_related("guardian")
        .order_by("-is_primary", "pk")
        .first()
    )
    if link is not None:
        return link.guardian.email.strip().lower()
    user = award.student.user
    return (user.email or "").strip().lower() if user else ""


def identity_hash(email: str, salt: str) -> str:
    return "sha256$" + hashlib.sha256((email + salt).encode()).hexdigest()


def badge_award_share(*, award: BadgeAward) -> BadgeAward:
    """Publish the award as a hosted assertion (again: nothing changes)."""
    if award.public_id:
        return award
    email = recipient_email(award)
    if not email:
        raise ValidationError(
            _("Чтобы поделиться значком, укажите email родителя в карточке ребёнка."), code="no_email"
        )
    with transaction.atomic():
        fresh = BadgeAward.objects.select_for_update().get(organization_id=award.organization_id, pk=award.pk)
        if fresh.public_id:
            return fresh
        badge = Badge.objects.select_for_update().get(
            organization_id=award.organization_id, pk=fresh.badge_id
        )
        if badge.public_id is None:
            badge.public_id = uuid.uuid4()
            badge.save(update_fields=["public_id", "updated_at"])
        fresh.salt = secrets.token_hex(16)
        fresh.recipient_hash = identity_hash(email, fresh.salt)
        fresh.public_id = uuid.uuid4()
        fresh.shared_at = timezone.now()
        fresh.save(update_fields=["salt", "recipient_hash", "public_id", "shared_at", "updated_at"])
    return fresh


def _uuid(token: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(token))
    except ValueError:
        return None


# Public lookups: no session decides the organisation, the unguessable id does.
def shared_award(*, token: str) -> BadgeAward | None:
    public_id = _uuid(token)
    if public_id is None:
        return None
    with unscoped():
        return (
            BadgeAward.objects.select_related("badge", "organization")
            .filter(public_id=public_id, shared_at__isnull=False)
            .first()
        )


def public_badge(*, token: str) -> Badge | None:
    public_id = _uuid(token)
    if public_id is None:
        return None
    with unscoped():
        return Badge.objects.select_related("organization").filter(public_id=public_id).first()


def public_issuer(*, token: str) -> Organization | None:
    """An issuer is public once one of its badges was shared."""
    with unscoped():
        org = Organization.objects.filter(slug=token).first()
        if org is None or not Badge.objects.filter(organization=org, public_id__isnull=False).exists():
            return None
        return org


def issuer_json(org: Organization) -> dict:
    return {
        "@context": CONTEXT,
        "type": "Issuer",
        "id": _absolute("gamification:ob_issuer", org.slug),
        "name": org.name,
        "url": settings.SITE_URL,
    }


def badge_class_json(badge: Badge) -> dict:
    image = base64.b64encode(badge_svg(badge).encode()).decode()
    return {
        "@context": CONTEXT,
        "type": "BadgeClass",
        "id": _absolute("gamification:ob_badge", badge.public_id),
        "name": badge.name,
        "description": badge.description or badge.name,
        "image": f"data:image/svg+xml;base64,{image}",
        "criteria": {"narrative": badge.description or badge.get_rule_display()},
        "issuer": _absolute("gamification:ob_issuer", badge.organization.slug),
    }


def assertion_json(award: BadgeAward) -> dict:
    return {
        "@context": CONTEXT,
        "type": "Assertion",
        "id": _absolute("gamification:ob_assertion", award.public_id),
        "recipient": {"type": "email", "hashed": True, "salt": award.salt, "identity": award.recipient_hash},
        "badge": _absolute("gamification:ob_badge", award.badge.public_id),
        "issuedOn": f"{award.awarded_on.isoformat()}T00:00:00+00:00",
        "verification": {"type": "hosted"},
    }
