"""The one place that reads the time, so tests can freeze it (time-machine)."""

from datetime import datetime

from django.utils import formats, timezone


def now() -> datetime:
    return timezone.now()


def time_shown(value: datetime) -> str:
    """A time as the pages show one: in the current time zone (the back office's is the
    operator's, the Billing panel's the account's), the zone named: "5 Dec 2026, 14:03 CET"."""
    return formats.date_format(timezone.localtime(value), "DATETIME_FORMAT")
