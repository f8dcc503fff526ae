from django.urls import path

from kruzhok.family import views

app_name = "family"

urlpatterns = [
    path("", views.home, name="home"),
    path("schedule/", views.schedule, name="schedule"),
    path("attendance/", views.attendance, name="attendance"),
    path("children/<int:student_pk>/", views.child, name="child"),
    path("calendar/reset/", views.calendar_reset, name="calendar_reset"),
    path("calendar/<str:token>.ics", views.calendar_feed, name="calendar_feed"),
]
