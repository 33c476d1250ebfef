"""A customer pays an open invoice (the Pay page, `POST /api/v1/invoices/{id}/pay`): with
business funds if they cover it, or with a saved or new card on session, whose money lands
on business funds first and then pays the invoice, as checkout does (decision 0019).

Idempotent: the card payment's key is `invoice-pay:<invoice id>:<the caller's key>`, so the
same request again replays the first payment; funds pay an invoice once (invoicing's
conditional UPDATE). A card payment that needs 3-D Secure returns `requires_action`: then
`invoice_pay_confirm`. Paying reactivates an account suspended for its unpaid bills."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from billtone.accounts.models import Account
from billtone.billing.services.dunning import dunning_settle
from billtone.billing.services.funds_hold import funds_held
from billtone.core.errors import ApplicationError, NotFound, ValidationFailed
from billtone.core.services import Actor
from billtone.invoicing.models import Invoice
from billtone.invoicing.selectors import invoice_get
from billtone.invoicing.services import (
    InvoiceFundsShort,
    invoice_amount_due,
    invoice_pay_from_funds,
)
from billtone.payments import selectors as payment_selectors
from billtone.payments import services as payment_services
from billtone.payments.errors import CardAlreadySaved
from billtone.payments.models import Payment, PaymentPurpose, PaymentStatus, SavedCard

logger = logging.getLogger(__name__)

METHODS = ("funds", "saved_card", "new_card")
KEY_PREFIX = "invoice-pay:"


@dataclass(frozen=True)
class InvoicePaid:
    """`status`: paid, requires_action (3-D Secure: confirm `payment`), failed (`message`
    says why; nothing was charged), or pending (the outcome is not known yet)."""

    invoice: Invoice
    status: str
    payment: Payment | None = None
    message: str = ""


def _key(invoice: Invoice, idempotency_key: str) -> str:
    key = (idempotency_key or "").strip()
    if not key or len(key) > 100:
        raise ValidationFailed({"idempotency_key": ["An idempotency key of 1 to 100 characters."]})
    return f"{KEY_PREFIX}{invoice.pk}:{key}"


def _card_for(*, account: Account, card_id, new_card: dict | None, actor: Actor) -> SavedCard:
    if new_card is not None:
        try:
            return payment_services.card_add(account=account, actor=actor, **new_card)
        except CardAlreadySaved as error:  # typed again: pay with the saved one
            return payment_selectors.card_get(account=account, card_id=error.card_id)
    try:
        return payment_selectors.card_get(account=account, card_id=int(card_id))
    except (NotFound, TypeError, ValueError):
        raise ValidationFailed(
            {"card_id": ["Choose one of your saved cards."]},
            detail="Choose one of your saved cards.",
        ) from None


def _paid(invoice: Invoice, account: Account, actor: Actor) -> InvoicePaid:
    dunning_settle(account=account, actor=actor)
    invoice.refresh_from_db(fields=["status", "paid_at"])
    return InvoicePaid(invoice=invoice, status="paid")


def _settle(*, invoice: Invoice, payment: Payment, account: Account, actor: Actor) -> InvoicePaid:
    """The invoice after its card payment: paid from the funds the card put there."""
    if payment.status == PaymentStatus.FAILED:
        return InvoicePaid(invoice, "failed", payment, payment.failure_message)
    if payment.status == PaymentStatus.REQUIRES_ACTION:
        return InvoicePaid(invoice, "requires_action", payment)
    if payment.status != PaymentStatus.SUCCEEDED:
        return InvoicePaid(invoice, "pending", payment)
    try:
        invoice_pay_from_funds(invoice_id=invoice.pk, actor=actor)
    except InvoiceFundsShort as short:  # spent meanwhile: the card's money stays as funds
        message = f"The card payment was added to your business funds. {short.detail}"
        return InvoicePaid(invoice, "failed", payment, message)
    result = _paid(invoice, account, actor)
    return InvoicePaid(result.invoice, "paid", payment)


def invoice_pay(
    *,
    account: Account,
    invoice_id: int,
    method: str,
    idempotency_key: str,
    actor: Actor,
    card_id: int | None = None,
    new_card: dict | None = None,
    save_card: bool = True,
) -> InvoicePaid:
    """Pay the account's open invoice (another account's: NotFound) by `method`: `funds`
    (InvoiceFundsShort when they do not cover it), `saved_card` (`card_id`) or `new_card`
    (payments' card_add arguments; kept if `save_card`). A paid invoice is returned paid.
    Outside any transaction (the card payment commits before the gateway is asked)."""
    invoice = invoice_get(account=account, invoice_id=invoice_id)
    if method not in METHODS:
        raise ValidationFailed({"method": [f"One of {', '.join(METHODS)}."]})
    key = _key(invoice, idempotency_key)
    if method != "funds":  # a replay of a card payment is answered with its outcome
        replay = payment_selectors.payment_by_key(account=account, idempotency_key=key)
        if replay is not None:
            with funds_held(account.pk):
                return _settle(invoice=invoice, payment=replay, account=account, actor=actor)
    if invoice.status == Invoice.Status.PAID:
        return _paid(invoice, account, actor)
    if method == "funds":
        invoice_pay_from_funds(invoice_id=invoice.pk, actor=actor)
        return _paid(invoice, account, actor)
    with funds_held(account.pk):
        return _card_pay(
            account=account,
            invoice=invoice,
            key=key,
            actor=actor,
            card_id=card_id,
            new_card=new_card if method == "new_card" else None,
            save_card=save_card,
        )


def _card_pay(
    *, account, invoice, key: str, actor: Actor, card_id, new_card, save_card: bool
) -> InvoicePaid:
    card = _card_for(
        account=account,
        card_id=card_id,
        new_card=new_card,
        actor=actor,
    )
    payment = payment_services.card_charge(
        account=account,
        card=card,
        amount=invoice_amount_due(invoice),
        purpose=PaymentPurpose.BUSINESS_FUNDS,
        on_session=True,
        idempotency_key=key,
        actor=actor,
        description=f"Invoice {invoice.number}",
    )
    if new_card is not None and not save_card and payment.status != PaymentStatus.REQUIRES_ACTION:
        try:
            payment_services.card_remove(account=account, card_id=card.pk, actor=actor)
        except ApplicationError as error:
            logger.info("Account %s: card %s kept: %s", account.pk, card.pk, error.detail)
    return _settle(invoice=invoice, payment=payment, account=account, actor=actor)


def invoice_payment_get(*, account: Account, invoice_id: int, payment_id: int) -> Payment:
    """The account's card payment made for this invoice (NotFound otherwise)."""
    payment = payment_selectors.payment_get(account=account, payment_id=payment_id)
    if not payment.idempotency_key.startswith(f"{KEY_PREFIX}{invoice_id}:"):
        raise NotFound("No such payment for this invoice.")
    return payment


def invoice_pay_confirm(
    *, account: Account, invoice_id: int, payment_id: int, actor: Actor
) -> InvoicePaid:
    """After 3-D Secure (or to learn an unknown outcome): confirm or settle the card payment,
    then pay the invoice with it. Safe to run twice."""
    invoice = invoice_get(account=account, invoice_id=invoice_id)
    payment = invoice_payment_get(account=account, invoice_id=invoice_id, payment_id=payment_id)
    with funds_held(account.pk):
        if payment.status == PaymentStatus.REQUIRES_ACTION:
            payment = payment_services.charge_confirm(account=account, payment=payment, actor=actor)
        elif payment.status in (PaymentStatus.PENDING, PaymentStatus.ERRORED):
            payment = payment_services.payment_recover(payment=payment, actor=actor)
        return _settle(invoice=invoice, payment=payment, account=account, actor=actor)
