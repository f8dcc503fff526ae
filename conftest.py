import pytest

from kruzhok.lib.tenancy import unscoped
from kruzhok.testing.world import build_org_world


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _unscoped_outside_requests():
    """Test set-up works across tenants; requests still run inside their own tenant context
    (the middleware nests one), so the safety net is live for every view under test."""
    with unscoped():
        yield


@pytest.fixture
def alpha(db):
    return build_org_world("alpha", "Альфа")


@pytest.fixture
def beta(db):
    return build_org_world("beta", "Бета")


@pytest.fixture
def client_as(client):
    """client_as(user) → a test client logged in as that user."""

    def login(user):
        client.force_login(user)
        return client

    return login
