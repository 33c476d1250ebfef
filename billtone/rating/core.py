"""The rating core: which rate a dialled number gets, and what a call costs (pure, no database).

Issue 19: longest-prefix match over a deck's prefixes, increments applied, the cost rounded
once by the money rules (`money.round_rated`, RATING_PLACES = 4 decimals).
`bench/rating_core.py` measures it alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from billtone.core.money import round_rated

_ZERO = round_rated(Decimal(0))
_SIXTY = Decimal(60)


@dataclass(frozen=True, slots=True)
class Tariff:
    """One prefix's price, as `rating.models.Rate` holds it."""

    prefix: str  # E.164 digits without "+"
    destination: str
    per_minute: Decimal
    connection_fee: Decimal = Decimal(0)
    initial_increment: int = 60
    subsequent_increment: int = 60


class PrefixTable:
    """A deck's tariffs by prefix; `lookup` answers the longest prefix of a number."""

    def __init__(self, tariffs: Iterable[Tariff]) -> None:
        self._by_prefix: dict[str, Tariff] = {}
        for tariff in tariffs:
            if tariff.prefix in self._by_prefix:
                raise ValueError(f"prefix {tariff.prefix} given twice")
            self._by_prefix[tariff.prefix] = tariff
        # Longest first: the first length that matches is the longest prefix.
        self._lengths = sorted({len(prefix) for prefix in self._by_prefix}, reverse=True)

    def __len__(self) -> int:
        return len(self._by_prefix)

    def lookup(self, number: str) -> Tariff | None:
        """The tariff of the longest prefix of `number` (E.164 digits, no "+"), or None."""
        by_prefix = self._by_prefix
        for length in self._lengths:
            if length <= len(number):
                tariff = by_prefix.get(number[:length])
                if tariff is not None:
                    return tariff
        return None


def billable_seconds(billsec: int, initial: int, subsequent: int) -> int:
    """The seconds charged: 0 for 0, else at least `initial`, then whole `subsequent` steps."""
    if billsec <= 0:
        return 0
    if billsec <= initial:
        return initial
    steps = -(-(billsec - initial) // subsequent)  # ceiling division
    return initial + steps * subsequent


def call_cost(tariff: Tariff, billsec: int) -> Decimal:
    """What an answered call of `billsec` seconds costs under `tariff`, to RATING_PLACES.

    A call of 0 billable seconds costs nothing, its connection fee included.
    """
    seconds = billable_seconds(billsec, tariff.initial_increment, tariff.subsequent_increment)
    if seconds == 0:
        return _ZERO
    return round_rated(tariff.connection_fee + tariff.per_minute * seconds / _SIXTY)
