from django.apps import AppConfig


class HomeworkConfig(AppConfig):
    name = "kruzhok.homework"
    verbose_name = "Домашние задания"
