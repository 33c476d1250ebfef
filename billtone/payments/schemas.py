from datetime import date, datetime
from typing import Literal

from ninja import Field, Schema
from pydantic import StrictBool, StrictInt

from billtone.core.money import Money
from billtone.core.schemas import AMOUNT_NOTATION, AmountIn
from billtone.payments import selectors
from billtone.payments.models import Payment, PaymentPurpose, SavedCard

Purpose = Literal["business_funds", "call_credit"]
assert set(Purpose.__args__) == set(PaymentPurpose.values)


class CardIn(Schema):
    """A card to save. The number and CVC go to the payment gateway at once and are never
    stored or logged; only the gateway's token and what the customer sees are kept.

    In production, tokenize the card in the browser (e.g. Stripe.js) so that card numbers
    never pass through your systems at all; this route is for the sandbox gateway and for
    test mode."""

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "number": "4242 4242 4242 4242",
                    "exp_month": 11,
                    "exp_year": 2030,
                    "cvc": "123",
                    "holder_name": "Ada Lovelace",
                    "make_default": False,
                }
            ]
        }
    }

    number: str = Field(max_length=30, description="the card number; spaces allowed")
    exp_month: StrictInt = Field(ge=1, le=12)
    exp_year: StrictInt = Field(ge=0, le=9999, description="four digits, or two (30 for 2030)")
    cvc: str = Field(max_length=4, description="the 3 or 4 digit security code")
    holder_name: str = Field(max_length=100, description="the name on the card")
    make_default: StrictBool = Field(False, description="the account's first card is the default")


class CardOut(Schema):
    id: int
    brand: str = Field(description="visa, mastercard, amex, discover, jcb, diners, unionpay")
    brand_display: str
    last4: str
    exp_month: int
    exp_year: int
    holder_name: str
    is_default: bool
    expires_on: date = Field(description="the last day of the expiry month")
    expires_soon: bool = Field(description="expires within 30 days, in the account's time zone")
    expired: bool
    created_at: datetime
    removed_at: datetime | None

    @staticmethod
    def resolve_expires_on(obj: SavedCard) -> date:
        return selectors.card_expiry(card=obj).expires_on

    @staticmethod
    def resolve_expires_soon(obj: SavedCard) -> bool:
        return selectors.card_expiry(card=obj).expires_soon

    @staticmethod
    def resolve_expired(obj: SavedCard) -> bool:
        return selectors.card_expiry(card=obj).expired


class AutomaticPaymentsIn(Schema):
    enabled: StrictBool = Field(description="automatic payments charge the default card")


class AutomaticPaymentsOut(Schema):
    enabled: bool
    default_card_id: int | None


class PaymentIn(Schema):
    model_config = {
        "json_schema_extra": {
            "examples": [{"card_id": 1, "amount": "50.00", "purpose": "business_funds"}]
        }
    }

    card_id: StrictInt = Field(description="one of the account's saved cards")
    amount: AmountIn = Field(
        description=f'A {AMOUNT_NOTATION} ("50.00"), in the account\'s billing currency, with '
        "at most the currency's minor unit of decimals",
        examples=["50.00"],
    )
    purpose: Purpose = Field(
        description="business_funds: top up the business account; call_credit: top up call credit"
    )
    description: str = Field("", max_length=255)


class RefundIn(Schema):
    amount: AmountIn | None = Field(
        None,
        description=f"What to refund: a {AMOUNT_NOTATION}; empty: all that is left of the payment",
    )
    reason: str = Field("", max_length=255)


class PaymentCardOut(Schema):
    id: int
    brand: str
    last4: str


class PaymentOut(Schema):
    id: int
    kind: Literal["charge", "refund"]
    status: Literal["pending", "succeeded", "failed", "requires_action", "errored"]
    status_display: str
    amount: str = Field(description="decimal string, to the currency's minor unit")
    currency: str
    purpose: Purpose
    description: str
    on_session: bool = Field(description="false for automatic payments")
    card: PaymentCardOut
    gateway: str
    gateway_reference: str
    failure_code: str = Field(description="the gateway's reason when failed or errored")
    failure_message: str = Field(description="what to tell the customer")
    refund_of: int | None = Field(description="for a refund: the payment it gives back")
    refunded_amount: str | None = Field(description="for a charge: what refunds took back")
    ledger_transaction_id: int | None
    next_action: Literal["authenticate"] | None = Field(
        description="authenticate: the customer confirms with the bank, then "
        "POST /payments/{id}/confirm"
    )
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_status_display(obj: Payment) -> str:
        return obj.get_status_display()

    @staticmethod
    def resolve_amount(obj: Payment) -> str:
        return obj.money.plain()

    @staticmethod
    def resolve_refund_of(obj: Payment) -> int | None:
        return obj.refund_of_id

    @staticmethod
    def resolve_refunded_amount(obj: Payment) -> str | None:
        if obj.kind != Payment.Kind.CHARGE:
            return None
        refunded = selectors.payment_refunded_amount(payment=obj)
        return Money(refunded, obj.currency).rounded().plain()

    @staticmethod
    def resolve_next_action(obj: Payment) -> str | None:
        return "authenticate" if obj.status == Payment.Status.REQUIRES_ACTION else None
