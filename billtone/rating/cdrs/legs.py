"""Rows of a CDR file (legs) and how several legs of one call become one `CallRecord`.

One call can leave several rows: the two halves of an Asterisk Local channel (`Local/...;1`
dialled by the caller, `Local/...;2` dialling out), a bridged B-leg's own row (Asterisk's
dstchannel reappearing as a channel; FreeSWITCH with legs "ab", the A-leg's bleg_uuid
being the B-leg's uuid), failover attempts of one call (Dial to one trunk fails, the next
answers: same uniqueid, and with newcdrcolumns the same linkedid). Legs sharing an id are
one call; legs sharing a channel name are one call when their times overlap (channel
names restart with the switch, so two calls an hour apart on "SIP/trunk-00000001" stay
two calls).

The billed leg is the answered one, the caller's own leg before a B-leg or a Local half;
billsec comes from that leg as written, never from the timestamps. A call nobody
answered takes its last attempt's disposition.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, tzinfo

from billtone.rating.cdrs.layouts import Columns
from billtone.rating.cdrs.records import CallRecord, Disposition
from billtone.rating.cdrs.values import (
    COLUMNS,
    MISSING,
    LineError,
    disposition_read,
    seconds_read,
    time_read,
)


@dataclass(frozen=True, slots=True)
class Leg:
    line: int
    leg_id: str  # the row's own id (uniqueid, uuid)
    call_id: str  # the id shared by the call's legs (linkedid), else leg_id
    peer_id: str  # the other leg's id (bleg_uuid)
    channel: str
    dst_channel: str
    account_code: str
    source: str
    destination: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    billsec: int
    disposition: Disposition


def leg_read(fields: list[str], columns: Columns, *, zone: tzinfo, line: int) -> Leg:
    """One row read through its layout's columns; LineError when it cannot be."""
    if columns.counts and len(fields) not in columns.counts:
        expected = " or ".join(str(count) for count in columns.counts)
        raise LineError(COLUMNS, f"{len(fields)} columns where {columns.name} writes {expected}")
    if len(fields) < columns.width:
        raise LineError(
            COLUMNS, f"{len(fields)} columns where {columns.name} needs at least {columns.width}"
        )

    def value(role: str) -> str:
        position = columns.positions.get(role)
        return "" if position is None else fields[position]

    started_at = time_read(value("start"), zone=zone, role="start")
    if started_at is None:
        raise LineError(MISSING, "the start time is empty")
    answered_at = time_read(value("answer"), zone=zone, role="answer", after=started_at)
    ended_at = time_read(value("end"), zone=zone, role="end", after=answered_at or started_at)
    if value("billsec") == "" and answered_at is None:
        billsec = 0  # a generic export may leave an unanswered call's billsec empty
    else:
        billsec = seconds_read(value("billsec"), role="billsec")
    disposition = disposition_read(value("disposition"), answered_at=answered_at, billsec=billsec)
    if disposition is not Disposition.ANSWERED:
        answered_at = None  # some setups copy the start time into an unanswered call's answer
    leg_id = value("call_id") if "call_id" in columns.positions else _leg_id_made(fields)
    if not leg_id:
        raise LineError(MISSING, "the call id is empty")
    return Leg(
        line=line,
        leg_id=leg_id,
        call_id=value("link_id") or leg_id,
        peer_id=value("peer_id"),
        channel=value("channel"),
        dst_channel=value("dst_channel"),
        account_code=value("account_code"),
        source=value("source"),
        destination=value("destination"),
        started_at=started_at,
        answered_at=answered_at,
        ended_at=ended_at,
        billsec=billsec,
        disposition=disposition,
    )


def _leg_id_made(fields: list[str]) -> str:
    """cdr_csv without loguniqueid writes no id: one made from the row, the same each time
    the row is read (channel names carry a counter, the start time the second)."""
    digest = hashlib.sha256("\x1f".join(fields).encode("utf-8", "surrogatepass")).hexdigest()
    return f"cdr-{digest[:32]}"


def _channel_key(name: str) -> str:
    """Both halves of a Local channel as one name: `Local/100@ctx-0000001a;1` and `;2`."""
    if name.startswith("Local/") and name[-2:] in (";1", ";2"):
        return name[:-2]
    return name


class _Union:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def join(self, one: int, other: int) -> None:
        one, other = self.find(one), self.find(other)
        if one != other:
            self.parent[max(one, other)] = min(one, other)


def _window_end(leg: Leg) -> float:
    start = leg.started_at.timestamp()
    return max(leg.ended_at.timestamp(), start + 1) if leg.ended_at else start + 1


def _join_by_channel(legs: list[Leg], union: _Union) -> None:
    by_channel: dict[str, list[int]] = defaultdict(list)
    for index, leg in enumerate(legs):
        for name in {_channel_key(leg.channel), _channel_key(leg.dst_channel)} - {""}:
            by_channel[name].append(index)
    for indices in by_channel.values():
        if len(indices) < 2:
            continue
        indices.sort(key=lambda i: (legs[i].started_at.timestamp(), legs[i].line))
        anchor, until = indices[0], _window_end(legs[indices[0]])
        for index in indices[1:]:
            if legs[index].started_at.timestamp() < until:
                union.join(anchor, index)
                until = max(until, _window_end(legs[index]))
            else:
                anchor, until = index, _window_end(legs[index])


def legs_merge(legs: list[Leg]) -> list[CallRecord]:
    """One CallRecord per call, in the order of each call's first line."""
    union = _Union(len(legs))
    first_with: dict[str, int] = {}
    for index, leg in enumerate(legs):
        for key in (leg.call_id, leg.leg_id, leg.peer_id):
            if key:
                union.join(first_with.setdefault(key, index), index)
    _join_by_channel(legs, union)
    calls: dict[int, list[Leg]] = defaultdict(list)
    for index, leg in enumerate(legs):
        calls[union.find(index)].append(leg)
    return [_record_of(call) for _, call in sorted(calls.items())]


def _record_of(call: list[Leg]) -> CallRecord:
    if len(call) == 1:
        (leg,) = call
        return _record(leg, leg, call)
    dialled = {_channel_key(leg.dst_channel) for leg in call} - {""}
    peers = {leg.peer_id for leg in call} - {""}

    def rank(leg: Leg) -> tuple[int, float, int]:
        other_side = (
            _channel_key(leg.channel) in dialled
            or leg.leg_id in peers
            or leg.channel.startswith("Local/")
        )
        return (int(other_side), leg.started_at.timestamp(), leg.line)

    root = min(call, key=rank)
    answered = [leg for leg in call if leg.disposition is Disposition.ANSWERED]
    if answered:
        billed = min(answered, key=rank)
    else:
        billed = max(call, key=lambda leg: (-rank(leg)[0], *rank(leg)[1:]))
    return _record(billed, root, call)


def _record(billed: Leg, root: Leg, call: list[Leg]) -> CallRecord:
    account_codes = [billed.account_code, root.account_code, *(leg.account_code for leg in call)]
    return CallRecord(
        call_id=root.call_id,
        account_code=next((code for code in account_codes if code), ""),
        source=billed.source or root.source,
        destination=billed.destination or root.destination,
        started_at=root.started_at
        if len(call) == 1
        else min((leg.started_at for leg in call), key=lambda moment: moment.timestamp()),
        answered_at=billed.answered_at,
        billsec=billed.billsec,
        disposition=billed.disposition,
        line=min(leg.line for leg in call),
    )
