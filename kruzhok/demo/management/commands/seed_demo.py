import datetime as dt

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from kruzhok.demo import seeding
from kruzhok.lib.tenancy import unscoped


class Command(BaseCommand):
    help = (
        "Loads the demo network «Демо-центр «Кружок»» (owner, manager, teacher, parent, student) and the "
        "small «Студия «Радуга»» (owner2), with a school year of lessons, attendance and dropouts. "
        "Development only. The same --seed on the same day gives the same data."
    )

    def add_arguments(self, parser):
        parser.add_argument("--students", type=int, default=600, help="children in the demo network (600)")
        parser.add_argument("--seed", type=int, default=42, help="random seed (42)")
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing if the demo is already loaded"
        )
        parser.add_argument("--reset", action="store_true", help="delete the demo organisations first")
        parser.add_argument(
            "--core-only",
            action="store_true",
            help="only the school year (no billing, gamification, messages or risk scores): for big benchmarks",
        )
        parser.add_argument(
            "--today",
            type=dt.date.fromisoformat,
            default=None,
            help="pretend today is YYYY-MM-DD (default: the local date), for reproducible benchmarks",
        )

    def handle(self, *args, students, seed, if_empty, reset, today, core_only=False, **options):
        if getattr(settings, "IS_PRODUCTION", False):
            raise CommandError(
                "seed_demo не запускается с продакшен-настройками (KRUZHOK_ENV=production): "
                "демо-данные только для разработки."
            )
        if not 10 <= students <= 200_000:
            raise CommandError("--students: от 10 до 200000.")
        with unscoped():
            if seeding.demo_exists():
                if if_empty:
                    self.stdout.write("Демо-данные уже загружены, пропускаю (--if-empty).")
                    return
                if not reset:
                    raise CommandError("Демо-данные уже загружены. Чтобы загрузить заново: --reset.")
            if reset:
                deleted = seeding.demo_delete()
                if deleted:
                    self.stdout.write(f"Удалены демо-организации: {deleted}")
            self.stdout.write(f"Загружаю демо: {students} учеников, seed={seed}…")
            try:
                report = seeding.seed_demo(students=students, seed=seed, today=today, log=self.stdout.write)
            except seeding.DemoConflict as error:
                raise CommandError(str(error)) from error
        for line in report.lines():
            self.stdout.write(line)
        if not core_only:
            with unscoped():
                for area, totals in seeding.seed_other_areas(report=report, seed=seed):
                    self.stdout.write(f"  {area}: " + ", ".join(f"{k}={v}" for k, v in totals.items()))
