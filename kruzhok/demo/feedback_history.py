"""Feedback over every month the demo has children, so the «Отзывы» trend on the dashboards has a story:
parents' survey answers (NPS 0–10 and satisfaction 1–5), their free-text notes and, in months with
lessons, the children's one-tap pulse after a lesson.

How a family feels is drawn, and what the dashboards show follows from it: families of the weak branch
are less happy, so are families whose child is about to leave (the month or so before leaving), and
everybody is a little less happy around the autumn break, when lessons move and routines break. The
strong teacher's families are happier only because their children stay. The words are classified by the
app's own sentiment rules (feedback.services), so the tone on the page is the model's, not ours.

Months before the current one are history: written in bulk with the day they came in, and the negative
ones already answered by the branch's manager within a day or two (their alerts were handled back then, so
no alert message is queued now). This month's parent notes go through `feedback_submit`, so a negative
one raises its alert today as any new feedback does.
"""

import datetime as dt
import random
from collections import defaultdict

from django.utils import timezone

from kruzhok.accounts.models import Membership, Organization, Role
from kruzhok.attendance.models import AttendanceMark, AttendanceStatus
from kruzhok.demo import behaviours as bh
from kruzhok.feedback.models import Feedback, FeedbackReply, Source, Status, Survey
from kruzhok.feedback.services import feedback_classify as classify  # the service's rules, no alert
from kruzhok.feedback.services import feedback_reply, feedback_submit
from kruzhok.lib.dates import org_timezone
from kruzhok.school.models import Branch, Enrollment, EnrollmentStatus, StudentGuardian

DAY = dt.timedelta(days=1)
# Responses a month for every hundred children studying, and a ceiling so a 30 000-child network
# classifies hundreds of texts a month, not thousands.
PER_HUNDRED = 6
MONTHLY_CAP = 150
# P(an unhappy family): the base, and what the weak branch, a coming departure and the autumn break add.
UNHAPPY = 0.1
UNHAPPY_WEAK = 0.15
UNHAPPY_LEAVING = 0.4
UNHAPPY_BREAK = 0.12
LEAVING_DAYS = 35

HAPPY_NOTES = (
    "Ребёнку очень нравится, спасибо преподавателю!",
    "Дочь в восторге от занятий, всё отлично.",
    "Спасибо за интересный проект на прошлой неделе!",
    "Сын сам собирается на занятия, очень доволен.",
    "Отличный преподаватель, объясняет понятно и терпеливо.",
    "Спасибо за выступление, дети были счастливы!",
)
NEUTRAL_NOTES = (
    "Всё хорошо, вопросов нет.",
    "Подскажите, будет ли занятие в праздничную неделю?",
    "Можно ли получить список тем на следующий месяц?",
)
UNHAPPY_NOTES = (
    "Занятия часто переносят, неудобно планировать неделю.",
    "Было скучно, сын не хочет идти на следующее занятие.",
    "В кабинете холодно и грязно, просим разобраться.",
    "Преподаватель грубо разговаривает с детьми, мы недовольны.",
    "Дорого для того, что мы видим в результате.",
    "После каникул ребёнок потерял интерес, занятия однообразные.",
)
SURVEY_COMMENTS_HAPPY = ("", "", "Всё нравится", "Спасибо преподавателю!")
SURVEY_COMMENTS_UNHAPPY = ("", "Скучно, ребёнок не хочет ходить", "Часто переносят занятия", "Дорого")
REPLY = "Спасибо, что написали. Мы разобрались и позвонили вам."


def seed_feedback_history(*, org: Organization, rng: random.Random, today: dt.date) -> dict[str, int]:
    totals = {"history_feedback": 0, "history_surveys": 0, "history_pulses": 0, "month_feedback": 0}
    tz = org_timezone(org)
    rows = list(
        Enrollment.objects.filter(organization=org, started_on__lt=today)
        .values_list("pk", "student_id", "group__branch_id", "status", "started_on", "ended_on")
        .order_by("pk")
    )
    if not rows:
        return totals
    guardian_of = {}
    for student_id, guardian_id, user_id in (
        StudentGuardian.objects.filter(organization=org, is_primary=True)
        .values_list("student_id", "guardian_id", "guardian__user_id")
        .order_by("pk")
    ):
        guardian_of[student_id] = (guardian_id, user_id)
    branches = list(Branch.objects.filter(organization=org).order_by("pk").values_list("pk", flat=True))
    weak = branches[bh.WEAK_BRANCH_INDEX] if len(branches) > 1 else None
    managers = _answerers(org)
    first_month = _month_start(min(r[4] for r in rows))
    this_month = _month_start(today)
    fresh: list[tuple] = []  # this month's parent notes, through the service
    history: list[tuple[Feedback, Survey | None, dt.datetime]] = []
    pulsed: set[tuple[int, int]] = set()
    surveyed: set[tuple[int, dt.date]] = set()  # one invitation per enrollment and day
    month = first_month
    while month <= this_month:
        last = min(_month_end(month), today - DAY)
        open_rows = [r for r in rows if r[4] <= last and (r[5] is None or r[5] >= month) and r[2] is not None]
        n = min(MONTHLY_CAP, round(len(open_rows) * PER_HUNDRED / 100))
        picks = rng.sample(open_rows, min(n, len(open_rows)))
        presence = _presence(org, [r[0] for r in picks], month, last, tz) if picks else {}
        for pk, student_id, branch_id, status, started, ended in picks:
            if student_id not in guardian_of:
                continue
            lo, hi = max(started, month), min(last, ended or last)
            if lo > hi:
                continue
            day = lo + DAY * rng.randint(0, (hi - lo).days)
            unhappy = rng.random() < _unhappy_odds(day, branch_id == weak, status, ended)
            guardian_id, user_id = guardian_of[student_id]
            base = {
                "organization_id": org.pk,
                "student_id": student_id,
                "enrollment_id": pk,
                "branch_id": branch_id,
            }
            kind = rng.random()
            lessons = presence.get(pk, [])
            if kind < 0.3 and lessons:
                lesson_id = rng.choice(lessons)
                if (lesson_id, student_id) in pulsed:
                    continue
                pulsed.add((lesson_id, student_id))
                score = rng.choice((1, 2, 3, 3)) if unhappy else rng.choice((4, 5, 5, 5))
                fb = Feedback(source=Source.PULSE, lesson_id=lesson_id, score=score, **base)
                history.append((fb, None, _moment(day, tz, rng)))
                totals["history_pulses"] += 1
            elif kind < 0.7:
                nps = rng.choice((1, 3, 4, 5, 6, 6)) if unhappy else rng.choice((7, 8, 9, 9, 10, 10, 10))
                score = rng.choice((2, 3, 3)) if unhappy else rng.choice((4, 5, 5))
                sent_on = max(started, day - DAY * rng.randint(0, 3))
                if (pk, sent_on) in surveyed:
                    continue
                surveyed.add((pk, sent_on))
                comments = SURVEY_COMMENTS_UNHAPPY if unhappy else SURVEY_COMMENTS_HAPPY
                fb = Feedback(
                    source=Source.SURVEY,
                    guardian_id=guardian_id,
                    author_id=user_id,
                    score=score,
                    nps=nps,
                    text=rng.choice(comments),
                    **base,
                )
                survey = Survey(
                    organization_id=org.pk,
                    enrollment_id=pk,
                    guardian_id=guardian_id,
                    student_id=student_id,
                    reason="every_days",
                    sent_on=sent_on,
                )
                history.append((fb, survey, _moment(day, tz, rng)))
                totals["history_surveys"] += 1
            else:
                pool = UNHAPPY_NOTES if unhappy else (HAPPY_NOTES if rng.random() < 0.8 else NEUTRAL_NOTES)
                text = rng.choice(pool)
                if month == this_month:
                    fresh.append((guardian_id, student_id, text, day))
                    continue
                fb = Feedback(
                    source=Source.PARENT, guardian_id=guardian_id, author_id=user_id, text=text, **base
                )
                history.append((fb, None, _moment(day, tz, rng)))
                totals["history_feedback"] += 1
        month = _month_end(month) + DAY
    _write_history(org, history, managers, rng)
    totals["month_feedback"] = _this_month(org, fresh, managers, tz, rng)
    return totals


def _unhappy_odds(day: dt.date, weak: bool, status: str, ended: dt.date | None) -> float:
    p = UNHAPPY + (UNHAPPY_WEAK if weak else 0.0)
    if status == EnrollmentStatus.DROPPED and ended is not None and 0 <= (ended - day).days <= LEAVING_DAYS:
        p += UNHAPPY_LEAVING
    autumn_break = dt.date(day.year, 10, 20) <= day <= dt.date(day.year, 11, 12)
    return p + (UNHAPPY_BREAK if autumn_break else 0.0)


def _presence(org, enrollment_ids, first: dt.date, last: dt.date, tz) -> dict[int, list[int]]:
    """Lessons each enrollment was present at in the month: a pulse is about a lesson the child attended."""
    out: dict[int, list[int]] = defaultdict(list)
    start = dt.datetime.combine(first, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(last + DAY, dt.time.min, tzinfo=tz)
    for enrollment_id, lesson_id in AttendanceMark.objects.filter(
        organization=org,
        enrollment_id__in=enrollment_ids,
        status=AttendanceStatus.PRESENT,
        lesson__starts_at__gte=start,
        lesson__starts_at__lt=end,
    ).values_list("enrollment_id", "lesson_id"):
        out[enrollment_id].append(lesson_id)
    return out


def _answerers(org) -> dict[int | None, int | None]:
    """Who answers a branch's feedback: its first manager, else the owner."""
    owner = (
        Membership.objects.filter(organization=org, role=Role.OWNER, is_active=True)
        .values_list("user_id", flat=True)
        .first()
    )
    out: dict[int | None, int | None] = defaultdict(lambda: owner)
    links = Branch.managers.through.objects.filter(branch__organization=org).order_by("pk")
    for branch_id, user_id in links.values_list("branch_id", "user_id"):
        out.setdefault(branch_id, user_id)
    return out


def _write_history(org, history, managers, rng: random.Random) -> None:
    for fb, _survey, _when in history:
        classify(fb)
        if fb.sentiment == "negative":
            fb.status, fb.answered_by_id = Status.ANSWERED, managers[fb.branch_id]
    Feedback.all_objects.bulk_create([fb for fb, _s, _w in history], batch_size=500)
    replies = []
    for fb, survey, when in history:
        fb.created_at = fb.updated_at = when
        if fb.status == Status.ANSWERED:
            answered = when + dt.timedelta(hours=rng.randint(2, 40))
            fb.alert_opened_at, fb.first_answered_at = when, answered
            reply = FeedbackReply(
                organization_id=org.pk, feedback=fb, author_id=fb.answered_by_id, body=REPLY
            )
            replies.append((reply, answered))
        if survey is not None:
            survey.answered_at, survey.feedback = when, fb
    # auto_now_add stamps "now" on insert; bulk_update writes the day each came in (a CASE per batch).
    Feedback.all_objects.bulk_update(
        [fb for fb, _s, _w in history],
        ["created_at", "updated_at", "alert_opened_at", "first_answered_at"],
        batch_size=500,
    )
    Survey.all_objects.bulk_create([s for _fb, s, _w in history if s is not None], batch_size=500)
    FeedbackReply.all_objects.bulk_create([r for r, _when in replies], batch_size=500)
    for reply, when in replies:
        reply.created_at = reply.updated_at = when
    FeedbackReply.all_objects.bulk_update(
        [r for r, _w in replies], ["created_at", "updated_at"], batch_size=500
    )


def _this_month(org, fresh, managers, tz, rng: random.Random) -> int:
    """This month's notes arrive as any parent's do; half of the negative ones are answered already."""
    from kruzhok.school.models import Guardian, Student

    guardians = Guardian.objects.in_bulk([g for g, _s, _t, _d in fresh])
    students = Student.objects.in_bulk([s for _g, s, _t, _d in fresh])
    users = {}
    for guardian_id, student_id, text, day in fresh:
        guardian = guardians[guardian_id]
        fb = feedback_submit(
            org=org, actor=guardian.user, guardian=guardian, student=students[student_id], text=text
        )
        when = _moment(day, tz, rng)
        Feedback.all_objects.filter(pk=fb.pk).update(
            created_at=when, alert_opened_at=when if fb.alert_open else None
        )
        manager_id = managers[fb.branch_id]
        if fb.alert_open and manager_id is not None and rng.random() < 0.5:
            if manager_id not in users:
                users[manager_id] = Membership.objects.get(organization=org, user_id=manager_id).user
            fb.refresh_from_db()
            feedback_reply(feedback=fb, actor=users[manager_id], body=REPLY)
            answered = min(timezone.now(), when + dt.timedelta(hours=rng.randint(2, 30)))
            Feedback.all_objects.filter(pk=fb.pk).update(first_answered_at=answered)
    return len(fresh)


def _moment(day: dt.date, tz, rng: random.Random) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(rng.randint(9, 21), rng.randint(0, 59)), tzinfo=tz)


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _month_end(month: dt.date) -> dt.date:
    nxt = (
        month.replace(year=month.year + 1, month=1)
        if month.month == 12
        else month.replace(month=month.month + 1)
    )
    return nxt.replace(day=1) - DAY
