from celery import shared_task


@shared_task
def analytics_facts_rebuild_task() -> dict[str, int]:
    """Nightly: the monthly facts counted from scratch, so anything a handler missed (a deleted lesson,
    an edit made outside the services) is corrected within a day."""
    from kruzhok.analytics.facts import rebuild
    from kruzhok.lib.tenancy import for_each_organisation

    return for_each_organisation(rebuild, count_key="rows")
