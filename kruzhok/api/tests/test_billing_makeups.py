"""Make-up lessons (отработки) in the API: a parent sees what their child may make up, a manager
books it into another group's lesson under the centre's rules and cancels it; other organisations
and other families get 404, bad input a clear Russian message."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kruzhok.api.tests.helpers import error_code, ids
from kruzhok.attendance.services import attendance_mark
from kruzhok.billing import makeups, services
from kruzhok.billing.models import MakeupLesson
from kruzhok.billing.tests.helpers import extra_lesson, lesson_in, parallel_group
from kruzhok.school.models import StudentGuardian
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db


def excused(world, *, student=None, days_ago: int = 3, capture):
    lesson = extra_lesson(world, days_ago=days_ago)
    with capture(execute=True):
        return attendance_mark(
            lesson=lesson, student=student or world.student, status="excused", actor=world.teacher
        )


@pytest.fixture
def other_group(alpha):
    return parallel_group(alpha, "Роботы-2 (alpha)")


@pytest.fixture
def missed(alpha, django_capture_on_commit_callbacks):
    """Masha's lesson three days ago, missed for a good reason."""
    return excused(alpha, capture=django_capture_on_commit_callbacks)


@pytest.fixture
def target(alpha, other_group):
    return lesson_in(alpha, other_group, days_ahead=1)


@pytest.fixture
def other_child(alpha):
    """A child of the same centre and group, of another family."""
    child = f.StudentFactory(
        organization=alpha.org, branch=alpha.branch, first_name="Чужой", last_name="Ребёнок"
    )
    guardian = f.GuardianFactory(organization=alpha.org, full_name="Чужой Родитель")
    StudentGuardian.objects.create(organization=alpha.org, student=child, guardian=guardian)
    f.EnrollmentFactory(organization=alpha.org, student=child, group=alpha.group)
    return child


def book(api, mark, lesson):
    return api.post("/makeups", {"missed_mark": mark.pk, "lesson": lesson.pk})


# ---- the happy path ----------------------------------------------------------------------------


def test_a_manager_books_a_makeup_and_cancels_it(api_as, alpha, missed, target):
    api = api_as(alpha.manager)
    available = api.get("/makeups/available", {"student": alpha.student.pk}).json()
    assert available["count"] == 1
    row = available["items"][0]
    assert row["missed_mark_id"] == missed.pk
    assert row["student"]["full_name"] == alpha.student.full_name
    assert row["missed_lesson"]["group"]["name"] == "Роботы-1 (alpha)"
    assert row["expires_on"] == str(makeups.makeup_expires_on(mark=missed, org=alpha.org))

    options = api.get(f"/makeups/available/{missed.pk}/options").json()
    assert [o["id"] for o in options["items"]] == [target.pk]
    assert options["items"][0]["group"]["name"] == "Роботы-2 (alpha)"

    booked = book(api, missed, target)
    assert booked.status_code == 201
    body = booked.json()
    assert body["lesson"]["id"] == target.pk and body["missed_mark_id"] == missed.pk
    assert (body["status"], body["state"], body["state_label"]) == ("booked", "upcoming", "Предстоит")
    assert ids(api.get("/makeups", {"student": alpha.student.pk})) == [body["id"]]
    assert api.get("/makeups/available").json()["count"] == 0  # booked: no longer offered

    cancelled = api.post(f"/makeups/{body['id']}/cancel")
    assert cancelled.status_code == 200
    assert (cancelled.json()["status"], cancelled.json()["state_label"]) == ("cancelled", "Отменена")
    again = api.post(f"/makeups/{body['id']}/cancel")  # a retried cancel changes nothing
    assert again.status_code == 200 and again.json()["status"] == "cancelled"
    assert api.get("/makeups/available").json()["count"] == 1  # may be booked again


def test_a_used_makeup_shows_as_used_and_cannot_be_cancelled(
    api_as, alpha, missed, target, django_capture_on_commit_callbacks
):
    api = api_as(alpha.manager)
    booking_id = book(api, missed, target).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        attendance_mark(lesson=target, student=alpha.student, status="present", actor=alpha.teacher)
    assert api.get(f"/makeups/{booking_id}").json()["state"] == "used"
    response = api.post(f"/makeups/{booking_id}/cancel")
    assert response.status_code == 409 and error_code(response) == "already_used"
    assert "уже пришёл на отработку" in response.json()["error"]["message"]
    assert MakeupLesson.objects.get().status == "booked"


def test_a_parent_sees_their_childs_makeups(api_as, alpha, missed, target):
    booking = makeups.makeup_book(org=alpha.org, actor=alpha.manager, mark=missed, lesson=target)
    api = api_as(alpha.parent)
    assert ids(api.get("/makeups", {"student": alpha.student.pk})) == [booking.pk]
    assert api.get(f"/makeups/{booking.pk}").json()["lesson"]["group"]["name"] == "Роботы-2 (alpha)"
    assert api.get("/makeups/available").json()["count"] == 0


# ---- rules of the centre -----------------------------------------------------------------------


def test_an_absence_without_a_good_reason_gives_no_makeup(
    api_as, alpha, target, django_capture_on_commit_callbacks
):
    lesson = extra_lesson(alpha, days_ago=2)
    with django_capture_on_commit_callbacks(execute=True):
        absent = attendance_mark(lesson=lesson, student=alpha.student, status="absent", actor=alpha.teacher)
    response = book(api_as(alpha.manager), absent, target)
    assert response.status_code == 400 and error_code(response) == "not_excused"
    assert (
        response.json()["error"]["message"] == "Отработка положена только за пропуск по уважительной причине."
    )


@pytest.mark.parametrize(
    "where, code",
    [("own_group", "same_group"), ("after_the_window", "outside_window"), ("other_course", "wrong_course")],
)
def test_a_lesson_outside_the_rules_is_refused_with_its_code(api_as, alpha, missed, other_group, where, code):
    lesson = {
        "own_group": lambda: lesson_in(alpha, alpha.group, days_ahead=1),
        "after_the_window": lambda: lesson_in(alpha, other_group, days_ahead=40),
        "other_course": lambda: lesson_in(alpha, f.GroupFactory(organization=alpha.org), days_ahead=1),
    }[where]()
    response = book(api_as(alpha.manager), missed, lesson)
    assert response.status_code == 400 and error_code(response) == code
    assert response.json()["error"]["message"]  # a sentence for the manager, in Russian
    assert not MakeupLesson.objects.exists()


def test_the_branch_limit_and_the_window_in_days_are_the_centres(api_as, alpha, missed, other_group):
    def rules(**makeup_rules):
        services.billing_settings_update(
            org=alpha.org,
            writeoff_unexcused_absence=True,
            sibling_discount_percent=10,
            renewal_days=7,
            **makeup_rules,
        )

    other_group.branch = alpha.other_branch
    other_group.save()
    elsewhere = lesson_in(alpha, other_group, days_ahead=1)
    api = api_as(alpha.owner)
    rules(makeup_same_branch=True)
    response = book(api, missed, elsewhere)
    assert response.status_code == 400 and error_code(response) == "wrong_branch"
    assert response.json()["error"]["message"] == "Отработка — только в группах своего филиала."
    assert api.get(f"/makeups/available/{missed.pk}/options").json()["count"] == 0

    rules(makeup_days=2)  # the absence was three days ago
    response = book(api, missed, elsewhere)
    assert response.status_code == 400 and error_code(response) == "makeup_expired"
    assert api.get("/makeups/available").json()["count"] == 0


def test_a_missed_lesson_is_booked_once(api_as, alpha, missed, target, other_group):
    api = api_as(alpha.manager)
    assert book(api, missed, target).status_code == 201
    second = book(api, missed, lesson_in(alpha, other_group, days_ahead=2))
    assert second.status_code == 409 and error_code(second) == "already_booked"
    assert second.json()["error"]["message"] == "Это занятие уже записано на отработку."
    assert MakeupLesson.objects.count() == 1


# ---- who may do what ---------------------------------------------------------------------------


def test_a_parent_cannot_reach_another_childs_makeups(
    api_as, alpha, other_child, other_group, target, django_capture_on_commit_callbacks
):
    their_mark = excused(alpha, student=other_child, capture=django_capture_on_commit_callbacks)
    theirs = makeups.makeup_book(org=alpha.org, actor=alpha.manager, mark=their_mark, lesson=target)
    api = api_as(alpha.parent)
    response = api.get("/makeups/available", {"student": other_child.pk})
    assert response.status_code == 404
    assert response.json()["error"]["fields"] == {"student": "Не найдено."}
    assert api.get("/makeups", {"student": other_child.pk}).status_code == 404
    assert api.get(f"/makeups/{theirs.pk}").status_code == 404
    assert "Ребёнок" not in api.get("/makeups").content.decode()
    assert api.get(f"/makeups/available/{their_mark.pk}/options").status_code == 403
    assert book(api, their_mark, target).status_code == 403
    assert api.post(f"/makeups/{theirs.pk}/cancel").status_code == 403
    assert MakeupLesson.objects.get().status == "booked"


def test_a_teacher_and_a_student_cannot_use_makeups(api_as, alpha, missed, target):
    for user in (alpha.teacher, alpha.student_user):
        api = api_as(user)
        assert api.get("/makeups/available").status_code == 403
        assert api.get("/makeups").status_code == 403
        assert book(api, missed, target).status_code == 403


def test_a_manager_reaches_only_children_of_their_branches(
    api_as, alpha, other_group, django_capture_on_commit_callbacks
):
    far = f.StudentFactory(organization=alpha.org, branch=alpha.other_branch, last_name="Дальний")
    far_group = f.GroupFactory(organization=alpha.org, course=alpha.course, branch=alpha.other_branch)
    f.EnrollmentFactory(organization=alpha.org, student=far, group=far_group)
    lesson = lesson_in(alpha, far_group, days_ahead=-2)
    with django_capture_on_commit_callbacks(execute=True):
        far_mark = attendance_mark(lesson=lesson, student=far, status="excused", actor=alpha.owner)
    api = api_as(alpha.manager)
    assert api.get("/makeups/available", {"student": far.pk}).status_code == 404
    response = book(api, far_mark, lesson_in(alpha, other_group, days_ahead=1))
    assert response.status_code == 404 and response.json()["error"]["fields"] == {
        "missed_mark": "Не найдено."
    }
    owners = api_as(alpha.owner).get("/makeups/available", {"student": far.pk}).json()["items"]
    assert [row["missed_mark_id"] for row in owners] == [far_mark.pk]


def test_another_organisation_gets_404(api_as, alpha, beta, missed, target):
    booking = makeups.makeup_book(org=alpha.org, actor=alpha.manager, mark=missed, lesson=target)
    api = api_as(beta.manager)
    assert api.get("/makeups/available", {"student": alpha.student.pk}).status_code == 404
    assert api.get(f"/makeups/available/{missed.pk}/options").status_code == 404
    assert api.get(f"/makeups/{booking.pk}").status_code == 404
    assert "Петрова-alpha" not in api.get("/makeups").content.decode()
    response = book(api, missed, target)
    assert response.status_code == 404 and "missed_mark" in response.json()["error"]["fields"]
    assert api.post(f"/makeups/{booking.pk}/cancel").status_code == 404
    # Alpha's own manager cannot book into Beta's lesson either.
    beta_lesson = lesson_in(beta, beta.group, days_ahead=1)
    booking.status = "cancelled"
    booking.save()
    response = book(api_as(alpha.manager), missed, beta_lesson)
    assert response.status_code == 404 and response.json()["error"]["fields"] == {"lesson": "Не найдено."}
    assert MakeupLesson.objects.filter(status="booked").count() == 0


# ---- bad input ---------------------------------------------------------------------------------


def test_missing_fields_are_named_in_russian(api_as, alpha):
    response = api_as(alpha.manager).post("/makeups", {})
    assert response.status_code == 422 and error_code(response) == "invalid_input"
    assert response.json()["error"]["fields"] == {
        "missed_mark": "Обязательное поле.",
        "lesson": "Обязательное поле.",
    }


@pytest.mark.parametrize(
    "body, field, message",
    [
        ({"missed_mark": "первый", "lesson": 1}, "missed_mark", "Нужно целое число."),
        (
            {"missed_mark": 2**70, "lesson": 1},
            "missed_mark",
            "Значение должно быть не больше 9223372036854775807.",
        ),
        ({"missed_mark": 1, "lesson": -5}, "lesson", "Значение должно быть не меньше 1."),
        ({"missed_mark": 1, "lesson": "1; DROP TABLE billing_makeuplesson"}, "lesson", "Нужно целое число."),
        ({"missed_mark": 1, "lesson": 1, "student": 1}, "student", "Неизвестное поле."),
        ({"missed_mark": [1], "lesson": {"id": 1}}, "missed_mark", "Нужно целое число."),
    ],
)
def test_wrong_hostile_and_huge_input_is_refused(api_as, alpha, body, field, message):
    response = api_as(alpha.manager).post("/makeups", body)
    assert response.status_code == 422
    assert response.json()["error"]["fields"][field] == message
    assert not MakeupLesson.objects.exists()


def test_unknown_ids_and_broken_bodies(api_as, alpha, missed):
    api = api_as(alpha.manager)
    unknown = api.post("/makeups", {"missed_mark": missed.pk, "lesson": 999_999_999})
    assert unknown.status_code == 404 and unknown.json()["error"]["fields"] == {"lesson": "Не найдено."}
    assert api.post("/makeups", raw="{'missed_mark': 1").status_code == 400
    assert api.post("/makeups", raw="x" * (2 * 1024 * 1024)).status_code == 413
    assert api.get("/makeups", {"student": "<script>"}).status_code == 422
    assert api.get("/makeups/available", {"student": "0"}).status_code == 422
    assert api.get("/makeups/999999999").status_code == 404
    assert api.post("/makeups/999999999/cancel").status_code == 404
    assert api.get("/makeups/available/abc/options").status_code == 422


# ---- shape and cost ----------------------------------------------------------------------------


def test_the_list_costs_the_same_queries_for_one_booking_or_many(
    api_as, alpha, other_group, django_capture_on_commit_callbacks
):
    api = api_as(alpha.manager)

    def book_one(days_ago):
        mark = excused(alpha, days_ago=days_ago, capture=django_capture_on_commit_callbacks)
        makeups.makeup_book(
            org=alpha.org,
            actor=alpha.manager,
            mark=mark,
            lesson=lesson_in(alpha, other_group, days_ahead=days_ago),
        )

    book_one(1)
    api.get("/makeups")  # the token's first use also records when it was used
    with CaptureQueriesContext(connection) as one:
        assert api.get("/makeups").json()["count"] == 1
    for days_ago in (2, 3, 4):
        book_one(days_ago)
    with CaptureQueriesContext(connection) as four:
        assert api.get("/makeups").json()["count"] == 4
    assert len(four) == len(one)


def test_the_makeup_endpoints_are_in_the_schema(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in ("/api/v1/makeups", "/api/v1/makeups/available", "/api/v1/makeups/{pk}/cancel"):
        assert path in paths
    assert "/api/v1/makeups/available/{pk}/options" in paths
