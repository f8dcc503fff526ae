"""Times the data-quality checks and each report on one organisation (read-only; use a copy of the
demo network: `DATABASE_URL=sqlite:///var/bench-<you>.sqlite3 manage.py reports_timing --org 1`)."""

import time

from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from kruzhok.accounts.models import Membership, Organization, Role
from kruzhok.dataquality.checks import CHECKS
from kruzhok.lib.dates import org_today
from kruzhok.lib.tenancy import tenant_context
from kruzhok.reports import documents
from kruzhok.reports.params import month_key, previous_month, report_params_clean
from kruzhok.school.models import Branch


class Command(BaseCommand):
    help = "Prints how long each data-quality check and each report takes on one organisation."

    def add_arguments(self, parser):
        parser.add_argument("--org", type=int, required=True, help="organisation id")
        parser.add_argument("--skip-exports", action="store_true", help="leave out the big table exports")

    def handle(self, *args, **options):
        org = Organization.objects.filter(pk=options["org"]).first()
        if org is None:
            raise CommandError("no such organisation")
        reverse("core:home")  # import every URL module before the clock starts
        today = org_today(org)
        with tenant_context(org.pk):
            owner = (
                Membership.objects.filter(organization=org, role=Role.OWNER, is_active=True)
                .select_related("organization", "user")
                .first()
            )
            if owner is None:
                raise CommandError("the organisation has no owner")
            started = time.perf_counter()
            for check in CHECKS:
                t = time.perf_counter()
                rows = len(check.find(org, None, today))
                self.stdout.write(f"check  {check.key:32s} {rows:7d} rows {time.perf_counter() - t:8.2f} s")
            self.stdout.write(f"check  {'all':32s} {'':12s} {time.perf_counter() - started:8.2f} s")
            branch = Branch.objects.filter(organization=org).order_by("pk").first()
            month = month_key(previous_month(today))
            cases = [
                ("branch_month", {"branch_id": branch.pk, "month": month, "format": "pdf"}),
                ("branch_month", {"branch_id": branch.pk, "month": month, "format": "xlsx"}),
                ("teacher_payroll", {"month": month, "month_to": month}),
                ("journal", {"month": month, "branch_id": branch.pk}),
            ]
            if not options["skip_exports"]:
                cases += [
                    ("export", {"table": "students", "format": "xlsx"}),
                    (
                        "export",
                        {
                            "table": "attendance",
                            "format": "csv",
                            "date_from": f"{month}-01",
                            "date_to": f"{month}-28",
                        },
                    ),
                ]
            for kind, data in cases:
                params = report_params_clean(membership=owner, kind=kind, data=data, today=today)
                t = time.perf_counter()
                document = documents.build(
                    membership=owner, kind=kind, params=params, progress=lambda p: None
                )
                label = f"{kind} {params.get('table') or params['format']}"
                self.stdout.write(
                    f"report {label:32s} {len(document.content) / 1024:7.0f} KB  {time.perf_counter() - t:8.2f} s"
                )
