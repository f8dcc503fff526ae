"""The role × action table in docs/permissions.md is the one the code enforces, page by page."""

from pathlib import Path

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver

from kruzhok.accounts.models import Role
from kruzhok.accounts.permissions import ACTION_DESCRIPTIONS, PERMISSIONS, render_markdown_table, role_can
from tests.test_isolation import alpha_objects, fill

DOC = Path(settings.BASE_DIR) / "docs" / "permissions.md"


def test_every_action_is_described():
    assert set(ACTION_DESCRIPTIONS) == set(PERMISSIONS)


def test_the_documented_table_is_the_enforced_one():
    table = render_markdown_table(roles=list(Role), permissions=PERMISSIONS)
    assert table in DOC.read_text(encoding="utf-8"), (
        "docs/permissions.md is stale: run `manage.py permissions_table`"
    )


def guarded_views():
    """(route, url name, action) for every page behind role_required."""

    def walk(entries, prefix="", namespace=None):
        for entry in entries:
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, prefix + str(entry.pattern), entry.namespace or namespace)
            elif isinstance(entry, URLPattern):
                action = getattr(entry.callback, "required_action", None)
                if action:
                    name = f"{namespace}:{entry.name}" if namespace else entry.name
                    yield prefix + str(entry.pattern), name, action

    return list(walk(get_resolver().url_patterns))


@pytest.mark.django_db
def test_each_page_lets_in_exactly_the_roles_the_table_allows(client, alpha):
    objects = alpha_objects(alpha)
    checked = 0
    for route, name, action in guarded_views():
        path = fill(route, name, objects)
        assert path is not None, f"cannot fill {name}"
        for role in Role.values:
            client.force_login(alpha.user(role))
            status = client.get(path).status_code
            if role_can(role, action):
                assert status != 403, f"{role} should be allowed {action} at {path}"
            else:
                assert status == 403, f"{role} must be refused {action} at {path}, got {status}"
            checked += 1
    assert checked >= 0
