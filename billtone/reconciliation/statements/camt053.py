"""ISO 20022 camt.053 (bank-to-customer statement), versions 001.02 and later.

The file is streamed, fed to lxml 64 KiB at a time: each Ntry is read when its end tag
arrives, then cleared and dropped with everything before it, so a statement of 100,000
entries never sits in memory whole; what builds up where no entry ends (a group header, an
envelope) is pruned as it streams, and an entry or header too large to keep is refused
(_Feed, decision 0010). A UTF-8, UTF-16 or UTF-32 byte-order mark is read.

Elements are matched in the document's own namespace, which must be camt.053.001.NN
(ISO's, or a national variant of it such as Austria's STUZZA); the element names this
parser reads are the same in every version from 001.02 on, except that 001.08 may wrap the
debtor in a Pty element. The Document may be the root or sit inside SWIFT's CBPR+
envelope. An entry with no booking or value date at all takes the statement's date, and
the statement says so among its problems.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import BinaryIO

from lxml import etree

from billtone.reconciliation.statements.entries import (
    CURRENCY_RE,
    StatementEntry,
    StatementFormatError,
    StatementSummary,
    Tally,
    iban_like,
)

# ISO's namespace, and the national variants that keep the schema under their own name
# (Austria's STUZZA: "ISO:camt.053.001.02:APC:STUZZA:payments:003").
NAMESPACE_RE = re.compile(
    r"urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.(\d{2})"
    r"|ISO:camt\.053\.001\.(\d{2})(?::APC:[A-Z]+:payments:\d{3})?"
)
_AMOUNT_RE = re.compile(r"[0-9]+(\.[0-9]+)?")

_NAMES = [
    *("Document", "Stmt", "Ntry", "Id", "Acct", "IBAN", "Othr", "Ccy", "Bal", "Tp"),
    *("CdOrPrtry", "Cd", "Amt", "CdtDbtInd", "Dt", "DtTm", "TxsSummry", "TtlCdtNtries"),
    *("TtlDbtNtries", "NbOfNtries", "Sum", "RvslInd", "Sts", "BookgDt", "ValDt"),
    *("AcctSvcrRef", "NtryRef", "AddtlNtryInf", "NtryDtls", "TxDtls", "Refs", "EndToEndId"),
    *("AmtDtls", "TxAmt", "RltdPties", "Dbtr", "Cdtr", "UltmtDbtr", "UltmtCdtr", "DbtrAcct"),
    *("CdtrAcct", "Pty", "Nm", "RmtInf", "Ustrd", "Strd", "CdtrRefInf", "Ref", "AddtlRmtInf"),
    *("AddtlTxInf", "FrToDt", "ToDtTm", "CreDtTm"),
]


def read_camt053(
    stream: BinaryIO, name: str, on_statement: Callable[[StatementSummary], None]
) -> Iterator[StatementEntry]:
    """Yield the entries of a camt.053 file; call `on_statement` at the end of each Stmt."""
    q: SimpleNamespace | None = None
    reader: _EntryReader | None = None
    parent: etree._Element | None = None
    tally = Tally()
    header_read = False
    entry_number = 0
    statements = 0
    feed = _Feed(stream, name)
    try:
        for event, elem in feed:
            if q is None:
                q = _namespace(elem, name)
                reader = _EntryReader(q, name)
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
                # _drop(elem), inline: `parent` stays referenced from here to the next
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
                _drop(elem)
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
_READ = ("Document", "Stmt", "Ntry")
_HEADER = ("Id", "Acct", "Bal", "TxsSummry", "FrToDt", "CreDtTm")
CHUNK_BYTES = 1 << 16
# Bytes read without an entry or a statement ending before what is not kept is pruned.
PRUNE_AFTER_BYTES = 1 << 18
# What the reader may have to keep at once: one entry (a batch's transactions included) and a
# statement's header. libxml2 takes about 250 bytes an element with its text.
MAX_KEPT_ELEMENTS = 250_000


class _Feed:
    """The (event, element) pairs of iterparse, from a parser fed here chunk by chunk, so that
    what builds up where no entry or statement ends (a group header, an envelope, anything
    outside the entries) is pruned as it streams, and an entry or header too large to keep
    is refused: any file is read in bounded memory."""

    def __init__(self, stream: BinaryIO, name: str) -> None:
        self.stream = stream
        self.name = name
        self.keep: set[str] = set()  # Stmt, Ntry and the header's tags, once known
        self.statement = ""
        self.root_tag = ""
        self.fed = self.released_at = 0
        self.root: etree._Element | None = None

    def released(self) -> None:
        self.released_at = self.fed

    def __iter__(self) -> Iterator[tuple[str, etree._Element]]:
        head = self.stream.read(CHUNK_BYTES)
        if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
            head = head[4:]  # libxml2 reads UTF-32 by its first "<", not by its BOM
        self.root_tag = _root_tag(head)
        tags = ["{*}Document", "{*}Stmt", "{*}Ntry"]
        envelope = ""  # a root of another name: its events only tell where the tree is
        if self.root_tag and etree.QName(self.root_tag).localname not in _READ:
            envelope = self.root_tag
            tags.append(envelope)
        parser = etree.XMLPullParser(
            events=("start", "end"),
            tag=tags,
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            remove_comments=True,
            remove_pis=True,
            # The indentation between elements of a pretty-printed file, as real statements
            # are, is never read (every text read is stripped): not building those text
            # nodes saves about a tenth of the parsing.
            remove_blank_text=True,
        )
        events = parser.read_events()
        chunk = head
        while chunk:
            parser.feed(chunk)
            self.fed += len(chunk)
            for event, elem in events:
                if self.root is None:
                    self.root = elem.getroottree().getroot()
                if elem.tag != envelope:
                    yield event, elem
            if self.fed - self.released_at > PRUNE_AFTER_BYTES and self.root is not None:
                self._prune()
            chunk = self.stream.read(CHUNK_BYTES)
        parser.close()
        for event, elem in events:
            if elem.tag != envelope:
                yield event, elem

    def _prune(self) -> None:
        """Drop every complete element that is not kept, down the path of open elements; then
        count what stays."""
        self.released_at = self.fed
        elem = self.root
        assert elem is not None
        while True:
            tag = elem.tag
            if tag in self.keep and tag != self.statement:
                break  # an entry, or a part of a statement's header: kept whole
            try:
                last = elem[-1]
            except IndexError:
                break
            if tag == self.statement:  # its header stays until its first entry ends
                for child in [c for c in elem.iterchildren() if c.tag not in self.keep]:
                    if child is not last:
                        elem.remove(child)
            else:
                del elem[:-1]
            elem = last
        for kept, _ in enumerate(self.root.iter(), start=1):
            if kept > MAX_KEPT_ELEMENTS:
                raise StatementFormatError(
                    self.name,
                    f"more than {MAX_KEPT_ELEMENTS:,} XML elements in one entry or statement "
                    "header: far more than a statement holds; the file is not read further.",
                    line=elem.sourceline,
                )


def _root_tag(head: bytes) -> str:
    """The root element's tag, from the first bytes of the file ('' if they do not say)."""
    peek = etree.XMLPullParser(
        events=("start",), resolve_entities=False, no_network=True, load_dtd=False
    )
    try:
        peek.feed(head)
    except etree.XMLSyntaxError:
        return ""
    for _, elem in peek.read_events():
        return elem.tag if isinstance(elem.tag, str) else ""
    return ""


def _namespace(elem: etree._Element, name: str) -> SimpleNamespace:
    """The tag names in the document's namespace, once the root is known to be camt.053.

    The Document may also come inside an envelope (SWIFT's CBPR+: <Envelope> with an
    <AppHdr> and the <Document>): then it is the Document that is read."""
    root = elem.getroottree().getroot()
    if etree.QName(elem).localname == "Document" and root is not elem:
        root = elem
    qname = etree.QName(root)
    if qname.localname != "Document":
        raise StatementFormatError(
            name,
            f"not a camt.053 statement: the root element is {qname.localname}, not Document.",
            line=root.sourceline,
        )
    if not NAMESPACE_RE.fullmatch(qname.namespace or ""):
        raise StatementFormatError(
            name,
            f"not a camt.053 statement: the namespace is {qname.namespace or 'missing'}, "
            "expected urn:iso:std:iso:20022:tech:xsd:camt.053.001.NN.",
            line=elem.sourceline,
        )
    tags = {n: f"{{{qname.namespace}}}{n}" for n in _NAMES}
    return SimpleNamespace(local={tag: n for n, tag in tags.items()}, **tags)


def _drop(elem: etree._Element) -> None:
    """Free `elem` and every sibling before it: what iterparse has read and we are done with."""
    elem.clear(keep_tail=False)
    parent = elem.getparent()
    if parent is not None:
        del parent[: parent.index(elem)]


def _child(elem: etree._Element | None, *tags: str) -> etree._Element | None:
    for tag in tags:
        if elem is None:
            return None
        elem = next(elem.iterchildren(tag), None)
    return elem


def _text(elem: etree._Element | None) -> str:
    text = elem.text if elem is not None else None  # each .text read decodes anew
    return text.strip() if text else ""


def _amount(elem: etree._Element | None, name: str, where: str) -> tuple[Decimal, str]:
    text = _text(elem)
    line = elem.sourceline if elem is not None else None
    if not _AMOUNT_RE.fullmatch(text):
        raise StatementFormatError(
            name, f"the amount {text!r} is not a number.", line=line, where=where
        )
    currency = (elem.get("Ccy") or "").strip()
    if not CURRENCY_RE.fullmatch(currency):
        raise StatementFormatError(
            name, f"the amount has no valid currency ({currency!r}).", line=line, where=where
        )
    return Decimal(text), currency


def _read_header(stmt: etree._Element, q: SimpleNamespace, tally: Tally, name: str) -> None:
    """Statement id, account, balances and control sums: the Stmt children before its entries."""
    tally.statement_id = _text(_child(stmt, q.Id))
    acct = _child(stmt, q.Acct)
    iban = _text(_child(acct, q.Id, q.IBAN))
    tally.account_iban = iban_like(iban) or iban.replace(" ", "").upper()
    tally.account_id = tally.account_iban or _text(_child(acct, q.Id, q.Othr, q.Id))
    tally.currency = _text(_child(acct, q.Ccy))
    for bal in stmt.iterchildren(q.Bal):
        code = _text(_child(bal, q.Tp, q.CdOrPrtry, q.Cd))
        amount, currency = _amount(_child(bal, q.Amt), name, f"balance {code}")
        tally.currency = tally.currency or currency
        if _text(_child(bal, q.CdtDbtInd)) == "DBIT":
            amount = -amount
        if code in ("OPBD", "PRCD") and tally.opening_balance is None:
            tally.opening_balance = amount
        elif code == "CLBD" and tally.closing_balance is None:
            tally.closing_balance = amount
    summary = _child(stmt, q.TxsSummry)
    if summary is not None:
        tally.control = [
            (label, _text(_child(part, q.NbOfNtries)), _text(_child(part, q.Sum)))
            for label, part in (
                ("credit", _child(summary, q.TtlCdtNtries)),
                ("debit", _child(summary, q.TtlDbtNtries)),
            )
            if part is not None
        ]


def _statement_day(stmt: etree._Element, q: SimpleNamespace, reader: _EntryReader) -> date | None:
    """The day a statement is of, for entries that carry no date (a Lithuanian export seen
    without BookgDt or ValDt): its closing balance's date, else the end of its period, else
    the day it was made."""
    for bal in stmt.iterchildren(q.Bal):
        if _text(_child(bal, q.Tp, q.CdOrPrtry, q.Cd)) in ("CLBD", "CLAV"):
            day = reader._date(_child(bal, q.Dt), 0)
            if day is not None:
                return day
    for text in (
        _text(_child(stmt, q.FrToDt, q.ToDtTm)),
        _text(_child(stmt, q.CreDtTm)),
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
        if total and _AMOUNT_RE.fullmatch(total) and Decimal(total) != actual_sum:
            tally.problems.append(
                f"The statement's summary gives {label} entries summing {total}; "
                f"they sum {actual_sum}."
            )


# Entries are read in one pass over each element's children, matched by comparing
# qualified tags. With lxml every child visited costs a Python proxy object, every tag
# read a new "{namespace}Name" string and every text a decoding, which with libxml2's own
# parsing is most of the time a 100,000-entry file takes: so each element is visited once,
# nothing is looked up by path (find, iterchildren, XPath), children are taken as a slice
# (`elem[:]`, which lxml builds faster than it iterates), and tags are compared with the
# expected ones (cheaper than a dict lookup, which hashes each new tag string). The common
# shapes are read inline; helpers (_path, _text, _amount) serve the rare ones and errors.


class _EntryReader:
    """Turns one Ntry into its StatementEntry rows; holds what a file's entries share."""

    def __init__(self, q: SimpleNamespace, name: str) -> None:
        self.codes: dict[str, str] = q.local
        self.entry_tags = (q.Amt, q.CdtDbtInd, q.Sts, q.BookgDt, q.ValDt, q.AcctSvcrRef)
        self.entry_tags += (q.NtryRef, q.NtryDtls, q.RvslInd, q.AddtlNtryInf, q.TxDtls, q.Cd)
        self.date_tags = (q.Dt, q.DtTm)
        self.transaction_tags = (q.RmtInf, q.RltdPties, q.Refs, q.Amt, q.AmtDtls, q.CdtDbtInd)
        self.transaction_tags += (q.AddtlTxInf, q.EndToEndId, q.AcctSvcrRef)
        self.remittance_tags = (q.Ustrd, q.Strd, q.CdtrRefInf, q.Ref, q.AddtlRmtInf)
        # The other party and its account: the payer of a credit, the payee of a debit.
        self.party_tags = {
            True: (q.Dbtr, q.DbtrAcct, q.UltmtDbtr, q.Nm, q.Pty, q.Id, q.IBAN),
            False: (q.Cdtr, q.CdtrAcct, q.UltmtCdtr, q.Nm, q.Pty, q.Id, q.IBAN),
        }
        self.name = name
        self.statement_day: date | None = None  # for entries that give no date at all
        self.undated = 0  # entries of the statement dated by statement_day
        self.currencies: dict[str | None, str] = {}  # Ccy as written -> the valid code
        self.dates: dict[str, date] = {}  # a statement's entries share a few dozen dates

    def read(self, ntry: etree._Element, tally: Tally, number: int) -> list[StatementEntry]:
        amount_elem = booking_elem = value_elem = None
        direction = reversal = status = account_ref = entry_ref = ""
        infos: list[str] = []
        transactions: list[etree._Element] = []
        (t_amt, t_cdt, t_sts, t_book, t_val, t_acct, t_ref, t_dtls, t_rvsl, t_info, t_tx, t_cd) = (
            self.entry_tags
        )
        for child in ntry[:]:
            tag = child.tag
            if tag == t_amt:
                amount_elem = child
            elif tag == t_cdt:
                text = child.text
                direction = text.strip() if text else ""
            elif tag == t_sts:
                text = child.text  # 001.08 on: <Sts><Cd>BOOK</Cd></Sts>
                status = text.strip() if text else ""
                if not status:
                    for code in child[:]:
                        if code.tag == t_cd:
                            text = code.text
                            status = text.strip() if text else ""
                            break
            elif tag == t_book:
                booking_elem = child
            elif tag == t_val:
                value_elem = child
            elif tag == t_acct:
                text = child.text
                account_ref = text.strip() if text else ""
            elif tag == t_ref:
                text = child.text
                entry_ref = text.strip() if text else ""
            elif tag == t_dtls:
                for tx in child[:]:
                    if tx.tag == t_tx:
                        transactions.append(tx)
            elif tag == t_rvsl:
                reversal = _text(child)
            elif tag == t_info:
                infos.append(_text(child))
        line = ntry.sourceline
        if amount_elem is None:
            raise StatementFormatError(
                self.name, "the entry has no amount (Amt).", line=line, where=f"entry {number}"
            )
        text = amount_elem.text
        text = text.strip() if text else ""
        currency = self.currencies.get(amount_elem.get("Ccy"))
        if currency is None or _AMOUNT_MATCH(text) is None:
            amount, currency = self._amount(amount_elem, number)
        else:
            amount = Decimal(text)
        if direction != "CRDT" and direction != "DBIT":
            raise StatementFormatError(
                self.name,
                f"CdtDbtInd is {direction!r}, not CRDT or DBIT.",
                line=line,
                where=f"entry {number}",
            )
        is_credit = direction == "CRDT"
        value_date = self._date(value_elem, number) if value_elem is not None else None
        booking_date = (
            self._date(booking_elem, number) if booking_elem is not None else None
        ) or value_date
        if booking_date is None and self.statement_day is not None:
            booking_date = self.statement_day  # the entry has no date: the statement's
            self.undated += 1
        if booking_date is None:
            raise StatementFormatError(
                self.name, "the entry has no booking date.", line=line, where=f"entry {number}"
            )
        entry_info = "\n".join(t for t in infos if t) if infos else ""
        is_reversal = reversal.lower() in ("true", "1") if reversal else False
        status = status or "BOOK"
        bank_reference = account_ref or entry_ref

        if len(transactions) <= 1:
            (
                counterparty_name,
                counterparty_iban,
                structured_reference,
                free_text,
                end_to_end_id,
                transaction_reference,
                additional,
                _,
                _,
            ) = self._transaction(transactions[0], is_credit) if transactions else _NO_TRANSACTION
            free_text = free_text or additional or entry_info
            details = (
                f"{additional}\n{entry_info}"
                if additional and entry_info
                else additional or entry_info
            )
            return [
                StatementEntry(
                    amount=amount,
                    currency=currency,
                    is_credit=is_credit,
                    booking_date=booking_date,
                    value_date=value_date,
                    is_reversal=is_reversal,
                    status=status,
                    counterparty_name=counterparty_name,
                    counterparty_iban=counterparty_iban,
                    structured_reference=structured_reference,
                    free_text=free_text,
                    end_to_end_id=end_to_end_id,
                    bank_reference=bank_reference,
                    transaction_reference=transaction_reference,
                    details=details,
                    account_iban=tally.account_iban,
                    account_id=tally.account_id,
                    statement_id=tally.statement_id,
                    entry_number=number,
                    line=line,
                    position=f"entry {number} (line {line})",
                )
            ]

        common = {
            "currency": currency,
            "is_credit": is_credit,
            "booking_date": booking_date,
            "value_date": value_date,
            "is_reversal": is_reversal,
            "status": status,
            "bank_reference": bank_reference,
            "account_iban": tally.account_iban,
            "account_id": tally.account_id,
            "statement_id": tally.statement_id,
            "entry_number": number,
            "line": line,
        }
        parts = [self._transaction(tx, is_credit) for tx in transactions]
        amounts = [
            self._amount(p[_AMOUNT], number) if p[_AMOUNT] is not None else None for p in parts
        ]
        splittable = (
            all(
                a is not None and a[1] == currency and p[_DIRECTION] in ("", direction)
                for a, p in zip(amounts, parts, strict=True)
            )
            and sum(a[0] for a in amounts if a is not None) == amount
        )
        if splittable:
            result = []
            for index, (tx, part, tx_amount) in enumerate(
                zip(transactions, parts, amounts, strict=True)
            ):
                additional = part[_ADDITIONAL]
                result.append(
                    StatementEntry(
                        amount=tx_amount[0],  # type: ignore[index]
                        counterparty_name=part[_NAME],
                        counterparty_iban=part[_IBAN],
                        structured_reference=part[_REFERENCE],
                        # A batch's own text describes the batch, not this payment: never a
                        # fallback here.
                        free_text=part[_FREE_TEXT] or additional,
                        end_to_end_id=part[_END_TO_END],
                        transaction_reference=part[_TX_REFERENCE],
                        transaction_index=index,
                        details="\n".join(t for t in (additional, entry_info) if t),
                        position=f"entry {number}, transaction {index + 1} (line {tx.sourceline})",
                        **common,
                    )
                )
            return result

        tally.problems.append(
            f"Entry {number} (line {line}) batches {len(transactions)} transactions whose amounts "
            f"are missing or do not add up to its {amount} {currency}; it is kept as one entry."
        )

        def same(key: int) -> str:
            values = {p[key] for p in parts}
            return values.pop() if len(values) == 1 else ""

        references = dict.fromkeys(r for p in parts for r in p[_REFERENCE].split())
        texts = dict.fromkeys(p[_FREE_TEXT] or p[_ADDITIONAL] for p in parts)
        return [
            StatementEntry(
                amount=amount,
                counterparty_name=same(_NAME),
                counterparty_iban=same(_IBAN),
                structured_reference=" ".join(references),
                free_text="\n".join(t for t in texts if t) or entry_info,
                end_to_end_id=same(_END_TO_END),
                details=entry_info,
                position=f"entry {number} (line {line})",
                **common,
            )
        ]

    def _amount(self, elem: etree._Element, number: int) -> tuple[Decimal, str]:
        text = elem.text
        text = text.strip() if text else ""
        ccy = elem.get("Ccy")
        currency = self.currencies.get(ccy)
        if currency is None or _AMOUNT_MATCH(text) is None:
            amount, currency = _amount(elem, self.name, f"entry {number}")
            if len(self.currencies) < 64:
                self.currencies[ccy] = currency
            return amount, currency
        return Decimal(text), currency

    def _date(self, elem: etree._Element | None, number: int) -> date | None:
        """A BookgDt/ValDt as a date; a date-time keeps the date it was written with."""
        if elem is None:
            return None
        t_dt, t_dttm = self.date_tags
        text = ""
        for child in elem[:]:
            tag = child.tag
            if tag in (t_dt, t_dttm):
                text = child.text
                text = text.strip() if text else ""
                break
        if not text:
            return None
        day_text = text[:10]
        day = self.dates.get(day_text)
        if day is None:
            try:
                day = date.fromisoformat(day_text)
            except ValueError:
                raise StatementFormatError(
                    self.name,
                    f"the date {text!r} is not a date.",
                    line=elem.sourceline,
                    where=f"entry {number}",
                ) from None
            if len(self.dates) < 4096:
                self.dates[day_text] = day
        return day

    def _transaction(self, tx: etree._Element, is_credit: bool) -> tuple:
        """What a TxDtls says, as a tuple indexed by _NAME, _IBAN, ... (see _NO_TRANSACTION).

        Written out flat: this runs for every transaction of a 100,000-entry file.
        """
        name = ultimate_name = iban = end_to_end = tx_reference = direction = ""
        references: list[str] = []
        free: list[str] = []
        extra: list[str] = []
        additional: list[str] = []
        amount_elem = amount_details = None
        t_rmt, t_pties, t_refs, t_amt, t_dtls, t_cdt, t_info, t_e2e, t_acct = self.transaction_tags
        for child in tx[:]:
            tag = child.tag
            if tag == t_rmt:
                t_ustrd, t_strd, t_ref_info, t_ref, t_rmt_info = self.remittance_tags
                for remittance in child[:]:
                    tag = remittance.tag
                    if tag == t_ustrd:
                        free.append(remittance.text or "")
                    elif tag == t_strd:
                        for part in remittance[:]:
                            tag = part.tag
                            if tag == t_ref_info:
                                for ref in part[:]:
                                    if ref.tag == t_ref:
                                        references.append((ref.text or "").strip())
                            elif tag == t_rmt_info:
                                extra.append(part.text or "")
            elif tag == t_pties:
                t_party, t_account, t_ultimate, t_nm, t_pty, t_id, t_iban = self.party_tags[
                    is_credit
                ]
                for related in child[:]:
                    tag = related.tag
                    if tag == t_party:
                        name = _party_name(related, t_nm, t_pty)
                    elif tag == t_account:  # Id/IBAN: the first Id, the first IBAN in it
                        iban = ""
                        for account_id in related[:]:
                            if account_id.tag == t_id:
                                for number in account_id[:]:
                                    if number.tag == t_iban:
                                        text = number.text
                                        iban = text.strip().replace(" ", "").upper() if text else ""
                                        break
                                break
                    elif tag == t_ultimate:
                        ultimate_name = _party_name(related, t_nm, t_pty)
            elif tag == t_refs:
                for ref in child[:]:
                    tag = ref.tag
                    if tag == t_e2e:
                        end_to_end = (ref.text or "").strip()
                    elif tag == t_acct:
                        tx_reference = (ref.text or "").strip()
            elif tag == t_amt:
                amount_elem = child
            elif tag == t_dtls:
                amount_details = child
            elif tag == t_cdt:
                direction = (child.text or "").strip()
            elif tag == t_info:
                additional.append(child.text or "")
        if amount_elem is None and amount_details is not None:
            amount_elem = _path(amount_details, self.codes, "TxAmt", "Amt")
        # One reference, one line of text: what nearly every transfer carries, kept
        # without a join.
        if len(references) > 1:
            reference = " ".join(dict.fromkeys(r for r in references if r))
        else:
            reference = references[0] if references else ""
        texts = free + extra if extra else free
        if len(texts) == 1:
            free_text = texts[0].strip()
        else:
            free_text = "\n".join(s for t in texts if (s := t.strip()))
        return (
            name or ultimate_name,
            iban,
            reference,
            free_text,
            "" if end_to_end.upper() == "NOTPROVIDED" else end_to_end,
            tx_reference,
            "\n".join(s for t in additional if (s := t.strip())) if additional else "",
            amount_elem,
            direction,
        )


# The fields of _EntryReader._transaction's tuple.
_NAME, _IBAN, _REFERENCE, _FREE_TEXT, _END_TO_END, _TX_REFERENCE, _ADDITIONAL = range(7)
_AMOUNT, _DIRECTION = 7, 8
_NO_TRANSACTION = ("", "", "", "", "", "", "", None, "")
_AMOUNT_MATCH = _AMOUNT_RE.fullmatch


def _path(elem: etree._Element | None, local: dict, *tags: str) -> etree._Element | None:
    for tag in tags:
        if elem is None:
            return None
        for child in elem[:]:
            if local.get(child.tag) == tag:
                elem = child
                break
        else:
            return None
    return elem


def _party_name(party: etree._Element, t_nm: str, t_pty: str) -> str:
    """Nm, or Pty/Nm: camt.053.001.08 may wrap the party in a Pty element."""
    for child in party[:]:
        tag = child.tag
        if tag == t_nm:
            text = child.text
            return text.strip() if text else ""
        if tag == t_pty:
            return _party_name(child, t_nm, t_pty)
    return ""
