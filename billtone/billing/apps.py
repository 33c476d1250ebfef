from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billtone.billing"
    label = "billing"
    verbose_name = "Monthly bills"

    def ready(self) -> None:
        from billtone.billing import cancellation, dunning_emails, plan_change
        from billtone.billing.emails import TEMPLATE, bill_email_render
        from billtone.billing.services.funds_hold import release_to
        from billtone.billing.tasks import funds_credited_listener
        from billtone.ledger.hooks import funds_credited_register
        from billtone.notifications.renderers import email_template_register
        from billtone.telephony.hooks import cancellation_register, plan_change_register

        email_template_register(TEMPLATE, bill_email_render)
        email_template_register(dunning_emails.TEMPLATE, dunning_emails.dunning_email_render)
        funds_credited_register(funds_credited_listener)
        release_to(funds_credited_listener)
        cancellation_register(cancellation.LISTENER)
        plan_change_register(plan_change.LISTENER)
