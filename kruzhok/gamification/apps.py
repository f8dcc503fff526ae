from django.apps import AppConfig


class GamificationConfig(AppConfig):
    name = "kruzhok.gamification"

    def ready(self) -> None:
        # Attendance never imports us: we hear about marks through the event bus.
        from kruzhok.gamification import handlers
        from kruzhok.lib import events

        events.subscribe("attendance.marked", handlers.on_attendance_marked)
