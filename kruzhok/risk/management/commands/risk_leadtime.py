import json

from django.core.management.base import BaseCommand, CommandError

from kruzhok.accounts.models import Organization
from kruzhok.lib.tenancy import tenant_context
from kruzhok.risk.training import lead_time_replay


class Command(BaseCommand):
    help = "How many weeks before leaving the engine flags a child: weekly replay over the organisation's history."

    def add_arguments(self, parser):
        parser.add_argument("--org", help="organisation slug (default: all)")
        parser.add_argument("--weeks", type=int, default=26)

    def handle(self, *args, **options):
        if not 1 <= options["weeks"] <= 104:
            raise CommandError("--weeks must be between 1 and 104")
        orgs = Organization.objects.all()
        if options["org"]:
            orgs = orgs.filter(slug=options["org"])
            if not orgs.exists():
                raise CommandError(f"no organisation {options['org']!r}")
        for org in orgs:
            with tenant_context(org.id):
                result = lead_time_replay(org=org, weeks=options["weeks"])
            self.stdout.write(f"{org.slug}: {json.dumps(result, ensure_ascii=False)}")
