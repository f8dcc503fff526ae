from django.urls import path

from kruzhok.reports import views

app_name = "reports"

urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.create, name="create"),
    path("runs/<int:run_pk>/", views.run, name="run"),
    path("runs/<int:run_pk>/download/", views.download, name="download"),
    path("schedules/new/", views.schedule_create, name="schedule_create"),
    path("schedules/<int:schedule_pk>/delete/", views.schedule_delete, name="schedule_delete"),
]
