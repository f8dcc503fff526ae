from celery import shared_task

from kruzhok.lib.tenancy import tenant_context


@shared_task
def risk_score_all_task() -> dict[str, int]:
    """Nightly (see CELERY_BEAT_SCHEDULE): score every open enrollment of every organisation."""
    from kruzhok.risk.services import risk_score_all

    return risk_score_all()


@shared_task
def risk_train_all_task() -> dict[str, int]:
    """Weekly: retrain each organisation; a trained model goes live only if it beats the prior."""
    from kruzhok.accounts.models import Organization
    from kruzhok.risk.training import risk_train

    active = 0
    orgs = list(Organization.objects.all())
    for org in orgs:
        with tenant_context(org.id):
            active += int(risk_train(org=org).is_active)
    return {"orgs": len(orgs), "trained_active": active}


@shared_task
def risk_alerts_daily_task() -> dict[str, int]:
    """Daily: escalate alerts nobody acknowledged, settle how earlier alerts ended (docs/risk.md)."""
    from kruzhok.risk.alerts import alerts_daily

    return alerts_daily()
