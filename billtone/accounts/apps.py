from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "billtone.accounts"
    label = "accounts"
    verbose_name = "Customer accounts"
