from datetime import datetime

from ninja import Field, Schema
from pydantic import StrictBool

from billtone.core.money import Money
from billtone.core.schemas import AMOUNT_NOTATION, AmountIn
from billtone.rating.models import TopUp
from billtone.rating.topup_selectors import AutoTopUpView


def _plain(money) -> str | None:
    return money.plain() if money is not None else None


class AutoTopUpIn(Schema):
    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [
                {"enabled": True, "value": "20.00", "threshold": "5.00", "low_credit_level": "8"}
            ]
        },
    }

    enabled: StrictBool = Field(description="top call credit up automatically")
    value: AmountIn | None = Field(
        None,
        description=f"the credit one top-up adds, one of `values_offered`: a {AMOUNT_NOTATION}",
    )
    threshold: AmountIn | None = Field(
        None,
        description=f"a top-up is made when call credit falls below this: a {AMOUNT_NOTATION}",
    )
    low_credit_level: AmountIn | None = Field(
        None,
        description=(
            f"email once when call credit falls below this (null: never): a {AMOUNT_NOTATION}"
        ),
    )


class AutoTopUpOut(Schema):
    enabled: bool
    currency: str
    value: str | None
    threshold: str | None
    low_credit_level: str | None
    values_offered: list[str]
    consecutive_failures: int
    turned_off_reason: str = Field(description="why auto top-up turned itself off, if it did")
    turned_off_at: datetime | None
    paused_reason: str = Field(description="why no top-up is made now (an operator's cap)")

    @staticmethod
    def of(view: AutoTopUpView) -> "AutoTopUpOut":
        return AutoTopUpOut(
            enabled=view.enabled,
            currency=view.currency,
            value=_plain(view.value),
            threshold=_plain(view.threshold),
            low_credit_level=_plain(view.low_credit_level),
            values_offered=[value.plain() for value in view.values_offered],
            consecutive_failures=view.consecutive_failures,
            turned_off_reason=view.turned_off_reason,
            turned_off_at=view.turned_off_at,
            paused_reason=view.paused_reason,
        )


class TopUpOut(Schema):
    id: int
    status: str
    amount: str = Field(description="call credit added (net)")
    gross: str = Field(description="what was paid, tax included")
    currency: str
    paid_by: str = Field(description="business_funds, card, or none (failed before paying)")
    invoice_id: int | None
    invoice_number: str | None
    payment_id: int | None
    failure_message: str
    created_at: datetime
    settled_at: datetime | None

    @staticmethod
    def resolve_amount(obj: TopUp) -> str:
        return Money(obj.amount, obj.currency).rounded().plain()

    @staticmethod
    def resolve_gross(obj: TopUp) -> str:
        return Money(obj.gross, obj.currency).rounded().plain()

    @staticmethod
    def resolve_invoice_number(obj: TopUp) -> str | None:
        return obj.invoice.number if obj.invoice_id else None
