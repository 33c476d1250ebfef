from django.apps import AppConfig


class ReconciliationConfig(AppConfig):
    """The operator's side of bank transfers: statement files imported, their credits
    matched to bank transfers or left for staff to review, and the emails that say the
    funds arrived."""

    name = "billtone.reconciliation"
    label = "reconciliation"
    verbose_name = "Reconciliation"

    def ready(self) -> None:
        from billtone.notifications.renderers import email_template_register
        from billtone.reconciliation.emails import TEMPLATE, funds_received_render

        email_template_register(TEMPLATE, funds_received_render)
