"""Done when (issue 18): a frozen clock across a whole year for accounts in Pacific/Auckland,
America/New_York and Europe/London, each buying a National-plan user and a number through the
real basket checkout, some before and some after the cut-off day. The bill run runs around
every bill moment (a minute before, just after, hours after): each account gets exactly one
invoice per month, dated on the billing day in its own time zone, and Next Bill taken before
each run predicted it line for line and cent for cent."""

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from billtone.billing.engine import bill_moment, month_add
from billtone.billing.selectors import next_bills
from billtone.billing.services import bill_run
from billtone.billing.tests.conftest import ACTOR, buy, fund
from billtone.catalog.models import OperatorProfile
from billtone.core.money import Money
from billtone.invoicing.models import Invoice
from billtone.telephony.models import PhoneNumber
from billtone.telephony.services import numbers_import

ZONES = {"auckland": "Pacific/Auckland", "new_york": "America/New_York", "london": "Europe/London"}


def local(zone: str, *args) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def _check_prediction(invoice: Invoice, predicted) -> None:
    lines = [
        (
            ln.description,
            ln.period_start,
            ln.period_end,
            ln.quantity,
            ln.unit_price,
            ln.net,
            ln.tax_rate,
        )
        for ln in invoice.lines.order_by("position")
    ]
    expected = [
        (
            ln.description,
            ln.period_start,
            ln.period_end,
            ln.quantity,
            ln.unit_price.amount,
            ln.amount.amount,
            ln.tax_rate,
        )
        for ln in predicted.lines
    ]
    assert lines == expected
    currency = invoice.currency
    assert (Money(invoice.net, currency), Money(invoice.tax, currency)) == (
        predicted.net,
        predicted.tax,
    )
    assert Money(invoice.gross, currency) == predicted.gross
    assert invoice.issue_date == predicted.issue_date
    taxes = [(t.rate, t.taxable, t.tax) for t in invoice.taxes.all()]
    assert taxes == [(t.rate, t.taxable.amount, t.tax.amount) for t in predicted.taxes]


@pytest.mark.parametrize("billing_day", [1, 25])
def test_a_year_of_bill_runs_in_three_time_zones(customer_in, shop, billing_day, monkeypatch):
    # the bills' PDFs and emails are test_services' concern: here they would take most of the time
    monkeypatch.setattr("billtone.billing.services.run._documents_schedule", lambda ids: None)
    OperatorProfile.objects.update(billing_day=billing_day)
    numbers_import(text="+31201234569", country="NL", number_type="geographic", actor=ACTOR)
    shop.numbers = list(PhoneNumber.objects.order_by("e164"))
    accounts = {
        "auckland": customer_in(ZONES["auckland"], country="NZ"),
        "new_york": customer_in(ZONES["new_york"], country="US"),
        "london": customer_in(ZONES["london"], country="GB", currency="GBP"),
    }
    for account in accounts.values():
        fund(account, "2000.00")
    # (moment, account, number index): before the cut-off (19th) and after it, in local time
    purchases = [
        (local(ZONES["auckland"], 2026, 1, 5, 9), "auckland", 0),  # 4 Jan in UTC
        (local(ZONES["new_york"], 2026, 1, 24, 22), "new_york", 1),  # 25 Jan in UTC
        (local(ZONES["london"], 2026, 1, 10, 12), "london", 2),
        (local(ZONES["london"], 2026, 6, 22, 0, 30), "london", None),  # a second user
    ]
    for at, name, number in purchases[:3]:
        buy(accounts[name], shop, at=at, number=number)
    late_at, late_name, _ = purchases[3]
    moments = sorted(
        (bill_moment(period, timezone=zone, billing_day=billing_day), name, period)
        for period in _months("2026-02", "2027-01")
        for name, zone in ZONES.items()
    )
    late_bought = False
    checked = 0
    for moment, name, period in moments:
        if not late_bought and moment > late_at:
            buy(accounts[late_name], shop, at=late_at)
            late_bought = True
        account = accounts[name]
        before = Invoice.objects.filter(account=account, source_key__startswith="bill:").count()
        with time_machine.travel(moment - timedelta(minutes=1), tick=False):
            bill_run(actor=ACTOR)
        assert Invoice.objects.filter(account=account, source_key__startswith="bill:").count() == (
            before
        ), f"{name} billed before its moment {moment}"
        at = moment + timedelta(minutes=2)
        with time_machine.travel(at, tick=False):
            predicted = next_bills(account=account, count=3)
            run = bill_run(actor=ACTOR)
        assert run.status == "finished" and run.failed == 0
        new = Invoice.objects.filter(account=account, source_key__startswith="bill:").order_by(
            "-sequence_number"
        )
        if new.count() > before:
            assert predicted[0].due_now
            _check_prediction(new.first(), predicted[0])
            checked += 1
        with time_machine.travel(moment + timedelta(minutes=50), tick=False):
            bill_run(actor=ACTOR)
        assert new.count() == before + 1 or (name, period) == (
            "new_york",
            date(2026, 2, 1),
        )

    assert checked == Invoice.objects.filter(source_key__startswith="bill:").count() == 35
    for name, account in accounts.items():
        zone = ZoneInfo(ZONES[name])
        bills = Invoice.objects.filter(account=account, source_key__startswith="bill:")
        periods = Counter(b.source_key.rsplit(":", 1)[1] for b in bills)
        assert all(count == 1 for count in periods.values())
        first = "2026-03" if name == "new_york" else "2026-02"  # New York bought after the cut-off
        expected = [f"{p.year}-{p.month:02d}" for p in _months(first, "2027-01")]
        assert sorted(periods) == expected, name
        for bill in bills:
            period = date.fromisoformat(bill.source_key.rsplit(":", 1)[1] + "-01")
            billing = bill_moment(period, timezone=ZONES[name], billing_day=billing_day)
            assert bill.issue_date == billing.astimezone(zone).date()
            assert bill.issue_date.day == billing_day
            assert bill.status == "paid"
    first_charges = {
        name: sorted(
            (line.period_start, line.period_end)
            for line in Invoice.objects.exclude(source_key__startswith="bill:")
            .get(account=account, sequence_number=_first_number(account))
            .lines.filter(billing="monthly")
        )
        for name, account in accounts.items()
    }
    assert first_charges["auckland"] == [(date(2026, 1, 5), date(2026, 1, 31))] * 2
    assert first_charges["new_york"] == [(date(2026, 1, 24), date(2026, 2, 28))] * 2
    assert first_charges["london"] == [(date(2026, 1, 10), date(2026, 1, 31))] * 2
    late = Invoice.objects.exclude(source_key__startswith="bill:").filter(
        account=accounts["london"]
    )
    late_lines = late.order_by("-sequence_number").first().lines.get()
    assert (late_lines.period_start, late_lines.period_end) == (
        date(2026, 6, 22),
        date(2026, 7, 31),
    )


def _months(first: str, last: str):
    month = date.fromisoformat(first + "-01")
    while month <= date.fromisoformat(last + "-01"):
        yield month
        month = month_add(month, 1)


def _first_number(account) -> int:
    return (
        Invoice.objects.filter(account=account).order_by("sequence_number").first().sequence_number
    )
