"""The school year the demo lives in: when groups start and end, the days the centre is closed
(Russian public holidays) and the school breaks when families travel and attendance dips."""

import datetime as dt
from dataclasses import dataclass, field

# Public holidays the centre closes for, as (name, month, first day, last day). The New Year break
# crosses the year boundary and is handled on its own.
PUBLIC_HOLIDAYS = (
    ("День народного единства", 11, 4, 4),
    ("День защитника Отечества", 2, 23, 23),
    ("Международный женский день", 3, 8, 8),
    ("Праздник Весны и Труда", 5, 1, 3),
    ("День Победы", 5, 9, 11),
    ("День России", 6, 12, 12),
)


def school_year_start(today: dt.date) -> dt.date:
    year = today.year if today >= dt.date(today.year, 9, 1) else today.year - 1
    return dt.date(year, 9, 1)


@dataclass(frozen=True)
class Season:
    today: dt.date
    start: dt.date
    # Groups end on 31 May; a demo loaded in summer keeps its groups running past today's horizon so the
    # schedule is never empty.
    end: dt.date
    horizon_end: dt.date
    holidays: tuple[tuple[str, dt.date, dt.date], ...]
    breaks: tuple[tuple[dt.date, dt.date], ...]
    _closed: frozenset[dt.date] = field(repr=False, default=frozenset())
    _near_break: frozenset[dt.date] = field(repr=False, default=frozenset())

    @classmethod
    def for_today(cls, today: dt.date, horizon_days: int) -> "Season":
        start = school_year_start(today)
        y = start.year
        end = max(dt.date(y + 1, 5, 31), today + dt.timedelta(days=horizon_days))
        horizon_end = min(end, today + dt.timedelta(days=horizon_days))
        holidays = [("Новогодние каникулы", dt.date(y, 12, 31), dt.date(y + 1, 1, 8))]
        for name, month, first, last in PUBLIC_HOLIDAYS:
            year = y if month >= 9 else y + 1
            holidays.append((name, dt.date(year, month, first), dt.date(year, month, last)))
        holidays = sorted((h for h in holidays if start <= h[1] <= end), key=lambda h: h[1])
        # Moscow school breaks, roughly: autumn, winter, spring, and the long May weekends.
        breaks = (
            (dt.date(y, 10, 25), dt.date(y, 11, 4)),
            (dt.date(y, 12, 27), dt.date(y + 1, 1, 11)),
            (dt.date(y + 1, 2, 21), dt.date(y + 1, 2, 24)),
            (dt.date(y + 1, 3, 21), dt.date(y + 1, 3, 29)),
            (dt.date(y + 1, 4, 30), dt.date(y + 1, 5, 11)),
        )
        closed = frozenset(d for _, a, b in holidays for d in _days(a, b))
        near = frozenset(d for a, b in breaks for d in _days(a - dt.timedelta(days=3), b))
        return cls(today, start, end, horizon_end, tuple(holidays), breaks, closed, near)

    def is_closed(self, day: dt.date) -> bool:
        return day in self._closed

    def is_near_break(self, day: dt.date) -> bool:
        return day in self._near_break


def _days(first: dt.date, last: dt.date):
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)
