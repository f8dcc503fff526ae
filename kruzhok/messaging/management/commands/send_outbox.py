import time

from django.core.management.base import BaseCommand, CommandError

from kruzhok.messaging.services import deliveries_unconfirmed_cascade, outbox_drain


class Command(BaseCommand):
    help = "Send queued messages (email, Telegram, in-app). Runs until stopped; --once makes one pass."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="one pass over due deliveries, then exit")
        parser.add_argument("--limit", type=int, default=200, help="deliveries per pass (1-10000)")
        parser.add_argument("--interval", type=float, default=2.0, help="seconds between passes")

    def handle(self, *args, once=False, limit=200, interval=2.0, **options):
        if not 1 <= limit <= 10000:
            raise CommandError("--limit must be between 1 and 10000")
        while True:
            # Deliveries past their confirmation window queue their next channel before the pass.
            moved = deliveries_unconfirmed_cascade()
            totals = outbox_drain(limit=limit)
            if moved:
                totals["unconfirmed_moved_on"] = moved
            if once or totals.get("claimed"):
                self.stdout.write(", ".join(f"{k}: {v}" for k, v in sorted(totals.items())))
            if once:
                return
            time.sleep(max(0.1, interval))
