import pytest

from kruzhok.api.tests.helpers import ApiClient, token_for


@pytest.fixture
def api_as(db):
    """api_as(user) → an ApiClient with a fresh bearer token of that user; api_as() has none."""

    def make(user=None, *, org=None, language: str | None = None) -> ApiClient:
        return ApiClient(token_for(user, org) if user is not None else None, language=language)

    return make
