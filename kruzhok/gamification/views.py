from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_http_methods, require_POST, require_safe

from kruzhok.accounts.decorators import role_required
from kruzhok.accounts.models import Role
from kruzhok.attendance import selectors as attendance_selectors
from kruzhok.gamification import forms, ob3, openbadges, selectors, services
from kruzhok.gamification.badges_svg import badge_svg
from kruzhok.lib.views import form_page, form_submit, refusal_text
from kruzhok.school.models import Student
from kruzhok.school.selectors.structure import group_get, group_list


@role_required("gamification.self")
@require_GET
def home(request):
    children = list(selectors.children_of_user(user=request.user, org=request.org))
    if len(children) == 1:
        return _child_page(request, children[0])
    return render(request, "gamification/children.html", {"children": children})


def _child_page(request, student: Student):
    context = selectors.child_page(org=request.org, student=student)
    context["is_parent"] = request.role == Role.PARENT
    context["opt_out_form"] = forms.OptOutForm(initial={"opt_out": context["opted_out"]})
    return render(request, "gamification/child.html", context)


@role_required("gamification.self")
@require_GET
def child(request, student_pk: int):
    student = selectors.child_of_user(user=request.user, org=request.org, pk=student_pk)
    return _child_page(request, student)


@role_required("gamification.self")
@require_POST
def opt_out(request, student_pk: int):
    student = selectors.child_of_user(user=request.user, org=request.org, pk=student_pk)
    form = forms.OptOutForm(request.POST)
    if form.is_valid():
        services.leaderboard_opt_out_set(
            org=request.org, student=student, opt_out=form.cleaned_data["opt_out"]
        )
        if form.cleaned_data["opt_out"]:
            messages.success(request, _("Готово: в рейтинге группы ребёнка больше не видно."))
        else:
            messages.success(request, _("Готово: ребёнок снова участвует в рейтинге группы."))
    return redirect("gamification:child", student_pk=student.pk)


@role_required("gamification.view")
@require_GET
def student(request, student_pk: int):
    student = attendance_selectors.student_get(membership=request.membership, pk=student_pk)
    context = selectors.child_page(org=request.org, student=student)
    context["is_staff"] = True
    return render(request, "gamification/child.html", context)


@role_required("gamification.view")
@require_GET
def group_board(request, group_pk: int):
    group = group_get(membership=request.membership, pk=group_pk)
    rows = selectors.group_leaderboard(org=request.org, group=group)
    return render(request, "gamification/group_board.html", {"group": group, "rows": rows})


@role_required("gamification.kudos")
@require_http_methods(["GET", "POST"])
def kudos(request, lesson_pk: int, student_pk: int):
    lesson = attendance_selectors.lesson_get(membership=request.membership, pk=lesson_pk)
    row = next(
        (r for r in attendance_selectors.roster_for_lesson(lesson=lesson) if r.student.pk == student_pk), None
    )
    if row is None:
        # Only children on this lesson's roster can be praised for it.
        raise Http404
    form = forms.KudosForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            _award, created = services.kudos_give(
                lesson=lesson, student=row.student, actor=request.user, note=form.cleaned_data["note"]
            )
        except ValidationError as exc:
            error = refusal_text(exc)
        else:
            if created:
                messages.success(
                    request,
                    _("«Молодец!» отправлен: %(name)s увидит это на своей странице.")
                    % {"name": row.student.first_name},
                )
            else:
                messages.info(
                    request,
                    _("%(name)s уже получил(а) «молодец» за это занятие.") % {"name": row.student.first_name},
                )
            return redirect("attendance:lesson", pk=lesson.pk)
    return render(
        request,
        "gamification/kudos.html",
        {
            "lesson": lesson,
            "row": row,
            "form": form,
            "error": error,
            "teacher_badges": selectors.teacher_badges(org=request.org),
            "has_badges": set(
                selectors.badges_of(org=request.org, student=row.student).values_list("badge_id", flat=True)
            ),
        },
    )


@role_required("gamification.kudos")
@require_POST
def badge_give(request, lesson_pk: int, student_pk: int):
    lesson = attendance_selectors.lesson_get(membership=request.membership, pk=lesson_pk)
    row = next(
        (r for r in attendance_selectors.roster_for_lesson(lesson=lesson) if r.student.pk == student_pk), None
    )
    if row is None:
        raise Http404
    badge_id = request.POST.get("badge", "")
    if not badge_id.isdecimal() or len(badge_id) > 18:
        raise Http404
    badge = get_object_or_404(selectors.teacher_badges(org=request.org), pk=int(badge_id))
    try:
        services.badge_grant(badge=badge, student=row.student, actor=request.user)
    except ValidationError as exc:
        messages.error(request, refusal_text(exc))
    else:
        messages.success(request, _("Значок «%(badge)s» выдан.") % {"badge": badge.name})
    return redirect("attendance:lesson", pk=lesson.pk)


@role_required("gamification.manage")
@require_http_methods(["GET", "POST"])
def settings_page(request):
    rules = selectors.rules_for(org=request.org)
    initial = {name: getattr(rules, name) for name in services.RULE_FIELDS}
    form = forms.RulesForm(request.POST or None, initial=initial)
    done, error = form_submit(
        request,
        form,
        lambda f: services.gamification_settings_update(org=request.org, **f.cleaned_data),
        success=_("Правила сохранены. Они действуют для новых отметок."),
        next_url="gamification:settings",
    )
    if done:
        return done
    return render(
        request,
        "gamification/settings.html",
        {
            "form": form,
            "error": error,
            "badge_form": forms.BadgeForm(),
            "badges": selectors.badge_list(org=request.org),
            "goals": selectors.goal_list(org=request.org),
            "quests": selectors.quest_list(org=request.org),
        },
    )


@role_required("gamification.manage")
@require_http_methods(["GET", "POST"])
def goal_create(request):
    form = forms.GroupGoalForm(request.POST or None, groups=group_list(membership=request.membership))
    return form_page(
        request,
        form,
        lambda f: services.group_goal_create(org=request.org, **f.cleaned_data),
        success=_("Цель группы добавлена: дети увидят её на своих страницах."),
        next_url="gamification:settings",
        template="gamification/goal_form.html",
    )


@role_required("gamification.manage")
@require_http_methods(["GET", "POST"])
def goal_edit(request, goal_pk: int):
    goal = selectors.goal_get(org=request.org, pk=goal_pk)
    groups = group_list(membership=request.membership)
    if not groups.filter(pk=goal.group_id).exists():
        # A manager edits goals of their own branches' groups only.
        raise Http404
    initial = {f: getattr(goal, f) for f in ("group", "title", "target_xp", "starts_on", "ends_on", "reward")}
    form = forms.GroupGoalForm(request.POST or None, groups=groups, initial=initial)
    return form_page(
        request,
        form,
        lambda f: services.group_goal_update(goal=goal, **f.cleaned_data),
        success=_("Цель группы сохранена."),
        next_url="gamification:settings",
        template="gamification/goal_form.html",
        context={"goal": goal},
    )


def _quest_form(request, quest=None):
    quests = selectors.quest_list(org=request.org)
    if quest is not None:
        quests = quests.exclude(pk=quest.pk)
    return forms.QuestForm(
        request.POST or None,
        groups=group_list(membership=request.membership),
        badges=selectors.teacher_badges(org=request.org),
        quests=quests,
        initial=forms.QuestForm.initial_for(quest) if quest is not None and request.method == "GET" else None,
    )


@role_required("gamification.manage")
@require_http_methods(["GET", "POST"])
def quest_create(request):
    form = _quest_form(request)
    return form_page(
        request,
        form,
        lambda f: services.quest_save(org=request.org, **f.service_fields()),
        success=_("Квест добавлен: дети увидят его на своих страницах."),
        next_url="gamification:settings",
        template="gamification/quest_form.html",
    )


@role_required("gamification.manage")
@require_http_methods(["GET", "POST"])
def quest_edit(request, quest_pk: int):
    quest = selectors.quest_get(org=request.org, pk=quest_pk)
    if quest.group_id and not group_list(membership=request.membership).filter(pk=quest.group_id).exists():
        raise Http404
    form = _quest_form(request, quest)
    return form_page(
        request,
        form,
        lambda f: services.quest_save(org=request.org, quest=quest, **f.service_fields()),
        success=_("Квест сохранён. Новые шаги действуют для тех, кто его ещё не прошёл."),
        next_url="gamification:settings",
        template="gamification/quest_form.html",
        context={"quest": quest},
    )


@role_required("gamification.manage")
@require_http_methods(["GET", "POST"])
def badge_edit(request, badge_pk: int):
    badge = selectors.badge_get(org=request.org, pk=badge_pk)
    initial = {
        f: getattr(badge, f)
        for f in ("name", "description", "rule", "event", "threshold", "symbol", "color", "is_active")
    }
    form = forms.BadgeForm(request.POST or None, initial=initial)
    return form_page(
        request,
        form,
        lambda f: services.badge_update(badge=badge, **f.cleaned_data),
        success=_("Значок сохранён. Кто его уже получил, тот его сохранит."),
        next_url="gamification:settings",
        template="gamification/badge_form.html",
        context={"badge": badge},
    )


@role_required("gamification.manage")
@require_http_methods(["GET", "POST"])
def badge_create(request):
    form = forms.BadgeForm(request.POST or None)
    return form_page(
        request,
        form,
        lambda f: services.badge_create(org=request.org, **f.cleaned_data),
        success=_("Значок создан."),
        next_url="gamification:settings",
        template="gamification/badge_form.html",
    )


@role_required("org.view")
@require_GET
def badge_image(request, badge_pk: int):
    badge = selectors.badge_get(org=request.org, pk=badge_pk)
    response = HttpResponse(badge_svg(badge), content_type="image/svg+xml; charset=utf-8")
    response["Cache-Control"] = "private, max-age=3600"
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


# --- the rewards shop -----------------------------------------------------------------------------


def _own_student(request) -> Student:
    return get_object_or_404(
        selectors.children_of_user(user=request.user, org=request.org).filter(user=request.user)
    )


@role_required("gamification.shop")
@require_GET
def shop(request):
    student = _own_student(request)
    return render(
        request,
        "gamification/shop.html",
        {
            "student": student,
            "coins": selectors.student_coins(org=request.org, student=student),
            "rewards": selectors.shop_rewards(org=request.org),
            "requests": selectors.requests_of(org=request.org, student=student)[:20],
        },
    )


@role_required("gamification.shop")
@require_POST
def reward_ask(request, reward_pk: int):
    student = _own_student(request)
    reward = selectors.reward_get(org=request.org, pk=reward_pk)
    try:
        services.reward_request_create(reward=reward, student=student)
    except ValidationError as exc:
        messages.error(request, refusal_text(exc))
    else:
        messages.success(request, _("Заявка отправлена! Монеты отложены, администратор скоро ответит."))
    return redirect("gamification:shop")


@role_required("gamification.manage")
@require_http_methods(["GET", "POST"])
def shop_manage(request):
    form = forms.RewardForm(request.POST or None)
    done, error = form_submit(
        request,
        form,
        lambda f: services.reward_create(org=request.org, **f.cleaned_data),
        success=_("Награда добавлена в магазин."),
        next_url="gamification:shop_manage",
    )
    if done:
        return done
    return render(
        request,
        "gamification/shop_manage.html",
        {
            "form": form,
            "error": error,
            "rewards": selectors.reward_list(org=request.org),
            "pending": selectors.requests_for_staff(membership=request.membership),
        },
    )


@role_required("gamification.manage")
@require_http_methods(["GET", "POST"])
def reward_edit(request, reward_pk: int):
    reward = selectors.reward_get(org=request.org, pk=reward_pk)
    initial = {f: getattr(reward, f) for f in ("title", "description", "price", "stock", "is_active")}
    form = forms.RewardEditForm(request.POST or None, initial=initial)
    return form_page(
        request,
        form,
        lambda f: services.reward_update(reward=reward, **f.cleaned_data),
        success=_("Награда сохранена."),
        next_url="gamification:shop_manage",
        template="gamification/reward_form.html",
        context={"reward": reward},
    )


@role_required("gamification.manage")
@require_POST
def request_decide(request, request_pk: int):
    reward_request = selectors.request_get_for_staff(membership=request.membership, pk=request_pk)
    form = forms.DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Выберите: выдать или отказать."))
        return redirect("gamification:shop_manage")
    approve = form.cleaned_data["decision"] == "approve"
    try:
        services.reward_request_decide(request=reward_request, actor=request.user, approve=approve)
    except ValidationError as exc:
        messages.error(request, refusal_text(exc))
    else:
        messages.success(
            request, _("Награда выдана.") if approve else _("Отказано, монеты вернулись ребёнку.")
        )
    return redirect("gamification:shop_manage")


# --- Open Badges 2.0: shared by the family, public by unguessable id ------------------------------


@role_required("gamification.self")
@require_POST
def badge_share(request, student_pk: int, award_pk: int):
    student = selectors.child_of_user(user=request.user, org=request.org, pk=student_pk)
    award = get_object_or_404(selectors.badges_of(org=request.org, student=student), pk=award_pk)
    try:
        openbadges.badge_award_share(award=award)
    except ValidationError as exc:
        messages.error(request, refusal_text(exc))
    else:
        messages.success(request, _("Значок опубликован: ссылкой можно поделиться, имени ребёнка в ней нет."))
    return redirect("gamification:child", student_pk=student.pk)


def _ld(data: dict) -> JsonResponse:
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/ld+json; charset=utf-8"
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_safe
@cache_control(public=True, max_age=300)
def ob_assertion(request, token: str):
    award = openbadges.shared_award(token=token)
    if award is None:
        raise Http404
    # Verifiers ask for JSON; a person following the shared link gets a readable verification page.
    wants_page = "text/html" in request.headers.get("Accept", "") and request.GET.get("format") != "json"
    if wants_page:
        return render(
            request,
            "gamification/ob_assertion.html",
            {
                "award": award,
                "badge": award.badge,
                "issuer": award.organization,
                "image": openbadges.badge_class_json(award.badge)["image"],
                "json_url": request.path + "?format=json",
            },
        )
    return _ld(openbadges.assertion_json(award))


@require_safe
@cache_control(public=True, max_age=300)
def ob_badge(request, token: str):
    badge = openbadges.public_badge(token=token)
    if badge is None:
        raise Http404
    return _ld(openbadges.badge_class_json(badge))


@require_safe
@cache_control(public=True, max_age=300)
def ob_issuer(request, token: str):
    org = openbadges.public_issuer(token=token)
    if org is None:
        raise Http404
    return _ld(openbadges.issuer_json(org))


@require_safe
def ob3_credential(request, token: str):
    """Open Badges 3.0: ?format=jwt gives the signed credential, ?format=json the credential, else a page
    that verifies the signature."""
    award = openbadges.shared_award(token=token)
    if award is None:
        raise Http404
    jwt = ob3.credential_jwt(award)
    fmt = request.GET.get("format")
    if fmt == "jwt":
        return HttpResponse(jwt, content_type="application/vc+jwt")
    if fmt == "json":
        return _ld(ob3.credential_json(award))
    key = ob3.signing_key_for(organization_id=award.organization_id)
    return render(
        request,
        "gamification/ob3_credential.html",
        {
            "award": award,
            "badge": award.badge,
            "issuer": award.organization,
            "verified": ob3.verify_jwt(jwt, key.public_key) is not None,
            "jwk": ob3.public_jwk(key),
            "image": openbadges.badge_class_json(award.badge)["image"],
        },
    )
