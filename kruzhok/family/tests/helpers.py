import datetime as dt

from django.utils import timezone


def in_days(days: int, hour: int = 16) -> dt.datetime:
    """An aware datetime `days` from today at `hour` o'clock Moscow time."""
    day = timezone.localdate() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, 0)))
