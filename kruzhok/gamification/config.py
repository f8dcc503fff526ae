"""The organisation's gamification configuration, cached per process for awarding.

Every award needs the rules, the automatic badges and the running quests (with their steps and
prerequisites): five reads that change only when a manager edits something. They are kept here per
organisation under the random stamp on its settings row (`GamificationSettings.config_version`). Every
service that edits rules, badges or quests calls `config_changed` inside its own transaction, so the
stamp and the edit commit together and the very next award in any process sees both. An award reads
the stamp together with the attendance mark it loads anyway, so a cached configuration costs no query.

A writer that bypasses the services (queryset.update(), bulk_create, raw SQL) must call
`config_changed` itself; otherwise awards keep the configuration they cached.
"""

import datetime as dt
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.db.models import OuterRef, Subquery

from kruzhok.gamification.models import (
    Badge,
    BadgeRule,
    GamificationSettings,
    Quest,
    QuestPrerequisite,
)

# One entry per organisation: (stamp, configuration). A few kilobytes each.
_cache: dict[int, "OrgConfig"] = {}


@dataclass(frozen=True)
class OrgConfig:
    """Read-only: the objects are shared by every award in the process."""

    version: uuid.UUID
    rules: GamificationSettings
    # Active badges given by a rule (not the teacher's), and active quests with steps prefetched.
    badges: tuple[Badge, ...]
    quests: tuple[Quest, ...]
    requires: dict[int, frozenset[int]]

    def quests_on(self, day: dt.date) -> list[Quest]:
        return [q for q in self.quests if q.starts_on <= day <= q.ends_on]


def version_subquery(org_ref: str = "organization_id") -> Subquery:
    """The organisation's stamp as a column of another query (None when it has no settings row).
    The plain manager: the outer query names the organisation, and a statement compiled once for every
    organisation must not carry the active one's id."""
    return Subquery(
        GamificationSettings.all_objects.filter(organization_id=OuterRef(org_ref))
        .values("config_version")
        .order_by()[:1]
    )


def config_changed(*, org_id: int) -> None:
    """Give the organisation a new stamp; call it inside the transaction of the edit."""
    updated = GamificationSettings.objects.filter(organization_id=org_id).update(config_version=uuid.uuid4())
    if not updated:
        # No rules saved yet: the defaults row carries the stamp (it means the same as no row).
        GamificationSettings.objects.get_or_create(
            organization_id=org_id, defaults={"config_version": uuid.uuid4()}
        )


def _stamp(org_id: int) -> uuid.UUID:
    version = (
        GamificationSettings.objects.filter(organization_id=org_id)
        .values_list("config_version", flat=True)
        .first()
    )
    if version is not None:
        return version
    # Never edited: save the defaults so there is a stamp to cache under. A racing creator wins the
    # unique constraint and get_or_create reads its row instead.
    with transaction.atomic():
        rules, _created = GamificationSettings.objects.get_or_create(organization_id=org_id)
    return rules.config_version


def _load(org_id: int) -> OrgConfig:
    rules = GamificationSettings.objects.get(organization_id=org_id)
    badges = Badge.objects.filter(organization_id=org_id, is_active=True).exclude(rule=BadgeRule.TEACHER)
    quests = (
        Quest.objects.filter(organization_id=org_id, is_active=True)
        .select_related("reward_badge")
        .prefetch_related("steps")
        .order_by("starts_on", "pk")
    )
    requires: dict[int, set[int]] = {}
    for quest_id, required_id in QuestPrerequisite.objects.filter(organization_id=org_id).values_list(
        "quest_id", "required_id"
    ):
        requires.setdefault(quest_id, set()).add(required_id)
    return OrgConfig(
        version=rules.config_version,
        rules=rules,
        badges=tuple(badges),
        quests=tuple(quests),
        requires={quest_id: frozenset(ids) for quest_id, ids in requires.items()},
    )


def config_for(*, org_id: int, version: uuid.UUID | None = None) -> OrgConfig:
    """The organisation's configuration as of `version` (read here when the caller has none)."""
    if version is None:
        version = _stamp(org_id)
    cached = _cache.get(org_id)
    if cached is not None and cached.version == version:
        return cached
    config = _load(org_id)
    # Kept under the stamp read together with the rules, before the badges and quests: what was read
    # is at least that new. A stamp written by a transaction that then rolls back is never seen again,
    # so what was cached under it is simply never used.
    _cache[org_id] = config
    return config
