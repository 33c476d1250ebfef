"""Reads of the customer's call charges (the rated calls), always scoped to the account.

Periods are whole days in the account's time zone, both ends included, as statements are
(ledger.selectors.customer_statement_get). At most MAX_DAYS per request.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, Sum

from billtone.accounts.models import Account
from billtone.core import clock, dates
from billtone.core.errors import ValidationFailed
from billtone.core.money import Money, round_rated
from billtone.core.pagination import MAX_PAGE, MAX_PAGE_SIZE, page_check
from billtone.rating.cdr_models import Cdr, CdrStatus

MAX_DAYS = 366


@dataclass(frozen=True)
class CallCharges:
    date_from: date
    date_to: date
    timezone: str
    currency: str
    calls: int
    seconds: int
    included_seconds: int
    cost: Money
    charged: Money
    items: list[Cdr]
    page: int
    page_size: int
    count: int

    @property
    def has_next(self) -> bool:
        return self.page * self.page_size < self.count


def _window(*, account: Account, date_from: date | None, date_to: date | None):
    profile = account.billing_profile
    tz = ZoneInfo(profile.timezone)
    days = dates.days_clean(
        first=date_from,
        last=date_to,
        today=clock.now().astimezone(tz).date(),
        tz=tz,
        max_days=MAX_DAYS,
        too_long=f"Ask for at most {MAX_DAYS} days at once.",
    )
    date_from, date_to, start, end = days.first, days.last, days.start, days.end
    rows = Cdr.objects.filter(
        account=account, status=CdrStatus.RATED, started_at__gte=start, started_at__lt=end
    )
    return date_from, date_to, profile, rows


def call_charges_get(
    *,
    account: Account,
    date_from: date | None = None,
    date_to: date | None = None,
    page: int = 1,
    page_size: int = 50,
) -> CallCharges:
    """The account's rated calls started in the period, newest first, and their totals."""
    if not 1 <= page <= MAX_PAGE or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValidationFailed({"page": [f"Pages start at 1 and hold 1 to {MAX_PAGE_SIZE}."]})
    date_from, date_to, profile, rows = _window(
        account=account, date_from=date_from, date_to=date_to
    )
    totals = rows.aggregate(
        n=Count("pk"),
        seconds=Sum("billsec"),
        included=Sum("included_seconds"),
        cost=Sum("cost"),
        charged=Sum("charged"),
    )
    count = totals["n"]
    page_check(page=page, page_size=page_size, count=count)
    offset = (page - 1) * page_size
    items = list(rows.order_by("-started_at", "-pk")[offset : offset + page_size])
    currency = profile.currency
    return CallCharges(
        date_from=date_from,
        date_to=date_to,
        timezone=profile.timezone,
        currency=currency,
        calls=count,
        seconds=totals["seconds"] or 0,
        included_seconds=totals["included"] or 0,
        cost=Money(round_rated(totals["cost"] or Decimal(0)), currency),
        charged=Money(round_rated(totals["charged"] or Decimal(0)), currency),
        items=items,
        page=page,
        page_size=page_size,
        count=count,
    )


CSV_HEADER = [
    "started_at",
    "source",
    "destination",
    "destination_name",
    "billsec",
    "included_seconds",
    "per_minute",
    "connection_fee",
    "increments",
    "cost",
    "charged",
    "currency",
    "credit_short",
]


def call_charges_csv(
    *, account: Account, date_from: date | None = None, date_to: date | None = None
) -> tuple[str, Iterator[str]]:
    """A file name and the CSV lines of the period's rated calls, oldest first, times in the
    account's time zone. Refuses a bad period before any line is written."""
    date_from, date_to, profile, rows = _window(
        account=account, date_from=date_from, date_to=date_to
    )
    tz = ZoneInfo(profile.timezone)
    name = f"call-charges-{date_from.isoformat()}-{date_to.isoformat()}.csv"

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)

        def flush() -> str:
            text = buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            return text

        writer.writerow(CSV_HEADER)
        yield flush()
        for cdr in rows.order_by("started_at", "pk").iterator(chunk_size=2000):
            writer.writerow(
                [
                    cdr.started_at.astimezone(tz).isoformat(),
                    _safe(cdr.source),
                    cdr.destination_e164,
                    _safe(cdr.destination_name),
                    cdr.billsec,
                    cdr.included_seconds,
                    cdr.per_minute,
                    cdr.connection_fee,
                    f"{cdr.initial_increment}/{cdr.subsequent_increment}",
                    cdr.cost,
                    cdr.charged,
                    cdr.currency,
                    "yes" if cdr.credit_short else "no",
                ]
            )
            yield flush()

    return name, lines()


def _safe(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
