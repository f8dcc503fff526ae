"""Two organisations with every role: the personas every test can use.

Organisation A ("alpha") has an owner, a manager of branch A1, a teacher of one group, a parent with one
child enrolled in that group, and that child as a student user. Organisation B ("beta") mirrors a
smaller set. Tests of isolation ask as B's users for A's objects and expect 404.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone

from kruzhok.accounts.models import Membership, Organization, Role
from kruzhok.school import models as school
from kruzhok.testing import factories as f


@dataclass
class OrgWorld:
    org: Organization
    owner: object
    manager: object
    teacher: object
    parent: object
    student_user: object
    branch: school.Branch
    other_branch: school.Branch
    room: school.Room
    course: school.Course
    group: school.Group
    slot: school.ScheduleSlot
    lesson: school.Lesson
    student: school.Student
    guardian: school.Guardian
    enrollment: school.Enrollment
    extra: dict = field(default_factory=dict)

    def user(self, role: str):
        return {
            Role.OWNER: self.owner,
            Role.MANAGER: self.manager,
            Role.TEACHER: self.teacher,
            Role.PARENT: self.parent,
            Role.STUDENT: self.student_user,
        }[role]


def _member(org, role, username):
    user = f.UserFactory(username=username)
    Membership.objects.create(user=user, organization=org, role=role)
    return user


def build_org_world(prefix: str, name: str) -> OrgWorld:
    org = f.OrganizationFactory(name=name, slug=prefix)
    owner = _member(org, Role.OWNER, f"{prefix}_owner")
    manager = _member(org, Role.MANAGER, f"{prefix}_manager")
    teacher = _member(org, Role.TEACHER, f"{prefix}_teacher")
    parent = _member(org, Role.PARENT, f"{prefix}_parent")
    student_user = _member(org, Role.STUDENT, f"{prefix}_student")

    branch = f.BranchFactory(organization=org, name=f"{name}: центр")
    other_branch = f.BranchFactory(organization=org, name=f"{name}: север")
    branch.managers.add(manager)
    room = f.RoomFactory(organization=org, branch=branch, name="Кабинет 1")
    course = f.CourseFactory(organization=org, title=f"Робототехника ({prefix})")
    today = timezone.localdate()
    group = f.GroupFactory(
        organization=org,
        course=course,
        branch=branch,
        room=room,
        teacher=teacher,
        name=f"Роботы-1 ({prefix})",
        start_date=today - dt.timedelta(days=60),
        end_date=today + dt.timedelta(days=200),
    )
    slot = f.ScheduleSlotFactory(
        organization=org, group=group, weekday=today.weekday(), start_time=dt.time(16, 0)
    )
    starts = timezone.make_aware(dt.datetime.combine(today, dt.time(16, 0)))
    lesson = f.LessonFactory(
        organization=org,
        group=group,
        slot=slot,
        origin_date=today,
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=1),
        room=room,
        teacher=teacher,
        topic="Первый робот",
    )
    student = f.StudentFactory(
        organization=org, branch=branch, first_name="Маша", last_name=f"Петрова-{prefix}", user=student_user
    )
    guardian = f.GuardianFactory(organization=org, full_name=f"Петрова Ольга ({prefix})", user=parent)
    school.StudentGuardian.objects.create(
        organization=org, student=student, guardian=guardian, relation="mother"
    )
    school.Consent.objects.create(
        organization=org,
        guardian=guardian,
        student=student,
        text_version="2026-01",
        granted_at=timezone.now(),
        recorded_by=manager,
    )
    enrollment = f.EnrollmentFactory(
        organization=org, student=student, group=group, started_on=today - dt.timedelta(days=30)
    )
    return OrgWorld(
        org=org,
        owner=owner,
        manager=manager,
        teacher=teacher,
        parent=parent,
        student_user=student_user,
        branch=branch,
        other_branch=other_branch,
        room=room,
        course=course,
        group=group,
        slot=slot,
        lesson=lesson,
        student=student,
        guardian=guardian,
        enrollment=enrollment,
    )
