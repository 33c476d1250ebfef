"""Charging saved cards: one Payment row per attempt, the ledger posted when it succeeds.

card_charge runs in three steps:
1. insert the Payment, pending, under its unique idempotency key, and commit (a durable
   transaction: calling it inside another transaction is an error): a replay of
   the key returns that payment and never asks the gateway to charge again;
2. ask the gateway, holding no database lock, with the same key;
3. record the outcome (charge_outcome_record): a success posts card clearing -> what it paid
   for in the database transaction that marks it succeeded.
If the process dies between 2 and 3, the payment stays pending; charge_recover (through
recovery.payment_recover, run by a periodic task for stale payments) asks the gateway with
the same key and settles it.
"""

import functools
import logging
from contextlib import nullcontext

from django.db import IntegrityError, connection, transaction

from billtone.accounts.models import Account, BillingProfile
from billtone.core import clock
from billtone.core.errors import ApplicationError, NotFound, ValidationFailed
from billtone.core.money import Money, minor_units
from billtone.core.rows import ModelColumns
from billtone.core.services import Actor
from billtone.ledger.models import LedgerKind
from billtone.ledger.services import funds_transfer, posting_ledger_accounts
from billtone.notifications.services import billing_email_queue
from billtone.payments import selectors
from billtone.payments.errors import PaymentKeyReused, PaymentStateConflict
from billtone.payments.gateways import base as gateway_base
from billtone.payments.gateways import get_gateway
from billtone.payments.gateways.base import ChargeResult, ChargeStatus
from billtone.payments.models import (
    TRANSITIONS,
    AutoPaymentSetting,
    Payment,
    PaymentKind,
    PaymentPurpose,
    PaymentStatus,
    SavedCard,
)
from billtone.payments.services.shared import RECOVER_AFTER, SYSTEM, purpose_ledger_account

logger = logging.getLogger(__name__)

MAX_CHARGE_AMOUNT = 50_000  # in the currency's major unit, per card payment
MESSAGE_NOT_SENT = "The payment did not reach the payment provider. Nothing was charged."

_STATUS = {
    ChargeStatus.SUCCEEDED: PaymentStatus.SUCCEEDED,
    ChargeStatus.FAILED: PaymentStatus.FAILED,
    ChargeStatus.REQUIRES_ACTION: PaymentStatus.REQUIRES_ACTION,
    ChargeStatus.ERRORED: PaymentStatus.ERRORED,
}
_PAYMENT_ROWS = ModelColumns(Payment, "p")

_DESCRIPTIONS = {
    PaymentPurpose.BUSINESS_FUNDS: "Business funds top-up",
    PaymentPurpose.CALL_CREDIT: "Call credit top-up",
}


# The pending payment is inserted only while its card is still the account's and not removed:
# the check and the insert in one statement (the basket's checkout has just read the card:
# decision 0021).
_CARD_ACTIVE = (
    "EXISTS (SELECT 1 FROM payments_savedcard WHERE id = %s AND account_id = %s "
    "AND removed_at IS NULL)"
)
MESSAGE_CARD_NOT_ACTIVE = "Choose one of this account's saved cards."
MESSAGE_REFUSED = "The payment was refused; nothing was charged."


def _charge_clean(
    *,
    account: Account,
    card: SavedCard,
    amount: Money,
    purpose: str,
    on_session: bool,
    idempotency_key: str,
    description: str,
) -> None:
    errors: dict[str, list[str]] = {}
    # Whether it is still active is checked by the pending payment's insert (_CARD_ACTIVE).
    is_active = (
        isinstance(card, SavedCard) and card.account_id == account.pk and card.removed_at is None
    )
    if not is_active:
        errors["card_id"] = [MESSAGE_CARD_NOT_ACTIVE]
    elif selectors.card_expiry(card=card).expired:
        errors["card_id"] = ["This card has expired. Choose another card."]
    elif card.gateway != get_gateway().name:
        errors["card_id"] = ["This card was saved with another payment provider. Add it again."]
    currency = account.billing_profile.currency
    if not isinstance(amount, Money):
        errors["amount"] = ["Enter an amount."]
    elif amount.currency != currency:
        errors["amount"] = [f"Pay in the account's currency, {currency}."]
    elif amount.amount <= 0:
        errors["amount"] = ["Enter an amount greater than zero."]
    elif amount.amount > MAX_CHARGE_AMOUNT:  # before rounding, which a huge amount breaks
        limit = Money(MAX_CHARGE_AMOUNT, currency).rounded()
        errors["amount"] = [f"At most {limit} per card payment."]
    elif amount != amount.rounded():
        errors["amount"] = [f"{currency} amounts have at most {minor_units(currency)} decimals."]
    if purpose not in PaymentPurpose.values:
        errors["purpose"] = [f"One of: {', '.join(PaymentPurpose.values)}."]
    if not isinstance(on_session, bool):
        errors["on_session"] = ["true or false."]
    if not isinstance(idempotency_key, str) or not idempotency_key.strip():
        errors["idempotency_key"] = ["An idempotency key is required."]
    elif len(idempotency_key) > 255:
        errors["idempotency_key"] = ["At most 255 characters."]
    if len(description or "") > 255:
        errors["description"] = ["At most 255 characters."]
    if errors:
        raise ValidationFailed(errors, detail=MESSAGE_REFUSED)


def _replayed(existing: Payment, **expected) -> Payment:
    """The payment a key already made, if the request is the same; else the key is reused."""
    for name, value in expected.items():
        if getattr(existing, name) != value:
            raise PaymentKeyReused()
    return existing


def card_charge(
    *,
    account: Account,
    card: SavedCard,
    amount: Money,
    purpose: str,
    on_session: bool,
    idempotency_key: str,
    actor: Actor,
    description: str = "",
    decline_email: bool = True,
    spent_at_once: bool = False,
) -> Payment:
    """Charge a saved card; returns the payment in whatever state the gateway left it:
    succeeded, failed (a decline: failure_code and failure_message say why),
    requires_action (3-D Secure: then charge_confirm) or errored (settled later).
    `spent_at_once`: the caller spends what the card credits in its next step (basket's
    checkout), so the funds-credited listeners are not told (ledger.transaction_post).

    Call it outside any database transaction (the insert is durable: inside another one it
    raises): the pending row must be committed before the gateway is asked."""
    _charge_clean(
        account=account,
        card=card,
        amount=amount,
        purpose=purpose,
        on_session=on_session,
        idempotency_key=idempotency_key,
        description=description,
    )
    expected = {
        "account_id": account.pk,
        "kind": PaymentKind.CHARGE,
        "card_id": card.pk,
        "money": amount,
        "purpose": purpose,
        "on_session": on_session,
    }
    now = clock.now()
    # In autocommit the INSERT commits on its own (no BEGIN and COMMIT round trips); inside
    # another transaction the durable block raises, as it always did.
    alone = transaction.get_connection().get_autocommit()
    try:  # a key used before: the unique key refuses the insert
        with nullcontext() if alone else transaction.atomic(durable=True):
            # Written once (core/rows.py): every card payment inserts one (decision 0021).
            payment = _PAYMENT_ROWS.insert_if(
                Payment(
                    account=account,
                    card=card,
                    kind=PaymentKind.CHARGE,
                    gateway=card.gateway,
                    amount=amount.amount,
                    currency=amount.currency,
                    status=PaymentStatus.PENDING,
                    on_session=on_session,
                    decline_email=decline_email,
                    purpose=purpose,
                    description=description or _DESCRIPTIONS.get(purpose, purpose),
                    idempotency_key=idempotency_key,
                    created_by=actor.label[:200],
                    created_at=now,
                    updated_at=now,
                ),
                _CARD_ACTIVE,
                [card.pk, account.pk],
            )
    except IntegrityError:
        existing = Payment.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return _replayed(existing, **expected)
    if payment is None:  # removed (or not the account's) since it was read: nothing inserted
        raise ValidationFailed({"card_id": [MESSAGE_CARD_NOT_ACTIVE]}, detail=MESSAGE_REFUSED)

    result = _gateway_charge(payment=payment, card=card)
    return charge_outcome_record(
        payment=payment, result=result, actor=actor, spent_at_once=spent_at_once
    )


def _gateway_charge(*, payment: Payment, card: SavedCard) -> ChargeResult:
    gateway = get_gateway()
    try:
        return gateway.card_charge(
            token=card.gateway_token,
            amount=payment.money.amount,
            currency=payment.currency,
            on_session=payment.on_session,
            idempotency_key=payment.idempotency_key,
            description=payment.description,
            metadata={
                "billtone_payment": str(payment.pk),
                "billtone_account": str(payment.account_id),
            },
        )
    except Exception as error:  # whatever went wrong, money may have moved: find out later
        logger.warning("Payment %s: the gateway call failed: %s", payment.pk, type(error).__name__)
        return _errored(payment)


def _errored(payment: Payment) -> ChargeResult:
    return ChargeResult(
        status=ChargeStatus.ERRORED,
        gateway_reference="",
        amount=payment.money.amount,
        currency=payment.currency,
        failure_code="gateway_error",
        message=gateway_base.MESSAGE_ERRORED,
    )


# What recording an outcome changes: the UPDATE writes these columns only.
_OUTCOME_FIELDS = [
    "status",
    "gateway_reference",
    "failure_code",
    "failure_message",
    "ledger_transaction",
    "updated_at",
]


@functools.cache
def _payment_lock_query() -> tuple[str, list[ModelColumns]]:
    """Every card payment's outcome runs it: written once (core/rows.py; decision 0021). The
    payment and its card locked; its account and billing profile with it."""
    payment, card = ModelColumns(Payment, "p"), ModelColumns(SavedCard, "c")
    account, profile = ModelColumns(Account, "a"), ModelColumns(BillingProfile, "bp")
    lock = " FOR UPDATE OF p, c" if connection.features.has_select_for_update_of else ""
    sql = (
        f"SELECT {payment.select}, {card.select}, {account.select}, {profile.select} "  # noqa: S608 (names from the models)
        f"FROM {payment.table} JOIN {card.table} ON c.id = p.card_id "
        f"JOIN {account.table} ON a.id = p.account_id "
        f"LEFT JOIN {profile.table} ON bp.account_id = a.id WHERE p.id = %s{lock}"
    )
    return sql, [payment, card, account, profile]


def _payment_lock(*, payment_id: int) -> Payment:
    sql, (payment, card, account, profile) = _payment_lock_query()
    using = connection.alias
    with connection.cursor() as cursor:
        cursor.execute(sql, [payment_id])
        row = cursor.fetchone()
    if row is None:
        raise Payment.DoesNotExist(f"No payment #{payment_id}.")
    locked = payment.instance(row, 0, using=using)
    start = len(payment)
    locked.card = card.instance(row, start, using=using)
    start += len(card)
    owner = account.instance(row, start, using=using)
    billing_profile = profile.instance(row, start + len(account), using=using)
    if billing_profile is not None:
        owner.billing_profile = billing_profile
    locked.account = owner
    return locked


def charge_outcome_record(
    *, payment: Payment, result: ChargeResult, actor: Actor, spent_at_once: bool = False
) -> Payment:
    """Record what the gateway answered for a charge. A success is posted to the ledger in
    this same database transaction (`spent_at_once` as in card_charge). Settled payments stay
    as they are."""
    status = _STATUS[result.status]
    with transaction.atomic():
        locked = _payment_lock(payment_id=payment.pk)
        if locked.status == status and status != PaymentStatus.ERRORED:
            return locked
        if status != locked.status and status not in TRANSITIONS[locked.status]:
            if status != PaymentStatus.ERRORED:
                logger.error(
                    "Payment %s is %s; the gateway now says %s: left as it is",
                    locked.pk,
                    locked.status,
                    status,
                )
            return locked
        if (result.amount, result.currency) != (locked.money.amount, locked.currency):
            logger.error(
                "Payment %s: the gateway answered for %s %s, not %s",
                locked.pk,
                result.amount,
                result.currency,
                locked.money,
            )
            status = PaymentStatus.ERRORED
            result = ChargeResult(
                status=ChargeStatus.ERRORED,
                gateway_reference=result.gateway_reference,
                amount=locked.money.amount,
                currency=locked.currency,
                failure_code="amount_mismatch",
                message=gateway_base.MESSAGE_ERRORED,
            )
        locked.status = status
        if result.gateway_reference:
            locked.gateway_reference = result.gateway_reference
        if status == PaymentStatus.SUCCEEDED:
            locked.failure_code = locked.failure_message = ""
            locked.ledger_transaction = _charge_post(
                payment=locked, actor=actor, spent_at_once=spent_at_once
            )
        else:
            locked.failure_code = result.failure_code[:100]
            locked.failure_message = (
                result.message or gateway_base.failure_message(result.failure_code)
            )[:500]
        locked.updated_at = clock.now()
        _PAYMENT_ROWS.update(locked, _OUTCOME_FIELDS)  # written once (decision 0021)
        if status == PaymentStatus.FAILED and not locked.on_session and locked.decline_email:
            _automatic_payment_failed_notify(payment=locked)
    logger.info("Payment %s: %s %s %s", locked.pk, locked.status, locked.failure_code, locked.money)
    return locked


def _charge_post(*, payment: Payment, actor: Actor, spent_at_once: bool):
    # The memo is the customer's statement line; the gateway's id stays in the back office.
    card = payment.card
    memo = f"Card payment, {card.brand_display} •••• {card.last4}"
    ledger, operator = posting_ledger_accounts(
        account=payment.account, operator_kinds=[LedgerKind.CARD_CLEARING]
    )
    return funds_transfer(
        source=operator[LedgerKind.CARD_CLEARING],
        destination=purpose_ledger_account(
            account=payment.account, purpose=payment.purpose, ledger=ledger
        ),
        amount=payment.money,
        kind="card_payment",
        memo=memo,
        idempotency_key=f"payment:{payment.pk}",
        actor=actor,
        external_reference=payment.gateway_reference[:255],
        spent_at_once=spent_at_once,
    )


def _automatic_payment_failed_notify(*, payment: Payment) -> None:
    billing_email_queue(
        account=payment.account,
        key=f"payment-failed:{payment.pk}",
        template="payment_failed",
        context={
            "payment": payment,
            "card": payment.card,
            "amount": payment.money.format(),
            "purpose": _DESCRIPTIONS.get(payment.purpose, payment.purpose),
        },
    )


def charge_confirm(
    *, account: Account, payment: Payment, actor: Actor, spent_at_once: bool = False
) -> Payment:
    """After the customer authenticated a requires_action charge (3-D Secure): ask the
    gateway for its outcome and record it (`spent_at_once` as in card_charge). A settled
    charge is returned as it is."""
    if payment.account_id != account.pk:
        raise NotFound("No such payment in this account.")
    payment.refresh_from_db()
    if payment.kind != PaymentKind.CHARGE:
        raise PaymentStateConflict("Only a card payment can be confirmed.")
    if payment.is_final:
        return payment
    if payment.status != PaymentStatus.REQUIRES_ACTION:
        raise PaymentStateConflict("This payment is not waiting for authentication.")
    gateway = get_gateway()
    try:
        result = gateway.charge_confirm(reference=payment.gateway_reference)
    except NotFound:
        result = ChargeResult(
            status=ChargeStatus.FAILED,
            gateway_reference=payment.gateway_reference,
            amount=payment.money.amount,
            currency=payment.currency,
            failure_code="resource_missing",
            message="The payment provider has no such payment. Nothing was charged.",
        )
    except ApplicationError:
        raise  # e.g. GatewayUnavailable: still waiting; the customer can try again
    except Exception as error:
        logger.warning("Payment %s: confirmation failed: %s", payment.pk, type(error).__name__)
        raise gateway_base.GatewayUnavailable() from None
    return charge_outcome_record(
        payment=payment, result=result, actor=actor, spent_at_once=spent_at_once
    )


def charge_recover(*, charge: Payment, actor: Actor = SYSTEM) -> Payment:
    """Settle a charge whose outcome we do not know (pending or errored) by asking the
    gateway with the charge's own idempotency key. Safe to run twice, and at any time."""
    payment = charge
    payment.refresh_from_db()
    if payment.status not in (PaymentStatus.PENDING, PaymentStatus.ERRORED):
        return payment
    gateway = get_gateway()
    if gateway.name != payment.gateway:
        logger.warning("Payment %s was made with %s: cannot settle it", payment.pk, payment.gateway)
        return payment
    try:
        result = gateway.charge_find(
            token=payment.card.gateway_token,
            amount=payment.money.amount,
            currency=payment.currency,
            on_session=payment.on_session,
            idempotency_key=payment.idempotency_key,
        )
    except Exception as error:
        logger.warning("Payment %s: look-up failed: %s", payment.pk, type(error).__name__)
        return payment
    if result is None:
        if payment.updated_at > clock.now() - RECOVER_AFTER:
            return payment  # the charge may still be on its way to the gateway
        result = ChargeResult(
            status=ChargeStatus.FAILED,
            gateway_reference="",
            amount=payment.money.amount,
            currency=payment.currency,
            failure_code="not_sent",
            message=MESSAGE_NOT_SENT,
        )
    if result.status == ChargeStatus.ERRORED and payment.status == PaymentStatus.ERRORED:
        return payment
    logger.info("Payment %s recovered from the gateway: %s", payment.pk, result.status)
    return charge_outcome_record(payment=payment, result=result, actor=actor)


def automatic_payment_charge(
    *,
    account: Account,
    amount: Money,
    purpose: str,
    idempotency_key: str,
    actor: Actor = SYSTEM,
    description: str = "",
    decline_email: bool = True,
) -> Payment:
    """Charge the default card off session, as automatic payments do (auto top-up, monthly
    bills). A decline is recorded and the billing email is told, unless the caller says it
    tells of it itself (`decline_email=False`)."""
    setting = AutoPaymentSetting.objects.filter(account=account).first()
    card = selectors.card_default_get(account=account)
    if setting is None or not setting.uses_default_card or card is None:
        raise PaymentStateConflict("Automatic card payments are off for this account.")
    return card_charge(
        account=account,
        card=card,
        amount=amount,
        purpose=purpose,
        on_session=False,
        idempotency_key=idempotency_key,
        actor=actor,
        description=description,
        decline_email=decline_email,
    )
