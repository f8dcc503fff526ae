"""The page, the daily snapshot and trend, the reminders to teachers and the digest to managers."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from kruzhok.dataquality.models import DataQualitySnapshot
from kruzhok.dataquality.services import daily_run, snapshot_take
from kruzhok.lib.dates import org_timezone
from kruzhok.messaging.models import Message
from kruzhok.school.models import StudentGuardian
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db


def _unmarked_lesson(world, days_ago=2, group=None):
    tz = org_timezone(world.org)
    starts = dt.datetime.combine(timezone.localdate() - dt.timedelta(days=days_ago), dt.time(10), tzinfo=tz)
    return f.LessonFactory(
        organization=world.org,
        group=group or world.group,
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=1),
        teacher=world.teacher,
    )


def test_the_page_lists_checks_with_counts_and_links(alpha, client_as):
    lesson = _unmarked_lesson(alpha)
    snapshot_take(org=alpha.org)
    page = client_as(alpha.owner).get(reverse("dataquality:index")).content.decode()
    assert "Не отмечена посещаемость" in page and reverse("attendance:lesson", args=[lesson.pk]) in page
    assert "Баланс не сходится с журналом операций" in page  # the owner-only check


def test_a_manager_sees_only_their_branches_and_not_the_ledger(alpha, client_as):
    other_group = f.GroupFactory(
        organization=alpha.org, branch=alpha.other_branch, course=alpha.course, name="Север-1"
    )
    f.EnrollmentFactory(
        organization=alpha.org, group=other_group, started_on=timezone.localdate() - dt.timedelta(days=40)
    )
    hidden = _unmarked_lesson(alpha, group=other_group)
    shown = _unmarked_lesson(alpha)
    snapshot_take(org=alpha.org)
    page = client_as(alpha.manager).get(reverse("dataquality:index")).content.decode()
    assert reverse("attendance:lesson", args=[shown.pk]) in page
    assert reverse("attendance:lesson", args=[hidden.pk]) not in page
    assert "Баланс не сходится" not in page


def test_teachers_parents_and_students_are_refused(alpha, client_as):
    for user in (alpha.teacher, alpha.parent, alpha.student_user):
        assert client_as(user).get(reverse("dataquality:index")).status_code == 403


def test_the_snapshot_counts_per_branch_and_the_trend_falls_to_zero(
    alpha, client_as, django_capture_on_commit_callbacks
):
    lesson = _unmarked_lesson(alpha)
    today = timezone.localdate()
    snapshot_take(org=alpha.org, today=today - dt.timedelta(days=1))
    first = DataQualitySnapshot.objects.get()
    assert first.counts["all"]["unmarked_lessons"] == 1
    assert first.counts[str(alpha.branch.pk)]["unmarked_lessons"] == 1
    lesson.delete()
    client = client_as(alpha.owner)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("dataquality:refresh"))
    assert DataQualitySnapshot.objects.count() == 2
    page = client.get(reverse("dataquality:index")).content.decode()
    assert "<svg" in page and f"{today:%d.%m.%Y}</td><td>0</td>" in page.replace("\n", "")


def test_the_daily_run_reminds_the_teacher_once_and_sends_the_digest(alpha):
    lesson = _unmarked_lesson(alpha)
    StudentGuardian.objects.filter(student=alpha.student).delete()
    counts = daily_run(org=alpha.org)
    again = daily_run(org=alpha.org)
    assert counts == {"reminders": 1, "digests": 2} and again == counts  # deduplicated, see below
    reminders = Message.objects.filter(user=alpha.teacher)
    assert reminders.count() == 1
    reminder = reminders.get()
    assert alpha.group.name in reminder.body and reminder.link == reverse(
        "attendance:lesson", args=[lesson.pk]
    )
    owner_digest = Message.objects.get(user=alpha.owner)
    assert "Не отмечена посещаемость: 1" in owner_digest.body and "Дети без родителя: 1" in owner_digest.body
    assert Message.objects.filter(user=alpha.manager).count() == 1
    assert not Message.objects.filter(user=alpha.parent).exists()


def test_the_page_reads_the_snapshot_and_recounts_only_when_asked(
    alpha, client_as, django_capture_on_commit_callbacks
):
    client = client_as(alpha.manager)
    page = client.get(reverse("dataquality:index")).content.decode()
    assert "Проверок ещё не было" in page
    # Nothing checked yet is not "0 problems": every check shows a dash, none a green zero.
    dashes = page.count('dq-count" title="Ещё не проверялось.">—<')
    assert dashes >= 7 and dashes == page.count("dq-count")
    snapshot_take(org=alpha.org)
    lesson = _unmarked_lesson(alpha)
    url = reverse("attendance:lesson", args=[lesson.pk])
    # A page view runs no checks: the lesson appears only after «Пересчитать».
    page = client.get(reverse("dataquality:index")).content.decode()
    assert url not in page and "Данные проверки на" in page
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(reverse("dataquality:refresh"), follow=True)
    assert "Пересчёт запущен" in answer.content.decode()
    assert url in client.get(reverse("dataquality:index")).content.decode()


def test_the_recount_is_refused_to_a_get_a_teacher_and_another_organisation(alpha, beta, client_as):
    assert client_as(alpha.manager).get(reverse("dataquality:refresh")).status_code == 405
    assert client_as(alpha.teacher).post(reverse("dataquality:refresh")).status_code == 403
    client_as(beta.owner).post(reverse("dataquality:refresh"), {"organization": alpha.org.pk})
    assert not DataQualitySnapshot.objects.filter(organization=alpha.org).exists()


def test_a_manager_sees_the_count_of_their_branches_only(alpha, client_as):
    other_group = f.GroupFactory(
        organization=alpha.org, branch=alpha.other_branch, course=alpha.course, name="Север-2"
    )
    for _i in range(3):
        _unmarked_lesson(alpha, group=other_group)
    _unmarked_lesson(alpha)
    snapshot_take(org=alpha.org)
    page = client_as(alpha.manager).get(reverse("dataquality:index")).content.decode()
    check = page.split('data-check="unmarked_lessons"')[1].split("</li>")[0]
    assert '<span class="badge bad dq-count">1</span>' in check


def test_twins_are_not_reported_as_duplicates_but_a_child_entered_twice_is(alpha, client_as):
    birth = dt.date(2016, 8, 1)
    for first_name in ("Ева", "Вера"):  # twins: same surname and birthday, different names
        f.StudentFactory(
            organization=alpha.org, last_name="Данилова", first_name=first_name, birth_date=birth
        )
    for first_name in ("Анастасия", "Анастасиа"):  # one child entered twice, with a typo
        f.StudentFactory(organization=alpha.org, last_name="Маслова", first_name=first_name, birth_date=birth)
    snapshot_take(org=alpha.org)
    page = client_as(alpha.owner).get(reverse("dataquality:index")).content.decode()
    assert "Маслова Анастасия и Маслова Анастасиа, оба родились 01.08.2016" in page
    assert "Данилова Ева и Данилова Вера" not in page


def test_rows_are_shown_in_the_readers_language_whatever_language_the_night_ran_in(alpha, client_as):
    from django.conf import settings
    from django.utils import translation

    child = f.StudentFactory(organization=alpha.org, last_name="Безсогласия", first_name="Ира")
    with translation.override("ru"):
        snapshot_take(org=alpha.org)
    client = client_as(alpha.owner)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # what the language selector sets
    page = client.get(reverse("dataquality:index")).content.decode()
    assert f"{child.full_name}: no consent to personal data processing" in page
    assert "нет согласия на обработку" not in page
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ru"
    page = client.get(reverse("dataquality:index")).content.decode()
    assert f"{child.full_name}: нет согласия на обработку персональных данных" in page
