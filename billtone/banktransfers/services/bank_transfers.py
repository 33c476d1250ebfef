"""Bank transfers (a customer adds business funds by bank transfer: an amount, a reference
of its own, an expiry) and the account's permanent reference."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction

from billtone.accounts.models import Account
from billtone.banktransfers.models import AccountReference, BankTransfer, OperatorBankAccount
from billtone.banktransfers.references import reference_random
from billtone.banktransfers.services.bank_accounts import operator_bank_account_for
from billtone.core import clock
from billtone.core.errors import Conflict, NotFound, ValidationFailed
from billtone.core.money import AmountError, Money, amount_parse, locale_for
from billtone.core.services import Actor, audit_record
from billtone.notifications.services import billing_email_queue


@dataclass(frozen=True)
class BankTransferLimits:
    minimum: Money
    maximum: Money
    presets: tuple[Money, ...]


def bank_transfer_amount_limits(*, currency: str) -> BankTransferLimits:
    """The operator's limits and preset amounts (BILLTONE_BANK_TRANSFER_*) in `currency`."""
    minimum = Money(Decimal(settings.BILLTONE_BANK_TRANSFER_MIN_AMOUNT), currency)
    maximum = Money(Decimal(settings.BILLTONE_BANK_TRANSFER_MAX_AMOUNT), currency)
    presets = tuple(
        Money(Decimal(value), currency)
        for value in settings.BILLTONE_BANK_TRANSFER_PRESET_AMOUNTS
        if minimum.amount <= Decimal(value) <= maximum.amount
    )
    return BankTransferLimits(minimum=minimum, maximum=maximum, presets=presets)


def bank_transfer_amount_clean(*, amount: object, currency: str, locale: str = "en") -> Money:
    """The amount as Money in `currency`, or ValidationFailed on `amount`: not an amount as
    money.amount_parse reads one (plain notation, the currency's minor unit: refused, never
    rounded), or outside the operator's limits. A form passes the Money it read as typed."""
    try:
        value = amount if isinstance(amount, Money) else amount_parse(amount, currency)
    except AmountError as error:
        raise ValidationFailed({"amount": [str(error)]}) from None
    if value.currency != currency:
        raise ValidationFailed({"amount": [f"Give the amount in {currency}."]})
    limits = bank_transfer_amount_limits(currency=currency)
    if not limits.minimum <= value <= limits.maximum:
        raise ValidationFailed(
            {
                "amount": [
                    f"Enter an amount from {limits.minimum.rounded().format(locale)} "
                    f"to {limits.maximum.rounded().format(locale)}."
                ]
            }
        )
    return value.rounded()


def _reference_taken(reference: str) -> bool:
    return (
        AccountReference.objects.filter(reference=reference).exists()
        or BankTransfer.objects.filter(reference=reference).exists()
    )


def _reference_unused() -> str:
    """A new RF reference used by no account and no request (the unique constraints decide
    races; this check only keeps the two tables apart)."""
    for _ in range(REFERENCE_ATTEMPTS):
        reference = reference_random()
        if not _reference_taken(reference):
            return reference
    raise RuntimeError("Could not find an unused bank transfer reference.")


REFERENCE_ATTEMPTS = 10


def account_reference_get_or_create(*, account: Account) -> AccountReference:
    """The account's permanent reference, made the first time it is asked for."""
    existing = AccountReference.objects.filter(account=account).first()
    if existing is not None:
        return existing
    for _ in range(REFERENCE_ATTEMPTS):
        try:
            with transaction.atomic():
                return AccountReference.objects.create(
                    account=account, reference=_reference_unused(), created_at=clock.now()
                )
        except IntegrityError:
            existing = AccountReference.objects.filter(account=account).first()
            if existing is not None:  # made at the same time by another request
                return existing
    raise RuntimeError("Could not create the account's bank transfer reference.")


def _replay(*, account: Account, idempotency_key: str, amount: Money) -> BankTransfer | None:
    existing = BankTransfer.objects.filter(account=account, idempotency_key=idempotency_key).first()
    if existing is None:
        return None
    if Money(existing.amount, existing.currency) != amount:
        raise Conflict(
            "This idempotency key was already used for a request of another amount. "
            "Use a new key for a new request.",
            slug="idempotency-key-reused",
            title="Idempotency key reused",
        )
    return existing


@transaction.atomic
def bank_transfer_create(
    *, account: Account, amount: object, actor: Actor, idempotency_key: str | None = None
) -> BankTransfer:
    """Ask to add `amount` of business funds by bank transfer: a request with its own
    reference, in the account's currency, and the instructions emailed to the billing email.

    The same `idempotency_key` again returns the first request (the unique constraint on
    (account, key) decides races); with another amount it is refused."""
    profile = account.billing_profile
    currency = profile.currency
    locale = locale_for(language=settings.LANGUAGE_CODE, country=profile.country)
    bank_account = operator_bank_account_for(currency=currency)
    value = bank_transfer_amount_clean(amount=amount, currency=currency, locale=locale)
    if idempotency_key is not None:
        idempotency_key = idempotency_key.strip()
        if not 0 < len(idempotency_key) <= 255:
            raise ValidationFailed({"idempotency_key": ["Use a key of 1 to 255 characters."]})
        replayed = _replay(account=account, idempotency_key=idempotency_key, amount=value)
        if replayed is not None:
            return replayed
    now = clock.now()
    request = None
    for _ in range(REFERENCE_ATTEMPTS):
        try:
            with transaction.atomic():
                request = BankTransfer.objects.create(
                    account=account,
                    amount=value.amount,
                    currency=currency,
                    reference=_reference_unused(),
                    created_at=now,
                    expires_at=now + timedelta(days=settings.BILLTONE_BANK_TRANSFER_EXPIRY_DAYS),
                    created_by_id=actor.user_id,
                    created_by_label=actor.label[:200],
                    idempotency_key=idempotency_key,
                )
            break
        except IntegrityError:
            if idempotency_key is not None:
                replayed = _replay(account=account, idempotency_key=idempotency_key, amount=value)
                if replayed is not None:
                    return replayed
    if request is None:
        raise RuntimeError("Could not create the bank transfer.")
    audit_record(
        actor=actor,
        action="bank_transfer.create",
        obj=request,
        account_id=account.pk,
        changes={"amount": [None, value.plain()], "reference": [None, request.reference]},
    )
    _instructions_email(request=request, bank_account=bank_account, locale=locale)
    return request


def _instructions_email(
    *, request: BankTransfer, bank_account: OperatorBankAccount, locale: str
) -> None:
    from billtone.banktransfers.selectors import bank_transfer_instructions

    billing_email_queue(
        account=request.account,
        key=f"bank-transfer-instructions:{request.pk}",
        template="bank_transfer_instructions",
        context={"instructions": bank_transfer_instructions(request=request, locale=locale)},
    )


def bank_transfer_expire_due() -> int:
    """Mark requests past their expiry as expired; returns how many. One conditional UPDATE,
    so a request received at the same moment is never turned back to expired."""
    return BankTransfer.objects.filter(
        status=BankTransfer.Status.AWAITING_FUNDS, expires_at__lte=clock.now()
    ).update(status=BankTransfer.Status.EXPIRED)


def bank_transfers_lock(*, ids: Iterable[int]) -> dict[int, BankTransfer]:
    """The bank transfers `ids` by id, locked in id order: the one way this app locks them.
    Callers that also post to the ledger lock its accounts first."""
    locked = BankTransfer.objects.select_for_update().filter(pk__in=sorted(set(ids)))
    return {request.pk: request for request in locked.order_by("pk")}


def bank_transfer_arrival(*, status: str, requested: Money, arrived: Money) -> str | None:
    """The rule of money arriving for a bank transfer, for one (`bank_transfer_receive`) and
    for a statement's thousands (reconciliation's import) alike: the status a bank transfer
    now in `status` takes when `arrived` lands on it — received when it is the amount asked
    for, received a different amount otherwise — or None when it cannot take it (received
    already: it stays as it is). ValidationFailed when nothing arrived."""
    if arrived.amount <= 0:
        raise ValidationFailed({"amount": ["The amount received must be more than zero."]})
    taken = (
        BankTransfer.Status.RECEIVED
        if arrived == requested
        else BankTransfer.Status.RECEIVED_DIFFERENT_AMOUNT
    )
    return taken if taken in BankTransfer.TRANSITIONS.get(status, ()) else None


@transaction.atomic
def bank_transfer_receive(
    *, bank_transfer_id: int, amount: Decimal, received_at: datetime
) -> BankTransfer:
    """Record the money that arrived for a bank transfer (`bank_transfer_arrival`); Conflict
    when it was received already. For staff allocating a bank entry from the review queue
    (reconciliation's services.review), who post the money to the ledger in the same
    transaction; the statement import receives its matched bank transfers in bulk by the same
    rule (reconciliation's import_run)."""
    request = bank_transfers_lock(ids=[bank_transfer_id]).get(bank_transfer_id)
    if request is None:
        raise NotFound("No such bank transfer.")
    arrived = Money(amount, request.currency)
    status = bank_transfer_arrival(
        status=request.status, requested=Money(request.amount, request.currency), arrived=arrived
    )
    if status is None:
        raise Conflict(
            f"Bank transfer {request.reference} is already {request.get_status_display().lower()}.",
            slug="bank-transfer-closed",
            title="Bank transfer already received",
        )
    request.status = status
    request.received_amount = arrived.amount
    request.received_at = received_at
    request.save(update_fields=["status", "received_amount", "received_at"])
    return request
