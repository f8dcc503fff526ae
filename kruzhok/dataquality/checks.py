"""The data-quality checks. Each finds the rows that need a person's attention and says, in Russian,
what is wrong and where to fix it.

A check takes the organisation, the branches in scope (None: the whole organisation) and the
centre's today, and returns Problem rows; each row carries the branch it belongs to, so the daily
snapshot can count per branch and a manager's trend sums only their branches.
"""

import datetime as dt
import difflib
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from kruzhok.accounts.models import Organization
from kruzhok.attendance.models import AttendanceMark
from kruzhok.billing.checks import ledger_problems
from kruzhok.billing.models import Payment, PaymentStatus, Subscription
from kruzhok.lib.dates import org_timezone
from kruzhok.school.models import (
    Consent,
    Enrollment,
    EnrollmentStatus,
    Lesson,
    LessonStatus,
    Student,
    StudentGuardian,
)

UNMARKED_WINDOW_DAYS = 30
DUPLICATE_RATIO = 0.85
# Twins share a surname and a birth date: their first names must be alike too (Ева/Вера is 0.57).
FIRST_NAME_RATIO = 0.75


@dataclass(frozen=True)
class Problem:
    text: str
    url: str
    branch_id: int | None
    # The Russian msgid and its values: the snapshot keeps them, so the page shows a row in the
    # reader's language, not in the language the nightly job ran in.
    message: str = ""
    params: dict[str, str] | None = None


def problem_text(message: str, params: dict[str, str]) -> str:
    return _(message) % params


def _problem(message: str, params: dict, *, url: str, branch_id: int | None) -> Problem:
    params = {k: str(v) for k, v in params.items()}
    return Problem(
        text=problem_text(message, params), url=url, branch_id=branch_id, message=message, params=params
    )


@dataclass(frozen=True)
class Check:
    key: str
    title: str
    hint: str
    find: Callable[..., list[Problem]]
    owner_only: bool = False


def _local(moment: dt.datetime, org: Organization) -> str:
    return f"{timezone.localtime(moment, org_timezone(org)):%d.%m.%Y %H:%M}"


def _day_start(org: Organization, day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=org_timezone(org))


def _teacher_name(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else "—"


def _students_in(org: Organization, branch_ids):
    students = Student.objects.filter(organization_id=org.pk)
    if branch_ids is not None:
        in_groups = Enrollment.objects.filter(organization_id=org.pk, group__branch_id__in=branch_ids)
        students = students.filter(Q(branch_id__in=branch_ids) | Q(pk__in=in_groups.values("student_id")))
    return students


def _student_url(student_id: int) -> str:
    return reverse("school:student_detail", args=[student_id])


# ---------------------------------------------------------------- lessons and attendance


def unmarked_lesson_list(org: Organization, branch_ids, today: dt.date) -> list[Lesson]:
    """Lessons held on an earlier day (not cancelled) with children in the group and no mark at all."""
    since = today - dt.timedelta(days=UNMARKED_WINDOW_DAYS)
    lessons = (
        Lesson.objects.filter(
            organization_id=org.pk,
            starts_at__gte=_day_start(org, since),
            starts_at__lt=_day_start(org, today),
        )
        .exclude(status=LessonStatus.CANCELLED)
        .select_related("group", "group__teacher", "teacher")
        .order_by("-starts_at")
    )
    if branch_ids is not None:
        lessons = lessons.filter(group__branch_id__in=branch_ids)
    lessons = list(lessons)
    # Sets in Python rather than correlated subqueries: with the tenant filter inside them SQLite
    # picks the organisation index and scans every mark once per lesson (minutes on 30,000 children).
    marked = set(
        AttendanceMark.objects.filter(
            organization_id=org.pk,
            lesson__starts_at__gte=_day_start(org, since),
            lesson__starts_at__lt=_day_start(org, today),
        )
        .values_list("lesson_id", flat=True)
        .distinct()
    )
    with_children = set(
        Enrollment.objects.filter(organization_id=org.pk, started_on__lt=today)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gte=since))
        .values_list("group_id", flat=True)
        .distinct()
    )
    return [x for x in lessons if x.pk not in marked and x.group_id in with_children]


def unmarked_lessons(org: Organization, branch_ids, today: dt.date) -> list[Problem]:
    return [
        _problem(
            gettext_noop("«%(group)s», %(when)s, %(teacher)s: посещаемость не отмечена"),
            {
                "group": lesson.group.name,
                "when": _local(lesson.starts_at, org),
                "teacher": _teacher_name(lesson.teacher or lesson.group.teacher),
            },
            url=reverse("attendance:lesson", args=[lesson.pk]),
            branch_id=lesson.group.branch_id,
        )
        for lesson in unmarked_lesson_list(org, branch_ids, today)
    ]


def marks_on_cancelled(org: Organization, branch_ids, today: dt.date) -> list[Problem]:
    marks = (
        AttendanceMark.objects.filter(organization_id=org.pk, lesson__status=LessonStatus.CANCELLED)
        .select_related("lesson", "lesson__group", "student")
        .order_by("-lesson__starts_at")
    )
    if branch_ids is not None:
        marks = marks.filter(lesson__group__branch_id__in=branch_ids)
    return [
        _problem(
            gettext_noop("%(child)s: отметка «%(mark)s» на отменённом занятии «%(group)s», %(when)s"),
            {
                "child": m.student.full_name,
                "mark": m.get_status_display(),
                "group": m.lesson.group.name,
                "when": _local(m.lesson.starts_at, org),
            },
            url=reverse("attendance:lesson", args=[m.lesson_id]),
            branch_id=m.lesson.group.branch_id,
        )
        for m in marks
    ]


def enrollments_without_lessons(org: Organization, branch_ids, today: dt.date) -> list[Problem]:
    """Children who study (trial or active) in a group that has no lesson ahead."""
    groups_ahead = set(
        Lesson.objects.filter(
            organization_id=org.pk, starts_at__gte=_day_start(org, today), status=LessonStatus.SCHEDULED
        )
        .values_list("group_id", flat=True)
        .distinct()
    )
    enrollments = (
        Enrollment.objects.filter(
            organization_id=org.pk, status__in=(EnrollmentStatus.TRIAL, EnrollmentStatus.ACTIVE)
        )
        .exclude(group_id__in=groups_ahead)
        .select_related("student", "group")
        .order_by("group__name", "student__last_name")
    )
    if branch_ids is not None:
        enrollments = enrollments.filter(group__branch_id__in=branch_ids)
    return [
        _problem(
            gettext_noop("%(child)s — группа «%(group)s»: впереди нет ни одного занятия"),
            {"child": e.student.full_name, "group": e.group.name},
            url=reverse("school:group_detail", args=[e.group_id]),
            branch_id=e.group.branch_id,
        )
        for e in enrollments
    ]


# ---------------------------------------------------------------- children and families


def _students_lacking(org: Organization, branch_ids, having_ids: set[int]):
    students = _students_in(org, branch_ids).order_by("last_name", "first_name")
    return [s for s in students.only("pk", "last_name", "first_name", "branch_id") if s.pk not in having_ids]


def children_without_guardian(org: Organization, branch_ids, today: dt.date) -> list[Problem]:
    linked = set(StudentGuardian.objects.filter(organization_id=org.pk).values_list("student_id", flat=True))
    return [
        _problem(
            gettext_noop("%(child)s: не указан ни один родитель"),
            {"child": s.full_name},
            url=_student_url(s.pk),
            branch_id=s.branch_id,
        )
        for s in _students_lacking(org, branch_ids, linked)
    ]


def children_without_consent(org: Organization, branch_ids, today: dt.date) -> list[Problem]:
    consented = set(
        Consent.objects.filter(organization_id=org.pk, revoked_at__isnull=True).values_list(
            "student_id", flat=True
        )
    )
    return [
        _problem(
            gettext_noop("%(child)s: нет согласия на обработку персональных данных"),
            {"child": s.full_name},
            url=_student_url(s.pk),
            branch_id=s.branch_id,
        )
        for s in _students_lacking(org, branch_ids, consented)
    ]


def normalized_name(last_name: str, first_name: str) -> str:
    """Case, ё/е, hyphens and extra spaces do not make two children different."""
    text = f"{last_name} {first_name}".lower().replace("ё", "е")
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def likely_duplicates(org: Organization, branch_ids, today: dt.date) -> list[Problem]:
    """Pairs of children with the same birth date and a similar name (difflib ratio ≥ 0.85), whose
    first names are alike too, so twins are not reported."""
    by_birth: dict[dt.date, list] = defaultdict(list)
    for row in _students_in(org, branch_ids).values(
        "pk", "last_name", "first_name", "birth_date", "branch_id"
    ):
        row["norm"] = normalized_name(row["last_name"], row["first_name"])
        row["first"] = normalized_name("", row["first_name"])
        by_birth[row["birth_date"]].append(row)
    problems = []
    matcher = difflib.SequenceMatcher(autojunk=False)
    for birth, rows in sorted(by_birth.items()):
        rows.sort(key=lambda r: r["pk"])
        for i, a in enumerate(rows):
            matcher.set_seq2(a["norm"])  # seq2 is the side difflib indexes: once per child
            for b in rows[i + 1 :]:
                matcher.set_seq1(b["norm"])
                # The quick ratios are upper bounds: most pairs are ruled out without the full match.
                if (
                    matcher.real_quick_ratio() >= DUPLICATE_RATIO
                    and matcher.quick_ratio() >= DUPLICATE_RATIO
                    and matcher.ratio() >= DUPLICATE_RATIO
                    and difflib.SequenceMatcher(None, a["first"], b["first"]).ratio() >= FIRST_NAME_RATIO
                ):
                    problems.append(
                        _problem(
                            gettext_noop(
                                "%(a)s и %(b)s, оба родились %(birth)s: похоже, один ребёнок записан дважды"
                            ),
                            {
                                "a": f"{a['last_name']} {a['first_name']}",
                                "b": f"{b['last_name']} {b['first_name']}",
                                "birth": f"{birth:%d.%m.%Y}",
                            },
                            url=_student_url(b["pk"]),
                            branch_id=a["branch_id"],
                        )
                    )
    return problems


# ---------------------------------------------------------------- money


def payments_without_subscription(org: Organization, branch_ids, today: dt.date) -> list[Problem]:
    """Money received from a family that has never been sold a subscription: it pays for nothing."""
    sold = set(Subscription.objects.filter(organization_id=org.pk).values_list("account_id", flat=True))
    payments = (
        Payment.objects.filter(organization_id=org.pk, status=PaymentStatus.SUCCEEDED)
        .select_related("account__guardian")
        .order_by("-created_at")
    )
    # A family belongs to the branch of its children.
    child_branch: dict[int, int | None] = {}
    for link in StudentGuardian.objects.filter(organization_id=org.pk).values(
        "guardian_id", "student__branch_id"
    ):
        child_branch.setdefault(link["guardian_id"], link["student__branch_id"])
    problems = []
    for p in payments:
        if p.account_id in sold:
            continue
        branch_id = child_branch.get(p.account.guardian_id)
        if branch_ids is not None and branch_id not in branch_ids:
            continue
        problems.append(
            _problem(
                gettext_noop("%(payer)s: оплата %(amount)s ₽ от %(when)s, а абонемента нет"),
                {
                    "payer": p.account.guardian.full_name,
                    "amount": p.amount,
                    "when": _local(p.paid_at or p.created_at, org),
                },
                url=reverse("billing:account", args=[p.account_id]),
                branch_id=branch_id,
            )
        )
    return problems


def ledger_disagreements(org: Organization, branch_ids, today: dt.date) -> list[Problem]:
    """billing's own consistency check (kruzhok/billing/checks.py): balances against the ledger."""
    return [
        _problem(
            gettext_noop("Расхождение в учёте оплат: %(problem)s"),
            {"problem": problem},
            url=reverse("billing:accounts"),
            branch_id=None,
        )
        for problem in ledger_problems(org_id=org.pk)
    ]


CHECKS = [
    Check(
        "unmarked_lessons",
        gettext_lazy("Не отмечена посещаемость"),
        gettext_lazy("Занятия прошлых дней без единой отметки. Преподавателю уходит напоминание."),
        unmarked_lessons,
    ),
    Check(
        "marks_on_cancelled",
        gettext_lazy("Отметки на отменённых занятиях"),
        gettext_lazy("Занятие отменено, а посещаемость стоит: проверьте, было ли занятие."),
        marks_on_cancelled,
    ),
    Check(
        "enrollments_without_lessons",
        gettext_lazy("Занимаются, но занятий впереди нет"),
        gettext_lazy("У группы нет расписания на будущее: добавьте занятия или закройте зачисление."),
        enrollments_without_lessons,
    ),
    Check(
        "children_without_guardian",
        gettext_lazy("Дети без родителя"),
        gettext_lazy("Некому сообщить о пропуске и некому выставить счёт."),
        children_without_guardian,
    ),
    Check(
        "children_without_consent",
        gettext_lazy("Нет согласия на обработку данных"),
        gettext_lazy("По 152-ФЗ нужно согласие родителя."),
        children_without_consent,
    ),
    Check(
        "likely_duplicates",
        gettext_lazy("Возможные дубли детей"),
        gettext_lazy("Похожие имена и одна дата рождения."),
        likely_duplicates,
    ),
    Check(
        "payments_without_subscription",
        gettext_lazy("Оплаты без абонемента"),
        gettext_lazy("Семья заплатила, но абонемент не продан."),
        payments_without_subscription,
    ),
    Check(
        "ledger_disagreements",
        gettext_lazy("Баланс не сходится с журналом операций"),
        gettext_lazy("Проверка учёта оплат; считается раз в день и по кнопке «Проверить сейчас»."),
        ledger_disagreements,
        owner_only=True,
    ),
]
CHECKS_BY_KEY = {c.key: c for c in CHECKS}
