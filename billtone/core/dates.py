"""The dates people and clients may send: from FIRST_DATE to LAST_DATE.

Billing has nothing before 1900 or after 2199, and a bound far from date.min and date.max keeps
every computation on a sent date (the day after, the start of the month, a time zone's
midnight) from overflowing. API schemas, form fields and selectors all check with
`date_in_range`, so the message is the same wherever a date is refused.
"""

from datetime import date

FIRST_DATE = date(1900, 1, 1)
LAST_DATE = date(2199, 12, 31)
OUT_OF_RANGE = f"Enter a date from {FIRST_DATE.isoformat()} to {LAST_DATE.isoformat()}."
ISO_DATE_PATTERN = r"^(19|20|21)[0-9]{2}-[0-9]{2}-[0-9]{2}$"
"""The OpenAPI pattern of a date in range (the format `date` then says it exists)."""


def date_in_range(value: date) -> bool:
    return FIRST_DATE <= value <= LAST_DATE
