"""What one auto top-up is, decided without the database (issue 19 item 4, decision 0026)."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo


def top_up_steps(*, credit: Decimal, threshold: Decimal, value: Decimal) -> int:
    """The fewest whole steps of `value` that take `credit` above `threshold` (0 when it is
    not below the threshold): one payment, never one per step."""
    if value <= 0:
        raise ValueError("A top-up step is worth more than zero.")
    if credit >= threshold:
        return 0
    return int((threshold - credit) // value) + 1


def period_starts(*, at: datetime, timezone: str) -> tuple[datetime, datetime]:
    """The start of `at`'s day and month in the account's time zone (the caps count from
    them)."""
    local = at.astimezone(ZoneInfo(timezone or "UTC"))
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return day, day.replace(day=1)


def retry_due(*, last_failed_at: datetime | None, at: datetime, wait: timedelta) -> bool:
    """After a failed top-up the next try waits `wait`: each CDR batch would otherwise
    charge a declining card again at once."""
    return last_failed_at is None or at - last_failed_at >= wait
