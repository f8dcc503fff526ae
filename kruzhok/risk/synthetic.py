"""A small, seeded history of a centre for tests and demos: children who stay attend steadily; children
who leave fade for a few weeks first (attendance falls, absences run), then drop out."""

import datetime as dt
import random
from dataclasses import dataclass, field

from django.utils import timezone

from kruzhok.attendance.models import AttendanceMark
from kruzhok.school import models as school


@dataclass
class History:
    groups: list = field(default_factory=list)
    enrollments: list = field(default_factory=list)
    dropped: dict = field(default_factory=dict)  # enrollment id -> (fade start, drop day)


def build_history(
    *,
    org,
    teacher=None,
    branch=None,
    course=None,
    today: dt.date | None = None,
    students: int = 60,
    per_group: int = 10,
    weeks: int = 30,
    drop_share: float = 0.35,
    seed: int = 0,
    prefix: str = "Синт",
) -> History:
    rng = random.Random(seed)
    today = today or timezone.localdate()
    start = today - dt.timedelta(weeks=weeks)
    branch = branch or school.Branch.objects.create(organization=org, name=f"{prefix}: филиал")
    course = course or school.Course.objects.create(
        organization=org, title=f"{prefix}: курс", age_min=7, age_max=12
    )
    history = History()
    n_groups = max(1, students // per_group)
    lessons_by_group = {}
    for g in range(n_groups):
        group = school.Group.objects.create(
            organization=org,
            course=course,
            branch=branch,
            teacher=teacher,
            name=f"{prefix}-{g + 1}",
            capacity=per_group + 5,
            start_date=start,
            end_date=today + dt.timedelta(days=120),
        )
        history.groups.append(group)
        lessons = []
        for w in range(weeks + 1):
            day = start + dt.timedelta(weeks=w, days=g % 5)
            if day > today:
                break
            begins = timezone.make_aware(dt.datetime.combine(day, dt.time(16, 0)))
            lessons.append(
                school.Lesson(
                    organization=org,
                    group=group,
                    starts_at=begins,
                    ends_at=begins + dt.timedelta(hours=1),
                    teacher=teacher,
                )
            )
        lessons_by_group[group.pk] = school.Lesson.objects.bulk_create(lessons)

    marks = []
    for i in range(students):
        group = history.groups[i % n_groups]
        student = school.Student.objects.create(
            organization=org,
            branch=branch,
            first_name=rng.choice(["Аня", "Петя", "Соня", "Дима", "Лиза", "Егор"]),
            last_name=f"{prefix}ов-{i + 1}",
            birth_date=today - dt.timedelta(days=int(365.25 * rng.uniform(7.5, 11.5))),
        )
        joined = start + dt.timedelta(days=rng.randrange(0, weeks * 7 // 2))
        drops = rng.random() < drop_share
        drop_day = fade_start = None
        if drops:
            drop_day = joined + dt.timedelta(days=rng.randrange(35, max(36, (today - joined).days + 20)))
            fade_start = drop_day - dt.timedelta(weeks=rng.randrange(3, 6))
        enrollment = school.Enrollment.objects.create(
            organization=org,
            student=student,
            group=group,
            started_on=joined,
            status=school.EnrollmentStatus.DROPPED
            if drops and drop_day <= today
            else school.EnrollmentStatus.ACTIVE,
            ended_on=drop_day if drops and drop_day <= today else None,
            drop_reason=school.DropReason.LOST_INTEREST if drops and drop_day <= today else "",
        )
        history.enrollments.append(enrollment)
        if drops:
            history.dropped[enrollment.pk] = (fade_start, drop_day)
        base = rng.uniform(0.8, 0.97)
        for lesson in lessons_by_group[group.pk]:
            day = timezone.localtime(lesson.starts_at).date()
            if day < joined or (enrollment.ended_on and day > enrollment.ended_on):
                continue
            p = base
            if drops and day >= fade_start:
                p = 0.25
            roll = rng.random()
            if roll < p:
                status = "late" if rng.random() < 0.05 else "present"
            else:
                status = "excused" if rng.random() < 0.2 else "absent"
            marks.append(
                AttendanceMark(
                    organization=org, lesson=lesson, student=student, enrollment=enrollment, status=status
                )
            )
    AttendanceMark.objects.bulk_create(marks, batch_size=2000)
    return history
