from kruzhok.school import urls_people, urls_structure

app_name = "school"

# Two halves so set-up (owner) and people (manager) pages can grow independently.
urlpatterns = urls_structure.urlpatterns + urls_people.urlpatterns
