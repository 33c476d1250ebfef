"""Helpers for the CDR file tests: read a fixture or bytes, build a cdr_csv line."""

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from billtone.rating.cdrs import CdrFile, cdr_file_read

DATA = Path(__file__).parent / "data"
BERLIN = ZoneInfo("Europe/Berlin")


def read(name_or_bytes, layout="asterisk", zone=BERLIN, column_map=None) -> CdrFile:
    data = (
        name_or_bytes if isinstance(name_or_bytes, bytes) else (DATA / name_or_bytes).read_bytes()
    )
    return cdr_file_read(data, layout=layout, switch_tz=zone, column_map=column_map)


def accounted(cdrs: CdrFile) -> bool:
    c = cdrs.counts
    return c.lines == c.duplicates + sum(c.rejected.values()) + c.records + c.legs_merged


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# One cdr_csv row (18 columns, loguniqueid and loguserfield) with the values a test varies.
def asterisk_line(
    uniqueid="1710234902.18",
    dst="00442071234567",
    start='"2024-03-12 09:15:02"',
    answer='"2024-03-12 09:15:09"',
    billsec="124",
    disposition="ANSWERED",
    channel="",
    end='"2024-03-12 09:17:13"',
) -> str:
    """Each line its own channels unless told (names are unique while a channel lives)."""
    channel = channel or f"SIP/201-{uniqueid}"
    return (
        f'"acme","201","{dst}","from-internal","""Alice"" <201>","{channel}",'
        f'"SIP/trunk-{uniqueid}","Dial","SIP/trunk/{dst},300,Tt",{start},{answer},'
        f'{end},131,{billsec},"{disposition}","DOCUMENTATION","{uniqueid}",""'
    )
