import re

from django.conf import settings
from django.core.management.base import BaseCommand

from kruzhok.accounts.models import Role
from kruzhok.accounts.permissions import PERMISSIONS, render_markdown_table

START, END = "<!-- permissions-table:start -->", "<!-- permissions-table:end -->"


class Command(BaseCommand):
    help = "Prints the role × action permission table as Markdown; --write puts it into docs/permissions.md."

    def add_arguments(self, parser):
        parser.add_argument("--write", action="store_true", help="update docs/permissions.md in place")

    def handle(self, *args, **options):
        table = render_markdown_table(roles=list(Role), permissions=PERMISSIONS)
        if not options["write"]:
            self.stdout.write(table)
            return
        doc = settings.BASE_DIR / "docs" / "permissions.md"
        text = doc.read_text(encoding="utf-8")
        text = re.sub(
            re.escape(START) + r".*?" + re.escape(END), lambda _: f"{START}\n{table}{END}", text, flags=re.S
        )
        doc.write_text(text, encoding="utf-8")
        self.stdout.write(f"updated {doc}")
