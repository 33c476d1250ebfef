"""The first charge of a monthly item: a pure decision, no database (decision 0017).

An item bought on day d of a month is charged from d to the month's end, by days, in the
account's time zone (a purchase at 23:30 UTC on the 4th is on the 5th in Auckland). Bought
after the operator's cut-off day, the whole next month is charged too, so the next bill run
(which bills the month after) finds it paid through that month's end.
"""

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from billtone.core.money import Money


@dataclass(frozen=True)
class ChargePeriod:
    start: date
    end: date  # inclusive
    fraction: Decimal  # of the monthly fee: days in the period / days in its month

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def month_days(self) -> int:
        return calendar.monthrange(self.start.year, self.start.month)[1]

    @property
    def exact_fraction(self) -> Fraction:
        return Fraction(self.days, self.month_days)


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _period(start: date) -> ChargePeriod:
    end = _month_end(start)
    share = Fraction((end - start).days + 1, end.day)
    return ChargePeriod(start, end, Decimal(share.numerator) / Decimal(share.denominator))


def first_periods(*, bought_at: datetime, timezone: str, cut_off_day: int) -> list[ChargePeriod]:
    """The periods a monthly item bought at `bought_at` (aware) is first charged for."""
    if bought_at.tzinfo is None or bought_at.utcoffset() is None:
        raise ValueError("bought_at must be an aware datetime.")
    bought_on = bought_at.astimezone(ZoneInfo(timezone)).date()
    periods = [_period(bought_on)]
    if bought_on.day > cut_off_day:
        periods.append(_period(periods[0].end + timedelta(days=1)))
    return periods


def paid_through(periods: Sequence[ChargePeriod]) -> date:
    """The last day the first charge pays for."""
    return periods[-1].end


def first_charge(*, monthly: Money, periods: Sequence[ChargePeriod]) -> Money:
    """The monthly fee times the periods' fractions, rounded once. Computed from the days
    exactly (27/31 is not a finite decimal), so a half cent rounds the same every time."""
    share = sum((period.exact_fraction for period in periods), Fraction(0))
    exact = monthly.amount * share.numerator
    return Money(exact / Decimal(share.denominator), monthly.currency).rounded()
