"""Rebuild the monthly facts from scratch, or check them against a count from scratch (0 differences)."""

from django.core.management.base import BaseCommand, CommandError

from kruzhok.accounts.models import Organization
from kruzhok.analytics import facts
from kruzhok.lib.tenancy import tenant_context, unscoped


class Command(BaseCommand):
    help = "Monthly facts of the dashboards: --rebuild them, or --check them against a count from scratch."

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true", help="count every (group, month) again")
        parser.add_argument(
            "--check", action="store_true", help="compare the facts with a count from scratch"
        )
        parser.add_argument("--org", help="one organisation's slug (default: all)")

    def handle(self, *args, **options):
        if not options["rebuild"] and not options["check"]:
            raise CommandError("say --rebuild or --check")
        with unscoped():
            orgs = Organization.objects.order_by("pk")
            if options["org"]:
                orgs = orgs.filter(slug=options["org"])
            orgs = list(orgs)
        if options["org"] and not orgs:
            raise CommandError(f"no organisation {options['org']!r}")
        total_diff = 0
        for org in orgs:
            with tenant_context(org.pk):
                if options["rebuild"]:
                    rows = facts.rebuild(org)
                    self.stdout.write(f"{org.slug}: {rows} rows rebuilt")
                if options["check"]:
                    diff = facts.differences(org)
                    total_diff += len(diff)
                    self.stdout.write(f"{org.slug}: {len(diff)} differences")
                    for group_id, month, kept, counted in diff[:20]:
                        self.stdout.write(
                            f"  group {group_id} {month:%Y-%m}: stored {kept} counted {counted}"
                        )
        if total_diff:
            raise CommandError(f"{total_diff} differences")
