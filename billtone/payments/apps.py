from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "billtone.payments"
    label = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        from billtone.accounts import money_checks
        from billtone.payments.selectors import payments_unsettled

        money_checks.register(payments_unsettled)
