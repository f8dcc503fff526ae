import datetime as dt
from collections import Counter
from functools import wraps
from itertools import groupby

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from kruzhok.accounts.models import Role
from kruzhok.accounts.permissions import role_can
from kruzhok.attendance.models import AttendanceStatus
from kruzhok.family import ical, selectors
from kruzhok.family.forms import AttendanceFilterForm, ScheduleWindowForm
from kruzhok.homework import selectors as homework_selectors
from kruzhok.lib.tenancy import tenant_context
from kruzhok.school.services.calendar import guardian_calendar_token_rotate

SCHEDULE_DAYS = 28
PARENT = ("family.view",)
PARENT_OR_STUDENT = ("family.view", "student.self")


def family_view(actions: tuple[str, ...]):
    """Login, a membership whose role may do one of `actions` (else 403), and dates shown in the
    organisation's time zone."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if getattr(request, "membership", None) is None or not any(
                role_can(request.role, action) for action in actions
            ):
                raise PermissionDenied
            with timezone.override(selectors.org_zone(request.org)):
                return view(request, *args, **kwargs)

        return wrapper

    return decorator


def _calendar_links(request, guardian) -> dict | None:
    if guardian is None:
        return None
    if not guardian.calendar_token:
        return {"feed_url": "", "webcal_url": ""}
    feed_url = request.build_absolute_uri(reverse("family:calendar_feed", args=[guardian.calendar_token]))
    return {"feed_url": feed_url, "webcal_url": "webcal://" + feed_url.split("://", 1)[1]}


@family_view(PARENT_OR_STUDENT)
def home(request):
    now = timezone.now()
    children = list(selectors.children_for_user(user=request.user, org=request.org))
    if request.role == Role.STUDENT:
        me = children[0] if children else None
        today = selectors.org_today(request.org)
        return render(
            request,
            "family/student_home.html",
            {
                "me": me,
                "upcoming": selectors.next_lessons(org=request.org, children=children, now=now, limit=6)
                if me
                else [],
                "homework": selectors.latest_homework(org=request.org, children=children, now=now)
                if me
                else None,
                "today": today,
                "tomorrow": today + dt.timedelta(days=1),
            },
        )
    cards = [selectors.child_overview(org=request.org, child=child, now=now) for child in children]
    return render(
        request,
        "family/home.html",
        {"cards": cards, "today": selectors.org_today(request.org), "has_guardian": bool(children)},
    )


def _weeks(items: list[selectors.ScheduleItem], start: dt.date, end: dt.date) -> list[dict]:
    """Calendar weeks (Monday first) overlapping [start, end], each with its days that have lessons."""
    by_day = {day: list(day_items) for day, day_items in groupby(items, key=lambda item: item.day)}
    weeks = []
    monday = start - dt.timedelta(days=start.weekday())
    while monday <= end:
        sunday = monday + dt.timedelta(days=6)
        days = [
            {"date": day, "items": by_day[day]}
            for day in sorted(by_day)
            if max(monday, start) <= day <= min(sunday, end)
        ]
        weeks.append({"monday": monday, "sunday": sunday, "days": days})
        monday += dt.timedelta(days=7)
    return weeks


@family_view(PARENT_OR_STUDENT)
def schedule(request):
    today = selectors.org_today(request.org)
    form = ScheduleWindowForm(request.GET or None, today=today)
    start = today
    if form.is_valid() and form.cleaned_data["start"] is not None:
        start = form.cleaned_data["start"]
    end = start + dt.timedelta(days=SCHEDULE_DAYS - 1)
    children = list(selectors.children_for_user(user=request.user, org=request.org))
    items = selectors.schedule_items(org=request.org, children=children, date_from=start, date_to=end)
    context = {
        "form": form,
        "start": start,
        "end": end,
        "today": today,
        "prev_start": start - dt.timedelta(days=7),
        "next_start": start + dt.timedelta(days=7),
        "weeks": _weeks(items, start, end),
        "has_lessons": bool(items),
        "many_children": len(children) > 1,
        "is_student": request.role == Role.STUDENT,
    }
    if request.htmx:
        return render(request, "family/_schedule_weeks.html", context)
    if request.role == Role.PARENT:
        context["calendar"] = _calendar_links(
            request, selectors.guardian_for_user(user=request.user, org=request.org)
        )
    return render(request, "family/schedule.html", context)


def _totals(marks) -> dict:
    counts = Counter(mark.status for mark in marks)
    return {
        "present": counts[AttendanceStatus.PRESENT],
        "late": counts[AttendanceStatus.LATE],
        "absent": counts[AttendanceStatus.ABSENT],
        "excused": counts[AttendanceStatus.EXCUSED],
        # A late arrival still counts as being there; an excused absence is still an absence.
        "attended": counts[AttendanceStatus.PRESENT] + counts[AttendanceStatus.LATE],
        "missed": counts[AttendanceStatus.ABSENT] + counts[AttendanceStatus.EXCUSED],
    }


@family_view(PARENT)
def attendance(request):
    today = selectors.org_today(request.org)
    children = list(selectors.children_for_user(user=request.user, org=request.org))
    form = AttendanceFilterForm(request.GET or None, children=children, today=today)
    chosen, date_from, date_to = None, None, None
    if form.is_valid():
        chosen = next((c for c in children if c.pk == form.cleaned_data["child"]), None)
        date_from, date_to = form.month_range()
    marks = list(
        selectors.attendance_for_user(
            user=request.user, org=request.org, student=chosen, date_from=date_from, date_to=date_to
        )
    )
    sections = []
    for child in [chosen] if chosen else children:
        child_marks = [mark for mark in marks if mark.student_id == child.pk]
        sections.append({"child": child, "marks": child_marks, "totals": _totals(child_marks)})
    context = {"form": form, "sections": sections, "children": children}
    template = "family/_attendance_sections.html" if request.htmx else "family/attendance.html"
    return render(request, template, context)


@family_view(PARENT)
def child(request, student_pk: int):
    student = selectors.child_for_user(user=request.user, org=request.org, pk=student_pk)
    overview = selectors.child_overview(
        org=request.org, child=student, now=timezone.now(), upcoming_limit=5, marks_limit=0, past_limit=20
    )
    homework = homework_selectors.results_for_student(student=student, limit=20)
    return render(
        request, "family/child.html", {"overview": overview, "child": student, "homework": homework}
    )


@require_POST
@family_view(PARENT)
def calendar_reset(request):
    guardian = selectors.guardian_for_user(user=request.user, org=request.org)
    if guardian is None:
        raise Http404
    guardian_calendar_token_rotate(guardian=guardian)
    messages.success(
        request,
        _("Новая ссылка готова. Старая больше не работает: обновите подписку в календаре телефона."),
    )
    return redirect(reverse("family:schedule") + "#calendar")


@never_cache
@require_safe
def calendar_feed(request, token: str):
    guardian = selectors.guardian_for_calendar_token(token=token)
    if guardian is None:
        raise Http404
    # The feed has no session: the token decides the organisation, and the safety net follows it.
    with tenant_context(guardian.organization_id):
        body = ical.calendar_feed_render(guardian=guardian)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="kruzhok.ics"'
    response["X-Robots-Tag"] = "noindex"
    return response
