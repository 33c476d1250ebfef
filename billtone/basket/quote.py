"""What a basket costs, decided without the database: the invoice lines, their totals, and the
ledger legs that pay them.

The basket page shows a quote, checkout charges and posts one, and the invoice is issued from
it: one function (`quote_build`) makes all three, so that the invoice's totals are the
ledger transaction's postings (issue 17 §7).

- A monthly item (a phone user's plan, a number) is charged for its first periods
  (catalog.periods: the rest of the month of purchase in the account's time zone, and the
  whole next month when bought after the operator's cut-off day), prorated by days, as one
  line whose period runs from the purchase date to the last period's end; a number's setup
  fee is a one-off line of its own.
- Call-credit packs and store items are one-off lines with a quantity.
- Totals and tax: invoicing.totals.invoice_totals under catalog.tax.tax_treatment.
- Legs: the customer's business funds pay the gross; the net goes to revenue by kind
  (subscriptions, numbers, one-off: setup fees and store items) or, for call-credit packs, to
  the customer's call credit; the tax to tax payable, one leg per rate.
"""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from billtone.catalog.periods import first_charge, first_periods
from billtone.catalog.tax import TaxTreatment
from billtone.core.money import Money
from billtone.invoicing.totals import LineIn, Totals, invoice_totals

# Where the net of each invoice line kind goes (ledger.models.LedgerKind values).
LEDGER_KIND_OF_LINE = {
    "plan": "revenue_subscriptions",
    "number": "revenue_numbers",
    "setup": "revenue_one_off",
    "store_item": "revenue_one_off",
    "credit_pack": "call_credit",
}
BUSINESS_FUNDS = "business_funds"
TAX_PAYABLE = "tax_payable"
MONTHLY_KINDS = ("plan", "number")


@dataclass(frozen=True)
class QuoteItem:
    """One basket line as the quote needs it: what it is and what the catalog asks now."""

    line_id: int | None
    kind: str  # plan | number | credit_pack | store_item
    product_id: int
    description: str
    quantity: int
    price: Money  # net: the monthly fee, or the one-off price
    setup: Money  # net one-off setup fee (numbers), else zero


@dataclass(frozen=True)
class QuoteLeg:
    """One leg of the checkout's ledger transaction: a ledger account kind and a signed
    amount (negative debits: the customer's business funds)."""

    ledger_kind: str
    amount: Money
    rate: Decimal | None = None  # tax legs: the rate they collect


@dataclass(frozen=True)
class Quote:
    currency: str
    items: list[tuple[QuoteItem, list[LineIn]]]  # each basket line and its invoice lines
    totals: Totals
    legs: list[QuoteLeg]

    @property
    def lines(self) -> list[LineIn]:
        return [line for _, lines in self.items for line in lines]

    @property
    def gross(self) -> Money:
        return self.totals.gross

    def as_json(self) -> dict:
        """What the customer is shown and agrees to pay: stored with the checkout."""
        return {
            "currency": self.currency,
            "lines": [
                {
                    "description": total.line.description,
                    "kind": total.line.kind,
                    "product_id": total.line.product_id,
                    "quantity": total.line.quantity,
                    "unit_price": total.line.unit_price.plain(),
                    "billing": total.line.billing,
                    "period_start": _day(total.line.period_start),
                    "period_end": _day(total.line.period_end),
                    "net": total.net.plain(),
                    "tax": total.tax.plain(),
                }
                for total in self.totals.lines
            ],
            "net": self.totals.net.plain(),
            "tax": self.totals.tax.plain(),
            "gross": self.totals.gross.plain(),
        }

    @property
    def token(self) -> str:
        """A short fingerprint of as_json(): the page sends it back with "Pay", and checkout
        refuses when the quote it makes then is another (a price or a period changed)."""
        return quote_token(self.as_json())


def quote_token(quote_json: dict) -> str:
    text = json.dumps(quote_json, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def item_lines(
    *, item: QuoteItem, bought_at: datetime, timezone: str, cut_off_day: int
) -> list[LineIn]:
    """The invoice lines of one basket line."""
    if item.kind in MONTHLY_KINDS:
        periods = first_periods(bought_at=bought_at, timezone=timezone, cut_off_day=cut_off_day)
        lines = [
            LineIn(
                description=item.description,
                kind=item.kind,
                product_id=item.product_id,
                quantity=1,
                unit_price=first_charge(monthly=item.price, periods=periods),
                period_start=periods[0].start,
                period_end=periods[-1].end,
                billing="monthly",
            )
        ]
        if not item.setup.is_zero():
            lines.append(
                LineIn(
                    description=f"Setup: {item.description}",
                    kind="setup",
                    product_id=item.product_id,
                    quantity=1,
                    unit_price=item.setup,
                    period_start=None,
                    period_end=None,
                    billing="one_off",
                )
            )
        return lines
    return [
        LineIn(
            description=item.description,
            kind=item.kind,
            product_id=item.product_id,
            quantity=item.quantity,
            unit_price=item.price,
            period_start=None,
            period_end=None,
            billing="one_off",
        )
    ]


def quote_legs(*, totals: Totals, currency: str) -> list[QuoteLeg]:
    """The ledger legs that pay `totals`: they sum to zero, and their credits are the
    invoice's net by kind and its tax by rate."""
    by_kind: dict[str, Money] = {}
    for total in totals.lines:
        kind = LEDGER_KIND_OF_LINE[total.line.kind]
        by_kind[kind] = by_kind.get(kind, Money.zero(currency)) + total.net
    legs = [QuoteLeg(kind, amount) for kind, amount in by_kind.items() if not amount.is_zero()]
    for rate, (_, tax) in sorted(totals.tax_by_rate.items()):
        if not tax.is_zero():
            legs.append(QuoteLeg(TAX_PAYABLE, tax, rate=rate))
    if not totals.gross.is_zero():
        legs.insert(0, QuoteLeg(BUSINESS_FUNDS, -totals.gross))
    return legs


def quote_build(
    *,
    items: Sequence[QuoteItem],
    bought_at: datetime,
    timezone: str,
    cut_off_day: int,
    tax: TaxTreatment,
    currency: str,
) -> Quote:
    """The quote of `items` bought at `bought_at` (aware) by a customer in `timezone`."""
    pairs = [
        (
            item,
            item_lines(item=item, bought_at=bought_at, timezone=timezone, cut_off_day=cut_off_day),
        )
        for item in items
    ]
    totals = invoice_totals(
        lines=[line for _, lines in pairs for line in lines], tax=tax, currency=currency
    )
    return Quote(
        currency=currency,
        items=pairs,
        totals=totals,
        legs=quote_legs(totals=totals, currency=currency),
    )


def quote_changes(*, shown: dict, now: dict) -> list[str]:
    """What differs between the quote the customer saw and the one made now, in words."""
    changes = []
    before = {(line["description"], line["kind"]): line for line in shown.get("lines", [])}
    after = {(line["description"], line["kind"]): line for line in now.get("lines", [])}
    currency = now.get("currency", shown.get("currency", ""))
    for key, line in after.items():
        old = before.get(key)
        if old is None:
            changes.append(f"{line['description']}: now in the basket ({line['net']} {currency}).")
        elif (old["net"], old["period_start"], old["period_end"]) != (
            line["net"],
            line["period_start"],
            line["period_end"],
        ):
            changes.append(
                f"{line['description']}: was {old['net']} {currency}"
                f"{_period(old)}, now {line['net']} {currency}{_period(line)}."
            )
    for key, line in before.items():
        if key not in after:
            changes.append(f"{line['description']}: no longer in the basket.")
    if shown.get("gross") != now.get("gross"):
        changes.append(
            f"Total: was {shown.get('gross')} {currency}, now {now.get('gross')} {currency}."
        )
    return changes


def _period(line: dict) -> str:
    if not line.get("period_start"):
        return ""
    return f" for {line['period_start']} to {line['period_end']}"
