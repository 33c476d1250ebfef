from django.apps import AppConfig


class InvoicingConfig(AppConfig):
    name = "billtone.invoicing"
    label = "invoicing"
    verbose_name = "Invoicing"

    def ready(self) -> None:
        from billtone.invoicing.services import credit_note_documents
        from billtone.invoicing.services.emails import TEMPLATE, invoice_email_render
        from billtone.notifications.renderers import email_template_register

        email_template_register(TEMPLATE, invoice_email_render)
        email_template_register(
            credit_note_documents.TEMPLATE, credit_note_documents.credit_note_email_render
        )
