from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "kruzhok.messaging"

    def ready(self) -> None:
        # Lower apps publish, we subscribe; they never import us.
        from kruzhok.lib import events
        from kruzhok.messaging import handlers

        events.subscribe("attendance.marked", handlers.on_attendance_marked)
        events.subscribe("lesson.changed", handlers.on_lesson_changed)
        events.subscribe("billing.renewal_due", handlers.on_renewal_due)
