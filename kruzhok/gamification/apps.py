from django.apps import AppConfig


class GamificationConfig(AppConfig):
    name = "kruzhok.gamification"

    def ready(self) -> None:
        # Attendance never imports us: we hear about marks through the event bus.
        from kruzhok.gamification import handlers
        from kruzhok.lib import events

        events.subscribe("attendance.marked", handlers.on_attendance_marked)
        events.subscribe("homework.recorded", handlers.on_homework_recorded)

        # The parents' weekly digest gets a line about points, badges and quests.
        from kruzhok.gamification.digest import digest_achievements_lines
        from kruzhok.messaging.services import DIGEST_SECTIONS

        if digest_achievements_lines not in DIGEST_SECTIONS:
            DIGEST_SECTIONS.append(digest_achievements_lines)
