from django.core.management.base import BaseCommand

DEMO_LOGINS = [
    ("owner", "владелец сети «Демо-центр «Кружок»»"),
    ("manager", "менеджер филиала"),
    ("teacher", "преподаватель"),
    ("parent", "родитель"),
    ("student", "ученик"),
    ("owner2", "владелец второй, маленькой организации"),
]


class Command(BaseCommand):
    help = "Prints the demo logins that seed_demo creates."

    def handle(self, *args, **options):
        self.stdout.write("\nKruzhok demo: http://127.0.0.1:8000  (password for all: kruzhok-demo)\n")
        for username, who in DEMO_LOGINS:
            self.stdout.write(f"  {username:<10} {who}")
        self.stdout.write("")
