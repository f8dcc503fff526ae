"""The secret link behind a guardian's calendar feed (the feed itself is rendered by family)."""

import secrets

from django.db import transaction

from kruzhok.school.models import Guardian


def guardian_calendar_token_rotate(*, guardian: Guardian) -> str:
    """Give the guardian a new feed token; the old link stops working at once."""
    with transaction.atomic():
        guardian.calendar_token = secrets.token_urlsafe(32)
        guardian.full_clean()
        guardian.save(update_fields=["calendar_token", "updated_at"])
    return guardian.calendar_token
