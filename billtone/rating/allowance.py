"""How long a call may last on the money left (issue 19, call authorization), free of the
database: the longest whole-increment duration whose price, as `calls.call_price` would
charge it after the included seconds left, fits in the credit available.

A call is capped at MAX_CALL_SECONDS (CGRateS' `max_call_duration` default, 3 h): an
authorization holds what it allows, and holding a large credit's worth of a cheap
destination for one call would refuse every other call of the account.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from billtone.rating.calls import call_price
from billtone.rating.core import Tariff

MAX_CALL_SECONDS = 3 * 3600
_SIXTY = Decimal(60)


@dataclass(frozen=True, slots=True)
class Allowance:
    seconds: int  # 0: the call cannot start
    cost: Decimal  # what a call of `seconds` costs (to RATING_PLACES): the amount held
    included_seconds: int  # of those, taken from the included minutes


def _on_increment(seconds: int, initial: int, subsequent: int) -> int:
    """The longest billable duration (`initial`, then whole `subsequent` steps) <= seconds."""
    if seconds < initial:
        return 0
    return initial + (seconds - initial) // subsequent * subsequent


def call_allowance(
    tariff: Tariff,
    *,
    available: Decimal,
    included_left: int = 0,
    cap: int = MAX_CALL_SECONDS,
) -> Allowance:
    """The longest call `available` credit and `included_left` seconds pay for, at most `cap`.

    Included seconds go first and carry no connection fee (as `call_price` charges them);
    with none, the connection fee is paid before the first second.
    """
    initial, subsequent = tariff.initial_increment, tariff.subsequent_increment
    included_left = max(included_left, 0)
    available = max(available, Decimal(0))
    per_minute = tariff.per_minute
    if not included_left and available < tariff.connection_fee:
        return Allowance(0, Decimal(0), 0)
    if per_minute <= 0:
        paid = cap
    else:
        budget = available if included_left else available - tariff.connection_fee
        paid = int((budget * _SIXTY / per_minute).to_integral_value(ROUND_FLOOR))
    longest = min(included_left + paid, cap)
    seconds = _on_increment(longest, initial, subsequent)
    # The price is rounded to RATING_PLACES: a step more may still round into the credit,
    # and the last one may round a hair over it.
    while (step := seconds + subsequent if seconds else initial) <= cap:
        if call_price(tariff, step, included_left=included_left).cost > available:
            break
        seconds = step
    while seconds > 0:
        priced = call_price(tariff, seconds, included_left=included_left)
        if priced.cost <= available:
            return Allowance(seconds, priced.cost, priced.included_seconds)
        seconds = seconds - subsequent if seconds > initial else 0
    return Allowance(0, Decimal(0), 0)
