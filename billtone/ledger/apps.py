from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "billtone.ledger"
    label = "ledger"
    verbose_name = "Ledger"

    def ready(self) -> None:
        from billtone.accounts import money_checks
        from billtone.ledger.selectors import customer_has_postings

        money_checks.register(customer_has_postings)
