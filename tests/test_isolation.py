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
    "alert_pk": "risk_alert",
    "account_pk": "billing_account",
    "payment_pk": "billing_payment",
    "subscription_pk": "billing_subscription",
    "entry_pk": "billing_entry",
    "plan_pk": "billing_plan",
    "missed_mark_pk": "billing_missed_mark",
    "makeup_pk": "billing_makeup",
    "badge_pk": "gamification_badge",
    "reward_pk": "gamification_reward",
    "request_pk": "gamification_request",
    "award_pk": "gamification_award",
    "quest_pk": "gamification_quest",
    "goal_pk": "gamification_goal",
    "run_pk": "report_run",
    "schedule_pk": "report_schedule",
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
    ("message", "message"),
    ("announcement", "announcement"),
    ("feedback", "feedback"),
    ("conversation", "conversation"),
    ("survey", "survey"),
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
    billing = _alpha_billing(alpha)
    risk = _alpha_risk(alpha)
    messaging = _alpha_messaging(alpha)
    gamification = _alpha_gamification(alpha)
    reports = _alpha_reports(alpha)
    return {
        **reports,
        **gamification,
        **messaging,
        **risk,
        **billing,
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


def _alpha_billing(alpha) -> dict:
    """A plan, a sale, a payment and a ledger entry of A (kruzhok/billing)."""
    from kruzhok.billing import services as billing_services
    from kruzhok.billing.models import LedgerEntry

    plan = billing_services.plan_create(
        org=alpha.org, name="Абонемент alpha", kind="pack", course=alpha.course, price="4000", lessons=8
    )
    sub = billing_services.subscription_sell(
        org=alpha.org, actor=alpha.owner, student=alpha.student, plan=plan
    )
    payment = billing_services.payment_take(
        org=alpha.org,
        account=sub.account,
        amount="4000",
        method="cash",
        actor=alpha.owner,
        idempotency_key="iso",
    )
    missed_mark, makeup = _alpha_makeup(alpha)
    return {
        "billing_plan": plan,
        "billing_account": sub.account,
        "billing_subscription": sub,
        "billing_payment": payment,
        "billing_entry": LedgerEntry.objects.filter(subscription=sub).first(),
        "billing_missed_mark": missed_mark,
        "billing_makeup": makeup,
    }


def _alpha_makeup(alpha):
    """A's child missed a lesson for a good reason and is booked into another group's lesson."""
    from kruzhok.billing import makeups

    now = timezone.now()
    missed_lesson = f.LessonFactory(
        organization=alpha.org, group=alpha.group, starts_at=now - dt.timedelta(days=2, hours=2)
    )
    missed_mark = AttendanceMark.objects.create(
        organization=alpha.org,
        lesson=missed_lesson,
        student=alpha.student,
        enrollment=alpha.enrollment,
        status="excused",
    )
    other_group = f.GroupFactory(organization=alpha.org, course=alpha.course, branch=alpha.branch)
    target = f.LessonFactory(organization=alpha.org, group=other_group, starts_at=now + dt.timedelta(days=1))
    makeup = makeups.makeup_book(org=alpha.org, actor=alpha.owner, mark=missed_mark, lesson=target)
    return missed_mark, makeup


def _alpha_risk(alpha) -> dict:
    """A's risk score and an open alert about A's child (kruzhok/risk)."""
    from kruzhok.risk.models import RiskAlert
    from kruzhok.risk.services import risk_score_compute

    risk_score_compute(org=alpha.org)
    alert = RiskAlert.objects.create(
        organization=alpha.org, enrollment=alpha.enrollment, opened_on=timezone.localdate(), probability=0.7
    )
    return {"risk_alert": alert}


def _alpha_messaging(alpha) -> dict:
    """A message to A's parent and an announcement to A's group (kruzhok/messaging)."""
    from kruzhok.messaging import services as messaging_services

    message = messaging_services.message_enqueue(
        org=alpha.org,
        guardian=alpha.guardian,
        user=alpha.parent,
        subject="Новости",
        body="Петрова-alpha Маша",
    )
    announcement = messaging_services.announcement_send(
        org=alpha.org,
        actor=alpha.owner,
        title="Роботы-1 (alpha)",
        body_template="Текст",
        audience="group",
        group=alpha.group,
    )
    from kruzhok.feedback import services as feedback_services

    feedback = feedback_services.feedback_submit(
        org=alpha.org,
        actor=alpha.parent,
        guardian=alpha.guardian,
        student=alpha.student,
        text="Роботы-1 (alpha): ужасно скучно",
    )
    from kruzhok.feedback.models import Survey
    from kruzhok.messaging import conversations

    conversation = conversations.conversation_start(
        org=alpha.org,
        actor=alpha.manager,
        side="staff",
        guardian=alpha.guardian,
        student=alpha.student,
        subject="Роботы-1 (alpha)",
        body="Петрова-alpha: всё хорошо",
    )
    survey = Survey.objects.create(
        organization=alpha.org,
        enrollment=alpha.enrollment,
        guardian=alpha.guardian,
        student=alpha.student,
        reason="after_lessons",
        sent_on=timezone.localdate(),
    )
    return {
        "message": message,
        "announcement": announcement,
        "feedback": feedback,
        "conversation": conversation,
        "survey": survey,
    }


def _alpha_reports(alpha) -> dict:
    """A finished report of A naming A's child, and a monthly schedule of A (kruzhok/reports)."""
    from kruzhok.reports.models import ReportRun, ReportSchedule

    run = ReportRun.objects.create(
        organization=alpha.org,
        kind="export",
        params={"table": "students", "format": "csv"},
        status="done",
        title="Выгрузка Петрова-alpha",
        file_name="students.csv",
        content_type="text/csv; charset=utf-8",
        content="Петрова-alpha Маша".encode(),
        created_by=alpha.owner,
    )
    schedule = ReportSchedule.objects.create(
        organization=alpha.org,
        kind="branch_month",
        params={"branch_id": alpha.branch.pk, "format": "pdf"},
        created_by=alpha.owner,
    )
    schedule.recipients.set(Membership.objects.filter(organization=alpha.org, user=alpha.owner))
    return {"report_run": run, "report_schedule": schedule}


def _alpha_gamification(alpha) -> dict:
    """A badge of A, earned by A's child (kruzhok/gamification)."""
    from kruzhok.gamification import services as gamification_services

    badge = gamification_services.badge_create(org=alpha.org, name="Значок Роботы-1 (alpha)", rule="teacher")
    award = gamification_services.badge_grant(badge=badge, student=alpha.student, actor=alpha.teacher)
    from kruzhok.gamification.models import StudentXp

    StudentXp.objects.update_or_create(organization=alpha.org, student=alpha.student, defaults={"coins": 5})
    reward = gamification_services.reward_create(
        org=alpha.org, title="Приз Роботы-1 (alpha)", price=1, stock=3
    )
    request = gamification_services.reward_request_create(reward=reward, student=alpha.student)
    today = timezone.localdate()
    quest = gamification_services.quest_save(
        org=alpha.org,
        title="Квест Роботы-1 (alpha)",
        kind="team",
        group=alpha.group,
        starts_on=today,
        ends_on=today + dt.timedelta(days=30),
        steps=[("visits", 5)],
    )
    goal = gamification_services.group_goal_create(
        org=alpha.org,
        group=alpha.group,
        title="Цель Роботы-1 (alpha)",
        target_xp=50,
        starts_on=today,
        ends_on=today + dt.timedelta(days=30),
    )
    return {
        "gamification_badge": badge,
        "gamification_reward": reward,
        "gamification_request": request,
        "gamification_award": award,
        "gamification_quest": quest,
        "gamification_goal": goal,
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
        # The favicon redirects to a static file: no page, no data.
        if "<" in pattern or name in ("accounts:logout", "set_language", "favicon"):
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
            assert "Тайный-Ребёнок" not in response.content.decode(errors="replace"), (
                f"{user.username} saw another child at {path}"
            )
