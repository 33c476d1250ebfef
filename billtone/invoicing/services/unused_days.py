"""The credit for a subscription ended before the end of what was billed (cancel policy
`immediate_credit`, decision 0020): the days after it ends, on the invoice lines that billed
them, at the line's monthly price by days (as the first charge is prorated), one credit note
per invoice through `credit_note_issue`: to business funds for a paid invoice, off what an
open one still owes."""

from __future__ import annotations

import calendar
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from django.db.models import Q, Sum

from billtone.core.money import Money
from billtone.core.services import Actor
from billtone.invoicing.models import CreditNote, CreditNoteLine, Invoice, InvoiceLine, Subscription
from billtone.invoicing.services.credit_note_lines import CreditLine
from billtone.invoicing.services.credit_notes import credit_note_issue


def _share(start: date, end: date) -> Fraction:
    """The days start..end (one month) as a fraction of that month."""
    return Fraction((end - start).days + 1, calendar.monthrange(start.year, start.month)[1])


def _lines(subscription: Subscription, after: date) -> list[InvoiceLine]:
    """The account's monthly lines of this item billing days after `after`: checkout's first
    charge (its invoice) and the bills (their lines carry the subscription's description)."""
    found = InvoiceLine.objects.filter(
        invoice__account_id=subscription.account_id,
        product_id=subscription.product_id,
        billing="monthly",
        period_end__gt=after,
        period_start__lte=subscription.paid_through,
    ).filter(Q(invoice_id=subscription.invoice_id) | Q(description=subscription.description))
    return list(found.select_related("invoice").order_by("period_start", "pk"))


def _left(line: InvoiceLine) -> Decimal:
    credited = CreditNoteLine.objects.filter(invoice_line=line).aggregate(total=Sum("net"))
    return line.net - (credited["total"] or Decimal(0))


def unused_days_credit(
    *, subscription: Subscription, after: date, actor: Actor, why: str = "cancelled"
) -> list:
    """Credit the days after `after` up to `paid_through`; returns the credit notes. `why`
    says in the credit note's reason what ended the subscription ("cancelled", "plan
    changed")."""
    monthly = Money(subscription.unit_price, subscription.currency)
    by_invoice: dict[int, list[CreditLine]] = defaultdict(list)
    invoices: dict[int, Invoice] = {}
    for line in _lines(subscription, after):
        start = max(line.period_start, after + timedelta(days=1))
        end = min(line.period_end, subscription.paid_through)
        share = _share(start, end)
        amount = Money(
            monthly.amount * share.numerator / Decimal(share.denominator), monthly.currency
        )
        amount = min(amount.rounded().amount, _left(line))
        if amount > 0:
            by_invoice[line.invoice_id].append(
                CreditLine(position=line.position, amount=Money(amount, monthly.currency))
            )
            invoices[line.invoice_id] = line.invoice
    notes = []
    for invoice_id, lines in by_invoice.items():
        invoice = invoices[invoice_id]
        paid = invoice.status == Invoice.Status.PAID
        notes.append(
            credit_note_issue(
                invoice_id=invoice_id,
                lines=lines,
                reason=f"{subscription.description}: {why}, unused days after {after}",
                refund_to=CreditNote.RefundTo.BUSINESS_FUNDS
                if paid
                else CreditNote.RefundTo.INVOICE_DUE,
                actor=actor,
                idempotency_key=f"subscription-end:{subscription.pk}:{invoice_id}",
            )
        )
    return notes
