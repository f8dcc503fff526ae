"""The manager's people pages: children, guardians, consent, enrollments and waiting lists.

Every object is resolved through the scoped selectors, so a child outside the caller's branches (or
organisation) is a 404, never someone else's data.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kruzhok.accounts.decorators import role_required
from kruzhok.accounts.models import Role
from kruzhok.accounts.permissions import role_can
from kruzhok.lib.views import add_service_errors, form_page, form_submit
from kruzhok.school.forms import people as forms
from kruzhok.school.models import WaitlistEntry
from kruzhok.school.selectors import people as selectors
from kruzhok.school.selectors.structure import group_list
from kruzhok.school.services import enrollments as enrollment_services
from kruzhok.school.services import people as people_services

PAGE_SIZE = 50

# Which form field a service error belongs to, by its code; unknown codes go to the top of the form.
STUDENT_ERRORS = {
    "birth_date_future": "birth_date",
    "birth_date_too_old": "birth_date",
    "birth_date_required": "birth_date",
    "notes_too_long": "notes",
    "wrong_org": "branch",
}
GUARDIAN_ERRORS = {
    "invalid_phone": "guardian_phone",
    "guardian_phone_required": "guardian_phone",
    "guardian_name_required": "guardian_full_name",
    "invalid_telegram": "guardian_telegram_username",
    "invalid_relation": "relation",
    "already_linked": "guardian_phone",
}
ENROLL_ERRORS = {
    "group_full": "group",
    "group_ended": "group",
    "duplicate": "group",
    "already_waiting": "group",
    "invalid_status": "status",
    "no_consent": "group",
}
# Model field names in full_clean() errors → form field names.
GUARDIAN_MODEL_FIELDS = {
    "full_name": "guardian_full_name",
    "phone": "guardian_phone",
    "email": "guardian_email",
    "telegram_username": "guardian_telegram_username",
}


def _errors_on(by_code: dict, by_field: dict | None = None):
    """The form_submit refusal handler that puts a service's error next to its field by code."""
    return lambda form, exc: add_service_errors(form, exc, by_code, by_field)


def _next_or(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _detail(student_pk) -> str:
    return reverse("school:student_detail", args=[student_pk])


# Children


@role_required("student.manage")
@require_GET
def students(request):
    search = forms.StudentSearchForm(request.GET)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    page = Paginator(selectors.student_list(membership=request.membership, query=query), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {"search": search, "query": query, "page": page}
    if request.htmx:
        return render(request, "school/_students_rows.html", context)
    return render(request, "school/students.html", context)


@role_required("student.manage")
def student_create(request):
    membership = request.membership
    form_kwargs = {
        "branches": selectors.branch_choices(membership=membership),
        "groups": selectors.enrollable_groups(membership=membership),
        # A manager's child must land in one of their branches, or they would lose sight of it.
        "branch_required": membership.role == Role.MANAGER,
    }
    if request.method == "POST":
        form = forms.StudentEnrolForm(request.POST, **form_kwargs)
        if form.is_valid():
            data = form.cleaned_data
            try:
                admission = enrollment_services.student_admit(
                    org=request.org,
                    actor=request.user,
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    birth_date=data["birth_date"],
                    branch=data["branch"],
                    notes=data["notes"],
                    guardian_phone=data["guardian_phone"],
                    guardian_full_name=data["guardian_full_name"],
                    guardian_email=data["guardian_email"],
                    guardian_telegram_username=data["guardian_telegram_username"],
                    relation=data["relation"],
                    consent_text_version=people_services.CONSENT_TEXT_VERSION,
                    group=data["group"],
                    status=data["status"],
                    started_on=data["started_on"],
                    waitlist_if_full=data["waitlist_if_full"],
                )
            except ValidationError as exc:
                add_service_errors(
                    form, exc, {**STUDENT_ERRORS, **GUARDIAN_ERRORS, **ENROLL_ERRORS}, GUARDIAN_MODEL_FIELDS
                )
                if not hasattr(exc, "error_dict") and exc.code == "group_full":
                    form.add_error(
                        "waitlist_if_full", _("Отметьте, чтобы ребёнок встал в лист ожидания этой группы.")
                    )
            else:
                student = admission.student
                if admission.guardian_existed:
                    messages.info(
                        request,
                        _("Телефон уже был в базе: ребёнок привязан к представителю «%(name)s».")
                        % {"name": admission.guardian.full_name},
                    )
                if admission.waitlist_entry:
                    messages.warning(
                        request,
                        _("%(student)s в листе ожидания группы «%(group)s».")
                        % {"student": student.full_name, "group": admission.waitlist_entry.group.name},
                    )
                elif admission.enrollment:
                    messages.success(
                        request,
                        _("%(student)s записан(а) в группу «%(group)s».")
                        % {"student": student.full_name, "group": admission.enrollment.group.name},
                    )
                else:
                    messages.success(request, _("%(student)s добавлен(а).") % {"student": student.full_name})
                return redirect(_detail(student.pk))
    else:
        initial = {}
        group_pk = request.GET.get("group", "")
        if group_pk.isdigit():
            initial["group"] = int(group_pk)
        branches = form_kwargs["branches"]
        if len(branches) == 1:
            initial["branch"] = branches[0]
        form = forms.StudentEnrolForm(initial=initial, **form_kwargs)
    return render(
        request,
        "school/student_create.html",
        {"form": form, "consent_version": people_services.CONSENT_TEXT_VERSION},
    )


@role_required("student.manage")
@require_GET
def student_detail(request, pk: int):
    membership = request.membership
    student = selectors.student_get(membership=membership, pk=pk)
    history = list(selectors.enrollment_history(membership=membership, student=student))
    # The risk card's link only where the caller may open it: its scope is the caller's groups.
    risk_groups = (
        set(group_list(membership=membership).values_list("pk", flat=True))
        if role_can(membership.role, "risk.view")
        else set()
    )
    for enrollment in history:
        enrollment.allowed = sorted(enrollment_services.ALLOWED_TRANSITIONS.get(enrollment.status, ()))
        enrollment.risk_card = enrollment.group_id in risk_groups
    return render(
        request,
        "school/student_detail.html",
        {
            "student": student,
            "links": student.guardian_links.all(),
            "consents": selectors.consent_list(student=student),
            "has_consent": people_services.student_has_consent(student=student),
            "enrollments": history,
            "waiting": selectors.student_waitlist(membership=membership, student=student),
            "consent_version": people_services.CONSENT_TEXT_VERSION,
        },
    )


@role_required("student.manage")
def student_edit(request, pk: int):
    membership = request.membership
    student = selectors.student_get(membership=membership, pk=pk)
    # The child's current branch stays selectable even when the manager sees them through a group.
    branches = selectors.branch_choices(membership=membership, include_pk=student.branch_id)
    form_kwargs = {"branches": branches, "branch_required": membership.role == Role.MANAGER}
    if request.method == "POST":
        form = forms.StudentEditForm(request.POST, **form_kwargs)
    else:
        form = forms.StudentEditForm(
            initial={name: getattr(student, name) for name in people_services.STUDENT_FIELDS}, **form_kwargs
        )
    return form_page(
        request,
        form,
        lambda f: people_services.student_update(student=student, **f.cleaned_data),
        success=_("Данные ученика сохранены."),
        next_url=_detail(student.pk),
        show_refusal=_errors_on(STUDENT_ERRORS),
        template="school/student_edit.html",
        context={"student": student},
    )


# Guardians and consent


@role_required("guardian.manage")
def guardian_edit(request, pk: int):
    guardian = selectors.guardian_get(membership=request.membership, pk=pk)
    back = _next_or(request, reverse("school:students"))
    if request.method == "POST":
        form = forms.GuardianEditForm(request.POST)
    else:
        form = forms.GuardianEditForm(
            initial={name: getattr(guardian, name) for name in people_services.GUARDIAN_FIELDS}
        )
    return form_page(
        request,
        form,
        lambda f: people_services.guardian_update(guardian=guardian, **f.cleaned_data),
        success=_("Контакты представителя сохранены."),
        next_url=back,
        show_refusal=_errors_on(
            {
                "invalid_phone": "phone",
                "guardian_name_required": "full_name",
                "invalid_telegram": "telegram_username",
            }
        ),
        template="school/guardian_edit.html",
        context={"guardian": guardian, "back": back},
    )


@role_required("guardian.manage")
def guardian_add(request, student_pk: int):
    student = selectors.student_get(membership=request.membership, pk=student_pk)
    form = forms.GuardianAddForm(request.POST if request.method == "POST" else None)

    def attach(form):
        data = form.cleaned_data
        return people_services.guardian_attach(
            student=student,
            actor=request.user,
            phone=data["guardian_phone"],
            full_name=data["guardian_full_name"],
            email=data["guardian_email"],
            telegram_username=data["guardian_telegram_username"],
            relation=data["relation"],
            is_primary=data["is_primary"],
            consent_text_version=people_services.CONSENT_TEXT_VERSION if data["consent"] else "",
        )

    return form_page(
        request,
        form,
        attach,
        success=lambda link: _("Представитель «%(name)s» добавлен.") % {"name": link.guardian.full_name},
        next_url=_detail(student.pk),
        show_refusal=_errors_on(GUARDIAN_ERRORS, GUARDIAN_MODEL_FIELDS),
        template="school/guardian_add.html",
        context={"student": student},
    )


@role_required("guardian.manage")
@require_GET
def guardian_lookup(request):
    """htmx: who already has this phone, so the enrol form can say the child will be linked to them."""
    guardian = people_services.guardian_find_by_phone(
        org=request.org, phone=request.GET.get("guardian_phone", "")[:40]
    )
    return render(request, "school/_guardian_lookup.html", {"found": guardian})


@role_required("guardian.manage")
def consent_create(request, student_pk: int):
    student = selectors.student_get(membership=request.membership, pk=student_pk)
    guardians = selectors.guardian_list(membership=request.membership).filter(student_links__student=student)
    form = forms.ConsentForm(request.POST if request.method == "POST" else None, guardians=guardians)
    outcome = form_submit(
        request,
        form,
        lambda f: people_services.consent_record(
            guardian=f.cleaned_data["guardian"],
            student=student,
            text_version=people_services.CONSENT_TEXT_VERSION,
            actor=request.user,
        ),
        success=_("Согласие записано."),
        next_url=_detail(student.pk),
        show_refusal=_errors_on({"not_guardian": "guardian"}),
    )
    if outcome.response:
        return outcome.response
    return render(
        request,
        "school/consent_create.html",
        {"form": form, "student": student, "consent_version": people_services.CONSENT_TEXT_VERSION},
    )


@role_required("guardian.manage")
@require_POST
def consent_revoke(request, pk: int):
    consent = selectors.consent_get(membership=request.membership, pk=pk)
    try:
        people_services.consent_revoke(consent=consent)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.warning(
            request, _("Согласие отозвано. Новые записи в группы невозможны без нового согласия.")
        )
    return redirect(_detail(consent.student_id))


# Enrollments


@role_required("enrollment.manage")
def enrollment_create(request, student_pk: int):
    student = selectors.student_get(membership=request.membership, pk=student_pk)
    groups = selectors.enrollable_groups(membership=request.membership)
    if request.method == "POST":
        form = forms.EnrollmentCreateForm(request.POST, groups=groups)
        if form.is_valid():
            data = form.cleaned_data
            try:
                placed = enrollment_services.enrollment_or_waitlist(
                    student=student,
                    group=data["group"],
                    actor=request.user,
                    status=data["status"],
                    started_on=data["started_on"],
                    waitlist_if_full=data["waitlist_if_full"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc, ENROLL_ERRORS)
                if not hasattr(exc, "error_dict") and exc.code == "group_full":
                    form.add_error(
                        "waitlist_if_full", _("Отметьте, чтобы ребёнок встал в лист ожидания этой группы.")
                    )
            else:
                if isinstance(placed, WaitlistEntry):
                    messages.warning(
                        request,
                        _("Ребёнок в листе ожидания группы «%(group)s».") % {"group": placed.group.name},
                    )
                else:
                    messages.success(
                        request, _("Записан(а) в группу «%(group)s».") % {"group": placed.group.name}
                    )
                return redirect(_detail(student.pk))
    else:
        form = forms.EnrollmentCreateForm(groups=groups)
    return render(
        request,
        "school/enrollment_create.html",
        {
            "form": form,
            "student": student,
            "has_consent": people_services.student_has_consent(student=student),
        },
    )


@role_required("enrollment.manage")
def enrollment_transition(request, pk: int):
    enrollment = selectors.enrollment_get(membership=request.membership, pk=pk)
    allowed = sorted(enrollment_services.ALLOWED_TRANSITIONS.get(enrollment.status, ()))
    if not allowed:
        messages.error(request, _("Эта запись уже закрыта: статус менять нельзя."))
        return redirect(_detail(enrollment.student_id))
    if request.method == "POST":
        form = forms.EnrollmentTransitionForm(request.POST, allowed=allowed)
    else:
        initial = {"to_status": request.GET.get("to")} if request.GET.get("to") in allowed else {}
        form = forms.EnrollmentTransitionForm(initial=initial, allowed=allowed)
    return form_page(
        request,
        form,
        lambda f: enrollment_services.enrollment_transition(
            enrollment=enrollment, actor=request.user, **f.cleaned_data
        ),
        # The service has moved the enrollment to its new status.
        success=lambda _moved: _("Статус изменён: %(status)s.") % {"status": enrollment.get_status_display()},
        next_url=_detail(enrollment.student_id),
        show_refusal=_errors_on(
            {
                "reason_required": "reason",
                "invalid_reason": "reason",
                "end_before_start": "on_date",
                "date_in_future": "on_date",
                "date_before_last_change": "on_date",
                "invalid_transition": "to_status",
                "note_too_long": "note",
            }
        ),
        template="school/enrollment_transition.html",
        context={"enrollment": enrollment},
    )


@role_required("enrollment.manage")
def enrollment_transfer(request, pk: int):
    enrollment = selectors.enrollment_get(membership=request.membership, pk=pk)
    if not enrollment.is_open:
        messages.error(request, _("Перевести можно только того, кто сейчас занимается."))
        return redirect(_detail(enrollment.student_id))
    groups = selectors.enrollable_groups(membership=request.membership).exclude(pk=enrollment.group_id)
    form = forms.EnrollmentTransferForm(request.POST if request.method == "POST" else None, groups=groups)
    return form_page(
        request,
        form,
        lambda f: enrollment_services.enrollment_transfer(
            enrollment=enrollment, actor=request.user, **f.cleaned_data
        ),
        success=lambda new: _("Переведён(а) в группу «%(group)s».") % {"group": new.group.name},
        next_url=_detail(enrollment.student_id),
        show_refusal=_errors_on(
            {
                **dict.fromkeys(ENROLL_ERRORS, "to_group"),
                "same_group": "to_group",
                "end_before_start": "on_date",
                "date_in_future": "on_date",
                "date_before_last_change": "on_date",
                "note_too_long": "note",
            }
        ),
        template="school/enrollment_transfer.html",
        context={"enrollment": enrollment},
    )


# Waiting lists


@role_required("enrollment.manage")
@require_GET
def waitlist(request):
    group_pk = request.GET.get("group", "")
    group_id = int(group_pk) if group_pk.isdigit() and len(group_pk) < 12 else None
    rows = selectors.waitlist_overview(membership=request.membership, group_id=group_id)
    return render(request, "school/waitlist.html", {"rows": rows, "group_filter": group_id})


@role_required("enrollment.manage")
@require_POST
def waitlist_enroll(request, pk: int):
    entry = selectors.waitlist_get(membership=request.membership, pk=pk)
    try:
        enrollment = enrollment_services.waitlist_enroll(entry=entry, actor=request.user)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(
            request,
            _("%(student)s записан(а) в группу «%(group)s» на пробное занятие.")
            % {"student": enrollment.student.full_name, "group": enrollment.group.name},
        )
    return redirect(_next_or(request, reverse("school:waitlist")))


@role_required("enrollment.manage")
@require_POST
def waitlist_cancel(request, pk: int):
    entry = selectors.waitlist_get(membership=request.membership, pk=pk)
    try:
        enrollment_services.waitlist_cancel(entry=entry, actor=request.user)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.info(
            request, _("%(student)s убран(а) из листа ожидания.") % {"student": entry.student.full_name}
        )
    return redirect(_next_or(request, reverse("school:waitlist")))
