"""Who manages which branch. Accounts invites staff; school owns Branch.managers, so the write lives here."""

from collections.abc import Iterable

from django.db import transaction

from kruzhok.school.models import Branch


def branch_managers_set(*, branch: Branch, users: Iterable) -> Branch:
    """Replace the branch's managers with exactly `users`."""
    with transaction.atomic():
        branch.managers.set(list(users))
    return branch
