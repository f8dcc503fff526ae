from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "kruzhok.messaging"

    def ready(self) -> None:
        # Attendance sits below messaging: it publishes, we subscribe, it never imports us.
        from kruzhok.lib import events
        from kruzhok.messaging import handlers

        events.subscribe("attendance.marked", handlers.on_attendance_marked)
