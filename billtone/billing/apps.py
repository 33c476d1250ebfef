from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billtone.billing"
    label = "billing"
    verbose_name = "Monthly bills"

    def ready(self) -> None:
        from billtone.billing.emails import TEMPLATE, bill_email_render
        from billtone.notifications.renderers import email_template_register

        email_template_register(TEMPLATE, bill_email_render)
