"""Rate decks read from CSV as carriers and billing tools publish them (pure, no database).

`deck_read(data)` reads the whole file and returns every rate, or every bad line with its
line number: one error per bad line, so the operator fixes the file in one go. The deck
import (services/decks.py) writes nothing when there is one.

What is read without being told: a header naming the columns in the common spellings
(deck_columns.py); comma, semicolon or tab as the delimiter (the header line says which);
a UTF-8 byte-order mark; CRLF; a trailing delimiter (an empty column, ignored); blank lines
and lines starting with '#'; prefixes written '+44', '0044', '44 20' (digits kept); prices
with a decimal comma in a semicolon file. Told by settings: other headers (a column map),
prices written in sub-units (`sub_units=10000`: "125" is 0.0125 per minute).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from billtone.rating.core import Tariff
from billtone.rating.deck_columns import (
    CONNECTION_FEE,
    INCREMENTS,
    INITIAL,
    PREFIX,
    RATE,
    SUBSEQUENT,
    Layout,
    layout_find,
)

PRICE_PLACES = 4  # money.RATING_PLACES, Rate.per_minute's decimal places
MAX_PRICE = Decimal("9999999999.9999")  # Rate's 14 digits, 4 of them decimals
MAX_PREFIX_DIGITS = 16  # Rate.prefix; E.164 numbers have at most 15 digits
MAX_INCREMENT = 3600
MAX_DESTINATION = 200
DEFAULT_INCREMENTS = (60, 60)

_POINT = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")
_COMMA = re.compile(r"[0-9]+,[0-9]+")
_PREFIX_SPACING = re.compile(r"[\s\-.()]")
_PLACES = Decimal(1).scaleb(-PRICE_PLACES)


@dataclass(frozen=True)
class LineError:
    line: int  # the file's line, the header being line 1 (after any blank lines above it)
    message: str

    def __str__(self) -> str:
        return f"Line {self.line}: {self.message}"


@dataclass
class DeckRead:
    """What a file held: its rates (each prefix once), or its errors."""

    tariffs: list[Tariff] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)
    rows_read: int = 0  # prefix rows, duplicates included
    duplicates: int = 0  # the same prefix again at the same price, kept once
    delimiter: str = ","
    columns: dict[str, str] = field(default_factory=dict)  # role -> header read
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on Windows saves "CSV" in the ANSI code page: destinations like "Curaçao".
        return data.decode("cp1252", errors="replace")


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def prefix_normalise(text: str) -> tuple[str, str]:
    """('44', '') from '+44', '0044', '44 20-7', or ('', why) when it is no prefix."""
    value = _PREFIX_SPACING.sub("", text)
    if not value:
        return "", "the prefix is empty"
    if value.startswith("+"):
        value = value[1:]
    elif value.startswith("00"):
        value = value[2:]
    if not value.isascii() or not value.isdigit():
        return "", f"prefix '{text.strip()}' is not digits"
    if value.startswith("0"):
        return "", f"prefix '{text.strip()}' does not start with a country code"
    if len(value) > MAX_PREFIX_DIGITS:
        return "", f"prefix '{text.strip()}' is longer than {MAX_PREFIX_DIGITS} digits"
    return value, ""


def price_parse(text: str, what: str, *, sub_units: int | None, comma: bool) -> tuple:
    """(Decimal, '') or (None, why) for a price cell; sub-units divided out."""
    value = text.strip()
    if value.startswith("-") and _POINT.fullmatch(value[1:].replace(",", ".")):
        return None, f"{what} '{value}' is negative"
    if comma and _COMMA.fullmatch(value):
        value = value.replace(",", ".")
    if not _POINT.fullmatch(value):
        return None, f"{what} '{text.strip()}' is not a number"
    price = Decimal(value)
    if sub_units:
        price /= sub_units
    if price > MAX_PRICE:  # before quantize, which a number past 28 digits would break
        return None, f"{what} '{text.strip()}' is too large"
    if price != price.quantize(_PLACES):
        unit = f" (1/{sub_units} of the currency)" if sub_units else ""
        return None, f"{what} '{text.strip()}'{unit} has more than {PRICE_PLACES} decimals"
    return price.quantize(_PLACES), ""


def _seconds(text: str, what: str) -> tuple[int | None, str]:
    value = text.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 5:
        return None, f"{what} '{value[:20]}' is not a whole number of seconds up to {MAX_INCREMENT}"
    seconds = int(value)
    if not 1 <= seconds <= MAX_INCREMENT:
        return None, f"{what} {seconds} is not between 1 and {MAX_INCREMENT} seconds"
    return seconds, ""


class _RowReader:
    """One data row of a deck -> a Tariff, or the one message naming what is wrong with it."""

    def __init__(self, layout: Layout, *, sub_units: int | None, comma: bool) -> None:
        self.layout = layout
        self.sub_units = sub_units
        self.comma = comma

    def cell(self, row: list[str], role: str) -> str:
        index = self.layout.columns.get(role)
        return row[index] if index is not None and index < len(row) else ""

    def read(self, row: list[str]) -> tuple[Tariff | None, list[str]]:
        problems = []
        if len(row) > len(self.layout.headers) and any(
            c.strip() for c in row[len(self.layout.headers) :]
        ):
            problems.append("more columns than the header")
        prefix, why = prefix_normalise(self.cell(row, PREFIX))
        problems += [why] if why else []
        rate_text = self.cell(row, RATE)
        rate, why = (None, "the rate is empty") if not rate_text.strip() else self._price(rate_text)
        problems += [why] if why else []
        fee_text = self.cell(row, CONNECTION_FEE)
        fee, why = self._price(fee_text, "connection fee") if fee_text.strip() else (Decimal(0), "")
        problems += [why] if why else []
        increments, why = self._increments(row)
        problems += [why] if why else []
        destination = " - ".join(
            row[i].strip() for i in self.layout.destinations if i < len(row) and row[i].strip()
        )
        if len(destination) > MAX_DESTINATION:
            problems.append(f"the destination is longer than {MAX_DESTINATION} characters")
        if problems:
            return None, problems
        return Tariff(prefix, destination, rate, fee, *increments), []

    def _price(self, text: str, what: str = "rate") -> tuple:
        return price_parse(text, what, sub_units=self.sub_units, comma=self.comma)

    def _increments(self, row: list[str]) -> tuple[tuple[int, int], str]:
        pair = self.cell(row, INCREMENTS).strip()
        initial_text = self.cell(row, INITIAL).strip()
        subsequent_text = self.cell(row, SUBSEQUENT).strip()
        if "/" in subsequent_text and not pair:
            pair, subsequent_text = subsequent_text, ""
        if pair:
            first, sep, then = pair.partition("/")
            then = then if sep else first  # "6" alone: 6/6
            initial, why = _seconds(first, "initial increment")
            subsequent, why2 = _seconds(then, "subsequent increment")
            return (initial, subsequent), why or why2
        if not initial_text and not subsequent_text:
            return DEFAULT_INCREMENTS, ""
        # One of the two alone: "increment 6" with no initial means 6/6.
        initial, why = _seconds(initial_text or subsequent_text, "initial increment")
        subsequent, why2 = _seconds(subsequent_text or initial_text, "subsequent increment")
        return (initial, subsequent), why or why2


def _same_price(a: Tariff, b: Tariff) -> bool:
    return (a.per_minute, a.connection_fee, a.initial_increment, a.subsequent_increment) == (
        b.per_minute,
        b.connection_fee,
        b.initial_increment,
        b.subsequent_increment,
    )


def deck_read(
    data: bytes,
    *,
    sub_units: int | None = None,
    column_map: dict[str, str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> DeckRead:
    """Every rate of a CSV rate deck, or every bad line's error (the header's included)."""
    result = DeckRead()
    lines = _decode(data).split("\n")
    skipped = 0
    while skipped < len(lines) and not lines[skipped].strip():
        skipped += 1
    if skipped == len(lines):
        result.errors.append(LineError(1, "the file is empty: a header and rates are expected"))
        return result
    result.delimiter = _delimiter(lines[skipped])
    reader = csv.reader(io.StringIO("\n".join(lines[skipped:])), delimiter=result.delimiter)
    header = next(reader)
    if header and header[0].startswith("#"):  # CGRateS comments its header: "#Id,Prefix"
        header[0] = header[0][1:]
    layout = layout_find(header, column_map)
    if isinstance(layout, str):
        result.errors.append(LineError(skipped + 1, layout))
        return result
    result.columns = {r: header[i].strip() for r, i in layout.columns.items()}
    if layout.destinations:
        result.columns["destination"] = " + ".join(header[i].strip() for i in layout.destinations)
    result.ignored_columns = layout.ignored()
    rows = _RowReader(layout, sub_units=sub_units, comma=result.delimiter != ",")
    seen: dict[str, tuple[Tariff, int]] = {}
    end = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:  # a field over csv's size limit, an unclosed quote
            result.errors.append(LineError(skipped + end + 1, f"not readable as CSV ({error})."))
            break
        line, end = skipped + end + 1, reader.line_num
        if not any(c.strip() for c in row) or row[0].lstrip().startswith("#"):
            continue
        result.rows_read += 1
        if progress is not None and result.rows_read % 5000 == 0:
            progress(result.rows_read)
        tariff, problems = rows.read(row)
        if tariff is None:
            result.errors.append(LineError(line, "; ".join(problems) + "."))
            continue
        before = seen.get(tariff.prefix)
        if before is None:
            seen[tariff.prefix] = (tariff, line)
        elif _same_price(before[0], tariff):
            result.duplicates += 1
        else:
            result.errors.append(
                LineError(
                    line,
                    f"prefix {tariff.prefix} is on lines {before[1]} and {line} at different "
                    "prices: keep one.",
                )
            )
    if not result.rows_read and not result.errors:
        result.errors.append(LineError(skipped + 1, "no rates after the header."))
    if not result.errors:
        result.tariffs = [tariff for tariff, _line in seen.values()]
    if progress is not None:
        progress(result.rows_read)
    return result
