from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "kruzhok.billing"
    verbose_name = "Оплата и абонементы"

    def ready(self) -> None:
        # Attendance is a lower app: it publishes marks, billing writes lessons off in reply.
        from kruzhok.billing import handlers
        from kruzhok.lib import events

        events.subscribe("attendance.marked", handlers.on_attendance_marked)
