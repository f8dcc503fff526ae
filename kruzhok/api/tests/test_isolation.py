"""Tenant isolation of the API, walked from its own OpenAPI schema: a new endpoint is covered the day
it appears. Organisation B's users ask for organisation A's objects by id; A's parent and student ask
for a child of A who is not theirs. Nobody may see the data, and nobody may get a 5xx."""

import datetime as dt

import pytest

from kruzhok.accounts.models import Role
from kruzhok.api.main import api
from kruzhok.attendance.models import AttendanceMark
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db

ALPHA_MARKERS = [
    "Петрова-alpha",
    "Петрова Ольга (alpha)",
    "Роботы-1 (alpha)",
    "Робототехника (alpha)",
    "Тайный-Ребёнок",
]


def operations():
    for path, methods in api.get_openapi_schema()["paths"].items():
        for method in methods:
            yield method, path.removeprefix("/api/v1")


def alpha_objects(alpha) -> dict:
    secret = f.StudentFactory(
        organization=alpha.org, branch=alpha.branch, first_name="Секрет", last_name="Тайный-Ребёнок"
    )
    secret_enrollment = f.EnrollmentFactory(
        organization=alpha.org, student=secret, group=alpha.group, started_on=dt.date(2020, 1, 1)
    )
    mark = AttendanceMark.objects.create(
        organization=alpha.org,
        lesson=alpha.lesson,
        student=alpha.student,
        enrollment=alpha.enrollment,
        status="present",
    )
    secret_mark = AttendanceMark.objects.create(
        organization=alpha.org,
        lesson=alpha.lesson,
        student=secret,
        enrollment=secret_enrollment,
        status="absent",
    )
    # The secret child's homework: a parent listing /homework must never see it.
    from kruzhok.homework.models import HomeworkResult

    HomeworkResult.objects.create(
        organization=alpha.org,
        lesson=alpha.lesson,
        student=secret,
        enrollment=secret_enrollment,
        status="submitted",
        grade=5,
    )
    billing = _alpha_billing(alpha)
    gamification = _alpha_gamification(alpha)
    risk = _alpha_risk(alpha)
    messaging = _alpha_messaging(alpha, secret)
    return {
        **billing,
        **gamification,
        **risk,
        **messaging,
        "xp": alpha.student.pk,
        "leaderboards": alpha.group.pk,
        "branches": alpha.branch.pk,
        "rooms": alpha.room.pk,
        "courses": alpha.course.pk,
        "groups": alpha.group.pk,
        "lessons": alpha.lesson.pk,
        "students": alpha.student.pk,
        "guardians": alpha.guardian.pk,
        "enrollments": alpha.enrollment.pk,
        "attendance": mark.pk,
        "secret_student": secret.pk,
        "secret_enrollment": secret_enrollment.pk,
        "secret_attendance": secret_mark.pk,
    }


def _alpha_billing(alpha) -> dict:
    from kruzhok.billing import services as billing_services

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
    # A make-up: the child's excused absence booked into a lesson of another group of the course.
    from kruzhok.billing import makeups

    missed = AttendanceMark.objects.create(
        organization=alpha.org,
        lesson=f.LessonFactory(
            organization=alpha.org, group=alpha.group, starts_at=alpha.lesson.starts_at - dt.timedelta(days=2)
        ),
        student=alpha.student,
        enrollment=alpha.enrollment,
        status="excused",
    )
    other_group = f.GroupFactory(organization=alpha.org, course=alpha.course, branch=alpha.branch)
    target = f.LessonFactory(
        organization=alpha.org, group=other_group, starts_at=alpha.lesson.starts_at + dt.timedelta(days=1)
    )
    booking = makeups.makeup_book(org=alpha.org, actor=alpha.owner, mark=missed, lesson=target)
    return {
        "plans": plan.pk,
        "subscriptions": sub.pk,
        "payments": payment.pk,
        "balances": sub.account_id,
        "makeups": booking.pk,
    }


def _alpha_gamification(alpha) -> dict:
    from kruzhok.gamification import services as gamification_services
    from kruzhok.gamification.models import StudentXp

    StudentXp.objects.create(organization=alpha.org, student=alpha.student, xp=30, coins=5)
    reward = gamification_services.reward_create(
        org=alpha.org, title="Приз Роботы-1 (alpha)", price=1, stock=3
    )
    request = gamification_services.reward_request_create(reward=reward, student=alpha.student)
    today = dt.date.today()
    badge = gamification_services.badge_create(org=alpha.org, name="Значок Роботы-1 (alpha)", rule="teacher")
    quest = gamification_services.quest_save(
        org=alpha.org,
        title="Квест Роботы-1 (alpha)",
        kind="team",
        group=alpha.group,
        starts_on=today,
        ends_on=today + dt.timedelta(days=30),
        steps=[("visits", 5)],
        reward_badge=badge,
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
        "rewards": reward.pk,
        "reward-requests": request.pk,
        "badges": badge.pk,
        "quests": quest.pk,
        "goals": goal.pk,
    }


def _alpha_risk(alpha) -> dict:
    """A's child scored, with an open alert (kruzhok/risk): ids for /risk-scores and /risk-alerts."""
    from kruzhok.risk.models import RiskAlert, RiskScore

    RiskScore.objects.create(
        organization=alpha.org,
        enrollment=alpha.enrollment,
        scored_on=dt.date(2026, 11, 20),
        probability=0.7,
        band="high",
        factors=[{"feature": "absent_run", "text": "Петрова-alpha пропустила 3 занятия"}],
    )
    alert = RiskAlert.objects.create(
        organization=alpha.org, enrollment=alpha.enrollment, opened_on=dt.date(2026, 11, 20), probability=0.7
    )
    return {"risk-scores": alpha.enrollment.pk, "risk-alerts": alert.pk}


def _alpha_messaging(alpha, secret) -> dict:
    """A's inbox message, conversations (one about the secret child, with another family), an
    announcement, a feedback item and a survey (kruzhok/messaging, kruzhok/feedback)."""
    from kruzhok.feedback import services as feedback_services
    from kruzhok.feedback.models import Survey
    from kruzhok.messaging import conversations
    from kruzhok.messaging import services as messaging_services
    from kruzhok.school.models import StudentGuardian

    message = messaging_services.message_enqueue(
        org=alpha.org,
        guardian=alpha.guardian,
        user=alpha.parent,
        subject="Новости",
        body="Петрова-alpha Маша",
    )
    conversation = conversations.conversation_start(
        org=alpha.org, actor=alpha.manager, side="staff", guardian=alpha.guardian, student=alpha.student,
        subject="Роботы-1 (alpha)", body="Петрова-alpha: всё хорошо",
    )  # fmt: skip
    secret_guardian = f.GuardianFactory(organization=alpha.org, full_name="Тайный-Ребёнок родитель")
    StudentGuardian.objects.create(organization=alpha.org, student=secret, guardian=secret_guardian)
    secret_conversation = conversations.conversation_start(
        org=alpha.org, actor=alpha.manager, side="staff", guardian=secret_guardian, student=secret,
        subject="Тайный-Ребёнок", body="Тайный-Ребёнок болеет",
    )  # fmt: skip
    announcement = messaging_services.announcement_send(
        org=alpha.org, actor=alpha.owner, title="Роботы-1 (alpha)", body_template="Текст",
        audience="group", group=alpha.group,
    )  # fmt: skip
    feedback = feedback_services.feedback_submit(
        org=alpha.org, actor=alpha.parent, guardian=alpha.guardian, student=alpha.student,
        text="Роботы-1 (alpha): ужасно скучно",
    )  # fmt: skip
    survey = Survey.objects.create(
        organization=alpha.org, enrollment=alpha.enrollment, guardian=alpha.guardian, student=alpha.student,
        reason="after_lessons", sent_on=dt.date.today(),
    )  # fmt: skip
    return {
        "inbox": message.pk,
        "conversations": conversation.pk,
        "secret_conversation": secret_conversation.pk,
        "announcements": announcement.pk,
        "feedback": feedback.pk,
        "surveys": survey.pk,
    }


def call(client, method: str, path: str):
    if method == "get":
        return client.get(path)
    if method == "delete":
        return client.delete(path)
    return client.send(method, path, {})


def assert_nothing_of_alpha(response, who: str, what: str):
    assert response.status_code < 500, f"{who} {what} answered {response.status_code}"
    body = response.content.decode()
    for marker in ALPHA_MARKERS:
        assert marker not in body, f"{who} saw «{marker}» at {what}"


def test_no_operation_gives_another_organisation_anything(alpha, beta, api_as):
    objects = alpha_objects(alpha)
    for role in Role.values:
        client = api_as(beta.user(role))
        for method, path in operations():
            if method == "delete":
                continue  # revokes the caller's own token, takes no id
            resource = path.split("/")[1]
            concrete = path.replace("{pk}", str(objects.get(resource, 1)))
            response = call(client, method, concrete)
            assert_nothing_of_alpha(response, f"beta_{role}", f"{method.upper()} {concrete}")
            if "{pk}" in path:
                assert response.status_code in (403, 404, 422), f"beta_{role} {method.upper()} {concrete}"


def test_a_family_never_reaches_another_childs_data(alpha, api_as):
    objects = alpha_objects(alpha)
    secret_ids = {
        "students": objects["secret_student"],
        "enrollments": objects["secret_enrollment"],
        "attendance": objects["secret_attendance"],
        "xp": objects["secret_student"],
        "conversations": objects["secret_conversation"],
    }
    for user in (alpha.parent, alpha.student_user):
        client = api_as(user)
        for method, path in operations():
            if method != "get":
                continue
            resource = path.split("/")[1]
            concrete = path.replace("{pk}", str(secret_ids.get(resource, objects.get(resource, 1))))
            response = client.get(concrete)
            assert response.status_code < 500, f"{user.username} {concrete} answered {response.status_code}"
            assert "Тайный-Ребёнок" not in response.content.decode(), (
                f"{user.username} saw another child at {concrete}"
            )
