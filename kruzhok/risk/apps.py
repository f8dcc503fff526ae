from django.apps import AppConfig


class RiskConfig(AppConfig):
    name = "kruzhok.risk"
    label = "risk"
    verbose_name = "Риск ухода"

    def ready(self) -> None:
        # Rescore the one enrollment an event touches within seconds; the nightly run catches up on misses.
        from kruzhok.lib import events
        from kruzhok.risk import handlers

        events.subscribe("attendance.marked", handlers.on_attendance_marked)
        events.subscribe("enrollment.changed", handlers.on_enrollment_changed)
        # Signals of other apps (homework, billing, feedback, gamification) and rescoring on their events.
        from kruzhok.risk import signals

        signals.load_all()
        signals.subscribe_rescoring()
