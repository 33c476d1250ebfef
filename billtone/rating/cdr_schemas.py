from datetime import UTC, datetime
from typing import Annotated

from ninja import Field, Schema
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, StrictInt

from billtone.core.pagination import MAX_PAGE, MAX_PAGE_SIZE
from billtone.core.schemas import IsoDate
from billtone.rating.cdrs.records import Disposition
from billtone.rating.cdrs.values import moment_in_range

MAX_BATCH = 1000


def _written(value: object) -> object:
    """A moment comes as RFC 3339 text, never as a number read as seconds since 1970."""
    if value is not None and not isinstance(value, str):
        raise ValueError("Write the moment as RFC 3339 text, e.g. 2026-12-05T10:15:00+01:00.")
    return value


def _in_range(value: datetime) -> datetime:
    """A moment between 1970 and 2200 as a CDR file's (`moment_in_range`), kept as its instant
    in UTC: RFC 3339 allows offsets up to ±23:59, which PostgreSQL does not store (±15:59)."""
    if not moment_in_range(value):
        raise ValueError("A call's moment lies between 1970 and 2200.")
    return value.astimezone(UTC)


Moment = Annotated[AwareDatetime, BeforeValidator(_written), AfterValidator(_in_range)]
MAX_BILLSEC = 7 * 24 * 3600


class CdrIn(Schema):
    call_id: str = Field(min_length=1, max_length=255, description="the switch's unique id")
    account_code: str = Field(max_length=80, description="the account's id")
    source: str = Field("", max_length=80, description="the caller's extension or number")
    destination: str = Field(max_length=255, description="the number as dialled")
    started_at: Moment
    answered_at: Moment | None = None
    billsec: StrictInt = Field(ge=0, le=MAX_BILLSEC, description="seconds billed by the switch")
    disposition: Disposition


CdrBatchIn = Annotated[list[CdrIn], Field(min_length=1, max_length=MAX_BATCH)]


class IngestOut(Schema):
    batch_id: int
    records_read: int
    answered: int
    rated: int
    not_rated: int
    rejected: int
    rejected_by_reason: dict[str, int]
    duplicates: int


class CallChargesQuery(Schema):
    date_from: IsoDate | None = Field(
        None, alias="from", description="first day; default: the 1st of the month of `to`"
    )
    date_to: IsoDate | None = Field(None, alias="to", description="last day; default: today")
    page: int = Field(1, ge=1, le=MAX_PAGE)
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


class MoneyOut(Schema):
    amount: str
    currency: str


class CallChargeOut(Schema):
    id: int
    started_at: datetime
    source: str
    destination: str = Field(description="E.164")
    destination_name: str
    billsec: int
    included_seconds: int
    per_minute: str
    connection_fee: str
    increments: str = Field(description="initial/subsequent seconds, e.g. 60/60")
    cost: str
    charged: str = Field(description="what the call credit paid; less when it ran out")
    credit_short: bool


class CallChargesOut(Schema):
    date_from: str = Field(alias="from")
    date_to: str = Field(alias="to")
    timezone: str
    currency: str
    calls: int
    seconds: int
    included_seconds: int
    cost: MoneyOut
    charged: MoneyOut
    items: list[CallChargeOut]
    page: int
    page_size: int
    count: int
    has_next: bool


class AuthorizeQuery(Schema):
    account: str = Field(max_length=80, description="the account's id (the switch's accountcode)")
    destination: str = Field(max_length=255, description="the number as dialled")
    user: str = Field("", max_length=80, description="the caller's extension")
    call_id: str = Field("", max_length=255, description="the switch's id for the call")


class AuthorizeOut(Schema):
    allowed: bool
    max_seconds: int
    reason: str = Field(
        description="why not allowed (suspended, not_a_number, no_rate, no_credit), "
        "or emergency; empty otherwise"
    )
    destination: str
    destination_name: str
    prefix: str
    per_minute: str | None
    connection_fee: str | None
    increments: str | None
    currency: str
    held: str
    included_seconds: int
