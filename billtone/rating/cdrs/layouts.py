"""Which column holds what, for each layout a switch writes.

A `Columns` maps roles to 0-based column positions. Roles: `call_id` (the switch's id of
the leg: uniqueid, uuid), `link_id` (an id shared by every leg of the call: Asterisk's
linkedid), `peer_id` (the id of the other leg: FreeSWITCH's bleg_uuid), `channel` and
`dst_channel` (Asterisk's channel names, to pair Local channel halves and bridged legs),
`account_code`, `source`, `destination`, `start`, `answer`, `end`, `billsec`,
`disposition`.
"""

from __future__ import annotations

from dataclasses import dataclass

from billtone.rating.cdrs.values import HEADER, LineError

ROLES = (
    "call_id",
    "link_id",
    "peer_id",
    "channel",
    "dst_channel",
    "account_code",
    "source",
    "destination",
    "start",
    "answer",
    "end",
    "billsec",
    "disposition",
)
REQUIRED = ("call_id", "destination", "start", "billsec")
MAPPABLE = (
    "call_id",
    "account_code",
    "source",
    "destination",
    "start",
    "answer",
    "end",
    "billsec",
    "disposition",
)


@dataclass(frozen=True)
class Columns:
    positions: dict[str, int]
    counts: tuple[int, ...] = ()  # the column counts a line may have; () for "enough"
    name: str = ""

    @property
    def width(self) -> int:
        return max(self.positions.values()) + 1


# cdr_csv's build_csv_record: accountcode, src, dst, dcontext, clid, channel, dstchannel,
# lastapp, lastdata, start, answer, end, duration, billsec, disposition, amaflags, then
# uniqueid (loguniqueid) and userfield (loguserfield) -- both "yes" in the sample cdr.conf,
# hence 18 columns -- then peeraccount, linkedid, sequence with newcdrcolumns (21).
_ASTERISK = {
    "account_code": 0,
    "source": 1,
    "destination": 2,
    "channel": 5,
    "dst_channel": 6,
    "start": 9,
    "answer": 10,
    "end": 11,
    "billsec": 13,
    "disposition": 14,
}
ASTERISK_16 = Columns(_ASTERISK, (16,), "Asterisk cdr_csv without uniqueid")
ASTERISK_18 = Columns({**_ASTERISK, "call_id": 16}, (18,), "Asterisk cdr_csv")
ASTERISK_21 = Columns(
    {**_ASTERISK, "call_id": 16, "link_id": 19}, (21,), "Asterisk cdr_csv with newcdrcolumns"
)
ASTERISK_BY_COUNT = {16: ASTERISK_16, 18: ASTERISK_18, 21: ASTERISK_21}

# cdr_custom.conf.sample's Master.csv mapping: clid, src, dst, dcontext, channel,
# dstchannel, lastapp, lastdata, start, answer, end, duration, billsec, disposition,
# amaflags, accountcode, uniqueid, userfield, sequence -- no header line.
ASTERISK_CUSTOM = Columns(
    {
        "source": 1,
        "destination": 2,
        "channel": 4,
        "dst_channel": 5,
        "start": 8,
        "answer": 9,
        "end": 10,
        "billsec": 12,
        "disposition": 13,
        "account_code": 15,
        "call_id": 16,
    },
    (),
    "Asterisk cdr_custom",
)

# mod_cdr_csv's vanilla template (cdr_csv.conf.xml, default-template "example"):
# caller_id_name, caller_id_number, destination_number, context, start_stamp,
# answer_stamp, end_stamp, duration, billsec, hangup_cause, uuid, bleg_uuid, accountcode,
# read_codec, write_codec; the older 13-column form stops at accountcode, and templates
# that append fields keep these first ones.
FREESWITCH = Columns(
    {
        "source": 1,
        "destination": 2,
        "start": 4,
        "answer": 5,
        "end": 6,
        "billsec": 8,
        "disposition": 9,
        "call_id": 10,
        "peer_id": 11,
        "account_code": 12,
    },
    (),
    "FreeSWITCH cdr_csv",
)

# Header spellings read without a column map (lower case, spaces and dashes as "_").
HEADER_NAMES = {
    "call_id": ("call_id", "callid", "uniqueid", "unique_id", "uuid", "id", "cdr_id"),
    "link_id": ("linkedid", "linked_id"),
    "peer_id": ("bleg_uuid",),
    "channel": ("channel",),
    "dst_channel": ("dstchannel", "dst_channel", "destination_channel"),
    "account_code": ("account_code", "accountcode", "account", "acctcode"),
    "source": ("source", "src", "caller", "caller_id_number", "calling", "from", "ani"),
    "destination": (
        "destination",
        "dst",
        "destination_number",
        "called",
        "callee",
        "dialled",
        "dialed",
        "to",
        "number",
    ),
    "start": ("start", "start_time", "start_stamp", "starttime", "calldate", "call_date"),
    "answer": ("answer", "answer_time", "answer_stamp", "answertime"),
    "end": ("end", "end_time", "end_stamp", "endtime"),
    "billsec": ("billsec", "bill_sec", "billable_seconds", "billable", "billsecs"),
    "disposition": ("disposition", "status", "hangup_cause", "result"),
}


def _spelling(text: str) -> str:
    return text.strip().lower().replace(" ", "_").replace("-", "_")


def column_map_check(column_map: dict[str, str | int], *, by_position: bool) -> None:
    """ValueError naming what is wrong with an operator's column map."""
    problems = []
    for role, column in column_map.items():
        if role not in MAPPABLE:
            problems.append(f"unknown role {role!r} (roles: {', '.join(MAPPABLE)})")
        elif isinstance(column, bool) or not isinstance(column, int | str):
            problems.append(f"{role}: give a column name or a position")
        elif isinstance(column, int) and column < 0:
            problems.append(f"{role}: positions count from 0")
        elif by_position and not isinstance(column, int):
            problems.append(f"{role}: this layout has no header, give a position")
        elif isinstance(column, str) and not column.strip():
            problems.append(f"{role}: the column name is empty")
    if problems:
        raise ValueError("Invalid CDR column map: " + "; ".join(problems) + ".")


def columns_custom(column_map: dict[str, str | int] | None) -> Columns:
    """cdr_custom's sample mapping, with the operator's positions over it."""
    if not column_map:
        return ASTERISK_CUSTOM
    column_map_check(column_map, by_position=True)
    positions = {**ASTERISK_CUSTOM.positions, **column_map}
    return Columns(positions, (), "Asterisk cdr_custom (column map)")


def columns_from_header(header: list[str], column_map: dict[str, str | int] | None) -> Columns:
    """The columns a generic CSV's header names: the map's names first, else the spellings.

    Raises LineError(HEADER) naming the roles it cannot find.
    """
    spelled = {_spelling(name): index for index, name in reversed(list(enumerate(header)))}
    positions: dict[str, int] = {}
    missing = []
    for role in ROLES:
        wanted = (column_map or {}).get(role)
        if isinstance(wanted, int):
            positions[role] = wanted
        elif isinstance(wanted, str):
            if _spelling(wanted) in spelled:
                positions[role] = spelled[_spelling(wanted)]
            else:
                missing.append(f"{role} ({wanted!r})")
        else:
            found = [spelled[n] for n in HEADER_NAMES[role] if n in spelled]
            if found:
                positions[role] = found[0]
            elif role in REQUIRED:
                missing.append(role)
    if missing:
        raise LineError(
            HEADER,
            "the header does not name the columns for "
            + ", ".join(missing)
            + " (give a column map)",
        )
    return Columns(positions, (), "CSV")


def columns_by_position(column_map: dict[str, str | int]) -> Columns:
    """A generic CSV without a header: every role by position; raises ValueError if short."""
    missing = [role for role in REQUIRED if role not in column_map]
    if missing:
        raise ValueError("Invalid CDR column map: no position for " + ", ".join(missing) + ".")
    return Columns({role: int(column) for role, column in column_map.items()}, (), "CSV")
