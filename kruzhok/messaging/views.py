import json

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseForbidden, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from kruzhok.accounts.decorators import role_required
from kruzhok.lib.tenancy import tenant_context, unscoped
from kruzhok.messaging import conversations, selectors, services
from kruzhok.messaging.forms import (
    AnnouncementForm,
    ConversationStartForm,
    OrgSettingsForm,
    PostForm,
    PreferenceForm,
)
from kruzhok.messaging.models import Channel, ContactPreference, Side
from kruzhok.school.models import Student, StudentGuardian
from kruzhok.school.selectors.people import guardian_list
from kruzhok.school.selectors.structure import group_list

INBOX_PAGE = 100


@role_required("inbox.view")
@require_safe
def inbox(request):
    items = list(selectors.inbox_for_user(user=request.user, org=request.org)[:INBOX_PAGE])
    return render(request, "messaging/inbox.html", {"items": items})


@role_required("inbox.view")
@require_safe
def message_detail(request, pk: int):
    message = selectors.message_for_user(user=request.user, org=request.org, pk=pk)
    services.message_mark_read(message=message)
    return render(request, "messaging/message.html", {"message": message})


@role_required("announcement.send")
@require_http_methods(["GET", "POST"])
def announcements(request):
    membership = request.membership
    form = AnnouncementForm(
        request.POST or None,
        groups=group_list(membership=membership).filter(is_active=True),
        guardians=guardian_list(membership=membership),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            announcement = services.announcement_send(
                org=request.org,
                actor=request.user,
                title=data["title"],
                body_template=data["body"],
                audience=data["audience"],
                group=data.get("group"),
                guardian=data.get("guardian"),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("Сообщение поставлено в очередь: %(n)d получателей.")
                % {"n": announcement.messages.count()},
            )
            return redirect("messaging:announcement", pk=announcement.pk)
    sent = selectors.announcement_list(membership=membership)[:50]
    status = 400 if request.method == "POST" else 200
    return render(request, "messaging/announcements.html", {"form": form, "sent": sent}, status=status)


@role_required("announcement.send")
@require_safe
def announcement_detail(request, pk: int):
    announcement = selectors.announcement_get(membership=request.membership, pk=pk)
    report = selectors.announcement_report(announcement=announcement)
    return render(request, "messaging/announcement.html", {"announcement": announcement, "report": report})


@role_required("inbox.view")
@require_http_methods(["GET", "POST"])
def preferences(request):
    pref = ContactPreference.objects.filter(organization=request.org, user=request.user).first()
    order = pref.channel_order if pref and pref.channel_order else services.DEFAULT_CHANNELS
    opted_out = set(pref.opted_out if pref else [])
    form = PreferenceForm(
        request.POST or None,
        initial={
            "primary": order[0],
            "no_email": Channel.EMAIL in opted_out,
            "no_telegram": Channel.TELEGRAM in opted_out,
            "no_sms": Channel.SMS in opted_out,
        },
    )
    if request.method == "POST":
        if not form.is_valid():
            return render(
                request,
                "messaging/preferences.html",
                {"form": form, "pref": pref, "vapid_public_key": settings.VAPID_PUBLIC_KEY},
                status=400,
            )
        data = form.cleaned_data
        primary = data["primary"]
        services.preference_update(
            org=request.org,
            user=request.user,
            channel_order=[primary, *[c for c in services.DEFAULT_CHANNELS if c != primary]],
            opted_out=[
                c
                for c, off in (
                    (Channel.EMAIL, data["no_email"]),
                    (Channel.TELEGRAM, data["no_telegram"]),
                    (Channel.SMS, data["no_sms"]),
                )
                if off
            ],
        )
        messages.success(request, _("Настройки сохранены."))
        return redirect("messaging:preferences")
    return render(
        request,
        "messaging/preferences.html",
        {"form": form, "pref": pref, "vapid_public_key": settings.VAPID_PUBLIC_KEY},
    )


@role_required("inbox.view")
@require_POST
def telegram_link(request):
    row = services.messaging_settings_for(org_id=request.org.pk)
    if row is None or not row.telegram_bot_username:
        messages.error(request, _("Центр ещё не подключил Telegram-бота."))
        return redirect("messaging:preferences")
    code = services.telegram_link_start(org=request.org, user=request.user)
    return render(
        request,
        "messaging/telegram_link.html",
        {"url": f"https://t.me/{row.telegram_bot_username}?start={code}", "code": code},
    )


@role_required("messaging.setup")
@require_http_methods(["GET", "POST"])
def org_settings(request):
    row = services.telegram_webhook_secret_ensure(org=request.org)
    form = OrgSettingsForm(
        request.POST or None,
        initial={
            "telegram_bot_token": row.telegram_bot_token,
            "telegram_bot_username": row.telegram_bot_username,
            "quiet_start": row.quiet_start,
            "quiet_end": row.quiet_end,
            "daily_limit": row.daily_limit,
            "reminder_hours": row.reminder_hours,
            "push_confirm_minutes": row.push_confirm_minutes,
        },
    )
    if request.method == "POST":
        if form.is_valid():
            services.messaging_settings_update(org=request.org, **form.cleaned_data)
            messages.success(request, _("Настройки сохранены."))
            return redirect("messaging:settings")
    webhook = request.build_absolute_uri(reverse("messaging:telegram_webhook", args=[request.org.pk]))
    return render(
        request,
        "messaging/settings.html",
        {"form": form, "webhook": webhook, "secret": row.telegram_webhook_secret},
        status=400 if request.method == "POST" else 200,
    )


@csrf_exempt
@require_POST
def telegram_webhook(request, org_id: int):
    """Telegram calls this with the organisation's secret in a header; anything else is refused."""
    with unscoped():
        row = services.messaging_settings_for(org_id=org_id)
    sent = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if (
        row is None
        or not row.telegram_webhook_secret
        or not constant_time_compare(sent, row.telegram_webhook_secret)
    ):
        return HttpResponseForbidden("forbidden")
    try:
        update = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return HttpResponseBadRequest("bad json")
    with tenant_context(org_id):
        services.telegram_update_handle(settings_row=row, update=update)
    return HttpResponse("ok")


@role_required("inbox.view")
@require_POST
def push_subscribe(request):
    """Takes the browser's PushSubscription JSON (sent by static/js/kruzhok-push.js)."""
    try:
        data = json.loads(request.body.decode("utf-8"))
        keys = data.get("keys") or {}
        services.push_subscription_save(
            org=request.org,
            user=request.user,
            endpoint=str(data.get("endpoint", "")),
            p256dh=str(keys.get("p256dh", "")),
            auth=str(keys.get("auth", "")),
        )
    except (UnicodeDecodeError, ValueError, AttributeError, TypeError):
        return JsonResponse({"error": _("Неверная подписка.")}, status=400)
    except ValidationError as error:
        return JsonResponse({"error": " ".join(error.messages)}, status=400)
    return JsonResponse({"ok": True}, status=201)


@csrf_exempt
@require_POST
def push_ack(request, token: str):
    """The service worker reports a notification shown: the push delivery is confirmed. The signed
    token is the only credential (a service worker has no session)."""
    from django.core import signing

    from kruzhok.messaging.channels import PUSH_ACK_SALT

    try:
        data = signing.loads(token, salt=PUSH_ACK_SALT, max_age=7 * 24 * 3600)
        delivery_id, org_id = int(data["d"]), int(data["o"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return HttpResponse("not found", status=404)
    with tenant_context(org_id):
        services.delivery_confirm(delivery_id=delivery_id, org_id=org_id)
    return HttpResponse(status=204)


# --- conversations -------------------------------------------------------------------------------


def _children_of_parent(request):
    linked = StudentGuardian.objects.filter(organization=request.org, guardian__user=request.user)
    return Student.objects.filter(organization=request.org, pk__in=linked.values("student_id"))


@role_required("conversation.view")
@require_safe
def conversation_list(request):
    items = list(conversations.conversation_list_for(membership=request.membership)[:INBOX_PAGE])
    return render(request, "messaging/conversations.html", {"items": items})


@role_required("conversation.view")
@require_http_methods(["GET", "POST"])
def conversation_new(request):
    membership = request.membership
    staff = conversations.side_of(membership) == Side.STAFF
    if staff:
        guardians = conversations.guardians_for_staff(membership=membership)
        students = conversations._staff_students(membership)
        students = students if students is not None else Student.objects.filter(organization=request.org)
    else:
        guardians, students = None, _children_of_parent(request)
    initial = {}
    if request.method == "GET" and staff and request.GET.get("guardian", "").isdigit():
        initial["guardian"] = guardians.filter(pk=int(request.GET["guardian"])).first()
    form = ConversationStartForm(
        request.POST or None, initial=initial, guardians=guardians, students=students, staff=staff
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        student = data.get("student")
        if staff:
            guardian = data["guardian"]
            allowed = conversations.staff_may_write_to(
                membership=membership, guardian=guardian, student=student
            )
        else:
            guardian = conversations._guardians_of_user(user=request.user, org_id=request.org.pk).first()
            allowed = guardian is not None
        if not allowed:
            form.add_error(None, _("Этой семье отсюда написать нельзя."))
        else:
            try:
                conversation = conversations.conversation_start(
                    org=request.org,
                    actor=request.user,
                    side=Side.STAFF if staff else Side.FAMILY,
                    guardian=guardian,
                    student=student,
                    subject=data["subject"],
                    body=data["body"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("Сообщение отправлено."))
                return redirect("messaging:conversation", pk=conversation.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "messaging/conversation_new.html", {"form": form}, status=status)


@role_required("conversation.view")
@require_http_methods(["GET", "POST"])
def conversation_detail(request, pk: int):
    conversation = conversations.conversation_get(membership=request.membership, pk=pk)
    side = conversations.side_of(request.membership)
    form = PostForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                conversations.conversation_post(
                    conversation=conversation, actor=request.user, side=side, body=form.cleaned_data["body"]
                )
            except ValidationError as error:
                form.add_error("body", error)
            else:
                return redirect("messaging:conversation", pk=conversation.pk)
    conversations.conversation_mark_read(conversation=conversation, side=side)
    posts = conversation.posts.select_related("author")
    context = {"conversation": conversation, "posts": posts, "form": form, "side": side}
    return render(request, "messaging/conversation.html", context, status=status)
