from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "kruzhok.analytics"
    label = "analytics"
    verbose_name = "Аналитика"

    def ready(self) -> None:
        # Every fact the dashboards count moves the organisation's data version, so cached figures
        # are never served after attendance, an enrollment or money changed (see cache.py).
        from kruzhok.analytics import handlers
        from kruzhok.lib import events

        for topic, topic_handlers in handlers.HANDLERS.items():
            # Topics other areas are still adding are picked up once they exist.
            if topic in events.TOPICS:
                for handler in topic_handlers:
                    events.subscribe(topic, handler)
