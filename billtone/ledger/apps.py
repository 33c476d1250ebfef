from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "billtone.ledger"
    label = "ledger"
    verbose_name = "Ledger"
