"""Money: a Decimal amount with its ISO 4217 currency, and the one place that rounds.

Rounding (docs/decisions/0004-money-and-ledger.md): ROUND_HALF_UP, i.e. halves away from
zero, symmetric for negative amounts. Charges, invoices and payments round to the currency's
minor unit as Babel's CLDR data gives it (2 for EUR, 0 for JPY, 3 for KWD); call rating may
carry RATING_PLACES decimals and is rounded to the minor unit only where it is billed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

from babel import localedata
from babel.numbers import format_currency, get_currency_precision, list_currencies

ROUNDING = ROUND_HALF_UP
RATING_PLACES = 4


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


def locale_for(*, language: str, country: str = "") -> str:
    """The Babel locale for a language and a billing country: en + DE -> en_DE."""
    language = (language or "en").replace("-", "_").split("_")[0].lower()
    if country:
        candidate = f"{language}_{country.upper()}"
        if localedata.exists(candidate):
            return candidate
    return language if localedata.exists(language) else "en"
