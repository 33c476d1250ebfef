"""Next Bill in the API: amounts as decimal strings in the bill's currency, like invoices."""

import datetime as dt
from datetime import date, datetime
from typing import Literal

from ninja import Field, Schema


class NextBillQuery(Schema):
    count: int = Field(3, ge=1, le=12, description="how many bills ahead, 1 to 12")


class NextBillLineOut(Schema):
    description: str
    kind: Literal["plan", "number"]
    period_start: date
    period_end: date = Field(description="inclusive")
    quantity: int
    unit_price: str = Field(description="net, decimal string")
    amount: str = Field(description="net, decimal string")
    tax_rate: str = Field(description="percent, e.g. 19.00")


class NextBillTaxOut(Schema):
    rate: str = Field(description="percent, e.g. 19.00")
    taxable: str
    tax: str


class NextBillPaymentOut(Schema):
    method: Literal["business_funds", "card", "none"] = Field(
        description="business_funds when the operator bills from funds and they cover it "
        "(earlier bills taking their share first), else card (the default card, automatic "
        "payments on), else none"
    )
    label: str = Field(description='e.g. "Business funds", "Visa •••• 4242"; "" for none')
    warning: str = Field(description="why nothing will cover the bill; empty otherwise")


class ExpectedTopUpOut(Schema):
    date: dt.date = Field(description="approximately when, in the account's time zone")
    amount: str = Field(description="call credit added (net), decimal string")
    gross: str = Field(description="what will be paid, tax included")
    method: Literal["business_funds", "card", "none"] = Field(
        description="business_funds when they cover it, else card (the default card, "
        "automatic payments on), else none: the top-up will fail"
    )
    label: str = Field(description='e.g. "Business funds", "Visa •••• 4242"; "" for none')


class NextBillOut(Schema):
    period: date = Field(description="the first day of the month billed")
    issue_date: date = Field(description="the bill's date in the account's time zone")
    moment: datetime = Field(description="when the bill run issues it (midnight, local)")
    due_now: bool = Field(description="its moment has passed: the next bill run issues it")
    currency: str = Field(description="ISO 4217")
    lines: list[NextBillLineOut]
    net: str
    tax: str
    gross: str = Field(description="the total, what the invoice will ask")
    taxes: list[NextBillTaxOut] = Field(description="tax per rate")
    reverse_charge: bool
    tax_mention: str = Field(description="printed on the invoice, e.g. reverse charge; or empty")
    payment: NextBillPaymentOut
    expected_auto_top_ups: list[ExpectedTopUpOut] = Field(
        default_factory=list,
        description="the auto top-ups the call-credit forecast (last 30 days' calls, 30 days "
        "ahead) expects after the previous bill's date (today for the first) and before this "
        "one's: with the bills, the whole cost until then. Business funds pay the bills and "
        "the top-ups in day order (a bill before its day's top-ups), as `payment` says",
    )


def _plain(money) -> str:
    return money.rounded().plain()


def next_bill_out(bill, top_ups=()) -> dict:
    """A billing.selectors.NextBill as NextBillOut's fields; `top_ups` the forecast's
    (rating.forecast_selectors.ExpectedTopUpView) due before it."""
    return {
        "period": bill.period,
        "issue_date": bill.issue_date,
        "moment": bill.moment,
        "due_now": bill.due_now,
        "currency": bill.currency,
        "lines": [
            {
                "description": line.description,
                "kind": line.kind,
                "period_start": line.period_start,
                "period_end": line.period_end,
                "quantity": line.quantity,
                "unit_price": _plain(line.unit_price),
                "amount": _plain(line.amount),
                "tax_rate": f"{line.tax_rate:.2f}",
            }
            for line in bill.lines
        ],
        "net": _plain(bill.net),
        "tax": _plain(bill.tax),
        "gross": _plain(bill.gross),
        "taxes": [
            {"rate": f"{t.rate:.2f}", "taxable": _plain(t.taxable), "tax": _plain(t.tax)}
            for t in bill.taxes
        ],
        "reverse_charge": bill.reverse_charge,
        "tax_mention": bill.tax_mention,
        "payment": {
            "method": bill.payment.method,
            "label": bill.payment.label,
            "warning": bill.payment.warning,
        },
        "expected_auto_top_ups": [
            {
                "date": t.on,
                "amount": _plain(t.amount),
                "gross": _plain(t.gross),
                "method": t.paid_by,
                "label": t.label,
            }
            for t in top_ups
        ],
    }
