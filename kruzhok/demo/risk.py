"""Demo data for early warning (kruzhok/risk): a trained model where the history allows one, and four
weekly risk scores so cards show a history and alerts are raised. Called by the seed command."""

import datetime as dt

from kruzhok.lib.tenancy import tenant_context


def seed_risk(*, orgs, today: dt.date | None = None) -> dict[str, int]:
    from kruzhok.risk.services import risk_score_compute
    from kruzhok.risk.training import risk_train
    from kruzhok.school.services.people import org_today

    totals = {"scored": 0, "alerts": 0, "trained_active": 0}
    for org in orgs:
        day = today or org_today(org)
        with tenant_context(org.id):
            totals["trained_active"] += int(risk_train(org=org, today=day).is_active)
            for weeks_ago in (3, 2, 1, 0):
                result = risk_score_compute(org=org, as_of=day - dt.timedelta(weeks=weeks_ago))
                totals["alerts"] += result["alerts"]
            totals["scored"] += result["scored"]
    return totals
