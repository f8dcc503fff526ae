import datetime as dt
import re
from collections import Counter, defaultdict
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from kruzhok.accounts.models import Membership, Organization, Role
from kruzhok.attendance.models import AttendanceMark
from kruzhok.demo.season import school_year_start
from kruzhok.school import models as school
from kruzhok.school.models import OPEN_ENROLLMENT_STATUSES, EnrollmentStatus, LessonStatus

pytestmark = pytest.mark.django_db

SMALL = 60


def seed(**options) -> str:
    out = StringIO()
    options.setdefault("core_only", True)
    call_command("seed_demo", students=SMALL, stdout=out, **options)
    return out.getvalue()


def demo_org() -> Organization:
    return Organization.objects.get(slug="demo")


def local_day(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date()


def snapshot() -> dict:
    org = demo_org()
    return {
        "students": school.Student.objects.filter(organization=org).count(),
        "groups": school.Group.objects.filter(organization=org).count(),
        "lessons": school.Lesson.objects.filter(organization=org).count(),
        "marks": AttendanceMark.objects.filter(organization=org).count(),
        "statuses": Counter(
            school.Enrollment.objects.filter(organization=org).values_list("status", flat=True)
        ),
        "names": [s.full_name for s in school.Student.objects.filter(organization=org).order_by("pk")[:20]],
        "marks_by_status": Counter(
            AttendanceMark.objects.filter(organization=org).values_list("status", flat=True)
        ),
    }


def test_it_creates_both_organisations_and_every_named_user_with_its_role():
    output = seed()

    demo, raduga = demo_org(), Organization.objects.get(slug="raduga")
    assert demo.name == "Демо-центр «Кружок»"
    assert raduga.name == "Студия «Радуга»"
    expected = {
        "owner": (demo, Role.OWNER),
        "manager": (demo, Role.MANAGER),
        "teacher": (demo, Role.TEACHER),
        "parent": (demo, Role.PARENT),
        "student": (demo, Role.STUDENT),
        "owner2": (raduga, Role.OWNER),
    }
    for username, (org, role) in expected.items():
        user = get_user_model().objects.get(username=username)
        assert user.check_password("kruzhok-demo"), username
        assert Membership.objects.get(user=user).organization == org
        assert Membership.objects.get(user=user).role == role
    assert "Готово за" in output


def test_the_named_users_see_real_data():
    seed()
    org, today = demo_org(), timezone.localdate()
    users = {
        u.username: u
        for u in get_user_model().objects.filter(username__in=["manager", "teacher", "parent", "student"])
    }
    branches = list(school.Branch.objects.filter(organization=org).order_by("pk"))
    assert len(branches) == 3
    first = branches[0]
    assert list(first.managers.all()) == [users["manager"]]

    teaching = school.Group.objects.filter(organization=org, teacher=users["teacher"], branch=first)
    assert teaching.count() >= 3
    assert school.Lesson.objects.filter(
        organization=org, teacher=users["teacher"], starts_at__date=today, status=LessonStatus.SCHEDULED
    ).exists()

    children = school.Student.objects.filter(guardian_links__guardian__user=users["parent"])
    assert children.count() == 2
    assert users["student"].student_profile in children
    for child in children:
        assert child.enrollments.filter(status__in=OPEN_ENROLLMENT_STATUSES).exists()
        assert child.attendance_marks.exists()


def test_the_network_has_a_real_school_year():
    seed()
    org = demo_org()
    titles = set(school.Course.objects.filter(organization=org).values_list("title", flat=True))
    assert {"Робототехника LEGO", "Программирование на Python", "Шахматы", "Гитара"} <= titles
    holidays = set(school.Holiday.objects.filter(organization=org).values_list("name", flat=True))
    assert "Новогодние каникулы" in holidays
    assert school.Group.objects.filter(organization=org, start_date__month=9, start_date__day=1).count() == (
        school.Group.objects.filter(organization=org).count()
    )
    dropped = school.Enrollment.objects.filter(organization=org, status=EnrollmentStatus.DROPPED)
    assert dropped.exists()
    assert not dropped.filter(drop_reason="").exists()
    assert not dropped.filter(ended_on__isnull=True).exists()
    assert school.Guardian.objects.filter(organization=org).exclude(phone="").exists()
    assert school.WaitlistEntry.objects.filter(organization=org).values("group").distinct().count() == 2
    for entry in school.WaitlistEntry.objects.filter(organization=org).select_related("group"):
        open_now = entry.group.enrollments.filter(status__in=OPEN_ENROLLMENT_STATUSES).count()
        assert open_now == entry.group.capacity


@pytest.mark.parametrize(
    "today",
    [None, dt.date(2026, 9, 1), dt.date(2027, 1, 3), dt.date(2027, 5, 28), dt.date(2027, 7, 15)],
    ids=["today", "first-day", "new-year-holiday", "end-of-may", "summer"],
)
def test_the_data_keeps_the_invariants_the_services_enforce(today):
    seed(today=today)
    for org in Organization.objects.filter(slug__in=["demo", "raduga"]):
        assert_invariants(org, today or timezone.localdate())
    teacher = get_user_model().objects.get(username="teacher")
    assert school.Lesson.objects.filter(
        teacher=teacher, starts_at__date=today or timezone.localdate(), status=LessonStatus.SCHEDULED
    ).exists()


def assert_invariants(org, today):
    lessons = {lesson.pk: lesson for lesson in school.Lesson.objects.filter(organization=org)}
    enrollments = {
        e.pk: e for e in school.Enrollment.objects.filter(organization=org).select_related("group")
    }
    events = defaultdict(list)
    for event in school.EnrollmentEvent.objects.filter(organization=org).order_by("created_at", "pk"):
        events[event.enrollment_id].append(event)

    # Every enrollment's history is a chain of allowed transitions ending in its status.
    allowed = {
        ("", "trial"), ("", "active"), ("trial", "active"), ("trial", "dropped"), ("active", "paused"),
        ("active", "dropped"), ("paused", "active"), ("paused", "dropped"), ("active", "completed"),
    }  # fmt: skip
    paused = defaultdict(list)
    for e in enrollments.values():
        chain = events[e.pk]
        assert chain, e
        assert chain[0].from_status == "" and chain[0].on_date == e.started_on
        for before, after in zip(chain, chain[1:], strict=False):
            assert after.from_status == before.to_status
            assert after.on_date >= before.on_date
        assert {(ev.from_status, ev.to_status) for ev in chain} <= allowed
        assert chain[-1].to_status == e.status
        for ev in chain:
            if ev.to_status == "paused":
                paused[e.pk].append([ev.on_date, dt.date.max])
            elif ev.from_status == "paused":
                paused[e.pk][-1][1] = ev.on_date
        if e.status == EnrollmentStatus.DROPPED:
            assert e.ended_on == chain[-1].on_date and e.drop_reason
        elif e.status == EnrollmentStatus.COMPLETED:
            # Last year's lists (demo/archive.py): finished on the day the group closed.
            assert e.ended_on == chain[-1].on_date == e.group.end_date
        else:
            assert e.ended_on is None

    # Marks: only past, held lessons, for an enrollment of that child in that group open on that day.
    seen = set()
    marked = set()
    for mark in AttendanceMark.objects.filter(organization=org):
        lesson, e = lessons[mark.lesson_id], enrollments[mark.enrollment_id]
        day = local_day(lesson.starts_at)
        assert lesson.status != LessonStatus.CANCELLED
        assert day < today
        assert (e.student_id, e.group_id) == (mark.student_id, lesson.group_id)
        assert e.started_on <= day and (e.ended_on is None or day < e.ended_on)
        assert not any(a <= day < b for a, b in paused[e.pk])
        assert (mark.lesson_id, mark.student_id) not in seen
        seen.add((mark.lesson_id, mark.student_id))
        marked.add(mark.lesson_id)
    for lesson in lessons.values():
        assert (lesson.attendance_taken_at is not None) == (lesson.pk in marked), lesson
    if (today - school_year_start(today)).days > 14:
        assert len(seen) > 50

    # Lessons come from the slots, once per (group, slot, day), never on a holiday.
    holidays = list(school.Holiday.objects.filter(organization=org).values_list("start_date", "end_date"))
    slots = {s.pk: s for s in school.ScheduleSlot.objects.filter(organization=org)}
    keys = Counter(
        (lesson.group_id, lesson.slot_id, lesson.origin_date) for lesson in lessons.values() if lesson.slot_id
    )
    assert max(keys.values()) == 1
    for lesson in lessons.values():
        if lesson.slot_id is None:
            continue
        slot = slots[lesson.slot_id]
        assert slot.group_id == lesson.group_id
        assert lesson.origin_date.weekday() == slot.weekday
        assert not any(a <= lesson.origin_date <= b for a, b in holidays)
        if lesson.moved_from is None:
            assert timezone.localtime(lesson.starts_at).time() == slot.start_time
        else:
            assert lesson.move_reason
        if lesson.status == LessonStatus.CANCELLED:
            assert lesson.cancel_reason

    # One open enrollment per child and group; a signed consent before the first day; capacity holds
    # on every day a group met, not only today.
    opened = Counter(
        (e.student_id, e.group_id) for e in enrollments.values() if e.status in OPEN_ENROLLMENT_STATUSES
    )
    assert not opened or max(opened.values()) == 1
    consent_day = {}
    for consent in school.Consent.objects.filter(organization=org, revoked_at__isnull=True):
        day = local_day(consent.granted_at)
        consent_day[consent.student_id] = min(day, consent_day.get(consent.student_id, day))
    for e in enrollments.values():
        assert e.student_id in consent_day and consent_day[e.student_id] <= e.started_on
    links = set(
        school.StudentGuardian.objects.filter(organization=org).values_list("student_id", "guardian_id")
    )
    for consent in school.Consent.objects.filter(organization=org):
        assert local_day(consent.granted_at) < today
        assert (consent.student_id, consent.guardian_id) in links
    phones = list(school.Guardian.objects.filter(organization=org).values_list("phone", flat=True))
    assert len(phones) == len(set(phones))
    assert all(re.fullmatch(r"\+7\d{10}", phone) for phone in phones)

    # Every row passes the model's field validation (choices, lengths, emails) as if a service had saved
    # it; relations are the database's job, and checking them here would cost a query per row.
    for model in (
        school.Branch, school.Room, school.Course, school.Group, school.ScheduleSlot, school.Holiday,
        school.Student, school.Guardian, school.StudentGuardian, school.Consent, school.Enrollment,
        school.EnrollmentEvent, school.WaitlistEntry, school.Lesson, AttendanceMark,
    ):  # fmt: skip
        relations = [f.name for f in model._meta.fields if f.is_relation]
        for obj in model.objects.filter(organization=org)[:500]:
            obj.clean_fields(exclude=relations)

    groups = {g.pk: g for g in school.Group.objects.filter(organization=org)}
    by_group = defaultdict(list)
    for e in enrollments.values():
        by_group[e.group_id].append(e)
    for lesson in lessons.values():
        day = local_day(lesson.starts_at)
        # ended_on is the child's last day in the group (as enrolled_students_on() counts it).
        seated = [
            e
            for e in by_group[lesson.group_id]
            if e.started_on <= day and (e.ended_on is None or day <= e.ended_on)
        ]
        assert len(seated) <= groups[lesson.group_id].capacity
    for group in groups.values():
        assert sum(e.status in OPEN_ENROLLMENT_STATUSES for e in by_group[group.pk]) <= group.capacity


def test_the_same_seed_gives_the_same_data_and_another_seed_does_not():
    seed(seed=7)
    first = snapshot()
    seed(seed=7, reset=True)
    assert snapshot() == first
    seed(seed=8, reset=True)
    other = snapshot()
    assert other["names"] != first["names"]


def test_reset_removes_the_demo_users_and_leaves_other_organisations_alone(alpha):
    seed()
    seed(reset=True)
    assert Organization.objects.filter(slug="demo").count() == 1
    assert get_user_model().objects.filter(username="teacher").count() == 1
    assert school.Student.objects.filter(organization=alpha.org).count() == 1
    assert alpha.owner.memberships.get().organization == alpha.org


def test_if_empty_does_nothing_the_second_time():
    seed(if_empty=True)
    before = snapshot()
    output = seed(if_empty=True)
    assert "уже загружены" in output
    assert snapshot() == before


def test_it_refuses_to_load_twice_without_reset():
    seed()
    with pytest.raises(CommandError, match="--reset"):
        seed()


def test_it_refuses_to_run_with_production_settings(settings):
    settings.IS_PRODUCTION = True
    with pytest.raises(CommandError, match="продакшен"):
        seed()
    assert not Organization.objects.filter(slug="demo").exists()


def test_it_rejects_an_absurd_number_of_students():
    with pytest.raises(CommandError):
        call_command("seed_demo", students=0, stdout=StringIO())


def test_it_explains_a_taken_username():
    get_user_model().objects.create_user(username="teacher", password="x")
    with pytest.raises(CommandError, match="teacher"):
        seed()
    assert not Organization.objects.filter(slug="demo").exists()


def test_a_summer_day_still_has_a_schedule():
    seed(today=dt.date(2027, 7, 15))
    org = demo_org()
    teacher = get_user_model().objects.get(username="teacher")
    july = school.Lesson.objects.filter(
        organization=org, teacher=teacher, starts_at__date=dt.date(2027, 7, 15)
    )
    assert july.exists()
    assert school.Group.objects.filter(organization=org, start_date=dt.date(2026, 9, 1)).exists()


def test_reset_falls_back_to_the_orm_when_another_table_blocks_the_fast_path(monkeypatch):
    from django.db import IntegrityError

    from kruzhok.demo import writing

    def blocked(orgs, models):
        raise IntegrityError("FOREIGN KEY constraint failed")

    seed()
    children = school.Student.objects.filter(organization=demo_org()).count()
    monkeypatch.setattr(writing, "_raw_delete_tenant_rows", blocked)
    seed(reset=True)
    assert Organization.objects.filter(slug="demo").count() == 1
    assert school.Student.objects.filter(organization=demo_org()).count() == children > SMALL


def test_reset_clears_demo_users_left_without_an_organisation():
    seed()
    # As if the organisations had been deleted by hand: the users are there, their memberships are not.
    Membership.objects.filter(organization__slug__in=["demo", "raduga"]).delete()
    Organization.objects.filter(slug="demo").update(slug="old-demo")
    Organization.objects.filter(slug="raduga").update(slug="old-raduga")
    assert "Готово" in seed(reset=True)
    assert Membership.objects.get(user__username="teacher").organization == demo_org()


def test_the_full_demo_builds_every_area_and_their_checks_pass():
    """What `make demo` loads: the school year, then billing, gamification, messages and risk scores."""
    from kruzhok.billing.checks import ledger_problems
    from kruzhok.risk.models import RiskScore

    output = seed(core_only=False)
    assert "billing demo" in output and "risk" in output
    org = demo_org()
    assert ledger_problems(org_id=org.pk) == []
    rebuild = StringIO()
    call_command("gamification_rebuild", "--check", stdout=rebuild)
    assert "0 difference" in rebuild.getvalue()
    assert RiskScore.objects.filter(organization=org).exists()


def test_last_years_lists_are_closed_groups_with_real_dates_and_the_data_quality_checks_stay_quiet():
    """The archive (demo/archive.py): last year's twins of this year's groups, closed on 31 May, with
    enrollments that finished or left on real dates and no registers."""
    from kruzhok.dataquality import checks

    seed()
    org, today = demo_org(), timezone.localdate()
    start = school_year_start(today)
    archive = school.Group.objects.filter(organization=org, is_active=False)
    assert archive.count() == school.Group.objects.filter(organization=org, is_active=True).count()
    assert set(archive.values_list("start_date", "end_date")) == {
        (start.replace(year=start.year - 1), dt.date(start.year, 5, 31))
    }
    assert not school.Lesson.objects.filter(group__in=archive).exists()
    old = school.Enrollment.objects.filter(group__in=archive)
    assert set(old.values_list("status", flat=True)) == {EnrollmentStatus.COMPLETED, EnrollmentStatus.DROPPED}
    # Some children finished last year and are back: a new enrollment this year, without a trial.
    back = old.filter(status=EnrollmentStatus.COMPLETED).values_list("student_id", flat=True)
    again = school.Enrollment.objects.filter(organization=org, student_id__in=back, group__is_active=True)
    skipped_trial = set(
        again.exclude(events__to_status=EnrollmentStatus.TRIAL).values_list("student_id", flat=True)
    )
    assert skipped_trial and skipped_trial == set(again.values_list("student_id", flat=True))
    # No seat was ever double-booked last year either.
    for group in archive:
        rows = list(old.filter(group=group).values_list("started_on", "ended_on"))
        for day in {a for a, _b in rows}:
            assert sum(a <= day <= b for a, b in rows) <= group.capacity, group.name
    archived = {reverse("school:group_detail", args=[pk]) for pk in archive.values_list("pk", flat=True)} | {
        reverse("school:student_detail", args=[pk]) for pk in old.values_list("student_id", flat=True)
    }
    for check in (
        checks.enrollments_without_lessons,
        checks.children_without_guardian,
        checks.children_without_consent,
        checks.likely_duplicates,
    ):
        assert not {p.url for p in check(org, None, today)} & archived, check.__name__
