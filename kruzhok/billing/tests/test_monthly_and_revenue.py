"""Monthly subscriptions by calendar month (optionally prorated), and revenue read from the ledger:
earned (write-offs) beside received (payments − refunds) and sold, by month, branch, course, teacher."""

import calendar
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from kruzhok.attendance.services import attendance_mark
from kruzhok.billing import selectors, services
from kruzhok.billing.checks import ledger_problems
from kruzhok.billing.tests.helpers import key, pack_plan, sell
from kruzhok.school.models import Lesson, StudentGuardian
from kruzhok.testing import factories as f


def monthly_plan(world, price="6000", lessons=8):
    return pack_plan(world, price=price, lessons=lessons, kind="monthly", name=f"Месяц {key()}")


def set_prorate(world, on: bool):
    services.billing_settings_update(
        org=world.org,
        writeoff_unexcused_absence=True,
        sibling_discount_percent=10,
        renewal_days=7,
        monthly_prorate=on,
    )


def future_february(world) -> tuple[dt.date, int]:
    year = services.org_today(world.org).year + 1
    return dt.date(year, 2, 15), calendar.monthrange(year, 2)[1]


def test_a_monthly_subscription_covers_the_whole_calendar_month(alpha):
    start, month_days = future_february(alpha)
    sub = sell(alpha, monthly_plan(alpha), valid_from=start)
    assert (sub.valid_from, sub.valid_to) == (start.replace(day=1), start.replace(day=month_days))
    assert sub.price == Decimal("6000.00")
    assert sub.lessons_total == 8  # no lessons generated that far ahead: the plan's lessons per month
    assert ledger_problems() == []


def test_a_monthly_subscription_bought_mid_month_is_prorated_when_the_centre_says_so(alpha):
    set_prorate(alpha, True)
    start, month_days = future_february(alpha)
    sub = sell(alpha, monthly_plan(alpha), valid_from=start)
    days_left = month_days - 14
    assert (sub.valid_from, sub.valid_to) == (start, start.replace(day=month_days))
    assert sub.price == (Decimal("6000") * days_left / month_days).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
    assert sub.lessons_total == -(-8 * days_left // month_days)  # rounded up
    balance = selectors.account_balance(account=sub.account)
    assert balance == -sub.price
    assert ledger_problems() == []


def test_a_monthly_subscription_counts_the_groups_lessons_and_writes_them_off(
    alpha, django_capture_on_commit_callbacks
):
    today = services.org_today(alpha.org)
    sub = sell(alpha, monthly_plan(alpha), valid_from=today)
    tz = timezone.get_current_timezone()
    first = dt.datetime.combine(today.replace(day=1), dt.time.min, tzinfo=tz)
    in_month = Lesson.objects.filter(group=alpha.group, starts_at__gte=first).filter(
        starts_at__lt=first + dt.timedelta(days=calendar.monthrange(today.year, today.month)[1])
    )
    assert sub.lessons_total == in_month.count() >= 1
    with django_capture_on_commit_callbacks(execute=True):
        attendance_mark(lesson=alpha.lesson, student=alpha.student, status="present", actor=alpha.teacher)
    assert selectors.subscription_list(org=alpha.org).get().lessons_left == sub.lessons_total - 1
    services.subscription_freeze(
        subscription=sub,
        start_date=sub.valid_from,
        end_date=sub.valid_from + dt.timedelta(days=6),
        reason="Болезнь",
        actor=alpha.manager,
    )
    assert ledger_problems() == []


def test_a_monthly_sale_with_an_expired_promo_code_writes_nothing(alpha):
    services.promo_create(
        org=alpha.org,
        code="ОСЕНЬ",
        percent=10,
        valid_until=services.org_today(alpha.org) - dt.timedelta(days=1),
    )
    with pytest.raises(ValidationError) as exc:
        sell(alpha, monthly_plan(alpha), promo_code="осень")
    assert exc.value.code == "promo_expired"
    assert not selectors.subscription_list(org=alpha.org).exists()


# ---------------------------------------------------------------- revenue


@pytest.fixture
def two_branches(alpha, django_capture_on_commit_callbacks):
    """Family A: a pack of 8 for 4800 (600 a lesson), one lesson attended, 3000 paid, 500 refunded.
    Family B, in the other branch with another teacher: pays per lesson (700), one lesson, 700 paid."""
    sub = sell(alpha, pack_plan(alpha, price="4800", lessons=8))
    with django_capture_on_commit_callbacks(execute=True):
        attendance_mark(lesson=alpha.lesson, student=alpha.student, status="present", actor=alpha.teacher)
    payment = services.payment_take(
        org=alpha.org, account=sub.account, amount="3000", method="cash", actor=None, idempotency_key=key()
    )
    services.payment_refund(
        payment=payment, amount="500", actor=None, reason="Переплата", idempotency_key=key()
    )

    teacher_b = f.UserFactory(first_name="Анна", last_name="Соколова")
    group_b = f.GroupFactory(
        organization=alpha.org,
        course=alpha.course,
        branch=alpha.other_branch,
        teacher=teacher_b,
        name="Роботы-Север",
    )
    pack_plan(alpha, price="700", lessons=1, kind="single", name="Разовое")
    child = f.StudentFactory(organization=alpha.org, branch=alpha.other_branch)
    guardian = f.GuardianFactory(organization=alpha.org)
    StudentGuardian.objects.create(organization=alpha.org, student=child, guardian=guardian, is_primary=True)
    f.EnrollmentFactory(
        organization=alpha.org, student=child, group=group_b, started_on=alpha.enrollment.started_on
    )
    lesson_b = f.LessonFactory(
        organization=alpha.org,
        group=group_b,
        starts_at=alpha.lesson.starts_at,
        ends_at=alpha.lesson.ends_at,
        teacher=teacher_b,
    )
    with django_capture_on_commit_callbacks(execute=True):
        attendance_mark(lesson=lesson_b, student=child, status="present", actor=alpha.owner)
    account_b = services.account_for_guardian(guardian=guardian)
    services.payment_take(
        org=alpha.org, account=account_b, amount="700", method="card", actor=None, idempotency_key=key()
    )
    return teacher_b


def rows_by(alpha, by, **kwargs):
    today = services.org_today(alpha.org)
    return {
        r["label"]: r
        for r in selectors.revenue_by(alpha.org, month_from=today, month_to=today, by=by, **kwargs)
    }


def test_revenue_by_branch_and_teacher_puts_earned_beside_received(alpha, two_branches):
    by_branch = rows_by(alpha, "branch")
    home, north = by_branch[alpha.branch.name], by_branch[alpha.other_branch.name]
    assert (home["earned"], home["received"], home["sold"]) == (
        Decimal("600.00"),
        Decimal("2500.00"),
        Decimal("4800.00"),
    )
    assert (north["earned"], north["received"], north["sold"]) == (
        Decimal("700.00"),
        Decimal("700.00"),
        Decimal("0.00"),
    )

    by_teacher = rows_by(alpha, "teacher")
    assert by_teacher["Анна Соколова"]["earned"] == Decimal("700.00")
    assert by_teacher[alpha.teacher.get_full_name()]["received"] == Decimal("2500.00")

    [month] = rows_by(alpha, "month").values()
    assert (month["earned"], month["received"], month["sold"]) == (
        Decimal("1300.00"),
        Decimal("3200.00"),
        Decimal("4800.00"),
    )
    only_home = rows_by(alpha, "branch", branch_ids=[alpha.branch.pk])
    assert list(only_home) == [alpha.branch.name]
    with pytest.raises(ValueError):
        selectors.revenue_by(alpha.org, month_from=dt.date.today(), month_to=dt.date.today(), by="<script>")


def test_the_revenue_page_by_teacher_and_a_managers_branches_only(client_as, alpha, beta, two_branches):
    body = client_as(alpha.owner).get(reverse("billing:revenue") + "?by=teacher").content.decode()
    assert "Анна Соколова" in body and "Заработано" in body and "Получено" in body
    manager_view = client_as(alpha.manager).get(reverse("billing:revenue") + "?by=branch").content.decode()
    assert alpha.branch.name in manager_view and alpha.other_branch.name not in manager_view
    bad = client_as(alpha.owner).get(reverse("billing:revenue") + "?by=x&month_from=2026-13&month_to=abc")
    assert bad.status_code == 200
    backwards = client_as(alpha.owner).get(
        reverse("billing:revenue") + "?month_from=2026-11&month_to=2026-01"
    )
    assert "позже" in backwards.content.decode()
    assert (
        "Анна Соколова"
        not in client_as(beta.owner).get(reverse("billing:revenue") + "?by=teacher").content.decode()
    )


def test_unpaid_trial_conversions_are_listed_until_a_subscription_is_bought(
    client_as, alpha, beta, django_capture_on_commit_callbacks
):
    alpha.enrollment.status = "trial"
    alpha.enrollment.save()
    trial_lesson = f.LessonFactory(
        organization=alpha.org,
        group=alpha.group,
        starts_at=alpha.lesson.starts_at - dt.timedelta(days=5),
        ends_at=alpha.lesson.ends_at - dt.timedelta(days=5),
        teacher=alpha.teacher,
    )
    with django_capture_on_commit_callbacks(execute=True):
        attendance_mark(lesson=trial_lesson, student=alpha.student, status="present", actor=alpha.teacher)
    url = reverse("billing:ending")
    listed = client_as(alpha.manager).get(url).content.decode()
    assert "Пробное без покупки" in listed
    trials_block = listed.split('data-testid="trials"')[1].split("</ul>")[0]
    assert alpha.student.full_name in trials_block
    # The first visit was 5 days ago: with a 30-day follow-up delay it is not on the list yet.
    recent = client_as(alpha.manager).get(url + "?trial_days=30").content.decode()
    assert alpha.student.full_name not in recent.split('data-testid="trials"')[1].split("</ul>")[0]
    assert client_as(alpha.manager).get(url + "?trial_days=-5&days=abc").status_code == 200
    assert alpha.student.full_name not in client_as(beta.manager).get(url).content.decode()

    sell(alpha, pack_plan(alpha))
    after = client_as(alpha.manager).get(url).content.decode()
    assert alpha.student.full_name not in after.split('data-testid="trials"')[1].split("</ul>")[0]
