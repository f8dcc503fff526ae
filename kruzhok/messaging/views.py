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
from kruzhok.messaging import selectors, services
from kruzhok.messaging.forms import AnnouncementForm, OrgSettingsForm, PreferenceForm
from kruzhok.messaging.models import Channel, ContactPreference
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
