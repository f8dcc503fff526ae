from django.core.management.base import BaseCommand, CommandError

from kruzhok.billing.checks import ledger_problems
from kruzhok.lib.tenancy import unscoped


class Command(BaseCommand):
    help = "Checks that every balance and subscription agrees with its ledger entries."

    def add_arguments(self, parser):
        parser.add_argument("--org", type=int, default=None, help="only this organisation id")

    def handle(self, *args, org=None, **options):
        with unscoped():
            problems = ledger_problems(org_id=org)
        for problem in problems:
            self.stdout.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} billing problem(s) found")
        self.stdout.write(self.style.SUCCESS("billing: every balance equals the sum of its entries"))
