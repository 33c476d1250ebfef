"""What a monthly bill holds and when it is issued: a pure decision, no database, no clock
(docs/decisions/0020).

Periods are calendar months in the account's time zone. The bill for month P is issued at its
*bill moment*: midnight in the account's time zone at the start of the last billing day on or
before P's first day. A bill holds, for each active subscription, one line per month not
billed yet up to P's end (a missed month is caught up), from the day after `paid_through`
(from `started_on` when nothing was billed) to `ends_on` when that is earlier; a part month
is prorated by days exactly as catalog.periods prorates the first charge. Next Bill
(`bills_ahead`) calls the same function, so it equals the invoice the bill run issues.
"""

from __future__ import annotations

import calendar
from collections.abc import Container, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from billtone.basket.quote import QuoteLeg, quote_legs
from billtone.catalog.periods import ChargePeriod, first_charge
from billtone.catalog.tax import TaxTreatment
from billtone.core.money import Money
from billtone.invoicing.totals import LineIn, Totals, invoice_totals

LINE_KIND_OF_ITEM = {"phone_user": "plan", "phone_number": "number"}
LOOK_AHEAD_MONTHS = 24  # bills_ahead looks this far for the next non-empty bills


def month_first(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def month_add(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_key(period: date) -> str:
    """YYYY-MM: how a period is named in a bill's source key."""
    return f"{period.year:04d}-{period.month:02d}"


def bill_moment(period_first_day: date, *, timezone: str, billing_day: int) -> datetime:
    """When the bill for the month starting `period_first_day` is issued, as aware UTC."""
    if period_first_day.day != 1:
        raise ValueError("A period starts on the first day of a month.")
    if not 1 <= billing_day <= 28:
        raise ValueError("The billing day is 1 to 28.")
    day = (
        period_first_day
        if billing_day == 1
        else month_add(period_first_day, -1).replace(day=billing_day)
    )
    # Midnight in the zone. Where a DST change skips midnight, fold=0 maps it with the
    # offset before the gap: the first instant of that day, never the day before.
    local = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(timezone))
    return local.astimezone(UTC)


def period_due(now: datetime, *, timezone: str, billing_day: int) -> date:
    """The latest period whose bill moment is at or before `now` (aware)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime.")
    today = now.astimezone(ZoneInfo(timezone)).date()
    this_month = month_first(today)
    if billing_day == 1:
        return this_month
    return month_add(this_month, 1) if today.day >= billing_day else this_month


@dataclass(frozen=True)
class SubscriptionTerms:
    """A subscription as the engine needs it."""

    id: int
    account_id: int
    product_id: int
    item_kind: str  # phone_user | phone_number
    description: str
    unit_price: Money  # net, per month
    started_on: date
    paid_through: date | None
    ends_on: date | None
    active: bool = True

    @classmethod
    def of(cls, subscription) -> SubscriptionTerms:
        """From an invoicing.Subscription row."""
        return cls(
            id=subscription.pk,
            account_id=subscription.account_id,
            product_id=subscription.product_id,
            item_kind=subscription.item_kind,
            description=subscription.description,
            unit_price=Money(subscription.unit_price, subscription.currency),
            started_on=subscription.started_on,
            paid_through=subscription.paid_through,
            ends_on=subscription.ends_on,
            active=subscription.status == "active",
        )

    @property
    def next_day(self) -> date:
        """The first day not billed yet."""
        return self.paid_through + timedelta(days=1) if self.paid_through else self.started_on


@dataclass(frozen=True)
class BillPlan:
    """One account's bill for one period: its lines, totals, ledger legs (receivable first)
    and each billed subscription's new paid_through."""

    period: date
    currency: str
    lines: list[LineIn]
    totals: Totals
    legs: list[QuoteLeg]
    paid_through: dict[int, date]  # subscription id -> last day billed

    @property
    def is_empty(self) -> bool:
        return not self.lines or self.totals.gross.is_zero()


def _charge_period(start: date, end: date) -> ChargePeriod:
    share = Fraction((end - start).days + 1, month_end(start).day)
    return ChargePeriod(start, end, Decimal(share.numerator) / Decimal(share.denominator))


def subscription_lines(terms: SubscriptionTerms, *, period: date) -> list[LineIn]:
    """The lines that bill `terms` up to the end of `period`, one per month."""
    if not terms.active:
        return []
    last = month_end(period)
    if terms.ends_on is not None and terms.ends_on < last:
        last = terms.ends_on
    start = terms.next_day
    lines = []
    while start <= last:
        end = min(month_end(start), last)
        lines.append(
            LineIn(
                description=terms.description,
                kind=LINE_KIND_OF_ITEM[terms.item_kind],
                product_id=terms.product_id,
                quantity=1,
                unit_price=first_charge(
                    monthly=terms.unit_price, periods=[_charge_period(start, end)]
                ),
                period_start=start,
                period_end=end,
                billing="monthly",
            )
        )
        start = end + timedelta(days=1)
    return lines


def bill_plan(
    subs: Sequence[SubscriptionTerms], *, period: date, tax: TaxTreatment, currency: str
) -> BillPlan:
    """The bill of `subs` (one account's) for the month starting `period`. Lines are in the
    order of the subscriptions given, each subscription's months in order."""
    if period.day != 1:
        raise ValueError("A period starts on the first day of a month.")
    lines: list[LineIn] = []
    paid_through: dict[int, date] = {}
    for terms in subs:
        own = subscription_lines(terms, period=period)
        if own:
            lines.extend(own)
            paid_through[terms.id] = own[-1].period_end
    totals = invoice_totals(lines=lines, tax=tax, currency=currency)
    legs = [
        QuoteLeg("receivable", leg.amount, leg.rate) if leg.ledger_kind == "business_funds" else leg
        for leg in quote_legs(totals=totals, currency=currency)
    ]
    return BillPlan(period, currency, lines, totals, legs, paid_through)


def advanced(subs: Sequence[SubscriptionTerms], plan: BillPlan) -> list[SubscriptionTerms]:
    """`subs` as they are once `plan` is issued."""
    return [
        replace(terms, paid_through=plan.paid_through[terms.id])
        if terms.id in plan.paid_through
        else terms
        for terms in subs
    ]


@dataclass(frozen=True)
class BillAhead:
    period: date
    moment: datetime  # aware UTC: when the bill run issues it (past: due now)
    plan: BillPlan


def bills_ahead(
    subs: Sequence[SubscriptionTerms],
    *,
    after: datetime,
    timezone: str,
    billing_day: int,
    tax: TaxTreatment,
    currency: str,
    count: int = 3,
    billed_periods: Container[date] = (),
) -> list[BillAhead]:
    """The next `count` bills from the period due at `after` on, each assuming the earlier
    ones were issued; `billed_periods`: periods whose bill exists already (skipped, as the
    bill run skips them). Empty bills are no bills."""
    bills: list[BillAhead] = []
    period = period_due(after, timezone=timezone, billing_day=billing_day)
    terms = list(subs)
    for _ in range(LOOK_AHEAD_MONTHS):
        if len(bills) >= count or not any(t.active for t in terms):
            break
        if period not in billed_periods:
            plan = bill_plan(terms, period=period, tax=tax, currency=currency)
            if not plan.is_empty:
                moment = bill_moment(period, timezone=timezone, billing_day=billing_day)
                bills.append(BillAhead(period, moment, plan))
                terms = advanced(terms, plan)
        period = month_add(period, 1)
    return bills
