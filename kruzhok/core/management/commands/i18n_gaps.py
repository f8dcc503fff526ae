"""Counts Russian string literals in Python code that no gettext call wraps: what an English page could
still show in Russian. Docstrings, tests, migrations, kruzhok/demo and kruzhok/api (own catalog) are left
out; so are literals that are data on purpose (sentiment lexicons, aspect keywords, message templates),
which this count still includes — read the list with -v 2 before wrapping anything."""

import ast
import re
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

CYRILLIC = re.compile(r"[А-Яа-яЁё]")
GETTEXT = {
    "_",
    "gettext",
    "gettext_lazy",
    "gettext_noop",
    "ngettext",
    "ngettext_lazy",
    "pgettext",
    "pgettext_lazy",
}
SKIP = re.compile(r"/(tests|migrations|demo|api|locale)/")


def bare_literals(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name in GETTEXT:
                skipped.update(id(sub) for arg in node.args for sub in ast.walk(arg))
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body:
            first = body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                skipped.add(id(first.value))
    return sorted(
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and CYRILLIC.search(node.value)
        and id(node) not in skipped
    )


class Command(BaseCommand):
    help = "Counts Russian string literals not wrapped in gettext, per file (-v 2 lists them)."

    def handle(self, *args, verbosity: int = 1, **options):
        root = Path(settings.BASE_DIR)
        total = 0
        for path in sorted((root / "kruzhok").rglob("*.py")):
            if SKIP.search(str(path)):
                continue
            found = bare_literals(path)
            if not found:
                continue
            total += len(found)
            self.stdout.write(f"{len(found):4d}  {path.relative_to(root)}")
            if verbosity >= 2:
                for line, text in found:
                    self.stdout.write(f"        {line}: {text[:80]!r}")
        self.stdout.write(f"{total:4d}  in all")
