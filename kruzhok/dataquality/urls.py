from django.urls import path

from kruzhok.dataquality import views

app_name = "dataquality"

urlpatterns = [
    path("", views.index, name="index"),
    path("refresh/", views.refresh, name="refresh"),
]
