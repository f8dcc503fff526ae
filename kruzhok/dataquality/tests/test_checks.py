"""Each data-quality check finds what it should, within the member's scope, and links to the fix."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from kruzhok.attendance.models import AttendanceMark
from kruzhok.billing import services as billing
from kruzhok.dataquality import checks
from kruzhok.lib.dates import org_timezone
from kruzhok.school.models import Consent, LessonStatus, StudentGuardian
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db


def _lesson(world, days_ago: int, **kwargs):
    tz = org_timezone(world.org)
    day = timezone.localdate() - dt.timedelta(days=days_ago)
    starts = dt.datetime.combine(day, dt.time(10, 0), tzinfo=tz)
    kwargs.setdefault("group", world.group)
    return f.LessonFactory(
        organization=world.org,
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=1),
        teacher=world.teacher,
        **kwargs,
    )


def _texts(problems):
    return [p.text for p in problems]


def test_unmarked_lessons_of_earlier_days_are_found_and_marked_ones_are_not(alpha):
    today = timezone.localdate()
    unmarked = _lesson(alpha, 2)
    marked = _lesson(alpha, 3)
    AttendanceMark.objects.create(
        organization=alpha.org,
        lesson=marked,
        student=alpha.student,
        enrollment=alpha.enrollment,
        status="present",
    )
    _lesson(alpha, 4, status=LessonStatus.CANCELLED)
    problems = checks.unmarked_lessons(alpha.org, None, today)
    assert [p.url for p in problems] == [reverse("attendance:lesson", args=[unmarked.pk])]
    assert "посещаемость не отмечена" in problems[0].text and alpha.group.name in problems[0].text
    # Today's lesson is not late yet; the other branch's manager does not see this group.
    assert checks.unmarked_lessons(alpha.org, [alpha.other_branch.pk], today) == []


def test_a_mark_on_a_cancelled_lesson_is_found(alpha):
    lesson = _lesson(alpha, 1)
    AttendanceMark.objects.create(
        organization=alpha.org,
        lesson=lesson,
        student=alpha.student,
        enrollment=alpha.enrollment,
        status="present",
    )
    assert checks.marks_on_cancelled(alpha.org, None, timezone.localdate()) == []
    lesson.status = LessonStatus.CANCELLED
    lesson.save()
    [problem] = checks.marks_on_cancelled(alpha.org, None, timezone.localdate())
    assert alpha.student.full_name in problem.text and "отменённом" in problem.text


def test_an_active_enrollment_without_future_lessons_is_found(alpha):
    today = timezone.localdate()
    # The world's only lesson is today at 16:00, which is still ahead of the day's start.
    assert checks.enrollments_without_lessons(alpha.org, None, today) == []
    alpha.lesson.delete()
    [problem] = checks.enrollments_without_lessons(alpha.org, None, today)
    assert problem.url == reverse("school:group_detail", args=[alpha.group.pk])
    assert alpha.student.full_name in problem.text


def test_children_without_a_guardian_or_consent_are_found(alpha, beta):
    today = timezone.localdate()
    assert checks.children_without_guardian(alpha.org, None, today) == []
    assert checks.children_without_consent(alpha.org, None, today) == []
    lonely = f.StudentFactory(organization=alpha.org, branch=alpha.branch, last_name="Одинокий")
    StudentGuardian.objects.filter(student=alpha.student).delete()
    Consent.objects.filter(student=alpha.student).update(revoked_at=timezone.now())
    no_guardian = _texts(checks.children_without_guardian(alpha.org, None, today))
    assert sorted(no_guardian) == sorted(
        [
            f"{alpha.student.full_name}: не указан ни один родитель",
            f"{lonely.full_name}: не указан ни один родитель",
        ]
    )
    assert len(checks.children_without_consent(alpha.org, None, today)) == 2
    # Another organisation's children never appear.
    assert all(beta.student.last_name not in t for t in no_guardian)


def test_likely_duplicates_ignore_case_yo_and_spaces_but_need_the_same_birth_date(alpha):
    birth = dt.date(2015, 3, 4)
    first = f.StudentFactory(
        organization=alpha.org, last_name="Семёнова", first_name="Алёна", birth_date=birth
    )
    f.StudentFactory(organization=alpha.org, last_name="  семенова ", first_name="АЛЕНА", birth_date=birth)
    f.StudentFactory(
        organization=alpha.org, last_name="Семенова", first_name="Алена", birth_date=dt.date(2016, 3, 4)
    )
    f.StudentFactory(organization=alpha.org, last_name="Кузнецов", first_name="Пётр", birth_date=birth)
    [problem] = checks.likely_duplicates(alpha.org, None, timezone.localdate())
    assert first.last_name in problem.text and "04.03.2015" in problem.text
    assert checks.normalized_name(" Семёнова-Ли ", "Алёна") == "семенова ли алена"


def test_a_payment_from_a_family_with_no_subscription_is_found(alpha):
    account = billing.account_for_guardian(guardian=alpha.guardian)
    billing.payment_take(
        org=alpha.org,
        account=account,
        amount="1500",
        method="cash",
        actor=alpha.owner,
        idempotency_key="dq-1",
    )
    [problem] = checks.payments_without_subscription(alpha.org, None, timezone.localdate())
    assert alpha.guardian.full_name in problem.text and problem.url == reverse(
        "billing:account", args=[account.pk]
    )
    assert problem.branch_id == alpha.branch.pk
    assert (
        checks.payments_without_subscription(alpha.org, [alpha.other_branch.pk], timezone.localdate()) == []
    )
    plan = billing.plan_create(
        org=alpha.org, name="8 занятий", kind="pack", course=alpha.course, price="4000", lessons=8
    )
    billing.subscription_sell(org=alpha.org, actor=alpha.owner, student=alpha.student, plan=plan)
    assert checks.payments_without_subscription(alpha.org, None, timezone.localdate()) == []


def test_the_ledger_check_reuses_billings_own_checks(alpha):
    assert checks.ledger_disagreements(alpha.org, None, timezone.localdate()) == []
