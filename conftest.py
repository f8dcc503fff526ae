import pytest
from django.utils import translation

from kruzhok.lib.tenancy import unscoped
from kruzhok.testing.world import build_org_world


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _reports_in_process(settings):
    """Reports run in the request's own on-commit task, as in production's eager tests: a thread would
    make the tests' timing matter (kruzhok/reports/tests/test_runs.py tests the thread on its own)."""
    settings.REPORTS_IN_THREAD = False


@pytest.fixture(autouse=True)
def _russian_unless_a_test_switches():
    """Each test starts in the site's default language: a test that switched to English (or a request
    that did) must not leak its language into the next test run by the same worker."""
    translation.activate("ru")
    yield
    translation.deactivate()


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
