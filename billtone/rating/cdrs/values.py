"""The values of one CDR line: times in the switch's zone, seconds, dispositions.

A value that cannot be read raises `LineError` with a reason code; the file reader turns it
into a rejected line and goes on with the next one.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta, tzinfo

from billtone.rating.cdrs.records import Disposition


class LineError(Exception):
    """One line that cannot be read: `code` for the counts, `message` for the operator."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# Reason codes of rejected lines.
COLUMNS = "columns"  # not the number of columns the layout writes
CSV = "csv"  # not a CSV line at all (a stray quote, a carriage return inside a field)
DATE = "date"  # a time that is not a time
NUMBER = "number"  # billsec that is not a whole number of seconds
MISSING = "missing"  # a value every record needs is empty (call id, start time)
HEADER = "header"  # a generic CSV whose header does not name the columns it needs

# How the CDR backends write "no time": cdr_csv an empty unquoted field, cdr_custom "",
# database exports MySQL's zero date.
_NO_TIME = {"", "0000-00-00 00:00:00", "0000-00-00T00:00:00", "0"}
_EPOCH_RE = re.compile(r"[0-9]{9,11}(?:\.[0-9]{1,6})?")
_EARLIEST = datetime(1970, 1, 1)
_LATEST = datetime(2200, 1, 1)


def moment_in_range(moment: datetime) -> bool:
    """Whether a call's time, as written (its wall-clock time, whatever its offset), lies
    between 1970 and 2200: a file's and the API's one rule."""
    return _EARLIEST <= moment.replace(tzinfo=None) < _LATEST


def time_read(text: str, *, zone: tzinfo, role: str, after: datetime | None = None):
    """An aware datetime from what a switch writes, or None for "no time".

    Switches write local wall-clock time without an offset ("2024-03-31 02:30:00"): the
    switch's zone is applied with fold=0, so an hour repeated when clocks go back reads as
    its first occurrence and a time in the hour skipped when they go forward reads with the
    offset before the change. A time that must not precede `after` (an answer or end time
    in the repeated hour) takes the second occurrence when the first would precede it.
    A time written with an offset ("...Z", "+01:00") or as epoch seconds keeps its instant.
    """
    value = text.strip()
    if value in _NO_TIME:
        return None
    if _EPOCH_RE.fullmatch(value):
        moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=float(value))
        return moment.astimezone(zone)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise LineError(DATE, f"the {role} time {value[:40]!r} is not a date and time") from None
    if not moment_in_range(parsed):
        raise LineError(DATE, f"the {role} time {value[:40]!r} is out of range")
    if parsed.tzinfo is not None:
        return parsed.astimezone(zone)
    moment = parsed.replace(tzinfo=zone, fold=0)
    # Aware datetimes of one zone compare by wall clock, ignoring fold: when the wall clock
    # is earlier, or `after` is a second occurrence, compare the instants.
    if (
        after is not None
        and (moment < after or after.fold)
        and moment.timestamp() < after.timestamp()
    ):
        later = parsed.replace(tzinfo=zone, fold=1)
        if later.timestamp() >= after.timestamp():
            return later
    return moment


def seconds_read(text: str, *, role: str) -> int:
    """Whole seconds, quoted or bare; a fraction (cdr_custom's `billsec,f`) counts as begun."""
    value = text.strip()
    try:
        number = float(value) if "." in value else int(value)
    except ValueError:
        number = None
    if number is None or not math.isfinite(number) or number < 0 or number >= 10**9:
        raise LineError(NUMBER, f"{role} {value[:40]!r} is not a whole number of seconds")
    return math.ceil(number)


# Asterisk's dispositions (ast_cdr_disp2str), spaces and dashes read as underscores; the
# same words in lower case are Billtone's own values.
_WORDS = {
    "ANSWERED": Disposition.ANSWERED,
    "NO_ANSWER": Disposition.NO_ANSWER,
    "NOANSWER": Disposition.NO_ANSWER,
    "BUSY": Disposition.BUSY,
    "FAILED": Disposition.FAILED,
    "CONGESTION": Disposition.CONGESTION,
    "OTHER": Disposition.OTHER,
}
# FreeSWITCH hangup causes (Q.850 names) of calls that were not answered.
_CAUSES = {
    "USER_BUSY": Disposition.BUSY,
    "NO_USER_RESPONSE": Disposition.NO_ANSWER,
    "ORIGINATOR_CANCEL": Disposition.NO_ANSWER,
    "NORMAL_CLEARING": Disposition.NO_ANSWER,  # ended normally, but never answered
    "NORMAL_CIRCUIT_CONGESTION": Disposition.CONGESTION,
    "SWITCH_CONGESTION": Disposition.CONGESTION,
    "NETWORK_OUT_OF_ORDER": Disposition.CONGESTION,
    "RECOVERY_ON_TIMER_EXPIRE": Disposition.CONGESTION,
}
_CAUSE_RE = re.compile(r"[A-Z][A-Z0-9_]*")


def disposition_read(text: str, *, answered_at: datetime | None, billsec: int) -> Disposition:
    """Asterisk's words as written; a FreeSWITCH hangup cause by the call's answer.

    A call with an answer time and billsec > 0 was answered whatever its hangup cause
    (NORMAL_CLEARING usually, but a long call cut by MEDIA_TIMEOUT was answered too); else
    USER_BUSY is busy, NO_ANSWER / NO_USER_RESPONSE / ORIGINATOR_CANCEL no answer, the
    congestion causes congestion, any other cause failed, and an empty one no answer.
    Anything else (Asterisk's "UNKNOWN") is "other".
    """
    word = text.strip().upper().replace(" ", "_").replace("-", "_")
    if word in _WORDS:
        return _WORDS[word]
    if answered_at is not None and billsec > 0:
        return Disposition.ANSWERED
    if not word:
        return Disposition.NO_ANSWER
    if word in _CAUSES:
        return _CAUSES[word]
    return Disposition.FAILED if _CAUSE_RE.fullmatch(word) and "_" in word else Disposition.OTHER
