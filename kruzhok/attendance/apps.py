from django.apps import AppConfig


class AttendanceConfig(AppConfig):
    name = "kruzhok.attendance"
