"""The longest call the credit allows (pure): whole increments, connection fees, included
seconds, the cap; checked against trying every duration."""

import random
from decimal import Decimal

import pytest

from billtone.rating.allowance import MAX_CALL_SECONDS, call_allowance
from billtone.rating.calls import call_price
from billtone.rating.core import Tariff


def tariff(per_minute, fee="0", initial=60, subsequent=60):
    return Tariff("44", "UK", Decimal(per_minute), Decimal(fee), initial, subsequent)


@pytest.mark.parametrize(
    ("rate", "available", "seconds", "cost"),
    [
        # 60/60, 0.05 fee: 0.95 left after the fee buys 9.5 minutes: 9 whole ones.
        (tariff("0.10", "0.05", 60, 60), "1.00", 540, "0.9500"),
        # 30/6, 0.01 fee: 0.09 buys 60 s (30 + 5 steps of 6); 66 s would cost 0.109.
        (tariff("0.09", "0.01", 30, 6), "0.10", 60, "0.1000"),
        # 1/1: 0.01 at 0.015 a minute is 40 s.
        (tariff("0.015", "0", 1, 1), "0.01", 40, "0.0100"),
        # The fee fits but not the first increment: no call.
        (tariff("0.10", "0.05", 60, 60), "0.10", 0, "0"),
        # The fee does not fit.
        (tariff("0.10", "0.05", 1, 1), "0.04", 0, "0"),
        # Nothing left (or below the limit).
        (tariff("0.02"), "0", 0, "0"),
        (tariff("0.02"), "-1.00", 0, "0"),
        # Free destinations and large credits are capped.
        (tariff("0", "0"), "0", MAX_CALL_SECONDS, "0.0000"),
        (tariff("0.01"), "1000.00", MAX_CALL_SECONDS, "1.8000"),
    ],
)
def test_the_longest_whole_increment_call_that_fits(rate, available, seconds, cost):
    found = call_allowance(rate, available=Decimal(available))
    assert (found.seconds, found.cost) == (seconds, Decimal(cost))
    assert found.included_seconds == 0


def test_included_seconds_come_first_and_spare_the_connection_fee():
    rate = tariff("0.10", "0.05", 60, 60)
    found = call_allowance(rate, available=Decimal("0.10"), included_left=120)
    # 120 s included, then 0.10 buys one more minute with no fee (as call_price charges).
    assert (found.seconds, found.cost, found.included_seconds) == (180, Decimal("0.1000"), 120)
    only_included = call_allowance(rate, available=Decimal(0), included_left=150)
    assert (only_included.seconds, only_included.cost) == (120, Decimal("0.0000"))
    assert only_included.included_seconds == 120


def test_matches_trying_every_duration():
    rng = random.Random(19)
    for _ in range(400):
        initial = rng.choice([1, 6, 30, 60])
        rate = tariff(
            f"{rng.randint(1, 2000) / 10000:.4f}",
            rng.choice(["0", "0.0100", "0.0500"]),
            initial,
            rng.choice([1, 6, 60]),
        )
        available = Decimal(rng.randint(0, 300)) / 100
        left = rng.choice([0, 0, 45, 120])
        best = 0
        for seconds in range(1, 3000):
            if call_price(rate, seconds, included_left=left).cost <= available:
                best = max(best, seconds)
        expected = best if best < 2999 else None
        found = call_allowance(rate, available=available, included_left=left)
        if expected is not None:
            assert found.seconds == expected, (rate, available, left)
        assert call_price(rate, found.seconds, included_left=left).cost == found.cost
        assert found.cost <= available
