"""Branch reads the staff pages (accounts) need: choices for an invitation and who manages what."""

from collections import defaultdict

from django.db.models import QuerySet

from kruzhok.school.models import Branch


def branch_list_for_staff(*, org) -> QuerySet[Branch]:
    return Branch.objects.filter(organization=org).order_by("name")


def branches_by_manager(*, org) -> dict[int, list[Branch]]:
    """user id → the branches that user manages in `org`."""
    result: dict[int, list[Branch]] = defaultdict(list)
    through = Branch.managers.through
    rows = through.objects.filter(branch__organization=org).select_related("branch").order_by("branch__name")
    for row in rows:
        result[row.user_id].append(row.branch)
    return dict(result)
