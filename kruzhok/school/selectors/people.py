"""Reads of children, guardians, enrollments and waiting lists, scoped to the caller's role.

Scope: the owner sees the whole organisation; a manager sees children of their branches plus children
enrolled in (or waiting for) their branches' groups; a teacher sees the children of their own groups.

Search is case-insensitive for Cyrillic on SQLite too: SQLite's LIKE folds only ASCII, so each word is
matched in its lower, upper and capitalised forms (PostgreSQL's UPPER() LIKE folds them anyway).
"""

import datetime as dt

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404

from kruzhok.accounts.models import Membership, Role
from kruzhok.school.models import (
    OPEN_ENROLLMENT_STATUSES,
    Branch,
    Consent,
    Enrollment,
    EnrollmentEvent,
    Group,
    Guardian,
    Student,
    StudentGuardian,
    WaitlistEntry,
    WaitlistStatus,
)
from kruzhok.school.services.people import org_today, phone_search_digits

QUERY_MAX = 100


def _case_variants(word: str) -> set[str]:
    return {word, word.lower(), word.upper(), word.capitalize()}


def _text_q(fields: tuple[str, ...], word: str) -> Q:
    q = Q()
    for variant in _case_variants(word):
        for field in fields:
            q |= Q(**{f"{field}__icontains": variant})
    return q


def _managed_branches(membership: Membership) -> QuerySet:
    return Branch.objects.filter(organization_id=membership.organization_id, managers=membership.user_id)


def _student_scope_q(membership: Membership) -> Q | None:
    """None: the whole organisation; Q(pk__in=[]) style empty Q for roles without access."""
    org_id = membership.organization_id
    if membership.role == Role.OWNER:
        return None
    if membership.role == Role.MANAGER:
        branches = _managed_branches(membership)
        in_groups = Enrollment.objects.filter(organization_id=org_id, group__branch__in=branches)
        waiting = WaitlistEntry.objects.filter(
            organization_id=org_id, group__branch__in=branches, status=WaitlistStatus.WAITING
        )
        return (
            Q(branch__in=branches)
            | Q(pk__in=in_groups.values("student_id"))
            | Q(pk__in=waiting.values("student_id"))
        )
    if membership.role == Role.TEACHER:
        own = Enrollment.objects.filter(
            organization_id=org_id, group__teacher=membership.user_id, status__in=OPEN_ENROLLMENT_STATUSES
        )
        return Q(pk__in=own.values("student_id"))
    return Q(pk__in=[])


def _student_search_q(query: str) -> Q:
    query = " ".join((query or "").split())[:QUERY_MAX]
    if not query:
        return Q()
    phones = phone_search_digits(query)
    if phones:
        phone_q = Q()
        for digits in phones:
            phone_q |= Q(guardian__phone__contains=digits)
        links = StudentGuardian.objects.filter(phone_q, student_id=OuterRef("pk"))
        return Q(Exists(links))
    q = Q()
    for word in query.split():
        guardian_match = StudentGuardian.objects.filter(
            _text_q(("guardian__full_name",), word), student_id=OuterRef("pk")
        )
        q &= _text_q(("last_name", "first_name"), word) | Q(Exists(guardian_match))
    return q


def student_list(*, membership: Membership, query: str = "") -> QuerySet[Student]:
    """Children the caller may see, matching `query` (a name, a guardian's name or a phone in any
    spelling), with open enrollments (`open_enrollments`) and guardian links prefetched."""
    qs = Student.objects.filter(organization_id=membership.organization_id)
    scope = _student_scope_q(membership)
    if scope is not None:
        qs = qs.filter(scope)
    qs = qs.filter(_student_search_q(query))
    return qs.select_related("branch").prefetch_related(
        Prefetch(
            "enrollments",
            queryset=Enrollment.objects.filter(status__in=OPEN_ENROLLMENT_STATUSES).select_related("group"),
            to_attr="open_enrollments",
        ),
        Prefetch("guardian_links", queryset=StudentGuardian.objects.select_related("guardian")),
    )


def student_get(*, membership: Membership, pk) -> Student:
    return get_object_or_404(student_list(membership=membership), pk=pk)


def guardian_list(*, membership: Membership, query: str = "") -> QuerySet[Guardian]:
    org_id = membership.organization_id
    qs = Guardian.objects.filter(organization_id=org_id)
    if membership.role != Role.OWNER:
        if membership.role != Role.MANAGER:
            return qs.none()
        students = student_list(membership=membership).values("pk")
        qs = qs.filter(
            pk__in=StudentGuardian.objects.filter(organization_id=org_id, student__in=students).values(
                "guardian_id"
            )
        )
    query = " ".join((query or "").split())[:QUERY_MAX]
    phones = phone_search_digits(query)
    if phones:
        phone_q = Q()
        for digits in phones:
            phone_q |= Q(phone__contains=digits)
        qs = qs.filter(phone_q)
    elif query:
        for word in query.split():
            qs = qs.filter(_text_q(("full_name",), word))
    return qs


def guardian_get(*, membership: Membership, pk) -> Guardian:
    return get_object_or_404(guardian_list(membership=membership), pk=pk)


def _enrollment_scope_q(membership: Membership) -> Q | None:
    if membership.role == Role.OWNER:
        return None
    if membership.role == Role.MANAGER:
        branches = _managed_branches(membership)
        return Q(group__branch__in=branches) | Q(student__branch__in=branches)
    if membership.role == Role.TEACHER:
        return Q(group__teacher=membership.user_id)
    return Q(pk__in=[])


def enrollment_list(
    *, membership: Membership, group: Group | None = None, student: Student | None = None, status=None
) -> QuerySet[Enrollment]:
    qs = Enrollment.objects.filter(organization_id=membership.organization_id)
    scope = _enrollment_scope_q(membership)
    if scope is not None:
        qs = qs.filter(scope)
    if group is not None:
        qs = qs.filter(group=group)
    if student is not None:
        qs = qs.filter(student=student)
    if status is not None:
        qs = qs.filter(status__in=[status] if isinstance(status, str) else list(status))
    return qs.select_related("student", "group", "group__branch", "transferred_from__group")


def enrollment_get(*, membership: Membership, pk) -> Enrollment:
    return get_object_or_404(enrollment_list(membership=membership), pk=pk)


def enrolled_students_on(*, group: Group, on_date: dt.date) -> QuerySet[Enrollment]:
    """Enrollments open on that day: started by then and not ended before it (ended_on is the last day)."""
    return (
        Enrollment.objects.filter(organization_id=group.organization_id, group=group, started_on__lte=on_date)
        .filter(Q(ended_on__gte=on_date) | Q(ended_on__isnull=True, status__in=OPEN_ENROLLMENT_STATUSES))
        .select_related("student")
        .order_by("student__last_name", "student__first_name")
    )


def enrollment_history(*, membership: Membership, student: Student) -> QuerySet[Enrollment]:
    """Every enrollment of the child the caller may see, newest first, with its events and transfers."""
    return enrollment_list(membership=membership, student=student).prefetch_related(
        Prefetch("events", queryset=EnrollmentEvent.objects.select_related("actor")),
        Prefetch("transferred_to", queryset=Enrollment.objects.select_related("group")),
    )


def consent_list(*, student: Student) -> QuerySet[Consent]:
    return Consent.objects.filter(organization_id=student.organization_id, student=student).select_related(
        "guardian", "recorded_by"
    )


def consent_get(*, membership: Membership, pk) -> Consent:
    students = student_list(membership=membership).values("pk")
    qs = Consent.objects.filter(organization_id=membership.organization_id, student__in=students)
    return get_object_or_404(qs.select_related("student", "guardian"), pk=pk)


def _group_scope(membership: Membership) -> QuerySet[Group]:
    today = org_today(membership.organization)
    qs = Group.objects.filter(organization_id=membership.organization_id, is_active=True, end_date__gte=today)
    if membership.role == Role.MANAGER:
        return qs.filter(branch__in=_managed_branches(membership))
    if membership.role != Role.OWNER:
        return qs.none()
    return qs


def enrollable_groups(*, membership: Membership) -> QuerySet[Group]:
    """Groups the caller may enrol children into (owner: all; manager: their branches) that have not
    ended, with `taken` = open enrollments."""
    return (
        _group_scope(membership)
        .select_related("course", "branch")
        .annotate(taken=Count("enrollments", filter=Q(enrollments__status__in=OPEN_ENROLLMENT_STATUSES)))
        .order_by("name")
    )


def waitlist_list(*, membership: Membership, group: Group | None = None) -> QuerySet[WaitlistEntry]:
    """Children waiting, oldest first, in groups the caller may enrol into."""
    groups = _group_scope(membership).values("pk")
    qs = WaitlistEntry.objects.filter(
        organization_id=membership.organization_id, status=WaitlistStatus.WAITING, group__in=groups
    )
    if group is not None:
        qs = qs.filter(group=group)
    return qs.select_related("student", "group").order_by("group__name", "created_at", "id")


def waitlist_get(*, membership: Membership, pk) -> WaitlistEntry:
    return get_object_or_404(waitlist_list(membership=membership), pk=pk)


def branch_choices(*, membership: Membership, include_pk: int | None = None) -> QuerySet[Branch]:
    """Branches a child may be assigned to by the caller: all for the owner, managed ones for a manager
    (plus `include_pk`, the child's current branch)."""
    qs = Branch.objects.filter(organization_id=membership.organization_id).order_by("name")
    if membership.role == Role.OWNER:
        return qs
    if membership.role == Role.MANAGER:
        return qs.filter(Q(managers=membership.user_id) | Q(pk=include_pk)).distinct()
    return qs.none()


def waitlist_overview(*, membership: Membership, group_id: int | None = None) -> list[dict]:
    """Per group with children waiting: the group (with `taken`), its free seats and the queue."""
    entries = waitlist_list(membership=membership)
    if group_id is not None:
        entries = entries.filter(group_id=group_id)
    entries = list(entries)
    group_ids = {entry.group_id for entry in entries}
    groups = {g.pk: g for g in enrollable_groups(membership=membership).filter(pk__in=group_ids)}
    overview: dict[int, dict] = {}
    for entry in entries:
        group = groups.get(entry.group_id)
        if group is None:
            continue
        row = overview.setdefault(
            group.pk, {"group": group, "free": max(group.capacity - group.taken, 0), "entries": []}
        )
        row["entries"].append(entry)
    return sorted(overview.values(), key=lambda row: row["group"].name)


def student_waitlist(*, membership: Membership, student: Student) -> QuerySet[WaitlistEntry]:
    return waitlist_list(membership=membership).filter(student=student)
