"""The dates people and clients may send: from FIRST_DATE to LAST_DATE.

Billing has nothing before 1900 or after 2199, and a bound far from date.min and date.max keeps
every computation on a sent date (the day after, the start of the month, a time zone's
midnight) from overflowing. API schemas, form fields and selectors all check with
`date_in_range`, so the message is the same wherever a date is refused.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from billtone.core.errors import ValidationFailed

FIRST_DATE = date(1900, 1, 1)
LAST_DATE = date(2199, 12, 31)
OUT_OF_RANGE = f"Enter a date from {FIRST_DATE.isoformat()} to {LAST_DATE.isoformat()}."
ISO_DATE_PATTERN = r"^(19|20|21)[0-9]{2}-[0-9]{2}-[0-9]{2}$"
"""The OpenAPI pattern of a date in range (the format `date` then says it exists)."""


def date_in_range(value: date) -> bool:
    return FIRST_DATE <= value <= LAST_DATE


@dataclass(frozen=True)
class Days:
    """Whole days in a time zone, both ends included, and the instants that bound them."""

    first: date
    last: date
    start: datetime  # midnight starting `first`
    end: datetime  # midnight after `last`


def days_clean(
    *,
    first: date | None,
    last: date | None,
    today: date,
    tz: tzinfo,
    max_days: int,
    too_long: str,
    other_errors: dict[str, list[str]] | None = None,
) -> Days:
    """The days a statement or a list covers (by default this month so far), checked: each
    date in range, `first` not after `last`, at most `max_days` (else `too_long`). What is
    wrong is refused by one ValidationFailed, with the caller's `other_errors` beside it."""
    last = last or today
    first = first or last.replace(day=1)
    errors = {
        name: [OUT_OF_RANGE]
        for name, value in (("from", first), ("to", last))
        if not date_in_range(value)
    }
    if not errors and first > last:
        errors["from"] = ["The start date is after the end date."]
    elif not errors and (last - first).days >= max_days:
        errors["to"] = [too_long]
    errors.update(other_errors or {})
    if errors:
        raise ValidationFailed(errors)
    start = datetime.combine(first, time.min, tzinfo=tz)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=tz)
    return Days(first, last, start, end)
