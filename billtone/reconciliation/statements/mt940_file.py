"""SWIFT MT940 statements, read with the `mt-940` package one statement at a time.

The file is read line by line and cut into statements at each :20: tag, so a large file is
never held whole; each statement goes through mt940's parser on its own, which keeps its
account, balances and line numbers apart from the next one's. Before that, the lines are
cleaned of what real exports add around and inside the SWIFT text:

- {1:}{2:}{4: envelopes and -} trailers, header lines before the first :20: (":940:");
- single-line fields wrapped onto the next line (":28C:0000" + "0");
- a :61: longer than one line: its second and later lines are the supplementary details;
- an :86: after the closing balance, which is about the statement, not the last entry;
- amounts written with a decimal point instead of SWIFT's comma (old Rabobank exports:
  ":61:030109C000000000300.00NMSC...", ":60F:C030106EUR000000000000.00");
- a space before the :61: transaction type (":61:2006080608D12,35 NRTIKREF+", Commerzbank
  and Deutsche Bank), and a :28C: without its statement number (":28C: /1", Zenith Bank).

A statement needs its :25: account, an opening :60F:/:60M: and a closing :62F:/:62M:
balance. One that ends with an intermediate :62M: is normally continued by the next :20:;
when the file ends there (ABN AMRO, Knab and Deutsche Bank exports do), its entries are
read and the statement carries a problem saying that its rest is not in this file.

Every :61: line is one entry: mt940 files a :61: without a transaction type code into the
previous entry (which would lose that one silently), so each line here gets a placeholder
code, and the number of entries read is checked against the number of :61: lines. The :86:
details are kept raw in `details` and read by mt940_details.py.
"""

from __future__ import annotations

import decimal
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import BinaryIO

import mt940
from mt940.tags import Statement, StatementGLS

from billtone.reconciliation.statements.entries import (
    CURRENCY_RE,
    StatementEntry,
    StatementFormatError,
    StatementSummary,
    Tally,
    bom_encoding,
    iban_like,
)
from billtone.reconciliation.statements.mt940_details import LINE_WIDTH, parse_details

_TAG_RE = re.compile(r"^:(\d\d[A-Z]?|NS):")
_ENVELOPE_RE = re.compile(r"\{[1-5]:[^{}]*\}")
_SINGLE_LINE_TAGS = {
    "13D", "20", "21", "25", "28", "28C", "34F", "60F", "60M", "62F", "62M", "64", "65",
    "90C", "90D",
}  # fmt: skip
_CLOSING_TAGS = {"62F", "62M", "62"}


class StatementLONGREF(Statement):
    """:61: as mt940 reads it, and failing that with a customer reference over 16 characters.

    ASN Bank puts the counterparty's IBAN there, GLS/Atruvia long ids. A space before the
    transaction type is dropped. A line without a type code gets NO_TYPE_CODE: mt940 starts
    a new entry only when the previous one has a code. (The class name must read
    "Statement" + capitals: mt940 derives the processors' slug from it.)
    """

    def __init__(self) -> None:
        super().__init__()
        self.long_ref_re = re.compile(StatementGLS.pattern, self.RE_FLAGS)

    def parse(self, transactions: mt940.models.Transactions, value: str) -> dict:
        match = self.re.match(value) or self.long_ref_re.match(value)
        if match and not match.group("id"):
            spaced = _SPACE_BEFORE_TYPE_RE.sub(r"\1", value, count=1)
            if spaced != value:
                match = self.re.match(spaced) or self.long_ref_re.match(spaced) or match
        if not match:
            raise RuntimeError(f"Unable to parse the statement line {value!r}", self, value)
        found = match.groupdict()
        found["id"] = found.get("id") or NO_TYPE_CODE
        return found


NO_TYPE_CODE = "----"
_SPACE_BEFORE_TYPE_RE = re.compile(
    r"^(\d{6}(?:\d{4}|\s{4})?R?[DC][A-Z]?[\d,]{1,15}) (?=[A-Z][A-Z0-9]{3})"
)
# An amount with a decimal point: of a :61: line (after its dates and C/D mark), and of a
# balance (C/D mark, date, currency, amount).
_POINT_61_RE = re.compile(r"^(:61:\d{6}(?:\d{4}|\s{4})?R?[DC][A-Z]?\d+)\.(\d*)")
_POINT_BALANCE_RE = re.compile(r"^(:(?:60[FM]|62[FM]|64|65):[CD]\d{6}[A-Z]{3}\d+)\.(\d*)\s*$")
_STATEMENT_NUMBER_RE = re.compile(r"^:28C?:\s*\d{1,5}(/\d{1,5})?\s*$")
_STATEMENT_LINE_TAG = StatementLONGREF()


@dataclass
class _Block:
    """The lines of one :20: statement, cleaned, each with its line number in the file."""

    start: int
    lines: list[tuple[int, str]] = field(default_factory=list)
    tag: str = "20"
    tag_lines: int = 1  # lines the current field has in `lines`
    closed: bool = False  # a closing balance was seen: what follows is statement-level
    skipping: bool = False  # inside a statement-level :86:
    closing_tag: str = ""


def read_mt940(
    stream: BinaryIO,
    name: str,
    on_statement: Callable[[StatementSummary], None],
    *,
    encoding: str | None = None,
) -> Iterator[StatementEntry]:
    """Yield the entries of an MT940 file; call `on_statement` after each :20: statement
    (once the next one has begun: whether it was the last one tells whether an intermediate
    closing balance is continued)."""
    entry_number = 0
    last: tuple[_Block, Tally] | None = None
    for block in _blocks(stream, name, encoding):
        if last is not None:
            on_statement(last[1].summary())
        tally, entries = _parse_block(block, name, entry_number)
        for entry in entries:
            tally.add(entry)
            yield entry
        entry_number += len(entries)
        last = (block, tally)
    if last is None:
        raise StatementFormatError(name, "no MT940 statement (:20:) in the file.")
    block, tally = last
    if block.closing_tag == "62M":
        closing = next(n for n, line in reversed(block.lines) if line.startswith(":62M:"))
        tally.problems.append(
            f"The statement ends with an intermediate balance (:62M:, line {closing}) and the "
            "file ends there: the rest of this statement is in another file (import that "
            "one too; entries in both are imported once)."
        )
    on_statement(tally.summary())


def _decode(raw: bytes, encoding: str | None) -> str:
    if encoding:
        return raw.decode(encoding, errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp852")  # what DOS-era German and Polish exports use; never fails


def _lines(stream: BinaryIO, encoding: str | None) -> Iterator[tuple[int, str]]:
    """The file's lines, numbered from 1. Read as bytes and decoded one by one, as exports
    mix encodings at times; a file in UTF-16 or UTF-32 (which its byte-order mark says)
    decoded as a whole."""
    marked = bom_encoding(stream.read(4))
    stream.seek(0)  # StatementStream hands a stream that rewinds
    if marked not in ("utf-16", "utf-32"):
        for number, raw in enumerate(stream, start=1):
            yield number, _decode(raw, encoding)
        return
    text = io.TextIOWrapper(stream, encoding=marked, errors="replace")
    try:
        yield from enumerate(text, start=1)
    finally:
        text.detach()  # the caller's file stays open


def _blocks(stream: BinaryIO, name: str, encoding: str | None) -> Iterator[_Block]:
    block: _Block | None = None
    for number, line in _lines(stream, encoding):
        text = line.rstrip("\r\n")
        if number == 1:
            text = text.removeprefix("\ufeff")
        text = text.rstrip()
        if text.startswith("{"):
            text = _ENVELOPE_RE.sub("", text)
            text = text.removeprefix("{4:").strip()
        if text.startswith("-}") or text == "}":
            if block is not None:
                block.tag = ""
            continue
        if not text:
            continue
        match = _TAG_RE.match(text)
        if match:
            tag = match.group(1)
            if tag == "20":
                if block is not None:
                    yield block
                block = _Block(start=number)
            if block is None:
                continue
            block.tag = tag
            block.tag_lines = 1
            block.skipping = block.closed and tag == "86"
            if tag in _CLOSING_TAGS:
                block.closed = True
                block.closing_tag = tag
            if not block.skipping:
                block.lines.append((number, text))
            continue
        if block is None or block.skipping or not block.tag:
            continue
        if text.strip() == "-":
            if block.tag != "86":  # a "-" ends the message; inside :86: it is text
                block.tag = ""
            continue
        prev_number, prev = block.lines[-1]
        if block.tag in _SINGLE_LINE_TAGS:
            block.lines[-1] = (prev_number, prev + text.strip())
        elif block.tag == "61" and (block.tag_lines > 1 or len(prev) >= LINE_WIDTH):
            # a full first line continues; later lines all belong to the supplementary details
            glue = "" if len(prev) >= LINE_WIDTH or block.tag_lines == 1 else " "
            block.lines[-1] = (prev_number, prev + glue + text.strip())
        else:
            block.lines.append((number, text))
            block.tag_lines += 1
    if block is not None:
        yield block


def _parse_block(block: _Block, name: str, entries_before: int) -> tuple[Tally, list]:
    transactions = mt940.models.Transactions(
        processors={"post_transaction_details": []},  # the :86: is read below, raw
        tags={61: _STATEMENT_LINE_TAG},
        options=mt940.Options.all(),
    )
    text = "\n".join(_amended(line) for _, line in block.lines)
    try:
        transactions.parse(text)
    except (RuntimeError, ValueError, KeyError, TypeError, decimal.InvalidOperation) as exc:
        raise StatementFormatError(
            name, f"cannot read the MT940 field: {_reason(exc)}", line=_line_of(block, exc)
        ) from None
    data = transactions.data
    where = f"statement at line {block.start}"
    account = str(data.get("account_identification") or "").strip()
    opening = (
        data.get("final_opening_balance")
        or data.get("intermediate_opening_balance")
        or data.get("opening_balance")
    )
    closing = (
        data.get("final_closing_balance")
        or data.get("intermediate_closing_balance")
        or data.get("closing_balance")
    )
    if opening is None and any(line.startswith((":34F:", ":13D:")) for _, line in block.lines):
        raise StatementFormatError(
            name,
            "this is an MT942 interim transaction report (:34F:, :13D:), not an MT940 "
            "statement: import the end-of-day MT940 statement instead.",
            line=block.start,
            where=where,
        )
    for missing, label in (
        (not account, "account (:25:)"),
        (opening is None, "opening balance (:60F:)"),
        (closing is None, "closing balance (:62F:)"),
    ):
        if missing:
            raise StatementFormatError(
                name, f"the statement has no {label}.", line=block.start, where=where
            )
    currency = transactions.currency or ""
    account_id = account.replace(" ", "").upper()
    if currency and account_id.endswith(currency) and iban_like(account_id[: -len(currency)]):
        account_id = account_id[: -len(currency)]  # ":25:NL77INGB0574908765EUR"
    reference = str(data.get("transaction_reference") or "")
    number = str(data.get("statement_number") or "")
    sequence = str(data.get("sequence_number") or "")
    tally = Tally(
        statement_id="/".join(p for p in (reference, number, sequence) if p),
        account_iban=iban_like(account_id),
        account_id=account_id,
        currency=currency,
        position=where,
        opening_balance=opening.amount.amount,
        closing_balance=closing.amount.amount,
    )
    lines_61 = [n for n, line in block.lines if line.startswith(":61:")]
    if len(transactions) != len(lines_61):  # never one entry silently merged into another
        raise StatementFormatError(
            name,
            f"{len(lines_61)} statement lines (:61:) were read as {len(transactions)} entries.",
            line=block.start,
            where=where,
        )
    entries = []
    for index, transaction in enumerate(transactions):
        line = lines_61[index] if index < len(lines_61) else block.start
        entries.append(
            _entry(transaction.data, tally, name, entries_before + index + 1, line, currency)
        )
    return tally, entries


def _amended(line: str) -> str:
    """A field as mt940 reads it: an amount's decimal point made SWIFT's comma; a :28C:
    without a readable statement number left out (it only numbers the statement)."""
    if line.startswith(":61:"):
        return _POINT_61_RE.sub(r"\1,\2", line, count=1)
    if line.startswith((":60", ":62", ":64:", ":65:")):
        return _POINT_BALANCE_RE.sub(r"\1,\2", line, count=1)
    if line.startswith(":28") and not _STATEMENT_NUMBER_RE.match(line):
        return ""
    return line


def _reason(exc: Exception) -> str:
    tag = exc.args[1] if len(exc.args) > 2 else None
    if isinstance(getattr(tag, "id", None), int | str) and isinstance(exc.args[2], str):
        # mt940's RuntimeError(message, tag, value): name the field, not the parser object
        return f":{tag.id}: {exc.args[2].splitlines()[0][:120]!r} is not in its format"
    text = str(exc.args[0]) if exc.args else type(exc).__name__
    return text.splitlines()[0][:200]


def _line_of(block: _Block, exc: Exception) -> int:
    """The file line of the value mt940 choked on, when it says which."""
    value = exc.args[2] if len(exc.args) > 2 and isinstance(exc.args[2], str) else ""
    first = value.split("\n", 1)[0].strip()
    if first:
        for number, line in block.lines:
            if first in line:
                return number
    if isinstance(exc, ValueError):  # a date that does not exist ("021131"): find it
        for number, line in block.lines:
            found = _DATED_RE.match(line)
            if found:
                try:
                    date(2000 + int(found["yy"]), int(found["mm"]), int(found["dd"]))
                except ValueError:
                    return number
    return block.start


# The YYMMDD of a balance (after its C/D mark) or of a :61: statement line.
_DATED_RE = re.compile(r"^:(?:6[0245][FM]?:[CD]|61:)(?P<yy>\d\d)(?P<mm>\d\d)(?P<dd>\d\d)")


def _entry(
    data: dict, tally: Tally, name: str, number: int, line: int, currency: str
) -> StatementEntry:
    where = f"entry {number}"
    amount = data.get("amount")
    status = str(data.get("status") or "").upper()
    if amount is None or status not in ("C", "D", "RC", "RD"):
        raise StatementFormatError(name, "the :61: line has no amount.", line=line, where=where)
    currency = str(amount.currency or currency or "")
    if not CURRENCY_RE.fullmatch(currency):
        raise StatementFormatError(
            name, f"no valid currency for the entry ({currency!r}).", line=line, where=where
        )
    value_date = _plain(data.get("date"))
    customer_reference = str(data.get("customer_reference") or "").strip()
    supplementary = str(data.get("extra_details") or "").strip()
    raw = str(data.get("transaction_details") or "").strip()
    details = parse_details(raw)
    iban = (
        details.iban
        or (iban_like(customer_reference) and customer_reference.upper())
        or iban_like(supplementary)
    )
    counterparty = details.name
    if not counterparty and iban_like(customer_reference) and not iban_like(supplementary):
        counterparty = supplementary  # ASN: IBAN as customer reference, name on the next line
    return StatementEntry(
        amount=abs(amount.amount),
        currency=currency,
        # RD, the reversal of a debit, puts money back: a credit. RC takes it out.
        is_credit=status in ("C", "RD"),
        is_reversal=status.startswith("R"),
        booking_date=_plain(data.get("entry_date")) or value_date,
        value_date=value_date,
        counterparty_name=counterparty,
        counterparty_iban=iban,
        structured_reference=details.structured_reference,
        free_text=details.free_text,
        end_to_end_id=details.end_to_end_id,
        bank_reference=str(data.get("bank_reference") or "").strip(),
        transaction_reference="" if customer_reference.upper() == "NONREF" else customer_reference,
        details=raw,
        account_iban=tally.account_iban,
        account_id=tally.account_id,
        statement_id=tally.statement_id,
        entry_number=number,
        line=line,
        position=f"entry {number} (line {line})",
    )


def _plain(value: date | None) -> date | None:
    """mt940's Date subclass as a plain date."""
    return date(value.year, value.month, value.day) if value else None
