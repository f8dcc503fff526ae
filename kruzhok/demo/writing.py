"""Writes an OrgPlan to the database, and deletes the demo organisations again.

bulk_create for the tables whose new ids the rest of the plan needs (groups, students, enrollments,
lessons…); one prepared multi-row INSERT for the big tables nobody needs ids from (marks, events, links,
consents). Lessons and their marks go a few groups at a time so memory stays flat at 30 000 children.
"""

import datetime as dt
import time
from collections.abc import Callable, Iterable

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from kruzhok.accounts.models import Membership, Organization, Role
from kruzhok.attendance.models import AttendanceMark
from kruzhok.demo import behaviours as bh
from kruzhok.demo.homework import draw_homework
from kruzhok.demo.planning import TIMEZONE, EnrollmentPlan, GroupPlan, OrgPlan
from kruzhok.homework.models import HomeworkResult
from kruzhok.lib.tenancy import TenantOwned
from kruzhok.school import models as school
from kruzhok.school.services.people import CONSENT_TEXT_VERSION

BATCH = 2000
GROUPS_PER_CHUNK = 60


class Writer:
    def __init__(self, plan: OrgPlan, password_hash: str, log: Callable[[str], None]):
        self.p = plan
        self.password_hash = password_hash
        self.log = log
        self.began = time.monotonic()

    def write(self) -> Organization:
        p, spec = self.p, self.p.spec
        org = Organization.objects.create(name=spec.name, slug=spec.slug, timezone=TIMEZONE)
        self.org = org
        user_model = get_user_model()
        users = [
            user_model(
                username=u.username,
                first_name=u.first_name,
                last_name=u.last_name,
                email=f"{u.username}@demo.kruzhok.example",
                password=self.password_hash,
            )
            for u in p.users
        ]
        user_model.objects.bulk_create(users, batch_size=BATCH)
        for plan, obj in zip(p.users, users, strict=True):
            plan.pk = obj.pk
        Membership.objects.bulk_create(
            [Membership(user_id=u.pk, organization=org, role=u.role) for u in p.users], batch_size=BATCH
        )

        branches = _bulk(
            school.Branch,
            [school.Branch(organization=org, name=f"Филиал «{n}»", address=a) for n, a in spec.branches],
        )
        through = school.Branch.managers.through
        _bulk(
            through,
            [
                through(branch_id=b.pk, user_id=p.users[m].pk)
                for b, m in zip(branches, p.branch_manager, strict=True)
                if p.users[m].role == Role.MANAGER
            ],
        )
        self.branch_pks = [b.pk for b in branches]
        rooms = _bulk(
            school.Room,
            [
                school.Room(organization=org, branch=branches[r.branch], name=r.name, capacity=r.capacity)
                for r in p.rooms
            ],
        )
        for r, obj in zip(p.rooms, rooms, strict=True):
            r.pk = obj.pk
        courses = _bulk(
            school.Course,
            [
                school.Course(
                    organization=org,
                    title=c.title,
                    subject=c.subject,
                    description=c.description,
                    age_min=c.age_min,
                    age_max=c.age_max,
                    lesson_minutes=c.minutes,
                    lessons_per_week=c.per_week,
                    length_weeks=36,
                    price_per_month=c.price,
                )
                for c in spec.courses
            ],
        )
        groups = _bulk(
            school.Group,
            [
                school.Group(
                    organization=org,
                    course=courses[g.course],
                    branch=branches[g.branch],
                    room=rooms[g.room],
                    teacher_id=p.users[g.teacher].pk,
                    name=g.name,
                    capacity=g.capacity,
                    start_date=g.start or p.season.start,
                    end_date=g.end or p.season.end,
                    is_active=not g.archived,
                )
                for g in p.groups
            ],
        )
        for g, obj in zip(p.groups, groups, strict=True):
            g.pk = obj.pk
        slots = _bulk(
            school.ScheduleSlot,
            [
                school.ScheduleSlot(
                    organization=org, group_id=g.pk, weekday=d, start_time=t, duration_minutes=m
                )
                for g in p.groups
                for d, t, m in g.slots
            ],
        )
        it = iter(slots)
        for g in p.groups:
            g.slot_pks = [next(it).pk for _ in g.slots]
        _bulk(
            school.Holiday,
            [
                school.Holiday(organization=org, name=n, start_date=a, end_date=b)
                for n, a, b in p.season.holidays
            ],
        )
        self._step("структура")
        self._people()
        self._step("семьи и согласия")
        self._enrollments()
        self._step("зачисления и история")
        self._lessons_and_marks()
        self._step("занятия и отметки")
        return org

    def _step(self, what: str) -> None:
        now = time.monotonic()
        self.log(f"  {self.p.spec.slug}: {what} — {now - self.began:.1f} с")
        self.began = now

    def _people(self) -> None:
        p, org = self.p, self.org
        guardians = _bulk(
            school.Guardian,
            [
                school.Guardian(
                    organization=org,
                    full_name=g.full_name,
                    phone=g.phone,
                    email=g.email,
                    telegram_username=g.telegram,
                    user_id=p.users[g.user].pk if g.user >= 0 else None,
                )
                for g in p.guardians
            ],
        )
        for g, obj in zip(p.guardians, guardians, strict=True):
            g.pk = obj.pk
        students = _bulk(
            school.Student,
            [
                school.Student(
                    organization=org,
                    branch_id=self.branch_pks[s.branch],
                    first_name=s.first_name,
                    last_name=s.last_name,
                    birth_date=s.birth_date,
                    user_id=p.users[s.user].pk if s.user >= 0 else None,
                )
                for s in p.students
            ],
        )
        for s, obj in zip(p.students, students, strict=True):
            s.pk = obj.pk
        _insert(
            school.StudentGuardian,
            ("organization_id", "student_id", "guardian_id", "relation", "is_primary"),
            [
                (org.pk, p.students[s].pk, p.guardians[g].pk, relation, i == 0)
                for family in p.families
                for s in family.children
                for i, (g, relation) in enumerate(family.guardians)
            ],
        )
        manager = [p.users[m].pk for m in p.branch_manager]
        _insert(
            school.Consent,
            ("organization_id", "guardian_id", "student_id", "text_version", "granted_at", "recorded_by_id"),
            [
                (
                    org.pk,
                    p.guardians[g].pk,
                    p.students[s].pk,
                    CONSENT_TEXT_VERSION,
                    granted_at,
                    manager[p.students[s].branch],
                )
                for g, s, granted_at in p.consents
            ],
        )

    def _enrollments(self) -> None:
        p, org = self.p, self.org
        objs = _bulk(
            school.Enrollment,
            [
                school.Enrollment(
                    organization=org,
                    student_id=p.students[e.student].pk,
                    group_id=p.groups[e.group].pk,
                    status=e.outcome.status,
                    started_on=e.outcome.started_on,
                    ended_on=e.outcome.ended_on,
                    drop_reason=e.outcome.reason,
                    drop_note=e.outcome.note,
                )
                for e in [*p.enrollments, *p.archive_enrollments]
            ],
        )
        for e, obj in zip([*p.enrollments, *p.archive_enrollments], objs, strict=True):
            e.pk = obj.pk
        actor = [p.users[m].pk for m in p.branch_manager]
        # Events go in oldest first per enrollment, so (created_at, id) order is the lifecycle order.
        _insert(
            school.EnrollmentEvent,
            ("organization_id", "enrollment_id", "from_status", "to_status", "on_date", "actor_id", "note"),
            [
                (org.pk, e.pk, frm, to, on_date, actor[p.groups[e.group].branch], note)
                for e in [*p.enrollments, *p.archive_enrollments]
                for on_date, frm, to, note in e.outcome.events
            ],
        )
        _bulk(
            school.WaitlistEntry,
            [
                school.WaitlistEntry(
                    organization=org, group_id=p.groups[g].pk, student_id=p.students[s].pk, note=n
                )
                for s, g, n in p.waitlist
            ],
        )

    def _lessons_and_marks(self) -> None:
        p, org, season = self.p, self.org, self.p.season
        today = season.today
        for chunk_start in range(0, len(p.groups), GROUPS_PER_CHUNK):
            chunk = p.groups[chunk_start : chunk_start + GROUPS_PER_CHUNK]
            lessons: list[school.Lesson] = []
            pending: list[tuple[school.Lesson, list[tuple[EnrollmentPlan, str, str]]]] = []
            homework_pending: list[tuple[GroupPlan, int, EnrollmentPlan, str, bool, int | None]] = []
            lesson_objs: dict[tuple[int, int], school.Lesson] = {}
            for g in chunk:
                teacher = p.users[g.teacher].pk
                room = p.rooms[g.room].pk
                past = [
                    (i, lesson.day)
                    for i, lesson in enumerate(g.lessons)
                    if lesson.day < today and not lesson.cancel_reason and not lesson.unmarked
                ]
                marks: dict[int, list[tuple[EnrollmentPlan, str, str]]] = {}
                with_homework = {i for i, _day in past if g.lessons[i].homework}
                for e in g.enrollments:
                    drawn = list(bh.draw_marks(e.timeline, e.outcome, past, season))
                    for i, status, comment in drawn:
                        marks.setdefault(i, []).append((e, status, comment))
                    days = dict(past)
                    for i, status, is_late, grade in draw_homework(
                        e.timeline, [(i, status, days[i]) for i, status, _c in drawn], with_homework
                    ):
                        homework_pending.append((g, i, e, status, is_late, grade))
                for i, lesson in enumerate(g.lessons):
                    marked = marks.get(i)
                    obj = school.Lesson(
                        organization=org,
                        group_id=g.pk,
                        slot_id=g.slot_pks[lesson.slot] if lesson.slot >= 0 else None,
                        origin_date=lesson.origin,
                        starts_at=lesson.starts,
                        ends_at=lesson.ends,
                        room_id=room,
                        teacher_id=teacher,
                        status=school.LessonStatus.CANCELLED
                        if lesson.cancel_reason
                        else school.LessonStatus.SCHEDULED,
                        topic=lesson.topic,
                        homework=lesson.homework,
                        cancel_reason=lesson.cancel_reason,
                        moved_from=lesson.moved_from,
                        move_reason=lesson.move_reason,
                        attendance_taken_at=lesson.ends + dt.timedelta(minutes=5 + (i * 7) % 50)
                        if marked
                        else None,
                    )
                    lessons.append(obj)
                    lesson_objs[(id(g), i)] = obj
                    if marked:
                        pending.append((obj, marked))
                g.lessons = []  # the plan is written; let it go
            _bulk(school.Lesson, lessons)
            _insert(
                AttendanceMark,
                (
                    "organization_id",
                    "lesson_id",
                    "student_id",
                    "enrollment_id",
                    "status",
                    "comment",
                    "marked_by_id",
                ),
                [
                    (org.pk, obj.pk, p.students[e.student].pk, e.pk, status, comment, obj.teacher_id)
                    for obj, marked in pending
                    for e, status, comment in marked
                ],
            )
            _insert(
                HomeworkResult,
                (
                    "organization_id",
                    "lesson_id",
                    "student_id",
                    "enrollment_id",
                    "status",
                    "is_late",
                    "grade",
                    "comment",
                    "recorded_by_id",
                ),
                [
                    (
                        org.pk,
                        lesson.pk,
                        p.students[e.student].pk,
                        e.pk,
                        status,
                        is_late,
                        grade,
                        "",
                        lesson.teacher_id,
                    )
                    for lesson, e, status, is_late, grade in (
                        (lesson_objs[(id(g), i)], e, status, is_late, grade)
                        for g, i, e, status, is_late, grade in homework_pending
                    )
                ],
            )


def _bulk(model, objs: Iterable) -> list:
    """bulk_create for the tables whose new ids the rest of the plan needs."""
    manager = model.all_objects if issubclass(model, TenantOwned) else model.objects
    return manager.bulk_create(list(objs), batch_size=BATCH)


def _insert(model, fields: tuple[str, ...], rows: list[tuple]) -> None:
    """Writes rows nobody needs ids from (marks, events, links, consents) the fastest way each engine has.

    On SQLite bulk_create spends ~130 µs a row building 99-row statements (its 999-parameter limit), while
    executemany of one prepared statement takes ~25 µs. On PostgreSQL Django's client-side binding makes
    executemany parse every row anew, so COPY it is. Values are adapted as the ORM would adapt them."""
    if not rows:
        return
    opts = model._meta
    columns = [opts.get_field(name.removesuffix("_id")) for name in fields]
    quote = connection.ops.quote_name
    names = ", ".join([*(quote(f.column) for f in columns), "created_at", "updated_at"])
    now = timezone.now()
    with connection.cursor() as cursor:
        raw = cursor.cursor
        if connection.vendor == "postgresql" and hasattr(raw, "copy"):
            with raw.copy(f"COPY {quote(opts.db_table)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row((*row, now, now))
            return
        stamp = connection.ops.adapt_datetimefield_value(now)
        converters = [(i, a) for i, a in enumerate(map(_adapter, columns)) if a is not None]
        sql = (
            f"INSERT INTO {quote(opts.db_table)} ({names}) VALUES ({', '.join(['%s'] * (len(columns) + 2))})"  # noqa: S608 — names from the ORM
        )
        for start in range(0, len(rows), BATCH * 10):
            batch = []
            for row in rows[start : start + BATCH * 10]:
                if converters:
                    row = list(row)
                    for i, convert in converters:
                        row[i] = convert(row[i])
                batch.append((*row, stamp, stamp))
            cursor.executemany(sql, batch)


def _adapter(field: models.Field) -> Callable | None:
    ops = connection.ops
    if isinstance(field, models.DateTimeField):
        return ops.adapt_datetimefield_value
    if isinstance(field, models.DateField):
        return ops.adapt_datefield_value
    if isinstance(field, models.BooleanField) and connection.vendor == "sqlite":
        return int
    return None


def orgs_delete(slugs: tuple[str, ...], *, stray_usernames: str = "") -> int:
    """Deletes the organisations with everything in them, and the users who belonged only to them (plus
    membership-less users matching the `stray_usernames` regex: leftovers of an organisation deleted by hand).

    Tenant tables go first with one DELETE each, because the ORM's cascade would load every lesson and mark.
    If some table outside the tenant models still points at a deleted row, the foreign-key check fails and
    the ORM deletes the same tables instead, slower but aware of every on_delete rule. (Organization's own
    cascade cannot do it: Django refuses to follow it through the PROTECT keys.)"""
    orgs = list(Organization.objects.filter(slug__in=slugs).values_list("pk", flat=True))
    users = get_user_model().objects
    with transaction.atomic():
        user_ids = set(Membership.objects.filter(organization_id__in=orgs).values_list("user_id", flat=True))
        keep = set(
            Membership.objects.filter(user_id__in=user_ids)
            .exclude(organization_id__in=orgs)
            .values_list("user_id", flat=True)
        )
        if orgs:
            # Only tables that exist: a model whose migration is not written yet has none to empty.
            existing = set(connection.introspection.table_names())
            tenant_models = _delete_order(
                [m for m in apps.get_models() if issubclass(m, TenantOwned) and m._meta.db_table in existing]
            )
            try:
                with transaction.atomic():
                    _raw_delete_tenant_rows(orgs, tenant_models)
                    connection.check_constraints()
            except IntegrityError:
                # Rolled back to the savepoint. The same order through the ORM: children first, so the
                # PROTECT keys (group → course, enrollment → group) never see a live child.
                for model in tenant_models:
                    model.all_objects.filter(organization_id__in=orgs).delete()
            Organization.objects.filter(pk__in=orgs).delete()
        users.filter(pk__in=user_ids - keep).delete()
        if stray_usernames:
            users.filter(username__regex=stray_usernames, memberships__isnull=True).delete()
    return len(orgs)


def _raw_delete_tenant_rows(orgs: list[int], tenant_models: list[type[models.Model]]) -> None:
    marks = ",".join(["%s"] * len(orgs))
    with connection.cursor() as cursor:
        for model in tenant_models:
            for f in model._meta.local_many_to_many:
                cursor.execute(
                    f"DELETE FROM {f.remote_field.through._meta.db_table} WHERE {f.m2m_column_name()} IN "  # noqa: S608 — names from the ORM
                    f"(SELECT id FROM {model._meta.db_table} WHERE organization_id IN ({marks}))",
                    orgs,
                )
        # Children before parents, so foreign keys hold at every step on every engine.
        for model in tenant_models:
            cursor.execute(
                f"DELETE FROM {model._meta.db_table} WHERE organization_id IN ({marks})",  # noqa: S608
                orgs,
            )


def _delete_order(tenant_models: list[type[models.Model]]) -> list[type[models.Model]]:
    """Tenant models ordered so each comes before every tenant model it points to."""
    pending = list(tenant_models)
    ordered: list[type[models.Model]] = []
    while pending:
        for model in pending:
            referenced_by_pending = any(
                other is not model
                and any(
                    f.is_relation and f.many_to_one and f.related_model is model for f in other._meta.fields
                )
                for other in pending
            )
            if not referenced_by_pending:
                ordered.append(model)
                pending.remove(model)
                break
        else:  # a cycle: deferred constraints on both engines settle it at commit
            ordered += pending
            break
    return ordered
