"""Validation of billing profile values, shared by the page, the API and the admin."""

import zoneinfo
from functools import cache

from babel import Locale
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from stdnum import get_cc_module
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as StdnumError

# Babel's territory list also holds regions and groupings; these are not countries.
_NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"}
EU_VAT_COUNTRIES = {code.upper() for code in eu_vat.MEMBER_STATES} | {"EL"}


@cache
def countries() -> dict[str, str]:
    names = Locale("en").territories
    return dict(
        sorted(
            (
                (code, name)
                for code, name in names.items()
                if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
            ),
            key=lambda item: item[1],
        )
    )


@cache
def timezones() -> list[str]:
    return sorted(zoneinfo.available_timezones() - {"localtime", "Factory"})


def enabled_currencies() -> list[str]:
    return list(settings.BILLTONE_CURRENCIES)


def clean_country(value: str) -> str:
    code = (value or "").strip().upper()
    if code not in countries():
        raise ValidationError(f"“{value}” is not an ISO 3166 country code.")
    return code


def clean_timezone(value: str) -> str:
    name = (value or "").strip()
    if name not in timezones():
        raise ValidationError(f"“{value}” is not a known time zone (for example Europe/Berlin).")
    return name


def clean_currency(value: str) -> str:
    code = (value or "").strip().upper()
    if code not in enabled_currencies():
        accepted = ", ".join(enabled_currencies())
        raise ValidationError(f"Choose one of the currencies this operator accepts: {accepted}.")
    return code


def clean_email(value: str) -> str:
    email = (value or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError("Enter a valid email address, such as billing@example.com.") from None
    return email


def clean_tax_id(value: str, *, country: str) -> str:
    """Validate a VAT / tax ID with python-stdnum where it knows the country."""
    number = (value or "").strip()
    if not number:
        return ""
    country = (country or "").upper()
    prefix = number[:2].upper()
    try:
        if prefix in EU_VAT_COUNTRIES or country in EU_VAT_COUNTRIES:
            candidate = number if prefix in EU_VAT_COUNTRIES else f"{country}{number}"
            return eu_vat.compact(eu_vat.validate(candidate))
        module = get_cc_module(country.lower(), "vat") if country else None
        if module is None:
            return number
        compact = module.compact(module.validate(number))
        if number.upper().startswith(country) and not compact.startswith(country):
            compact = country + compact  # keep the country prefix the customer wrote
        return compact
    except StdnumError as error:
        raise ValidationError(f"“{number}” is not a valid VAT / tax ID: {error.message}") from None
