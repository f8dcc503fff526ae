app_name = "family"

urlpatterns: list = []
