from django.apps import AppConfig


class BankTransfersConfig(AppConfig):
    name = "billtone.banktransfers"
    label = "banktransfers"
    verbose_name = "Bank transfers"

    def ready(self) -> None:
        from billtone.banktransfers.funds_emails import TEMPLATE, funds_received_render
        from billtone.notifications.renderers import email_template_register

        email_template_register(TEMPLATE, funds_received_render)
