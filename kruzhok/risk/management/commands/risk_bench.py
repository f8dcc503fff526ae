import statistics
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from kruzhok.accounts.models import Organization
from kruzhok.lib.tenancy import tenant_context
from kruzhok.risk import features as feat
from kruzhok.risk.services import risk_score_compute
from kruzhok.school.models import OPEN_ENROLLMENT_STATUSES, Enrollment


class Command(BaseCommand):
    help = "Nightly scoring speed beside a naive per-enrollment loop, and one-enrollment rescoring latency."

    def add_arguments(self, parser):
        parser.add_argument("--org", help="organisation slug (default: the one with most enrollments)")
        parser.add_argument("--naive-sample", type=int, default=100)
        parser.add_argument("--events", type=int, default=100)

    def handle(self, *args, **options):
        orgs = Organization.objects.all()
        if options["org"]:
            orgs = orgs.filter(slug=options["org"])
        org = max(orgs, key=lambda o: Enrollment.all_objects.filter(organization=o).count(), default=None)
        if org is None:
            raise CommandError("no organisation: run seed_demo first")
        with tenant_context(org.id):
            ids = list(
                Enrollment.objects.filter(organization=org, status__in=OPEN_ENROLLMENT_STATUSES).values_list(
                    "pk", flat=True
                )
            )
            self.stdout.write(f"{org.slug} on {connection.vendor}: {len(ids)} open enrollments")
            started = time.perf_counter()
            data = feat.load_risk_data(org=org)
            load_s = time.perf_counter() - started
            result = risk_score_compute(org=org)
            batch_s = time.perf_counter() - started
            self.stdout.write(
                f"batch: {result['scored']} scored in {batch_s:.2f} s "
                f"({result['scored'] / batch_s:.0f}/s; loading alone {load_s:.2f} s, {len(data.marks)} marks)"
            )
            sample = ids[: options["naive_sample"]]
            started = time.perf_counter()
            for eid in sample:
                risk_score_compute(org=org, enrollment_ids=[eid])
            naive_s = time.perf_counter() - started
            per = naive_s / max(len(sample), 1)
            self.stdout.write(
                f"naive one-by-one: {per * 1000:.1f} ms each → {1 / per:.0f}/s "
                f"(whole organisation ≈ {per * len(ids):.0f} s)"
            )
            latencies = []
            for eid in ids[-options["events"] :]:
                t = time.perf_counter()
                risk_score_compute(org=org, enrollment_ids=[eid])
                latencies.append((time.perf_counter() - t) * 1000)
            if latencies:
                p95 = statistics.quantiles(latencies, n=20)[-1] if len(latencies) > 1 else latencies[0]
                self.stdout.write(
                    f"rescore after an event: median {statistics.median(latencies):.1f} ms, p95 {p95:.1f} ms"
                )
