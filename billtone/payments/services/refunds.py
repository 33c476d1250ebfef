"""Refunds of card payments.

The money leaves the customer's balance when the refund is asked for, in the database
transaction that records the refund (the ledger refuses it if the balance no longer holds
it: InsufficientFunds). Then the gateway is asked, holding no lock; a refund the gateway
refuses is given back with a reversing ledger transaction.
"""

import hashlib
import logging

from django.db import IntegrityError, transaction

from billtone.accounts.models import Account
from billtone.core import clock
from billtone.core.errors import NotFound, ValidationFailed
from billtone.core.money import Money, amount_max, minor_units
from billtone.core.services import Actor
from billtone.ledger.errors import InsufficientFunds
from billtone.ledger.models import LedgerKind
from billtone.ledger.services import (
    funds_transfer,
    ledger_accounts_lock,
    operator_ledger_account,
    transaction_reverse,
)
from billtone.payments import selectors
from billtone.payments.errors import PaymentKeyReused, PaymentStateConflict
from billtone.payments.gateways import base as gateway_base
from billtone.payments.gateways import get_gateway
from billtone.payments.gateways.base import RefundResult, RefundStatus
from billtone.payments.models import Payment, PaymentKind, PaymentStatus
from billtone.payments.services.shared import SYSTEM, purpose_ledger_account

logger = logging.getLogger(__name__)

_STATUS = {
    RefundStatus.SUCCEEDED: PaymentStatus.SUCCEEDED,
    RefundStatus.PENDING: PaymentStatus.PENDING,
    RefundStatus.FAILED: PaymentStatus.FAILED,
    RefundStatus.ERRORED: PaymentStatus.ERRORED,
}


def _ledger_key(refund_key: str) -> str:
    return "card-refund:" + hashlib.sha256(refund_key.encode()).hexdigest()


def payment_refund(
    *,
    account: Account,
    payment: Payment,
    idempotency_key: str,
    actor: Actor,
    amount: Money | None = None,
    reason: str = "",
) -> Payment:
    """Give back all or part of a succeeded card payment to its card; returns the refund.

    Refused (nothing written) if the balance the payment credited no longer holds the
    amount, or if more would be refunded than was paid."""
    if payment.account_id != account.pk:
        raise NotFound("No such payment in this account.")
    if not isinstance(idempotency_key, str) or not idempotency_key.strip():
        raise ValidationFailed({"idempotency_key": ["An idempotency key is required."]})
    if len(idempotency_key) > 255:
        raise ValidationFailed({"idempotency_key": ["At most 255 characters."]})
    if len(reason or "") > 255:
        raise ValidationFailed({"reason": ["At most 255 characters."]})
    existing = Payment.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return _replayed(existing, payment=payment, amount=amount)
    if payment.kind != PaymentKind.CHARGE or payment.status != PaymentStatus.SUCCEEDED:
        raise PaymentStateConflict("Only a card payment that succeeded can be refunded.")
    currency = payment.currency
    if amount is not None:
        if not isinstance(amount, Money) or amount.currency != currency:
            raise ValidationFailed({"amount": [f"Give the amount in {currency}."]})
        # amount_max first: rounding a huge amount breaks Decimal's context.
        if not 0 < amount.amount <= amount_max(currency) or amount != amount.rounded():
            raise ValidationFailed(
                {
                    "amount": [
                        f"An amount greater than zero, with at most {minor_units(currency)} "
                        "decimals."
                    ]
                }
            )

    try:
        with transaction.atomic(durable=True):
            refund = _refund_open(
                account=account,
                charge=payment,
                amount=amount,
                idempotency_key=idempotency_key,
                actor=actor,
                reason=reason,
            )
    except IntegrityError:
        existing = Payment.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return _replayed(existing, payment=payment, amount=amount)

    result = _gateway_refund(refund=refund, charge=payment)
    return refund_outcome_record(refund=refund, result=result, actor=actor)


def _replayed(existing: Payment, *, payment: Payment, amount: Money | None) -> Payment:
    if (
        existing.kind != PaymentKind.REFUND
        or existing.refund_of_id != payment.pk
        or (amount is not None and existing.money != amount)
    ):
        raise PaymentKeyReused()
    return existing


def _refund_open(
    *,
    account: Account,
    charge: Payment,
    amount: Money | None,
    idempotency_key: str,
    actor: Actor,
    reason: str,
) -> Payment:
    """Inside a transaction: lock the charge, check what may still be refunded, take the
    money off the customer's balance and record the refund, pending."""
    charge = Payment.objects.select_for_update().select_related("card").get(pk=charge.pk)
    remaining = Money(
        charge.amount - selectors.payment_refunded_amount(payment=charge), charge.currency
    )
    if remaining.amount <= 0:
        raise PaymentStateConflict("This payment is already refunded in full.")
    amount = amount or remaining.rounded()
    if amount > remaining:
        raise ValidationFailed(
            {"amount": [f"At most {remaining.rounded()} of this payment can be refunded."]}
        )
    customer = purpose_ledger_account(account=account, purpose=charge.purpose)
    clearing = operator_ledger_account(kind=LedgerKind.CARD_CLEARING, currency=charge.currency)
    locked = ledger_accounts_lock(ids=[customer.pk, clearing.pk])[customer.pk]
    if locked.balance < amount.amount:
        # Refund only what the customer still holds, never out of a credit limit.
        raise InsufficientFunds(
            label=locked.get_kind_display(),
            balance=Money(locked.balance, locked.currency),
            debit=amount,
            floor=Money.zero(locked.currency),
        )
    card = charge.card
    txn = funds_transfer(
        source=customer,
        destination=clearing,
        amount=amount,
        kind="card_refund",
        memo=f"Top-up refunded to {card.brand_display} •••• {card.last4}",
        idempotency_key=_ledger_key(idempotency_key),
        actor=actor,
        external_reference=charge.gateway_reference[:255],
    )
    now = clock.now()
    return Payment.objects.create(
        account=account,
        card=card,
        kind=PaymentKind.REFUND,
        refund_of=charge,
        gateway=charge.gateway,
        amount=amount.amount,
        currency=amount.currency,
        status=PaymentStatus.PENDING,
        on_session=False,
        purpose=charge.purpose,
        description=reason or f"Refund of payment #{charge.pk}",
        idempotency_key=idempotency_key,
        ledger_transaction=txn,
        created_by=actor.label[:200],
        created_at=now,
        updated_at=now,
    )


def _gateway_refund(*, refund: Payment, charge: Payment) -> RefundResult:
    gateway = get_gateway()
    try:
        return gateway.charge_refund(
            reference=charge.gateway_reference,
            amount=refund.money.amount,
            currency=refund.currency,
            idempotency_key=refund.idempotency_key,
        )
    except Exception as error:  # unknown outcome: refund_recover asks again with the key
        logger.warning("Refund %s: the gateway call failed: %s", refund.pk, type(error).__name__)
        return RefundResult(
            status=RefundStatus.ERRORED,
            gateway_reference="",
            amount=refund.money.amount,
            currency=refund.currency,
            failure_code="gateway_error",
            message=gateway_base.MESSAGE_ERRORED,
        )


def refund_outcome_record(*, refund: Payment, result: RefundResult, actor: Actor) -> Payment:
    """Record what the gateway answered for a refund; a refused refund gives the money back
    to the customer's balance."""
    status = _STATUS[result.status]
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=refund.pk)
        if locked.is_final:
            return locked
        if result.gateway_reference:
            locked.gateway_reference = result.gateway_reference
        locked.status = status
        if status == PaymentStatus.SUCCEEDED:
            locked.failure_code = locked.failure_message = ""
        else:
            locked.failure_code = result.failure_code[:100]
            locked.failure_message = (result.message or "")[:500]
        if status == PaymentStatus.FAILED:
            card = locked.card
            transaction_reverse(
                transaction=locked.ledger_transaction,
                actor=actor,
                memo=f"Refund to {card.brand_display} •••• {card.last4} failed, amount returned",
                idempotency_key=_ledger_key(locked.idempotency_key) + ":reversal",
            )
        locked.updated_at = clock.now()
        locked.save()
    logger.info("Refund %s: %s %s", locked.pk, locked.status, locked.failure_code)
    return locked


def refund_recover(*, refund: Payment, actor: Actor = SYSTEM) -> Payment:
    """Settle a pending or errored refund: ask the gateway for it by its key; if it has
    none, send it again with the same key (the money is already set aside)."""
    refund.refresh_from_db()
    if refund.status not in (PaymentStatus.PENDING, PaymentStatus.ERRORED):
        return refund
    charge = refund.refund_of
    gateway = get_gateway()
    if gateway.name != refund.gateway:
        logger.warning("Refund %s was made with %s: cannot settle it", refund.pk, refund.gateway)
        return refund
    try:
        result = gateway.refund_find(
            reference=charge.gateway_reference,
            amount=refund.money.amount,
            currency=refund.currency,
            idempotency_key=refund.idempotency_key,
        )
    except Exception as error:
        logger.warning("Refund %s: look-up failed: %s", refund.pk, type(error).__name__)
        return refund
    if result is None:
        result = _gateway_refund(refund=refund, charge=charge)
    if (
        result.status in (RefundStatus.PENDING, RefundStatus.ERRORED)
        and refund.status == _STATUS[result.status]
    ):
        return refund
    return refund_outcome_record(refund=refund, result=result, actor=actor)
