from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "kruzhok.feedback"

    def ready(self) -> None:
        from kruzhok.feedback import engagement, handlers
        from kruzhok.lib import events
        from kruzhok.messaging.services import DIGEST_SECTIONS

        events.subscribe("messaging.telegram_text", handlers.on_telegram_text)
        # The weekly digest carries the teacher's word about the child (messaging never imports us).
        if engagement.digest_teacher_line not in DIGEST_SECTIONS:
            DIGEST_SECTIONS.append(engagement.digest_teacher_line)
