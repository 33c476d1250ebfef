from decimal import Decimal

import pytest

from billtone.core.money import (
    NO_EXPONENT,
    NOT_AN_AMOUNT,
    RATING_PLACES,
    AmountError,
    CurrencyMismatch,
    Money,
    amount_max,
    amount_parse,
    amount_parse_typed,
    locale_for,
    minor_units,
    round_amount,
)


def test_minor_units_come_from_babel():
    assert minor_units("EUR") == 2
    assert minor_units("USD") == 2
    assert minor_units("JPY") == 0
    assert minor_units("KWD") == 3


def test_unknown_currency_is_refused():
    with pytest.raises(ValueError):
        Money("1", "EURO")
    with pytest.raises(ValueError):
        Money("1", "eur")
    with pytest.raises(ValueError):
        minor_units("ZZZ")


@pytest.mark.parametrize("amount", [0.1, 1.0, True])
def test_floats_and_bools_are_refused(amount):
    with pytest.raises(TypeError):
        Money(amount, "EUR")


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "1,5", "abc"])
def test_non_finite_or_malformed_amounts_are_refused(amount):
    with pytest.raises(ValueError):
        Money(amount, "EUR")


def test_int_str_and_decimal_amounts_become_decimal():
    assert Money(3, "EUR").amount == Decimal(3)
    assert Money("0.10", "EUR").amount == Decimal("0.10")
    assert isinstance(Money("0.10", "EUR").amount, Decimal)


def test_money_is_immutable():
    money = Money("1.00", "EUR")
    with pytest.raises(AttributeError):
        money.amount = Decimal(2)


def test_arithmetic_in_one_currency():
    a, b = Money("10.50", "EUR"), Money("0.75", "EUR")
    assert a + b == Money("11.25", "EUR")
    assert a - b == Money("9.75", "EUR")
    assert -a == Money("-10.50", "EUR")
    assert abs(Money("-2", "EUR")) == Money("2", "EUR")
    assert b * 3 == Money("2.25", "EUR")
    assert 2 * b == Money("1.50", "EUR")
    assert b * Decimal("0.5") == Money("0.375", "EUR")
    assert b < a and a > b and a >= a and b <= b
    assert Money("1.0", "EUR") == Money("1.00", "EUR")
    assert hash(Money("1.0", "EUR")) == hash(Money("1.00", "EUR"))
    assert Money.zero("JPY").is_zero()


def test_mixed_currencies_are_refused():
    eur, usd = Money("1", "EUR"), Money("1", "USD")
    for operation in (
        lambda: eur + usd,
        lambda: eur - usd,
        lambda: eur < usd,
        lambda: eur >= usd,
    ):
        with pytest.raises(CurrencyMismatch):
            operation()
    assert eur != usd


def test_money_does_not_mix_with_plain_numbers():
    with pytest.raises(TypeError):
        Money("1", "EUR") + Decimal(1)
    with pytest.raises(TypeError):
        Money("1", "EUR") * Money("2", "EUR")
    with pytest.raises(TypeError):
        Money("1", "EUR") * 1.5


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        # halves go away from zero (ROUND_HALF_UP); banker's rounding would give 0.12
        ("0.125", "EUR", "0.13"),
        ("0.135", "EUR", "0.14"),
        ("-0.125", "EUR", "-0.13"),
        ("0.1249", "EUR", "0.12"),
        ("2.5", "JPY", "3"),
        ("3.5", "JPY", "4"),
        ("-2.5", "JPY", "-3"),
        ("1.0005", "KWD", "1.001"),
        ("1.0004", "KWD", "1.000"),
    ],
)
def test_rounding_to_the_minor_unit_is_half_up(amount, currency, expected):
    rounded = round_amount(Decimal(amount), currency)
    assert rounded == Decimal(expected)
    assert rounded.as_tuple().exponent == -minor_units(currency)
    assert Money(amount, currency).rounded() == Money(expected, currency)


@pytest.mark.parametrize(
    ("amount", "expected"),
    [("0.01235", "0.0124"), ("0.01225", "0.0123"), ("-0.00005", "-0.0001"), ("7", "7.0000")],
)
def test_rating_keeps_four_places(amount, expected):
    assert RATING_PLACES == 4
    assert round_amount(Decimal(amount), "EUR", rating=True) == Decimal(expected)
    assert Money(amount, "JPY").rounded_for_rating().amount == Decimal(expected)


def test_rated_amounts_are_billed_at_the_minor_unit():
    per_call = Money("0.0125", "EUR").rounded_for_rating()
    assert (per_call * 3).rounded() == Money("0.04", "EUR")  # 0.0375 -> 0.04


def test_plain_shows_at_least_the_minor_unit():
    assert Money("5", "EUR").plain() == "5.00"
    assert Money("0.0123", "EUR").plain() == "0.0123"
    assert Money("10.0000", "EUR").plain() == "10.00"  # as read from a ledger column
    assert Money("0.0120", "EUR").plain() == "0.012"
    assert Money("1E+2", "EUR").plain() == "100.00"
    assert Money("12", "JPY").plain() == "12"
    assert Money("1.5", "KWD").plain() == "1.500"
    assert str(Money("-3.1", "EUR")) == "-3.10 EUR"


def test_formatting_follows_the_locale():
    assert Money("1234.5", "EUR").format("en") == "€1,234.50"
    assert Money("1234.5", "EUR").format("de_DE") == "1.234,50\xa0€"
    assert Money("1234.5", "EUR").format("en_DE") == "1.234,50\xa0€"
    assert Money("-3", "USD").format("en_US") == "-$3.00"
    assert Money("1500", "JPY").format("ja_JP") == "￥1,500"
    assert Money("0.0123", "EUR").format("en") == "€0.0123"  # rated amounts are not rounded
    assert Money("7.5000", "EUR").format("en") == "€7.50"


def test_locale_for_a_language_and_a_billing_country():
    assert locale_for(language="en", country="DE") == "en_DE"
    assert locale_for(language="en-us", country="") == "en"
    assert locale_for(language="en", country="ZZ") == "en"


# --- Amounts that people and clients send --------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1250.50", Decimal("1250.50")),
        ("-0", Decimal("0")),
        ("10.5000", Decimal("10.50")),  # zeros at the end are not extra decimals
        ("999999999999.99", Decimal("999999999999.99")),
        (250, Decimal("250")),
        (Decimal("99.5"), Decimal("99.50")),
    ],
)
def test_amount_parse_takes_plain_decimal_notation(value, expected):
    assert amount_parse(value, "EUR") == Money(expected, "EUR")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1e3", NO_EXPONENT),
        ("2.5e307", NO_EXPONENT),
        ("NaN", NOT_AN_AMOUNT),
        ("Infinity", NOT_AN_AMOUNT),
        ("+5", NOT_AN_AMOUNT),
        (" 5", NOT_AN_AMOUNT),
        ("1_000", NOT_AN_AMOUNT),
        ("٥", NOT_AN_AMOUNT),
        ("", NOT_AN_AMOUNT),
        (None, NOT_AN_AMOUNT),
        (True, NOT_AN_AMOUNT),
        (1e3, NOT_AN_AMOUNT),
        (Decimal("NaN"), NOT_AN_AMOUNT),
        ("1" * 13, "EUR amounts have at most 12 digits before the decimal point."),
        ("1" * 5000, "EUR amounts have at most 12 digits before the decimal point."),
        (10**40, "EUR amounts have at most 12 digits before the decimal point."),
        (Decimal("1E+30"), "EUR amounts have at most 12 digits before the decimal point."),
        ("12.345", "EUR amounts have at most 2 decimal places."),
        ("1.00000", "EUR amounts have at most 2 decimal places."),
        (Decimal("1E-100000"), "EUR amounts have at most 2 decimal places."),
    ],
)
def test_amount_parse_refuses_everything_else_with_a_message(value, message):
    with pytest.raises(AmountError) as raised:
        amount_parse(value, "EUR")
    assert str(raised.value) == message


def test_the_limits_follow_the_currency():
    assert amount_max("EUR") == Decimal("999999999999.99")
    assert amount_max("JPY") == Decimal("999999999999")
    assert amount_max("KWD") == Decimal("999999999999.999")
    assert amount_parse("1500", "JPY") == Money(1500, "JPY")
    with pytest.raises(AmountError, match="JPY amounts are whole numbers"):
        amount_parse("1500.5", "JPY")
    assert amount_parse("1.234", "KWD") == Money(Decimal("1.234"), "KWD")
    with pytest.raises(AmountError, match="KWD amounts have at most 3 decimal places"):
        amount_parse("1.2345", "KWD")


@pytest.mark.parametrize(
    ("text", "locale", "expected"),
    [
        (" 1,234.50 ", "en", "1234.50"),
        ("1.234,50", "de_DE", "1234.50"),
        ("12,50", "de_DE", "12.50"),
        ("12.50", "de_DE", "12.50"),  # plain notation is read in every locale
        ("1\u202f234,50", "fr_FR", "1234.50"),
        ("1 234,50", "fr_FR", "1234.50"),  # a typed space for the narrow one
    ],
)
def test_typed_amounts_are_read_in_the_locale(text, locale, expected):
    assert amount_parse_typed(text, "EUR", locale=locale) == Money(expected, "EUR")


@pytest.mark.parametrize("text", ["1e3", "NaN", "inf", "+5", "٥", "1_000", "12,5,0", "1" * 80])
def test_typed_amounts_refuse_what_the_api_refuses(text):
    with pytest.raises(AmountError):
        amount_parse_typed(text, "EUR", locale="en")
