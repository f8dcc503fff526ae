import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError

from kruzhok.accounts.models import Organization
from kruzhok.lib.tenancy import tenant_context
from kruzhok.risk.training import risk_train


class Command(BaseCommand):
    help = (
        "Train each organisation's dropout model; it goes live only if it beats the prior (weekly task too)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", help="organisation slug (default: all)")
        parser.add_argument("--today", help="YYYY-MM-DD: train as if it were this day")

    def handle(self, *args, **options):
        today = None
        if options["today"]:
            try:
                today = dt.date.fromisoformat(options["today"])
            except ValueError as error:
                raise CommandError("--today must be YYYY-MM-DD") from error
        orgs = Organization.objects.all()
        if options["org"]:
            orgs = orgs.filter(slug=options["org"])
            if not orgs.exists():
                raise CommandError(f"no organisation {options['org']!r}")
        for org in orgs:
            with tenant_context(org.id):
                version = risk_train(org=org, today=today)
            state = "ACTIVE" if version.is_active else "inactive"
            self.stdout.write(f"{org.slug}: version #{version.pk} {version.kind} {state}: {version.note}")
            self.stdout.write(json.dumps(version.metrics, ensure_ascii=False))
