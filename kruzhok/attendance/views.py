import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from kruzhok.accounts.decorators import role_required
from kruzhok.accounts.models import Role
from kruzhok.attendance import forms, selectors, services
from kruzhok.attendance.models import AttendanceStatus
from kruzhok.school.models import Student
from kruzhok.school.services import lesson_changes

# The four buttons of a journal row, in the order a teacher reads them.
MARK_BUTTONS = [
    (AttendanceStatus.PRESENT, gettext_lazy("Был")),
    (AttendanceStatus.LATE, gettext_lazy("Опоздал")),
    (AttendanceStatus.ABSENT, gettext_lazy("Не был")),
    (AttendanceStatus.EXCUSED, gettext_lazy("Уважит.")),
]


def _errors_text(error: ValidationError) -> str:
    return " ".join(error.messages)


@role_required("attendance.view")
@require_GET
def today(request):
    membership = request.membership
    branches = None if request.role == Role.TEACHER else selectors.branch_choices(membership=membership)
    # Always bound, so the date picker shows the day on screen even on a first visit.
    data = request.GET.copy()
    if not data.get("day"):
        data["day"] = selectors.org_today(request.org).isoformat()
    form = forms.DayForm(data, branches=branches)
    day, branch = None, None
    if form.is_valid():
        day = form.cleaned_data["day"]
        branch = form.cleaned_data.get("branch")
    day = day or selectors.org_today(request.org)
    lessons = selectors.today_lessons(membership=membership, day=day, branch=branch)
    return render(
        request,
        "attendance/today.html",
        {
            "form": form,
            "day": day,
            "prev_day": day - dt.timedelta(days=1),
            "next_day": day + dt.timedelta(days=1),
            "branch_id": branch.pk if branch else None,
            "is_today": day == selectors.org_today(request.org),
            "lessons": lessons,
            "tz": selectors.org_timezone(request.org),
        },
    )


def _journal(
    request, lesson, *, content_form=None, cancel_form=None, move_form=None, open_panel="", status=200
):
    tz = selectors.org_timezone(request.org)
    local_start = lesson.starts_at.astimezone(tz)
    rows = selectors.roster_for_lesson(lesson=lesson)
    return render(
        request,
        "attendance/lesson.html",
        {
            "lesson": lesson,
            "rows": rows,
            "marked_count": sum(1 for row in rows if row.mark),
            "buttons": MARK_BUTTONS,
            "tz": tz,
            "content_form": content_form
            or forms.LessonContentForm(initial={"topic": lesson.topic, "homework": lesson.homework}),
            "cancel_form": cancel_form or forms.LessonCancelForm(),
            "move_form": move_form
            or forms.LessonMoveForm(
                rooms=selectors.room_choices(lesson=lesson),
                initial={"date": local_start.date(), "time": local_start.time()},
            ),
            # The form that failed stays open, showing its errors.
            "open_panel": open_panel,
        },
        status=status,
    )


@role_required("attendance.view")
@require_GET
def lesson(request, pk: int):
    lesson = selectors.lesson_get(membership=request.membership, pk=pk)
    return _journal(request, lesson)


@role_required("attendance.mark")
@require_POST
def mark(request, lesson_pk: int, student_pk: int):
    lesson = selectors.lesson_get(membership=request.membership, pk=lesson_pk)
    student = get_object_or_404(Student.objects.filter(organization=request.org), pk=student_pk)
    form = forms.MarkForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            services.attendance_mark(
                lesson=lesson,
                student=student,
                status=form.cleaned_data["status"],
                comment=form.cleaned_data["comment"],
                actor=request.user,
            )
        except ValidationError as exc:
            error = _errors_text(exc)
    else:
        error = " ".join(e for errors in form.errors.values() for e in errors)

    if request.htmx:
        # Always 200: htmx swaps only successful answers, and the row carries its own error.
        rows = selectors.roster_for_lesson(lesson=lesson)
        row = next((r for r in rows if r.student.pk == student.pk), None)
        if row is None:  # not on the roster (the error says why): the row still answers in place
            row = selectors.roster_row(lesson=lesson, student=student)
        counts = {"marked": sum(1 for r in rows if r.mark), "total": len(rows)}
        return render(
            request,
            "attendance/_mark_row.html",
            {
                "lesson": lesson,
                "row": row,
                "buttons": MARK_BUTTONS,
                "error": error,
                "comment_value": form.data.get("comment", "") if error else None,
                "oob_counts": counts,
            },
        )
    if error:
        messages.error(request, f"{student.full_name}: {error}")
    return redirect(f"{lesson_url(lesson)}#student-{student.pk}")


def lesson_url(lesson) -> str:
    return reverse("attendance:lesson", args=[lesson.pk])


@role_required("lesson.edit")
@require_POST
def lesson_content(request, pk: int):
    lesson = selectors.lesson_get(membership=request.membership, pk=pk)
    form = forms.LessonContentForm(request.POST)
    if form.is_valid():
        try:
            lesson_changes.lesson_update_content(
                lesson=lesson,
                actor=request.user,
                topic=form.cleaned_data["topic"],
                homework=form.cleaned_data["homework"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Тема и домашнее задание сохранены."))
            return redirect(lesson_url(lesson))
    return _journal(request, lesson, content_form=form, open_panel="content", status=400)


@role_required("lesson.edit")
@require_POST
def lesson_cancel(request, pk: int):
    lesson = selectors.lesson_get(membership=request.membership, pk=pk)
    form = forms.LessonCancelForm(request.POST)
    if form.is_valid():
        try:
            lesson_changes.lesson_cancel(
                lesson=lesson, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Занятие отменено."))
            return redirect(lesson_url(lesson))
    return _journal(request, lesson, cancel_form=form, open_panel="cancel", status=400)


@role_required("lesson.edit")
@require_POST
def lesson_move(request, pk: int):
    lesson = selectors.lesson_get(membership=request.membership, pk=pk)
    form = forms.LessonMoveForm(
        request.POST, rooms=selectors.room_choices(lesson=lesson), tz=selectors.org_timezone(request.org)
    )
    if form.is_valid():
        try:
            lesson_changes.lesson_move(
                lesson=lesson,
                actor=request.user,
                starts_at=form.starts_at(),
                reason=form.cleaned_data["reason"],
                room=form.cleaned_data["room"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Занятие перенесено."))
            return redirect(lesson_url(lesson))
    return _journal(request, lesson, move_form=form, open_panel="move", status=400)


@role_required("attendance.view")
@require_GET
def student_history(request, student_pk: int):
    student = selectors.student_get(membership=request.membership, pk=student_pk)
    marks = selectors.student_attendance_history(membership=request.membership, student=student)
    return render(
        request,
        "attendance/student_history.html",
        {
            "student": student,
            "marks": marks[:500],
            "summary": selectors.history_summary(marks=marks),
            "tz": selectors.org_timezone(request.org),
        },
    )
