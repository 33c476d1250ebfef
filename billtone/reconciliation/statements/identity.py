"""A stable identity for each statement entry, so that importing it twice credits it once.

The importer stores `StatementEntry.identity` under a unique constraint. The key must come
out the same when the same booking arrives again: the same file re-imported, a later
statement that overlaps an earlier one, a re-export by the bank.

- With the bank's reference of the entry ("b-" keys): the account, that reference and the
  transaction's own, the transaction's place in a batched entry, booking date, direction,
  amount and currency. The reference alone is not trusted: some banks number
  entries per statement (camt NtryRef "1", "2", ...), and batch transactions may share one
  reference (PostFinance gives both payments of a batch the batch's id).
- Without one ("f-" keys, the fallback for MT940 and CSV exports that carry none): the
  account, booking and value date, direction, amount, currency, every reference and the
  free text (whitespace collapsed), the counterparty's name and IBAN.

Both end in an occurrence counter: the n-th entry with the same key in one file gets n.
Two genuinely separate payments that look alike (same payer, amount, text and day) stay
two entries, and in a re-import or an overlapping statement that covers the whole day they
count up the same way. The limit, by design: a statement cut in the middle of a booking day
can hold the second of two look-alike payments as its "first"; keys then collide and the
importer must treat that collision as needing review rather than as a duplicate.
"""

from __future__ import annotations

import hashlib
from datetime import date

from billtone.reconciliation.statements.entries import StatementEntry

_SEP = "\x1f"  # unit separator: cannot occur in the fields
# One hasher made with the digest size, copied per entry: cheaper than a new one each time.
_BLAKE2B = hashlib.blake2b(digest_size=20)


def _norm(text: str) -> str:
    """Whitespace runs as one space, none at the ends (str.split's whitespace is \\s)."""
    return " ".join(text.split()) if text else ""


def identity_base(entry: StatementEntry) -> str:
    """The entry's identity before its occurrence count: kind ("b" or "f") and a digest."""
    account = _ACCOUNTS.get(entry.account_id)
    if account is None:
        account = entry.account_id.replace(" ", "").upper()
        if len(_ACCOUNTS) < 1024:
            _ACCOUNTS[entry.account_id] = account
    amount = format(entry.amount.normalize(), "f")
    direction = "C" if entry.is_credit else "D"
    booked = _DAYS.get(entry.booking_date)
    if booked is None:
        booked = entry.booking_date.isoformat()
        if len(_DAYS) < 4096:
            _DAYS[entry.booking_date] = booked
    if entry.bank_reference:
        kind = "b-"
        parts = (
            account,
            booked,
            direction,
            amount,
            entry.currency,
            _norm(entry.bank_reference),
            _norm(entry.transaction_reference) if entry.transaction_reference else "",
            str(entry.transaction_index),
        )
    else:
        kind = "f-"
        parts = (
            account,
            booked,
            direction,
            amount,
            entry.currency,
            entry.value_date.isoformat() if entry.value_date else "",
            _norm(entry.structured_reference),
            _norm(entry.free_text),
            _norm(entry.end_to_end_id),
            _norm(entry.transaction_reference),
            _norm(entry.counterparty_name),
            entry.counterparty_iban.replace(" ", "").upper(),
        )
    digest = _BLAKE2B.copy()
    digest.update(_SEP.join(parts).encode())
    return kind + digest.hexdigest()


# What every entry of a statement shares, formatted once: the account's identifier, the
# booking days. Each value depends on its key alone.
_ACCOUNTS: dict[str, str] = {}
_DAYS: dict[date, str] = {}


def entry_identity(entry: StatementEntry, occurrence: int = 0) -> str:
    """The identity of `entry`, the `occurrence`-th (from 0) of its look-alikes in the file.

    At most 53 characters: "b-" or "f-", 40 hex digits, and "/n" from the second
    look-alike on.
    """
    base = identity_base(entry)
    return f"{base}/{occurrence}" if occurrence else base


class EntryIdentities:
    """Hands out identities in file order, counting look-alikes as it goes."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def __call__(self, entry: StatementEntry) -> str:
        base = identity_base(entry)
        occurrence = self._seen.get(base, 0)
        self._seen[base] = occurrence + 1
        return f"{base}/{occurrence}" if occurrence else base
