# Manager work: students, guardians, consent, enrollments, waiting lists.
from django.urls import path

from kruzhok.school.views import people as views

urlpatterns: list = [
    path("students/", views.students, name="students"),
    path("students/new/", views.student_create, name="student_create"),
    path("students/<int:pk>/", views.student_detail, name="student_detail"),
    path("students/<int:pk>/edit/", views.student_edit, name="student_edit"),
    path("students/<int:student_pk>/guardians/add/", views.guardian_add, name="guardian_add"),
    path("students/<int:student_pk>/consent/", views.consent_create, name="consent_create"),
    path("students/<int:student_pk>/enroll/", views.enrollment_create, name="enrollment_create"),
    path("guardians/<int:pk>/edit/", views.guardian_edit, name="guardian_edit"),
    path("guardians/lookup/", views.guardian_lookup, name="guardian_lookup"),
    path("consents/<int:pk>/revoke/", views.consent_revoke, name="consent_revoke"),
    path("enrollments/<int:pk>/status/", views.enrollment_transition, name="enrollment_transition"),
    path("enrollments/<int:pk>/transfer/", views.enrollment_transfer, name="enrollment_transfer"),
    path("waitlist/", views.waitlist, name="waitlist"),
    path("waitlist/<int:pk>/enroll/", views.waitlist_enroll, name="waitlist_enroll"),
    path("waitlist/<int:pk>/cancel/", views.waitlist_cancel, name="waitlist_cancel"),
]
