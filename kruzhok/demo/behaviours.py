"""How children really attend: the behaviour patterns behind the demo's attendance and dropouts.

Each enrollment draws a `Timeline` (when the child starts, whether and when they stop, pauses, illness
spells, how reliable they are). `settle()` turns it into the enrollment's status history once the group's
real lesson dates are known, and `draw_marks()` writes its attendance lesson by lesson. Both take their
randomness from the timeline's own seed, so an enrollment's history does not depend on the order in which
the seeder looks at groups.
"""

import datetime as dt
import random
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from kruzhok.attendance.models import AttendanceStatus
from kruzhok.demo import catalog
from kruzhok.demo.season import Season
from kruzhok.school.models import DropReason, EnrollmentStatus

DAY = dt.timedelta(days=1)
WEEK = dt.timedelta(days=7)


class Pattern(StrEnum):
    STEADY = "steady"
    FADING = "fading"
    SUDDEN_STOP = "sudden_stop"
    HOLIDAY_DIPS = "holiday_dips"
    ILLNESS = "illness"
    LATE_JOINER = "late_joiner"
    TRIAL_ONLY = "trial_only"
    PAUSED = "paused"
    # Set for a whole family, never drawn for one enrollment: see leave_together().
    SIBLINGS_LEAVE = "siblings_leave"


PATTERN_WEIGHTS = {
    Pattern.STEADY: 34,
    Pattern.FADING: 13,
    Pattern.SUDDEN_STOP: 8,
    Pattern.HOLIDAY_DIPS: 11,
    Pattern.ILLNESS: 13,
    Pattern.LATE_JOINER: 10,
    Pattern.TRIAL_ONLY: 7,
    Pattern.PAUSED: 4,
}

# Families that leave everything at once leave for reasons that concern the family, not the club.
FAMILY_REASONS = ((DropReason.MOVED, 5), (DropReason.PRICE, 3), (DropReason.SCHEDULE, 2))


@dataclass(slots=True)
class Timeline:
    pattern: Pattern
    start: dt.date
    seed: int
    trial: bool = True
    trial_lessons: int = 1
    converts: bool = True
    # When the child stops coming for good; a date after today means "not yet".
    end: dt.date | None = None
    reason: str = ""
    note: str = ""
    pause_from: dt.date | None = None
    pause_to: dt.date | None = None
    base: float = 0.9
    late_rate: float = 0.03
    spells: tuple[tuple[dt.date, dt.date], ...] = ()
    joined_note: str = ""


@dataclass(slots=True)
class Outcome:
    """The enrollment as the database will hold it."""

    status: str
    started_on: dt.date
    ended_on: dt.date | None
    reason: str
    note: str
    # (on_date, from_status, to_status, note), oldest first; the first one has from_status "".
    events: list[tuple[dt.date, str, str, str]] = field(default_factory=list)
    # Days without marks: [from, to) or [from, ∞) while still paused.
    pause: tuple[dt.date, dt.date | None] | None = None


def draw_pattern(rng: random.Random) -> Pattern:
    return rng.choices(list(PATTERN_WEIGHTS), weights=list(PATTERN_WEIGHTS.values()))[0]


def draw_timeline(rng: random.Random, season: Season, pattern: Pattern | None = None) -> Timeline:
    pattern = pattern or draw_pattern(rng)
    today = season.today
    tl = Timeline(pattern=pattern, start=_early_start(rng, season), seed=rng.getrandbits(48))
    # About half the children come back from last year and skip the trial lesson.
    tl.trial = rng.random() < 0.55
    tl.trial_lessons = 1 if rng.random() < 0.6 else 2
    tl.base = rng.uniform(0.86, 0.95)
    tl.late_rate = 0.18 if rng.random() < 0.1 else 0.03

    if pattern is Pattern.STEADY:
        tl.base = rng.uniform(0.88, 0.96)
    elif pattern is Pattern.FADING:
        tl.base = rng.uniform(0.82, 0.92)
        tl.end = tl.start + WEEK * rng.randint(6, 18)
        _set_reason(
            rng,
            tl,
            ((DropReason.LOST_INTEREST, 13), (DropReason.OTHER_ACTIVITY, 4), (DropReason.SCHOOL_LOAD, 3)),
        )
    elif pattern is Pattern.SUDDEN_STOP:
        tl.end = tl.start + WEEK * rng.randint(3, 22)
        _set_reason(
            rng,
            tl,
            ((DropReason.MOVED, 3), (DropReason.SCHEDULE, 3), (DropReason.PRICE, 3), (DropReason.TEACHER, 1)),
        )
    elif pattern is Pattern.LATE_JOINER:
        tl.start = _late_start(rng, season)
        tl.trial = True
        if rng.random() < 0.2:
            tl.end = tl.start + WEEK * rng.randint(6, 14)
            _set_reason(rng, tl, ((DropReason.LOST_INTEREST, 1),))
    elif pattern is Pattern.TRIAL_ONLY:
        tl.trial = True
        tl.converts = rng.random() < 0.4
        if not tl.converts:
            _set_reason(
                rng,
                tl,
                (
                    (DropReason.OTHER_ACTIVITY, 3),
                    (DropReason.SCHEDULE, 2),
                    (DropReason.PRICE, 2),
                    (DropReason.LOST_INTEREST, 2),
                ),
            )
    elif pattern is Pattern.PAUSED:
        tl.base = rng.uniform(0.8, 0.9)
        tl.pause_from = tl.start + WEEK * rng.randint(4, 12)
        tl.pause_to = tl.pause_from + WEEK * rng.randint(2, 6)
        if rng.random() < 0.35:
            tl.end = tl.pause_to
            _set_reason(rng, tl, ((DropReason.HEALTH, 2), (DropReason.SCHOOL_LOAD, 2), (DropReason.PRICE, 1)))

    if pattern in (Pattern.STEADY, Pattern.HOLIDAY_DIPS, Pattern.ILLNESS) and rng.random() < 0.04:
        tl.end = tl.start + WEEK * rng.randint(4, 30)
        _set_reason(
            rng,
            tl,
            (
                (DropReason.SCHOOL_LOAD, 2),
                (DropReason.OTHER_ACTIVITY, 2),
                (DropReason.HEALTH, 1),
                (DropReason.OTHER, 1),
            ),
        )

    # Children get ill: the "illness" pattern twice a year for one or two weeks, anyone else now and then.
    if pattern is Pattern.ILLNESS:
        tl.spells = tuple(_spell(rng, season, tl, rng.randint(6, 14)) for _ in range(rng.randint(1, 2)))
    elif rng.random() < 0.2:
        tl.spells = (_spell(rng, season, tl, rng.randint(4, 8)),)
    tl.start = min(tl.start, today)
    return tl


def leave_together(rng: random.Random, season: Season, timelines: list[Timeline]) -> bool:
    """Siblings whose family moves away or stops paying leave every group on the same day."""
    first = season.start + WEEK * 5
    last = season.today - DAY * 3
    if first > last:
        return False
    day = first + DAY * rng.randint(0, (last - first).days)
    reason = rng.choices([r for r, _ in FAMILY_REASONS], weights=[w for _, w in FAMILY_REASONS])[0]
    note = rng.choice(catalog.DROP_NOTES[reason])
    for tl in timelines:
        tl.pattern = Pattern.SIBLINGS_LEAVE
        tl.start = max(season.start, min(tl.start, day - WEEK * 4))
        tl.converts = True
        tl.end, tl.reason, tl.note = day, reason, note
        if tl.pause_from is not None and tl.pause_from >= day - WEEK:
            tl.pause_from = tl.pause_to = None
    return True


def settle(tl: Timeline, held: list[dt.date], today: dt.date) -> Outcome:
    """The status history of an enrollment in a group that met on `held` (sorted dates)."""
    rng = random.Random(tl.seed + 1)
    status = EnrollmentStatus.TRIAL if tl.trial else EnrollmentStatus.ACTIVE
    out = Outcome(status=status, started_on=tl.start, ended_on=None, reason="", note="")
    out.events.append((tl.start, "", status, tl.joined_note))
    last = tl.start

    if tl.trial:
        mine = held[bisect_left(held, tl.start) :]
        k = tl.trial_lessons
        if len(mine) < k or mine[k - 1] >= today:
            return out  # still on trial
        decided = mine[k - 1]
        if not tl.converts:
            end = decided + DAY * rng.randint(1, 4)
            if end >= today:
                return out
            return _drop(out, end, tl)
        out.events.append((decided, EnrollmentStatus.TRIAL, EnrollmentStatus.ACTIVE, ""))
        out.status = EnrollmentStatus.ACTIVE
        last = decided

    end = tl.end if tl.end is not None and tl.end < today else None
    if end is not None and end <= last:
        end = last + DAY if last + DAY < today else None

    if tl.pause_from is not None and last < tl.pause_from < today and (end is None or tl.pause_from < end):
        out.events.append((tl.pause_from, EnrollmentStatus.ACTIVE, EnrollmentStatus.PAUSED, ""))
        out.status = EnrollmentStatus.PAUSED
        resume = tl.pause_to
        if resume is not None and resume < today and (end is None or resume < end):
            out.events.append((resume, EnrollmentStatus.PAUSED, EnrollmentStatus.ACTIVE, ""))
            out.status = EnrollmentStatus.ACTIVE
            out.pause = (tl.pause_from, resume)
        else:
            out.pause = (tl.pause_from, None)

    if end is not None:
        return _drop(out, end, tl)
    return out


def draw_marks(
    tl: Timeline, out: Outcome, lessons: Iterable[tuple[int, dt.date]], season: Season
) -> Iterator[tuple[int, str, str]]:
    """(lesson key, status, comment) for each past lesson (sorted by date) the enrollment was open for."""
    rng = random.Random(tl.seed)
    stop = out.ended_on or season.today
    # Before a child leaves for good they usually stop coming a couple of weeks earlier.
    silent_from = None
    if tl.end is not None and tl.pattern in (Pattern.FADING, Pattern.SUDDEN_STOP, Pattern.LATE_JOINER):
        silent_from = tl.end - WEEK * 2
    elif tl.end is not None and tl.pattern is Pattern.SIBLINGS_LEAVE:
        silent_from = tl.end - WEEK
    fade_from = fade_start(tl) if tl.end is not None else None
    fade_days = max(1, ((silent_from or tl.end) - fade_from).days) if fade_from is not None else 0
    pause_from, pause_to = out.pause if out.pause else (None, None)

    for key, day in lessons:
        if day < out.started_on:
            continue
        if day >= stop:
            break
        if pause_from is not None and day >= pause_from and (pause_to is None or day < pause_to):
            continue
        if any(a <= day <= b for a, b in tl.spells):
            if rng.random() < 0.85:
                yield key, AttendanceStatus.EXCUSED, rng.choice(catalog.ILL_COMMENTS)
            else:
                yield key, AttendanceStatus.ABSENT, ""
            continue
        p = tl.base
        if tl.pattern is Pattern.FADING or (tl.pattern is Pattern.LATE_JOINER and tl.end is not None):
            # Steady until interest begins to fall, then fewer visits week by week.
            frac = min(1.0, max(0, (day - fade_from).days) / fade_days)
            p = tl.base - (tl.base - 0.2) * frac
        if silent_from is not None and day >= silent_from:
            p = 0.08
        if season.is_near_break(day):
            p *= 0.45 if tl.pattern is Pattern.HOLIDAY_DIPS else 0.93
        if rng.random() < p:
            if rng.random() < tl.late_rate:
                yield key, AttendanceStatus.LATE, rng.choice(catalog.LATE_COMMENTS)
            else:
                yield key, AttendanceStatus.PRESENT, ""
        elif rng.random() < 0.3:
            yield key, AttendanceStatus.EXCUSED, rng.choice(catalog.EXCUSED_COMMENTS)
        else:
            yield key, AttendanceStatus.ABSENT, rng.choice(catalog.ABSENT_COMMENTS)


# A fading child's interest begins to fall this many weeks before they leave (the last two of them
# mostly absent): weeks, not the whole enrollment, as the change point on the risk card shows.
FADE_WEEKS = (4, 10)


def fade_start(tl: Timeline) -> dt.date:
    """The day a leaving child's interest begins to fall, drawn from the timeline's own seed (so no other
    enrollment's story moves); never before their second week."""
    weeks = random.Random(tl.seed + 3).randint(*FADE_WEEKS)
    return max(tl.start + WEEK, tl.end - WEEK * weeks)


def _drop(out: Outcome, end: dt.date, tl: Timeline) -> Outcome:
    reason = tl.reason or DropReason.OTHER
    out.events.append((end, out.status, EnrollmentStatus.DROPPED, tl.note))
    out.status = EnrollmentStatus.DROPPED
    out.ended_on, out.reason, out.note = end, reason, tl.note
    return out


def _set_reason(rng: random.Random, tl: Timeline, choices) -> None:
    tl.reason = rng.choices([r for r, _ in choices], weights=[w for _, w in choices])[0]
    tl.note = rng.choice(catalog.DROP_NOTES[tl.reason])


def _early_start(rng: random.Random, season: Season) -> dt.date:
    # Most children are there from the first week; the rest trickle in over September.
    offset = 0 if rng.random() < 0.55 else rng.randint(1, 21)
    return min(season.start + DAY * offset, season.today)


def _late_start(rng: random.Random, season: Season) -> dt.date:
    y = season.start.year
    first = max(dt.date(y, 10, 1), season.start + WEEK * 3)
    last = min(dt.date(y + 1, 1, 31), season.today - DAY * 5)
    if first > last:
        first, last = season.start + WEEK, season.today
        if first > last:
            return season.today
    return first + DAY * rng.randint(0, (last - first).days)


def _spell(rng: random.Random, season: Season, tl: Timeline, length: int) -> tuple[dt.date, dt.date]:
    # Colds come in winter: of a few candidate days, the one deepest in Nov–Mar wins.
    last = max(tl.start, min(season.today, tl.end or season.today))
    span = (last - tl.start).days
    candidates = [tl.start + DAY * rng.randint(0, span) for _ in range(4)]
    winter = {11: 3, 12: 4, 1: 4, 2: 4, 3: 3}
    first = max(candidates, key=lambda d: (winter.get(d.month, 1), d))
    return first, first + DAY * (length - 1)


# --- The story the demo network tells on the analytics dashboards ------------------------------------------
#
# A weak branch (the second one): children come less and more of them fade away. A strong teacher (the one
# with most seats outside the weak branch, the named demo teacher aside): children come a little more often,
# nearly all of those who would have lost interest stay, and half of those whose school, timetable or
# family budget squeezed the club out (a family rearranges its week for a club the child loves); the rest
# stay weeks longer. The centre gives that teacher more groups (STRONG_GROUPS). The strong teacher acts
# while the plan is made (`OrgPlan._place` calls `keep_with_strong_teacher`), so a child who stays keeps the
# seat and no group goes over capacity; late joiners then find seats elsewhere. The rest is applied to the
# finished plan by `tell_story`, drawing from each timeline's own seed, and only ever makes a child leave
# earlier. Leaving clusters before the New Year break and in May.

WEAK_BRANCH_INDEX = 1
NAMED_TEACHER = "teacher"
WEAK_ATTENDANCE_DROP = 0.12
WEAK_EXTRA_FADE = 0.22
STRONG_ATTENDANCE_GAIN = 0.05
# Interest is what a teacher moves; a family that moves away or cannot pay leaves any teacher.
INTEREST_REASONS = (DropReason.LOST_INTEREST, DropReason.OTHER_ACTIVITY, DropReason.TEACHER)
# Of the children who would have left for each reason, the share the strong teacher keeps: interest is what
# a teacher moves most; a family that moves away, a timetable that does not fit or illness leaves anyone.
# (0.75 for interest alone made the teacher stand out on attendance only: on a 600-child demo the
# teachers' retention was indistinguishable from chance, χ² p = 0.39.)
STRONG_KEEPS = {
    **dict.fromkeys(INTEREST_REASONS, 0.9),
    DropReason.SCHOOL_LOAD: 0.5,
    DropReason.PRICE: 0.5,
    DropReason.SCHEDULE: 0.5,
}
# The centre gives its best teacher more groups than the usual three or four, so there are enough
# children to tell the teacher apart from chance on /analytics/compare/.
STRONG_GROUPS = 6
STRONG_LATER_WEEKS = (3, 8)
SEASON_SNAP = 0.45


def strong_teacher(users, groups, weak_branch: int | None) -> int | None:
    """The teacher (index into users) with most seats outside the weak branch, the named demo teacher
    aside: the biggest classes make the clearest comparison. Draws nothing from the plan's random stream."""
    named = next((i for i, u in enumerate(users) if u.username == NAMED_TEACHER), None)
    in_weak = {g.teacher for g in groups if g.branch == weak_branch}
    seats: dict[int, int] = {}
    for g in groups:
        if g.teacher >= 0 and g.teacher != named and g.teacher not in in_weak:
            seats[g.teacher] = seats.get(g.teacher, 0) + g.capacity
    return max(sorted(seats), key=lambda t: seats[t]) if seats else None


def keep_with_strong_teacher(tl: Timeline) -> bool:
    """A child placed with the strong teacher: of those who would have left, the STRONG_KEEPS share for
    their reason stays, the others stay a few weeks longer. Returns True when the child now stays. Draws
    from the timeline's own seed."""
    keeps = STRONG_KEEPS.get(tl.reason, 0.0) if tl.pattern is not Pattern.SIBLINGS_LEAVE else 0.0
    if not keeps or (tl.end is None and tl.converts):
        return False
    rng = random.Random(tl.seed + 11)
    if rng.random() < keeps:
        if tl.pattern in (Pattern.FADING, Pattern.SUDDEN_STOP):
            tl.pattern = Pattern.STEADY
        tl.converts, tl.end, tl.reason, tl.note = True, None, "", ""
        return True
    if tl.end is not None:
        tl.end += WEEK * rng.randint(*STRONG_LATER_WEEKS)
    return False


def tell_story(plan) -> dict[str, int]:
    """Adjusts the planned enrollments of an org plan in place; returns how many were changed, by kind
    (`strong_stay`: children the strong teacher kept while the plan was made)."""
    season, today = plan.season, plan.season.today
    groups = plan.groups
    branches = sorted({g.branch for g in groups})
    weak = branches[WEAK_BRANCH_INDEX] if len(branches) > 1 else None
    strong = plan.strong_teacher
    changed = {"weak_fade": 0, "strong_stay": plan.kept_by_strong_teacher, "season_snap": 0}
    # Groups kept full with a waiting list stay exactly as planned.
    waitlisted = {group for _student, group, _note in getattr(plan, "waitlist", [])}
    for e in plan.enrollments:
        g = groups[e.group]
        tl = e.timeline
        if strong is not None and g.teacher == strong:
            # Attendance only draws the marks, so even a full group may have it.
            tl.base = min(0.97, tl.base + STRONG_ATTENDANCE_GAIN)
        if g.idx in waitlisted:
            continue
        rng = random.Random(tl.seed + 7)
        if g.branch == weak:
            tl.base = max(0.3, tl.base - WEAK_ATTENDANCE_DROP)
            if e.outcome.status != EnrollmentStatus.DROPPED and tl.pattern is not Pattern.TRIAL_ONLY:
                if rng.random() < WEAK_EXTRA_FADE:
                    end = tl.start + WEEK * rng.randint(5, 14)
                    if end < today - DAY:
                        tl.pattern, tl.end = Pattern.FADING, end
                        _set_reason(rng, tl, ((DropReason.LOST_INTEREST, 3), (DropReason.TEACHER, 1)))
                        e.outcome = settle(tl, g.held, today)
                        changed["weak_fade"] += e.outcome.status == EnrollmentStatus.DROPPED
        if e.outcome.status == EnrollmentStatus.DROPPED and tl.pattern is not Pattern.SIBLINGS_LEAVE:
            snapped = _season_drop_day(rng, tl, e.outcome.ended_on, season)
            if snapped is not None and snapped < e.outcome.ended_on:
                tl.end = snapped
                e.outcome = settle(tl, g.held, today)
                changed["season_snap"] += 1
    return changed


def _season_drop_day(
    rng: random.Random, tl: Timeline, ended: dt.date | None, season: Season
) -> dt.date | None:
    """Families decide over the New Year break and before summer: a January or June drop often happens
    in the last weeks of December or in May instead."""
    if ended is None or rng.random() >= SEASON_SNAP:
        return None
    y = season.start.year
    if dt.date(y, 12, 28) <= ended <= dt.date(y + 1, 2, 10):
        day = dt.date(y, 12, 14) + DAY * rng.randint(0, 13)
    elif dt.date(y + 1, 5, 26) <= ended:
        day = dt.date(y + 1, 5, 12) + DAY * rng.randint(0, 13)
    else:
        return None
    return day if day > tl.start + WEEK else None
