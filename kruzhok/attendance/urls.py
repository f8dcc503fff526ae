from django.urls import path

from kruzhok.attendance import views

app_name = "attendance"

urlpatterns = [
    path("", views.today, name="today"),
    path("lessons/<int:pk>/", views.lesson, name="lesson"),
    path("lessons/<int:lesson_pk>/students/<int:student_pk>/mark/", views.mark, name="mark"),
    path("lessons/<int:pk>/content/", views.lesson_content, name="lesson_content"),
    path("lessons/<int:pk>/cancel/", views.lesson_cancel, name="lesson_cancel"),
    path("lessons/<int:pk>/move/", views.lesson_move, name="lesson_move"),
    path("students/<int:student_pk>/", views.student_history, name="student_history"),
]
