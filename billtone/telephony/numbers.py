"""Telephone numbers as the inventory keeps them: E.164, read and checked with phonenumbers
(libphonenumber's data), and the back office's pasted list of numbers. Pure: no database."""

from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberFormat
from phonenumbers import PhoneNumberType as Kind

E164_PATTERN = r"^\+[1-9][0-9]{1,14}$"

# Which of libphonenumber's kinds each of the catalog's number types takes. North American
# numbers are FIXED_LINE_OR_MOBILE (the plan does not tell them apart).
KINDS_ACCEPTED: dict[str, frozenset[int]] = {
    "geographic": frozenset({Kind.FIXED_LINE, Kind.FIXED_LINE_OR_MOBILE}),
    "national": frozenset(
        {
            Kind.FIXED_LINE,
            Kind.FIXED_LINE_OR_MOBILE,
            Kind.VOIP,
            Kind.UAN,
            Kind.PERSONAL_NUMBER,
            Kind.SHARED_COST,
        }
    ),
    "mobile": frozenset({Kind.MOBILE, Kind.FIXED_LINE_OR_MOBILE}),
    "toll_free": frozenset({Kind.TOLL_FREE}),
}
KIND_NAMES = {
    Kind.FIXED_LINE: "a geographic number",
    Kind.MOBILE: "a mobile number",
    Kind.FIXED_LINE_OR_MOBILE: "a geographic or mobile number",
    Kind.TOLL_FREE: "a toll-free number",
    Kind.PREMIUM_RATE: "a premium-rate number",
    Kind.SHARED_COST: "a shared-cost number",
    Kind.VOIP: "a national (VoIP) number",
    Kind.PERSONAL_NUMBER: "a personal number",
    Kind.PAGER: "a pager number",
    Kind.UAN: "a national (UAN) number",
    Kind.VOICEMAIL: "a voicemail number",
}
TYPE_NAMES = {
    "geographic": "geographic",
    "national": "national",
    "mobile": "mobile",
    "toll_free": "toll-free",
}


class NumberInvalid(ValueError):
    """Text that is not a valid telephone number; its message says why, for a person."""


def e164_parse(text: str) -> phonenumbers.PhoneNumber:
    """A number written in international form (+31 20 123 4567, +31201234567); spaces,
    dots, dashes and brackets are allowed, a national form (020 …) is not: the inventory
    serves several countries, so the country code must be written."""
    text = text.strip()
    if not text.startswith("+"):
        raise NumberInvalid(f"{text!r} does not start with + and the country code.")
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        raise NumberInvalid(f"{text!r} is not a telephone number.") from None
    if not phonenumbers.is_valid_number(number):
        raise NumberInvalid(f"{text!r} is not a valid telephone number.")
    return number


def e164_normalise(text: str) -> str:
    """The number in E.164: +31201234567."""
    return phonenumbers.format_number(e164_parse(text), PhoneNumberFormat.E164)


def e164_display(e164: str) -> str:
    """The number as people read it: +31 20 123 4567 (the stored text if it does not parse)."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def number_check(number: phonenumbers.PhoneNumber, *, country: str, number_type: str) -> None:
    """NumberInvalid unless the number belongs to `country` and is of `number_type`."""
    shown = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    region = phonenumbers.region_code_for_number(number)
    if region != country:
        raise NumberInvalid(f"{shown} is a number of {region}, not of {country}.")
    kind = phonenumbers.number_type(number)
    if kind not in KINDS_ACCEPTED.get(number_type, frozenset()):
        found = KIND_NAMES.get(kind, "a number of another type")
        wanted = TYPE_NAMES.get(number_type, number_type)
        raise NumberInvalid(f"{shown} is {found}, not a {wanted} number.")


def line_errors(problems: list[tuple[int, str]]) -> tuple[str, ...]:
    """Problems by line as people read them, in line order: "Line 3: …" (line 0: the paste
    as a whole, first)."""
    return tuple(f"Line {line}: {text}" if line else text for line, text in sorted(problems))


@dataclass(frozen=True)
class InventoryLines:
    """A pasted list read: (line, number in E.164) in the order given, and (line, what is
    wrong) for each bad line. Nothing is to be imported while `problems` is not empty."""

    lines: tuple[tuple[int, str], ...]
    problems: tuple[tuple[int, str], ...]

    @property
    def numbers(self) -> tuple[str, ...]:
        return tuple(e164 for _, e164 in self.lines)

    @property
    def errors(self) -> tuple[str, ...]:
        return line_errors(list(self.problems))


def inventory_parse(text: str, *, country: str, number_type: str) -> InventoryLines:
    """One number per line, each of `country` and `number_type`; blank lines are skipped; a
    number given twice is an error on its second line."""
    lines: list[tuple[int, str]] = []
    problems: list[tuple[int, str]] = []
    first_line: dict[str, int] = {}
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            number = e164_parse(line)
            number_check(number, country=country, number_type=number_type)
        except NumberInvalid as error:
            problems.append((line_number, str(error)))
            continue
        e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
        if e164 in first_line:
            problems.append((line_number, f"{e164} is on line {first_line[e164]} already."))
            continue
        first_line[e164] = line_number
        lines.append((line_number, e164))
    if not lines and not problems:
        problems.append((0, "Paste at least one number, one per line."))
    return InventoryLines(lines=tuple(lines), problems=tuple(problems))
