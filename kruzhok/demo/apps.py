from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "kruzhok.demo"
    verbose_name = "Demo data"
