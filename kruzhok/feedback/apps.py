from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "kruzhok.feedback"

    def ready(self) -> None:
        from kruzhok.feedback import handlers
        from kruzhok.lib import events

        events.subscribe("messaging.telegram_text", handlers.on_telegram_text)
