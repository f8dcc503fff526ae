"""The demo school year planned in memory: staff, rooms, groups and their timetable, lessons, families,
and every enrollment placed in a seat. Nothing here touches the database; writing.py writes the plan.

All randomness comes from the `random.Random` handed to OrgPlan, consumed in a fixed order, so a plan
depends only on the seed, the spec and `today`.
"""

import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from kruzhok.accounts.models import Role
from kruzhok.demo import behaviours as bh
from kruzhok.demo import catalog
from kruzhok.demo.archive import plan_archive
from kruzhok.demo.catalog import CourseSpec
from kruzhok.demo.season import Season
from kruzhok.school.models import Relation

TIMEZONE = "Europe/Moscow"
FOREVER = dt.date.max
DAY = dt.timedelta(days=1)

WEEKDAY_STARTS = tuple(dt.time(h, m) for h, m in ((15, 0), (15, 30), (16, 0), (16, 30), (17, 0), (17, 30), (18, 0), (18, 30), (19, 0)))  # fmt: skip
WEEKEND_STARTS = tuple(dt.time(h, m) for h, m in ((10, 0), (10, 30), (11, 0), (11, 30), (12, 0), (13, 0), (14, 0), (15, 0), (16, 0)))  # fmt: skip
TWICE_A_WEEK = ((0, 2), (1, 3), (2, 4), (0, 3), (1, 4))
CHILD_AGES = {5: 3, 6: 9, 7: 12, 8: 13, 9: 13, 10: 12, 11: 10, 12: 8, 13: 6, 14: 4, 15: 2, 16: 1}
# Teachers of these families are mostly women, as in real centres.
WOMEN_SHARE = {"tech": 0.35, "lang": 0.85, "mind": 0.5, "art": 0.85, "stage": 0.8, "music": 0.4}


@dataclass(frozen=True)
class Person:
    username: str
    first_name: str
    last_name: str


@dataclass(frozen=True)
class OrgSpec:
    slug: str
    name: str
    owner: Person
    students: int
    branches: tuple[tuple[str, str], ...]  # (short name, address)
    courses: tuple[CourseSpec, ...]
    groups: int
    managers: tuple[Person, ...] = ()  # one per branch, in order
    teacher: Person | None = None  # the named demo teacher: three groups in branch 1, a lesson today
    teacher_prefix: str = "teacher"
    named_family: bool = False  # the `parent` user with two children, one of them the `student` user
    full_groups: int = 0  # groups topped up to capacity, each with a waiting list
    story: bool = False  # a strong teacher keeps children (see behaviours.tell_story)
    archive: bool = False  # last school year's enrollment lists, imported (see archive.py)


# --- The plan held in memory -----------------------------------------------------------------------------


@dataclass(slots=True)
class UserPlan:
    username: str
    first_name: str
    last_name: str
    role: str
    pk: int | None = None


@dataclass(slots=True)
class RoomPlan:
    branch: int
    name: str
    kind: str
    capacity: int
    pk: int | None = None


@dataclass(slots=True)
class LessonPlan:
    slot: int  # index into GroupPlan.slots; -1 for a one-off lesson
    origin: dt.date | None
    day: dt.date  # the local date it takes place (differs from origin when moved)
    starts: dt.datetime
    ends: dt.datetime
    cancel_reason: str = ""
    moved_from: dt.datetime | None = None
    move_reason: str = ""
    topic: str = ""
    homework: str = ""
    # The teacher forgot the register: a past lesson with no marks.
    unmarked: bool = False


@dataclass(slots=True)
class GroupPlan:
    idx: int
    course: int
    branch: int
    name: str
    capacity: int
    teacher: int  # index into OrgPlan.users
    room: int = -1
    slots: list[tuple[int, dt.time, int]] = field(default_factory=list)
    lessons: list[LessonPlan] = field(default_factory=list)
    held: list[dt.date] = field(default_factory=list)  # days it met (or will meet), sorted
    seats: list[dt.date] = field(default_factory=list)  # per seat: the day it is free from
    enrollments: list["EnrollmentPlan"] = field(default_factory=list)
    pk: int | None = None
    slot_pks: list[int] = field(default_factory=list)
    # Last year's twin of a group (archive.py): its own dates, closed, no timetable or lessons.
    start: dt.date | None = None
    end: dt.date | None = None
    archived: bool = False


@dataclass(slots=True)
class StudentPlan:
    first_name: str
    last_name: str
    birth_date: dt.date
    age: int
    branch: int
    family: int
    user: int = -1
    groups: set[int] = field(default_factory=set)
    pk: int | None = None


@dataclass(slots=True)
class GuardianPlan:
    full_name: str
    phone: str
    email: str
    telegram: str
    user: int = -1
    pk: int | None = None


@dataclass(slots=True)
class FamilyPlan:
    branch: int
    children: list[int]
    guardians: list[tuple[int, str]]  # (guardian index, relation); the first is primary


@dataclass(slots=True)
class EnrollmentPlan:
    student: int
    group: int
    timeline: bh.Timeline
    outcome: bh.Outcome
    pk: int | None = None


class OrgPlan:
    """One organisation's school year, planned in memory before anything is written."""

    def __init__(self, spec: OrgSpec, season: Season, rng: random.Random):
        self.spec = spec
        self.season = season
        self.rng = rng
        self.tz = ZoneInfo(TIMEZONE)
        self.users: list[UserPlan] = []
        self.rooms: list[RoomPlan] = []
        self.groups: list[GroupPlan] = []
        self.students: list[StudentPlan] = []
        self.guardians: list[GuardianPlan] = []
        self.families: list[FamilyPlan] = []
        self.enrollments: list[EnrollmentPlan] = []
        self.waitlist: list[tuple[int, int, str]] = []  # (student, group, note)
        self.consents: list[tuple[int, int, dt.datetime]] = []  # (guardian, student, granted_at)
        self.branch_manager: list[int] = []  # user index per branch
        self.unplaced = 0
        self.strong_teacher: int | None = None  # index into users
        self.kept_by_strong_teacher = 0
        self.archive_enrollments: list[EnrollmentPlan] = []
        self.archive_season: Season | None = None
        self._room_busy: dict[tuple[int, int], list[tuple[int, int]]] = {}
        self._teacher_busy: dict[tuple[int, int], list[tuple[int, int]]] = {}
        self._phones: set[str] = set()

    # -- staff and structure -------------------------------------------------------------------------

    def plan(self) -> "OrgPlan":
        self._plan_staff()
        self._plan_groups()
        if self.spec.story:
            branches = sorted({g.branch for g in self.groups})
            weak = branches[bh.WEAK_BRANCH_INDEX] if len(branches) > 1 else None
            self.strong_teacher = bh.strong_teacher(self.users, self.groups, weak)
        self._plan_lessons()
        self._plan_people()
        self._plan_enrollments()
        if self.spec.full_groups:
            self._fill_and_waitlist()
        self._plan_consents()
        self.unplaced = sum(1 for st in self.students if not st.groups)
        if self.spec.archive:
            # Drawn last, so this year's plan is the same with or without the archive.
            plan_archive(self, random.Random(self.rng.getrandbits(64)))
        return self

    def _user(self, username: str, first: str, last: str, role: str) -> int:
        self.users.append(UserPlan(username, first, last, role))
        return len(self.users) - 1

    def _random_adult(self, woman: bool) -> tuple[str, str]:
        surname = self.rng.choice(catalog.SURNAMES)
        if woman:
            return self.rng.choice(catalog.WOMEN_NAMES), catalog.feminine_surname(surname)
        return self.rng.choice(catalog.MEN_NAMES)[0], surname

    def _plan_staff(self) -> None:
        spec = self.spec
        owner = self._user(spec.owner.username, spec.owner.first_name, spec.owner.last_name, Role.OWNER)
        for i in range(len(spec.branches)):
            if i < len(spec.managers):
                m = spec.managers[i]
                first, last = m.first_name, m.last_name
                if not first:
                    first, last = self._random_adult(self.rng.random() < 0.8)
                self.branch_manager.append(self._user(m.username, first, last, Role.MANAGER))
            else:
                self.branch_manager.append(owner)

    def _plan_groups(self) -> None:
        spec, rng = self.spec, self.rng
        keys = {c.key: i for i, c in enumerate(spec.courses)}
        n_branches = len(spec.branches)
        picks: list[tuple[int, int]] = []
        if spec.teacher is not None:
            # The named teacher's three groups come first; Python meets today.
            picks += [(keys["python"], 0), (keys["lego"], 0), (keys["scratch"], 0)]
        # Groups per course in proportion to its weight (largest remainder), spread over the branches.
        remaining = spec.groups - len(picks)
        total = sum(c.weight for c in spec.courses)
        shares = [remaining * c.weight / total for c in spec.courses]
        counts = [int(x) for x in shares]
        by_remainder = sorted(range(len(shares)), key=lambda i: (counts[i] - shares[i], rng.random()))
        for i in by_remainder[: remaining - sum(counts)]:
            counts[i] += 1
        queue = [ci for ci in range(len(spec.courses)) for _ in range(counts[ci])]
        rng.shuffle(queue)
        offset = 1 if spec.teacher is not None else 0
        for i, ci in enumerate(queue):
            picks.append((ci, (i + offset) % n_branches))

        per_name: Counter = Counter()
        for idx, (ci, bi) in enumerate(picks):
            course = spec.courses[ci]
            per_name[(ci, bi)] += 1
            name = f"{course.short}-{per_name[(ci, bi)]}"
            if n_branches > 1:
                name += f" ({spec.branches[bi][0]})"
            cap = min(rng.randint(*course.capacity), catalog.ROOM_KINDS[course.room_kind][1])
            self.groups.append(GroupPlan(idx=idx, course=ci, branch=bi, name=name, capacity=cap, teacher=-1))

        # Teachers specialise by family (a robotics teacher also takes Scratch), three or four groups each.
        teacher_of_first = None
        if spec.teacher is not None:
            t = spec.teacher
            teacher_of_first = self._user(t.username, t.first_name, t.last_name, Role.TEACHER)
            for g in self.groups[:3]:
                g.teacher = teacher_of_first
        # Taken branch by branch, so a teacher works in one branch or, at the seam, in two neighbouring ones.
        by_family: dict[str, list[GroupPlan]] = {}
        for g in sorted(self.groups, key=lambda g: (g.branch, g.idx)):
            if g.teacher < 0:
                by_family.setdefault(spec.courses[g.course].family, []).append(g)
        counter = 1 if spec.teacher is not None else 0
        for family in sorted(by_family):
            groups = by_family[family]
            while groups:
                size = rng.choice((3, 3, 4))
                chunk, groups = groups[:size], groups[size:]
                first, last = self._random_adult(rng.random() < WOMEN_SHARE.get(family, 0.6))
                counter += 1
                t = self._user(f"{spec.teacher_prefix}{counter}", first, last, Role.TEACHER)
                for g in chunk:
                    g.teacher = t

        if spec.story:
            self._strong_teacher_takes_more(teacher_of_first)
        # Rooms: one of each kind a branch needs, more when the timetable runs out of space.
        for bi in range(n_branches):
            kinds = sorted({spec.courses[g.course].room_kind for g in self.groups if g.branch == bi})
            for kind in kinds:
                self._add_room(bi, kind)
                if kind == "class":
                    self._add_room(bi, kind)
        for g in self.groups:
            self._schedule(g, meets_today=teacher_of_first is not None and g.idx == 0)

    def _strong_teacher_takes_more(self, named: int | None) -> None:
        """The centre gives its strongest teacher more groups (bh.STRONG_GROUPS): of the same family,
        outside the weak branch, from colleagues who keep at least two. Draws nothing from the stream."""
        branches = sorted({g.branch for g in self.groups})
        weak = branches[bh.WEAK_BRANCH_INDEX] if len(branches) > 1 else None
        strong = bh.strong_teacher(self.users, self.groups, weak)
        if strong is None:
            return
        family = {self.spec.courses[g.course].family for g in self.groups if g.teacher == strong}
        count = Counter(g.teacher for g in self.groups)
        for g in self.groups:
            if count[strong] >= bh.STRONG_GROUPS:
                break
            if (
                g.teacher in (strong, named)
                or g.branch == weak
                or self.spec.courses[g.course].family not in family
                or count[g.teacher] <= 2
            ):
                continue
            count[g.teacher] -= 1
            count[strong] += 1
            g.teacher = strong

    def _add_room(self, branch: int, kind: str) -> int:
        base, capacity = catalog.ROOM_KINDS[kind]
        n = sum(1 for r in self.rooms if r.branch == branch and r.kind == kind) + 1
        name = f"{base} {n}" if kind == "class" or n > 1 else base
        self.rooms.append(RoomPlan(branch, name, kind, capacity))
        return len(self.rooms) - 1

    def _free(self, busy: dict, owner: int, days, start: int, end: int) -> bool:
        # Ten minutes between lessons in the same room or for the same teacher.
        for d in days:
            for a, b in busy.get((owner, d), ()):
                if start < b + 10 and a < end + 10:
                    return False
        return True

    def _schedule(self, g: GroupPlan, *, meets_today: bool) -> None:
        rng = self.rng
        course = self.spec.courses[g.course]
        minutes = course.minutes
        rooms = [i for i, r in enumerate(self.rooms) if r.branch == g.branch and r.kind == course.room_kind]
        today_wd = self.season.today.weekday()
        for attempt in range(400):
            if meets_today and attempt == 0:
                days = (today_wd,) if course.per_week == 1 else (today_wd, (today_wd + 2) % 7)
                t = dt.time(16, 0) if today_wd < 5 else dt.time(11, 0)
            else:
                if course.per_week >= 2:
                    days = rng.choice(TWICE_A_WEEK)
                else:
                    days = (rng.choices(range(7), weights=(8, 8, 8, 8, 8, 7, 3))[0],)
                t = rng.choice(WEEKEND_STARTS if days[0] >= 5 else WEEKDAY_STARTS)
            if attempt and attempt % 60 == 0:
                rooms.append(self._add_room(g.branch, course.room_kind))
            start = t.hour * 60 + t.minute
            end = start + minutes
            room = rooms[-1] if attempt >= 60 else rng.choice(rooms)
            teacher_free = attempt >= 300 or self._free(self._teacher_busy, g.teacher, days, start, end)
            if teacher_free and self._free(self._room_busy, room, days, start, end):
                break
        for d in days:
            self._room_busy.setdefault((room, d), []).append((start, end))
            self._teacher_busy.setdefault((g.teacher, d), []).append((start, end))
        g.room = room
        g.slots = [(d, t, minutes) for d in days]

    # -- lessons ------------------------------------------------------------------------------------

    def _plan_lessons(self) -> None:
        rng, season = self.rng, self.season
        today = season.today
        for g in self.groups:
            for si, (weekday, t, minutes) in enumerate(g.slots):
                day = season.start + DAY * ((weekday - season.start.weekday()) % 7)
                while day <= season.horizon_end:
                    if not season.is_closed(day):
                        starts = dt.datetime.combine(day, t, tzinfo=self.tz)
                        g.lessons.append(
                            LessonPlan(si, day, day, starts, starts + dt.timedelta(minutes=minutes))
                        )
                    day += DAY * 7
            g.lessons.sort(key=lambda lesson: lesson.starts)
            taken = {lesson.day for lesson in g.lessons}
            for lesson in g.lessons:
                if lesson.day == today:
                    continue  # today's lessons stay as planned: the demo teacher marks them live
                r = rng.random()
                past = lesson.day < today
                if r < (0.015 if past else 0.005):
                    lesson.cancel_reason = rng.choice(catalog.CANCEL_REASONS)
                elif r < (0.025 if past else 0.01):
                    self._move(lesson, taken)
                elif past and (today - lesson.day).days <= 10 and r < 0.06:
                    lesson.unmarked = True

        if self.spec.teacher is not None:
            self._ensure_teacher_meets_today()
        self._teacher_sick_weeks()
        for g in self.groups:
            g.lessons.sort(key=lambda lesson: lesson.starts)
            self._plan_topics(g)
            g.held = [lesson.day for lesson in g.lessons if not lesson.cancel_reason]

    def _move(self, lesson: LessonPlan, taken: set[dt.date]) -> None:
        today = self.season.today
        next_day = lesson.day + DAY
        crosses_today = lesson.day < today <= next_day
        if next_day not in taken and not self.season.is_closed(next_day) and not crosses_today:
            shift = dt.timedelta(days=1)
        elif lesson.ends.hour < 20:
            shift = dt.timedelta(hours=1)
        else:
            shift = dt.timedelta(hours=-1)
        lesson.moved_from = lesson.starts
        lesson.move_reason = self.rng.choice(catalog.MOVE_REASONS)
        lesson.starts += shift
        lesson.ends += shift
        lesson.day = lesson.starts.date()
        taken.add(lesson.day)

    def _ensure_teacher_meets_today(self) -> None:
        today = self.season.today
        g = self.groups[0]
        if any(lesson.day == today and not lesson.cancel_reason for lesson in g.lessons):
            return
        # Today is a holiday or past the end of the year: an extra one-off lesson keeps the demo alive.
        t = dt.time(16, 0) if today.weekday() < 5 else dt.time(11, 0)
        starts = dt.datetime.combine(today, t, tzinfo=self.tz)
        minutes = self.spec.courses[g.course].minutes
        g.lessons.append(LessonPlan(-1, None, today, starts, starts + dt.timedelta(minutes=minutes)))

    def _teacher_sick_weeks(self) -> None:
        """About one teacher in ten was off sick for a week; their lessons were cancelled."""
        season = self.season
        first, last = season.start + DAY * 7, season.today - DAY * 8
        if first > last:
            return
        by_teacher: dict[int, list[GroupPlan]] = {}
        for g in self.groups:
            by_teacher.setdefault(g.teacher, []).append(g)
        for _teacher, groups in by_teacher.items():
            if self.rng.random() >= 0.1:
                continue
            sick_from = first + DAY * self.rng.randint(0, (last - first).days)
            sick_to = sick_from + DAY * 6
            for g in groups:
                for lesson in g.lessons:
                    if sick_from <= lesson.day <= sick_to and not lesson.cancel_reason:
                        lesson.cancel_reason = catalog.TEACHER_ILL
                        lesson.unmarked = False

    def _plan_topics(self, g: GroupPlan) -> None:
        rng, today = self.rng, self.season.today
        course = self.spec.courses[g.course]
        topics, k, upcoming = course.topics, 0, 0
        for lesson in g.lessons:
            if lesson.cancel_reason:
                continue
            topic = topics[k % len(topics)]
            if k >= len(topics):
                topic = f"Повторение: {topic}"
            k += 1
            if lesson.day < today:
                if rng.random() < 0.93:
                    lesson.topic = topic
                    if course.homework and rng.random() < course.homework_rate:
                        lesson.homework = rng.choice(course.homework)
            elif upcoming < 2 or lesson.day == today:
                # Teachers plan the next couple of lessons, not the whole term.
                lesson.topic = topic
                upcoming += 1

    # -- families -----------------------------------------------------------------------------------

    def _plan_people(self) -> None:
        spec, rng = self.spec, self.rng
        n_branches = len(spec.branches)
        if spec.named_family:
            self._named_family()
        ages, age_weights = list(CHILD_AGES), list(CHILD_AGES.values())
        while len(self.students) < spec.students:
            size = rng.choices((1, 2, 3), weights=(78, 19, 3))[0]
            size = min(size, spec.students - len(self.students))
            branch = rng.randrange(n_branches)
            surname = rng.choice(catalog.SURNAMES)
            fam = len(self.families)
            family = FamilyPlan(branch=branch, children=[], guardians=[])
            first_age = rng.choices(ages, weights=age_weights)[0]
            twins = size > 1 and rng.random() < 0.04
            birth = None
            for c in range(size):
                if c == 0 or not twins:
                    age = (
                        first_age
                        if c == 0
                        else _clamp(first_age + rng.choice((-5, -4, -3, -2, -2, -1, 1, 2, 2, 3, 4)), 5, 16)
                    )
                    birth = self._birth_date(age)
                boy = rng.random() < 0.5
                first = rng.choice(catalog.BOY_NAMES if boy else catalog.GIRL_NAMES)
                last = surname if boy else catalog.feminine_surname(surname)
                family.children.append(self._student(first, last, birth, branch, fam))
            self._guardians_for(family, surname)
            self.families.append(family)

    def _birth_date(self, age: int) -> dt.date:
        # `age` full years on 1 September of the school year.
        y = self.season.start.year
        return dt.date(y - age - 1, 9, 2) + DAY * self.rng.randint(0, 364)

    def _student(self, first: str, last: str, birth: dt.date, branch: int, family: int) -> int:
        sept = self.season.start
        age = sept.year - birth.year - ((sept.month, sept.day) < (birth.month, birth.day))
        self.students.append(StudentPlan(first, last, birth, age, branch, family))
        return len(self.students) - 1

    def _guardians_for(self, family: FamilyPlan, surname: str) -> None:
        rng = self.rng
        r = rng.random()
        if r < 0.8:
            primary, second = Relation.MOTHER, Relation.FATHER
        elif r < 0.95:
            primary, second = Relation.FATHER, Relation.MOTHER
        else:
            primary, second = Relation.GRANDPARENT, Relation.MOTHER
        relations = [primary] + ([second] if rng.random() < 0.35 else [])
        for i, relation in enumerate(relations):
            woman = relation != Relation.FATHER
            if relation == Relation.GRANDPARENT:
                first = rng.choice(("Галина", "Людмила", "Валентина", "Надежда", "Татьяна"))
            elif woman:
                first = rng.choice(catalog.WOMEN_NAMES)
            else:
                first = rng.choice(catalog.MEN_NAMES)[0]
            last = catalog.feminine_surname(surname) if woman else surname
            patronymic = rng.choice(catalog.MEN_NAMES)[2 if woman else 1]
            g = self._guardian(f"{last} {first} {patronymic}", first, last, primary=i == 0)
            family.guardians.append((g, relation))

    def _guardian(self, full_name: str, first: str, last: str, *, primary: bool, user: int = -1) -> int:
        rng = self.rng
        # Unique: staff find a family by its phone, and two families must not merge.
        phone = ""
        while not phone or phone in self._phones:
            phone = f"+7{rng.choice(catalog.PHONE_CODES)}{rng.randrange(10**7):07d}"
        self._phones.add(phone)
        login = f"{catalog.translit(first)[:1]}.{catalog.translit(last)}"
        email = ""
        if rng.random() < (0.75 if primary else 0.3):
            email = f"{login}{rng.choice(('', str(rng.randint(70, 99)), str(rng.randint(1, 999))))}@{rng.choice(catalog.EMAIL_DOMAINS)}"
        telegram = ""
        if rng.random() < 0.45:
            telegram = f"{catalog.translit(first)}_{catalog.translit(last)}"[:28] + (
                str(rng.randint(1, 99)) if rng.random() < 0.5 else ""
            )
        self.guardians.append(GuardianPlan(full_name, phone, email, telegram, user))
        return len(self.guardians) - 1

    def _named_family(self) -> None:
        parent = self._user("parent", "Елена", "Смирнова", Role.PARENT)
        student = self._user("student", "Артём", "Смирнов", Role.STUDENT)
        family = FamilyPlan(branch=0, children=[], guardians=[])
        artem = self._student("Артём", "Смирнов", self._birth_date(11), 0, 0)
        self.students[artem].user = student
        alisa = self._student("Алиса", "Смирнова", self._birth_date(7), 0, 0)
        family.children += [artem, alisa]
        g = self._guardian("Смирнова Елена Викторовна", "Елена", "Смирнова", primary=True, user=parent)
        self.guardians[g].email = "e.smirnova@example.com"
        self.guardians[g].telegram = "elena_smirnova"
        family.guardians.append((g, Relation.MOTHER))
        self.families.append(family)

    # -- enrollments --------------------------------------------------------------------------------

    def _plan_enrollments(self) -> None:
        spec, rng, season = self.spec, self.rng, self.season
        # What a family sees is what its branch offers: courses are chosen in proportion to their seats.
        seats: dict[tuple[int, int], int] = Counter()
        self._by_course: dict[int, list[GroupPlan]] = {}
        for g in self.groups:
            seats[(g.branch, g.course)] += g.capacity
            seats[(-1, g.course)] += g.capacity
            g.seats = [dt.date.min] * g.capacity
            self._by_course.setdefault(g.course, []).append(g)
        all_courses = set(range(len(spec.courses)))

        requests: list[tuple[int, int, bh.Timeline]] = []  # (student, course, timeline)
        if spec.named_family:
            # The named children are steady, placed first in the named teacher's groups.
            for s, gi in zip(self.families[0].children, (0, 1), strict=True):
                tl = bh.draw_timeline(rng, season, bh.Pattern.STEADY)
                tl.start, tl.trial, tl.end, tl.spells, tl.pause_from = season.start, False, None, (), None
                self._place(s, self.groups[gi].course, tl, only=self.groups[gi])
        for fi, family in enumerate(self.families):
            if spec.named_family and fi == 0:
                continue
            family_timelines: list[bh.Timeline] = []
            chosen_by_sibling: list[int] = []
            for s in family.children:
                student = self.students[s]
                wants = rng.choices((1, 2, 3), weights=(90, 9, 1))[0]
                courses: list[int] = []
                shared = [c for c in chosen_by_sibling if self._fits(c, student.age)]
                if shared and rng.random() < 0.35:
                    courses.append(shared[0])
                while len(courses) < wants:
                    where = student.branch if rng.random() < 0.9 else -1
                    pool = [c for c in sorted(all_courses) if c not in courses and self._fits(c, student.age)]
                    weights = [seats[(where, c)] for c in pool]
                    if not any(weights):
                        weights = [seats[(-1, c)] for c in pool]
                    if not any(weights):
                        break
                    courses.append(rng.choices(pool, weights)[0])
                chosen_by_sibling += courses
                for c in courses:
                    tl = bh.draw_timeline(rng, season)
                    family_timelines.append(tl)
                    requests.append((s, c, tl))
            if len(family.children) > 1 and rng.random() < 0.15:
                bh.leave_together(rng, season, family_timelines)

        # Seats are handed out in the order children arrived, so a seat freed by a dropout in October
        # can go to a late joiner in November.
        requests.sort(key=lambda r: r[2].start)  # stable: ties keep the families' order
        deferred: list[tuple[int, list[int], bh.Timeline]] = []
        for s, c, tl in requests:
            if self._place(s, c, tl):
                continue
            student = self.students[s]
            # The first choice is full: the family takes another course the child is old enough for.
            alternatives = [x for x in sorted(all_courses) if x != c and self._fits(x, student.age)]
            rng.shuffle(alternatives)
            if not any(self._place(s, x, tl) for x in alternatives):
                deferred.append((s, [c, *alternatives], tl))
        # Who found no seat in September starts later, in a seat a dropout freed (the waiting list at work).
        for s, courses, tl in deferred:
            for c in courses:
                if self._place_later(s, c, tl):
                    break

    def _fits(self, course: int, age: int) -> bool:
        c = self.spec.courses[course]
        return c.age_min <= age <= c.age_max

    def _place(self, s: int, course: int, tl: bh.Timeline, only: GroupPlan | None = None) -> bool:
        student = self.students[s]
        if only is not None:
            candidates = [only]
        else:
            groups = self._by_course.get(course, [])
            home = [g for g in groups if g.branch == student.branch]
            away = [g for g in groups if g.branch != student.branch]
            self.rng.shuffle(home)
            # Families cross town for a course their branch lacks, but only to a few branches.
            away = self.rng.sample(away, min(len(away), 6))
            family = self.families[student.family].children
            if len(family) > 1:
                siblings = {g for other in family for g in self.students[other].groups}
                home.sort(key=lambda g: g.idx not in siblings)
            candidates = home + away
        for g in candidates:
            seat = _best_seat(g.seats, tl.start)
            if seat is None or g.idx in student.groups or self._clashes(student, g):
                continue
            if g.teacher == self.strong_teacher:
                # Decided before the seat is booked: a child who stays keeps it.
                self.kept_by_strong_teacher += bh.keep_with_strong_teacher(tl)
            out = bh.settle(tl, g.held, self.season.today)
            # ended_on is the child's last day in the group: the seat is free from the day after.
            g.seats[seat] = out.ended_on + DAY if out.ended_on else FOREVER
            plan = EnrollmentPlan(s, g.idx, tl, out)
            self.enrollments.append(plan)
            g.enrollments.append(plan)
            student.groups.add(g.idx)
            return True
        return False

    def _place_later(self, s: int, course: int, tl: bh.Timeline) -> bool:
        student = self.students[s]
        latest = self.season.today - DAY * 7
        for g in self._by_course.get(course, []):
            if g.branch != student.branch or g.idx in student.groups or self._clashes(student, g):
                continue
            free_from = min(g.seats)
            if not tl.start < free_from <= latest:
                continue
            shift = free_from + DAY * self.rng.randint(1, 7) - tl.start
            tl.start += shift
            if tl.end is not None:
                tl.end += shift
            if tl.pause_from is not None and tl.pause_to is not None:
                tl.pause_from, tl.pause_to = tl.pause_from + shift, tl.pause_to + shift
            tl.trial, tl.joined_note = True, "Из листа ожидания"
            return self._place(s, course, tl, only=g)
        return False

    def _clashes(self, student: StudentPlan, g: GroupPlan) -> bool:
        for other in student.groups:
            for d1, t1, m1 in self.groups[other].slots:
                a1 = t1.hour * 60 + t1.minute
                for d2, t2, m2 in g.slots:
                    a2 = t2.hour * 60 + t2.minute
                    if d1 == d2 and a1 < a2 + m2 and a2 < a1 + m1:
                        return True
        return False

    def _fill_and_waitlist(self) -> None:
        """Two popular groups of branch 1 are full today, with children waiting for a seat."""
        rng, season = self.rng, self.season
        today = season.today
        branch_groups = [g for g in self.groups if g.branch == 0]
        branch_groups.sort(key=lambda g: (-sum(s == FOREVER for s in g.seats) / g.capacity, g.idx))
        for g in branch_groups[: self.spec.full_groups]:
            pool = [
                i
                for i, st in enumerate(self.students)
                if st.branch == 0 and self._fits(g.course, st.age) and g.idx not in st.groups
                and len(st.groups) < 3 and st.user < 0
            ]  # fmt: skip
            rng.shuffle(pool)
            for seat, free_from in enumerate(g.seats):
                if free_from > today:
                    continue
                while pool:
                    s = pool.pop()
                    if self._clashes(self.students[s], g):
                        continue
                    tl = bh.draw_timeline(rng, season, bh.Pattern.STEADY)
                    lo = max(free_from, season.start, today - DAY * 25)
                    tl.start = min(today, lo + DAY * rng.randint(0, max(0, (today - lo).days - 3)))
                    tl.trial, tl.end, tl.pause_from = True, None, None
                    out = bh.settle(tl, g.held, today)
                    g.seats[seat] = FOREVER
                    plan = EnrollmentPlan(s, g.idx, tl, out)
                    self.enrollments.append(plan)
                    g.enrollments.append(plan)
                    self.students[s].groups.add(g.idx)
                    break
            waiting = [s for s in pool if not self.students[s].groups] + [
                s for s in pool if self.students[s].groups
            ]
            for s in waiting[: rng.randint(2, 4)]:
                self.waitlist.append((s, g.idx, rng.choice(catalog.WAITLIST_NOTES)))

    def _plan_consents(self) -> None:
        """The primary guardian signs the consent before the child's first enrollment begins."""
        rng, season = self.rng, self.season
        first_start: dict[int, dt.date] = {}
        for e in self.enrollments:
            s = e.student
            first_start[s] = min(first_start.get(s, FOREVER), e.outcome.started_on)
        waiting = {s for s, _, _ in self.waitlist}
        for family in self.families:
            primary = family.guardians[0][0]
            for s in family.children:
                if s in first_start:
                    day = first_start[s] - DAY * rng.randint(0, 12)
                else:
                    if s not in waiting and rng.random() < 0.05:
                        continue  # registered, paperwork not done yet
                    span = max(0, (season.today - season.start).days)
                    day = season.start - DAY * 10 + DAY * rng.randint(0, span + 10)
                # Never later than yesterday: a consent "given" this evening would be in the future now.
                day = min(day, season.today - DAY)
                t = dt.time(rng.randint(10, 19), rng.choice((0, 15, 30, 45)))
                self.consents.append((primary, s, dt.datetime.combine(day, t, tzinfo=self.tz)))


def _best_seat(seats: list[dt.date], start: dt.date) -> int | None:
    """The seat that became free most recently on or before `start` (keeps older gaps for others)."""
    best, best_day = None, None
    for i, free_from in enumerate(seats):
        if free_from <= start and (best_day is None or free_from > best_day):
            best, best_day = i, free_from
    return best


def _clamp(value: int, lo: int, hi: int) -> int:
    return max(lo, min(hi, value))
