"""Every table a centre may want in a spreadsheet, scoped to what the caller may see.

Each table reads through the owning app's scoped selector (a manager gets their branches' children,
families and money; never another organisation's rows) and yields plain values; cells.py writes them.
"""

import datetime as dt
from collections.abc import Iterator

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from kruzhok.accounts.models import Membership
from kruzhok.attendance.selectors import attendance_list, day_bounds
from kruzhok.billing.models import Payment
from kruzhok.billing.selectors import account_list, subscription_scoped
from kruzhok.lib.dates import org_timezone
from kruzhok.reports.selectors import person_name
from kruzhok.school.models import StudentGuardian
from kruzhok.school.selectors.people import enrollment_list, guardian_list, student_list
from kruzhok.school.selectors.structure import lesson_list

CHUNK = 2000


def _local(moment: dt.datetime | None, tz) -> dt.datetime | None:
    return timezone.localtime(moment, tz) if moment else None


def _students(membership: Membership, params: dict) -> tuple[list[str], Iterator]:
    header = [
        "ID",
        _("Фамилия"),
        _("Имя"),
        _("Дата рождения"),
        _("Филиал"),
        _("Группы"),
        _("Родители"),
        _("Заметки"),
    ]
    # student_list prefetches open enrollments and guardian links already.
    students = student_list(membership=membership)

    def rows():
        for s in students.iterator(chunk_size=CHUNK):
            yield [
                s.pk,
                s.last_name,
                s.first_name,
                s.birth_date,
                s.branch.name if s.branch else "",
                ", ".join(e.group.name for e in s.open_enrollments),
                ", ".join(link.guardian.full_name for link in s.guardian_links.all()),
                s.notes,
            ]

    return header, rows()


def _guardians(membership: Membership, params: dict) -> tuple[list[str], Iterator]:
    header = ["ID", _("ФИО"), _("Телефон"), "Email", "Telegram", _("Дети")]
    guardians = guardian_list(membership=membership).prefetch_related(
        Prefetch("student_links", queryset=StudentGuardian.objects.select_related("student"))
    )

    def rows():
        for g in guardians.order_by("full_name", "pk").iterator(chunk_size=CHUNK):
            children = ", ".join(link.student.full_name for link in g.student_links.all())
            yield [g.pk, g.full_name, g.phone, g.email, g.telegram_username, children]

    return header, rows()


def _enrollments(membership: Membership, params: dict) -> tuple[list[str], Iterator]:
    header = [
        "ID",
        _("Ученик"),
        _("Группа"),
        _("Курс"),
        _("Филиал"),
        _("Статус"),
        _("Начало"),
        _("Окончание"),
        _("Причина ухода"),
    ]
    enrollments = enrollment_list(membership=membership).select_related("group__course")

    def rows():
        for e in enrollments.order_by("pk").iterator(chunk_size=CHUNK):
            yield [
                e.pk,
                e.student.full_name,
                e.group.name,
                e.group.course.title,
                e.group.branch.name,
                e.get_status_display(),
                e.started_on,
                e.ended_on,
                e.get_drop_reason_display() if e.drop_reason else "",
            ]

    return header, rows()


def _subscriptions(membership: Membership, params: dict) -> tuple[list[str], Iterator]:
    header = [
        "ID",
        "Ученик",
        "Плательщик",
        "Тариф",
        "Курс",
        "Занятий",
        "Осталось",
        "Цена, ₽",
        "С",
        "По",
        "Статус",
    ]
    subscriptions = subscription_scoped(membership=membership)

    def rows():
        for s in subscriptions.order_by("pk").iterator(chunk_size=CHUNK):
            yield [
                s.pk,
                s.student.full_name,
                s.account.guardian.full_name,
                s.plan.name,
                s.course.title,
                s.lessons_total,
                s.lessons_left,
                s.price,
                s.valid_from,
                s.valid_to,
                s.get_status_display(),
            ]

    return header, rows()


def _period(membership: Membership, params: dict) -> tuple[dt.date, dt.date]:
    return dt.date.fromisoformat(params["date_from"]), dt.date.fromisoformat(params["date_to"])


def _lessons(membership: Membership, params: dict) -> tuple[list[str], Iterator]:
    header = [
        "ID",
        "Начало",
        "Окончание",
        "Группа",
        "Филиал",
        "Преподаватель",
        "Статус",
        "Тема",
        "Причина отмены",
    ]
    date_from, date_to = _period(membership, params)
    lessons = lesson_list(membership=membership, date_from=date_from, date_to=date_to)
    tz = org_timezone(membership.organization)

    def rows():
        for lesson in lessons.iterator(chunk_size=CHUNK):
            yield [
                lesson.pk,
                _local(lesson.starts_at, tz),
                _local(lesson.ends_at, tz),
                lesson.group.name,
                lesson.group.branch.name,
                person_name(lesson.teacher or lesson.group.teacher),
                lesson.get_status_display(),
                lesson.topic,
                lesson.cancel_reason,
            ]

    return header, rows()


def _attendance(membership: Membership, params: dict) -> tuple[list[str], Iterator]:
    header = [_("Занятие"), _("Группа"), _("Ученик"), _("Отметка"), _("Комментарий")]
    date_from, date_to = _period(membership, params)
    marks = attendance_list(membership=membership, date_from=date_from, date_to=date_to).order_by(
        "lesson__starts_at", "lesson_id", "student__last_name", "student__first_name"
    )
    tz = org_timezone(membership.organization)

    def rows():
        for mark in marks.iterator(chunk_size=CHUNK):
            yield [
                _local(mark.lesson.starts_at, tz),
                mark.lesson.group.name,
                mark.student.full_name,
                mark.get_status_display(),
                mark.comment,
            ]

    return header, rows()


def _payments(membership: Membership, params: dict) -> tuple[list[str], Iterator]:
    header = ["ID", _("Дата"), _("Плательщик"), _("Сумма, ₽"), _("Способ"), _("Статус"), _("Комментарий")]
    date_from, date_to = _period(membership, params)
    org = membership.organization
    start, end = day_bounds(org, date_from)[0], day_bounds(org, date_to)[1]
    payments = (
        Payment.objects.filter(
            organization_id=membership.organization_id,
            account__in=account_list(membership=membership).values("pk"),
            created_at__gte=start,
            created_at__lt=end,
        )
        .select_related("account__guardian")
        .order_by("created_at", "pk")
    )
    tz = org_timezone(org)

    def rows():
        for p in payments.iterator(chunk_size=CHUNK):
            yield [
                p.pk,
                _local(p.paid_at or p.created_at, tz),
                p.account.guardian.full_name,
                p.amount,
                p.get_method_display(),
                p.get_status_display(),
                p.note,
            ]

    return header, rows()


TABLES = {
    "students": _students,
    "guardians": _guardians,
    "enrollments": _enrollments,
    "subscriptions": _subscriptions,
    "lessons": _lessons,
    "attendance": _attendance,
    "payments": _payments,
}


def export_table(*, membership: Membership, params: dict) -> tuple[list[str], Iterator]:
    return TABLES[params["table"]](membership, params)
