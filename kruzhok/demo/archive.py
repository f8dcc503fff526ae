"""Last school year, as the demo centre imported it when it moved to Kruzhok last summer.

The centre brought its enrollment lists, not its registers: every group of this year had a twin last year
(same course, branch, teacher and size, ran 1 September – 31 May, now closed), each child in it with the
day they started and either the day they left and why, or «завершил» on 31 May. No lessons and no marks:
the registers stayed on paper, and planning a year of marks would double the seeding time.

Children who are back this year skip the trial lesson (`Timeline.trial` False). Each of them finished last
year in the twin of their group, and this year has a new enrollment from September: the centre enrolls
per school year, so a finished year is censored at 31 May in the retention curves (the child did not
leave) and the second year starts its own clock. The alternative, one enrollment running for two years,
would make the same child count once with a 450-day lifetime, and the group's two years one group.

The other seats were taken by children who are not here this year: some left during the year, more of
them in December–January and in April–May (when families rethink the year), the rest finished and did
not come back. The story holds for last year too: the weak branch loses more, the strong teacher keeps
most of those who would have lost interest — the same rules as this year (behaviours.py), so the effect
comes from the generator, not from a figure written in.
"""

import datetime as dt
import random

from kruzhok.demo import behaviours as bh
from kruzhok.demo import catalog
from kruzhok.demo.season import Season
from kruzhok.school.models import DropReason, EnrollmentStatus

DAY = dt.timedelta(days=1)
FOREVER = dt.date.max
# Of the children who are not back this year: the share who left after the trial lesson, and of the
# others the share who left during the year (the weak branch adds WEAK_EXTRA_FADE). Tuned so last year's
# monthly churn is of the same order as this year's planned one.
TRIAL_LEAVES = 0.12
LEAVE_SHARE = 0.55
TRIAL_REASONS = (
    (DropReason.OTHER_ACTIVITY, 3),
    (DropReason.SCHEDULE, 2),
    (DropReason.PRICE, 2),
    (DropReason.LOST_INTEREST, 2),
)
# When children leave, by month: before the New Year break and in spring families rethink the year.
LEAVE_MONTHS = {9: 0.6, 10: 1.1, 11: 1.1, 12: 2.0, 1: 1.8, 2: 0.8, 3: 0.8, 4: 1.2, 5: 1.6}
LEAVE_REASONS = (
    (DropReason.LOST_INTEREST, 8),
    (DropReason.OTHER_ACTIVITY, 3),
    (DropReason.SCHOOL_LOAD, 4),
    (DropReason.PRICE, 3),
    (DropReason.MOVED, 3),
    (DropReason.SCHEDULE, 3),
    (DropReason.HEALTH, 1),
    (DropReason.TEACHER, 1),
)
# Seats empty on 1 September, filled later in the year (mostly by February).
EMPTY_AT_START = 0.12
LAST_JOIN_MONTH = (2, 15)


def previous_season(season: Season) -> Season:
    """Last school year: 1 September – 31 May, seen from its last day (so everything in it is past)."""
    last_day = dt.date(season.start.year, 5, 31)
    return Season.for_today(last_day, 0)


def plan_archive(plan, rng: random.Random) -> None:
    """Adds last year's groups (appended to `plan.groups`, `archived`), enrollments
    (`plan.archive_enrollments`: tell_story and the lesson writer never see them), the children who
    are not back this year (new single-child families with a signed consent) and moves the returning
    children's consent before their first day last year."""
    from kruzhok.demo.planning import EnrollmentPlan, FamilyPlan, GroupPlan

    prev = previous_season(plan.season)
    plan.archive_season = prev
    branches = sorted({g.branch for g in plan.groups})
    weak = branches[bh.WEAK_BRANCH_INDEX] if len(branches) > 1 else None
    current = list(plan.groups)
    returners = _returners(plan)
    last_join = dt.date(prev.end.year, *LAST_JOIN_MONTH)
    first_day: dict[int, dt.date] = {}
    birthdays = {(st.birth_date, st.first_name) for st in plan.students}
    for g in current:
        twin = GroupPlan(
            idx=len(plan.groups),
            course=g.course,
            branch=g.branch,
            name=f"{g.name} · {prev.start.year}/{str(prev.end.year)[2:]}",
            capacity=g.capacity,
            teacher=g.teacher,
            room=g.room,
            start=prev.start,
            end=prev.end,
            archived=True,
        )
        plan.groups.append(twin)
        seats = [prev.start] * twin.capacity
        for s in returners.get(g.idx, [])[: twin.capacity]:
            start = prev.start + DAY * (0 if rng.random() < 0.7 else rng.randint(1, 14))
            seats[seats.index(prev.start)] = FOREVER
            _enroll(plan, twin, s, _finished(start, prev.end), EnrollmentPlan)
            first_day[s] = min(first_day.get(s, FOREVER), start)
        course = plan.spec.courses[g.course]
        for i, free_from in enumerate(seats):
            while free_from <= last_join:
                if free_from == prev.start:
                    late = rng.random() < EMPTY_AT_START
                    offset = (
                        rng.randint(14, 150) if late else (0 if rng.random() < 0.55 else rng.randint(1, 21))
                    )
                else:
                    offset = rng.randint(3, 21)
                start = free_from + DAY * offset
                if start > last_join:
                    break
                outcome = _outcome(
                    rng, prev, start, keeps=g.teacher == plan.strong_teacher, weak=g.branch == weak
                )
                s = _alumnus(plan, rng, course, g.branch, FamilyPlan, birthdays)
                _enroll(plan, twin, s, outcome, EnrollmentPlan)
                first_day[s] = start
                free_from = outcome.ended_on + DAY if outcome.status == EnrollmentStatus.DROPPED else FOREVER
            seats[i] = free_from
    _consents_before(plan, rng, first_day)


def _returners(plan) -> dict[int, list[int]]:
    """Children back for a second year, by this year's group: they started in September without a
    trial lesson and were old enough for the course last year."""
    out: dict[int, list[int]] = {}
    sept_end = plan.season.start + DAY * 29
    for e in sorted(plan.enrollments, key=lambda e: (e.outcome.started_on, e.student)):
        st = plan.students[e.student]
        course = plan.spec.courses[plan.groups[e.group].course]
        if e.timeline.trial or e.outcome.started_on > sept_end or not course.age_min <= st.age - 1:
            continue
        out.setdefault(e.group, []).append(e.student)
    return out


def _finished(start: dt.date, end: dt.date) -> bh.Outcome:
    out = bh.Outcome(status=EnrollmentStatus.COMPLETED, started_on=start, ended_on=end, reason="", note="")
    out.events += [
        (start, "", EnrollmentStatus.ACTIVE, ""),
        (end, EnrollmentStatus.ACTIVE, EnrollmentStatus.COMPLETED, ""),
    ]
    return out


def _outcome(rng: random.Random, prev: Season, start: dt.date, *, keeps: bool, weak: bool) -> bh.Outcome:
    """How a child who is not back this year spent last year: left after the trial, left during the
    year, or finished it; the strong teacher and the weak branch act as they do this year."""
    after_trial = rng.random() < TRIAL_LEAVES
    leaves = after_trial or rng.random() < LEAVE_SHARE
    reasons = TRIAL_REASONS if after_trial else LEAVE_REASONS
    reason = rng.choices([r for r, _ in reasons], weights=[w for _, w in reasons])[0]
    if not leaves and weak and rng.random() < bh.WEAK_EXTRA_FADE:
        leaves, reason = True, rng.choice((DropReason.LOST_INTEREST,) * 3 + (DropReason.TEACHER,))
    if leaves and keeps and rng.random() < bh.STRONG_KEEPS.get(reason, 0.0):
        leaves = after_trial = False
    if after_trial:
        end = start + DAY * rng.randint(7, 16)
    else:
        end = _leave_day(rng, prev, start) if leaves else None
    if end is None:
        return _finished(start, prev.end)
    note = rng.choice(catalog.DROP_NOTES[reason])
    out = bh.Outcome(
        status=EnrollmentStatus.DROPPED, started_on=start, ended_on=end, reason=reason, note=note
    )
    out.events += [
        (start, "", EnrollmentStatus.ACTIVE, ""),
        (end, EnrollmentStatus.ACTIVE, EnrollmentStatus.DROPPED, note),
    ]
    return out


def _leave_day(rng: random.Random, prev: Season, start: dt.date) -> dt.date | None:
    """A day in a month drawn by LEAVE_MONTHS, at least two weeks after the start; None if the child
    started too late to leave before the year ended."""
    earliest = start + DAY * 14
    months = [(y, m) for y, m in _months(prev.start, prev.end) if dt.date(y, m, 28) >= earliest]
    if not months:
        return None
    y, m = rng.choices(months, weights=[LEAVE_MONTHS[m] for _, m in months])[0]
    first = max(earliest, dt.date(y, m, 1))
    last = min(prev.end - DAY, _month_end(y, m))
    if first > last:
        return None
    return first + DAY * rng.randint(0, (last - first).days)


def _months(first: dt.date, last: dt.date):
    y, m = first.year, first.month
    while (y, m) <= (last.year, last.month):
        yield y, m
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)


def _month_end(y: int, m: int) -> dt.date:
    return (dt.date(y + 1, 1, 1) if m == 12 else dt.date(y, m + 1, 1)) - DAY


def _alumnus(plan, rng: random.Random, course, branch: int, family_plan, taken: set) -> int:
    """A child of last year who is not back: a family of their own, of the course's age last year."""
    age = rng.randint(course.age_min, course.age_max) + 1  # on 1 September this year
    surname = rng.choice(catalog.SURNAMES)
    boy = rng.random() < 0.5
    first = rng.choice(catalog.BOY_NAMES if boy else catalog.GIRL_NAMES)
    # Another child with the same first name and birthday would be a «likely duplicate» on the
    # data-quality page: a different birthday it is.
    birth = plan._birth_date(age)
    while (birth, first) in taken:
        birth = plan._birth_date(age)
    taken.add((birth, first))
    fam = len(plan.families)
    family = family_plan(branch=branch, children=[], guardians=[])
    s = plan._student(first, surname if boy else catalog.feminine_surname(surname), birth, branch, fam)
    family.children.append(s)
    plan._guardians_for(family, surname)
    plan.families.append(family)
    return s


def _enroll(plan, group, s: int, outcome: bh.Outcome, enrollment_plan) -> None:
    timeline = bh.Timeline(pattern=bh.Pattern.STEADY, start=outcome.started_on, seed=0, trial=False)
    e = enrollment_plan(s, group.idx, timeline, outcome)
    plan.archive_enrollments.append(e)
    group.enrollments.append(e)
    plan.students[s].groups.add(group.idx)


def _consents_before(plan, rng: random.Random, first_day: dict[int, dt.date]) -> None:
    """The primary guardian signs before the child's first day last year (the import kept the date)."""
    kept = []
    for guardian, s, granted in plan.consents:
        if s in first_day:
            continue
        kept.append((guardian, s, granted))
    primary = {s: family.guardians[0][0] for family in plan.families for s in family.children}
    for s, day in sorted(first_day.items()):
        signed = day - DAY * rng.randint(0, 12)
        t = dt.time(rng.randint(10, 19), rng.choice((0, 15, 30, 45)))
        kept.append((primary[s], s, dt.datetime.combine(signed, t, tzinfo=plan.tz)))
    plan.consents = kept
