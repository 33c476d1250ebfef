"""What a statement import reads and decides, as plain data: the credits of a statement, the
counts of an import, the entry rows it stores, the ledger key and memo of a credit, and the
known references a batch quotes. No writes here (import_run writes)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from billtone.accounts.selectors import billing_currencies
from billtone.banktransfers.references import reference_format
from billtone.banktransfers.services import references_find
from billtone.reconciliation import matching
from billtone.reconciliation.import_storage import EntryRow

TRANSACTION_KIND = "bank_transfer"


def ledger_key(identity: str) -> str:
    """The ledger idempotency key of a bank entry's credit, however it is credited."""
    return f"bank-entry:{identity}"


@lru_cache(maxsize=65536)
def ledger_memo(reference: str) -> str:
    return f"Bank transfer {reference_format(reference)}" if reference else "Bank transfer"


@dataclass(slots=True)
class Credit:
    """A booked credit of the statement, as the import reads it."""

    identity: str
    amount: Decimal
    currency: str
    booking_date: date
    value_date: date | None
    is_reversal: bool
    payer_name: str
    payer_iban: str
    structured_reference: str
    free_text: str
    end_to_end_id: str
    bank_reference: str
    position: str


@dataclass
class Counts:
    credits: int = 0
    matched: int = 0
    to_review: int = 0
    duplicates_skipped: int = 0
    # Of those, entries without the bank's reference (identity.py's fallback keys): two
    # look-alike payments of one day can share a key across statements cut mid-day.
    fallback_duplicates: int = 0
    totals: dict[str, Decimal] = field(default_factory=dict)

    def plus(self, other: Counts) -> Counts:
        totals = dict(self.totals)
        for currency, amount in other.totals.items():
            totals[currency] = totals.get(currency, Decimal(0)) + amount
        return Counts(
            credits=self.credits + other.credits,
            matched=self.matched + other.matched,
            to_review=self.to_review + other.to_review,
            duplicates_skipped=self.duplicates_skipped + other.duplicates_skipped,
            fallback_duplicates=self.fallback_duplicates + other.fallback_duplicates,
            totals=totals,
        )


def entry_row(
    record_id: int,
    c: Credit,
    now: datetime,
    *,
    status: str,
    reference: str,
    review_reason: str = "",
    account_id: int | None = None,
    bank_transfer_id: int | None = None,
    ledger_transaction_id: int | None = None,
    suggested_account_id: int | None = None,
    suggested_bank_transfer_id: int | None = None,
    suggestion_reason: str = "",
) -> EntryRow:
    return EntryRow(
        statement_import_id=record_id,
        identity=c.identity,
        position=c.position[:100],
        amount=c.amount,
        currency=c.currency,
        booking_date=c.booking_date,
        value_date=c.value_date,
        payer_name=c.payer_name[:255],
        payer_iban=c.payer_iban[:34],
        structured_reference=c.structured_reference[:255],
        free_text=c.free_text,
        end_to_end_id=c.end_to_end_id[:255],
        bank_reference=c.bank_reference[:255],
        status=status,
        review_reason=review_reason,
        reference=reference[:25],
        account_id=account_id,
        bank_transfer_id=bank_transfer_id,
        suggested_account_id=suggested_account_id,
        suggested_bank_transfer_id=suggested_bank_transfer_id,
        suggestion_reason=suggestion_reason,
        ledger_transaction_id=ledger_transaction_id,
        created_at=now,
    )


def targets_find(readings: Iterable[str]) -> dict[str, matching.Target]:
    """Every known reference among `readings`: permanent account references and requests,
    with their account's billing currency."""
    permanent, requests = references_find(list(dict.fromkeys(readings)))
    currencies = billing_currencies(
        account_ids={row[1] for row in permanent} | {row[2] for row in requests}
    )
    found: dict[str, matching.Target] = {}
    for reference, account_id in permanent:
        found[reference] = matching.Target(reference, account_id, currencies.get(account_id, ""))
    for reference, pk, account_id, request_currency, amount in requests:
        found[reference] = matching.Target(
            reference, account_id, currencies.get(account_id, ""), pk, request_currency, amount
        )
    return found
