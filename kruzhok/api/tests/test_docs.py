import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_openapi_schema_is_public_and_describes_every_resource():
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    for path in (
        "/auth/token",
        "/organization",
        "/branches",
        "/rooms",
        "/courses",
        "/groups",
        "/lessons",
        "/students",
        "/guardians",
        "/enrollments",
        "/attendance",
    ):
        assert f"/api/v1{path}" in schema["paths"]
    schemes = schema["components"]["securitySchemes"]
    assert schemes["BearerAuth"] == {"type": "http", "scheme": "bearer"}
    # Every operation documents the error envelope.
    groups = schema["paths"]["/api/v1/groups"]["get"]["responses"]
    assert groups["404"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")


def test_the_docs_page_loads_only_our_own_files():
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(source.startswith("/static/") for source in sources), sources
    assert '"validatorUrl": null' in html  # no badge fetched from validator.swagger.io


def test_the_api_root_points_to_the_docs():
    assert Client().get("/api/v1/").json()["docs"] == "docs"
