# Manager work: students, guardians, consent, enrollments, waiting lists.
urlpatterns: list = []
