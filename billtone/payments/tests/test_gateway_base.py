"""What every gateway shares: card checks before tokenizing, and money in minor units."""

import inspect
from decimal import Decimal

import pytest
import time_machine

from billtone.core.errors import ValidationFailed
from billtone.payments.gateways.base import (
    PaymentGateway,
    card_brand,
    card_validate,
    from_minor_units,
    to_minor_units,
)
from billtone.payments.gateways.sandbox import SandboxGateway
from billtone.payments.gateways.stripe import StripeGateway

VISA = "4242424242424242"


def validate(**changes):
    fields = {
        "number": VISA,
        "exp_month": 12,
        "exp_year": 2031,
        "cvc": "123",
        "holder_name": "Ada Lovelace",
    }
    fields.update(changes)
    return card_validate(**fields)


def errors_of(**changes) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as caught:
        validate(**changes)
    return caught.value.errors


@time_machine.travel("2026-06-15 12:00Z", tick=False)
def test_a_valid_card_is_normalized():
    card = validate(
        number="4242 4242-4242 4242", exp_year="31", cvc=" 123 ", holder_name=" Ada  L "
    )

    assert card.number == VISA
    assert (card.exp_month, card.exp_year) == (12, 2031)
    assert card.cvc == "123"
    assert card.holder_name == "Ada L"
    assert card.brand == "visa"
    assert card.last4 == "4242"


def test_card_number_and_cvc_stay_out_of_its_repr():
    card = validate(cvc="987")

    assert VISA not in repr(card)
    assert "987" not in repr(card)
    assert "4242" not in repr(card)


@pytest.mark.parametrize(
    "number",
    ["4242424242424241", "4242 4242 4242 424x", "4242", "42424242424242424242", ""],
)
def test_a_number_failing_luhn_or_length_is_refused(number):
    errors = errors_of(number=number)

    assert list(errors) == ["number"]


def test_the_error_never_repeats_the_number():
    with pytest.raises(ValidationFailed) as caught:
        validate(number="4242424242424241")

    assert "4242424242424241" not in str(caught.value.errors)
    assert "4242424242424241" not in str(caught.value)


@time_machine.travel("2026-06-15 12:00Z", tick=False)
def test_a_card_expiring_this_month_is_accepted_last_month_is_not():
    assert validate(exp_month=6, exp_year=2026).exp_month == 6

    assert errors_of(exp_month=5, exp_year=2026) == {"exp": ["This card has expired."]}
    assert errors_of(exp_month=12, exp_year=2025) == {"exp": ["This card has expired."]}


@time_machine.travel("2026-06-15 12:00Z", tick=False)
@pytest.mark.parametrize(
    ("month", "year"), [(0, 2030), (13, 2030), ("ab", 2030), (6, ""), (6, 2047), (True, 2030)]
)
def test_an_impossible_expiry_is_refused(month, year):
    assert list(errors_of(exp_month=month, exp_year=year)) == ["exp"]


@pytest.mark.parametrize("cvc", ["12", "12345", "12a", ""])
def test_a_cvc_is_three_or_four_digits(cvc):
    assert list(errors_of(cvc=cvc)) == ["cvc"]


def test_a_four_digit_cvc_is_accepted():
    assert validate(number="378282246310005", cvc="1234").brand == "amex"


@pytest.mark.parametrize("holder", ["", "   ", "x" * 101])
def test_the_name_on_the_card_is_required_and_bounded(holder):
    assert list(errors_of(holder_name=holder)) == ["holder_name"]


def test_every_bad_field_is_reported_at_once():
    errors = errors_of(number="1234", exp_month=13, cvc="1", holder_name="")

    assert set(errors) == {"number", "exp", "cvc", "holder_name"}


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("4242424242424242", "visa"),
        ("5555555555554444", "mastercard"),
        ("2223003122003222", "mastercard"),
        ("378282246310005", "amex"),
        ("6011111111111117", "discover"),
        ("3566002020360505", "jcb"),
        ("36227206271667", "diners"),
        ("6200000000000005", "unionpay"),
        ("9000000000000008", "unknown"),
    ],
)
def test_the_brand_comes_from_the_number(number, brand):
    assert card_brand(number) == brand


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        (Decimal("12.34"), "EUR", 1234),
        (Decimal("12.3"), "EUR", 1230),
        (Decimal("12.340"), "EUR", 1234),
        (Decimal("500"), "JPY", 500),
        (Decimal("1.234"), "KWD", 1234),
        (Decimal("0.01"), "GBP", 1),
    ],
)
def test_amounts_go_to_minor_units_by_the_currency_exponent(amount, currency, minor):
    assert to_minor_units(amount, currency) == minor
    assert from_minor_units(minor, currency) == amount


@pytest.mark.parametrize(
    ("amount", "currency", "field"),
    [
        (Decimal("12.345"), "EUR", "amount"),
        (Decimal("1.5"), "JPY", "amount"),
        (Decimal("0"), "EUR", "amount"),
        (Decimal("-1"), "EUR", "amount"),
        (Decimal("NaN"), "EUR", "amount"),
        (Decimal("1"), "EURO", "currency"),
    ],
)
def test_an_amount_the_currency_cannot_hold_is_refused(amount, currency, field):
    with pytest.raises(ValidationFailed) as caught:
        to_minor_units(amount, currency)

    assert list(caught.value.errors) == [field]


def test_a_float_is_never_an_amount():
    with pytest.raises(TypeError):
        to_minor_units(12.34, "EUR")


@pytest.mark.parametrize("gateway_class", [SandboxGateway, StripeGateway])
def test_each_gateway_has_the_protocols_methods_and_parameters(gateway_class):
    methods = [
        name
        for name, member in vars(PaymentGateway).items()
        if inspect.isfunction(member) and not name.startswith("_")
    ]

    assert set(methods) == {
        "card_save",
        "card_detach",
        "card_charge",
        "charge_find",
        "charge_confirm",
        "charge_refund",
        "refund_find",
    }
    for name in methods:
        expected = inspect.signature(getattr(PaymentGateway, name)).parameters
        actual = inspect.signature(getattr(gateway_class, name)).parameters
        assert [(p.name, p.kind, p.default) for p in actual.values()] == [
            (p.name, p.kind, p.default) for p in expected.values()
        ], name
    assert gateway_class.name in {"sandbox", "stripe"}
