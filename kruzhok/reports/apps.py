from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "kruzhok.reports"
    label = "reports"
    verbose_name = "Отчёты"
