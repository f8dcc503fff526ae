from django.urls import path

from kruzhok.api.main import api

urlpatterns = [path("", api.urls)]
