"""What operator staff decide about a bank entry in review: allocate it or mark it returned.

Each decision locks the entry, checks it is still in review, and writes an audit entry. An
allocation posts the same ledger transaction the importer would have posted (bank clearing
-> business funds, key `bank-entry:<identity>`, so an entry is credited once however often
staff click), marks a bank transfer received when staff pick one, and emails "funds
received" to the billing email (rendered when sent, as the importer's).
"""

from __future__ import annotations

from django.db import transaction

from billtone.accounts.models import Account
from billtone.banktransfers.models import BankTransfer
from billtone.banktransfers.services import bank_transfer_receive
from billtone.core import clock
from billtone.core.errors import Conflict, ValidationFailed
from billtone.core.money import Money
from billtone.core.services import Actor, audit_record
from billtone.ledger.models import LedgerKind
from billtone.ledger.services import (
    Leg,
    customer_ledger_accounts,
    operator_ledger_account,
    transaction_post,
)
from billtone.notifications.services import billing_email_queue_unrendered
from billtone.reconciliation.credits import TRANSACTION_KIND, ledger_key, ledger_memo
from billtone.reconciliation.emails import (
    TEMPLATE,
    funds_received_key,
    funds_received_queued,
)
from billtone.reconciliation.models import BankEntry

NOTE_LIMIT = 2000


def _locked_in_review(entry_id: int, status: str) -> BankEntry:
    entry = BankEntry.objects.select_for_update().filter(pk=entry_id).first()
    if entry is None:
        raise ValidationFailed({"entry": ["No such bank entry."]})
    if not entry.can_become(status):
        raise Conflict(
            f"This bank entry is {entry.get_status_display().lower()} already: "
            "only an entry in review can be allocated or returned.",
            slug="bank-entry-decided",
            title="Bank entry already decided",
        )
    return entry


@transaction.atomic
def bank_entry_allocate(
    *,
    entry_id: int,
    account: Account,
    actor: Actor,
    bank_transfer: BankTransfer | None = None,
    note: str = "",
) -> BankEntry:
    """Credit the entry in review to `account`'s business funds, with the amount that
    arrived; with `bank_transfer` (one of that account's), mark that request received.
    Refused, changing nothing, when the entry is not in review, the account's currency is
    not the entry's, or the request is another account's, in another currency or received."""
    entry = _locked_in_review(entry_id, BankEntry.Status.ALLOCATED)
    currency = account.billing_profile.currency
    errors: dict[str, list[str]] = {}
    if currency != entry.currency:
        errors["account"] = [
            f"The transfer is in {entry.currency}; {account.name}'s business funds are in "
            f"{currency}. Return it to the payer instead."
        ]
    if bank_transfer is not None:
        if bank_transfer.account_id != account.pk:
            errors["bank_transfer"] = ["This bank transfer belongs to another account."]
        elif bank_transfer.status in BankTransfer.RECEIVED_STATUSES:
            errors["bank_transfer"] = ["This bank transfer has received its money already."]
    if len(note) > NOTE_LIMIT:
        errors["note"] = [f"At most {NOTE_LIMIT} characters."]
    if errors:
        raise ValidationFailed(errors, detail="The bank entry was not allocated.")

    money = Money(entry.amount, entry.currency)
    txn = transaction_post(
        kind=TRANSACTION_KIND,
        memo=ledger_memo(bank_transfer.reference if bank_transfer is not None else ""),
        postings=[
            Leg(operator_ledger_account(kind=LedgerKind.BANK_CLEARING, currency=currency), -money),
            Leg(customer_ledger_accounts(account=account).business_funds, money),
        ],
        idempotency_key=ledger_key(entry.identity),
        actor=actor,
        external_reference=(entry.bank_reference or entry.identity)[:255],
        statement_reference=bank_transfer.reference if bank_transfer is not None else "",
    )
    now = clock.now()
    if bank_transfer is not None:
        bank_transfer = bank_transfer_receive(
            bank_transfer_id=bank_transfer.pk, amount=entry.amount, received_at=now
        )
    entry.status = BankEntry.Status.ALLOCATED
    entry.account = account
    entry.bank_transfer = bank_transfer
    entry.ledger_transaction = txn
    _decided(entry, actor=actor, note=note, now=now)
    audit_record(
        actor=actor,
        action="bank_entry.allocate",
        obj=entry,
        account_id=account.pk,
        changes={
            "status": [BankEntry.Status.REVIEW, BankEntry.Status.ALLOCATED],
            "account": [None, account.pk],
            "amount": [None, money.plain()],
            "bank_transfer": [None, bank_transfer.reference if bank_transfer else None],
            "ledger_transaction": [None, txn.pk],
            **_note(note),
        },
    )
    billing_email_queue_unrendered(
        account=account,
        key=funds_received_key(entry.identity),
        template=TEMPLATE,
        context=funds_received_queued(entry.identity),
    )
    return entry


@transaction.atomic
def bank_entry_return(*, entry_id: int, actor: Actor, note: str = "") -> BankEntry:
    """Mark the entry in review as returned to the payer (staff send the money back through
    the bank); nothing is credited."""
    entry = _locked_in_review(entry_id, BankEntry.Status.RETURNED)
    if len(note) > NOTE_LIMIT:
        raise ValidationFailed({"note": [f"At most {NOTE_LIMIT} characters."]})
    entry.status = BankEntry.Status.RETURNED
    _decided(entry, actor=actor, note=note, now=clock.now())
    audit_record(
        actor=actor,
        action="bank_entry.return",
        obj=entry,
        changes={
            "status": [BankEntry.Status.REVIEW, BankEntry.Status.RETURNED],
            **_note(note),
        },
    )
    return entry


def _decided(entry: BankEntry, *, actor: Actor, note: str, now) -> None:
    entry.decided_by_id = actor.user_id
    entry.decided_by_label = actor.label[:200]
    entry.decided_at = now
    entry.decision_note = note.strip()
    entry.save()


def _note(note: str) -> dict[str, list]:
    return {"note": ["", note.strip()]} if note.strip() else {}
