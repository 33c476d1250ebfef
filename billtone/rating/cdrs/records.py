"""The one shape every CDR reader produces and the ingestion consumes."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Disposition(StrEnum):
    """How the call ended, as switches spell it (Asterisk's ANSWERED, NO ANSWER, BUSY, FAILED,
    CONGESTION; FreeSWITCH's hangup causes mapped onto these)."""

    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"
    CONGESTION = "congestion"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One call, as billed: several rows of one call (Local channel halves, B-legs, failover
    attempts) are merged into one record by the reader before it gets here.

    `call_id` is the switch's unique id for the call (Asterisk's linkedid or uniqueid,
    FreeSWITCH's uuid): re-sending a record with the same id never charges twice.
    `account_code` and `source` say whose call it is (the switch's accountcode, the caller's
    extension or number), `destination` is the number as dialled (not yet E.164),
    `billsec` the seconds the switch billed (taken from the record, never re-derived from the
    timestamps). Times are aware datetimes (the switch's time zone applied by the reader).
    `line` is the first line of the file the record came from (0 when it came from the API).
    """

    call_id: str
    account_code: str
    source: str
    destination: str
    started_at: datetime
    answered_at: datetime | None
    billsec: int
    disposition: Disposition
    line: int = 0
