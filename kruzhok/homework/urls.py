from django.urls import path

from kruzhok.homework import views

app_name = "homework"

urlpatterns = [
    path("lessons/<int:lesson_pk>/", views.lesson_homework, name="lesson"),
    path("lessons/<int:lesson_pk>/students/<int:student_pk>/", views.record, name="record"),
]
