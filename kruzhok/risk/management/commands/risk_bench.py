import os
import statistics
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kruzhok.accounts.models import Organization
from kruzhok.lib.tenancy import tenant_context
from kruzhok.risk.handlers import rescore
from kruzhok.risk.services import risk_score_compute
from kruzhok.school.models import OPEN_ENROLLMENT_STATUSES, Enrollment

STAGES = ("load", "features", "predict", "explain", "decline", "store", "alerts")


class Command(BaseCommand):
    help = (
        "Nightly scoring speed (features, prediction, explanations, storage) beside a naive per-enrollment "
        "loop measured in the same run, and the latency of rescoring one enrollment after an event."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", help="organisation slug (default: the one with most enrollments)")
        parser.add_argument("--naive-sample", type=int, default=100)
        parser.add_argument("--events", type=int, default=100)
        parser.add_argument(
            "--rescore-only",
            action="store_true",
            help="only the latency of rescoring one enrollment after an event (skips the nightly batch)",
        )

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
            # Warm-up on a few enrollments: imports (lightgbm, scipy) are paid once per process.
            risk_score_compute(org=org, enrollment_ids=ids[:5], raise_alerts=False)
            # A running worker has its URLconf loaded (alert notifications build links): load it here, or
            # the first alert of the timed loop pays for importing every app's views.
            reverse("risk:alerts")
            if options["rescore_only"]:
                self._rescore_latency(org, ids, options["events"])
                return

            # CPU seconds of this process beside wall seconds: on a shared, busy machine the wall clock
            # also counts waiting for a core (SQLite work is in-process, so it is in the CPU figure;
            # PostgreSQL's is in its server process, read from /proc when the server runs on this host).
            timings: dict[str, float] = {}
            server = _server_cpu()
            started, cpu = time.perf_counter(), time.process_time()
            result = risk_score_compute(org=org, raise_alerts=False, timings=timings)
            batch_s, batch_cpu = time.perf_counter() - started, time.process_time() - cpu
            server = _server_cpu() - server if server is not None else None
            rate = result["scored"] / batch_s
            stages = ", ".join(f"{k} {timings[k]:.2f}" for k in STAGES if k in timings)
            on_server = (
                f", + server CPU {server:.2f} s → {result['scored'] / (batch_cpu + server):.0f}/s"
                if server is not None
                else ""
            )
            self.stdout.write(
                f"nightly batch: {result['scored']} scored in {batch_s:.2f} s → {rate:.0f}/s "
                f"(CPU {batch_cpu:.2f} s → {result['scored'] / batch_cpu:.0f}/s{on_server}; target 5000/s; "
                f"load average {os.getloadavg()[0]:.1f}; stages, s: {stages})"
            )
            started = time.perf_counter()
            again = risk_score_compute(org=org, raise_alerts=True)
            self.stdout.write(
                f"with alerts (second run, rows overwritten): {time.perf_counter() - started:.2f} s, "
                f"{again['alerts']} new alerts"
            )

            sample = ids[: options["naive_sample"]]
            server = _server_cpu()
            started, cpu = time.perf_counter(), time.process_time()
            for eid in sample:
                risk_score_compute(org=org, enrollment_ids=[eid], raise_alerts=False)
            count = max(len(sample), 1)
            per, per_cpu = (time.perf_counter() - started) / count, (time.process_time() - cpu) / count
            server = (_server_cpu() - server) / count if server is not None else None
            on_server = f", + server CPU {server * 1000:.1f} ms" if server is not None else ""
            self.stdout.write(
                f"baseline, naive one-by-one ({len(sample)} enrollments): {per * 1000:.1f} ms each → "
                f"{1 / per:.0f}/s (CPU {per_cpu * 1000:.1f} ms each → {1 / per_cpu:.0f}/s{on_server}; "
                f"whole organisation ≈ {per * len(ids):.0f} s); batch is {rate * per:.0f}× faster in wall "
                f"time, {per_cpu * result['scored'] / batch_cpu:.0f}× in CPU; load average {os.getloadavg()[0]:.1f}"
            )

            self._rescore_latency(org, ids, options["events"])

    def _rescore_latency(self, org, ids: list[int], events: int) -> None:
        """What an event handler does for the one enrollment it touches (handlers.rescore), timed per
        event in wall and CPU milliseconds (this thread's CPU: SQLite's work included, PostgreSQL's
        server not), with its SQL statements counted. Beside it, in the same run and interleaved so the
        machine's load hits both alike, the baseline: the same handler with every statement built by the
        ORM and the per-organisation rows read afresh (prepared statements and the static cache off)."""
        from kruzhok.lib import prepared
        from kruzhok.risk import orgcache

        runs: dict[str, dict[str, list[float]]] = {
            name: {"wall": [], "cpu": [], "queries": []} for name in ("fast", "baseline")
        }
        for k, eid in enumerate(ids[-events:]):
            order = ("fast", "baseline") if k % 2 == 0 else ("baseline", "fast")
            for name in order:
                prepared.ENABLED = orgcache.ENABLED = name == "fast"
                # The log keeps 9,000 statements; once full, a capture counts 0 and Django warns on every read.
                connection.queries_log.clear()
                try:
                    with CaptureQueriesContext(connection) as captured:
                        t, c = time.perf_counter(), time.thread_time()
                        rescore(organization_id=org.id, enrollment_id=eid)
                        wall, cpu = time.perf_counter() - t, time.thread_time() - c
                finally:
                    prepared.ENABLED = orgcache.ENABLED = True
                runs[name]["wall"].append(wall * 1000)
                runs[name]["cpu"].append(cpu * 1000)
                runs[name]["queries"].append(len(captured.captured_queries))
        if not runs["fast"]["wall"]:
            return
        for name, label in (
            ("fast", "rescore one enrollment after an event"),
            ("baseline", "baseline (ORM)"),
        ):
            r = runs[name]
            self.stdout.write(
                f"{label} ({len(r['wall'])} events, alerts included): wall median "
                f"{statistics.median(r['wall']):.1f} ms, p95 {_p95(r['wall']):.1f} ms; CPU median "
                f"{statistics.median(r['cpu']):.1f} ms, p95 {_p95(r['cpu']):.1f} ms; SQL statements median "
                f"{statistics.median(r['queries']):.0f}, max {max(r['queries'])}"
            )
        self.stdout.write(
            f"target p95 ≤ 50 ms; CPU p95 {_p95(runs['baseline']['cpu']) / _p95(runs['fast']['cpu']):.1f}× lower "
            f"than the baseline; load average {os.getloadavg()[0]:.1f}"
        )


def _server_cpu() -> float | None:
    """CPU seconds the PostgreSQL backend of this connection has used so far, when the server runs on this
    machine and /proc shows it (None otherwise, and always on SQLite, whose work is in this process)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]
