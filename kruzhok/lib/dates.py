"""An organisation's own clock: its time zone and what day it is there.

A centre in Novosibirsk starts its day four hours before Moscow; "today", a lesson's date and who
was in a group on that date are always read in the organisation's zone.
"""

import datetime as dt
import logging
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.utils import timezone

logger = logging.getLogger(__name__)


def zone_named(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError, KeyError):
        # A mistyped zone must not take pages or the schedule down; the server zone is the safest guess.
        logger.warning("unknown time zone %r, using %s", name, settings.TIME_ZONE)
        return ZoneInfo(settings.TIME_ZONE)


def org_timezone(org) -> ZoneInfo:
    return zone_named(org.timezone)


def org_today(org) -> dt.date:
    return timezone.localdate(timezone=org_timezone(org))
