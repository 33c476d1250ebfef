from datetime import date, datetime
from typing import Literal

from ninja import Field, Schema
from pydantic import StrictBool, StrictInt

from billtone.basket.models import Checkout
from billtone.basket.selectors import BasketView, LineView
from billtone.core.money import Money

ID_MAX = 2**63 - 1  # the largest id a database row can have


class BasketLineIn(Schema):
    """What to add. `kind` says which fields count: `plan` (a phone user: name, email,
    extension, product_id of the plan), `number` (number_id from the inventory, held for
    the account while it waits), `credit_pack` or `store_item` (product_id, quantity)."""

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {
            "examples": [
                {"kind": "credit_pack", "product_id": 7, "quantity": 2},
                {"kind": "number", "number_id": 42},
                {
                    "kind": "plan",
                    "product_id": 2,
                    "name": "Ada Lovelace",
                    "email": "ada@example.com",
                    "extension": "201",
                },
            ]
        },
    }

    kind: Literal["plan", "number", "credit_pack", "store_item"]
    product_id: StrictInt | None = Field(None, ge=1, le=ID_MAX)
    quantity: StrictInt = Field(1, ge=1, le=1000)
    number_id: StrictInt | None = Field(None, ge=1, le=ID_MAX)
    name: str = Field("", max_length=200)
    email: str = Field("", max_length=254)
    extension: str = Field("", max_length=10)


class QuantityIn(Schema):
    model_config = {"extra": "forbid"}

    quantity: StrictInt = Field(ge=1, le=1000, description="a line is removed with DELETE")


class LineOut(Schema):
    id: int
    kind: str
    product_id: int
    description: str
    billing: Literal["one_off", "monthly"]
    period_start: date | None = Field(description="monthly items: the first charge's start")
    period_end: date | None
    unit_price: str = Field(description="net: the monthly fee, or the one-off price, now")
    setup_price: str = Field(description="net one-off setup fee (numbers)")
    quantity: int
    total: str = Field(description="net of the line's first charge, setup fee included")
    price_was: str | None = Field(description="the price when added, if it changed since")
    problem: str = Field(description="why it cannot be bought as it is; empty if it can")
    phone_user_id: int | None
    phone_number_id: int | None

    @staticmethod
    def from_view(view: LineView) -> dict:
        line = view.line
        return {
            "id": line.pk,
            "kind": line.kind,
            "product_id": line.product_id,
            "description": view.description,
            "billing": view.billing,
            "period_start": view.period_start,
            "period_end": view.period_end,
            "unit_price": view.unit_price.plain(),
            "setup_price": view.setup.plain(),
            "quantity": line.quantity,
            "total": view.total.plain(),
            "price_was": view.price_was.plain() if view.price_was else None,
            "problem": view.problem,
            "phone_user_id": line.phone_user_id,
            "phone_number_id": line.phone_number_id,
        }


class BasketOut(Schema):
    currency: str
    lines: list[LineOut]
    net: str
    tax: str
    gross: str
    tax_rate: str = Field(description="percent")
    reverse_charge: bool
    tax_mention: str
    quote_token: str = Field(
        description="send it with POST /checkout: checkout is refused (409 quote-changed) "
        "when the basket costs something else by then"
    )
    payable: bool = Field(description="no line has a problem, and there is something to pay")

    @staticmethod
    def from_view(view: BasketView) -> dict:
        return {
            "currency": view.currency,
            "lines": [LineOut.from_view(line) for line in view.lines],
            "net": view.net.plain(),
            "tax": view.tax_total.plain(),
            "gross": view.gross.plain(),
            "tax_rate": format(view.tax.rate, "f"),
            "reverse_charge": view.tax.reverse_charge,
            "tax_mention": view.tax.mention,
            "quote_token": view.token,
            "payable": not view.is_empty and not view.problems,
        }


class NewCardIn(Schema):
    model_config = {"extra": "forbid"}

    number: str = Field(max_length=30)
    exp_month: StrictInt = Field(ge=1, le=12)
    exp_year: StrictInt = Field(ge=0, le=9999)
    cvc: str = Field(max_length=4)
    holder_name: str = Field(max_length=100)


class CheckoutIn(Schema):
    """How to pay the basket: `funds` (business funds), `saved_card` (card_id) or
    `new_card` (card; kept as a saved card when save_card)."""

    model_config = {"extra": "forbid"}

    method: Literal["funds", "saved_card", "new_card"]
    card_id: StrictInt | None = Field(None, ge=1, le=ID_MAX)
    card: NewCardIn | None = None
    save_card: StrictBool = False
    quote_token: str | None = Field(None, max_length=64, description="from GET /basket")


class CheckoutOut(Schema):
    id: int
    method: str
    status: Literal["pending", "awaiting_payment", "completed", "failed"]
    gross: str
    currency: str
    payment_id: int | None
    next_action: Literal["authenticate"] | None = Field(
        description="authenticate: the bank asks for 3-D Secure; then POST /checkouts/{id}/complete"
    )
    invoice_id: int | None
    invoice_number: str | None
    failure_message: str
    created_at: datetime
    completed_at: datetime | None

    @staticmethod
    def from_checkout(checkout: Checkout) -> dict:
        payment = checkout.payment
        return {
            "id": checkout.pk,
            "method": checkout.method,
            "status": checkout.status,
            "gross": Money(checkout.gross, checkout.currency).rounded().plain(),
            "currency": checkout.currency,
            "payment_id": checkout.payment_id,
            "next_action": "authenticate"
            if payment is not None
            and payment.status == "requires_action"
            and checkout.status == "awaiting_payment"
            else None,
            "invoice_id": checkout.invoice_id,
            "invoice_number": checkout.invoice.number if checkout.invoice_id else None,
            "failure_message": checkout.failure_message,
            "created_at": checkout.created_at,
            "completed_at": checkout.completed_at,
        }
