from django.urls import path

from kruzhok.risk import views

app_name = "risk"

urlpatterns = [
    path("", views.at_risk, name="list"),
    path("enrollments/<int:enrollment_pk>/", views.card, name="card"),
    path("alerts/", views.alert_feed, name="alerts"),
    path("alerts/<int:alert_pk>/act/", views.alert_act, name="alert_act"),
    path("what-helps/", views.what_helps, name="what_helps"),
    path("models/", views.model_versions, name="models"),
]
