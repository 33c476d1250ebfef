from django.apps import AppConfig


class BankTransfersConfig(AppConfig):
    name = "billtone.banktransfers"
    label = "banktransfers"
    verbose_name = "Bank transfers"

    def ready(self) -> None:
        from billtone.accounts import money_checks
        from billtone.banktransfers.selectors import bank_transfers_awaiting

        money_checks.register(bank_transfers_awaiting)
