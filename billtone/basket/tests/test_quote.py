"""The quote, a pure decision: invoice lines, totals and the ledger legs that pay them."""

from datetime import UTC, date, datetime
from decimal import Decimal

from billtone.basket.quote import QuoteItem, quote_build, quote_changes
from billtone.catalog.tax import TaxTreatment
from billtone.core.money import Money

DE = TaxTreatment(rate=Decimal("19.00"), reverse_charge=False, mention="", country="DE")
REVERSE = TaxTreatment(rate=Decimal(0), reverse_charge=True, mention="Reverse charge", country="FR")


def eur(amount: str) -> Money:
    return Money(amount, "EUR")


ITEMS = [
    QuoteItem(1, "plan", 11, "National plan: Ada (extension 201)", 1, eur("12.00"), eur("0")),
    QuoteItem(2, "number", 12, "NL geographic: +31201234567", 1, eur("3.00"), eur("5.00")),
    QuoteItem(3, "credit_pack", 13, "Call credit 10", 2, eur("10.00"), eur("0")),
    QuoteItem(4, "store_item", 14, "Desk phone", 1, eur("150.00"), eur("0")),
]


def build(bought_at: datetime, tax: TaxTreatment = DE):
    return quote_build(
        items=ITEMS,
        bought_at=bought_at,
        timezone="Europe/Berlin",
        cut_off_day=19,
        tax=tax,
        currency="EUR",
    )


def test_bought_before_the_cut_off_day_charges_the_rest_of_the_month():
    quote = build(datetime(2026, 12, 5, 10, 0, tzinfo=UTC))

    plan, number, setup, credit, phone = quote.lines
    # 5 to 31 December: 27 of 31 days.
    assert (plan.unit_price, plan.period_start, plan.period_end) == (
        eur("10.45"),
        date(2026, 12, 5),
        date(2026, 12, 31),
    )
    assert (number.unit_price, setup.kind, setup.unit_price) == (eur("2.61"), "setup", eur("5.00"))
    assert (credit.quantity, credit.billing, phone.billing) == (2, "one_off", "one_off")
    totals = quote.totals
    assert totals.net == eur("188.06")  # 10.45 + 2.61 + 5.00 + 20.00 + 150.00
    assert totals.tax == eur("35.73")  # 19 % of 188.06, rounded once
    assert totals.gross == eur("223.79")


def test_the_legs_post_exactly_the_invoice():
    quote = build(datetime(2026, 12, 5, 10, 0, tzinfo=UTC))

    legs = {(leg.ledger_kind, leg.amount) for leg in quote.legs}
    assert legs == {
        ("business_funds", eur("-223.79")),
        ("revenue_subscriptions", eur("10.45")),
        ("revenue_numbers", eur("2.61")),
        ("revenue_one_off", eur("155.00")),  # setup fee and desk phone
        ("call_credit", eur("20.00")),
        ("tax_payable", eur("35.73")),
    }
    assert sum((leg.amount for leg in quote.legs), eur("0")) == eur("0")


def test_bought_after_the_cut_off_day_charges_the_next_month_too():
    # 23:30 UTC on 24 February is the 25th in Berlin: 4 days of February and all of March.
    quote = build(datetime(2028, 2, 24, 23, 30, tzinfo=UTC))

    plan = quote.lines[0]
    assert (plan.period_start, plan.period_end) == (date(2028, 2, 25), date(2028, 3, 31))
    assert plan.unit_price == eur("14.07")  # 12.00 × (5/29 + 1), 2028 is a leap year


def test_reverse_charge_has_no_tax_leg():
    quote = build(datetime(2026, 12, 5, 10, 0, tzinfo=UTC), tax=REVERSE)

    assert quote.totals.tax == eur("0")
    assert [leg.ledger_kind for leg in quote.legs if leg.ledger_kind == "tax_payable"] == []
    assert quote.gross == quote.totals.net


def test_a_changed_quote_is_described():
    shown = build(datetime(2026, 12, 5, 10, 0, tzinfo=UTC)).as_json()
    later = build(datetime(2026, 12, 6, 10, 0, tzinfo=UTC)).as_json()

    changes = quote_changes(shown=shown, now=later)

    assert shown != later and build(datetime(2026, 12, 5, 11, tzinfo=UTC)).as_json() == shown
    assert changes[0].startswith("National plan: Ada (extension 201): was 10.45 EUR for 2026-12-05")
    assert changes[-1] == "Total: was 223.79 EUR, now 223.22 EUR."
