"""The first charge of a monthly item (catalog.periods): pure, no database."""

import calendar
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billtone.catalog.periods import ChargePeriod, first_charge, first_periods, paid_through
from billtone.core.money import Money


def periods(at: datetime, tz: str = "UTC", cut_off: int = 19) -> list[ChargePeriod]:
    return first_periods(bought_at=at, timezone=tz, cut_off_day=cut_off)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_bought_on_the_5th_in_auckland_while_utc_still_says_the_4th():
    bought = utc(2026, 3, 4, 12, 0)  # 01:00 on 5 March in Auckland (NZDT, UTC+13)
    assert periods(bought, "Pacific/Auckland") == [
        ChargePeriod(date(2026, 3, 5), date(2026, 3, 31), Decimal(27) / Decimal(31))
    ]
    # The same instant is the 4th in UTC: one day more is charged there.
    assert periods(bought, "UTC")[0].start == date(2026, 3, 4)


def test_bought_on_the_25th_in_new_york_while_utc_already_says_the_26th():
    bought = utc(2026, 3, 26, 2, 0)  # 22:00 on 25 March in New York (EDT, UTC-4)
    result = periods(bought, "America/New_York")
    assert result == [
        ChargePeriod(date(2026, 3, 25), date(2026, 3, 31), Decimal(7) / Decimal(31)),
        ChargePeriod(date(2026, 4, 1), date(2026, 4, 30), Decimal(1)),
    ]
    assert paid_through(result) == date(2026, 4, 30)


def test_bought_on_the_5th_in_new_york_and_the_25th_in_auckland():
    assert periods(utc(2026, 6, 5, 15), "America/New_York") == [
        ChargePeriod(date(2026, 6, 5), date(2026, 6, 30), Decimal(26) / Decimal(30))
    ]
    result = periods(utc(2026, 6, 24, 13), "Pacific/Auckland")  # 01:00 on the 25th (NZST)
    assert [(p.start, p.end) for p in result] == [
        (date(2026, 6, 25), date(2026, 6, 30)),
        (date(2026, 7, 1), date(2026, 7, 31)),
    ]


def test_29_february_of_a_leap_year():
    result = periods(utc(2028, 2, 29, 10))
    assert result == [
        ChargePeriod(date(2028, 2, 29), date(2028, 2, 29), Decimal(1) / Decimal(29)),
        ChargePeriod(date(2028, 3, 1), date(2028, 3, 31), Decimal(1)),
    ]
    assert first_charge(monthly=Money("29.00", "EUR"), periods=result) == Money("30.00", "EUR")


def test_31_january_is_charged_one_day_and_all_of_february():
    result = periods(utc(2027, 1, 31, 9))
    assert [(p.start, p.end, p.days) for p in result] == [
        (date(2027, 1, 31), date(2027, 1, 31), 1),
        (date(2027, 2, 1), date(2027, 2, 28), 28),
    ]
    assert paid_through(result) == date(2027, 2, 28)


def test_the_cut_off_day_itself_is_one_period_the_day_after_is_two():
    assert len(periods(utc(2026, 5, 19, 12), cut_off=19)) == 1
    assert len(periods(utc(2026, 5, 20, 12), cut_off=19)) == 2
    assert len(periods(utc(2026, 5, 20, 12), cut_off=20)) == 1


def test_december_after_the_cut_off_runs_into_january_of_the_next_year():
    result = periods(utc(2026, 12, 28, 12))
    assert result[1] == ChargePeriod(date(2027, 1, 1), date(2027, 1, 31), Decimal(1))


def test_first_charge_is_rounded_once_half_up():
    one = periods(utc(2026, 3, 5, 12))  # 27/31 of March
    assert first_charge(monthly=Money("12.00", "EUR"), periods=one) == Money("10.45", "EUR")
    september_16 = periods(utc(2026, 9, 16, 12))  # 15/30: exactly half
    assert first_charge(monthly=Money("0.03", "EUR"), periods=september_16) == Money("0.02", "EUR")
    two = periods(utc(2026, 3, 25, 12))  # 7/31 of March and all of April
    assert first_charge(monthly=Money("20.00", "EUR"), periods=two) == Money("24.52", "EUR")
    assert first_charge(monthly=Money("1000", "JPY"), periods=one) == Money("871", "JPY")


def test_first_charge_rounds_an_exact_half_cent_up_where_decimal_fractions_would_not():
    # 31/30 of 415.65 is 429.505 exactly; 1.0333…3 (28 digits) × 415.65 falls just short.
    result = periods(utc(2026, 4, 30, 12))  # 1/30 of April and all of May (31 days)
    assert sum(p.fraction for p in result) * Decimal("415.65") < Decimal("429.505")
    assert first_charge(monthly=Money("415.65", "EUR"), periods=result) == Money("429.51", "EUR")


def test_first_charge_of_a_free_plan_is_zero():
    assert first_charge(monthly=Money("0", "EUR"), periods=periods(utc(2026, 3, 25))).is_zero()


def test_a_naive_purchase_time_is_refused():
    with pytest.raises(ValueError):
        periods(datetime(2026, 3, 5, 12))


@given(
    bought=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 12, 31), timezones=st.just(UTC)
    ),
    tz=st.sampled_from(["UTC", "Pacific/Auckland", "America/New_York", "Asia/Kolkata"]),
    cut_off=st.integers(min_value=1, max_value=28),
    cents=st.integers(min_value=0, max_value=10**8),
)
def test_periods_are_whole_days_up_to_a_month_end(bought, tz, cut_off, cents):
    result = periods(bought, tz, cut_off)
    local = bought.astimezone(ZoneInfo(tz)).date()
    assert result[0].start == local
    assert len(result) == (2 if local.day > cut_off else 1)
    for earlier, later in zip(result, result[1:], strict=False):
        assert later.start == earlier.end + timedelta(days=1)
        assert later.fraction == 1
    end = paid_through(result)
    assert end.day == calendar.monthrange(end.year, end.month)[1]
    total = sum(p.fraction for p in result)
    assert 0 < total <= 2
    monthly = Money(Decimal(cents) / 100, "EUR")
    charge = first_charge(monthly=monthly, periods=result)
    assert Money.zero("EUR") <= charge <= monthly * 2
    exact = Fraction(monthly.amount) * sum(p.exact_fraction for p in result)
    assert abs(Fraction(charge.amount) - exact) <= Fraction(1, 200)  # half a cent, exactly
