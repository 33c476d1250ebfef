"""camt.053 entries: each Ntry read into its StatementEntry rows.

`EntryReader.read` turns an entry into one row, or into one row per transaction when a
batch's amounts add up to the entry's (its TxDtls are read by camt053_transactions.py).
`text_of` and `amount_of` are the element readers the statement's header (camt053.py)
shares.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

from lxml import etree

from billtone.reconciliation.statements.camt053_transactions import (
    AMOUNT,
    NO_TRANSACTION,
    TransactionReader,
    batch_rows,
)
from billtone.reconciliation.statements.entries import (
    CURRENCY_RE,
    StatementEntry,
    StatementFormatError,
    Tally,
)

AMOUNT_RE = re.compile(r"[0-9]+(\.[0-9]+)?")


def text_of(elem: etree._Element | None) -> str:
    text = elem.text if elem is not None else None  # each .text read decodes anew
    return text.strip() if text else ""


def amount_of(elem: etree._Element | None, name: str, where: str) -> tuple[Decimal, str]:
    text = text_of(elem)
    line = elem.sourceline if elem is not None else None
    if not AMOUNT_RE.fullmatch(text):
        raise StatementFormatError(
            name, f"the amount {text!r} is not a number.", line=line, where=where
        )
    currency = (elem.get("Ccy") or "").strip()
    if not CURRENCY_RE.fullmatch(currency):
        raise StatementFormatError(
            name, f"the amount has no valid currency ({currency!r}).", line=line, where=where
        )
    return Decimal(text), currency


# Entries are read in one pass over each element's children, matched by comparing
# qualified tags. With lxml every child visited costs a Python proxy object, every tag
# read a new "{namespace}Name" string and every text a decoding, which with libxml2's own
# parsing is most of the time a 100,000-entry file takes: so each element is visited once,
# nothing is looked up by path (find, iterchildren, XPath), children are taken as a slice
# (`elem[:]`, which lxml builds faster than it iterates), and tags are compared with the
# expected ones (cheaper than a dict lookup, which hashes each new tag string). The common
# shapes are read inline; helpers (text_of, amount_of; camt053_transactions' _path) serve
# the rare ones and errors. TransactionReader (camt053_transactions.py) reads the same way.


class EntryReader:
    """Turns one Ntry into its StatementEntry rows; holds what a file's entries share."""

    def __init__(self, q: SimpleNamespace, name: str) -> None:
        self.entry_tags = (q.Amt, q.CdtDbtInd, q.Sts, q.BookgDt, q.ValDt, q.AcctSvcrRef)
        self.entry_tags += (q.NtryRef, q.NtryDtls, q.RvslInd, q.AddtlNtryInf, q.TxDtls, q.Cd)
        self.date_tags = (q.Dt, q.DtTm)
        # A bound method, called as one of this reader's own: no extra call per transaction.
        self._transaction = TransactionReader(q).read
        self.name = name
        self.statement_day: date | None = None  # for entries that give no date at all
        self.undated = 0  # entries of the statement dated by statement_day
        self.currencies: dict[str | None, str] = {}  # Ccy as written -> the valid code
        self.dates: dict[str, date] = {}  # a statement's entries share a few dozen dates

    def read(self, ntry: etree._Element, tally: Tally, number: int) -> list[StatementEntry]:
        """The entry's rows: one, or one per transaction of a batch whose amounts add up."""
        (
            amount_elem,
            direction,
            status,
            booking_elem,
            value_elem,
            bank_reference,
            reversal,
            infos,
            transactions,
        ) = self._children(ntry)
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
        value_date = self.day_of(value_elem, number) if value_elem is not None else None
        booking_date = (
            self.day_of(booking_elem, number) if booking_elem is not None else None
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
        # One transaction or none is what nearly every entry carries; a batch is read apart.
        rows = self._batch if len(transactions) > 1 else self._single
        return rows(
            tally,
            number,
            line,
            transactions,
            amount,
            currency,
            is_credit,
            booking_date,
            value_date,
            is_reversal,
            status,
            bank_reference,
            entry_info,
        )

    def _children(self, ntry: etree._Element) -> tuple:
        """One pass over the Ntry's children: Amt, CdtDbtInd, Sts, BookgDt, ValDt, the bank's
        reference, RvslInd, AddtlNtryInf and the TxDtls, as they are written."""
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
                reversal = text_of(child)
            elif tag == t_info:
                infos.append(text_of(child))
        bank_reference = account_ref or entry_ref
        return (
            amount_elem,
            direction,
            status,
            booking_elem,
            value_elem,
            bank_reference,
            reversal,
            infos,
            transactions,
        )

    def _single(
        self,
        tally: Tally,
        number: int,
        line: int | None,
        transactions: list[etree._Element],
        amount: Decimal,
        currency: str,
        is_credit: bool,
        booking_date: date,
        value_date: date | None,
        is_reversal: bool,
        status: str,
        bank_reference: str,
        entry_info: str,
    ) -> list[StatementEntry]:
        """The row of an entry with one transaction or none."""
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
        ) = self._transaction(transactions[0], is_credit) if transactions else NO_TRANSACTION
        free_text = free_text or additional or entry_info
        details = (
            f"{additional}\n{entry_info}" if additional and entry_info else additional or entry_info
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

    def _batch(
        self,
        tally: Tally,
        number: int,
        line: int | None,
        transactions: list[etree._Element],
        amount: Decimal,
        currency: str,
        is_credit: bool,
        booking_date: date,
        value_date: date | None,
        is_reversal: bool,
        status: str,
        bank_reference: str,
        entry_info: str,
    ) -> list[StatementEntry]:
        """The rows of an entry batching transactions: one per transaction when their amounts
        add up to the entry's, else the entry as one row and a problem noted."""
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
            self._amount(p[AMOUNT], number) if p[AMOUNT] is not None else None for p in parts
        ]
        return batch_rows(tally, transactions, parts, amounts, amount, entry_info, common)

    def _amount(self, elem: etree._Element, number: int) -> tuple[Decimal, str]:
        text = elem.text
        text = text.strip() if text else ""
        ccy = elem.get("Ccy")
        currency = self.currencies.get(ccy)
        if currency is None or _AMOUNT_MATCH(text) is None:
            amount, currency = amount_of(elem, self.name, f"entry {number}")
            if len(self.currencies) < 64:
                self.currencies[ccy] = currency
            return amount, currency
        return Decimal(text), currency

    def day_of(self, elem: etree._Element | None, number: int) -> date | None:
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


_AMOUNT_MATCH = AMOUNT_RE.fullmatch
