import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError

from kruzhok.accounts.models import Organization
from kruzhok.lib.tenancy import tenant_context
from kruzhok.risk.services import risk_score_compute


class Command(BaseCommand):
    help = "Score dropout risk of every open enrollment (nightly task too)."

    def add_arguments(self, parser):
        parser.add_argument("--org", help="organisation slug (default: all)")
        parser.add_argument("--as-of", help="YYYY-MM-DD (default: today in the organisation's time zone)")

    def handle(self, *args, **options):
        as_of = None
        if options["as_of"]:
            try:
                as_of = dt.date.fromisoformat(options["as_of"])
            except ValueError as error:
                raise CommandError("--as-of must be YYYY-MM-DD") from error
        orgs = Organization.objects.all()
        if options["org"]:
            orgs = orgs.filter(slug=options["org"])
            if not orgs.exists():
                raise CommandError(f"no organisation {options['org']!r}")
        for org in orgs:
            started = time.perf_counter()
            with tenant_context(org.id):
                result = risk_score_compute(org=org, as_of=as_of)
            seconds = time.perf_counter() - started
            rate = result["scored"] / seconds if seconds else 0
            self.stdout.write(
                f"{org.slug}: scored {result['scored']}, new alerts {result['alerts']}, "
                f"{seconds:.2f} s ({rate:.0f}/s)"
            )
