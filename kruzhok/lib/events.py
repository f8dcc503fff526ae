"""In-process domain events, so a higher app can react to a lower one without the lower one importing it.

A lower app publishes a fact after its transaction commits (`publish("attendance.marked", ...)`); a higher
app subscribes in its AppConfig.ready(). Handlers take ids, not objects, and must be idempotent: the event
rows (AttendanceMark, EnrollmentEvent, …) stay the source of truth, and nightly jobs catch up on anything a
handler missed. In production a handler usually just enqueues a Celery task.
"""

import logging
from collections import defaultdict
from collections.abc import Callable

from django.db import transaction

logger = logging.getLogger(__name__)

# Topics published today; subscribers must use one of these names.
TOPICS = {
    "attendance.marked",  # organization_id, lesson_id, student_id, enrollment_id, status
    "enrollment.changed",  # organization_id, enrollment_id, from_status, to_status
    # organization_id, user_id, chat_id, text, conversation_id (a linked chat wrote to the bot)
    "messaging.telegram_text",
    # organization_id, lesson_id, change ("cancelled" | "moved"), old_starts_at (ISO), reason
    "lesson.changed",
    "billing.debt_opened",  # organization_id, account_id, balance
    "billing.subscription_frozen",  # organization_id, subscription_id, student_id, days
    "billing.renewal_due",  # organization_id, subscription_id, student_id, valid_to, lessons_left
    "billing.renewal_missed",  # organization_id, subscription_id, student_id, valid_to
    # organization_id, result_id, lesson_id, student_id, enrollment_id, status, grade,
    # previous_status, previous_grade (None when first recorded)
    "homework.recorded",
    # organization_id (the owner changed the alert threshold or budget: figures banded by it must move)
    "risk.settings_changed",
}

_subscribers: dict[str, list[Callable[..., None]]] = defaultdict(list)


def subscribe(topic: str, handler: Callable[..., None]) -> None:
    if topic not in TOPICS:
        raise ValueError(f"unknown topic {topic!r}")
    if handler not in _subscribers[topic]:
        _subscribers[topic].append(handler)


def publish(topic: str, **payload) -> None:
    """Deliver after the surrounding transaction commits (at once when there is none)."""
    if topic not in TOPICS:
        raise ValueError(f"unknown topic {topic!r}")

    def deliver() -> None:
        for handler in list(_subscribers[topic]):
            try:
                handler(**payload)
            except Exception:
                # A subscriber's failure must never undo or block the fact that happened.
                logger.exception("event handler %s failed for %s", handler, topic)

    transaction.on_commit(deliver)
