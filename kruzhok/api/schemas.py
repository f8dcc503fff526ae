"""Input and output shapes of the API.

Inputs are strict about what they accept (unknown fields, NUL bytes, lone surrogates, absurd numbers
and dates are refused with 422 before any service runs), so a hostile payload can never reach the
database as something it would choke on. Outputs carry the ids plus the names a phone screen shows,
so a list needs no second request per row.
"""

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Schema
from pydantic import AfterValidator, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from kruzhok.attendance.models import AttendanceStatus
from kruzhok.school.models import DropReason, EnrollmentStatus, LessonStatus, Relation, Subject

# Ids are positive 64-bit integers; anything larger cannot be a row and would overflow the driver.
MAX_ID = 2**63 - 1
MIN_DATE = dt.date(1900, 1, 1)
MAX_DATE = dt.date(2200, 12, 31)


def _clean_text(value: str) -> str:
    # PostgreSQL refuses NUL in text, and a lone surrogate cannot be encoded as UTF-8 at all.
    if "\x00" in value:
        raise PydanticCustomError("invalid_characters", "NUL characters are not allowed")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError("invalid_characters", "invalid unicode") from None
    return value


def _sane_date(value: dt.date) -> dt.date:
    if not MIN_DATE <= value <= MAX_DATE:
        raise PydanticCustomError("dates_out_of_range", "date out of range")
    return value


def Text(max_length: int, min_length: int = 0):  # noqa: N802 — reads as a type in annotations
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
        AfterValidator(_clean_text),
    ]


Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Day = Annotated[dt.date, AfterValidator(_sane_date)]
Name = Text(200, 1)


class InSchema(Schema):
    """Base for request bodies: a misspelt field is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


# ---- references nested in outputs -------------------------------------------------------------


class UserRef(Schema):
    id: int
    full_name: str

    @staticmethod
    def resolve_full_name(obj) -> str:
        return obj.get_full_name() or obj.get_username()


class BranchRef(Schema):
    id: int
    name: str


class RoomRef(Schema):
    id: int
    name: str


class CourseRef(Schema):
    id: int
    title: str


class GroupRef(Schema):
    id: int
    name: str


class StudentRef(Schema):
    id: int
    full_name: str


# ---- auth and organisation --------------------------------------------------------------------


class TokenIn(InSchema):
    username: Text(150, 1)
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    organization: Text(60) | None = Field(None, description="slug; needed only with several organisations")


class OrganizationOut(Schema):
    id: int
    name: str
    slug: str
    timezone: str
    role: str = Field(description="the caller's role in this organisation")


class TokenOut(Schema):
    token: str
    organization: OrganizationOut


# ---- branches, rooms, courses -----------------------------------------------------------------


class BranchOut(Schema):
    id: int
    name: str
    address: str


class BranchIn(InSchema):
    name: Name
    address: Text(300) = ""


class BranchPatch(InSchema):
    name: Name = None
    address: Text(300) = None


class RoomOut(Schema):
    id: int
    name: str
    capacity: int
    branch: BranchRef


class RoomIn(InSchema):
    branch: Id
    name: Text(100, 1)
    capacity: int = Field(12, ge=1, le=1000)


class RoomPatch(InSchema):
    name: Text(100, 1) = None
    capacity: int = Field(None, ge=1, le=1000)


class CourseOut(Schema):
    id: int
    title: str
    subject: Subject
    description: str
    age_min: int
    age_max: int
    lesson_minutes: int
    lessons_per_week: int
    length_weeks: int
    price_per_month: str = Field(description='roubles, a decimal string such as "3500.00"')
    is_active: bool

    @staticmethod
    def resolve_price_per_month(obj) -> str:
        return f"{obj.price_per_month:.2f}"


Price = Annotated[Decimal, Field(ge=0, le=Decimal("99999999.99"), max_digits=10, decimal_places=2)]


class CourseIn(InSchema):
    title: Name
    subject: Subject = Subject.OTHER
    description: Text(5000) = ""
    age_min: int = Field(5, ge=0, le=99)
    age_max: int = Field(17, ge=0, le=99)
    lesson_minutes: int = Field(60, ge=5, le=600)
    lessons_per_week: int = Field(1, ge=1, le=21)
    length_weeks: int = Field(36, ge=1, le=520)
    price_per_month: Price = Decimal("0")
    is_active: bool = True


class CoursePatch(InSchema):
    title: Name = None
    subject: Subject = None
    description: Text(5000) = None
    age_min: int = Field(None, ge=0, le=99)
    age_max: int = Field(None, ge=0, le=99)
    lesson_minutes: int = Field(None, ge=5, le=600)
    lessons_per_week: int = Field(None, ge=1, le=21)
    length_weeks: int = Field(None, ge=1, le=520)
    price_per_month: Price = None
    is_active: bool = None


# ---- groups -----------------------------------------------------------------------------------


# A wall-clock time in the organisation's zone, "16:30". JSON Schema's "time" format demands an offset,
# which a weekly rule has no use for.
ClockTime = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", examples=["16:30"])]


class SlotOut(Schema):
    weekday: int = Field(description="0 = Monday … 6 = Sunday")
    start_time: ClockTime
    duration_minutes: int

    @staticmethod
    def resolve_start_time(obj) -> str:
        return obj.start_time.strftime("%H:%M")


class SlotIn(InSchema):
    weekday: int = Field(ge=0, le=6, description="0 = Monday … 6 = Sunday")
    start_time: ClockTime
    duration_minutes: int = Field(60, ge=5, le=600)


class GroupOut(Schema):
    id: int
    name: str
    course: CourseRef
    branch: BranchRef
    room: RoomRef | None
    teacher: UserRef | None
    capacity: int
    start_date: dt.date
    end_date: dt.date
    is_active: bool
    slots: list[SlotOut]

    @staticmethod
    def resolve_slots(obj) -> list:
        return list(obj.slots.all())


class GroupIn(InSchema):
    course: Id
    branch: Id
    name: Name
    capacity: int = Field(ge=1, le=1000)
    start_date: Day
    end_date: Day
    room: Id | None = None
    teacher: Id | None = Field(None, description="user id of a teacher of this organisation")
    slots: list[SlotIn] = Field(default_factory=list, max_length=21)


class GroupPatch(InSchema):
    course: Id = None
    branch: Id = None
    name: Name = None
    capacity: int = Field(None, ge=1, le=1000)
    start_date: Day = None
    end_date: Day = None
    room: Id | None = None
    teacher: Id | None = None
    is_active: bool = None
    slots: list[SlotIn] = Field(None, max_length=21, description="replaces the weekly schedule")


# ---- lessons ----------------------------------------------------------------------------------


class LessonOut(Schema):
    id: int
    group: GroupRef
    course: CourseRef
    branch: BranchRef
    room: RoomRef | None
    teacher: UserRef | None
    starts_at: dt.datetime
    ends_at: dt.datetime
    status: LessonStatus
    topic: str
    homework: str
    cancel_reason: str
    moved_from: dt.datetime | None
    attendance_taken_at: dt.datetime | None

    @staticmethod
    def resolve_course(obj):
        return obj.group.course

    @staticmethod
    def resolve_branch(obj):
        return obj.group.branch


class LessonPatch(InSchema):
    topic: Text(300) = None
    homework: Text(5000) = None


class LessonCancelIn(InSchema):
    reason: Text(300, 1)


# ---- people -----------------------------------------------------------------------------------


class StudentOut(Schema):
    id: int
    first_name: str
    last_name: str
    full_name: str
    birth_date: dt.date
    branch: BranchRef | None
    notes: str | None = Field(description="staff notes; null for parents and students")

    @staticmethod
    def resolve_notes(obj, context) -> str | None:
        request = context["request"]
        return obj.notes if getattr(request, "role", None) in ("owner", "manager", "teacher") else None


class StudentIn(InSchema):
    first_name: Text(100, 1)
    last_name: Text(100, 1)
    birth_date: Day
    branch: Id | None = None
    notes: Text(5000) = ""


class StudentPatch(InSchema):
    first_name: Text(100, 1) = None
    last_name: Text(100, 1) = None
    birth_date: Day = None
    branch: Id | None = None
    notes: Text(5000) = None


class GuardianChildOut(Schema):
    student: StudentRef
    relation: Relation
    is_primary: bool


class GuardianOut(Schema):
    id: int
    full_name: str
    phone: str
    email: str
    telegram_username: str
    children: list[GuardianChildOut]

    @staticmethod
    def resolve_children(obj) -> list:
        return list(obj.student_links.all())


class GuardianIn(InSchema):
    full_name: Name
    phone: Text(40) = ""
    email: Text(254) = ""
    telegram_username: Text(64) = ""
    student: Id = Field(description="the child this guardian is responsible for")
    relation: Relation = Relation.MOTHER
    is_primary: bool = True


class GuardianPatch(InSchema):
    full_name: Name = None
    phone: Text(40) = None
    email: Text(254) = None
    telegram_username: Text(64) = None


class GuardianLinkIn(InSchema):
    student: Id
    relation: Relation = Relation.MOTHER
    is_primary: bool = True


# ---- enrollments ------------------------------------------------------------------------------


class EnrollmentOut(Schema):
    id: int
    student: StudentRef
    group: GroupRef
    status: EnrollmentStatus
    started_on: dt.date
    ended_on: dt.date | None
    drop_reason: str
    drop_note: str
    transferred_from_id: int | None


class EnrollmentIn(InSchema):
    student: Id
    group: Id
    status: Literal["trial", "active"] = "trial"
    started_on: Day | None = None


class EnrollmentTransitionIn(InSchema):
    to_status: Literal["active", "paused", "completed", "dropped"]
    on_date: Day | None = None
    reason: DropReason | None = Field(None, description="required when to_status is dropped")
    note: Text(500) = ""


# ---- attendance -------------------------------------------------------------------------------


class LessonRef(Schema):
    id: int
    starts_at: dt.datetime
    group: GroupRef


class MarkOut(Schema):
    id: int
    lesson: LessonRef
    student: StudentRef
    status: AttendanceStatus
    comment: str
    updated_at: dt.datetime


class MarkIn(InSchema):
    lesson: Id
    student: Id
    status: AttendanceStatus
    comment: Text(300) = ""
