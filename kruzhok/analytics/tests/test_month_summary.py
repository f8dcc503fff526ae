"""month_summary(): the contract the reports build on, checked against an October counted by hand."""

from decimal import Decimal

import pytest

from kruzhok.accounts.models import Membership
from kruzhok.analytics.selectors import month_summary, scope_for
from kruzhok.analytics.tests.conftest import OCTOBER
from kruzhok.analytics.tests.scenario import build_october

pytestmark = pytest.mark.django_db


def test_it_counts_october_for_the_whole_organisation(alpha):
    build_october(alpha)
    s = month_summary(alpha.org, month=OCTOBER)
    # Open on 31 Oct: Маша (joined 21 Oct), the steady child, the transferred child's new enrollment.
    assert s.active_students == 3
    # Маша is new; the transfer-in is not a new child.
    assert s.new_enrollments == 1
    assert s.dropped == 2
    # Could leave: 4 open on 1 Oct (dropped, steady, transferred, north) + 1 new = 5; 2 left.
    assert s.churn_rate == pytest.approx(2 / 5)
    # Marks: present, present, present, late, absent → 4 of 5 attended.
    assert s.attendance_rate == pytest.approx(4 / 5)
    assert (s.lessons_held, s.lessons_cancelled) == (2, 1)
    assert s.revenue == Decimal("5000.00")
    # 4000 ₽ a month × (0.8 + 0.2); only the 0.8 child is over the alert threshold.
    assert s.revenue_at_risk == Decimal("4000.00")
    assert s.at_risk_children == 1


def test_a_branch_filter_keeps_only_that_branchs_groups(alpha):
    o = build_october(alpha)
    s = month_summary(alpha.org, month=OCTOBER, branch_ids=[alpha.other_branch.pk])
    assert (s.active_students, s.new_enrollments, s.dropped) == (0, 0, 1)
    assert s.churn_rate == pytest.approx(1.0)
    assert s.revenue == Decimal("0.00")
    assert [g.group_id for g in s.by_group] == [o.group2.pk]


def test_by_group_rows_carry_fill_attendance_and_drops(alpha):
    build_october(alpha)
    rows = {g.group_name: g for g in month_summary(alpha.org, month=OCTOBER).by_group}
    centre = rows[alpha.group.name]
    assert (centre.enrolled, centre.capacity, centre.dropped) == (3, alpha.group.capacity, 1)
    assert centre.attendance_rate == pytest.approx(0.8)
    assert centre.teacher_name and centre.course_name == alpha.course.title


def test_a_manager_scope_sees_only_their_branch(alpha):
    build_october(alpha)
    scope = scope_for(Membership.objects.get(user=alpha.manager))
    s = month_summary(alpha.org, month=OCTOBER, scope=scope)
    assert s.dropped == 1
    assert s.churn_rate == pytest.approx(1 / 4)
    # A filter can never widen the scope.
    widened = month_summary(alpha.org, month=OCTOBER, scope=scope, branch_ids=[alpha.other_branch.pk])
    assert (widened.active_students, widened.dropped, widened.by_group) == (0, 0, [])


def test_a_teacher_scope_sees_only_their_groups(alpha):
    o = build_october(alpha)
    scope = scope_for(Membership.objects.get(user=o.teacher2))
    s = month_summary(alpha.org, month=OCTOBER, scope=scope)
    assert (s.dropped, s.active_students, s.revenue) == (1, 0, Decimal("0.00"))


def test_another_organisation_is_never_counted(alpha, beta):
    build_october(alpha)
    s = month_summary(beta.org, month=OCTOBER)
    # Beta's own child (enrolled a month ago) and nobody else.
    assert (s.active_students, s.dropped, s.revenue) == (1, 0, Decimal("0.00"))
    assert [g.group_name for g in s.by_group] == [beta.group.name]


def test_an_empty_month_has_no_rates(alpha):
    s = month_summary(alpha.org, month=OCTOBER.replace(year=2025))
    assert s.churn_rate is None and s.attendance_rate is None
