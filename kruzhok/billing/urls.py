from django.urls import path

from kruzhok.billing import views

app_name = "billing"

urlpatterns = [
    path("", views.accounts, name="accounts"),
    path("debtors/", views.debtors, name="debtors"),
    path("ending/", views.ending, name="ending"),
    path("revenue/", views.revenue, name="revenue"),
    path("plans/", views.plans, name="plans"),
    path("plans/new/", views.plan_create, name="plan_create"),
    path("plans/<int:plan_pk>/toggle/", views.plan_toggle, name="plan_toggle"),
    path("promos/", views.promos, name="promos"),
    path("settings/", views.billing_settings, name="settings"),
    path("sell/", views.sell, name="sell"),
    path("accounts/<int:account_pk>/", views.account, name="account"),
    path("accounts/<int:account_pk>/pay/", views.payment_take, name="payment_take"),
    path("accounts/<int:account_pk>/online/", views.online_link, name="online_link"),
    path("payments/<int:payment_pk>/refund/", views.refund, name="refund"),
    path("subscriptions/<int:subscription_pk>/freeze/", views.freeze, name="freeze"),
    path("entries/<int:entry_pk>/reverse/", views.entry_reverse, name="entry_reverse"),
    path("payments/<int:payment_pk>/receipt.pdf", views.receipt, name="receipt"),
    path("makeups/", views.makeups_page, name="makeups"),
    path("makeups/book/<int:missed_mark_pk>/", views.makeup_book, name="makeup_book"),
    path("makeups/<int:makeup_pk>/cancel/", views.makeup_cancel, name="makeup_cancel"),
    path("webhooks/online/", views.webhook_online, name="webhook_online"),
    path("family/", views.family, name="family"),
    path("family/payments/<int:payment_pk>/receipt.pdf", views.family_receipt, name="family_receipt"),
]
