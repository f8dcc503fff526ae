from django.urls import path

from kruzhok.feedback import views

app_name = "feedback"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<int:pk>/", views.detail, name="feedback_detail"),
    path("<int:pk>/status/", views.set_status, name="feedback_status"),
    path("write/", views.give, name="give"),
    path("lessons/", views.pulse_list, name="pulse_list"),
    path("lessons/<int:lesson_pk>/", views.pulse, name="pulse"),
    path("import/", views.import_reviews, name="import"),
    path("surveys/", views.survey_list, name="surveys"),
    path("surveys/<int:pk>/", views.survey, name="survey"),
    path("surveys/settings/", views.survey_settings, name="survey_settings"),
    path("engagement/", views.teacher_lessons, name="teacher_lessons"),
    path("engagement/<int:lesson_pk>/", views.teacher_pulse, name="teacher_pulse"),
]
