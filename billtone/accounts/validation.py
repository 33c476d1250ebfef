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
from stdnum.gb import vat as gb_vat
from stdnum.util import clean as stdnum_clean

# Babel's territory list also holds regions and groupings; these are not countries.
_NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"}
# Where a VAT ID's prefix is not the country's ISO code: Greece writes EL. Northern Ireland's
# businesses (country GB, postcodes BT…) may write XI (EU goods trade) or GB; a GB address
# elsewhere only GB (decision 0015).
VAT_PREFIX_OF_COUNTRY = {"GR": "EL"}
NORTHERN_IRELAND_POSTCODE = "BT"
NORTHERN_IRELAND_VAT_PREFIX = "XI"
EU_COUNTRIES = {code.upper() for code in eu_vat.MEMBER_STATES} - {"XI"}
# Every prefix read as a VAT country prefix; GR is read as EL (stdnum accepts both).
VAT_PREFIXES = {VAT_PREFIX_OF_COUNTRY.get(code, code) for code in EU_COUNTRIES} | {"GB", "XI"}


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


def vat_prefixes_for(*, country: str, postal_code: str) -> list[str]:
    """The VAT ID prefixes an address in `country` may use, the usual one first; none for a
    country outside the EU and the United Kingdom."""
    if country == "GB":
        if postal_code.strip().upper().startswith(NORTHERN_IRELAND_POSTCODE):
            return ["GB", NORTHERN_IRELAND_VAT_PREFIX]
        return ["GB"]
    if country in EU_COUNTRIES:
        return [VAT_PREFIX_OF_COUNTRY.get(country, country)]
    return []


def _prefix_owner(prefix: str) -> str:
    if prefix == NORTHERN_IRELAND_VAT_PREFIX:
        return "Northern Ireland"
    return countries().get("GR" if prefix == "EL" else prefix, prefix)


def _prefix_mismatch(number: str, prefix: str, *, country: str, expected: list[str]) -> str:
    if prefix == NORTHERN_IRELAND_VAT_PREFIX and country == "GB":
        return (
            "VAT IDs starting with XI are for Northern Ireland: use a postcode starting with BT, "
            "or the GB VAT ID."
        )
    written = f"“{number}” is a VAT ID of {_prefix_owner(prefix)} (it starts with {prefix}), "
    name = countries().get(country, country)
    if not expected:
        return written + f"but the billing country is {name}. Check the country."
    starts = " or ".join(expected)
    return written + f"but the billing country is {name}, whose VAT IDs start with {starts}."


def clean_tax_id(value: str, *, country: str, postal_code: str = "") -> str:
    """Validate a VAT / tax ID with python-stdnum and check that it belongs to the billing
    country. An EU or UK VAT ID typed without its prefix gets the country's (EL for Greece,
    GB for the United Kingdom); other countries' tax IDs are checked where stdnum knows them
    and kept as written."""
    number = (value or "").strip()
    if not number:
        return ""
    country = (country or "").upper()
    compact = stdnum_clean(number, " -./,").upper()
    prefix = "EL" if compact[:2] == "GR" else compact[:2]
    expected = vat_prefixes_for(country=country, postal_code=postal_code)
    try:
        if prefix in VAT_PREFIXES:
            if prefix not in expected:
                raise ValidationError(
                    _prefix_mismatch(number, prefix, country=country, expected=expected)
                )
            compact = prefix + compact[2:]
        elif expected:
            prefix = expected[0]
            compact = prefix + compact
        else:
            return _clean_other_tax_id(number, country=country)
        if prefix in ("GB", NORTHERN_IRELAND_VAT_PREFIX):
            return prefix + gb_vat.compact(gb_vat.validate(compact[2:]))
        return eu_vat.compact(eu_vat.validate(compact))
    except StdnumError as error:
        raise ValidationError(f"“{number}” is not a valid VAT ID: {error.message}") from None


def _clean_other_tax_id(number: str, *, country: str) -> str:
    module = get_cc_module(country.lower(), "vat") if country else None
    if module is None:
        return number
    try:
        compact = module.compact(module.validate(number))
    except StdnumError as error:
        raise ValidationError(f"“{number}” is not a valid tax ID: {error.message}") from None
    if number.upper().startswith(country) and not compact.startswith(country):
        compact = country + compact  # keep the country prefix the customer wrote
    return compact
