from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from kruzhok.accounts.decorators import role_required
from kruzhok.attendance.selectors import lesson_get, org_timezone
from kruzhok.homework import forms, selectors, services
from kruzhok.school.models import Student


@role_required("attendance.view")
@require_GET
def lesson_homework(request, lesson_pk: int):
    lesson = lesson_get(membership=request.membership, pk=lesson_pk)
    rows = selectors.homework_roster(lesson=lesson)
    return render(
        request,
        "homework/lesson.html",
        {
            "lesson": lesson,
            "rows": rows,
            "checked_count": sum(1 for row in rows if row.result),
            "status_buttons": forms.STATUS_CHOICES,
            "grade_choices": forms.GRADE_CHOICES,
            "tz": org_timezone(request.org),
        },
    )


@role_required("attendance.mark")
@require_POST
def record(request, lesson_pk: int, student_pk: int):
    lesson = lesson_get(membership=request.membership, pk=lesson_pk)
    student = get_object_or_404(Student.objects.filter(organization=request.org), pk=student_pk)
    form = forms.HomeworkForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            services.record_homework(
                lesson=lesson, student=student, by=request.user, **form.service_arguments()
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
    else:
        error = " ".join(e for errors in form.errors.values() for e in errors)
    if not request.htmx:
        # Without JavaScript the whole page reloads; an error travels as a one-off message.
        if error:
            messages.error(request, f"{student.full_name}: {error}")
        return redirect(reverse("homework:lesson", args=[lesson.pk]) + f"#hw-{student.pk}")
    return render(
        request,
        "homework/_row.html",
        {
            "lesson": lesson,
            "row": selectors.homework_row(lesson=lesson, student=student),
            "status_buttons": forms.STATUS_CHOICES,
            "grade_choices": forms.GRADE_CHOICES,
            "error": error,
        },
    )  # always 200: htmx swaps only successful answers, and the row carries its own error
