"""Collecting an open bill after the issuing transaction committed (docs/decisions/0020):
business funds first if the operator's policy says so and they cover the amount due, else the
default card off session (its money lands on business funds, which then pay the invoice).
No database lock is held across the gateway call: card_charge commits its pending payment
first, and invoice_pay_from_funds is one short transaction of its own."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from billtone.billing.services.funds_hold import funds_held
from billtone.catalog.selectors import operator_profile_get
from billtone.core.services import Actor
from billtone.invoicing.models import Invoice
from billtone.invoicing.services import (
    InvoiceFundsShort,
    invoice_amount_due,
    invoice_pay_from_funds,
)
from billtone.ledger.models import LedgerKind
from billtone.ledger.selectors import customer_ledger_account_get
from billtone.payments.models import PaymentPurpose, PaymentStatus
from billtone.payments.selectors import auto_payments_enabled, card_default_get
from billtone.payments.services import automatic_payment_charge

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Collection:
    """`outcome`: paid_from_funds, paid_by_card, paid_before, or unpaid (`reason` says why:
    a decline's message, no way to pay)."""

    invoice_id: int
    outcome: str
    reason: str = ""

    @property
    def paid(self) -> bool:
        return self.outcome != "unpaid"


def _funds_cover(invoice: Invoice) -> bool:
    funds = customer_ledger_account_get(account=invoice.account, kind=LedgerKind.BUSINESS_FUNDS)
    if funds is None:
        return False
    return funds.balance - (funds.floor or 0) >= invoice_amount_due(invoice).amount


def bill_collect(*, invoice_id: int, actor: Actor, attempt: int = 1) -> Collection:
    """Collect an open invoice: funds, then the default card (key
    `bill-collect:<invoice id>:<attempt>`: the same attempt again never charges twice).
    A decline leaves the invoice open and returns the reason. Outside any transaction.
    The card's money pays this invoice, not an older one (funds_held)."""
    account_id = Invoice.objects.filter(pk=invoice_id).values_list("account_id", flat=True)
    with funds_held(account_id.get()):
        return _collect(invoice_id=invoice_id, actor=actor, attempt=attempt)


def _collect(*, invoice_id: int, actor: Actor, attempt: int) -> Collection:
    invoice = Invoice.objects.defer("pdf").select_related("account").get(pk=invoice_id)
    if invoice.status == Invoice.Status.PAID:
        return Collection(invoice_id, "paid_before")
    if operator_profile_get().bills_from_funds and _funds_cover(invoice):
        try:
            invoice_pay_from_funds(invoice_id=invoice_id, actor=actor)
            return Collection(invoice_id, "paid_from_funds")
        except InvoiceFundsShort:
            pass  # spent meanwhile: the card, as if they had not covered it
    account = invoice.account
    if not auto_payments_enabled(account=account) or card_default_get(account=account) is None:
        return Collection(
            invoice_id,
            "unpaid",
            "Business funds do not cover it and automatic card payments are off.",
        )
    payment = automatic_payment_charge(
        account=account,
        amount=invoice_amount_due(invoice),
        purpose=PaymentPurpose.BUSINESS_FUNDS,
        idempotency_key=f"bill-collect:{invoice_id}:{attempt}",
        actor=actor,
        description=f"Invoice {invoice.number}",
    )
    if payment.status != PaymentStatus.SUCCEEDED:
        reason = payment.failure_message or f"The card payment is {payment.status}."
        logger.info("Bill %s not collected: %s", invoice.number, reason)
        return Collection(invoice_id, "unpaid", reason)
    try:
        invoice_pay_from_funds(invoice_id=invoice_id, actor=actor)
    except InvoiceFundsShort as short:  # the card's money stays on business funds
        return Collection(invoice_id, "unpaid", short.detail)
    return Collection(invoice_id, "paid_by_card")
