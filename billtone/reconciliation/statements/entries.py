"""What every statement parser yields: entries, per-statement summaries, one error type."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from billtone.core.errors import ApplicationError
from billtone.core.money import Money

CURRENCY_RE = re.compile(r"[A-Z]{3}")
# The shape of an IBAN (country, check digits, 11 to 30 letters/digits). Bank exports
# carry anonymised or legacy numbers whose checksum fails; the shape is what tells an
# IBAN from a customer reference there.
IBAN_RE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")


# A byte-order mark names its encoding: it wins over any other said or guessed (UTF-32's
# little-endian mark begins like UTF-16's, so it is tried first).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def bom_encoding(head: bytes) -> str:
    """The encoding a file's byte-order mark names ('' when it has none), as Python calls it:
    a codec that reads and drops the mark."""
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding
    return ""


def iban_like(value: str) -> str:
    """`value` compacted and upper-cased when it has the shape of an IBAN, else ''."""
    compact = value.replace(" ", "").upper()
    return compact if IBAN_RE.fullmatch(compact) else ""


class StatementFormatError(ApplicationError):
    """The file is not a statement this importer can read; says which file and where."""

    def __init__(self, file: str, detail: str, *, line: int | None = None, where: str = ""):
        place = ", ".join(p for p in (f"line {line}" if line else "", where) if p)
        message = f"{file}: {place}: {detail}" if place else f"{file}: {detail}"
        super().__init__(
            detail=message,
            slug="statement-format",
            title="The statement file cannot be read",
            status=422,
            errors={"file": [message]},
        )
        self.file = file
        self.line = line
        self.where = where
        self.reason = detail


@dataclass(slots=True)
class StatementEntry:
    """One booked movement on the operator's account, as the bank reports it.

    A camt.053 entry that batches several transactions yields one StatementEntry per
    transaction (`transaction_index` 0, 1, ...) when the transactions carry amounts that
    add up to the entry's; otherwise the batch is kept whole. `amount` is always positive;
    `is_credit` says which way the money went (a reversal keeps the direction of its own
    booking: a credit with `is_reversal` is a debit coming back, not a customer payment).
    """

    amount: Decimal
    currency: str
    is_credit: bool
    booking_date: date
    value_date: date | None = None
    is_reversal: bool = False
    status: str = "BOOK"  # camt Sts: BOOK, PDNG, INFO; MT940 and CSV lines are booked
    # The other party: the payer of a credit, the payee of a debit.
    counterparty_name: str = ""
    counterparty_iban: str = ""
    structured_reference: str = ""  # creditor reference(s) given as such, space-separated
    free_text: str = ""  # remittance information as the payer typed it
    end_to_end_id: str = ""  # the payer's own reference (camt EndToEndId, SEPA EREF)
    bank_reference: str = ""  # the bank's reference of the booked entry
    # The transaction's own reference: camt TxDtls/Refs/AcctSvcrRef (inside a batch),
    # MT940 :61: customer reference (NONREF dropped).
    transaction_reference: str = ""
    details: str = ""  # further bank text: the raw MT940 :86:, camt AddtlTxInf/AddtlNtryInf
    account_iban: str = ""  # the operator's account the statement is for
    account_id: str = ""  # the same account's identifier as given (IBAN or other)
    statement_id: str = ""
    entry_number: int = 0  # 1-based: the bank entry's ordinal in the file
    transaction_index: int = 0  # 0-based: its place in a batched entry
    line: int | None = None
    position: str = ""  # for messages: "entry 3 (line 120)"
    identity: str = ""  # stable key for de-duplication, see identity.py

    @property
    def is_debit(self) -> bool:
        return not self.is_credit

    @property
    def payer_name(self) -> str:
        return self.counterparty_name if self.is_credit else ""

    @property
    def payer_iban(self) -> str:
        return self.counterparty_iban if self.is_credit else ""

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)

    @property
    def remittance(self) -> str:
        """Where a creditor reference may be: structured reference and free text together."""
        reference, text = self.structured_reference, self.free_text
        return f"{reference}\n{text}" if reference and text else reference or text


@dataclass(frozen=True, slots=True)
class StatementSummary:
    """Counts, sums and balance check of one statement in the file.

    `credit_entries` counts the bank's entries, `credit_transactions` the StatementEntry
    rows they gave (a batch is one entry, several transactions). Sums are in the statement's
    currency; entries in another currency are only counted in `foreign_entries`. A statement
    whose opening balance plus credits minus debits misses its closing balance lacks entries
    (or carries edited ones): `problems` says so and `balanced` is False.
    """

    statement_id: str
    account_iban: str
    account_id: str
    currency: str
    position: str
    opening_balance: Decimal | None = None
    closing_balance: Decimal | None = None
    credit_entries: int = 0
    credit_transactions: int = 0
    credit_sum: Decimal = Decimal(0)
    debit_entries: int = 0
    debit_transactions: int = 0
    debit_sum: Decimal = Decimal(0)
    foreign_entries: int = 0
    problems: tuple[str, ...] = ()

    @property
    def balanced(self) -> bool | None:
        """None when the statement gives no balances (or mixes currencies) to check."""
        if self.opening_balance is None or self.closing_balance is None:
            return None
        if self.foreign_entries:
            return None
        return self.opening_balance + self.credit_sum - self.debit_sum == self.closing_balance


@dataclass
class Tally:
    """Running counts of one statement, turned into a StatementSummary at its end."""

    statement_id: str = ""
    account_iban: str = ""
    account_id: str = ""
    currency: str = ""
    position: str = ""
    opening_balance: Decimal | None = None
    closing_balance: Decimal | None = None
    problems: list[str] = field(default_factory=list)
    control: list[tuple[str, str, str]] = field(default_factory=list)  # camt TxsSummry
    credit_entries: int = 0
    credit_transactions: int = 0
    credit_sum: Decimal = Decimal(0)
    debit_entries: int = 0
    debit_transactions: int = 0
    debit_sum: Decimal = Decimal(0)
    foreign_entries: int = 0
    _last_entry: int = -1

    def add(self, entry: StatementEntry) -> None:
        new_entry = entry.entry_number != self._last_entry
        self._last_entry = entry.entry_number
        if not self.currency:
            self.currency = entry.currency
        if entry.currency != self.currency:
            self.foreign_entries += 1
            amount = Decimal(0)
        else:
            amount = entry.amount
        if entry.is_credit:
            self.credit_entries += new_entry
            self.credit_transactions += 1
            self.credit_sum += amount
        else:
            self.debit_entries += new_entry
            self.debit_transactions += 1
            self.debit_sum += amount

    def summary(self) -> StatementSummary:
        problems = list(self.problems)
        if not (self.credit_transactions or self.debit_transactions):
            problems.append("The statement holds no entries: nothing in it is imported.")
        if self.foreign_entries:
            problems.append(
                f"{self.foreign_entries} entries are in another currency than the statement's "
                f"{self.currency}; balances not checked."
            )
        elif self.opening_balance is not None and self.closing_balance is not None:
            expected = self.opening_balance + self.credit_sum - self.debit_sum
            if expected != self.closing_balance:
                problems.append(
                    f"Balances do not add up: opening {self.opening_balance} + credits "
                    f"{self.credit_sum} - debits {self.debit_sum} = {expected}, but the closing "
                    f"balance is {self.closing_balance} (off by "
                    f"{self.closing_balance - expected}): entries are missing or were changed."
                )
        return StatementSummary(
            statement_id=self.statement_id,
            account_iban=self.account_iban,
            account_id=self.account_id,
            currency=self.currency,
            position=self.position,
            opening_balance=self.opening_balance,
            closing_balance=self.closing_balance,
            credit_entries=self.credit_entries,
            credit_transactions=self.credit_transactions,
            credit_sum=self.credit_sum,
            debit_entries=self.debit_entries,
            debit_transactions=self.debit_transactions,
            debit_sum=self.debit_sum,
            foreign_entries=self.foreign_entries,
            problems=tuple(problems),
        )
