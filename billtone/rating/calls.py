"""Pure decisions of CDR rating (issue 19), free of the database: what a dialled destination
is, which billing period a call counts in, and what part of it the included minutes cover.

Destinations as switches write them: a phone number in any dialling form of the account's
country ("020 7946 0958" in GB, "0044 20…", "+44 20…", "011 44 20…" in the US) becomes E.164;
extensions, `*` codes, voicemail, SIP URIs, the dialplan's special extensions ("s", "i",
"t", "h") and scanners' probes are not phone numbers: counted as not rated, never an error.
An emergency number of the account's country (the operator's list) is allowed and never
charged.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

import phonenumbers

from billtone.core.money import round_rated
from billtone.rating.core import Tariff, billable_seconds, call_cost

# A dialled string longer than this is no number (E.164 has 15 digits; "011" + 15 is 18).
LONGEST_DIALLED = 20
# Digits only, and this few, without a "+" or an international prefix: an extension or a
# service code, not a PSTN number (the shortest national numbers have 7 digits or more).
SHORTEST_NATIONAL = 7
_SEPARATORS = re.compile(r"[\s\-.()/]")
_SIXTY = Decimal(60)
# phonenumbers' metadata patterns compiled once: ~200 countries' patterns overflow the re
# module's cache of 512, recompiled over and over otherwise (a third of a number's time).
phonenumbers.enable_pattern_cache()


class DestinationKind(StrEnum):
    PSTN = "pstn"
    EMERGENCY = "emergency"
    NOT_A_NUMBER = "not_a_number"


@dataclass(frozen=True, slots=True)
class Destination:
    kind: DestinationKind
    e164: str = ""  # "+442079460958" for PSTN
    country: str = ""  # the number's ISO 3166 region, for PSTN

    @property
    def digits(self) -> str:
        """E.164 without the "+": what rate prefixes are written in."""
        return self.e164[1:]


NOT_A_NUMBER = Destination(DestinationKind.NOT_A_NUMBER)
EMERGENCY = Destination(DestinationKind.EMERGENCY)


def destination_classify(
    dialled: str, *, country: str, emergency: frozenset[str] = frozenset()
) -> Destination:
    """What `dialled` is, read in the dialling forms of `country` (ISO 3166, may be empty).

    `emergency`: the emergency numbers of that country (and of every country).
    """
    text = dialled_text(dialled)
    if not text or len(text) > LONGEST_DIALLED:
        return NOT_A_NUMBER
    if text in emergency:
        return EMERGENCY
    plus = text.startswith("+")
    digits = text[1:] if plus else text
    if not digits.isdigit():  # "*97", "s", "sip:…", "1000@domain", "#31#"
        return NOT_A_NUMBER
    if not plus and len(digits) < SHORTEST_NATIONAL:
        return NOT_A_NUMBER
    region = country.upper() if country else None
    if region is None and not plus:
        if not digits.startswith("00"):
            return NOT_A_NUMBER  # no country to read a national number in
        text, plus = "+" + digits[2:], True
    return _pstn(text, region)


def dialled_text(dialled: str) -> str:
    """The dialled string without separators: what an emergency number is compared with."""
    return _SEPARATORS.sub("", dialled or "")


@functools.lru_cache(maxsize=100_000)
def _pstn(text: str, region: str | None) -> Destination:
    """The number as phonenumbers reads it, or NOT_A_NUMBER. Remembered: phonenumbers'
    validation is most of a CDR's CPU (bench/cdr_ingest.py's profile), and customers call
    the same numbers again and again."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return NOT_A_NUMBER
    # is_valid_number, with the region found once (it finds it itself, then we did again)
    region = phonenumbers.region_code_for_number(number)
    if not phonenumbers.is_valid_number_for_region(number, region):
        return NOT_A_NUMBER
    return Destination(
        DestinationKind.PSTN,
        e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        country=region or "",
    )


def number_e164(text: str, *, country: str) -> str:
    """A caller's number in E.164, or "" when it is none (an extension, a name)."""
    found = destination_classify(text, country=country)
    return found.e164 if found.kind is DestinationKind.PSTN else ""


def period_start(at: datetime, *, timezone: str, billing_day: int) -> date:
    """The first day of the billing period `at` falls in: the latest billing day at midnight
    in the account's time zone at or before `at` (as billing's `bill_moment` places bills)."""
    local = at.astimezone(ZoneInfo(timezone)).date()
    if local.day >= billing_day:
        return local.replace(day=billing_day)
    year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    return date(year, month, billing_day)


def included_applies(*, scope: str, countries: frozenset[str], home: str, to: str) -> bool:
    """Whether a plan's included minutes cover a call to country `to` from an account in
    `home`: "national" plans cover calls within the account's country, "countries" plans
    the countries listed."""
    if not to:
        return False
    if scope == "countries":
        return to in countries
    return bool(home) and to == home.upper()


@dataclass(frozen=True, slots=True)
class Priced:
    cost: Decimal  # to RATING_PLACES
    included_seconds: int  # taken from the included minutes


def call_price(tariff: Tariff, billsec: int, *, included_left: int = 0) -> Priced:
    """What a call costs after the included seconds left (`included_left`) are used first.

    Included minutes are counted in the call's billable seconds (its rate's increments): a
    call they cover entirely costs nothing; one they cover in part pays for the seconds left
    at the per-minute price, without the connection fee (the call began on included time).
    """
    billable = billable_seconds(billsec, tariff.initial_increment, tariff.subsequent_increment)
    covered = min(billable, max(included_left, 0))
    if covered == 0:
        return Priced(call_cost(tariff, billsec), 0)
    rest = billable - covered
    return Priced(round_rated(tariff.per_minute * rest / _SIXTY), covered)


def charges_capped(costs: list[Decimal], *, available: Decimal) -> list[Decimal]:
    """What the call credit pays of each cost, in order, never more than `available` in all:
    a call it cannot cover is paid down to the limit, and the calls after it not at all."""
    left = max(available, Decimal(0))
    paid = []
    for cost in costs:
        part = min(cost, left)
        paid.append(part)
        left -= part
    return paid
