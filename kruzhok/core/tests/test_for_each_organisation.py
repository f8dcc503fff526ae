import pytest

from kruzhok.lib.tenancy import _active, active_organization_id, for_each_organisation

pytestmark = pytest.mark.django_db


def test_each_organisation_runs_in_its_own_tenant_and_counts_add_up(alpha, beta):
    seen = []

    def job(*, org, bonus):
        seen.append((org.slug, active_organization_id()))
        return {"sent": 1 + bonus}

    token = _active.set(None)  # as in a Celery worker
    try:
        totals = for_each_organisation(job, bonus=1)
    finally:
        _active.reset(token)
    assert seen == [("alpha", alpha.org.pk), ("beta", beta.org.pk)]
    assert totals == {"organizations": 2, "failed": 0, "sent": 4}


def test_one_organisations_failure_does_not_stop_the_others(alpha, beta):
    def job(*, org):
        if org.slug == "alpha":
            raise RuntimeError("broken data")
        return 3

    assert for_each_organisation(job, count_key="messages") == {
        "organizations": 1,
        "failed": 1,
        "messages": 3,
    }
