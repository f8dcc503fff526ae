from django.urls import path

from kruzhok.messaging import views

app_name = "messaging"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<int:pk>/", views.message_detail, name="message"),
    path("announcements/", views.announcements, name="announcements"),
    path("announcements/<int:pk>/", views.announcement_detail, name="announcement"),
    path("settings/", views.preferences, name="preferences"),
    path("settings/telegram/", views.telegram_link, name="telegram_link"),
    path("settings/push/", views.push_subscribe, name="push_subscribe"),
    path("push/ack/<str:token>/", views.push_ack, name="push_ack"),
    path("conversations/", views.conversation_list, name="conversations"),
    path("conversations/new/", views.conversation_new, name="conversation_new"),
    path("conversations/<int:pk>/", views.conversation_detail, name="conversation"),
    path("setup/", views.org_settings, name="settings"),
    path("telegram/<int:org_id>/webhook/", views.telegram_webhook, name="telegram_webhook"),
]
