from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "kruzhok.billing"
    verbose_name = "Оплата и абонементы"

    def ready(self) -> None:
        # Attendance is a lower app: it publishes marks, billing writes lessons off in reply.
        from kruzhok.attendance import selectors as attendance_selectors
        from kruzhok.billing import handlers, makeups
        from kruzhok.lib import events

        events.subscribe("attendance.marked", handlers.on_attendance_marked)
        # Make-up visitors appear in the target lesson's journal and can be marked there.
        if makeups.guests_of_lesson not in attendance_selectors.ROSTER_GUESTS:
            attendance_selectors.ROSTER_GUESTS.append(makeups.guests_of_lesson)
