"""Tenant isolation, walked systematically.

Every URL pattern of the site and every operation of the API schema is requested with the ids of
organisation A's objects, as each user of organisation B and as A's parent and student (who may see
only their own child). None may answer with A's data, and none may answer 5xx. A new URL whose
parameters this walker cannot fill makes the test fail, so nothing new escapes the walk.
"""

import datetime as dt
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from kruzhok.accounts.models import Invitation, Membership, Role
from kruzhok.attendance.models import AttendanceMark
from kruzhok.school import models as school
from kruzhok.testing import factories as f

# Strings that exist only in organisation A's data (see kruzhok/testing/world.py).
ALPHA_MARKERS = [
    "Петрова-alpha",
    "Петрова Ольга (alpha)",
    "Роботы-1 (alpha)",
    "Робототехника (alpha)",
    "Тайный-Ребёнок",
]

# URLs that take no object of a tenant (public, or about the caller only).
PUBLIC_OR_SELF = {"accounts:login", "accounts:logout", "accounts:signup", "set_language", "healthz"}

# Which model an id in a URL refers to, by the parameter name or the URL name.
PARAM_MODELS = {
    "student_pk": "student",
    "lesson_pk": "lesson",
    "branch_pk": "branch",
    "group_pk": "group",
    "guardian_pk": "guardian",
    "enrollment_pk": "enrollment",
    "org_id": "org",
    "membership_pk": "membership",
}
NAME_MODELS = [
    ("waitlist", "waitlist"),
    ("enrollment", "enrollment"),
    ("consent", "consent"),
    ("guardian", "guardian"),
    ("student", "student"),
    ("holiday", "holiday"),
    ("room", "room"),
    ("branch", "branch"),
    ("course", "course"),
    ("group", "group"),
    ("lesson", "lesson"),
    ("mark", "lesson"),
    ("invite", "invitation"),
    ("child", "student"),
]


def walk_patterns(resolvers=None, prefix="", namespace=None):
    resolvers = resolvers if resolvers is not None else get_resolver().url_patterns
    for entry in resolvers:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or namespace
            if ns == "api":
                continue  # the API is walked through its OpenAPI schema below
            yield from walk_patterns(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield prefix + str(entry.pattern), name


def alpha_objects(alpha):
    secret_child = f.StudentFactory(
        organization=alpha.org, first_name="Секрет", last_name="Тайный-Ребёнок", branch=alpha.branch
    )
    f.EnrollmentFactory(organization=alpha.org, student=secret_child, group=alpha.group)
    holiday = school.Holiday.objects.create(
        organization=alpha.org,
        name="Каникулы alpha",
        start_date=dt.date(2027, 1, 1),
        end_date=dt.date(2027, 1, 2),
    )
    waitlist = school.WaitlistEntry.objects.create(
        organization=alpha.org, group=alpha.group, student=secret_child
    )
    consent = school.Consent.objects.filter(organization=alpha.org).first()
    invitation = Invitation.objects.create(
        organization=alpha.org,
        role=Role.TEACHER,
        token_hash="0" * 64,
        expires_at=timezone.now() + dt.timedelta(days=1),
    )
    AttendanceMark.objects.create(
        organization=alpha.org,
        lesson=alpha.lesson,
        student=alpha.student,
        enrollment=alpha.enrollment,
        status="present",
    )
    return {
        "org": alpha.org,
        "student": alpha.student,
        "secret_child": secret_child,
        "lesson": alpha.lesson,
        "branch": alpha.branch,
        "group": alpha.group,
        "guardian": alpha.guardian,
        "enrollment": alpha.enrollment,
        "room": alpha.room,
        "course": alpha.course,
        "holiday": holiday,
        "waitlist": waitlist,
        "consent": consent,
        "invitation": invitation,
        "membership": Membership.objects.get(organization=alpha.org, user=alpha.teacher),
    }


def model_for(param: str, url_name: str | None) -> str | None:
    if param in PARAM_MODELS:
        return PARAM_MODELS[param]
    short = (url_name or "").split(":")[-1]
    for needle, model in NAME_MODELS:
        if needle in short:
            return model
    return None


def fill(pattern: str, url_name: str | None, objects: dict) -> str | None:
    """Turn a Django route into a concrete path with A's ids; None if a parameter cannot be filled."""
    path = pattern.replace("^", "").replace("$", "")
    for match in re.finditer(r"<(?:(\w+):)?(\w+)>", pattern):
        converter, param = match.group(1), match.group(2)
        if converter in ("str", "slug", None) and param in ("token", "key", "uidb64"):
            value = "not-a-real-token"
        else:
            model = model_for(param, url_name)
            if model is None:
                return None
            value = objects[model].pk
        path = path.replace(match.group(0), str(value))
    return "/" + path.lstrip("/")


def assert_no_alpha_data(response, who, path):
    assert response.status_code < 500, f"{who} {path} answered {response.status_code}"
    body = response.content.decode(errors="replace")
    for marker in ALPHA_MARKERS:
        assert marker not in body, f"{who} saw A's data «{marker}» at {path}"


@pytest.mark.django_db
def test_every_url_refuses_other_organisations_users(client, alpha, beta):
    objects = alpha_objects(alpha)
    unfilled, walked = [], 0
    outsiders = [beta.user(role) for role in Role.values]
    for pattern, name in walk_patterns():
        if name in PUBLIC_OR_SELF or "<" not in pattern:
            continue
        path = fill(pattern, name, objects)
        if path is None:
            unfilled.append(f"{name}: {pattern}")
            continue
        walked += 1
        for user in outsiders:
            client.force_login(user)
            for method in ("get", "post"):
                response = getattr(client, method)(path)
                assert_no_alpha_data(response, user.username, path)
                if "token" not in pattern:
                    assert response.status_code in (403, 404, 405), (
                        f"{user.username} {method.upper()} {path} answered {response.status_code}"
                    )
    assert not unfilled, f"the walker cannot fill these URL parameters: {unfilled}"
    assert walked >= 1 or not any("<" in p for p, _ in walk_patterns())


@pytest.mark.django_db
def test_pages_without_ids_never_show_other_organisations_data(client, alpha, beta):
    alpha_objects(alpha)
    for pattern, name in walk_patterns():
        if "<" in pattern or name in ("accounts:logout", "set_language"):
            continue
        for role in Role.values:
            client.force_login(beta.user(role))
            response = client.get("/" + pattern.lstrip("/"), follow=True)
            assert_no_alpha_data(response, f"beta_{role}", pattern)


@pytest.mark.django_db
def test_a_parent_and_a_student_never_see_another_child(client, alpha):
    """A's parent and student may see their own child, never the other child of the same centre."""
    objects = alpha_objects(alpha)
    secret = objects["secret_child"]
    for user in (alpha.parent, alpha.student_user):
        client.force_login(user)
        for pattern, name in walk_patterns():
            if name in PUBLIC_OR_SELF:
                continue
            path = (
                fill(pattern, name, {**objects, "student": secret})
                if "<" in pattern
                else "/" + pattern.lstrip("/")
            )
            if path is None:
                continue
            response = client.get(path)
            assert response.status_code < 500, f"{user.username} {path} answered {response.status_code}"
            assert "Тайный-Ребёнок" not in response.content.decode(), (
                f"{user.username} saw another child at {path}"
            )
