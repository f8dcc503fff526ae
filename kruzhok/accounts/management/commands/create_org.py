import getpass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from kruzhok.accounts.services import organization_create


class Command(BaseCommand):
    help = "Creates an organisation (a centre) with its owner and prints the login URL."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="the centre's name, e.g. «Робошкола»")
        parser.add_argument("--owner-username", required=True)
        parser.add_argument("--owner-password", help="asked twice on the terminal when left out")
        parser.add_argument("--owner-email", default="")
        parser.add_argument("--owner-first-name", default="")
        parser.add_argument("--owner-last-name", default="")
        parser.add_argument("--timezone", default="Europe/Moscow", help="IANA name, e.g. Asia/Novosibirsk")

    def handle(self, *args, **options):
        password = options["owner_password"] or self._ask_password()
        try:
            org = organization_create(
                name=options["name"],
                owner_username=options["owner_username"],
                owner_password=password,
                owner_email=options["owner_email"],
                owner_first_name=options["owner_first_name"],
                owner_last_name=options["owner_last_name"],
                timezone=options["timezone"],
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        login_url = settings.SITE_URL.rstrip("/") + reverse("accounts:login")
        self.stdout.write(self.style.SUCCESS(f"Создана организация «{org.name}» (адрес: {org.slug})."))
        self.stdout.write(f"Владелец: {options['owner_username']}. Вход: {login_url}")

    def _ask_password(self) -> str:
        try:
            first = getpass.getpass("Пароль владельца: ")
            second = getpass.getpass("Пароль ещё раз: ")
        except (EOFError, KeyboardInterrupt):
            raise CommandError("Пароль не введён.") from None
        if first != second:
            raise CommandError("Пароли не совпадают.")
        return first
