from django.apps import AppConfig


class BankTransfersConfig(AppConfig):
    name = "billtone.banktransfers"
    label = "banktransfers"
    verbose_name = "Bank transfers"
