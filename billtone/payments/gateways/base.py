"""The one interface Billtone uses to take cards, and what every gateway shares.

PCI DSS: a card number and its CVC pass through `card_save` once, on their way to the
gateway, and are never stored, logged or put into an exception. `CardInput` keeps them out
of its repr; errors name the field, never the value.

A charge has four outcomes. `failed` is a known decline: nothing was taken and the customer
can be told why. `errored` is an unknown outcome (network error, timeout, 5xx): money may or
may not have moved, so the caller keeps the attempt open and asks the gateway again with
`charge_find` (same idempotency key) until it knows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Protocol

from babel.numbers import get_currency_precision, list_currencies
from stdnum import luhn

from billtone.core import clock
from billtone.core.errors import ApplicationError, ValidationFailed

# How far ahead an expiry year may be; gateways refuse cards beyond it (invalid_expiry_year).
MAX_EXPIRY_YEARS_AHEAD = 20
HOLDER_NAME_MAX_LENGTH = 100


class ChargeStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REQUIRES_ACTION = "requires_action"
    ERRORED = "errored"


class RefundStatus(StrEnum):
    SUCCEEDED = "succeeded"
    PENDING = "pending"
    FAILED = "failed"
    ERRORED = "errored"


@dataclass(frozen=True)
class SavedCard:
    """What may be kept of a card: the gateway's token and what the customer sees."""

    token: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    holder: str
    # The gateway's customer the card belongs to; pass it to the next card_save of the same
    # account so that its cards share one customer at the gateway.
    gateway_customer: str
    # The gateway's name for the card number, the same each time that number is saved
    # (Stripe's card.fingerprint); empty where the gateway gives none.
    fingerprint: str = ""


@dataclass(frozen=True)
class ChargeResult:
    status: ChargeStatus
    gateway_reference: str
    amount: Decimal
    currency: str
    failure_code: str = ""
    message: str = ""
    # With requires_action: what the customer's browser needs to authenticate (Stripe.js
    # handleNextAction takes it); afterwards the caller calls charge_confirm.
    client_secret: str = field(default="", repr=False)


@dataclass(frozen=True)
class RefundResult:
    status: RefundStatus
    gateway_reference: str
    amount: Decimal
    currency: str
    failure_code: str = ""
    message: str = ""


class PaymentGateway(Protocol):
    """A card gateway. Methods that move money take the caller's idempotency key and pass it
    to the gateway: the same key with the same arguments never charges or refunds twice and
    answers with the first result."""

    name: str

    def card_save(
        self,
        *,
        number: str,
        exp_month: int | str,
        exp_year: int | str,
        cvc: str,
        holder_name: str,
        customer_ref: str,
        gateway_customer: str = "",
    ) -> SavedCard:
        """Validate the card (ValidationFailed), hand it to the gateway and return its token.
        A card the gateway refuses raises CardDeclined; an unreachable gateway raises
        GatewayUnavailable."""
        ...

    def card_detach(self, *, token: str) -> None:
        """Forget a card saved by card_save: it can no longer be charged. A card the gateway
        no longer has is not an error; an unreachable gateway raises GatewayUnavailable."""
        ...

    def card_charge(
        self,
        *,
        token: str,
        amount: Decimal,
        currency: str,
        on_session: bool,
        idempotency_key: str,
        description: str = "",
        metadata: dict[str, str] | None = None,
    ) -> ChargeResult:
        """Charge a saved card. on_session: the customer is present and can authenticate
        (3-D Secure); off session (automatic payments) a card that needs it fails with
        failure_code authentication_required."""
        ...

    def charge_find(
        self,
        *,
        token: str,
        amount: Decimal,
        currency: str,
        on_session: bool,
        idempotency_key: str,
    ) -> ChargeResult | None:
        """The charge card_charge made with these arguments, or None if the gateway has
        none: how an errored charge, or one whose answer our process lost, is settled."""
        ...

    def charge_confirm(self, *, reference: str) -> ChargeResult:
        """After the customer completed a requires_action step: the charge's outcome."""
        ...

    def charge_refund(
        self, *, reference: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> RefundResult: ...

    def refund_find(
        self, *, reference: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> RefundResult | None: ...


class CardDeclined(ValidationFailed):
    """The gateway refused to save the card. `failure_code` is the gateway's reason."""

    def __init__(self, *, field_name: str, failure_code: str, message: str):
        super().__init__({field_name: [message]}, detail=message)
        self.failure_code = failure_code


class GatewayUnavailable(ApplicationError):
    def __init__(self, detail: str = "The payment provider cannot be reached. Try again later."):
        super().__init__(
            detail=detail,
            slug="payment-gateway-unavailable",
            title="Payment provider unavailable",
            status=503,
        )


# What a person is told. Lost and stolen cards read as a plain decline, as gateways advise.
_MESSAGES = {
    "card_declined": "Your card was declined. Use another card or contact your bank.",
    "generic_decline": "Your card was declined. Use another card or contact your bank.",
    "lost_card": "Your card was declined. Use another card or contact your bank.",
    "stolen_card": "Your card was declined. Use another card or contact your bank.",
    "do_not_honor": "Your card was declined. Use another card or contact your bank.",
    "insufficient_funds": "Your card has insufficient funds.",
    "expired_card": "Your card has expired.",
    "incorrect_cvc": "Your card's security code is incorrect.",
    "invalid_cvc": "Your card's security code is incorrect.",
    "incorrect_number": "Your card number is incorrect.",
    "invalid_number": "Your card number is incorrect.",
    "invalid_expiry_month": "Your card's expiry month is not valid.",
    "invalid_expiry_year": "Your card's expiry year is not valid.",
    "processing_error": "An error occurred while processing your card. Try again in a moment.",
    "authentication_required": (
        "Your bank asks you to confirm this payment. Pay it while signed in to confirm it."
    ),
    "payment_intent_authentication_failure": "The payment was not confirmed with your bank.",
    "canceled": "The payment was canceled.",
    "test_mode_live_card": ("This is a test system: use a test card, such as 4242 4242 4242 4242."),
}
MESSAGE_DECLINED = _MESSAGES["card_declined"]
MESSAGE_SUCCEEDED = "Payment received."
MESSAGE_REQUIRES_ACTION = "Your bank asks you to confirm this payment."
MESSAGE_ERRORED = (
    "We could not reach the payment provider, so we do not know yet whether the payment went "
    "through. We will check and update it; you will not be charged twice."
)
MESSAGE_REFUNDED = "Refund sent."
MESSAGE_REFUND_PENDING = "Refund on its way."
MESSAGE_REFUND_FAILED = "The refund could not be made."


def failure_message(failure_code: str, fallback: str = MESSAGE_DECLINED) -> str:
    return _MESSAGES.get(failure_code, fallback)


def card_field_for(failure_code: str) -> str:
    """The card form field a gateway's refusal belongs to."""
    if failure_code in {"incorrect_cvc", "invalid_cvc"}:
        return "cvc"
    if failure_code in {"expired_card", "invalid_expiry_month", "invalid_expiry_year"}:
        return "exp"
    return "number"


# Money ------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def currency_exponent(currency: str) -> int:
    if currency not in _currencies():
        raise ValidationFailed({"currency": [f"{currency} is not an ISO 4217 currency."]})
    return get_currency_precision(currency)


def to_minor_units(amount: Decimal, currency: str) -> int:
    """12.34 EUR -> 1234; 500 JPY -> 500. Refuses floats and sub-minor-unit amounts."""
    if not isinstance(amount, Decimal):
        raise TypeError("Amounts are Decimal, never float.")
    exponent = currency_exponent(currency)
    minor = amount.scaleb(exponent)
    if not amount.is_finite() or minor != minor.to_integral_value():
        raise ValidationFailed(
            {"amount": [f"{currency} amounts have at most {exponent} decimal places."]}
        )
    if minor <= 0:
        raise ValidationFailed({"amount": ["The amount must be greater than zero."]})
    return int(minor)


def from_minor_units(minor: int, currency: str) -> Decimal:
    return Decimal(int(minor)).scaleb(-currency_exponent(currency))


# Cards ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardInput:
    """A validated card on its way to the gateway. Never stored; number and CVC never shown."""

    number: str = field(repr=False)
    exp_month: int
    exp_year: int
    cvc: str = field(repr=False)
    holder_name: str
    brand: str

    @property
    def last4(self) -> str:
        return self.number[-4:]


def card_brand(number: str) -> str:
    """The scheme from the number's prefix (IIN ranges), named as Stripe names them."""
    prefix2, prefix4 = int(number[:2]), int(number[:4])
    if number.startswith("4"):
        return "visa"
    if 51 <= prefix2 <= 55 or 2221 <= prefix4 <= 2720:
        return "mastercard"
    if prefix2 in {34, 37}:
        return "amex"
    if number.startswith(("6011", "65")) or 644 <= int(number[:3]) <= 649:
        return "discover"
    if 3528 <= prefix4 <= 3589:
        return "jcb"
    if prefix2 in {36, 38, 39} or 300 <= int(number[:3]) <= 305:
        return "diners"
    if number.startswith("62"):
        return "unionpay"
    return "unknown"


def _as_int(value: int | str) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text) if text.isascii() and text.isdigit() else None


def card_validate(
    *,
    number: str,
    exp_month: int | str,
    exp_year: int | str,
    cvc: str,
    holder_name: str,
) -> CardInput:
    """Check a card before it goes to a gateway; ValidationFailed names each bad field."""
    errors: dict[str, list[str]] = {}

    digits = "".join(str(number or "").split()).replace("-", "")
    if not digits:
        errors["number"] = ["Enter the card number."]
    elif not (
        digits.isascii() and digits.isdigit() and 12 <= len(digits) <= 19 and luhn.is_valid(digits)
    ):
        errors["number"] = ["This card number is not valid."]

    month, year = _as_int(exp_month), _as_int(exp_year)
    if year is not None and year < 100:
        year += 2000
    today = clock.now().date()
    if month is None or year is None or not 1 <= month <= 12:
        errors["exp"] = ["Enter the expiry date as month and year."]
    elif (year, month) < (today.year, today.month):
        errors["exp"] = ["This card has expired."]
    elif year > today.year + MAX_EXPIRY_YEARS_AHEAD:
        errors["exp"] = ["Check the expiry year."]

    cvc_text = str(cvc or "").strip()
    if not (cvc_text.isascii() and cvc_text.isdigit() and len(cvc_text) in (3, 4)):
        errors["cvc"] = ["Enter the 3 or 4 digit security code."]

    holder = " ".join(str(holder_name or "").split())
    if not holder:
        errors["holder_name"] = ["Enter the name on the card."]
    elif len(holder) > HOLDER_NAME_MAX_LENGTH:
        errors["holder_name"] = [f"At most {HOLDER_NAME_MAX_LENGTH} characters."]

    if errors:
        raise ValidationFailed(errors)
    return CardInput(
        number=digits,
        exp_month=month,
        exp_year=year,
        cvc=cvc_text,
        holder_name=holder,
        brand=card_brand(digits),
    )
