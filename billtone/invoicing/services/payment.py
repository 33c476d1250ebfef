"""Paying an open invoice from the account's business funds, and the documents of open
invoices issued in bulk (docs/decisions/0020)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.db import transaction

from billtone.core import clock
from billtone.core.errors import ApplicationError, NotFound
from billtone.core.money import Money
from billtone.core.services import Actor
from billtone.invoicing.models import Invoice
from billtone.invoicing.services.bills import EMAIL_KEY_PREFIX
from billtone.invoicing.services.pdfs import invoice_pdf_render
from billtone.ledger.bulk import BulkTransaction, business_funds_accounts, transactions_post_bulk
from billtone.ledger.errors import InsufficientFunds
from billtone.ledger.models import LedgerKind
from billtone.ledger.services import (
    Leg,
    customer_ledger_accounts,
    funds_transfer,
    operator_ledger_account,
)
from billtone.notifications.models import EmailDelivery
from billtone.notifications.services import email_send

logger = logging.getLogger(__name__)


class InvoiceFundsShort(ApplicationError):
    """Business funds cannot pay the whole invoice: nothing was written."""

    def __init__(self, *, invoice: Invoice, detail: str):
        super().__init__(
            detail=f"{invoice.number} cannot be paid from business funds: {detail}",
            slug="invoice-funds-short",
            title="Business funds do not cover the invoice",
            status=409,
        )


def invoice_amount_due(invoice: Invoice) -> Money:
    """What an open invoice still asks: its gross less what credit notes took off."""
    return Money(invoice.gross - invoice.credited, invoice.currency)


def invoice_pay_from_funds(*, invoice_id: int, actor: Actor) -> Invoice:
    """Pay an open invoice in full from the account's business funds, in one transaction:
    the invoice moved open → paid by one conditional UPDATE (so two payers cannot both pay
    it), and business funds → receivable for the amount due. Funds that cannot cover it:
    InvoiceFundsShort and nothing written. A paid invoice is returned as it is."""
    for _attempt in range(3):  # a credit note landing meanwhile changes the amount due
        invoice = (
            Invoice.objects.defer("pdf").select_related("account").filter(pk=invoice_id).first()
        )
        if invoice is None:
            raise NotFound("No such invoice.")
        if invoice.status == Invoice.Status.PAID:
            return invoice
        if _pay_as_read(invoice=invoice, actor=actor):
            break
    return Invoice.objects.defer("pdf").get(pk=invoice_id)


def _pay_as_read(*, invoice: Invoice, actor: Actor) -> bool:
    """Pay `invoice` for the amount due as read; False when it changed meanwhile (paid by
    another payer, or credited: the UPDATE's condition includes what was credited)."""
    due = invoice_amount_due(invoice)
    funds = customer_ledger_accounts(account=invoice.account).business_funds
    receivable = operator_ledger_account(kind=LedgerKind.RECEIVABLE, currency=invoice.currency)
    try:
        with transaction.atomic():
            moved = Invoice.objects.filter(
                pk=invoice.pk, status=Invoice.Status.OPEN, credited=invoice.credited
            ).update(status=Invoice.Status.PAID, paid_at=clock.now())
            if moved and not due.is_zero():
                funds_transfer(
                    source=funds,
                    destination=receivable,
                    amount=due,
                    kind="invoice_payment",
                    memo=f"Invoice {invoice.number}",
                    idempotency_key=f"invoice-pay:{invoice.pk}",
                    actor=actor,
                )
    except InsufficientFunds as short:
        raise InvoiceFundsShort(invoice=invoice, detail=short.detail) from None
    return bool(moved)


def invoices_pay_from_funds(*, invoice_ids: Sequence[int], actor: Actor) -> list[int]:
    """Pay many open invoices in full from business funds in ONE database transaction, as
    `invoice_pay_from_funds` pays one (a bill run's chunk: docs/benchmarks.md, "Bill run"):
    the open ones locked in id order and moved open → paid by one UPDATE, and for each a
    business funds → receivable transaction with the same key (`invoice-pay:<id>`) through
    the ledger's bulk poster, which checks every floor in the batch's order. All or nothing:
    when some account's funds no longer cover its invoices (spent since the caller looked),
    nothing is written and [] is returned, for the caller to pay them one by one. Invoices
    paid meanwhile are left out. Returns the ids paid here."""
    if not invoice_ids:
        return []
    try:
        with transaction.atomic():
            invoices = list(
                Invoice.objects.select_for_update()
                .filter(pk__in=invoice_ids, status=Invoice.Status.OPEN)
                .order_by("pk")
                .only("pk", "account_id", "currency", "gross", "credited", "number")
            )
            currencies = {invoice.account_id: invoice.currency for invoice in invoices}
            if not invoices or any(currencies[i.account_id] != i.currency for i in invoices):
                return []  # an account with open invoices in two currencies: one by one
            funds = business_funds_accounts(currencies=currencies)
            receivable = {
                currency: operator_ledger_account(kind=LedgerKind.RECEIVABLE, currency=currency)
                for currency in set(currencies.values())
            }
            Invoice.objects.filter(pk__in=[invoice.pk for invoice in invoices]).update(
                status=Invoice.Status.PAID, paid_at=clock.now()
            )
            payments = []
            for invoice in invoices:
                due = invoice_amount_due(invoice)
                if due.is_zero():
                    continue
                payments.append(
                    BulkTransaction(
                        kind="invoice_payment",
                        memo=f"Invoice {invoice.number}",
                        postings=[
                            Leg(funds[invoice.account_id], -due),
                            Leg(receivable[invoice.currency], due),
                        ],
                        idempotency_key=f"invoice-pay:{invoice.pk}",
                    )
                )
            transactions_post_bulk(transactions=payments, actor=actor)
    except InsufficientFunds:
        return []
    return [invoice.pk for invoice in invoices]


def invoice_documents_send(*, invoice_ids: Sequence[int]) -> None:
    """Render the PDFs of `invoice_ids` and send their emails (stored when they were
    issued), one after the other: a bill run's chunk calls it in one background task. Safe
    to run twice: a ready PDF is kept, an email is sent only by the run that claims it."""
    for invoice_id in invoice_ids:
        invoice_pdf_render(invoice_id=invoice_id)
    keys = [f"{EMAIL_KEY_PREFIX}{invoice_id}" for invoice_id in invoice_ids]
    pending = EmailDelivery.objects.filter(key__in=keys, status=EmailDelivery.Status.PENDING)
    for delivery_id in pending.order_by("pk").values_list("pk", flat=True):
        email_send(delivery_id=delivery_id)
