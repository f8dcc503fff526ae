"""The owner's set-up pages (branches, rooms, courses, groups, holidays) and the staff dashboard."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kruzhok.accounts.decorators import role_required
from kruzhok.accounts.models import Role
from kruzhok.lib.views import form_page, form_submit
from kruzhok.school.forms import structure as forms
from kruzhok.school.selectors import structure as selectors
from kruzhok.school.services import structure as services
from kruzhok.school.services.lessons import org_timezone, org_today

# Where a service error is shown: next to the field it is about, else above the form.
ERROR_FIELDS = {
    "dates": "end_date",
    "capacity": "capacity",
    "duplicate": "name",
    "room_branch": "room",
    "teacher": "teacher",
    "age_range": "age_max",
    "duration": "lesson_minutes",
    "lessons_per_week": "lessons_per_week",
    "length": "length_weeks",
    "price": "price_per_month",
    "subject": "subject",
    "manager": "managers",
}


def _show_service_error(form, exc: ValidationError, *, title_field: str = "name") -> None:
    code = getattr(exc, "code", None)
    field = ERROR_FIELDS.get(code)
    if code in ("duplicate", "required", "too_long"):
        field = title_field
    if not hasattr(exc, "error_dict") and field in form.fields:
        form.add_error(field, exc.messages)
        return
    for message in exc.messages:
        form.add_error(None, message)


def _show_title_error(form, exc: ValidationError) -> None:
    # Courses are named by their title.
    _show_service_error(form, exc, title_field="title")


@role_required("group.view")
def dashboard(request):
    membership = request.membership
    today = org_today(request.org)
    context = {
        "counts": selectors.dashboard_counts(membership=membership),
        "today": today,
        "lessons": selectors.lesson_list(membership=membership, date_from=today, date_to=today),
        "tz": org_timezone(request.org),
        "is_owner": request.role == Role.OWNER,
        "can_people": request.role in (Role.OWNER, Role.MANAGER),
    }
    return render(request, "school/dashboard.html", context)


# ---------------------------------------------------------------- branches and rooms


@role_required("branch.manage")
def branches(request):
    return render(request, "school/branches.html", {"branches": selectors.branch_list(org=request.org)})


@role_required("branch.manage")
def branch_create(request):
    form = forms.BranchForm(request.POST or None, org=request.org)
    return form_page(
        request,
        form,
        lambda f: services.branch_create(org=request.org, **f.cleaned_data),
        success=_("Филиал добавлен."),
        next_url="school:branches",
        show_refusal=_show_service_error,
        template="school/branch_form.html",
        context={"branch": None},
    )


@role_required("branch.manage")
def branch_edit(request, pk: int):
    branch = selectors.branch_get(org=request.org, pk=pk)
    initial = {"name": branch.name, "address": branch.address, "managers": list(branch.managers.all())}
    form = forms.BranchForm(request.POST or None, org=request.org, initial=initial)
    return form_page(
        request,
        form,
        lambda f: services.branch_update(branch=branch, **f.cleaned_data),
        success=_("Филиал сохранён."),
        next_url="school:branches",
        show_refusal=_show_service_error,
        template="school/branch_form.html",
        context={"branch": branch},
    )


@role_required("branch.manage")
def room_create(request, branch_pk: int):
    branch = selectors.branch_get(org=request.org, pk=branch_pk)
    form = forms.RoomForm(request.POST or None)
    return form_page(
        request,
        form,
        lambda f: services.room_create(org=request.org, branch=branch, **f.cleaned_data),
        success=_("Кабинет добавлен."),
        next_url="school:branches",
        show_refusal=_show_service_error,
        template="school/room_form.html",
        context={"branch": branch, "room": None},
    )


@role_required("branch.manage")
def room_edit(request, pk: int):
    room = selectors.room_get(org=request.org, pk=pk)
    form = forms.RoomForm(request.POST or None, initial={"name": room.name, "capacity": room.capacity})
    return form_page(
        request,
        form,
        lambda f: services.room_update(room=room, **f.cleaned_data),
        success=_("Кабинет сохранён."),
        next_url="school:branches",
        show_refusal=_show_service_error,
        template="school/room_form.html",
        context={"branch": room.branch, "room": room},
    )


# ---------------------------------------------------------------- courses


@role_required("course.manage")
def courses(request):
    return render(request, "school/courses.html", {"courses": selectors.course_list(org=request.org)})


@role_required("course.manage")
def course_create(request):
    form = forms.CourseForm(request.POST or None)
    return form_page(
        request,
        form,
        lambda f: services.course_create(org=request.org, **f.cleaned_data),
        success=_("Курс добавлен."),
        next_url="school:courses",
        show_refusal=_show_title_error,
        template="school/course_form.html",
        context={"course": None},
    )


@role_required("course.manage")
def course_edit(request, pk: int):
    course = selectors.course_get(org=request.org, pk=pk)
    initial = {name: getattr(course, name) for name in forms.CourseForm.base_fields}
    form = forms.CourseForm(request.POST or None, initial=initial)
    return form_page(
        request,
        form,
        lambda f: services.course_update(course=course, **f.cleaned_data),
        success=_("Курс сохранён."),
        next_url="school:courses",
        show_refusal=_show_title_error,
        template="school/course_form.html",
        context={"course": course},
    )


# ---------------------------------------------------------------- groups


def _fill_state(group) -> str:
    if group.enrolled >= group.capacity:
        return "bad"
    return "warn" if group.enrolled * 5 >= group.capacity * 4 else "ok"


@role_required("group.view")
def groups(request):
    membership = request.membership
    filters = forms.GroupFilterForm(request.GET or None, membership=membership)
    chosen = filters.cleaned_data if filters.is_valid() else {}
    group_qs = selectors.with_enrolled_count(
        selectors.group_list(
            membership=membership,
            branch=chosen.get("branch"),
            course=chosen.get("course"),
            teacher=chosen.get("teacher"),
        )
    )
    rows = [
        {"group": group, "schedule": selectors.schedule_words(group), "fill_state": _fill_state(group)}
        for group in group_qs
    ]
    context = {
        "rows": rows,
        "filters": filters,
        "is_owner": request.role == Role.OWNER,
        "is_teacher": request.role == Role.TEACHER,
    }
    return render(request, "school/groups.html", context)


def _group_form_page(request, *, group=None):
    slots = list(group.slots.order_by("weekday", "start_time")) if group else []
    formset_class = forms.slot_formset_class(filled=len(slots))
    initial = {name: getattr(group, name) for name in forms.GroupForm.base_fields} if group else {}
    form = forms.GroupForm(request.POST or None, org=request.org, initial=initial, editing=group is not None)
    slot_initial = [
        {"weekday": s.weekday, "start_time": s.start_time, "duration_minutes": s.duration_minutes}
        for s in slots
    ]
    formset = formset_class(request.POST or None, prefix="slots", initial=slot_initial)
    schedule_errors: list[str] = []
    # Both halves are validated so every mistake shows at once, not one submit at a time.
    valid = [form.is_valid(), formset.is_valid()] if request.method == "POST" else [False]
    if all(valid):
        rule = forms.slots_from_formset(formset)
        try:
            if group is None:
                group = services.group_create(org=request.org, slots=rule, **form.cleaned_data)
                messages.success(request, _("Группа создана, занятия появились в расписании."))
            else:
                group = services.group_update(group=group, slots=rule, **form.cleaned_data)
                messages.success(request, _("Группа сохранена, будущие занятия обновлены."))
        except ValidationError as exc:
            if str(getattr(exc, "code", "")).startswith("slot_"):
                schedule_errors = exc.messages
            else:
                _show_service_error(form, exc)
        else:
            return redirect("school:group_detail", pk=group.pk)
    context = {"form": form, "formset": formset, "group": group, "schedule_errors": schedule_errors}
    return render(request, "school/group_form.html", context)


@role_required("group.manage")
def group_create(request):
    return _group_form_page(request)


@role_required("group.manage")
def group_edit(request, pk: int):
    group = selectors.group_get(membership=request.membership, pk=pk)
    return _group_form_page(request, group=group)


@role_required("group.view")
def group_detail(request, pk: int):
    membership = request.membership
    group = selectors.group_get(membership=membership, pk=pk)
    roster = list(selectors.group_roster(group=group))
    today = org_today(request.org)
    context = {
        "group": group,
        "schedule": selectors.schedule_words(group),
        "roster": roster,
        "free_places": max(group.capacity - len(roster), 0),
        "lessons": selectors.lesson_list(membership=membership, group=group, date_from=today)[:10],
        "tz": org_timezone(request.org),
        "is_owner": request.role == Role.OWNER,
        "can_people": request.role in (Role.OWNER, Role.MANAGER),
    }
    return render(request, "school/group_detail.html", context)


# ---------------------------------------------------------------- holidays


@role_required("holiday.manage")
def holidays(request):
    form = forms.HolidayForm(request.POST or None)
    outcome = form_submit(
        request,
        form,
        lambda f: services.holiday_create(org=request.org, **f.cleaned_data),
        success=_("Праздник добавлен, занятия в эти дни убраны из расписания."),
        next_url="school:holidays",
        show_refusal=_show_service_error,
    )
    if outcome.response:
        return outcome.response
    context = {"form": form, "holidays": selectors.holiday_list(org=request.org)}
    return render(request, "school/holidays.html", context)


# The role check comes first so a refused role gets 403 whatever the method.
@role_required("holiday.manage")
@require_POST
def holiday_delete(request, pk: int):
    holiday = selectors.holiday_get(org=request.org, pk=pk)
    services.holiday_delete(holiday=holiday)
    messages.success(request, _("Праздник удалён, занятия в эти дни вернулись в расписание."))
    return redirect("school:holidays")
