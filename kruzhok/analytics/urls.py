from django.urls import path

from kruzhok.analytics import views

app_name = "analytics"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("retention/", views.retention, name="retention"),
    path("retention/children/", views.retention_children, name="retention_children"),
    path("retention.csv", views.survival_export, name="retention_csv"),
    path("compare/", views.compare, name="compare"),
    path("children/", views.children, name="children"),
]
