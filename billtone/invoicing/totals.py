"""An invoice's totals, computed once for everyone: the basket shows them, checkout posts them
to the ledger, invoice_issue stores them. Pure: no database.

EN 16931 computes VAT per rate, not per line: the tax of a rate is the sum of the net amounts
at that rate times the rate, rounded once (BR-CO-17). Each line's net is its unit price times
its quantity, rounded once. Gross is net plus tax.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from billtone.catalog.tax import TaxTreatment
from billtone.core.money import Money

LINE_KINDS = frozenset({"plan", "number", "credit_pack", "store_item", "setup"})
BILLINGS = frozenset({"one_off", "monthly"})
HUNDRED = Decimal(100)
RATE_PLACES = Decimal("0.01")  # rates are percent with two decimals (catalog's TaxRate)


@dataclass(frozen=True)
class LineIn:
    """One line to invoice. `unit_price` is net; `period_start`/`period_end` (inclusive) the
    period of supply of a monthly item. `tax_rate` (percent) overrides the invoice's rate for
    this line only; under reverse charge every line is at 0 %."""

    description: str
    kind: str
    product_id: int | None
    quantity: int
    unit_price: Money
    period_start: date | None
    period_end: date | None
    billing: str
    tax_rate: Decimal | None = None


@dataclass(frozen=True)
class LineTotal:
    """`net` is the line's amount; `tax` its own VAT rounded for display only: the invoice's
    tax is computed per rate (Totals.tax_by_rate), never as the sum of these."""

    line: LineIn
    net: Money
    tax: Money
    rate: Decimal


class RateTotal(NamedTuple):
    """The net amount taxed at one rate and its tax: `taxable, tax = totals.tax_by_rate[r]`."""

    taxable: Money
    tax: Money


@dataclass(frozen=True)
class Totals:
    currency: str
    lines: list[LineTotal]
    net: Money
    tax: Money
    gross: Money
    tax_by_rate: dict[Decimal, RateTotal]
    reverse_charge: bool

    @property
    def rates(self) -> list[tuple[Decimal, RateTotal]]:
        """(rate, its totals) in ascending order of rate."""
        return [(rate, self.tax_by_rate[rate]) for rate in sorted(self.tax_by_rate)]


class TotalsError(ValueError):
    """Lines that cannot be invoiced together (a programming error of the caller)."""


def _line_rate(line: LineIn, tax: TaxTreatment) -> Decimal:
    if tax.reverse_charge:
        return Decimal(0).quantize(RATE_PLACES)
    rate = tax.rate if line.tax_rate is None else line.tax_rate
    return Decimal(rate).quantize(RATE_PLACES)


def _check(line: LineIn, currency: str) -> None:
    if line.kind not in LINE_KINDS:
        raise TotalsError(f"Unknown line kind {line.kind!r}.")
    if line.billing not in BILLINGS:
        raise TotalsError(f"Unknown billing {line.billing!r}.")
    if not isinstance(line.quantity, int) or isinstance(line.quantity, bool) or line.quantity < 1:
        raise TotalsError(f"A quantity is a whole number of at least 1, not {line.quantity!r}.")
    if line.unit_price.currency != currency:
        raise TotalsError(
            f"{line.description}: priced in {line.unit_price.currency}, not {currency}."
        )
    if line.unit_price.amount < 0:
        raise TotalsError(f"{line.description}: a price is never negative.")
    if (line.period_start is None) != (line.period_end is None):
        raise TotalsError(f"{line.description}: a period has both a start and an end.")
    if line.period_start and line.period_end < line.period_start:
        raise TotalsError(f"{line.description}: the period ends before it starts.")


def _tax(net: Money, rate: Decimal) -> Money:
    return (net * (rate / HUNDRED)).rounded()


def invoice_totals(*, lines: Sequence[LineIn], tax: TaxTreatment, currency: str) -> Totals:
    """The totals of `lines` under `tax`, all in `currency` (TotalsError otherwise)."""
    zero = Money.zero(currency)
    line_totals: list[LineTotal] = []
    taxable_by_rate: dict[Decimal, Money] = {}
    for line in lines:
        _check(line, currency)
        rate = _line_rate(line, tax)
        net = (line.unit_price * line.quantity).rounded()
        line_totals.append(LineTotal(line=line, net=net, tax=_tax(net, rate), rate=rate))
        taxable_by_rate[rate] = taxable_by_rate.get(rate, zero) + net
    by_rate = {
        rate: RateTotal(taxable=taxable, tax=_tax(taxable, rate))
        for rate, taxable in taxable_by_rate.items()
    }
    net = sum((line.net for line in line_totals), zero)
    tax_total = sum((entry.tax for entry in by_rate.values()), zero)
    return Totals(
        currency=currency,
        lines=line_totals,
        net=net,
        tax=tax_total,
        gross=net + tax_total,
        tax_by_rate=by_rate,
        reverse_charge=bool(tax.reverse_charge),
    )
