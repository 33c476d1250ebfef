"""Collecting an open bill after the issuing transaction committed (docs/decisions/0020):
business funds first if the operator's policy says so and they cover the amount due, else the
default card off session (its money lands on business funds, which then pay the invoice).
No database lock is held across the gateway call: card_charge commits its pending payment
first, and invoice_pay_from_funds is one short transaction of its own."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

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
from billtone.ledger.selectors import business_funds_free, customer_ledger_account_get
from billtone.payments.models import PaymentPurpose, PaymentStatus
from billtone.payments.selectors import (
    accounts_auto_paying,
    accounts_with_default_card,
    auto_payments_enabled,
    card_default_get,
)
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


NO_WAY_TO_PAY = "Business funds do not cover it and automatic card payments are off."


def collection_way(
    *,
    paid: bool,
    amount_due: Decimal,
    funds_free: Decimal | None,
    bills_from_funds: bool,
    card_on: bool,
) -> str:
    """How an invoice would be collected, decided from what one read told: paid_before,
    funds, card, or unpaid (no way to pay). The same order as _collect's."""
    if paid:
        return "paid_before"
    if bills_from_funds and funds_free is not None and funds_free >= amount_due:
        return "funds"
    return "card" if card_on else "unpaid"


@dataclass(frozen=True)
class Foreseen:
    """What one read of a chunk's bills told (`collections_foreseen`): `settled`, the
    collections that need no payment (paid before; no way to pay); `from_funds`, the bills
    business funds cover, each account's oldest first and never more than its funds; the
    others (in neither) can only be paid by card."""

    settled: dict[int, Collection]
    from_funds: list[int]


def collections_foreseen(invoice_ids: Sequence[int]) -> Foreseen:
    """How these invoices will be collected, in five queries for them all. Those paid before
    and those left unpaid for want of a way to pay are settled here; those the funds cover
    are for `invoicing.invoices_pay_from_funds` (all in one transaction); the rest go through
    bill_collect, which reads again under funds_held and pays. Funds credited after this read
    still pay a bill left open (funds.open_invoices_pay, from the funds-credited listener); a
    card set up later is dunning's, as after any run."""
    rows = Invoice.objects.filter(pk__in=invoice_ids).values_list(
        "pk", "account_id", "status", "gross", "credited"
    )
    invoices = {
        pk: (account_id, status, gross - credited)
        for pk, account_id, status, gross, credited in sorted(rows)  # oldest first
    }
    account_ids = {account_id for account_id, _status, _due in invoices.values()}
    if not account_ids:
        return Foreseen(settled={}, from_funds=[])
    bills_from_funds = operator_profile_get().bills_from_funds
    funds = business_funds_free(account_ids=account_ids)
    card_on = accounts_auto_paying(account_ids=account_ids) & accounts_with_default_card(
        account_ids=account_ids
    )
    settled, from_funds = {}, []
    for invoice_id, (account_id, status, amount_due) in invoices.items():
        way = collection_way(
            paid=status == Invoice.Status.PAID,
            amount_due=amount_due,
            funds_free=funds.get(account_id),
            bills_from_funds=bills_from_funds,
            card_on=account_id in card_on,
        )
        if way == "paid_before":
            settled[invoice_id] = Collection(invoice_id, "paid_before")
        elif way == "unpaid":
            settled[invoice_id] = Collection(invoice_id, "unpaid", NO_WAY_TO_PAY)
        elif way == "funds":
            from_funds.append(invoice_id)
            funds[account_id] -= amount_due  # what is left for the account's next bill
    return Foreseen(settled=settled, from_funds=from_funds)


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
        return Collection(invoice_id, "unpaid", NO_WAY_TO_PAY)
    payment = automatic_payment_charge(
        account=account,
        amount=invoice_amount_due(invoice),
        purpose=PaymentPurpose.BUSINESS_FUNDS,
        idempotency_key=f"bill-collect:{invoice_id}:{attempt}",
        actor=actor,
        description=f"Invoice {invoice.number}",
        decline_email=attempt == 1,  # a dunning try's decline is in dunning's own email
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
