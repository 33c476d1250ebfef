"""ISO 20022 camt.053 (bank-to-customer statement), versions 001.02 and later.

The file is streamed, fed to lxml 64 KiB at a time: each Ntry is read when its end tag
arrives, then cleared and dropped with everything before it, so a statement of 100,000
entries never sits in memory whole; what builds up where no entry ends (a group header, an
envelope) is pruned as it streams, and an entry or header too large to keep is refused
(camt053_feed.py, decision 0010). A UTF-8, UTF-16 or UTF-32 byte-order mark is read.

Elements are matched in the document's own namespace, which must be camt.053.001.NN
(ISO's, or a national variant of it such as Austria's STUZZA); the element names this
parser reads are the same in every version from 001.02 on, except that 001.08 may wrap the
debtor in a Pty element. The Document may be the root or sit inside SWIFT's CBPR+
envelope. An entry with no booking or value date at all takes the statement's date, and
the statement says so among its problems.

Here: `read_camt053`, and what a statement says besides its entries (its header, its
control sums); the entries themselves are read by camt053_entries.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import BinaryIO

from lxml import etree

from billtone.reconciliation.statements.camt053_entries import (
    AMOUNT_RE,
    EntryReader,
    amount_of,
    text_of,
)
from billtone.reconciliation.statements.camt053_feed import Feed, drop, namespace_tags
from billtone.reconciliation.statements.entries import (
    StatementEntry,
    StatementFormatError,
    StatementSummary,
    Tally,
    iban_like,
)


def read_camt053(
    stream: BinaryIO, name: str, on_statement: Callable[[StatementSummary], None]
) -> Iterator[StatementEntry]:
    """Yield the entries of a camt.053 file; call `on_statement` at the end of each Stmt."""
    q: SimpleNamespace | None = None
    reader: EntryReader | None = None
    parent: etree._Element | None = None
    tally = Tally()
    header_read = False
    entry_number = 0
    statements = 0
    feed = Feed(stream, name)
    try:
        for event, elem in feed:
            if q is None:
                q = namespace_tags(elem, name)
                reader = EntryReader(q, name)
                feed.keep = {q.Ntry, q.Stmt, *(getattr(q, t) for t in _HEADER)}
                feed.statement = q.Stmt
            tag = elem.tag
            if event == "start":
                if tag == q.Stmt:
                    tally = Tally(position=f"statement at line {elem.sourceline}")
                    header_read = False
                continue
            if tag == q.Ntry:
                assert reader is not None
                if not header_read:
                    _read_header(elem.getparent(), q, tally, name)
                    reader.statement_day = _statement_day(elem.getparent(), q, reader)
                    header_read = True
                entry_number += 1
                for entry in reader.read(elem, tally, entry_number):
                    tally.add(entry)
                    yield entry
                # drop(elem), inline: `parent` stays referenced from here to the next
                # entry, so lxml hands back the same proxy instead of making a new one.
                elem.clear(keep_tail=False)
                parent = elem.getparent()
                if parent is not None:
                    del parent[: parent.index(elem)]
                feed.released()
            elif tag == q.Stmt:
                if not header_read:
                    _read_header(elem, q, tally, name)
                    header_read = True
                assert reader is not None
                if reader.undated:
                    tally.problems.append(
                        f"{reader.undated} entries carry no booking or value date: the "
                        f"statement's date {reader.statement_day} is used for them."
                    )
                    reader.undated = 0
                _check_control_sums(tally)
                statements += 1
                on_statement(tally.summary())
                drop(elem)
                feed.released()
    except etree.XMLSyntaxError as exc:
        if "XML declaration allowed only at the start" in (exc.msg or ""):
            raise StatementFormatError(
                name,
                "the file holds more than one XML document, one after the other: a second "
                "one starts here. Import each document as a file of its own.",
                line=exc.lineno,
            ) from None
        raise StatementFormatError(
            name, f"the XML is malformed or truncated ({exc.msg})", line=exc.lineno
        ) from None
    if q is None:
        raise StatementFormatError(
            name,
            "not a camt.053 statement: the root element is "
            f"{etree.QName(feed.root_tag).localname if feed.root_tag else 'missing'}, "
            "not Document.",
        )
    if not statements:
        raise StatementFormatError(name, "the camt.053 document holds no statement (Stmt).")


# What of a statement is read besides its entries (_read_header, _statement_day).
_HEADER = ("Id", "Acct", "Bal", "TxsSummry", "FrToDt", "CreDtTm")


def _child(elem: etree._Element | None, *tags: str) -> etree._Element | None:
    for tag in tags:
        if elem is None:
            return None
        elem = next(elem.iterchildren(tag), None)
    return elem


def _read_header(stmt: etree._Element, q: SimpleNamespace, tally: Tally, name: str) -> None:
    """Statement id, account, balances and control sums: the Stmt children before its entries."""
    tally.statement_id = text_of(_child(stmt, q.Id))
    acct = _child(stmt, q.Acct)
    iban = text_of(_child(acct, q.Id, q.IBAN))
    tally.account_iban = iban_like(iban) or iban.replace(" ", "").upper()
    tally.account_id = tally.account_iban or text_of(_child(acct, q.Id, q.Othr, q.Id))
    tally.currency = text_of(_child(acct, q.Ccy))
    for bal in stmt.iterchildren(q.Bal):
        code = text_of(_child(bal, q.Tp, q.CdOrPrtry, q.Cd))
        amount, currency = amount_of(_child(bal, q.Amt), name, f"balance {code}")
        tally.currency = tally.currency or currency
        if text_of(_child(bal, q.CdtDbtInd)) == "DBIT":
            amount = -amount
        if code in ("OPBD", "PRCD") and tally.opening_balance is None:
            tally.opening_balance = amount
        elif code == "CLBD" and tally.closing_balance is None:
            tally.closing_balance = amount
    summary = _child(stmt, q.TxsSummry)
    if summary is not None:
        tally.control = [
            (label, text_of(_child(part, q.NbOfNtries)), text_of(_child(part, q.Sum)))
            for label, part in (
                ("credit", _child(summary, q.TtlCdtNtries)),
                ("debit", _child(summary, q.TtlDbtNtries)),
            )
            if part is not None
        ]


def _statement_day(stmt: etree._Element, q: SimpleNamespace, reader: EntryReader) -> date | None:
    """The day a statement is of, for entries that carry no date (a Lithuanian export seen
    without BookgDt or ValDt): its closing balance's date, else the end of its period, else
    the day it was made."""
    for bal in stmt.iterchildren(q.Bal):
        if text_of(_child(bal, q.Tp, q.CdOrPrtry, q.Cd)) in ("CLBD", "CLAV"):
            day = reader.day_of(_child(bal, q.Dt), 0)
            if day is not None:
                return day
    for text in (
        text_of(_child(stmt, q.FrToDt, q.ToDtTm)),
        text_of(_child(stmt, q.CreDtTm)),
    ):
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            continue
    return None


def _check_control_sums(tally: Tally) -> None:
    """TxsSummry against the entries read; real files disagree at times, so a warning."""
    for label, count, total in tally.control:
        actual_count = tally.credit_entries if label == "credit" else tally.debit_entries
        actual_sum = tally.credit_sum if label == "credit" else tally.debit_sum
        if count.isdigit() and int(count) != actual_count:
            tally.problems.append(
                f"The statement's summary gives {count} {label} entries; it holds {actual_count}."
            )
        if total and AMOUNT_RE.fullmatch(total) and Decimal(total) != actual_sum:
            tally.problems.append(
                f"The statement's summary gives {label} entries summing {total}; "
                f"they sum {actual_sum}."
            )
