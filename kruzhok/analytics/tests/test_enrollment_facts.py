"""The enrollment figures of the dashboards (active, new, dropped, churn, fill per group) come from the
enrollment flows of the monthly facts. After enrollments change through the services — a child joins,
one is transferred, one leaves, one pauses — and after enrollments inserted without events, the page
the owner and a manager get shows what a count straight from the enrollment rows gives, and
`analytics_facts --check` finds 0 differences."""

import datetime as dt
import re

import pytest
from django.db.models import Q

from kruzhok.accounts.models import Membership
from kruzhok.analytics import facts
from kruzhok.analytics.dashboards import percent
from kruzhok.analytics.selectors import Facts, scope_for
from kruzhok.analytics.tests.conftest import OCTOBER, TODAY
from kruzhok.analytics.tests.test_facts import NOVEMBER, _network
from kruzhok.school.models import Enrollment
from kruzhok.school.services import people
from kruzhok.school.services.enrollments import (
    enrollment_create,
    enrollment_transfer,
    enrollment_transition,
)
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db
LABELS = {"active": "Занимаются", "new": "Новые", "dropped": "Ушли", "churn": "Отток"}


def _tiles(client, query: str = "") -> dict[str, str]:
    html = client.get(f"/analytics/?{query}").content.decode()
    out = {}
    for key, label in LABELS.items():
        found = re.search(rf'{label}</span>\s*<span class="an-tile-value">([^<]+)<', html)
        assert found, label
        out[key] = found.group(1)
    return out


def _from_scratch(org, month: dt.date, group_ids=None) -> dict[str, str]:
    """The tiles' figures counted straight from the enrollment rows, by the definitions of the docs."""
    last = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    as_of = min(last, TODAY)
    rows = Enrollment.objects.filter(organization=org)
    if group_ids is not None:
        rows = rows.filter(group_id__in=group_ids)
    open_on = Q(started_on__lte=as_of) & (Q(ended_on__isnull=True) | Q(ended_on__gt=as_of))
    active = rows.filter(open_on).values("student_id").distinct().count()
    new = rows.filter(started_on__gte=month, started_on__lte=last, transferred_from__isnull=True).count()
    dropped = rows.filter(status="dropped", ended_on__gte=month, ended_on__lte=last).count()
    at_start = rows.filter(Q(started_on__lt=month) & (Q(ended_on__isnull=True) | Q(ended_on__gte=month)))
    exposed = at_start.count() + new
    # Formatted as the page formats a rate; the number is the count's.
    churn = percent(dropped / exposed if exposed else None, 1)
    return {"active": str(active), "new": str(new), "dropped": str(dropped), "churn": churn}


def _consent(world, student) -> None:
    people.guardian_link(student=student, guardian=world.guardian, relation="mother", is_primary=False)
    people.consent_record(
        guardian=world.guardian, student=student, text_version="2026-01", actor=world.manager
    )


def _drop_and_pause(world, enrollments, django_capture_on_commit_callbacks):
    """One child leaves (dated earlier this month), one pauses: no new rows, only changed ones."""
    open_now = [e for e in enrollments if e.status == "active"]
    with django_capture_on_commit_callbacks(execute=True):
        enrollment_transition(
            enrollment=open_now[-1],
            to_status="dropped",
            actor=world.manager,
            reason="moved",
            on_date=dt.date(2026, 11, 5),
        )
        enrollment_transition(enrollment=open_now[-2], to_status="paused", actor=world.manager)


def _join_and_transfer(world, enrollments, django_capture_on_commit_callbacks):
    """A child joins, another is transferred to a group of the other branch."""
    open_now = [e for e in enrollments if e.status == "active"]
    other_group = next(e.group for e in enrollments if e.group.branch_id != world.group.branch_id)
    newcomer = f.StudentFactory(organization=world.org, branch=world.group.branch, last_name="Новенький")
    moving = next(e for e in open_now[:-2] if e.group_id != other_group.pk)
    _consent(world, newcomer)
    _consent(world, moving.student)
    with django_capture_on_commit_callbacks(execute=True):
        enrollment_create(student=newcomer, group=world.group, actor=world.manager, status="active")
        enrollment_transfer(enrollment=moving, to_group=other_group, actor=world.manager, on_date=TODAY)


def _change_enrollments(world, enrollments, django_capture_on_commit_callbacks):
    _drop_and_pause(world, enrollments, django_capture_on_commit_callbacks)
    _join_and_transfer(world, enrollments, django_capture_on_commit_callbacks)


def test_the_owners_tiles_follow_enrollment_changes(alpha, client_as, django_capture_on_commit_callbacks):
    _groups, enrollments, _lessons = _network(alpha)
    client = client_as(alpha.owner)
    before = {m: _tiles(client, q) for m, q in ((NOVEMBER, ""), (OCTOBER, "month=2026-10"))}
    assert before[NOVEMBER] == _from_scratch(alpha.org, NOVEMBER)
    assert before[OCTOBER] == _from_scratch(alpha.org, OCTOBER)
    assert int(before[OCTOBER]["dropped"]) > 0  # the network has leavers to count

    _drop_and_pause(alpha, enrollments, django_capture_on_commit_callbacks)
    dropped = _tiles(client)
    assert dropped == _from_scratch(alpha.org, NOVEMBER)
    assert int(dropped["dropped"]) == int(before[NOVEMBER]["dropped"]) + 1
    assert int(dropped["active"]) == int(before[NOVEMBER]["active"]) - 1  # a paused child still counts

    _join_and_transfer(alpha, enrollments, django_capture_on_commit_callbacks)
    after = _tiles(client)
    assert after == _from_scratch(alpha.org, NOVEMBER)
    assert int(after["new"]) == int(dropped["new"]) + 1  # the transfer is not new
    assert after["active"] == str(int(dropped["active"]) + 1)
    assert _tiles(client, "month=2026-10") == _from_scratch(alpha.org, OCTOBER)
    assert facts.differences(alpha.org) == []


def test_a_managers_tiles_and_group_fill_follow_enrollment_changes(
    alpha, client_as, django_capture_on_commit_callbacks
):
    _groups, enrollments, _lessons = _network(alpha)
    client = client_as(alpha.manager)
    scope = scope_for(Membership.objects.get(user=alpha.manager, organization=alpha.org))
    branch_groups = list(Facts.load(alpha.org, scope=scope).group_ids)
    _tiles(client)  # the page is computed and cached before the changes
    _change_enrollments(alpha, enrollments, django_capture_on_commit_callbacks)
    assert _tiles(client) == _from_scratch(alpha.org, NOVEMBER, branch_groups)
    # Group fill (enrolled per group) as a count of the open enrollments.
    summary = Facts.load(alpha.org, scope=scope).month_summary(NOVEMBER)
    for row in summary.by_group:
        open_now = Enrollment.objects.filter(group_id=row.group_id, started_on__lte=TODAY).filter(
            Q(ended_on__isnull=True) | Q(ended_on__gt=TODAY)
        )
        assert row.enrolled == open_now.count(), row.group_name


def test_enrollments_inserted_without_events_are_counted_in(alpha, client_as):
    _groups, enrollments, _lessons = _network(alpha)
    client = client_as(alpha.owner)
    _tiles(client)
    # An import writes rows straight to the table: no event, only a newer id.
    for i in range(3):
        f.EnrollmentFactory(
            organization=alpha.org,
            student=f.StudentFactory(organization=alpha.org, branch=alpha.branch, last_name=f"Импорт{i}"),
            group=alpha.group,
            started_on=dt.date(2026, 11, 2 + i),
            status="active",
        )
    assert _tiles(client) == _from_scratch(alpha.org, NOVEMBER)
    assert facts.differences(alpha.org) == []


def test_a_start_later_this_month_is_new_but_not_yet_active(alpha, client_as):
    _network(alpha)
    client = client_as(alpha.owner)
    before = _tiles(client)
    f.EnrollmentFactory(
        organization=alpha.org,
        student=f.StudentFactory(organization=alpha.org, branch=alpha.branch, last_name="Скоро"),
        group=alpha.group,
        started_on=TODAY + dt.timedelta(days=5),
        status="trial",
    )
    after = _tiles(client)
    assert after == _from_scratch(alpha.org, NOVEMBER)
    assert (int(after["new"]), after["active"]) == (int(before["new"]) + 1, before["active"])
