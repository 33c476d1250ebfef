"""The monthly bill's email, with the invoice's PDF attached: stored unrendered when the bill
is issued and rendered when sent (after collection), so it says whether the bill was paid or
is due."""

from __future__ import annotations

from django.conf import settings

from billtone.core.money import Money
from billtone.invoicing.models import Invoice
from billtone.invoicing.pdf import invoice_locale
from billtone.invoicing.services import invoice_amount_due, invoice_pdf_render
from billtone.notifications.renderers import (
    Attachment,
    EmailGone,
    RenderedEmail,
    email_templates_render,
)

TEMPLATE = "billing.bill_issued"


class BillPdfNotReady(RuntimeError):
    """The PDF could not be made for this attempt; the email is tried again later."""


def bill_email_render(context: dict[str, object]) -> RenderedEmail:
    invoice_id = context.get("invoice_id")
    if not isinstance(invoice_id, int) or not Invoice.objects.filter(pk=invoice_id).exists():
        raise EmailGone(f"No invoice {invoice_id!r}.")
    invoice = invoice_pdf_render(invoice_id=invoice_id)
    if invoice.pdf_status != Invoice.PdfStatus.READY:
        raise BillPdfNotReady(f"The PDF of {invoice.number} is not ready: {invoice.pdf_error}")
    locale = invoice_locale(invoice)
    period = invoice.source_key.rsplit(":", 1)[-1]
    email = email_templates_render(
        "bill_issued",
        {
            "company_name": invoice.customer.get("company_name", ""),
            "number": invoice.number,
            "period": period,
            "issue_date": invoice.issue_date.isoformat(),
            "gross": Money(invoice.gross, invoice.currency).format(locale),
            "due": invoice_amount_due(invoice).format(locale),
            "paid": invoice.status == Invoice.Status.PAID,
            "operator_name": invoice.operator.get("legal_name") or settings.BILLTONE_OPERATOR_NAME,
        },
    )
    return RenderedEmail(
        subject=email.subject,
        body_text=email.body_text,
        body_html=email.body_html,
        attachments=(Attachment(invoice.pdf_filename, bytes(invoice.pdf), "application/pdf"),),
    )
