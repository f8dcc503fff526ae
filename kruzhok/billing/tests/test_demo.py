"""The demo network's billing history keeps the ledger invariant and looks like a real centre's."""

from io import StringIO

import pytest
from django.core.management import call_command

from kruzhok.accounts.models import Organization
from kruzhok.billing import selectors
from kruzhok.billing.checks import ledger_problems
from kruzhok.billing.models import EntryKind, LedgerEntry, MakeupLesson, Subscription, SubscriptionFreeze
from kruzhok.demo.billing import seed_billing

pytestmark = pytest.mark.django_db


def test_the_demo_history_balances_to_the_kopeck():
    call_command("seed_demo", students=60, core_only=True, stdout=StringIO())
    org = Organization.objects.get(slug="demo")
    totals = seed_billing(org=org, families=40)
    assert totals["sales"] > 40 and totals["writeoffs"] > 100
    # Monthly subscriptions sit beside packs; make-ups (if the small network has any) are bookings.
    assert totals["monthly"] > 0
    assert Subscription.objects.filter(organization=org, kind="monthly").count() == totals["monthly"]
    assert MakeupLesson.objects.filter(organization=org).count() == totals["makeups"]
    assert ledger_problems(org_id=org.pk) == []
    out = StringIO()
    call_command("billing_check", stdout=out)
    assert "every balance equals" in out.getvalue()
    # Renewals, debts and freezes all occur.
    assert (
        Subscription.objects.filter(organization=org).values("student").distinct().count() < totals["sales"]
    )
    accounts = list(selectors.account_list(membership=org.memberships.filter(role="owner").first()))
    assert any(a.balance < 0 for a in accounts)
    assert SubscriptionFreeze.objects.filter(organization=org).exists() or totals["freezes"] == 0
    for account in accounts:
        entries = LedgerEntry.objects.filter(account=account)
        assert account.balance == sum(e.amount for e in entries)
    assert LedgerEntry.objects.filter(organization=org, kind=EntryKind.WRITEOFF).exists()
