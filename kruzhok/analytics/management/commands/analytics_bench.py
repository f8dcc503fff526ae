"""Dashboard speed as a user gets it: the app served by gunicorn on a loopback port against the database
in DATABASE_URL, driven by a small threaded HTTP client (requests + threads: locust's own process
model was more than this needs). Per page, p50/p95 in three ways in the same run:

- *facts + cache*: as served (monthly facts, version-keyed cache);
- *after a mark*: the same, but every request comes right after an attendance mark written through
  the service (its handler recounts one fact row and moves the page version), so nothing cached for
  the page's HTML survives — what the first visitor after a change gets;
- *baseline*: no facts and no cache (KRUZHOK_ANALYTICS_FACTS=false, KRUZHOK_ANALYTICS_CACHE=false),
  the organisation's marks scanned on every request. Every page gets one; a page whose baseline answer
  takes longer than --baseline-budget seconds is measured with fewer requests (at least one), and the
  table says how many.
"""

import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from kruzhok.accounts.models import Membership, Role
from kruzhok.demo.seeding import DEMO_PASSWORD, DEMO_SLUG

PAGES = [
    ("owner", "/analytics/"),
    ("owner", "/analytics/?month={prev}"),
    ("owner", "/analytics/retention/?by=teacher"),
    ("owner", "/analytics/compare/?unit=teacher&metric=retention"),
    ("owner", "/analytics/children/?metric=dropped&month={prev}"),
    ("owner", "/api/v1/analytics/summary"),
    ("manager", "/analytics/"),
    ("teacher", "/analytics/"),
    # The children behind the tiles: churned this month, at risk, and the manager's debtors list.
    ("owner", "/analytics/children/?metric=dropped"),
    ("owner", "/analytics/children/?metric=at_risk"),
    ("manager", "/billing/debtors/"),
    ("owner", "/analytics/retention/?by=course"),
]
TARGET_P95_MS = 300


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


class Server:
    def __init__(self, *, cache: bool, workers: int):
        self.port = _free_port()
        self.log = tempfile.TemporaryFile()
        self.base = f"http://127.0.0.1:{self.port}"
        flag = "true" if cache else "false"
        env = {**os.environ, "KRUZHOK_ANALYTICS_CACHE": flag, "KRUZHOK_ANALYTICS_FACTS": flag}
        gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
        self.proc = subprocess.Popen(
            [
                gunicorn,
                "config.wsgi",
                "-b",
                f"127.0.0.1:{self.port}",
                "-w",
                str(workers),
                "--timeout",
                "300",
                "--log-level",
                "warning",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            # A file, not a pipe: a full pipe would block a chatty server mid-run.
            stderr=self.log,
            start_new_session=True,
        )

    def wait(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise CommandError("gunicorn stopped: " + self.log.read().decode()[-2000:])
            try:
                if requests.get(self.base + "/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise CommandError("gunicorn did not answer /healthz in time")

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def login(base: str, username: str) -> requests.Session:
    session = requests.Session()
    page = session.get(base + "/accounts/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    if token is None:
        raise CommandError("no CSRF token on the login page")
    answer = session.post(
        base + "/accounts/login/",
        data={"username": username, "password": DEMO_PASSWORD, "csrfmiddlewaretoken": token.group(1)},
        headers={"Referer": base + "/accounts/login/"},
        timeout=30,
        allow_redirects=False,
    )
    if answer.status_code != 302:
        raise CommandError(f"could not log in as {username}")
    return session


class Marker:
    """Writes attendance marks through the service, as a teacher taking the register does: each one
    recounts its fact row and moves the organisation's page version (the handlers run here)."""

    def __init__(self, org):
        from django.utils import timezone

        from kruzhok.attendance.models import AttendanceMark
        from kruzhok.school.models import Lesson

        # Recent lessons first, then their marks: one join sorted over every mark took minutes.
        lessons = list(
            Lesson.all_objects.filter(
                organization=org,
                starts_at__lt=timezone.now(),
                status="scheduled",
                attendance_taken_at__isnull=False,
            )
            .order_by("-starts_at")
            .values_list("pk", flat=True)[:30]
        )
        self.marks = list(
            AttendanceMark.all_objects.filter(organization=org, lesson_id__in=lessons).select_related(
                "lesson", "student"
            )[:200]
        )
        if not self.marks:
            raise CommandError("the demo has no marks to change")
        self.owner = Membership.objects.get(organization=org, user__username="owner").user
        self.turn = 0

    def mark(self) -> None:
        from django.db import transaction

        from kruzhok.attendance.services import attendance_mark
        from kruzhok.lib.tenancy import tenant_context

        mark = self.marks[self.turn % len(self.marks)]
        self.turn += 1
        status = "absent" if mark.status != "absent" else "present"
        with tenant_context(mark.organization_id), transaction.atomic():
            attendance_mark(lesson=mark.lesson, student=mark.student, status=status, actor=self.owner)
        mark.status = status


def drive_after_marks(
    base: str, sessions: dict, url: str, who: str, *, requests_n: int, marker
) -> list[float]:
    """requests_n GETs one after another, each right after a mark; seconds per answer (mark not counted)."""
    session = requests.Session()
    session.cookies.update(sessions[who].cookies)
    timings = []
    for _ in range(requests_n):
        marker.mark()
        started = time.perf_counter()
        answer = session.get(base + url, timeout=300)
        timings.append(time.perf_counter() - started)
        if answer.status_code != 200:
            raise CommandError(f"{url} → {answer.status_code}")
    return timings


def drive_within(
    base: str, sessions: dict, url: str, who: str, *, requests_n: int, threads: int, budget_s: float
) -> list[float]:
    """Up to requests_n GETs from `threads` clients at once (as the served pages are driven, so both
    columns see the same contention), starting no new request once budget_s has gone; every client
    sends at least one. The baseline of the retention page takes more than a minute a request."""
    timings: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + budget_s
    started_n = [0]

    def worker():
        session = requests.Session()
        session.cookies.update(sessions[who].cookies)
        first = True
        while True:
            with lock:
                if started_n[0] >= requests_n or (not first and time.perf_counter() >= deadline):
                    return
                started_n[0] += 1
            first = False
            started = time.perf_counter()
            answer = session.get(base + url, timeout=600)
            elapsed = time.perf_counter() - started
            with lock:
                if answer.status_code != 200:
                    errors.append(f"{url} → {answer.status_code}")
                timings.append(elapsed)

    pool = [threading.Thread(target=worker) for _ in range(max(1, min(threads, requests_n)))]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        raise CommandError("; ".join(errors[:3]))
    return timings


def drive(base: str, sessions: dict, url: str, who: str, *, requests_n: int, threads: int) -> list[float]:
    """requests_n GETs of one page from `threads` clients at once; seconds per answer."""
    return drive_within(base, sessions, url, who, requests_n=requests_n, threads=threads, budget_s=math.inf)


class Command(BaseCommand):
    help = "p50/p95 of every analytics dashboard served over loopback, with and without the analytics cache."

    def add_arguments(self, parser):
        parser.add_argument("--requests", type=int, default=40, help="requests per page with the cache")
        parser.add_argument("--requests-uncached", type=int, default=8, help="requests per page without it")
        parser.add_argument(
            "--requests-after-mark", type=int, default=8, help="requests per page, each after a mark"
        )
        parser.add_argument(
            "--no-baseline",
            action="store_true",
            help="skip the pages without facts and cache (the retention page takes ~80 s a request there)",
        )
        parser.add_argument(
            "--baseline-budget",
            type=float,
            default=60.0,
            help="seconds per page for the baseline: a slower page gets fewer requests (at least one)",
        )
        parser.add_argument("--threads", type=int, default=4)
        parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
        parser.add_argument(
            "--pages",
            default="",
            help="numbers of the pages to drive, e.g. 1,2,7 (default: all; 1 is the first)",
        )

    def handle(self, *args, **options):
        from kruzhok.accounts.models import Organization
        from kruzhok.lib.dates import org_today
        from kruzhok.school.models import Enrollment

        org = Organization.objects.filter(slug=DEMO_SLUG).first()
        if org is None:
            raise CommandError("no demo organisation: run seed_demo first")
        users = {}
        for role, username in ((Role.OWNER, "owner"), (Role.MANAGER, "manager"), (Role.TEACHER, "teacher")):
            if not Membership.objects.filter(organization=org, role=role, user__username=username).exists():
                raise CommandError(f"the demo has no {username}")
            users[role.value] = username
        today = org_today(org)
        prev = (today.replace(day=1) - __import__("datetime").timedelta(days=1)).strftime("%Y-%m")
        enrollments = Enrollment.all_objects.filter(organization=org).count()
        self.stdout.write(
            f"analytics_bench: {org.name}, {enrollments} enrollments, {connection.vendor}; gunicorn "
            f"{options['workers']} workers on loopback, threaded client ({options['threads']} at once)"
        )
        from kruzhok.analytics import facts

        pages = PAGES
        if options["pages"]:
            try:
                pages = [PAGES[int(n) - 1] for n in options["pages"].split(",")]
            except (ValueError, IndexError) as exc:
                raise CommandError(f"--pages takes numbers from 1 to {len(PAGES)}") from exc

        started = time.perf_counter()
        rows = facts.rebuild(org)
        self.stdout.write(f"  monthly facts rebuilt: {rows} rows in {time.perf_counter() - started:.1f} s")
        marker = Marker(org)
        results = {}
        for cache_on in (True,) if options["no_baseline"] else (True, False):
            server = Server(cache=cache_on, workers=options["workers"])
            try:
                server.wait()
                sessions = {who: login(server.base, username) for who, username in users.items()}
                n = options["requests"] if cache_on else options["requests_uncached"]
                if not cache_on:
                    # Nothing is cached here, so one warm-up per worker (imports, templates) is enough;
                    # a round per page would cost minutes on the retention page.
                    warm = "/analytics/"
                    drive(
                        server.base,
                        sessions,
                        warm,
                        "owner",
                        requests_n=options["workers"],
                        threads=options["workers"],
                    )
                for who, template in pages:
                    url = template.format(prev=prev)
                    cold_started = time.perf_counter()
                    if cache_on:
                        # Every worker computes its first answer cold; the first round is not counted.
                        drive(
                            server.base,
                            sessions,
                            url,
                            who,
                            requests_n=options["workers"] * 2,
                            threads=options["workers"],
                        )
                        cold_started = time.perf_counter()
                        results[(cache_on, who, url)] = drive(
                            server.base, sessions, url, who, requests_n=n, threads=options["threads"]
                        )
                    else:
                        results[(cache_on, who, url)] = drive_within(
                            server.base,
                            sessions,
                            url,
                            who,
                            requests_n=n,
                            threads=options["threads"],
                            budget_s=options["baseline_budget"],
                        )
                    self.stdout.write(
                        f"  {'cache' if cache_on else 'no cache'} {who} {url}: {len(results[(cache_on, who, url)])} "
                        f"requests in {time.perf_counter() - cold_started:.1f} s"
                    )
                    if cache_on:
                        results[("mark", who, url)] = drive_after_marks(
                            server.base,
                            sessions,
                            url,
                            who,
                            requests_n=options["requests_after_mark"],
                            marker=marker,
                        )
            finally:
                server.stop()
        self.stdout.write("")
        header = (
            f"{'page':58} {'facts+cache p50':>15} {'p95':>7} {'after mark p50':>15} {'p95':>7} "
            f"{'baseline p50':>13} {'p95':>7} {'n':>3}"
        )
        self.stdout.write(header)
        worst = 0.0
        for who, template in pages:
            url = template.format(prev=prev)
            on, marked, off = (
                results[(True, who, url)],
                results[("mark", who, url)],
                results.get((False, who, url), []),
            )
            p95 = max(_percentile(on, 0.95), _percentile(marked, 0.95)) * 1000
            worst = max(worst, p95)
            self.stdout.write(
                f"{who + ' ' + url:58} {statistics.median(on) * 1000:>13.0f}ms {_percentile(on, 0.95) * 1000:>5.0f}ms "
                f"{statistics.median(marked) * 1000:>13.0f}ms {_percentile(marked, 0.95) * 1000:>5.0f}ms "
                + (
                    f"{statistics.median(off) * 1000:>11.0f}ms {_percentile(off, 0.95) * 1000:>5.0f}ms "
                    f"{len(off):>3}"
                    if off
                    else f"{'—':>13} {'—':>7}"
                )
            )
        short = [
            f"{who} {template.format(prev=prev)}"
            for who, template in pages
            if 0
            < len(results.get((False, who, template.format(prev=prev)), []))
            < options["requests_uncached"]
        ]
        if short:
            self.stdout.write(
                f"baseline: fewer than {options['requests_uncached']} requests (n; one per client at "
                f"least) where the answers outlasted the {options['baseline_budget']:.0f} s budget: "
                + "; ".join(short)
            )
        verdict = "within" if worst <= TARGET_P95_MS else "OVER"
        self.stdout.write(
            f"worst p95 with facts and cache (also right after a mark): {worst:.0f} ms — "
            f"{verdict} the {TARGET_P95_MS} ms target"
        )
