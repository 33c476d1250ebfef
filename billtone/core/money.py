"""Money: a Decimal amount with its ISO 4217 currency, and the one place that rounds.

Rounding (docs/decisions/0004-money-and-ledger.md): ROUND_HALF_UP, i.e. halves away from
zero, symmetric for negative amounts. Charges, invoices and payments round to the currency's
minor unit as Babel's CLDR data gives it (2 for EUR, 0 for JPY, 3 for KWD); call rating may
carry RATING_PLACES decimals and is rounded to the minor unit only where it is billed.

Amounts that people and clients send are read here too, and nowhere else
(docs/decisions/0009-bounded-input.md): `amount_parse` for the API (plain decimal notation),
`amount_parse_typed` for forms (as people write numbers in their locale, read by Babel). Both
bound the amount to MAX_AMOUNT_DIGITS digits and the currency's minor unit, so that no amount
from outside can break Decimal's 28-digit context or the database's 20 digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from babel import localedata
from babel.numbers import (
    NumberFormatError,
    format_currency,
    format_decimal,
    get_currency_precision,
    get_decimal_symbol,
    get_group_symbol,
    list_currencies,
    parse_decimal,
)

ROUNDING = ROUND_HALF_UP
RATING_PLACES = 4
MAX_AMOUNT_DIGITS = 12
"""Digits before the decimal point of an amount anyone may send, in every currency (so at most
999,999,999,999 and the minor unit): far above any real payment, and far inside Decimal's
28-digit context and the database's 20 digits (4 of them decimals)."""


class CurrencyMismatch(TypeError):
    """Two amounts in different currencies were combined."""


@lru_cache(maxsize=512)
def _known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def currency_check(currency: str) -> str:
    """The currency code itself when Babel knows it as ISO 4217; ValueError otherwise."""
    if not isinstance(currency, str) or currency not in _known_currencies():
        raise ValueError(f"Unknown ISO 4217 currency {currency!r}.")
    return currency


@lru_cache(maxsize=512)
def minor_units(currency: str) -> int:
    """Decimal places of the currency's minor unit: 2 for EUR, 0 for JPY, 3 for KWD."""
    return get_currency_precision(currency_check(currency))


def _exponent(places: int) -> Decimal:
    return Decimal(1).scaleb(-places)


def round_amount(amount: Decimal, currency: str, *, rating: bool = False) -> Decimal:
    """Round `amount` for `currency`: to its minor unit, or to RATING_PLACES for call rating."""
    places = RATING_PLACES if rating else minor_units(currency)
    return _as_decimal(amount).quantize(_exponent(places), rounding=ROUNDING)


_RATING_EXPONENT = _exponent(RATING_PLACES)


def round_rated(amount: Decimal) -> Decimal:
    """Round a rated call's cost (any currency) to RATING_PLACES: the rating core's one rounding."""
    return amount.quantize(_RATING_EXPONENT, rounding=ROUNDING)


def _as_decimal(value: object) -> Decimal:
    if type(value) is Decimal and value.is_finite():  # the common case, first
        return value
    if isinstance(value, bool | float):
        raise TypeError("Money amounts are Decimal, int or str, never float.")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int | str):
        try:
            result = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"Not a decimal amount: {value!r}.") from None
    else:
        raise TypeError(f"Not a money amount: {type(value).__name__}.")
    if not result.is_finite():
        raise ValueError("Money amounts are finite numbers.")
    return result


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in one currency. Immutable; arithmetic across currencies raises."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", _as_decimal(self.amount))
        currency_check(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    def _same(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"Cannot combine Money with {type(other).__name__}.")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"Cannot combine {self.currency} with {other.currency}.")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + self._same(other).amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - self._same(other).amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.amount), self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        if isinstance(factor, Money):
            raise TypeError("Cannot multiply Money by Money.")
        return Money(self.amount * _as_decimal(factor), self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same(other).amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same(other).amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._same(other).amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._same(other).amount

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        return self.currency == other.currency and self.amount == other.amount

    def __hash__(self) -> int:
        return hash((self.amount, self.currency))

    def __str__(self) -> str:
        return f"{self.plain()} {self.currency}"

    def is_zero(self) -> bool:
        return self.amount == 0

    def rounded(self) -> Money:
        """Rounded to the currency's minor unit: for charges, invoices and payments."""
        return Money(round_amount(self.amount, self.currency), self.currency)

    def rounded_for_rating(self) -> Money:
        """Rounded to RATING_PLACES: for rated calls before they are billed."""
        return Money(round_amount(self.amount, self.currency, rating=True), self.currency)

    def _shown(self) -> Decimal:
        """The amount with the currency's minor-unit places, or more where they are not 0."""
        significant = -self.amount.normalize().as_tuple().exponent
        return self.amount.quantize(_exponent(max(minor_units(self.currency), significant, 0)))

    def plain(self) -> str:
        """The amount as a plain string: '12.50', '0.0123', '1500' (JPY)."""
        return format(self._shown(), "f")

    def format(self, locale: str = "en") -> str:
        """Formatted for people in `locale` with Babel: '€1,234.50', '1.234,50 €'."""
        return format_currency(
            self._shown(), self.currency, locale=locale, decimal_quantization=False
        )


# --- Amounts that people and clients send ---------------------------------------------------

_PLAIN = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?")
_SPACES = " \u00a0\u202f"
NOT_AN_AMOUNT = "Enter the amount as a decimal number, such as 50.00."
NO_EXPONENT = "Write the amount out in plain decimal notation, such as 1000.00, not 1e3."


class AmountError(ValueError):
    """An amount someone sent that cannot be money in its currency. The message says why, in
    words for people: the API's 422 and the forms show it as it is."""


def amount_max(currency: str) -> Decimal:
    """The largest amount anyone may send in `currency`: 999999999999.99 EUR, 999999999999 JPY."""
    return Decimal(10) ** MAX_AMOUNT_DIGITS - _exponent(minor_units(currency))


def _places_message(currency: str) -> str:
    places = minor_units(currency)
    if places == 0:
        return f"{currency} amounts are whole numbers: enter no decimal places."
    return f"{currency} amounts have at most {places} decimal places."


def _too_large(currency: str) -> AmountError:
    return AmountError(
        f"{currency} amounts have at most {MAX_AMOUNT_DIGITS} digits before the decimal point."
    )


def _bounded(value: Decimal, written_places: int, currency: str) -> Money:
    """`value`, written with `written_places` digits after the point, within the limits."""
    if abs(value) > amount_max(currency):
        raise _too_large(currency)
    if written_places > RATING_PLACES or value != round_amount(value, currency):
        raise AmountError(_places_message(currency))
    return Money(value, currency)


def amount_parse(value: object, currency: str) -> Money:
    """An amount a client sent, as Money in `currency`, or AmountError.

    Taken: a string in plain decimal notation (ASCII digits, an optional leading "-" and one
    "." with digits after it: "1250.50"), an int, or a finite Decimal (the API reads JSON
    numbers written that way as Decimal, never as float). Refused, never rounded or guessed: an
    exponent ("1e3"), NaN and infinities, "+", spaces, "_", digits other than 0-9, floats;
    more than MAX_AMOUNT_DIGITS digits before the point; more decimals than the currency's
    minor unit, where zeros at the end do not count ("10.5000" is 10.50 EUR) but no amount is
    written with more than RATING_PLACES. The sign is kept: whether an amount may be zero or
    negative is the service's rule."""
    currency_check(currency)
    if isinstance(value, str):
        match = _PLAIN.fullmatch(value)
        if match is None:
            raise AmountError(NO_EXPONENT if _looks_like_exponent(value) else NOT_AN_AMOUNT)
        if len(match[2]) > MAX_AMOUNT_DIGITS:  # before Decimal() reads a million digits
            raise _too_large(currency)
        if len(match[3] or "") > RATING_PLACES:
            raise AmountError(_places_message(currency))
        return _bounded(Decimal(value), len(match[3] or ""), currency)
    if isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > amount_max(currency):  # before Decimal() reads a huge int
            raise _too_large(currency)
        return _bounded(Decimal(value), 0, currency)
    if isinstance(value, Decimal) and value.is_finite():
        return _bounded(value, max(0, -int(value.as_tuple().exponent)), currency)
    raise AmountError(NOT_AN_AMOUNT)


def _looks_like_exponent(text: str) -> bool:
    mantissa, sep, exponent = text.strip().lower().partition("e")
    return bool(sep) and any(c.isdigit() for c in mantissa) and exponent.lstrip("+-").isdigit()


def amount_parse_typed(text: object, currency: str, *, locale: str) -> Money:
    """An amount a person typed into a form, as Money in `currency`, or AmountError.

    Read as people write numbers in `locale`, by Babel's strict parser ("1.234,50" in de,
    "1 234,50" in fr, "1,234.50" in en), or else in plain decimal notation ("1234.50" is
    understood in every locale); spaces around it are dropped. Then the limits of
    amount_parse. Only ASCII digits, "-" and the locale's own separators are read: an exponent,
    NaN, "inf", "+", "_" or other digits are refused as in the API."""
    text = str(text if text is not None else "").strip()
    if not text:
        raise AmountError(NOT_AN_AMOUNT)
    if len(text) > 64:  # no amount within the limits is written this long
        raise _too_large(currency)
    decimal_symbol, group = get_decimal_symbol(locale), get_group_symbol(locale)
    if group.isspace():
        text = "".join(group if c in _SPACES else c for c in text)
    elif group == "'":
        text = text.replace("\u2019", "'")
    allowed = set("0123456789-.") | {decimal_symbol, group}
    if any(c not in allowed for c in text):
        raise AmountError(NO_EXPONENT if _looks_like_exponent(text) else _typed_example(locale))
    try:
        value = parse_decimal(text, locale=locale, strict=True)
    except NumberFormatError:
        if _PLAIN.fullmatch(text) is None:
            raise AmountError(_typed_example(locale)) from None
        return amount_parse(text, currency)
    if not value.is_finite():  # not reached with the characters above; kept as a guard
        raise AmountError(NOT_AN_AMOUNT)
    return amount_parse(value, currency)


def _typed_example(locale: str) -> str:
    example = format_decimal(Decimal("1234.50"), format="#,##0.00", locale=locale)
    return f"Enter the amount as a number, such as {example} or 50."


def locale_for(*, language: str, country: str = "") -> str:
    """The Babel locale for a language and a billing country: en + DE -> en_DE."""
    language = (language or "en").replace("-", "_").split("_")[0].lower()
    if country:
        candidate = f"{language}_{country.upper()}"
        if localedata.exists(candidate):
            return candidate
    return language if localedata.exists(language) else "en"
