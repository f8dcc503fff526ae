from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "kruzhok.accounts"
    verbose_name = "Accounts"
