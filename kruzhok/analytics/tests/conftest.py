import datetime as dt

import pytest
import time_machine
from django.core.cache import cache

# Every analytics test runs on 20 November 2026 (Moscow), so "October" is a whole past month.
TODAY = dt.date(2026, 11, 20)
OCTOBER = dt.date(2026, 10, 1)


@pytest.fixture(autouse=True)
def _pinned_clock():
    with time_machine.travel(dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()
