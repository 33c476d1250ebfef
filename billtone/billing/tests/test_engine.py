"""The engine without a database: bill moments across DST changes and month ends, bills
with catch-up, part months and ends, and consecutive bills that cover every day once."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billtone.billing.engine import (
    SubscriptionTerms,
    bill_moment,
    bill_plan,
    bills_ahead,
    month_add,
    period_due,
)
from billtone.catalog.periods import first_charge, first_periods
from billtone.catalog.tax import TaxTreatment
from billtone.core.money import Money

VAT_19 = TaxTreatment(Decimal("19.00"), False, "", "DE")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def terms(
    n=1, *, price="12.00", kind="phone_user", started=date(2026, 1, 10), paid=None, ends=None
):
    return SubscriptionTerms(
        id=n,
        account_id=1,
        product_id=7,
        item_kind=kind,
        description=f"Item {n}",
        unit_price=Money(price, "EUR"),
        started_on=started,
        paid_through=paid,
        ends_on=ends,
    )


@pytest.mark.parametrize(
    ("period", "zone", "day", "expected"),
    [
        # billing day 1: midnight on the 1st, local time
        (date(2026, 4, 1), "Pacific/Auckland", 1, utc(2026, 3, 31, 11)),  # NZDT +13
        (
            date(2026, 5, 1),
            "Pacific/Auckland",
            1,
            utc(2026, 4, 30, 12),
        ),  # NZST +12 (DST ended 5 Apr)
        (date(2026, 10, 1), "Pacific/Auckland", 1, utc(2026, 9, 30, 11)),  # NZDT from 27 Sep
        (date(2026, 3, 1), "America/New_York", 1, utc(2026, 3, 1, 5)),  # EST
        (date(2026, 4, 1), "America/New_York", 1, utc(2026, 4, 1, 4)),  # EDT from 8 Mar
        (
            date(2026, 11, 1),
            "America/New_York",
            1,
            utc(2026, 11, 1, 4),
        ),  # EDT: ends 2 a.m. that day
        (date(2026, 12, 1), "America/New_York", 1, utc(2026, 12, 1, 5)),
        (date(2026, 4, 1), "Europe/London", 1, utc(2026, 3, 31, 23)),  # BST
        (date(2026, 3, 1), "Europe/London", 1, utc(2026, 3, 1, 0)),  # GMT
        # billing day 25: the 25th of the month before
        (date(2026, 4, 1), "Europe/London", 25, utc(2026, 3, 25, 0)),  # GMT until 29 Mar
        (date(2026, 11, 1), "Europe/London", 25, utc(2026, 10, 24, 23)),  # BST until 25 Oct 01:00
        (date(2026, 3, 1), "America/New_York", 25, utc(2026, 2, 25, 5)),
        (date(2026, 10, 1), "Pacific/Auckland", 25, utc(2026, 9, 24, 12)),  # NZST: DST from 27 Sep
        (date(2027, 1, 1), "Pacific/Auckland", 25, utc(2026, 12, 24, 11)),  # across a year end
    ],
)
def test_bill_moment_is_local_midnight(period, zone, day, expected):
    assert bill_moment(period, timezone=zone, billing_day=day) == expected


def test_bill_moment_where_midnight_does_not_exist():
    # Santiago's clocks go from 00:00 (-04) to 01:00 (-03) on 6 Sep 2026: that day starts at
    # 01:00 local, 04:00 UTC, as a plain -04 midnight the month before does
    assert bill_moment(date(2026, 9, 1), timezone="America/Santiago", billing_day=6) == utc(
        2026, 8, 6, 4
    )
    gap = bill_moment(date(2026, 10, 1), timezone="America/Santiago", billing_day=6)
    assert gap == utc(2026, 9, 6, 4)
    assert gap.astimezone(ZoneInfo("America/Santiago")).hour == 1


@pytest.mark.parametrize(
    ("now", "zone", "day", "expected"),
    [
        (utc(2026, 3, 31, 10, 59), "Pacific/Auckland", 1, date(2026, 3, 1)),
        (utc(2026, 3, 31, 11, 0), "Pacific/Auckland", 1, date(2026, 4, 1)),
        (utc(2026, 3, 24, 23, 59), "Europe/London", 25, date(2026, 3, 1)),
        (utc(2026, 3, 25, 0, 0), "Europe/London", 25, date(2026, 4, 1)),
        (utc(2026, 12, 25, 5), "America/New_York", 25, date(2027, 1, 1)),
    ],
)
def test_period_due(now, zone, day, expected):
    assert period_due(now, timezone=zone, billing_day=day) == expected


def test_full_month_after_the_first_charge():
    plan = bill_plan(
        [terms(paid=date(2026, 1, 31))], period=date(2026, 2, 1), tax=VAT_19, currency="EUR"
    )
    [line] = plan.lines
    assert (line.period_start, line.period_end, line.unit_price) == (
        date(2026, 2, 1),
        date(2026, 2, 28),
        Money("12.00", "EUR"),
    )
    assert plan.totals.gross == Money("14.28", "EUR")
    assert plan.paid_through == {1: date(2026, 2, 28)}
    assert [(leg.ledger_kind, leg.amount) for leg in plan.legs] == [
        ("receivable", Money("-14.28", "EUR")),
        ("revenue_subscriptions", Money("12.00", "EUR")),
        ("tax_payable", Money("2.28", "EUR")),
    ]


def test_missed_months_are_caught_up_one_line_each():
    plan = bill_plan(
        [terms(paid=date(2026, 1, 31))], period=date(2026, 4, 1), tax=VAT_19, currency="EUR"
    )
    assert [(line.period_start, line.period_end) for line in plan.lines] == [
        (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 3, 1), date(2026, 3, 31)),
        (date(2026, 4, 1), date(2026, 4, 30)),
    ]


def test_nothing_billed_yet_starts_on_the_start_day_prorated_like_the_first_charge():
    sub = terms(started=date(2028, 2, 10))  # leap February
    plan = bill_plan([sub], period=date(2028, 3, 1), tax=VAT_19, currency="EUR")
    first, second = plan.lines
    assert (first.period_start, first.period_end) == (date(2028, 2, 10), date(2028, 2, 29))
    bought = datetime(2028, 2, 10, 12, tzinfo=UTC)
    expected = first_charge(
        monthly=Money("12.00", "EUR"),
        periods=first_periods(bought_at=bought, timezone="UTC", cut_off_day=28)[:1],
    )
    assert first.unit_price == expected == Money("8.28", "EUR")  # 12 × 20/29
    assert second.unit_price == Money("12.00", "EUR")


def test_ends_on_mid_month_is_prorated_and_nothing_after():
    sub = terms(paid=date(2026, 3, 31), ends=date(2026, 4, 15))
    plan = bill_plan([sub], period=date(2026, 4, 1), tax=VAT_19, currency="EUR")
    [line] = plan.lines
    assert (line.period_end, line.unit_price) == (date(2026, 4, 15), Money("6.00", "EUR"))
    after = bill_plan(
        [terms(paid=date(2026, 4, 15), ends=date(2026, 4, 15))],
        period=date(2026, 5, 1),
        tax=VAT_19,
        currency="EUR",
    )
    assert after.is_empty


def test_revenue_by_kind_and_ended_subscriptions_not_billed():
    number = terms(2, price="3.00", kind="phone_number", paid=date(2026, 1, 31))
    ended = SubscriptionTerms(**{**terms(3, paid=date(2026, 1, 31)).__dict__, "active": False})
    plan = bill_plan(
        [terms(paid=date(2026, 1, 31)), number, ended],
        period=date(2026, 2, 1),
        tax=VAT_19,
        currency="EUR",
    )
    assert {leg.ledger_kind: leg.amount for leg in plan.legs}["revenue_numbers"] == Money(
        "3.00", "EUR"
    )
    assert set(plan.paid_through) == {1, 2}


def test_bills_ahead_assumes_the_earlier_issued_and_skips_billed_periods():
    subs = [terms(paid=date(2026, 1, 31))]
    after = utc(2026, 1, 20)
    ahead = bills_ahead(
        subs, after=after, timezone="Europe/London", billing_day=25, tax=VAT_19, currency="EUR"
    )
    assert [b.period for b in ahead] == [date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)]
    assert ahead[0].moment == utc(2026, 1, 25)
    assert all(len(b.plan.lines) == 1 for b in ahead)
    skipped = bills_ahead(
        subs,
        after=utc(2026, 1, 26),
        timezone="Europe/London",
        billing_day=25,
        tax=VAT_19,
        currency="EUR",
        count=1,
        billed_periods={date(2026, 2, 1)},
    )
    # February's bill exists: its unbilled month waits for March's bill, caught up there
    assert skipped[0].period == date(2026, 3, 1)
    assert len(skipped[0].plan.lines) == 2


@given(
    started=st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31)),
    paid_days=st.one_of(st.none(), st.integers(min_value=0, max_value=70)),
    end_days=st.one_of(st.none(), st.integers(min_value=0, max_value=400)),
    price=st.decimals(min_value=0, max_value=500, places=2),
    zone=st.sampled_from(["Pacific/Auckland", "America/New_York", "Europe/London"]),
    billing_day=st.integers(min_value=1, max_value=28),
    hours=st.integers(min_value=0, max_value=24 * 60),
)
def test_consecutive_bills_cover_every_day_once(
    started, paid_days, end_days, price, zone, billing_day, hours
):
    paid = started + timedelta(days=paid_days) if paid_days is not None else None
    ends = started + timedelta(days=end_days) if end_days is not None else None
    sub = terms(price=str(price), started=started, paid=paid, ends=ends)
    after = datetime(started.year, started.month, 1, tzinfo=UTC) + timedelta(hours=hours)
    bills = bills_ahead(
        [sub],
        after=after,
        timezone=zone,
        billing_day=billing_day,
        tax=VAT_19,
        currency="EUR",
        count=14,
    )
    covered = [line for bill in bills for line in bill.plan.lines]
    expected_start = sub.next_day
    for line in covered:
        assert line.period_start == expected_start  # no gap, no overlap
        assert line.period_end.month == line.period_start.month  # one line per month
        expected_start = line.period_end + timedelta(days=1)
        assert line.unit_price <= sub.unit_price
    if ends is not None:
        assert all(line.period_end <= ends for line in covered)
    moments = [bill.moment for bill in bills]
    assert moments == sorted(moments)
    periods = [bill.period for bill in bills]
    assert all(later > earlier for earlier, later in zip(periods, periods[1:], strict=False))
    for bill in bills:  # nothing billed beyond its period
        assert all(line.period_end < month_add(bill.period, 1) for line in bill.plan.lines)
