"""Property-based tests of the whole API from its own OpenAPI schema (schemathesis).

Every operation is called with generated data, valid and invalid, by an owner of organisation A,
in-process through Django's WSGI application. No answer may be a 5xx, and every answer must match
the schema it documents (errors included: the envelope is declared on every operation).

The run is bounded (15 examples an operation, about 30 s of CPU) so it stays in every `make test`.
SCHEMATHESIS_FULL=1 adds schemathesis's coverage phase (boundary values of every parameter), which
doubles the time; run it after changing a schema.
"""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import response_schema_conformance

from kruzhok.api.tests.helpers import token_for

FULL = os.environ.get("SCHEMATHESIS_FULL", "") == "1"
CONFIG = SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": FULL}}})

schema = schemathesis.openapi.from_wsgi(
    "/api/v1/openapi.json", get_wsgi_application(), config=CONFIG
).exclude(
    # Revoking the token mid-run would turn every later call into a 401.
    method="DELETE",
    path="/api/v1/auth/token",
)


@pytest.fixture
def _connection_survives_requests():
    """A real WSGI handler closes the database connection after each request, which would end the
    test's transaction on PostgreSQL; Django's own test client switches that off the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def owner_headers(alpha, _connection_survives_requests):
    return {"Authorization": f"Bearer {token_for(alpha.owner)}"}


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_never_fails_and_keeps_its_schema(case, owner_headers):
    response = case.call(headers=owner_headers)
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
