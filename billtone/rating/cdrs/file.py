"""One CDR file read whole: its calls, the lines it could not read, and the counts.

Reading never stops at a bad line and never raises for the file's bytes: a line that
cannot be read is kept with its number, a reason and its text for the operator, and the
rest of the file is read. Only a wrong `layout` or `column_map` (the caller's settings, not
the file) raises ValueError.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from billtone.rating.cdrs.layouts import (
    ASTERISK_BY_COUNT,
    FREESWITCH,
    Columns,
    column_map_check,
    columns_by_position,
    columns_custom,
    columns_from_header,
)
from billtone.rating.cdrs.legs import Leg, leg_read, legs_merge
from billtone.rating.cdrs.lines import delimiter_guess, fields_split, lines_read
from billtone.rating.cdrs.records import CallRecord, Disposition
from billtone.rating.cdrs.values import COLUMNS, HEADER, LineError

ASTERISK = "asterisk"  # cdr_csv's Master.csv: 18 columns, or 21 with newcdrcolumns
ASTERISK_CUSTOM = "asterisk-custom"  # cdr_custom's sample Master.csv mapping, no header
CSV = "csv"  # a header naming the columns, or a column map
FREESWITCH_CSV = "freeswitch"  # mod_cdr_csv's vanilla "example" template
LAYOUTS = (ASTERISK, ASTERISK_CUSTOM, CSV, FREESWITCH_CSV)


@dataclass(frozen=True, slots=True)
class RejectedLine:
    line: int
    reason: str  # a code: columns, csv, date, number, missing, header
    message: str
    text: str


@dataclass
class CdrCounts:
    """What the file held. Every line that is not blank (and not a good header) is one of:
    a duplicate, rejected, the first leg of a record, or a leg merged into one, so
    lines == duplicates + sum(rejected) + records + legs_merged."""

    lines: int = 0
    records: int = 0
    answered: int = 0
    not_answered: dict[str, int] = field(default_factory=dict)  # by disposition
    rejected: dict[str, int] = field(default_factory=dict)  # by reason
    duplicates: int = 0  # exact copies of an earlier line, ignored
    legs_merged: int = 0  # rows folded into another row's call


@dataclass
class CdrFile:
    records: list[CallRecord]
    rejected: list[RejectedLine]
    counts: CdrCounts


class _Layout:
    """How a layout's lines become legs: fixed columns, or columns its header names."""

    def __init__(self, layout: str, column_map: dict[str, str | int] | None) -> None:
        if layout not in LAYOUTS:
            raise ValueError(f"Unknown CDR layout {layout!r}; one of: {', '.join(LAYOUTS)}.")
        self.layout = layout
        self.column_map = column_map
        self.columns: Columns | None = None
        self.header_error: LineError | None = None
        self.header_line = 0
        self.delimiter = ","
        if layout == ASTERISK_CUSTOM:
            self.columns = columns_custom(column_map)
        elif layout == CSV and column_map:
            by_position = all(isinstance(column, int) for column in column_map.values())
            column_map_check(column_map, by_position=by_position)
            if by_position:
                self.columns = columns_by_position(column_map)
        elif column_map:
            raise ValueError(f"The {layout} layout has fixed columns: no column map.")
        self.wants_header = layout == CSV and self.columns is None

    def header_take(self, text: str, *, line: int) -> bool:
        """Read the header line: False when it cannot be (the line is then rejected)."""
        self.wants_header = False
        self.header_line = line
        self.delimiter = delimiter_guess(text)
        try:
            self.columns = columns_from_header(fields_split(text, self.delimiter), self.column_map)
        except LineError as error:
            self.header_error = LineError(HEADER, error.message)
            return False
        return True

    def leg(self, text: str, *, zone: ZoneInfo, line: int) -> Leg:
        if self.header_error is not None:
            if line == self.header_line:
                raise self.header_error
            raise LineError(HEADER, f"not read: the header (line {self.header_line}) is unusable")
        fields = fields_split(text, self.delimiter)
        columns = self.columns
        if self.layout == ASTERISK:
            columns = ASTERISK_BY_COUNT.get(len(fields))
            if columns is None:
                raise LineError(
                    COLUMNS,
                    f"{len(fields)} columns where Asterisk cdr_csv writes 18 or 21 (16 without"
                    " loguniqueid and loguserfield)",
                )
        elif self.layout == FREESWITCH_CSV:
            columns = FREESWITCH
        assert columns is not None
        return leg_read(fields, columns, zone=zone, line=line)


def cdr_file_read(
    data: bytes,
    *,
    layout: str,
    switch_tz: ZoneInfo,
    column_map: dict[str, str | int] | None = None,
) -> CdrFile:
    """Read a CDR file as the switch wrote it, in the switch's time zone.

    `column_map` (role -> header name or 0-based position) is for the `csv` layout and
    overrides positions of `asterisk-custom`; roles: call_id, account_code, source,
    destination, start, answer, end, billsec, disposition.
    """
    reader = _Layout(layout, column_map)
    counts = CdrCounts()
    rejected: list[RejectedLine] = []
    legs: list[Leg] = []
    seen: set[str] = set()
    for number, text in lines_read(data):
        if reader.wants_header and reader.header_take(text, line=number):
            continue
        counts.lines += 1
        if text in seen:
            counts.duplicates += 1
            continue
        seen.add(text)
        try:
            legs.append(reader.leg(text, zone=switch_tz, line=number))
        except LineError as error:
            rejected.append(RejectedLine(number, error.code, error.message, text))
    records = legs_merge(legs)
    _count(counts, records, rejected, legs)
    return CdrFile(records=records, rejected=rejected, counts=counts)


def _count(
    counts: CdrCounts, records: list[CallRecord], rejected: list[RejectedLine], legs: list[Leg]
) -> None:
    counts.records = len(records)
    counts.legs_merged = len(legs) - len(records)
    dispositions = Counter(record.disposition for record in records)
    counts.answered = dispositions.pop(Disposition.ANSWERED, 0)
    counts.not_answered = {str(d): n for d, n in sorted(dispositions.items())}
    counts.rejected = dict(sorted(Counter(line.reason for line in rejected).items()))
