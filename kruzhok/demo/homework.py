"""Homework results for the demo year, drawn from the same timelines as attendance.

Children who come regularly hand in most homework with good grades; a fading child hands in less, later
and worse from the day their interest begins to fall (`fade_start`), so the risk engine's homework
signals tell the same story as attendance."""

import datetime as dt
import random
from collections.abc import Iterable, Iterator

from kruzhok.attendance.models import AttendanceStatus
from kruzhok.demo.behaviours import Pattern, Timeline, fade_start
from kruzhok.homework.models import HomeworkStatus

CAME = {AttendanceStatus.PRESENT, AttendanceStatus.LATE}
FADES = {Pattern.FADING, Pattern.LATE_JOINER, Pattern.SUDDEN_STOP, Pattern.SIBLINGS_LEAVE}


def draw_homework(
    tl: Timeline, marks: Iterable[tuple[int, str, dt.date]], with_homework: set[int]
) -> Iterator[tuple[int, str, bool, int | None]]:
    """(lesson key, status, is_late, grade) for each marked lesson that set homework."""
    rng = random.Random(tl.seed * 7919 + 17)
    fading = tl.pattern in FADES and tl.end is not None
    fade_from = fade_start(tl) if fading else tl.start
    span = max(1, (tl.end - fade_from).days) if fading else 1
    for key, status, day in marks:
        if key not in with_homework or status == AttendanceStatus.EXCUSED:
            continue
        fade = min(1.0, max(0.0, (day - fade_from).days / span)) if fading else 0.0
        came = status in CAME
        p_submit = (0.45 + 0.5 * tl.base) * (1.0 - 0.6 * fade**1.3) * (1.0 if came else 0.35)
        if rng.random() >= p_submit:
            yield key, HomeworkStatus.MISSED, False, None
            continue
        is_late = rng.random() < 0.08 + 0.25 * fade
        grade = None
        if rng.random() < 0.75:  # not every piece of work gets a mark
            grade = max(2, min(5, round(rng.gauss(4.4 - 1.6 * fade, 0.7))))
        yield key, HomeworkStatus.SUBMITTED, is_late, grade
