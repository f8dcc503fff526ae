# Owner set-up: dashboard, branches, rooms, courses, groups, schedule rules, holidays.
urlpatterns: list = []
