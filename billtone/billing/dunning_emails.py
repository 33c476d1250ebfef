"""The dunning reminder: stored unrendered when a try fails, rendered when sent (decision
0006), to the billing email of that moment: what failed, the amount due, the try, when the
next one is (or that the service is suspended), and a link to pay the invoice in the panel."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import reverse

from billtone.invoicing.models import Invoice
from billtone.invoicing.pdf import invoice_locale
from billtone.invoicing.services import invoice_amount_due
from billtone.notifications.renderers import EmailGone, RenderedEmail, email_templates_render

TEMPLATE = "billing.dunning_failed"


def pay_url(invoice_id: int) -> str:
    return settings.BILLTONE_PANEL_URL + reverse("billing-pay:invoice-pay", args=[invoice_id])


def dunning_email_render(context: dict[str, object]) -> RenderedEmail:
    invoice_id = context.get("invoice_id")
    invoice = (
        Invoice.objects.defer("pdf")
        .select_related("account__billing_profile")
        .filter(pk=invoice_id)
        .first()
        if isinstance(invoice_id, int)
        else None
    )
    if invoice is None:
        raise EmailGone(f"No invoice {invoice_id!r}.")
    zone = ZoneInfo(invoice.account.billing_profile.timezone or "UTC")
    next_at = context.get("next_try_at")
    next_day = datetime.fromisoformat(next_at).astimezone(zone).date() if next_at else None
    email = email_templates_render(
        "dunning_failed",
        {
            "company_name": invoice.customer.get("company_name", ""),
            "number": invoice.number,
            "issue_date": invoice.issue_date.isoformat(),
            "due": invoice_amount_due(invoice).format(invoice_locale(invoice)),
            "try": context.get("try"),
            "tries": context.get("tries"),
            "reason": context.get("reason") or "The payment was declined.",
            "next_try": next_day.isoformat() if next_day else "",
            "paid": invoice.status == Invoice.Status.PAID,
            "pay_url": pay_url(invoice.pk),
            "operator_name": invoice.operator.get("legal_name") or settings.BILLTONE_OPERATOR_NAME,
        },
    )
    return RenderedEmail(subject=email.subject, body_text=email.body_text, body_html="")
