"""Report parameters are checked against the caller's scope and the calendar."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from kruzhok.accounts.models import Membership
from kruzhok.reports.params import params_for_period, report_params_clean

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 11, 15)


def _clean(world, role_user, kind, **data):
    membership = Membership.objects.get(organization=world.org, user=role_user)
    return report_params_clean(membership=membership, kind=kind, data=data, today=TODAY)


def _codes(exc: ValidationError) -> set[str]:
    return {e.code for errors in exc.error_dict.values() for e in errors}


def test_another_organisations_branch_and_group_read_as_not_found(alpha, beta):
    with pytest.raises(ValidationError) as exc:
        _clean(alpha, alpha.owner, "branch_month", branch_id=beta.branch.pk, month="2026-10")
    assert _codes(exc.value) == {"not_found"} and "Филиал не найден." in exc.value.messages
    with pytest.raises(ValidationError) as exc:
        _clean(alpha, alpha.owner, "journal", group_id=beta.group.pk, month="2026-10")
    assert "Группа не найдена." in exc.value.messages


def test_a_manager_cannot_ask_for_a_branch_they_do_not_manage(alpha):
    with pytest.raises(ValidationError) as exc:
        _clean(alpha, alpha.manager, "branch_month", branch_id=alpha.other_branch.pk, month="2026-10")
    assert _codes(exc.value) == {"not_found"}
    assert _clean(alpha, alpha.manager, "branch_month", branch_id=alpha.branch.pk, month="2026-10") == {
        "format": "pdf",
        "branch_id": alpha.branch.pk,
        "month": "2026-10",
    }


@pytest.mark.parametrize(
    "kind, data, code",
    [
        ("branch_month", {"month": "2026-12"}, "future_month"),
        ("journal", {"month": "2026-13"}, "invalid_month"),
        ("journal", {"month": "1999-01"}, "invalid_month"),
        ("journal", {"month": "x" * 10_000}, "invalid_month"),
        ("teacher_payroll", {"month": "2026-05", "month_to": "2026-03"}, "dates_reversed"),
        ("teacher_payroll", {"month": "2025-01", "month_to": "2026-11"}, "range_too_large"),
        (
            "export",
            {"table": "lessons", "date_from": "2025-01-01", "date_to": "2026-11-01"},
            "range_too_large",
        ),
        ("export", {"table": "lessons", "date_from": "", "date_to": ""}, "invalid_date"),
        ("export", {"table": "users"}, "unknown_table"),
        ("export", {"table": "students", "format": "pdf"}, "invalid_format"),
        ("journal", {"month": "2026-10", "branch_id": "1; DROP TABLE"}, "not_found"),
    ],
)
def test_bad_parameters_are_refused_with_a_code(alpha, kind, data, code):
    if kind == "branch_month":
        data = {**data, "branch_id": alpha.branch.pk}
    with pytest.raises(ValidationError) as exc:
        _clean(alpha, alpha.owner, kind, **data)
    assert code in _codes(exc.value)


def test_the_current_month_is_allowed_and_a_schedule_covers_the_month_before(alpha):
    assert _clean(alpha, alpha.owner, "journal", month="2026-11")["month"] == "2026-11"
    filled = params_for_period(
        kind="export", params={"table": "payments", "format": "csv"}, today=dt.date(2026, 3, 1)
    )
    assert (filled["date_from"], filled["date_to"]) == ("2026-02-01", "2026-02-28")
