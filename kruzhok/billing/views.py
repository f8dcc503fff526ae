"""Billing pages: staff sell subscriptions and take money; a parent sees the family's balance.

Every object is resolved through a scoped selector (a manager sees families of their branches only),
so another organisation's or branch's account is a 404. Money forms carry a hidden idempotency key
made when the form is drawn: a double click or a resubmitted page posts once.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from kruzhok.accounts.decorators import role_required
from kruzhok.accounts.permissions import role_can
from kruzhok.attendance.models import AttendanceMark
from kruzhok.billing import forms, makeups, online, receipts, selectors, services
from kruzhok.billing.models import PaymentStatus
from kruzhok.lib.dates import org_timezone
from kruzhok.lib.views import add_service_errors, form_page, form_submit
from kruzhok.school.models import Course, Group
from kruzhok.school.selectors.people import student_get, student_list

PAGE_SIZE = 50
# A trial visit with no purchase after this many days goes on the follow-up list.
TRIAL_FOLLOW_UP_DAYS = 3

# Which form field a service error belongs to, by its code; other codes go to the top of the form.
SELL_ERRORS = {
    "promo_unknown": "promo_code",
    "promo_expired": "promo_code",
    "reason_required": "manual_reason",
    "reason_too_long": "manual_reason",
    "negative_amount": "manual_discount",
    "zero_amount": "manual_discount",
    "invalid_amount": "manual_discount",
    "amount_too_large": "manual_discount",
    "discount_too_large": "manual_discount",
    "no_sibling": "sibling_discount",
    "not_a_guardian": "guardian",
    "plan_inactive": "plan",
    "not_enrolled": "plan",
    "invalid_date": "valid_from",
}
MONEY_ERRORS = {
    "negative_amount": "amount",
    "zero_amount": "amount",
    "invalid_amount": "amount",
    "amount_too_large": "amount",
    "refund_too_large": "amount",
    "invalid_method": "method",
    "reason_required": "reason",
}
PLAN_ERRORS = {
    "name_required": "name",
    "duplicate_name": "name",
    "name_too_long": "name",
    "zero_lessons": "lessons",
    "too_many_lessons": "lessons",
    "group_not_in_course": "group",
    "invalid_days": "valid_days",
    "negative_amount": "price",
    "invalid_amount": "price",
    "amount_too_large": "price",
    "zero_amount": "price",
    "zero_price": "price",
}


def _errors_on(by_code: dict):
    """The form_submit refusal handler that puts a service's error next to its field by code."""
    return lambda form, exc: add_service_errors(form, exc, by_code)


def _rub(amount) -> str:
    return number_format(amount, 2, use_l10n=True, force_grouping=True)


def _account_url(account_pk: int) -> str:
    return reverse("billing:account", args=[account_pk])


# ---------------------------------------------------------------- lists


@role_required("billing.view")
@require_GET
def accounts(request):
    query = " ".join(request.GET.get("q", "").split())[:100]
    qs = selectors.account_list(membership=request.membership).order_by("guardian__full_name")
    if query:
        qs = qs.filter(
            Q(guardian__full_name__icontains=query)
            | Q(guardian__full_name__icontains=query.capitalize())
            | Q(guardian__phone__icontains=query)
        )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "billing/accounts.html", {"page": page, "query": query})


@role_required("billing.view")
@require_GET
def debtors(request):
    rows = list(selectors.debtor_list(membership=request.membership)[:500])
    total = sum((row.balance for row in rows), services.ZERO)
    return render(request, "billing/debtors.html", {"rows": rows, "total": -total})


@role_required("billing.view")
@require_GET
def ending(request):
    billing = services.billing_settings_for(org=request.org)
    form = forms.EndingForm(request.GET or None)
    days = billing.renewal_days
    if form.is_valid() and form.cleaned_data["days"]:
        days = form.cleaned_data["days"]
    today = services.org_today(request.org)
    trial_days = TRIAL_FOLLOW_UP_DAYS
    if form.is_valid() and form.cleaned_data["trial_days"] is not None:
        trial_days = form.cleaned_data["trial_days"]
    rows = selectors.subscriptions_ending(membership=request.membership, today=today, within_days=days)[:500]
    uncovered = selectors.enrollments_without_subscription(membership=request.membership, today=today)[:500]
    trials = selectors.trials_unconverted(membership=request.membership, today=today, after_days=trial_days)[
        :500
    ]
    return render(
        request,
        "billing/ending.html",
        {
            "rows": rows,
            "uncovered": uncovered,
            "trials": trials,
            "trial_days": trial_days,
            "days": days,
            "form": form,
            "today": today,
            "tz": org_timezone(request.org),
        },
    )


@role_required("billing.view")
@require_GET
def revenue(request):
    today = services.org_today(request.org)
    by, month_from, month_to = "month", today.replace(month=1, day=1), today
    form = forms.RevenueForm(
        request.GET or None, initial={"by": by, "month_from": month_from, "month_to": month_to}
    )
    if form.is_valid():
        by = form.cleaned_data["by"] or by
        month_from = form.cleaned_data["month_from"] or month_from
        month_to = form.cleaned_data["month_to"] or month_to
    rows = selectors.revenue_by(
        request.org,
        month_from=month_from,
        month_to=month_to,
        by=by,
        branch_ids=selectors.revenue_branch_ids(membership=request.membership),
    )
    return render(
        request,
        "billing/revenue.html",
        {
            "form": form,
            "rows": rows,
            "by": by,
            "month_from": month_from,
            "month_to": month_to,
            "totals": {
                column: sum((r[column] for r in rows), services.ZERO)
                for column in ("earned", "received", "sold")
            },
        },
    )


# ---------------------------------------------------------------- plans, promo codes, settings


def _plan_form(request, data=None):
    courses = Course.objects.filter(organization_id=request.org.pk, is_active=True)
    groups = Group.objects.filter(organization_id=request.org.pk, is_active=True).select_related("course")
    return forms.PlanForm(data, courses=courses, groups=groups)


@role_required("billing.view")
@require_GET
def plans(request):
    can_setup = role_can(request.role, "billing.setup")
    return render(
        request,
        "billing/plans.html",
        {
            "plans": selectors.plan_list(org=request.org),
            "form": _plan_form(request) if can_setup else None,
            "can_setup": can_setup,
        },
    )


@role_required("billing.setup")
def plan_create(request):
    form = _plan_form(request, request.POST if request.method == "POST" else None)
    return form_page(
        request,
        form,
        lambda f: services.plan_create(org=request.org, **f.cleaned_data),
        success=lambda plan: _("Тариф «%(name)s» создан.") % {"name": plan.name},
        next_url="billing:plans",
        show_refusal=_errors_on(PLAN_ERRORS),
        template="billing/plan_form.html",
    )


@role_required("billing.setup")
@require_POST
def plan_toggle(request, plan_pk: int):
    plan = selectors.plan_get(org=request.org, pk=plan_pk)
    services.plan_set_active(plan=plan, is_active=not plan.is_active)
    return redirect("billing:plans")


@role_required("billing.setup")
def promos(request):
    form = forms.PromoForm(request.POST if request.method == "POST" else None)
    outcome = form_submit(
        request,
        form,
        lambda f: services.promo_create(org=request.org, **f.cleaned_data),
        success=lambda promo: _("Промокод %(code)s создан.") % {"code": promo.code},
        next_url="billing:promos",
        show_refusal=_errors_on(
            {"invalid_code": "code", "duplicate_code": "code", "invalid_percent": "percent"}
        ),
    )
    if outcome.response:
        return outcome.response
    today = services.org_today(request.org)
    return render(
        request,
        "billing/promos.html",
        {"form": form, "promos": selectors.promo_list(org=request.org), "today": today},
    )


@role_required("billing.setup")
def billing_settings(request):
    row = services.billing_settings_for(org=request.org)
    # A bound form shows what was posted; the saved rules are only the blank form's starting values.
    form = forms.SettingsForm(
        request.POST if request.method == "POST" else None,
        initial={name: getattr(row, name) for name in forms.SettingsForm.base_fields},
    )
    return form_page(
        request,
        form,
        lambda f: services.billing_settings_update(org=request.org, **f.cleaned_data),
        success=_("Правила сохранены."),
        next_url="billing:settings",
        show_refusal=_errors_on(
            {
                "invalid_percent": "sibling_discount_percent",
                "invalid_days": "renewal_days",
                "invalid_makeup_days": "makeup_days",
            }
        ),
        template="billing/settings.html",
    )


# ---------------------------------------------------------------- selling and money


@role_required("billing.manage")
def sell(request):
    raw = request.GET.get("student") or request.POST.get("student") or ""
    if not raw.isdigit():
        messages.info(request, _("Откройте карточку ребёнка и нажмите «Продать абонемент»."))
        return redirect("school:students")
    student = student_get(membership=request.membership, pk=int(raw))
    plans_qs = selectors.plans_for_student(org=request.org, student=student)
    guardians = selectors.guardians_of(student=student)
    form_kwargs = {"plans": plans_qs, "guardians": guardians}
    if request.method == "POST":
        form = forms.SellForm(request.POST, **form_kwargs)
    else:
        primary = guardians.filter(student_links__student=student, student_links__is_primary=True).first()
        form = forms.SellForm(
            initial={
                "valid_from": services.org_today(request.org),
                "idempotency_key": forms.new_key(),
                "guardian": primary or guardians.first(),
            },
            **form_kwargs,
        )

    def sell_plan(form):
        data = form.cleaned_data
        return services.subscription_sell(
            org=request.org,
            actor=request.user,
            student=student,
            plan=data["plan"],
            guardian=data["guardian"],
            valid_from=data["valid_from"],
            sibling_discount=data["sibling_discount"],
            promo_code=data["promo_code"],
            manual_discount=data["manual_discount"] or None,
            manual_reason=data["manual_reason"],
            idempotency_key=data["idempotency_key"],
        )

    outcome = form_submit(
        request,
        form,
        sell_plan,
        success=lambda subscription: (
            _("Абонемент «%(plan)s» продан: %(student)s.")
            % {"plan": subscription.plan.name, "student": student.full_name}
        ),
        next_url=lambda subscription: _account_url(subscription.account_id) + "#pay",
        show_refusal=_errors_on(SELL_ERRORS),
    )
    if outcome.response:
        return outcome.response
    return render(
        request,
        "billing/sell.html",
        {
            "form": form,
            "student": student,
            "has_plans": plans_qs.exists(),
            "has_guardians": guardians.exists(),
        },
    )


def _account_context(request, account, *, payment_form=None):
    subs = list(selectors.subscription_list(org=request.org, account=account))
    payments = list(selectors.payment_list(org=request.org, account=account)[:100])
    for payment in payments:
        payment.refunded = services.payment_refunded_total(payment=payment)
    balance = account.balance
    if payment_form is None:
        initial = {"idempotency_key": forms.new_key()}
        if balance < 0:
            initial["amount"] = f"{-balance:.2f}"
        payment_form = forms.PaymentForm(initial=initial)
    return {
        "account": account,
        "balance": balance,
        "online_form": forms.OnlineLinkForm(initial={"idempotency_key": forms.new_key()}),
        "subscriptions": subs,
        "entries": selectors.entry_list(account=account)[:200],
        "payments": payments,
        "payment_form": payment_form,
        "today": services.org_today(request.org),
        "can_correct": role_can(request.role, "billing.correct"),
        "can_manage": role_can(request.role, "billing.manage"),
        "paid": PaymentStatus.SUCCEEDED,
    }


@role_required("billing.view")
@require_GET
def account(request, account_pk: int):
    obj = selectors.account_get(membership=request.membership, pk=account_pk)
    return render(request, "billing/account.html", _account_context(request, obj))


@role_required("billing.manage")
def payment_take(request, account_pk: int):
    obj = selectors.account_get(membership=request.membership, pk=account_pk)
    if request.method != "POST":
        return redirect(_account_url(obj.pk) + "#pay")
    form = forms.PaymentForm(request.POST)
    outcome = form_submit(
        request,
        form,
        lambda f: services.payment_take(org=request.org, account=obj, actor=request.user, **f.cleaned_data),
        success=lambda payment: _("Оплата %(amount)s ₽ принята.") % {"amount": _rub(payment.amount)},
        next_url=_account_url(obj.pk),
        show_refusal=_errors_on(MONEY_ERRORS),
    )
    if outcome.response:
        return outcome.response
    return render(
        request, "billing/account.html", _account_context(request, obj, payment_form=form), status=400
    )


@role_required("billing.manage")
@require_POST
def online_link(request, account_pk: int):
    """Asks the payment provider for a link the family can pay by; the payment stays pending until
    the provider's signed webhook confirms it."""
    obj = selectors.account_get(membership=request.membership, pk=account_pk)
    form = forms.OnlineLinkForm(request.POST)
    if form.is_valid():
        try:
            payment, link = online.online_payment_start(
                org=request.org,
                account=obj,
                amount=form.cleaned_data["amount"],
                actor=request.user,
                return_url=request.build_absolute_uri(reverse("billing:family")),
                idempotency_key=form.cleaned_data["idempotency_key"],
            )
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(
                request,
                _("Ссылка на оплату %(amount)s ₽: %(link)s — отправьте её семье.")
                % {"amount": _rub(payment.amount), "link": link},
            )
    else:
        messages.error(request, _("Введите сумму для ссылки на оплату."))
    return redirect(_account_url(obj.pk) + "#online")


@role_required("billing.correct")
def refund(request, payment_pk: int):
    payment = selectors.payment_get(membership=request.membership, pk=payment_pk)
    form = forms.RefundForm(
        request.POST if request.method == "POST" else None, initial={"idempotency_key": forms.new_key()}
    )
    outcome = form_submit(
        request,
        form,
        lambda f: services.payment_refund(payment=payment, actor=request.user, **f.cleaned_data),
        success=_("Возврат проведён."),
        next_url=_account_url(payment.account_id),
        show_refusal=_errors_on(MONEY_ERRORS),
    )
    if outcome.response:
        return outcome.response
    left = payment.amount - services.payment_refunded_total(payment=payment)
    return render(request, "billing/refund.html", {"form": form, "payment": payment, "left": left})


@role_required("billing.manage")
def freeze(request, subscription_pk: int):
    subscription = selectors.subscription_get(membership=request.membership, pk=subscription_pk)
    if request.method == "POST":
        form = forms.FreezeForm(request.POST)
    else:
        form = forms.FreezeForm(initial={"start_date": services.org_today(request.org)})
    return form_page(
        request,
        form,
        lambda f: services.subscription_freeze(
            subscription=subscription, actor=request.user, **f.cleaned_data
        ),
        # The service has moved the subscription's end by the frozen days.
        success=lambda _freeze: (
            _("Абонемент заморожен, теперь действует до %(date)s.")
            % {"date": subscription.valid_to.strftime("%d.%m.%Y")}
        ),
        next_url=_account_url(subscription.account_id),
        show_refusal=_errors_on(
            {
                "invalid_dates": "end_date",
                "freeze_too_long": "end_date",
                "outside_validity": "start_date",
                "overlap": "start_date",
            }
        ),
        template="billing/freeze.html",
        context={"subscription": subscription},
    )


@role_required("billing.correct")
def entry_reverse(request, entry_pk: int):
    entry = selectors.entry_get(membership=request.membership, pk=entry_pk)
    form = forms.ReverseForm(request.POST if request.method == "POST" else None)
    return form_page(
        request,
        form,
        lambda f: services.entry_reverse(entry=entry, actor=request.user, reason=f.cleaned_data["reason"]),
        success=_("Операция исправлена обратной записью."),
        next_url=_account_url(entry.account_id),
        show_refusal=_errors_on({}),
        template="billing/reverse.html",
        context={"entry": entry},
    )


def _receipt_response(payment) -> HttpResponse:
    pdf = receipts.receipt_pdf(payment=payment, refunded=services.payment_refunded_total(payment=payment))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="receipt-{payment.pk}.pdf"'
    return response


@role_required("billing.view")
@require_GET
def receipt(request, payment_pk: int):
    return _receipt_response(selectors.payment_get(membership=request.membership, pk=payment_pk))


@csrf_exempt
@require_POST
def webhook_online(request):
    """The payment provider's notification: authenticated by its HMAC signature, not by a session."""
    result = online.online_webhook_handle(
        body=request.body,
        timestamp=request.headers.get("X-Timestamp", ""),
        signature=request.headers.get("X-Signature", ""),
    )
    return JsonResponse({"result": result.code}, status=result.status)


# ---------------------------------------------------------------- make-up lessons (отработки)

MAKEUP_ERRORS = {
    "outside_window": "lesson",
    "wrong_course": "lesson",
    "same_group": "lesson",
    "wrong_branch": "lesson",
    "target_cancelled": "lesson",
    "already_in_group": "lesson",
}


def _makeup_students(request):
    """The children whose make-ups the member handles; `?student=` narrows it to one of them."""
    students = student_list(membership=request.membership)
    raw = request.GET.get("student", "")
    if raw.isdigit():
        return students.filter(pk=int(raw)), student_get(membership=request.membership, pk=int(raw))
    return students, None


@role_required("billing.view")
@require_GET
def makeups_page(request):
    students, student = _makeup_students(request)
    rules = services.billing_settings_for(org=request.org)
    return render(
        request,
        "billing/makeups.html",
        {
            "student": student,
            "rules": rules,
            "available": makeups.makeups_available(org=request.org, students=students.values("pk"))[:200],
            "rows": makeups.makeup_rows(org=request.org, students=students.values("pk")),
            "can_manage": role_can(request.role, "billing.manage"),
            "tz": org_timezone(request.org),
        },
    )


@role_required("billing.manage")
def makeup_book(request, missed_mark_pk: int):
    students = student_list(membership=request.membership).values("pk")
    mark = get_object_or_404(
        AttendanceMark.objects.filter(organization_id=request.org.pk, student__in=students).select_related(
            "lesson__group__course", "lesson__group__branch", "student", "enrollment"
        ),
        pk=missed_mark_pk,
    )
    tz = org_timezone(request.org)
    lessons = makeups.makeup_options(mark=mark, org=request.org)
    # The nearest lessons only; a sliced queryset cannot validate a choice, so narrow it by ids.
    nearest = list(lessons.values_list("pk", flat=True)[: makeups.OPTIONS_MAX])
    form = forms.MakeupBookForm(
        request.POST if request.method == "POST" else None, lessons=lessons.filter(pk__in=nearest), tz=tz
    )
    outcome = form_submit(
        request,
        form,
        lambda f: makeups.makeup_book(
            org=request.org, actor=request.user, mark=mark, lesson=f.cleaned_data["lesson"]
        ),
        success=lambda booking: (
            _("%(student)s записан(а) на отработку: %(group)s, %(when)s.")
            % {
                "student": mark.student.full_name,
                "group": booking.lesson.group.name,
                "when": booking.lesson.starts_at.astimezone(tz).strftime("%d.%m %H:%M"),
            }
        ),
        next_url=reverse("billing:makeups") + f"?student={mark.student_id}",
        show_refusal=_errors_on(MAKEUP_ERRORS),
    )
    if outcome.response:
        return outcome.response
    return render(
        request,
        "billing/makeup_book.html",
        {
            "form": form,
            "mark": mark,
            "has_options": bool(nearest),
            "expires_on": makeups.makeup_expires_on(mark=mark, org=request.org),
            "tz": tz,
        },
        status=400 if request.method == "POST" else 200,
    )


@role_required("billing.manage")
@require_POST
def makeup_cancel(request, makeup_pk: int):
    booking = get_object_or_404(makeups.makeup_scope(membership=request.membership), pk=makeup_pk)
    try:
        makeups.makeup_cancel(makeup=booking, actor=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Отработка отменена."))
    return redirect(reverse("billing:makeups") + f"?student={booking.student_id}")


# ---------------------------------------------------------------- the parent's page


@role_required("billing.family")
@require_GET
def family_receipt(request, payment_pk: int):
    account = selectors.family_account(user=request.user, org=request.org)
    if account is None:
        raise Http404
    payment = get_object_or_404(selectors.payment_list(org=request.org, account=account), pk=payment_pk)
    return _receipt_response(payment)


@role_required("billing.family")
@require_GET
def family(request):
    children = list(selectors.family_children(user=request.user, org=request.org).order_by("first_name"))
    subs = list(
        selectors.subscription_list(org=request.org, students=children)
        .filter(status="active")
        .order_by("-valid_to")
    )
    today = services.org_today(request.org)
    for child in children:
        child.subs = [s for s in subs if s.student_id == child.pk and s.valid_to >= today]
    account = selectors.family_account(user=request.user, org=request.org)
    child_ids = [child.pk for child in children]
    available = makeups.makeups_available(org=request.org, students=child_ids, today=today)
    booked = [
        row
        for row in makeups.makeup_rows(org=request.org, students=child_ids, limit=50)
        if row.state in ("upcoming", "used")
    ]
    entries = selectors.entry_list(account=account)[:100] if account else []
    payments = selectors.payment_list(org=request.org, account=account)[:50] if account else []
    return render(
        request,
        "billing/family.html",
        {
            "children": children,
            "account": account,
            "balance": account.balance if account else services.ZERO,
            "entries": entries,
            "payments": payments,
            "today": today,
            "makeups_available": available,
            "makeups_booked": booked,
            "tz": org_timezone(request.org),
        },
    )
