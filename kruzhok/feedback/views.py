import csv
import io

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from kruzhok.accounts.decorators import role_required
from kruzhok.feedback import engagement, forms, selectors, services, surveys
from kruzhok.school.models import Student, StudentGuardian
from kruzhok.school.selectors.structure import branch_list_for

IMPORT_MAX_BYTES = 1024 * 1024

INBOX_PAGE = 200


def _children_of(guardian):
    if guardian is None:
        return Student.objects.none()
    linked = StudentGuardian.objects.filter(organization_id=guardian.organization_id, guardian=guardian)
    return Student.objects.filter(
        organization_id=guardian.organization_id, pk__in=linked.values("student_id")
    )


@role_required("feedback.give")
@require_http_methods(["GET", "POST"])
def give(request):
    guardian = selectors.guardian_of_user(user=request.user, org=request.org)
    form = forms.ParentFeedbackForm(request.POST or None, children=_children_of(guardian))
    status = 200
    if request.method == "POST":
        status = 400
        if guardian is None:
            form.add_error(None, _("Ваш профиль родителя ещё не создан в центре."))
        elif form.is_valid():
            try:
                services.feedback_submit(
                    org=request.org,
                    actor=request.user,
                    guardian=guardian,
                    student=form.cleaned_data.get("student"),
                    text=form.cleaned_data["text"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("Спасибо! Отзыв получен, мы ответим в «Сообщениях»."))
                return redirect("feedback:give")
    history = selectors.feedback_by_author(user=request.user, org=request.org)[:30]
    return render(request, "feedback/give.html", {"form": form, "history": history}, status=status)


@role_required("feedback.pulse")
@require_safe
def pulse_list(request):
    student = selectors.student_of_user(user=request.user, org=request.org)
    lessons = list(selectors.pulse_lessons(student=student)) if student else []
    return render(request, "feedback/pulse_list.html", {"lessons": lessons, "faces": forms.FACES})


@role_required("feedback.pulse")
@require_http_methods(["GET", "POST"])
def pulse(request, lesson_pk: int):
    student = selectors.student_of_user(user=request.user, org=request.org)
    if student is None:
        return render(request, "feedback/pulse_list.html", {"lessons": [], "faces": forms.FACES})
    lesson = selectors.pulse_lesson_get(student=student, pk=lesson_pk)
    form = forms.PulseForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.pulse_submit(
                    org=request.org,
                    actor=request.user,
                    student=student,
                    lesson=lesson,
                    score=form.cleaned_data["score"],
                    comment=form.cleaned_data["comment"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("Спасибо! Учитель увидит твой ответ."))
                return redirect("feedback:pulse_list")
        return render(
            request, "feedback/pulse.html", {"form": form, "lesson": lesson, "faces": forms.FACES}, status=400
        )
    return render(request, "feedback/pulse.html", {"form": form, "lesson": lesson, "faces": forms.FACES})


@role_required("feedback.manage")
@require_safe
def inbox(request):
    form = forms.InboxFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    items = selectors.feedback_list(
        membership=request.membership,
        status=filters.get("status") or None,
        sentiment=filters.get("sentiment") or None,
        source=filters.get("source") or None,
        alert_only=bool(filters.get("alert")),
        aspect=filters.get("aspect") or None,
    )[:INBOX_PAGE]
    open_alerts = selectors.feedback_list(membership=request.membership, alert_only=True).count()
    template = "feedback/_inbox_rows.html" if request.htmx else "feedback/inbox.html"
    context = {"form": form, "items": items, "open_alerts": open_alerts}
    if not request.htmx:
        context["figures"] = selectors.inbox_figures(membership=request.membership)
    return render(request, template, context)


@role_required("feedback.manage")
@require_http_methods(["GET", "POST"])
def detail(request, pk: int):
    feedback = selectors.feedback_get(membership=request.membership, pk=pk)
    form = forms.ReplyForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.feedback_reply(feedback=feedback, actor=request.user, body=form.cleaned_data["body"])
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("Ответ отправлен семье."))
                return redirect("feedback:feedback_detail", pk=feedback.pk)
    context = {
        "item": feedback,
        "form": form,
        "status_form": forms.StatusForm(initial={"status": feedback.status}),
        "replies": feedback.replies.select_related("author"),
    }
    return render(request, "feedback/detail.html", context, status=400 if request.method == "POST" else 200)


@role_required("feedback.manage")
@require_POST
def set_status(request, pk: int):
    feedback = selectors.feedback_get(membership=request.membership, pk=pk)
    form = forms.StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Выберите статус из списка."))
        return redirect("feedback:feedback_detail", pk=feedback.pk)
    try:
        services.feedback_set_status(
            feedback=feedback, status=form.cleaned_data["status"], actor=request.user
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Статус изменён."))
    return redirect("feedback:feedback_detail", pk=feedback.pk)


def _csv_rows(upload) -> list[dict]:
    raw = upload.read(IMPORT_MAX_BYTES + 1)
    if len(raw) > IMPORT_MAX_BYTES:
        raise ValidationError(_("Файл больше 1 МБ: разделите его на части."), code="too_big")
    for encoding in ("utf-8-sig", "cp1251"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValidationError(_("Не удалось прочитать файл: сохраните его как CSV в UTF-8."), code="encoding")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        return list(csv.DictReader(io.StringIO(text), dialect=dialect))
    except csv.Error as error:
        raise ValidationError(_("Файл не похож на CSV."), code="not_csv") from error


@role_required("feedback.manage")
@require_http_methods(["GET", "POST"])
def import_reviews(request):
    form = forms.ImportForm(
        request.POST or None, request.FILES or None, branches=branch_list_for(membership=request.membership)
    )
    result = None
    if (
        request.method == "POST"
        and form.is_valid()
        and request.role != "owner"
        and not form.cleaned_data.get("branch")
    ):
        # A manager sees feedback of their branches only: an import without one would vanish for them.
        form.add_error("branch", _("Выберите филиал."))
    if request.method == "POST" and form.is_valid():
        try:
            rows = _csv_rows(form.cleaned_data["file"])
            result = services.external_reviews_import(
                org=request.org, actor=request.user, branch=form.cleaned_data.get("branch"), rows=rows
            )
        except ValidationError as error:
            form.add_error("file", error)
    status = 400 if request.method == "POST" and result is None else 200
    return render(request, "feedback/import.html", {"form": form, "result": result}, status=status)


# --- parent surveys (NPS + satisfaction) ----------------------------------------------------------


@role_required("feedback.survey")
@require_safe
def survey_list(request):
    items = surveys.surveys_for_parent(user=request.user, org=request.org)[:50]
    return render(request, "feedback/surveys.html", {"items": items})


@role_required("feedback.survey")
@require_http_methods(["GET", "POST"])
def survey(request, pk: int):
    item = surveys.survey_for_parent(user=request.user, org=request.org, pk=pk)
    form = forms.SurveyForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                surveys.survey_answer(
                    survey=item,
                    actor=request.user,
                    nps=form.cleaned_data["nps"],
                    satisfaction=form.cleaned_data["satisfaction"],
                    comment=form.cleaned_data["comment"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("Спасибо! Ваш ответ помогает нам стать лучше."))
                return redirect("feedback:survey", pk=item.pk)
        return render(request, "feedback/survey.html", {"item": item, "form": form}, status=400)
    return render(request, "feedback/survey.html", {"item": item, "form": form})


@role_required("messaging.setup")
@require_http_methods(["GET", "POST"])
def survey_settings(request):
    row = surveys.feedback_settings_for(org=request.org)
    form = forms.SurveySettingsForm(
        request.POST or None,
        initial={
            "survey_after_lessons": row.survey_after_lessons,
            "survey_every_days": row.survey_every_days,
        },
    )
    if request.method == "POST":
        if form.is_valid():
            try:
                surveys.feedback_settings_update(org=request.org, **form.cleaned_data)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("Настройки сохранены."))
                return redirect("feedback:survey_settings")
        return render(request, "feedback/survey_settings.html", {"form": form}, status=400)
    return render(request, "feedback/survey_settings.html", {"form": form})


# --- the teacher's pulse («вовлечён ли ребёнок?») -----------------------------------------------


@role_required("feedback.teacher_pulse")
@require_safe
def teacher_lessons(request):
    lessons = list(engagement.teacher_lessons(membership=request.membership)[:60])
    return render(request, "feedback/teacher_lessons.html", {"lessons": lessons})


@role_required("feedback.teacher_pulse")
@require_http_methods(["GET", "POST"])
def teacher_pulse(request, lesson_pk: int):
    lesson = engagement.lesson_for_rating(membership=request.membership, pk=lesson_pk)
    error = None
    status = 200
    if request.method == "POST":
        form = forms.TeacherPulseForm(request.POST)
        student = None
        if form.is_valid():
            student = next(
                (
                    row["student"]
                    for row in engagement.roster_with_scores(lesson=lesson)
                    if row["student"].pk == form.cleaned_data["student"]
                ),
                None,
            )
        if student is None:
            error, status = _("Выберите ребёнка и оценку от 1 до 5."), 400
        else:
            try:
                engagement.teacher_pulse_set(
                    lesson=lesson,
                    student=student,
                    actor=request.user,
                    score=form.cleaned_data["score"],
                    note=form.cleaned_data["note"],
                )
            except ValidationError as exc:
                error, status = " ".join(exc.messages), 400
            else:
                if not request.htmx:
                    return redirect("feedback:teacher_pulse", lesson_pk=lesson.pk)
        if request.htmx and student is not None:
            row = next(
                r for r in engagement.roster_with_scores(lesson=lesson) if r["student"].pk == student.pk
            )
            context = {"lesson": lesson, "row": row, "scores": engagement.SCORES, "error": error}
            return render(request, "feedback/_teacher_pulse_row.html", context, status=status)
    rows = engagement.roster_with_scores(lesson=lesson)
    context = {"lesson": lesson, "rows": rows, "scores": engagement.SCORES, "error": error}
    return render(request, "feedback/teacher_pulse.html", context, status=status)
