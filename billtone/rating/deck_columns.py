"""Which column of a rate deck holds what: the headers carriers and billing tools write, read
without a map, and the operator's column map for the others (pure, no database)."""

from __future__ import annotations

import re
from dataclasses import dataclass

PREFIX = "prefix"
DESTINATION = "destination"
RATE = "rate"
CONNECTION_FEE = "connection_fee"
INITIAL = "initial_increment"
SUBSEQUENT = "subsequent_increment"
INCREMENTS = "increments"  # one column holding both: "60/60", "30/6", "1/1"
ROLES = (PREFIX, DESTINATION, RATE, CONNECTION_FEE, INITIAL, SUBSEQUENT, INCREMENTS)

# Headers as they are written (after `header_key`: lower case, words only, anything in
# brackets dropped, so "Price / min", "Rate (USD)" and "Dial-Code" read as "price min",
# "rate", "dial code"). Sources: carrier and switch-billing exports (ASTPP/iNextrix "Code,
# Destination, Connect Cost, Per Minute Cost, Initial Increment, Increment", JeraSoft "Code,
# Code Name, Rate, SF, Min, Int", Kazoo "prefix, rate_cost, rate_increment, rate_minimum,
# rate_surcharge", A-Z wholesale decks "Dial Code, Country, Rate/Min, Billing Increment").
ALIASES: dict[str, frozenset[str]] = {
    PREFIX: frozenset(
        {
            "prefix",
            "code",
            "dial code",
            "dialcode",
            "dialing code",
            "dial prefix",
            "destination prefix",
            "destination code",
            "area code",
            "number prefix",
        }
    ),
    DESTINATION: frozenset(
        {
            "destination",
            "destination name",
            "country",
            "country name",
            "description",
            "name",
            "code name",
            "zone",
        }
    ),
    RATE: frozenset(
        {
            "rate",
            "price",
            "cost",
            "per minute",
            "rate per minute",
            "price per minute",
            "cost per minute",
            "per minute rate",
            "per minute cost",
            "per minute price",
            "rate min",
            "price min",
            "cost min",
            "rate cost",
            "minute rate",
        }
    ),
    CONNECTION_FEE: frozenset(
        {
            "connection fee",
            "connection",
            "connection cost",
            "connection charge",
            "connect",
            "connect fee",
            "connect cost",
            "setup fee",
            "setup",
            "setup cost",
            "sf",
            "rate surcharge",
        }
    ),
    INITIAL: frozenset(
        {
            "initial",
            "initial increment",
            "initial interval",
            "first interval",
            "first increment",
            "min duration",
            "minimum duration",
            "min time",
            "min",
            "rate minimum",
        }
    ),
    SUBSEQUENT: frozenset(
        {
            "subsequent",
            "subsequent increment",
            "subsequent interval",
            "next interval",
            "next increment",
            "increment",
            "interval",
            "int",
            "rate increment",
        }
    ),
    INCREMENTS: frozenset(
        {"increments", "billing increment", "billing increments", "billing interval", "billing"}
    ),
}
_ROLE_BY_ALIAS = {alias: role for role, aliases in ALIASES.items() for alias in aliases}


def header_key(header: str) -> str:
    """A header as `ALIASES` writes it: 'Price / Min (USD)' -> 'price min'."""
    text = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", header.lower())
    return " ".join(re.findall(r"[a-z0-9]+", text))


class ColumnMapError(ValueError):
    """A column map that cannot be read: the message says why."""


def column_map_parse(text: str) -> dict[str, str]:
    """'prefix=Code, rate=Price' -> {'prefix': 'Code', 'rate': 'Price'}; roles as in ROLES
    (also 'connection fee', 'initial', 'subsequent' as short forms)."""
    short = {
        "connection": CONNECTION_FEE,
        "connection fee": CONNECTION_FEE,
        "initial": INITIAL,
        "subsequent": SUBSEQUENT,
        "increment": INCREMENTS,
    }
    mapping: dict[str, str] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        role, sep, header = (piece.strip() for piece in item.partition("="))
        role = role.lower().replace("-", " ")
        role = short.get(role, role.replace(" ", "_"))
        if not sep or not header:
            raise ColumnMapError(f"'{item}' is not role=Header.")
        if role not in ROLES:
            raise ColumnMapError(f"unknown role '{role}': use {', '.join(ROLES)}.")
        mapping[role] = header
    return mapping


@dataclass(frozen=True)
class Layout:
    """Where each role is in a deck's rows: column indexes (destination may join several:
    'Country' and 'Description' together name the destination)."""

    columns: dict[str, int]
    destinations: tuple[int, ...]
    headers: tuple[str, ...]

    def used(self) -> set[int]:
        return {*self.columns.values(), *self.destinations}

    def ignored(self) -> list[str]:
        used = self.used()
        return [h for i, h in enumerate(self.headers) if i not in used and h.strip()]


def layout_find(headers: list[str], column_map: dict[str, str] | None) -> Layout | str:
    """Each role's column, by the map first, then by the common spellings; a string saying
    what is wrong when the header does not have what a deck needs."""
    column_map = column_map or {}
    by_name = {h.strip().lower(): i for i, h in reversed(list(enumerate(headers)))}
    columns: dict[str, int] = {}
    destinations: list[int] = []
    problems = []
    for role, header in column_map.items():
        index = by_name.get(header.strip().lower())
        if index is None:
            problems.append(f"the map's {role} column '{header}' is not in the header")
        elif role == DESTINATION:
            destinations.append(index)
        else:
            columns[role] = index
    mapped = set(columns.values()) | set(destinations)
    for index, header in enumerate(headers):
        role = _ROLE_BY_ALIAS.get(header_key(header))
        if role is None or role in column_map or index in mapped:
            continue
        if role == DESTINATION:
            destinations.append(index)
        elif role in columns:
            first = headers[columns[role]].strip()
            problems.append(
                f"both '{first}' and '{header.strip()}' read as the {role.replace('_', ' ')}: "
                f"say which with a column map ({role}=...)"
            )
        else:
            columns[role] = index
    for role in (PREFIX, RATE):
        if role not in columns and not any(role in p for p in problems):
            problems.append(
                f"no {role} column (the header has "
                f"{', '.join(repr(h.strip()) for h in headers if h.strip()) or 'nothing'}): "
                f"name it with a column map ({role}=...)"
            )
    if problems:
        return "; ".join(problems) + "."
    return Layout(columns, tuple(destinations), tuple(headers))
