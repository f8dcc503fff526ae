from django.core.management.base import BaseCommand, CommandError

from kruzhok.accounts.models import Organization
from kruzhok.gamification.services import xp_rebuild
from kruzhok.lib.tenancy import tenant_context, unscoped


class Command(BaseCommand):
    help = (
        "Recompute every child's XP from the award ledger and the attendance marks. With --check, only "
        "report differences (exit code 1 if any); without it, settle them."
    )

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="report differences, change nothing")
        parser.add_argument("--org", help="only this organisation (slug)")

    def handle(self, *args, check: bool = False, org: str | None = None, **options):
        with unscoped():
            orgs = list(Organization.objects.order_by("slug"))
        if org:
            orgs = [o for o in orgs if o.slug == org]
            if not orgs:
                raise CommandError(f"no organisation with slug {org!r}")
        problems: list[str] = []
        for organization in orgs:
            with tenant_context(organization.pk):
                problems += xp_rebuild(org=organization, fix=not check)
        for line in problems:
            self.stdout.write(line)
        if check and problems:
            raise CommandError(f"{len(problems)} difference(s) between totals and the event history")
        verb = "found" if check else "settled"
        self.stdout.write(
            self.style.SUCCESS(f"{verb} {len(problems)} difference(s) in {len(orgs)} organisation(s)")
        )
