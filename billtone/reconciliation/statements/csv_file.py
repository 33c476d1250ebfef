"""Bank statements exported as CSV, read through a column map.

Every bank's CSV differs, so the operator describes theirs once as a `CsvColumnMap`
(columns by header name). The file is read row by row; a missing column is an error on
the header line, a bad amount or date an error on its row's line.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import BinaryIO

from billtone.reconciliation.statements.entries import (
    CURRENCY_RE,
    StatementEntry,
    StatementFormatError,
    StatementSummary,
    Tally,
    bom_encoding,
    iban_like,
)


@dataclass(frozen=True)
class CsvColumnMap:
    """Which column of the bank's CSV holds what, and how values are written.

    Direction, one of three ways: `credit_debit` names a column whose values are matched
    against `credit_values`/`debit_values` (amounts then taken as absolute); or
    `credit_amount` and `debit_amount` name two columns of which a row fills one; or the
    sign of `amount` (positive is a credit, unless `negative_is_credit`).
    """

    booking_date: str
    amount: str = ""
    credit_amount: str = ""
    debit_amount: str = ""
    credit_debit: str = ""
    credit_values: tuple[str, ...] = ("C", "CR", "CRDT", "CREDIT", "H", "HABEN")
    debit_values: tuple[str, ...] = ("D", "DR", "DBIT", "DEBIT", "S", "SOLL")
    negative_is_credit: bool = False
    currency: str = ""  # column; or `default_currency` for files in one currency
    default_currency: str = ""
    value_date: str = ""
    date_format: str = "%Y-%m-%d"
    payer_name: str = ""
    payer_iban: str = ""
    reference: str = ""
    free_text: tuple[str, ...] = ()  # one or more columns, joined by line breaks
    entry_id: str = ""
    delimiter: str = ","
    decimal_comma: bool = False
    encoding: str = "utf-8-sig"
    skip_lines: int = 0  # lines before the header (bank name, account, period ...)
    account_iban: str = ""  # CSV exports rarely name the account; say which it is
    statement_id: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.free_text, str):
            object.__setattr__(self, "free_text", (self.free_text,) if self.free_text else ())
        problems = []
        if not self.booking_date:
            problems.append("a booking date column is required")
        if bool(self.amount) == bool(self.credit_amount or self.debit_amount):
            problems.append("give either an amount column or credit and debit amount columns")
        if bool(self.credit_amount) != bool(self.debit_amount):
            problems.append("credit and debit amount columns go together")
        if not self.currency and not CURRENCY_RE.fullmatch(self.default_currency):
            problems.append("give a currency column or a default currency (ISO 4217)")
        if len(self.delimiter) != 1:
            problems.append("the delimiter is one character")
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            problems.append(f"unknown encoding {self.encoding!r}")
        if problems:
            raise ValueError("Invalid CSV column map: " + "; ".join(problems) + ".")

    def columns(self) -> dict[str, str]:
        """Role -> header name, for every column the map uses."""
        roles = {
            "booking date": self.booking_date,
            "amount": self.amount,
            "credit amount": self.credit_amount,
            "debit amount": self.debit_amount,
            "credit/debit": self.credit_debit,
            "currency": self.currency,
            "value date": self.value_date,
            "payer name": self.payer_name,
            "payer IBAN": self.payer_iban,
            "reference": self.reference,
            "entry id": self.entry_id,
        }
        roles.update({f"free text {i + 1}": c for i, c in enumerate(self.free_text)})
        return {role: column for role, column in roles.items() if column}


# Thousands separators only in groups of three: "1.234,56" yes, "12,5.0" no.
_COMMA_DECIMAL_RE = re.compile(r"(?:[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+)(?:,[0-9]+)?")
_POINT_DECIMAL_RE = re.compile(r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?")


def parse_amount(text: str, *, decimal_comma: bool) -> Decimal | None:
    """A signed Decimal from "1.234,56-", "-1,234.56", "+12" ...; None when it is none."""
    value = text.strip().replace(" ", "").replace("\u00a0", "").replace("'", "")
    sign = 1
    if value[-1:] in ("+", "-") and value:
        sign = -1 if value[-1] == "-" else 1
        value = value[:-1]
    elif value[:1] in ("+", "-") and value:
        sign = -1 if value[0] == "-" else 1
        value = value[1:]
    if decimal_comma:
        if not _COMMA_DECIMAL_RE.fullmatch(value):
            return None
        value = value.replace(".", "").replace(",", ".")
    else:
        if not _POINT_DECIMAL_RE.fullmatch(value):
            return None
        value = value.replace(",", "")
    return sign * Decimal(value)


def read_csv(
    stream: BinaryIO,
    name: str,
    on_statement: Callable[[StatementSummary], None],
    *,
    columns: CsvColumnMap,
) -> Iterator[StatementEntry]:
    """Yield the rows of a CSV statement as entries; the file is one statement, in the map's
    encoding unless a byte-order mark says another."""
    encoding = bom_encoding(stream.read(4)) or columns.encoding
    stream.seek(0)  # StatementStream hands a stream that rewinds
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    try:
        yield from _read(text, name, on_statement, columns)
    finally:
        text.detach()  # the caller's file stays open


def _read(
    text: io.TextIOWrapper,
    name: str,
    on_statement: Callable[[StatementSummary], None],
    columns: CsvColumnMap,
) -> Iterator[StatementEntry]:
    reader = csv.reader(_lines(text, name, columns), delimiter=columns.delimiter)
    header_line = columns.skip_lines + 1
    try:
        header = [cell.strip() for cell in next(reader)]
    except StopIteration:
        raise StatementFormatError(name, "the file is empty.", line=header_line) from None
    index = {column: i for i, column in enumerate(header) if column}
    for role, column in columns.columns().items():
        if column not in index:
            raise StatementFormatError(
                name,
                f"the {role} column {column!r} is missing (the header has: "
                f"{', '.join(repr(h) for h in header)}).",
                line=header_line,
            )
    account = iban_like(columns.account_iban)
    tally = Tally(
        statement_id=columns.statement_id,
        account_iban=account,
        account_id=account or columns.account_iban.strip(),
        currency=columns.default_currency,
        position="the whole file",
    )
    number = 0
    for row in reader:
        line = header_line + reader.line_num - 1
        if not any(cell.strip() for cell in row):
            continue
        number += 1
        entry = _entry(row, index, columns, tally, name, number, line, len(header))
        tally.add(entry)
        yield entry
    on_statement(tally.summary())


def _lines(text: io.TextIOWrapper, name: str, columns: CsvColumnMap) -> Iterator[str]:
    try:
        for line, content in enumerate(text, start=1):
            if line > columns.skip_lines:
                yield content
    except UnicodeDecodeError:
        raise StatementFormatError(
            name,
            f"the text is not {text.encoding}.",
            line=_undecodable_line(text.buffer, text.encoding),
        ) from None


def _undecodable_line(stream: BinaryIO, encoding: str) -> int | None:
    """The line of the first bytes `encoding` cannot read. The text is decoded by the chunk,
    so the error says nothing of lines: the file is read again, a line at a time."""
    try:
        stream.seek(0)
    except (OSError, ValueError):
        return None
    decoder = codecs.getincrementaldecoder(encoding)()
    line = 1
    for raw in stream:
        try:
            line += decoder.decode(raw).count("\n")
        except UnicodeDecodeError as error:
            before = error.object[: error.start]
            return line + before.decode(encoding, errors="replace").count("\n")
    return None


def _entry(
    row: list[str],
    index: dict[str, int],
    columns: CsvColumnMap,
    tally: Tally,
    name: str,
    number: int,
    line: int,
    width: int,
) -> StatementEntry:
    where = f"row {number}"

    def cell(column: str) -> str:
        if not column:
            return ""
        i = index[column]
        return row[i].strip() if i < len(row) else ""

    def fail(message: str):
        return StatementFormatError(name, message, line=line, where=where)

    if len(row) < width and any(index[c] >= len(row) for c in columns.columns().values()):
        raise fail(f"the row has {len(row)} fields, the header {width}.")

    def amount_of(column: str) -> Decimal | None:
        text = cell(column)
        if not text:
            return None
        value = parse_amount(text, decimal_comma=columns.decimal_comma)
        if value is None:
            raise fail(f"the {column!r} value {text!r} is not an amount.")
        return value

    amount, is_credit = _amount_and_direction(columns, cell, amount_of, fail)

    currency = cell(columns.currency).upper() or columns.default_currency
    if not CURRENCY_RE.fullmatch(currency):
        raise fail(f"the currency {currency!r} is not an ISO 4217 code.")

    def date_of(column: str) -> date | None:
        text = cell(column)
        if not text:
            return None
        try:
            return datetime.strptime(text, columns.date_format).date()
        except ValueError:
            raise fail(
                f"the {column!r} value {text!r} is not a date like {columns.date_format}."
            ) from None

    booking_date = date_of(columns.booking_date)
    if booking_date is None:
        raise fail(f"the {columns.booking_date!r} column is empty.")
    return StatementEntry(
        amount=amount,
        currency=currency,
        is_credit=is_credit,
        booking_date=booking_date,
        value_date=date_of(columns.value_date),
        counterparty_name=cell(columns.payer_name),
        counterparty_iban=cell(columns.payer_iban).replace(" ", "").upper(),
        structured_reference=cell(columns.reference),
        free_text="\n".join(t for c in columns.free_text if (t := cell(c))),
        bank_reference=cell(columns.entry_id),
        account_iban=tally.account_iban,
        account_id=tally.account_id,
        statement_id=tally.statement_id,
        entry_number=number,
        line=line,
        position=f"row {number} (line {line})",
    )


def _amount_and_direction(
    columns: CsvColumnMap,
    cell: Callable[[str], str],
    amount_of: Callable[[str], Decimal | None],
    fail: Callable[[str], StatementFormatError],
) -> tuple[Decimal, bool]:
    """The row's amount (positive) and whether it is a credit: from one signed amount column,
    marked credit or debit by another column or by its sign, or from a credit column and a
    debit column."""
    if columns.amount:
        signed = amount_of(columns.amount)
        if signed is None:
            raise fail(f"the {columns.amount!r} column is empty.")
        if columns.credit_debit:
            mark = cell(columns.credit_debit).upper()
            if mark in (v.upper() for v in columns.credit_values):
                is_credit = True
            elif mark in (v.upper() for v in columns.debit_values):
                is_credit = False
            else:
                raise fail(
                    f"the {columns.credit_debit!r} value {mark!r} is neither credit nor debit."
                )
        else:
            is_credit = (signed < 0) == columns.negative_is_credit
        amount = abs(signed)
    else:
        credit = amount_of(columns.credit_amount)
        debit = amount_of(columns.debit_amount)
        if credit and debit:
            raise fail("the row has both a credit and a debit amount.")
        if credit is None and debit is None:
            raise fail("the row has neither a credit nor a debit amount.")
        is_credit = bool(credit) or debit is None
        amount = abs(credit if is_credit else debit)  # type: ignore[arg-type]
    return amount, is_credit
