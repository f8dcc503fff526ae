from django.apps import AppConfig


class DataQualityConfig(AppConfig):
    name = "kruzhok.dataquality"
    label = "dataquality"
    verbose_name = "Качество данных"
