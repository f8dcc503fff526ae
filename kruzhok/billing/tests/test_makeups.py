"""Make-up lessons (отработки): booking under the centre's rules, the visit in the other group's
journal, one write-off for the missed lesson and its make-up together, expiry, the parent's view."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from kruzhok.attendance.services import attendance_mark
from kruzhok.billing import makeups, selectors, services
from kruzhok.billing.checks import ledger_problems
from kruzhok.billing.models import EntryKind, LedgerEntry, MakeupLesson
from kruzhok.billing.tests.helpers import extra_lesson, lesson_in, pack_plan, parallel_group, sell
from kruzhok.testing import factories as f


def page(response) -> str:
    return response.content.decode()


@pytest.fixture
def other_group(alpha):
    return parallel_group(alpha, "Роботы-2 (alpha)")


@pytest.fixture
def missed(alpha, django_capture_on_commit_callbacks):
    """Masha's lesson three days ago, missed for a good reason."""
    lesson = extra_lesson(alpha, days_ago=3)
    with django_capture_on_commit_callbacks(execute=True):
        return attendance_mark(lesson=lesson, student=alpha.student, status="excused", actor=alpha.teacher)


def mark(world, lesson, status, capture):
    with capture(execute=True):
        return attendance_mark(lesson=lesson, student=world.student, status=status, actor=world.teacher)


def lessons_left(world):
    return selectors.subscription_list(org=world.org, student=world.student).get().lessons_left


def test_the_makeup_visit_writes_off_the_missed_lesson_once(
    alpha, other_group, missed, django_capture_on_commit_callbacks
):
    sell(alpha)
    assert lessons_left(alpha) == 8  # an excused absence writes nothing off
    target = lesson_in(alpha, other_group, days_ahead=1)
    booking = makeups.makeup_book(org=alpha.org, actor=alpha.manager, mark=missed, lesson=target)

    visit = mark(alpha, target, "present", django_capture_on_commit_callbacks)
    assert visit.enrollment == alpha.enrollment  # the child's own group's enrollment
    assert lessons_left(alpha) == 7
    entry = LedgerEntry.objects.get(kind=EntryKind.WRITEOFF, student=alpha.student)
    assert entry.lesson_id == missed.lesson_id and entry.attendance_mark_id == visit.pk
    assert "Отработка занятия" in entry.note

    # Marked again, or the missed lesson's mark changed afterwards: still one lesson for the pair.
    mark(alpha, target, "late", django_capture_on_commit_callbacks)
    mark(alpha, missed.lesson, "absent", django_capture_on_commit_callbacks)
    assert lessons_left(alpha) == 7
    assert ledger_problems() == []

    with pytest.raises(ValidationError) as exc:
        makeups.makeup_cancel(makeup=booking, actor=alpha.manager)
    assert exc.value.code == "already_used"
    [row] = makeups.makeup_rows(org=alpha.org, students=[alpha.student.pk])
    assert row.state == "used"


def test_a_makeup_visit_marked_absent_writes_nothing_off(
    alpha, other_group, missed, django_capture_on_commit_callbacks
):
    sell(alpha)
    target = lesson_in(alpha, other_group, days_ahead=1)
    makeups.makeup_book(org=alpha.org, actor=alpha.manager, mark=missed, lesson=target)
    mark(alpha, target, "present", django_capture_on_commit_callbacks)
    mark(alpha, target, "absent", django_capture_on_commit_callbacks)
    assert lessons_left(alpha) == 8
    assert ledger_problems() == []


def test_a_guest_without_a_booking_cannot_be_marked(alpha, other_group):
    target = lesson_in(alpha, other_group, days_ahead=1)
    with pytest.raises(ValidationError) as exc:
        attendance_mark(lesson=target, student=alpha.student, status="present", actor=alpha.teacher)
    assert exc.value.code == "not_in_group"


def test_the_target_lessons_journal_shows_the_visitor(client_as, alpha, other_group, missed):
    target = lesson_in(alpha, other_group, days_ahead=1)
    makeups.makeup_book(org=alpha.org, actor=alpha.manager, mark=missed, lesson=target)
    body = page(client_as(alpha.teacher).get(reverse("attendance:lesson", args=[target.pk])))
    assert alpha.student.full_name in body and "отработка" in body
    response = client_as(alpha.teacher).post(
        reverse("attendance:mark", args=[target.pk, alpha.student.pk]), {"status": "present"}
    )
    assert response.status_code == 302
    assert target.marks.get().status == "present"


@pytest.mark.parametrize(
    "case, code",
    [
        ("not_excused", "not_excused"),
        ("same_group", "same_group"),
        ("other_course", "wrong_course"),
        ("too_late", "outside_window"),
        ("cancelled_target", "target_cancelled"),
        ("disabled", "makeup_disabled"),
        ("other_branch", "wrong_branch"),
    ],
)
def test_a_makeup_outside_the_rules_is_refused(alpha, other_group, missed, case, code):
    target = lesson_in(alpha, other_group, days_ahead=1)
    if case == "not_excused":
        missed.status = "absent"
        missed.save()
    elif case == "same_group":
        target = lesson_in(alpha, alpha.group, days_ahead=1)
    elif case == "other_course":
        target = lesson_in(alpha, f.GroupFactory(organization=alpha.org, branch=alpha.branch), days_ahead=1)
    elif case == "too_late":
        target = lesson_in(alpha, other_group, days_ahead=40)
    elif case == "cancelled_target":
        target.status = "cancelled"
        target.save()
    elif case == "disabled":
        services.billing_settings_update(
            org=alpha.org,
            writeoff_unexcused_absence=True,
            sibling_discount_percent=10,
            renewal_days=7,
            makeup_for_excused=False,
        )
    elif case == "other_branch":
        services.billing_settings_update(
            org=alpha.org,
            writeoff_unexcused_absence=True,
            sibling_discount_percent=10,
            renewal_days=7,
            makeup_same_branch=True,
        )
        other_group.branch = alpha.other_branch
        other_group.save()
    with pytest.raises(ValidationError) as exc:
        makeups.makeup_book(org=alpha.org, actor=alpha.manager, mark=missed, lesson=target)
    assert exc.value.code == code
    assert not MakeupLesson.objects.exists()


def test_a_missed_lesson_is_booked_once_and_rebooked_after_a_cancel(alpha, other_group, missed):
    first = lesson_in(alpha, other_group, days_ahead=1)
    second = lesson_in(alpha, other_group, days_ahead=2)
    booking = makeups.makeup_book(org=alpha.org, actor=alpha.manager, mark=missed, lesson=first)
    with pytest.raises(ValidationError) as exc:
        makeups.makeup_book(org=alpha.org, actor=alpha.manager, mark=missed, lesson=second)
    assert exc.value.code == "already_booked"
    makeups.makeup_cancel(makeup=booking, actor=alpha.manager)
    makeups.makeup_book(org=alpha.org, actor=alpha.manager, mark=missed, lesson=second)
    assert [r.state for r in makeups.makeup_rows(org=alpha.org, students=[alpha.student.pk])] == [
        "upcoming",
        "cancelled",
    ]


def test_an_unused_makeup_expires(alpha, missed):
    students = [alpha.student.pk]
    today = services.org_today(alpha.org)
    assert [m.pk for m in makeups.makeups_available(org=alpha.org, students=students, today=today)] == [
        missed.pk
    ]
    later = today + dt.timedelta(days=28)
    assert makeups.makeups_available(org=alpha.org, students=students, today=later) == []
    services.billing_settings_update(
        org=alpha.org,
        writeoff_unexcused_absence=True,
        sibling_discount_percent=10,
        renewal_days=7,
        makeup_days=2,
    )
    with pytest.raises(ValidationError) as exc:
        makeups.makeup_book(
            org=alpha.org,
            actor=alpha.manager,
            mark=missed,
            lesson=lesson_in(alpha, alpha.group, days_ahead=1),
        )
    assert exc.value.code == "makeup_expired"


def test_a_manager_books_a_makeup_and_the_parent_sees_it(client_as, alpha, other_group, missed):
    target = lesson_in(alpha, other_group, days_ahead=1)
    family = page(client_as(alpha.parent).get(reverse("billing:family")))
    assert "можно отработать до" in family

    manager = client_as(alpha.manager)  # the test client logs in as one user at a time
    listing = page(manager.get(reverse("billing:makeups")))
    assert "Записать на отработку" in listing and alpha.student.full_name in listing
    url = reverse("billing:makeup_book", args=[missed.pk])
    form = page(manager.get(url))
    assert "Роботы-2 (alpha)" in form
    bad = manager.post(url, {"lesson": "999999"})
    assert bad.status_code == 400 and "Не сохранено" in page(bad)
    manager.post(url, {"lesson": str(target.pk)})
    manager.post(url, {"lesson": str(target.pk)})  # a double submit
    assert MakeupLesson.objects.filter(status="booked").count() == 1

    family = page(client_as(alpha.parent).get(reverse("billing:family")))
    assert "Роботы-2 (alpha)" in family and "Предстоит" in family

    manager = client_as(alpha.manager)
    booking = MakeupLesson.objects.get()
    manager.post(reverse("billing:makeup_cancel", args=[booking.pk]))
    booking.refresh_from_db()
    assert booking.status == "cancelled"


def test_makeup_pages_of_another_organisation_are_404(client_as, alpha, beta, other_group, missed):
    target = lesson_in(alpha, other_group, days_ahead=1)
    booking = makeups.makeup_book(org=alpha.org, actor=alpha.manager, mark=missed, lesson=target)
    outsider = client_as(beta.manager)
    assert outsider.get(reverse("billing:makeup_book", args=[missed.pk])).status_code == 404
    assert outsider.post(reverse("billing:makeup_cancel", args=[booking.pk])).status_code == 404
    assert alpha.student.full_name not in page(outsider.get(reverse("billing:makeups")))
    assert client_as(alpha.teacher).get(reverse("billing:makeups")).status_code == 403
    booking.refresh_from_db()
    assert booking.status == "booked"


def test_the_owner_sets_the_makeup_rules_and_bad_input_is_refused(client_as, alpha):
    owner = client_as(alpha.owner)
    data = {
        "writeoff_unexcused_absence": "on",
        "sibling_discount_percent": "10",
        "renewal_days": "7",
        "makeup_days": "500",
        "monthly_prorate": "on",
    }
    bad = owner.post(reverse("billing:settings"), data)
    assert bad.status_code == 200 and "Не сохранено" in page(bad)
    assert services.billing_settings_for(org=alpha.org).makeup_days == 30
    owner.post(reverse("billing:settings"), {**data, "makeup_days": "14"})
    rules = services.billing_settings_for(org=alpha.org)
    assert rules.makeup_days == 14 and rules.monthly_prorate and not rules.makeup_for_excused


def test_a_makeup_visit_without_a_subscription_is_billed_at_the_single_price(
    alpha, other_group, missed, django_capture_on_commit_callbacks
):
    pack_plan(alpha, price="600", kind="single", lessons=1, name="Разовое")
    target = lesson_in(alpha, other_group, days_ahead=1)
    makeups.makeup_book(org=alpha.org, actor=alpha.manager, mark=missed, lesson=target)
    mark(alpha, target, "present", django_capture_on_commit_callbacks)
    entry = LedgerEntry.objects.get(kind=EntryKind.WRITEOFF)
    assert entry.amount == -600 and entry.lesson_id == missed.lesson_id
