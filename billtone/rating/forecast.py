"""The call-credit forecast (issue 19 item 6, decision 0029), decided without the database.

From the last 30 days' spend, the credit left and the auto top-up settings: when the credit
is expected to run out, and which auto top-ups the coming 30 days are expected to bring, as
`auto_top_up_check` would make them. Spending is taken as steady through the day (calls are
rated as they arrive), so a top-up is made the moment the credit crosses the threshold: one
step of the value, or more when it waits (a cap) and the credit falls further meanwhile.
Each top-up is paid as the check pays it: business funds when they cover its gross, else
the default card; neither: it fails, and none after it is expected. The coming bills take
their share of business funds on their dates (`ComingBill`, handed in by billing, which is
above rating), in day order with the top-ups: a bill is issued at midnight at the start of
its day, so before that day's top-ups, and paid from funds only when they cover it whole,
as the bill run pays it (a bill paid by card leaves business funds as they were).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from billtone.core.money import round_amount
from billtone.rating.topup_plan import top_up_steps

_TICK = Decimal("0.0001")  # the rating's smallest amount
DAYS = 30  # the spend is read over this many days, and the forecast looks as far ahead
Status = Literal["runs_out", "lasts", "no_calls"]
PaidBy = Literal["business_funds", "card", "none"]


@dataclass(frozen=True)
class TopUpSettings:
    enabled: bool
    value: Decimal  # net call credit of one step
    threshold: Decimal
    tax_rate: Decimal = Decimal(0)  # percent on the net (0 under reverse charge)
    per_day: int = 1  # the operator's caps
    per_month: int = 31
    taken_today: int = 0  # top-ups made (or pending) already today and this month
    taken_this_month: int = 0


@dataclass(frozen=True)
class ComingBill:
    """A bill (or an open invoice, dated today) that business funds pay on its date if they
    cover its gross then."""

    on: date
    gross: Decimal


@dataclass(frozen=True)
class ExpectedTopUp:
    on: date
    quantity: int
    amount: Decimal  # net call credit
    gross: Decimal  # what is paid
    paid_by: PaidBy


@dataclass(frozen=True)
class Forecast:
    status: Status
    daily_spend: Decimal
    runs_out_on: date | None
    top_ups: list[ExpectedTopUp] = field(default_factory=list)
    held_back: str = ""  # why a top-up is expected later than the credit needs it (a cap)
    bills_from_funds: tuple[bool, ...] = ()  # per bill handed in: business funds pay it


class _Funds:
    """Business funds as the bills and the top-ups take them, in day order."""

    def __init__(self, funds: Decimal, bills: Sequence[ComingBill]):
        self.left = funds
        self._waiting = sorted(enumerate(bills), key=lambda pair: (pair[1].on, pair[0]))
        self.paid = [False] * len(bills)

    def bills_until(self, day: date | None) -> None:
        """The bills dated on or before `day` (all of them: None) take theirs, oldest first:
        whole, when the funds cover them, else nothing (the card pays, or nothing does)."""
        while self._waiting and (day is None or self._waiting[0][1].on <= day):
            index, bill = self._waiting.pop(0)
            if self.left >= bill.gross:
                self.left -= bill.gross
                self.paid[index] = True

    def take(self, gross: Decimal, on: date) -> bool:
        """Whether they pay a top-up of `gross` made on `on` (after that day's bill)."""
        self.bills_until(on)
        if self.left >= gross:
            self.left -= gross
            return True
        return False


def daily_spend(charged_in_window: Decimal, *, currency: str) -> Decimal:
    """What the calls cost a day on average over the window (to RATING_PLACES)."""
    return round_amount(charged_in_window / DAYS, currency, rating=True)


def call_credit_forecast_make(
    *,
    today: date,
    currency: str,
    spend_per_day: Decimal,
    credit: Decimal,
    funds: Decimal,
    card: bool,
    settings: TopUpSettings,
    bills: Sequence[ComingBill] = (),
) -> Forecast:
    """The next DAYS days from the start of `today`. `credit` is the call credit above its
    floor less what open holds promise; `funds` business funds above their floor; `card`:
    a default card may be charged automatically; `bills` those business funds may pay (any
    date: those after the last top-up are paid after it)."""
    wallet = _Funds(funds, bills)
    if spend_per_day <= 0:
        wallet.bills_until(None)
        return Forecast(
            status="no_calls",
            daily_spend=Decimal(0),
            runs_out_on=None,
            bills_from_funds=tuple(wallet.paid),
        )
    s, threshold = spend_per_day, settings.threshold
    elapsed = Decimal(0)  # days since the start of today
    runs_out: date | None = None
    top_ups: list[ExpectedTopUp] = []
    held_back = ""
    per_day: dict[date, int] = {today: settings.taken_today}
    per_month = {(today.year, today.month): settings.taken_this_month}
    tops = settings.enabled and settings.value > 0
    while elapsed < DAYS:
        end = elapsed + max(credit, Decimal(0)) / s  # when the credit is gone
        if not tops:
            if end < DAYS:
                runs_out = today + timedelta(days=int(end))
            break
        due = elapsed + max(credit - threshold, Decimal(0)) / s  # the threshold is crossed
        wait_until, why = _cap_wait(today + timedelta(days=int(due)), settings, per_day, per_month)
        moment = due if wait_until is None else max(due, Decimal((wait_until - today).days))
        if end < min(moment, Decimal(DAYS)) and runs_out is None:
            runs_out = today + timedelta(days=int(end))
        if moment >= DAYS:
            held_back = held_back or why
            break
        held_back = held_back or why
        # At the threshold when crossing it (the check sees it just below: one step), or
        # below it by as much as a cap's wait took.
        credit = max(credit - (moment - elapsed) * s, Decimal(0))  # refused at the floor
        before = min(credit, threshold - _TICK)
        quantity = top_up_steps(credit=before, threshold=threshold, value=settings.value)
        on = today + timedelta(days=int(moment))
        top_up = _paid(on, quantity, settings, currency, funds=wallet, card=card)
        top_ups.append(top_up)
        per_day[on] = per_day.get(on, 0) + 1
        per_month[(on.year, on.month)] = per_month.get((on.year, on.month), 0) + 1
        elapsed = moment
        if top_up.paid_by == "none":
            tops = False  # it fails; auto top-up is not counted on after that
        else:
            credit += top_up.amount
    wallet.bills_until(None)
    status: Status = "runs_out" if runs_out is not None else "lasts"
    return Forecast(
        status=status,
        daily_spend=spend_per_day,
        runs_out_on=runs_out,
        top_ups=top_ups,
        held_back=held_back,
        bills_from_funds=tuple(wallet.paid),
    )


def _cap_wait(day: date, settings: TopUpSettings, per_day: dict, per_month: dict):
    """The day a top-up due on `day` can be made under the caps (None: at once), and why."""
    if per_month.get((day.year, day.month), 0) >= settings.per_month:
        first = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
        return first, f"the limit of {settings.per_month} auto top-ups a month"
    if per_day.get(day, 0) >= settings.per_day:
        return day + timedelta(days=1), f"the limit of {settings.per_day} auto top-ups a day"
    return None, ""


def _paid(on, quantity, settings, currency, *, funds: _Funds, card: bool) -> ExpectedTopUp:
    amount = settings.value * quantity
    gross = amount + round_amount(amount * settings.tax_rate / 100, currency)
    if funds.take(gross, on):
        return ExpectedTopUp(on, quantity, amount, gross, "business_funds")
    return ExpectedTopUp(on, quantity, amount, gross, "card" if card else "none")
