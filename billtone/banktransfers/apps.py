from django.apps import AppConfig


class BankTransfersConfig(AppConfig):
    name = "billtone.banktransfers"
    label = "banktransfers"
    verbose_name = "Bank transfers"

    def ready(self) -> None:
        from billtone.accounts import money_checks
        from billtone.banktransfers.funds_emails import TEMPLATE, funds_received_render
        from billtone.banktransfers.selectors import funding_requests_awaiting
        from billtone.notifications.renderers import email_template_register

        email_template_register(TEMPLATE, funds_received_render)
        money_checks.register(funding_requests_awaiting)
