from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "billtone.payments"
    label = "payments"
    verbose_name = "Payments"
