"""The latest-score rows behind «В зоне риска» and «Выручка под риском» are read once per enrollment
version and patched with the day's scores written since: a child scored for the first time today, and
a night's worth of new scores, must show on the next view exactly as a computation from scratch."""

import pytest

from kruzhok.analytics import selectors
from kruzhok.analytics.tests.conftest import TODAY
from kruzhok.analytics.tests.scenario import rescore_in_place_then_pay, risk_score, scored_network
from kruzhok.analytics.tests.test_risk_figures import _risk_figures, _same
from kruzhok.risk.models import RiskScore

pytestmark = pytest.mark.django_db


@pytest.fixture
def alpha(alpha):
    alpha.course.price_per_month = "4300.00"
    alpha.course.save(update_fields=["price_per_month"])
    return alpha


def test_a_child_scored_for_the_first_time_today_counts_on_the_next_view(alpha, monkeypatch):
    open_now = scored_network(alpha, [0.1, 0.2, 0.9])
    newcomer = next(e for e in open_now if e.group.is_active)
    RiskScore.objects.filter(enrollment=newcomer).delete()
    before = _same(alpha, monkeypatch)
    _risk_figures(alpha, monkeypatch, served=True)  # the rows are now cached without the newcomer

    risk_score(alpha, newcomer, 0.97, TODAY)

    after = _same(alpha, monkeypatch)
    assert after[1][2] == before[1][2] + 1  # November: one more child at risk
    assert after[1][1] > before[1][1]


def test_a_night_of_new_scores_is_read_again_not_patched(
    alpha, monkeypatch, django_capture_on_commit_callbacks
):
    open_now = scored_network(alpha, [0.1, 0.2])
    before = _same(alpha, monkeypatch)
    _risk_figures(alpha, monkeypatch, served=True)
    # Fewer changed scores than the whole network count as "a night" here.
    monkeypatch.setattr(selectors, "REREAD_AFTER", 2)
    for e in open_now[:3]:
        risk_score(alpha, e, 0.95, TODAY)
    # Rewritten in place, the scores move no id: the event that caused them moves the page version.
    rescore_in_place_then_pay(alpha, open_now[3], 0.95, django_capture_on_commit_callbacks, key="night")

    after = _same(alpha, monkeypatch)
    assert after[1][2] > before[1][2]
