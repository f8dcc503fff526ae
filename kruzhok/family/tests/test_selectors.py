import datetime as dt

import pytest
from django.http import Http404
from django.utils import timezone

from kruzhok.family import selectors
from kruzhok.family.tests.helpers import in_days
from kruzhok.school.models import EnrollmentStatus, LessonStatus, StudentGuardian
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db


def _window(days_back=0, days_ahead=28):
    today = timezone.localdate()
    return today - dt.timedelta(days=days_back), today + dt.timedelta(days=days_ahead)


def test_a_parent_gets_only_their_own_children(alpha, other_family):
    children = list(selectors.children_for_user(user=alpha.parent, org=alpha.org))
    assert children == [alpha.student]


def test_a_student_gets_only_themselves(alpha, other_family):
    assert list(selectors.children_for_user(user=alpha.student_user, org=alpha.org)) == [alpha.student]


def test_staff_get_no_children(alpha):
    for user in (alpha.owner, alpha.manager, alpha.teacher):
        assert not selectors.children_for_user(user=user, org=alpha.org).exists()


def test_a_parent_gets_no_children_of_another_organisation(alpha, beta):
    assert not selectors.children_for_user(user=alpha.parent, org=beta.org).exists()


def test_child_for_user_is_404_for_a_neighbours_child(alpha, other_family):
    with pytest.raises(Http404):
        selectors.child_for_user(user=alpha.parent, org=alpha.org, pk=other_family["child"].pk)


def test_the_schedule_keeps_cancelled_and_moved_lessons(alpha, make_lesson):
    cancelled = make_lesson(
        alpha, starts_at=in_days(1), status=LessonStatus.CANCELLED, cancel_reason="Болезнь"
    )
    moved = make_lesson(alpha, starts_at=in_days(3, hour=18), moved_from=in_days(2))
    date_from, date_to = _window()
    lessons = list(
        selectors.schedule_for_user(user=alpha.parent, org=alpha.org, date_from=date_from, date_to=date_to)
    )
    assert lessons == [alpha.lesson, cancelled, moved]
    assert lessons[1].is_cancelled
    assert lessons[2].starts_at == in_days(3, hour=18)


def test_the_schedule_ends_on_the_last_day_inclusive(alpha, make_lesson):
    last = make_lesson(alpha, starts_at=in_days(28, hour=20))
    beyond = make_lesson(alpha, starts_at=in_days(29, hour=9))
    date_from, date_to = _window()
    lessons = list(
        selectors.schedule_for_user(user=alpha.parent, org=alpha.org, date_from=date_from, date_to=date_to)
    )
    assert last in lessons
    assert beyond not in lessons


def test_the_schedule_skips_lessons_before_the_child_joined(alpha, make_lesson):
    before = make_lesson(alpha, starts_at=in_days(-40))
    after = make_lesson(alpha, starts_at=in_days(-20))
    date_from, date_to = _window(days_back=60)
    lessons = list(
        selectors.schedule_for_user(user=alpha.parent, org=alpha.org, date_from=date_from, date_to=date_to)
    )
    assert after in lessons
    assert before not in lessons


def test_the_schedule_skips_groups_the_child_has_left(alpha, make_lesson):
    alpha.enrollment.status = EnrollmentStatus.DROPPED
    alpha.enrollment.ended_on = timezone.localdate()
    alpha.enrollment.save()
    date_from, date_to = _window()
    assert not selectors.schedule_for_user(
        user=alpha.parent, org=alpha.org, date_from=date_from, date_to=date_to
    ).exists()


def test_siblings_in_one_group_share_a_lesson(alpha):
    sibling = f.StudentFactory(organization=alpha.org, first_name="Коля", last_name="Петров")
    StudentGuardian.objects.create(organization=alpha.org, student=sibling, guardian=alpha.guardian)
    f.EnrollmentFactory(
        organization=alpha.org, student=sibling, group=alpha.group, started_on=timezone.localdate()
    )
    children = selectors.children_for_user(user=alpha.parent, org=alpha.org)
    date_from, date_to = _window()
    items = selectors.schedule_items(org=alpha.org, children=children, date_from=date_from, date_to=date_to)
    assert len(items) == 1
    assert {c.first_name for c in items[0].children} == {"Маша", "Коля"}


def test_next_lessons_skip_cancelled_and_finished_ones(alpha, make_lesson):
    make_lesson(alpha, starts_at=in_days(1), status=LessonStatus.CANCELLED)
    upcoming = make_lesson(alpha, starts_at=in_days(2))
    now = in_days(0, hour=23)  # today's 16:00 lesson is over
    items = selectors.next_lessons(org=alpha.org, children=[alpha.student], now=now, limit=3)
    assert [item.lesson for item in items] == [upcoming]


def test_attendance_covers_only_the_users_children(alpha, other_family, make_lesson, mark):
    lesson = make_lesson(alpha, starts_at=in_days(-1))
    own = mark(alpha, lesson, "present")
    mark(alpha, lesson, "absent", student=other_family["child"], enrollment=other_family["enrollment"])
    assert list(selectors.attendance_for_user(user=alpha.parent, org=alpha.org)) == [own]


def test_the_calendar_token_lookup_ignores_empty_and_huge_tokens(alpha):
    assert selectors.guardian_for_calendar_token(token="") is None
    assert selectors.guardian_for_calendar_token(token="x" * 10_000) is None
