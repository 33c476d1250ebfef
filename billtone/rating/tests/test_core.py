from decimal import Decimal

import pytest

from billtone.rating.core import PrefixTable, Tariff, billable_seconds, call_cost

UK = Tariff("44", "United Kingdom", Decimal("0.0200"))
UK_MOBILE = Tariff("447", "United Kingdom mobile", Decimal("0.0900"), Decimal("0.0100"), 30, 6)
UK_VODAFONE = Tariff("4477", "United Kingdom mobile Vodafone", Decimal("0.1000"))


def test_the_longest_prefix_wins_among_overlapping_ones():
    table = PrefixTable([UK, UK_MOBILE, UK_VODAFONE])
    assert table.lookup("442071234567") is UK
    assert table.lookup("447911123456") is UK_MOBILE
    assert table.lookup("447711123456") is UK_VODAFONE
    assert table.lookup("4477") is UK_VODAFONE
    assert table.lookup("4") is None
    assert table.lookup("33123456789") is None
    assert len(table) == 3


def test_a_prefix_given_twice_is_refused():
    with pytest.raises(ValueError, match="44"):
        PrefixTable([UK, UK])


@pytest.mark.parametrize(
    ("billsec", "initial", "subsequent", "expected"),
    [
        (0, 60, 60, 0),
        (1, 60, 60, 60),
        (60, 60, 60, 60),
        (61, 60, 60, 120),
        (1, 1, 1, 1),
        (61, 1, 1, 61),
        (1, 30, 6, 30),
        (31, 30, 6, 36),
        (36, 30, 6, 36),
        (37, 30, 6, 42),
    ],
)
def test_increments(billsec, initial, subsequent, expected):
    assert billable_seconds(billsec, initial, subsequent) == expected


def test_cost_adds_the_connection_fee_and_rounds_to_four_places_half_up():
    # 31 s at 30/6 → 36 s of 0.09/min = 0.054, plus 0.01 connection
    assert call_cost(UK_MOBILE, 31) == Decimal("0.0640")
    # 1 s of 0.0200/min per second: 0.000333… → 0.0003
    per_second = Tariff("44", "UK", Decimal("0.0200"), Decimal(0), 1, 1)
    assert call_cost(per_second, 1) == Decimal("0.0003")
    # 0.00005 rounds up: 3 s of 0.0010/min = 0.00005
    assert call_cost(Tariff("1", "US", Decimal("0.0010"), Decimal(0), 1, 1), 3) == Decimal("0.0001")


def test_a_call_of_no_seconds_costs_nothing_not_even_its_connection_fee():
    assert call_cost(UK_MOBILE, 0) == Decimal("0.0000")
