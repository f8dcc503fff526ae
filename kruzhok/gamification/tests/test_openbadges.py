"""Open Badges 2.0 hosted assertions, checked offline against 1EdTech's published files.

The PyPI verifier `openbadges` cannot run here (its pinned dependencies do not import on Python 3.11 and
it fetches the v2 context from w3id.org), so we validate with the JSON schema of an Assertion and check
every term against the v2 JSON-LD context (see /work/shared/standards/openbadges/SOURCE.md)."""

import hashlib
import json
import re
import uuid
from pathlib import Path

import jsonschema_rs
import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse

from kruzhok.gamification import openbadges, services
from kruzhok.gamification.models import BadgeAward
from kruzhok.school.models import Guardian
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db

STANDARDS = Path(settings.BASE_DIR).parent / "shared" / "standards" / "openbadges"


def _load_lenient(path: Path) -> dict:
    # The published 2.1 schema has a trailing comma; strip it rather than edit the byte copy.
    return json.loads(re.sub(r",(\s*[}\]])", r"\1", path.read_text(encoding="utf-8")))


@pytest.fixture
def assertion_validator():
    if not STANDARDS.exists():
        pytest.skip("Open Badges standards are not on this machine")
    schema = _load_lenient(STANDARDS / "ob_v2p1_getassertions_200_schema.json")
    definitions = schema["definitions"]
    return jsonschema_rs.Draft7Validator({**definitions["AssertionDType"], "definitions": definitions})


@pytest.fixture
def v2_terms() -> set[str]:
    context = json.loads((STANDARDS / "ob_v2p0_context.json").read_text(encoding="utf-8"))["@context"]
    return set(context)


@pytest.fixture
def award(alpha):
    badge = services.badge_create(org=alpha.org, name="Помощник", rule="teacher", description="Помогал всем")
    return services.badge_grant(badge=badge, student=alpha.student, actor=alpha.teacher)


def get_json(client, url: str) -> dict:
    response = client.get(url.removeprefix(settings.SITE_URL.rstrip("/")), HTTP_ACCEPT="application/ld+json")
    assert response.status_code == 200, url
    return json.loads(response.content)


def test_an_award_is_private_until_the_family_shares_it(alpha, award, client):
    assert client.get(reverse("gamification:ob_assertion", args=[uuid.uuid4()])).status_code == 404
    assert client.get(reverse("gamification:ob_issuer", args=[alpha.org.slug])).status_code == 404


def test_a_shared_award_is_a_valid_hosted_assertion_chain(
    alpha, award, client, assertion_validator, v2_terms
):
    shared = openbadges.badge_award_share(award=award)
    assertion = get_json(client, reverse("gamification:ob_assertion", args=[shared.public_id]))
    assertion_validator.validate(assertion)
    assert assertion["verification"] == {"type": "hosted"}
    email = alpha.guardian.email.lower()
    digest = hashlib.sha256((email + assertion["recipient"]["salt"]).encode()).hexdigest()
    assert assertion["recipient"]["identity"] == f"sha256${digest}"
    badge_class = get_json(client, assertion["badge"])
    issuer = get_json(client, badge_class["issuer"])
    assert badge_class["type"] == "BadgeClass" and issuer["type"] == "Issuer"
    assert badge_class["image"].startswith("data:image/svg+xml;base64,")
    for document in (assertion, badge_class, issuer):
        assert document["@context"] == "https://w3id.org/openbadges/v2"
        assert set(document) - {"@context", "id", "type"} <= v2_terms
    # The hosted id is where the assertion lives.
    assert assertion["id"].endswith(reverse("gamification:ob_assertion", args=[shared.public_id]))


def test_the_public_pages_never_name_the_child(alpha, award, client):
    shared = openbadges.badge_award_share(award=award)
    url = reverse("gamification:ob_assertion", args=[shared.public_id])
    for accept in ("text/html", "application/ld+json"):
        body = client.get(url, HTTP_ACCEPT=accept).content.decode()
        assert ("Помощник" in body) == (accept == "text/html")
        for secret in (alpha.student.first_name, alpha.student.last_name, alpha.guardian.email):
            assert secret not in body


def test_sharing_twice_keeps_the_same_assertion(award):
    first = openbadges.badge_award_share(award=award)
    again = openbadges.badge_award_share(award=BadgeAward.objects.get(pk=award.pk))
    assert first.public_id == again.public_id and first.salt == again.salt


def test_sharing_without_an_email_is_refused_with_a_reason(alpha, award):
    Guardian.objects.filter(pk=alpha.guardian.pk).update(email="")
    alpha.student_user.email = ""
    alpha.student_user.save()
    with pytest.raises(ValidationError) as exc:
        openbadges.badge_award_share(award=BadgeAward.objects.get(pk=award.pk))
    assert exc.value.code == "no_email"


def test_the_parent_shares_from_the_childs_page_and_nobody_else_can(alpha, beta, award, client_as):
    url = reverse("gamification:badge_share", args=[alpha.student.pk, award.pk])
    assert client_as(beta.parent).post(url).status_code == 404
    other = f.StudentFactory(organization=alpha.org)
    assert (
        client_as(alpha.parent)
        .post(reverse("gamification:badge_share", args=[other.pk, award.pk]))
        .status_code
        == 404
    )
    assert not BadgeAward.objects.get(pk=award.pk).public_id
    client = client_as(alpha.parent)
    client.post(url)
    award.refresh_from_db()
    assert award.public_id
    page = client.get(reverse("gamification:child", args=[alpha.student.pk])).content.decode()
    assert reverse("gamification:ob_assertion", args=[award.public_id]) in page


@pytest.fixture
def credential_validator():
    schema = json.loads((STANDARDS / "ob_v3p0_achievementcredential_schema.json").read_text(encoding="utf-8"))
    return jsonschema_rs.Draft201909Validator(schema)


def test_a_shared_award_exports_a_signed_ob3_credential(award, client, credential_validator):
    from kruzhok.gamification import ob3
    from kruzhok.gamification.models import OrgSigningKey

    shared = openbadges.badge_award_share(award=award)
    url = reverse("gamification:ob3_credential", args=[shared.public_id])
    credential = json.loads(client.get(url, {"format": "json"}).content)
    credential_validator.validate(credential)
    token = client.get(url, {"format": "jwt"}).content.decode()
    key = OrgSigningKey.objects.get(organization_id=award.organization_id)
    payload = ob3.verify_jwt(token, key.public_key)
    assert payload is not None and payload["credentialSubject"] == credential["credentialSubject"]
    header, body, signature = token.split(".")
    forged = body[:-2] + ("AA" if body[-2:] != "AA" else "BB")
    assert ob3.verify_jwt(f"{header}.{forged}.{signature}", key.public_key) is None
    page = client.get(url).content.decode()
    assert "Подпись Ed25519 верна" in page and "Маша" not in page


def test_an_unshared_award_has_no_ob3_credential(award, client):
    assert client.get(reverse("gamification:ob3_credential", args=[uuid.uuid4()])).status_code == 404
    assert client.get(reverse("gamification:ob3_credential", args=["<script>"])).status_code == 404
