import pytest
from django.core.exceptions import ValidationError

from kruzhok.accounts.models import ApiToken, Membership
from kruzhok.accounts.selectors import hash_key, membership_for_api_key
from kruzhok.accounts.services import api_token_issue, api_token_revoke

pytestmark = pytest.mark.django_db


def test_an_issued_key_resolves_to_the_membership_and_only_its_hash_is_stored(alpha):
    key = api_token_issue(user=alpha.teacher, org=alpha.org)
    token = ApiToken.objects.get(user=alpha.teacher)
    assert token.key_hash == hash_key(key) != key
    assert membership_for_api_key(key=key).role == "teacher"


def test_two_keys_for_the_same_user_are_different(alpha):
    assert api_token_issue(user=alpha.owner, org=alpha.org) != api_token_issue(
        user=alpha.owner, org=alpha.org
    )


def test_no_key_for_an_organisation_the_user_is_not_in(alpha, beta):
    with pytest.raises(ValidationError) as error:
        api_token_issue(user=alpha.owner, org=beta.org)
    assert error.value.code == "not_a_member"
    assert not ApiToken.objects.exists()


def test_no_key_for_a_deactivated_membership(alpha):
    Membership.objects.filter(user=alpha.manager).update(is_active=False)
    with pytest.raises(ValidationError):
        api_token_issue(user=alpha.manager, org=alpha.org)


def test_a_revoked_key_no_longer_resolves(alpha):
    key = api_token_issue(user=alpha.owner, org=alpha.org)
    assert api_token_revoke(key=key) == 1
    assert membership_for_api_key(key=key) is None
    assert api_token_revoke(key=key) == 0
