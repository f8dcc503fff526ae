import hashlib

from django.db.models import Case, QuerySet, Value, When
from django.utils import timezone

from kruzhok.accounts.models import STAFF_ROLES, ApiToken, Invitation, Membership

SESSION_ORG_KEY = "kruzhok_org_id"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def bearer_key_from_header(header: str) -> str | None:
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return None
    return key.strip()


def membership_for_api_key(*, key: str) -> Membership | None:
    token = (
        ApiToken.objects.select_related("user", "organization")
        .filter(key_hash=hash_key(key), user__is_active=True)
        .first()
    )
    if token is None:
        return None
    membership = (
        Membership.objects.select_related("organization", "user")
        .filter(user=token.user, organization=token.organization, is_active=True)
        .first()
    )
    if membership is not None and (
        token.last_used_at is None or (timezone.now() - token.last_used_at).total_seconds() > 300
    ):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return membership


def memberships_for_user(*, user) -> list[Membership]:
    return list(
        Membership.objects.select_related("organization")
        .filter(user=user, is_active=True)
        .order_by("created_at")
    )


def membership_for_session(*, user, session) -> Membership | None:
    """The membership the user chose (switch_org), else their first one."""
    memberships = memberships_for_user(user=user)
    chosen = session.get(SESSION_ORG_KEY)
    for membership in memberships:
        if membership.organization_id == chosen:
            return membership
    return memberships[0] if memberships else None


def staff_list(*, org) -> QuerySet[Membership]:
    """Owners, then managers, then teachers of `org`; the deactivated ones last."""
    rank = Case(*(When(role=role, then=Value(i)) for i, role in enumerate(STAFF_ROLES)))
    return (
        Membership.objects.select_related("user")
        .filter(organization=org, role__in=STAFF_ROLES)
        .order_by("-is_active", rank, "user__last_name", "user__first_name", "user__username")
    )


def invitation_list_pending(*, org) -> QuerySet[Invitation]:
    return Invitation.objects.select_related("created_by").filter(organization=org, accepted_at__isnull=True)


def invitation_for_token(*, raw_token: str) -> Invitation | None:
    """The invitation behind a link, in any organisation: the visitor has none active yet."""
    return (
        Invitation.all_objects.select_related("organization")
        .filter(token_hash=hash_key(raw_token or ""))
        .first()
    )
