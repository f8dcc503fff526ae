"""Open Badges 3.0: a shared award exported as an OpenBadgeCredential (W3C VC data model 2.0), signed by
the organisation's Ed25519 key as a compact JWS (VC-JWT, alg EdDSA). The public verification page
checks the signature with the organisation's public key."""

import base64
import json

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse

from kruzhok.gamification import openbadges
from kruzhok.gamification.models import BadgeAward, OrgSigningKey

CONTEXT = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signing_key_for(*, organization_id: int) -> OrgSigningKey:
    key = OrgSigningKey.objects.filter(organization_id=organization_id).first()
    if key is not None:
        return key
    private = Ed25519PrivateKey.generate()
    try:
        with transaction.atomic():
            return OrgSigningKey.objects.create(
                organization_id=organization_id,
                private_key=_b64(private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())),
                public_key=_b64(private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)),
            )
    except IntegrityError:  # another request made it first
        return OrgSigningKey.objects.get(organization_id=organization_id)


def public_jwk(key: OrgSigningKey) -> dict:
    return {"kty": "OKP", "crv": "Ed25519", "x": key.public_key}


def credential_json(award: BadgeAward) -> dict:
    badge, org = award.badge, award.organization
    issuer_id = settings.SITE_URL.rstrip("/") + reverse("gamification:ob_issuer", args=[org.slug])
    credential_id = settings.SITE_URL.rstrip("/") + reverse(
        "gamification:ob3_credential", args=[award.public_id]
    )
    return {
        "@context": CONTEXT,
        "id": credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": badge.name,
        "issuer": {"id": issuer_id, "type": ["Profile"], "name": org.name, "url": settings.SITE_URL},
        "validFrom": f"{award.awarded_on.isoformat()}T00:00:00Z",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityHash": award.recipient_hash,
                    "identityType": "emailAddress",
                    "hashed": True,
                    "salt": award.salt,
                }
            ],
            "achievement": {
                "id": settings.SITE_URL.rstrip("/")
                + reverse("gamification:ob_badge", args=[badge.public_id]),
                "type": ["Achievement"],
                "name": badge.name,
                "description": badge.description or badge.name,
                "criteria": {"narrative": badge.description or badge.get_rule_display()},
                "image": {"id": openbadges.badge_class_json(badge)["image"], "type": "Image"},
            },
        },
    }


def credential_jwt(award: BadgeAward) -> str:
    """The credential as a compact JWS signed with the org's Ed25519 key."""
    key = signing_key_for(organization_id=award.organization_id)
    credential = credential_json(award)
    header = {"alg": "EdDSA", "typ": "vc+jwt", "kid": credential["issuer"]["id"] + "#key-1"}
    payload = {**credential, "iss": credential["issuer"]["id"], "jti": credential["id"]}
    signing_input = (
        _b64(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
    )
    private = Ed25519PrivateKey.from_private_bytes(_unb64(key.private_key))
    return signing_input + "." + _b64(private.sign(signing_input.encode()))


def verify_jwt(token: str, public_key: str) -> dict | None:
    """The payload when the signature is the org's, else None."""
    try:
        header, payload, signature = token.split(".")
        Ed25519PublicKey.from_public_bytes(_unb64(public_key)).verify(
            _unb64(signature), f"{header}.{payload}".encode()
        )
        return json.loads(_unb64(payload))
    except (ValueError, InvalidSignature):
        return None
