"""A branch manager's debtors and renewals on the dashboard: the families of their branches' children
only, and each change of money or of the branch's families on the very next view (the scope's ids are
kept per enrollment version, the lists per money version)."""

import re

import pytest
from django.urls import reverse

from kruzhok.billing import services
from kruzhok.billing.tests.helpers import pack_plan, sell
from kruzhok.school.models import StudentGuardian
from kruzhok.testing import factories as f

pytestmark = pytest.mark.django_db


def _card(client, title: str) -> str:
    html = client.get(reverse("analytics:dashboard")).content.decode()
    match = re.search(rf"<h3>{title}.*?</div>", html, re.S)
    assert match, f"no «{title}» card"
    return match.group(0)


def _sell_to(world, plan, student):
    return services.subscription_sell(org=world.org, actor=world.owner, student=student, plan=plan)


def _family_in(world, branch, name: str):
    student = f.StudentFactory(organization=world.org, branch=branch, last_name=name)
    group = f.GroupFactory(organization=world.org, course=world.course, branch=branch, teacher=world.teacher)
    f.EnrollmentFactory(organization=world.org, student=student, group=group)
    guardian = f.GuardianFactory(organization=world.org, full_name=f"{name} Мама")
    StudentGuardian.objects.create(
        organization=world.org, student=student, guardian=guardian, relation="mother"
    )
    return student, guardian


def test_a_manager_sees_debtors_of_their_branch_only_and_each_change_on_the_next_view(client_as, alpha):
    plan = pack_plan(alpha, price="4800", lessons=2, name="Два занятия")
    mine = sell(alpha, plan)  # alpha.student, in the manager's branch: owes 4 800
    _stranger, stranger_parent = _family_in(alpha, alpha.other_branch, "Чужой")
    _sell_to(alpha, plan, _stranger)
    client = client_as(alpha.manager)

    debtors = _card(client, "Должники")
    assert alpha.guardian.full_name in debtors and stranger_parent.full_name not in debtors
    renewals = _card(client, "Пора продлить абонемент")  # two lessons left: time to renew
    assert alpha.student.last_name in renewals and "Чужой" not in renewals

    # A new family of the manager's branch after the scope was read: it shows on the next view.
    newcomer, newcomer_parent = _family_in(alpha, alpha.branch, "Новенький")
    _sell_to(alpha, plan, newcomer)
    debtors = _card(client, "Должники")
    assert newcomer_parent.full_name in debtors and stranger_parent.full_name not in debtors

    # A payment clears the family's debt on the next view.
    services.payment_take(
        org=alpha.org, account=mine.account, amount="4800", method="cash", actor=None, idempotency_key="pay"
    )
    debtors = _card(client, "Должники")
    assert alpha.guardian.full_name not in debtors and newcomer_parent.full_name in debtors
