"""The "your invoice" email, with the invoice's PDF attached.

Stored unrendered in the issuing transaction (key "invoice:<id>") and rendered when it is
sent, to the billing email of that moment; the PDF is read then, and rendered first if its
own task has not done it yet. A PDF that cannot be made fails the attempt, which the email
retries later (notifications' backoff).
"""

from __future__ import annotations

from django.conf import settings

from billtone.core.money import Money
from billtone.invoicing.models import Invoice
from billtone.invoicing.pdf import invoice_locale
from billtone.invoicing.services.pdfs import invoice_pdf_render
from billtone.notifications.models import EmailDelivery
from billtone.notifications.renderers import (
    Attachment,
    EmailGone,
    RenderedEmail,
    email_templates_render,
)
from billtone.notifications.services import billing_email_queue_unrendered

TEMPLATE = "invoicing.invoice_issued"
KEY_PREFIX = "invoice:"


class InvoicePdfNotReady(RuntimeError):
    """The PDF could not be made for this attempt; the email is tried again later."""


def invoice_email_queue(*, invoice: Invoice) -> EmailDelivery:
    """The invoice's email, queued in the transaction that issued the invoice."""
    return billing_email_queue_unrendered(
        account=invoice.account,
        key=f"{KEY_PREFIX}{invoice.pk}",
        template=TEMPLATE,
        context={"invoice_id": invoice.pk},
        key_is_new=True,
    )


def invoice_email_render(context: dict[str, object]) -> RenderedEmail:
    invoice_id = context.get("invoice_id")
    if not isinstance(invoice_id, int) or not Invoice.objects.filter(pk=invoice_id).exists():
        raise EmailGone(f"No invoice {invoice_id!r}.")
    invoice = invoice_pdf_render(invoice_id=invoice_id)
    if invoice.pdf_status != Invoice.PdfStatus.READY:
        raise InvoicePdfNotReady(f"The PDF of {invoice.number} is not ready: {invoice.pdf_error}")
    email = email_templates_render(
        "invoice_issued",
        {
            "company_name": invoice.customer.get("company_name", ""),
            "number": invoice.number,
            "issue_date": invoice.issue_date.isoformat(),
            "gross": Money(invoice.gross, invoice.currency).format(invoice_locale(invoice)),
            "operator_name": invoice.operator.get("legal_name") or settings.BILLTONE_OPERATOR_NAME,
        },
    )
    return RenderedEmail(
        subject=email.subject,
        body_text=email.body_text,
        body_html=email.body_html,
        attachments=(Attachment(invoice.pdf_filename, bytes(invoice.pdf), "application/pdf"),),
    )
