from django.urls import include, path

from kruzhok.core import views as core_views

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("favicon.ico", core_views.favicon, name="favicon"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("kruzhok.accounts.urls")),
    path("school/", include("kruzhok.school.urls")),
    path("attendance/", include("kruzhok.attendance.urls")),
    path("homework/", include("kruzhok.homework.urls")),
    path("family/", include("kruzhok.family.urls")),
    path("gamification/", include("kruzhok.gamification.urls")),
    path("messaging/", include("kruzhok.messaging.urls")),
    path("feedback/", include("kruzhok.feedback.urls")),
    path("billing/", include("kruzhok.billing.urls")),
    path("risk/", include("kruzhok.risk.urls")),
    path("analytics/", include("kruzhok.analytics.urls")),
    path("reports/", include("kruzhok.reports.urls")),
    path("dataquality/", include("kruzhok.dataquality.urls")),
    path("api/v1/", include("kruzhok.api.urls")),
    path("", include("kruzhok.core.urls")),
]
