from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billtone.rating.calls import (
    DestinationKind,
    call_price,
    charges_capped,
    destination_classify,
    included_applies,
    period_start,
)
from billtone.rating.core import Tariff


@pytest.mark.parametrize(
    ("dialled", "country", "e164"),
    [
        ("020 7946 0958", "GB", "+442079460958"),
        ("0044 20 7946 0958", "GB", "+442079460958"),
        ("+44 (20) 7946-0958", "US", "+442079460958"),
        ("011 44 20 7946 0958", "US", "+442079460958"),
        ("(212) 555-0100", "US", "+12125550100"),
        ("0031 20 123 4567", "", "+31201234567"),
    ],
)
def test_dialling_forms_become_e164(dialled, country, e164):
    found = destination_classify(dialled, country=country)
    assert (found.kind, found.e164) == (DestinationKind.PSTN, e164)


@pytest.mark.parametrize(
    "dialled",
    ["100", "*97", "*", "sip:100@pbx.example", "s", "i", "t", "h", "1000", "9" * 30, "", "#31#"],
)
def test_what_is_not_a_phone_number_is_never_an_error(dialled):
    assert destination_classify(dialled, country="GB").kind is DestinationKind.NOT_A_NUMBER


def test_emergency_numbers_of_the_country():
    assert destination_classify("999", country="GB", emergency=frozenset({"999", "112"})).kind == (
        DestinationKind.EMERGENCY
    )
    assert destination_classify("999", country="GB").kind is DestinationKind.NOT_A_NUMBER


def test_the_billing_period_starts_on_the_billing_day_in_the_account_zone():
    at = datetime(2027, 2, 1, 0, 30, tzinfo=UTC)
    assert period_start(at, timezone="Europe/London", billing_day=1) == date(2027, 2, 1)
    assert period_start(at, timezone="America/New_York", billing_day=1) == date(2027, 1, 1)
    assert period_start(at, timezone="UTC", billing_day=15) == date(2027, 1, 15)
    assert period_start(datetime(2027, 1, 3, tzinfo=UTC), timezone="UTC", billing_day=5) == date(
        2026, 12, 5
    )


def test_included_seconds_first_then_the_rest_without_connection_fee():
    tariff = Tariff("44", "UK", Decimal("0.06"), Decimal("0.10"), 30, 6)
    assert call_price(tariff, 31).cost == Decimal("0.1360")  # 0.10 + 0.06 × 36 / 60
    whole = call_price(tariff, 31, included_left=100)
    assert (whole.cost, whole.included_seconds) == (Decimal("0"), 36)
    part = call_price(tariff, 31, included_left=6)
    assert (part.cost, part.included_seconds) == (Decimal("0.0300"), 6)
    assert included_applies(scope="national", countries=frozenset(), home="GB", to="GB")
    assert not included_applies(scope="national", countries=frozenset(), home="GB", to="FR")
    assert included_applies(scope="countries", countries=frozenset({"FR"}), home="GB", to="FR")


def test_charges_are_capped_at_what_the_credit_has_left():
    costs = [Decimal("0.02"), Decimal("0.06"), Decimal("0.02")]
    assert charges_capped(costs, available=Decimal("0.05")) == [
        Decimal("0.02"),
        Decimal("0.03"),
        Decimal("0"),
    ]
    assert charges_capped(costs, available=Decimal("-1")) == [Decimal("0")] * 3
