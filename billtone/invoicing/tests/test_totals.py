"""The pure totals: one rounding per line net and per rate, as EN 16931 computes VAT."""

from datetime import date
from decimal import Decimal

import pytest

from billtone.core.money import Money
from billtone.invoicing.tests.conftest import line, reverse_charge, standard
from billtone.invoicing.totals import LineIn, TotalsError, invoice_totals

EUR = "EUR"


def eur(amount: str) -> Money:
    return Money(amount, EUR)


def test_tax_is_rounded_once_per_rate_not_per_line():
    # Per line 0.03 × 19 % = 0.0057 → 0.01, ten times 0.10; per rate 0.30 × 19 % = 0.057 → 0.06.
    lines = [line(price="0.03", period=None, kind="store_item") for _ in range(10)]
    totals = invoice_totals(lines=lines, tax=standard("19"), currency=EUR)
    assert totals.net == eur("0.30")
    assert totals.tax == eur("0.06")
    assert sum((t.tax for t in totals.lines), eur("0")) == eur("0.10")
    assert totals.gross == eur("0.36")
    assert totals.tax_by_rate == {Decimal("19.00"): (eur("0.30"), eur("0.06"))}


def test_line_net_is_unit_times_quantity_rounded_once():
    totals = invoice_totals(
        lines=[line(price="0.3333", quantity=3, period=None, kind="credit_pack")],
        tax=standard("21"),
        currency=EUR,
    )
    assert totals.lines[0].net == eur("1.00")  # 0.9999 → 1.00
    assert totals.tax == eur("0.21")
    assert totals.gross == eur("1.21")


def test_mixed_rates_are_taxed_and_rounded_separately():
    lines = [
        line(price="12.00", quantity=2),
        line(description="Desk phone", price="99.99", period=None, kind="store_item"),
        line(
            description="Reduced",
            price="10.05",
            period=None,
            kind="store_item",
            tax_rate=Decimal("7"),
        ),
    ]
    totals = invoice_totals(lines=lines, tax=standard("19"), currency=EUR)
    taxable, tax = totals.tax_by_rate[Decimal("19")]
    assert (taxable, tax) == (eur("123.99"), eur("23.56"))  # 23.5581
    assert totals.tax_by_rate[Decimal("7")] == (eur("10.05"), eur("0.70"))  # 0.7035
    assert [rate for rate, _ in totals.rates] == [Decimal("7"), Decimal("19")]
    assert totals.net == eur("134.04")
    assert totals.tax == eur("24.26")
    assert totals.gross == totals.net + totals.tax == eur("158.30")


def test_reverse_charge_is_zero_percent_on_every_line():
    lines = [
        line(price="20.00"),
        line(price="5.00", tax_rate=Decimal("7"), period=None, kind="setup"),
    ]
    totals = invoice_totals(lines=lines, tax=reverse_charge(), currency=EUR)
    assert totals.reverse_charge is True
    assert totals.tax == eur("0.00")
    assert totals.gross == totals.net == eur("25.00")
    assert list(totals.tax_by_rate) == [Decimal("0")]
    assert all(entry.rate == 0 and entry.tax.is_zero() for entry in totals.lines)


def test_yen_amounts_have_no_decimals():
    lines = [
        line(price="1333", currency="JPY", quantity=1),
        line(price="499", currency="JPY", quantity=3),
    ]
    totals = invoice_totals(lines=lines, tax=standard("10", "JP"), currency="JPY")
    assert totals.net == Money("2830", "JPY")
    assert totals.tax == Money("283", "JPY")
    assert totals.gross == Money("3113", "JPY")
    assert totals.tax.amount.as_tuple().exponent == 0
    odd = invoice_totals(
        lines=[line(price="1005", currency="JPY")], tax=standard("10"), currency="JPY"
    )
    assert odd.tax == Money("101", "JPY")  # 100.5 → 101 (halves away from zero)


@pytest.mark.parametrize(
    "bad",
    [
        {"quantity": 0},
        {"quantity": True},
        {"unit_price": Money("1.00", "GBP")},
        {"unit_price": eur("-1.00")},
        {"kind": "gift"},
        {"billing": "yearly"},
        {"period_start": date(2026, 12, 31), "period_end": date(2026, 12, 1)},
        {"period_start": date(2026, 12, 1), "period_end": None},
    ],
)
def test_lines_that_cannot_be_invoiced_are_refused(bad):
    fields = {**line().__dict__, **bad}
    with pytest.raises(TotalsError):
        invoice_totals(lines=[LineIn(**fields)], tax=standard(), currency=EUR)


def test_no_lines_is_zero():
    totals = invoice_totals(lines=[], tax=standard(), currency=EUR)
    assert (totals.net, totals.tax, totals.gross) == (eur("0"), eur("0"), eur("0"))
