"""Posting many transactions at once, with the invariants of `services.transaction_post`.

A bank statement of 100,000 credits cannot take one database transaction each. Here a batch
of transactions is posted in one: every ledger account the batch touches is locked once, in
id order (the order every caller uses), floors are checked and `balance_after` computed in
the batch's order exactly as `transaction_post` would have done one after the other, and the
cached balances are written in the same database transaction.

Idempotency is the same as `transaction_post`'s: keys already posted are looked up first
and replayed (same content) or refused (other content, IdempotencyKeyReused); the unique
constraint on the key stays the final guard. When it fires (another process posted one of
the keys since the lookup), the batch is rolled back to its savepoint and posted again one
transaction at a time the way `transaction_post` posts, replaying what the other one posted.
Nothing of a refused batch is written.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, connection, transaction

from billtone.core import clock
from billtone.core.errors import ValidationFailed
from billtone.core.money import Money
from billtone.core.services import Actor
from billtone.ledger.errors import IdempotencyKeyReused, InsufficientFunds
from billtone.ledger.models import LedgerAccount, LedgerKind, Posting, Transaction
from billtone.ledger.services import (
    CALL_CREDIT_LIMIT_DEFAULT,
    Leg,
    _clean,
    _fingerprint,
    _replayed,
    ledger_accounts_lock,
)
from billtone.ledger.services import _write as _write_one


@dataclass(frozen=True)
class BulkTransaction:
    """What `transaction_post` takes, for one transaction of a batch (no reversals here)."""

    kind: str
    memo: str
    postings: Sequence[Leg]
    idempotency_key: str
    external_reference: str = ""


@dataclass(frozen=True)
class BulkPosted:
    transaction_id: int
    created: bool  # False: the key was posted before and this is its replay


def transactions_post_bulk(
    *, transactions: Sequence[BulkTransaction], actor: Actor
) -> list[BulkPosted]:
    """Post `transactions` in one database transaction; one result per input, in order.

    Raises ValidationFailed (a malformed transaction), IdempotencyKeyReused (a key posted
    before, or twice in the batch, with other content) or InsufficientFunds (a debit below
    a floor, checked in the batch's order), and then writes nothing.
    """
    items = list(transactions)
    fingerprints: list[str] = []
    for n, item in enumerate(items):
        legs = list(item.postings)
        try:
            _clean(
                kind=item.kind,
                memo=item.memo,
                legs=legs,
                idempotency_key=item.idempotency_key,
                external_reference=item.external_reference,
            )
        except ValidationFailed as error:
            error.detail = f"Transaction {n + 1} ({item.idempotency_key!r}) of the batch: " + (
                error.detail
            )
            raise
        fingerprints.append(
            _fingerprint(
                kind=item.kind,
                memo=item.memo,
                legs=legs,
                external_reference=item.external_reference,
                reverses_id=None,
            )
        )

    first_of: dict[str, int] = {}  # key -> index of its first occurrence in the batch
    for n, item in enumerate(items):
        first = first_of.setdefault(item.idempotency_key, n)
        if first != n and fingerprints[first] != fingerprints[n]:
            raise IdempotencyKeyReused(item.idempotency_key)

    posted: dict[str, BulkPosted] = {}
    for key, pk, fingerprint in Transaction.objects.filter(
        idempotency_key__in=list(first_of)
    ).values_list("idempotency_key", "pk", "fingerprint"):
        if fingerprint != fingerprints[first_of[key]]:
            raise IdempotencyKeyReused(key)
        posted[key] = BulkPosted(pk, created=False)

    new = [n for key, n in first_of.items() if key not in posted]
    if new:
        try:
            with transaction.atomic():
                ids = _write(
                    items=[items[n] for n in new],
                    fingerprints=[fingerprints[n] for n in new],
                    actor=actor,
                )
            for n, pk in zip(new, ids, strict=True):
                posted[items[n].idempotency_key] = BulkPosted(pk, created=True)
        except IntegrityError:
            # A key was posted by someone else since the lookup: post one at a time as
            # transaction_post does, replaying theirs.
            with transaction.atomic():
                for n in new:
                    posted[items[n].idempotency_key] = _post_one(
                        item=items[n], fingerprint=fingerprints[n], actor=actor
                    )
    return [
        posted[item.idempotency_key]
        if first_of[item.idempotency_key] == n
        else BulkPosted(posted[item.idempotency_key].transaction_id, created=False)
        for n, item in enumerate(items)
    ]


def _post_one(*, item: BulkTransaction, fingerprint: str, actor: Actor) -> BulkPosted:
    """`transaction_post` for one item, telling a new transaction from a replay."""
    existing = _replayed(idempotency_key=item.idempotency_key, fingerprint=fingerprint)
    if existing is not None:
        return BulkPosted(existing.pk, created=False)
    try:
        with transaction.atomic():
            txn = _write_one(
                kind=item.kind,
                memo=item.memo,
                legs=list(item.postings),
                idempotency_key=item.idempotency_key,
                fingerprint=fingerprint,
                actor=actor,
                external_reference=item.external_reference,
                reverses=None,
            )
        return BulkPosted(txn.pk, created=True)
    except (IntegrityError, InsufficientFunds):
        existing = _replayed(idempotency_key=item.idempotency_key, fingerprint=fingerprint)
        if existing is None:
            raise
        return BulkPosted(existing.pk, created=False)


def _write(*, items: list[BulkTransaction], fingerprints: list[str], actor: Actor) -> list[int]:
    wanted = {leg.ledger_account.pk for item in items for leg in item.postings}
    accounts = ledger_accounts_lock(ids=wanted)
    if len(accounts) != len(wanted):
        raise ValidationFailed({"postings": ["A ledger account of this batch is gone."]})

    balances = {pk: account.balance for pk, account in accounts.items()}
    for item in items:
        net: dict[int, Decimal] = defaultdict(Decimal)
        for leg in item.postings:
            net[leg.ledger_account.pk] += leg.amount.amount
        for pk, change in net.items():
            account = accounts[pk]
            if change < 0 and account.floor is not None and balances[pk] + change < account.floor:
                raise InsufficientFunds(
                    label=account.get_kind_display() if account.is_customer else str(account),
                    balance=Money(balances[pk], account.currency),
                    debit=Money(-change, account.currency),
                    floor=Money(account.floor, account.currency),
                )
            balances[pk] += change

    now = clock.now()
    label = actor.label[:200]
    created = Transaction.objects.bulk_create(
        [
            Transaction(
                kind=item.kind,
                memo=item.memo.strip(),
                external_reference=item.external_reference or "",
                created_by=label,
                idempotency_key=item.idempotency_key,
                fingerprint=fingerprint,
                created_at=now,
            )
            for item, fingerprint in zip(items, fingerprints, strict=True)
        ]
    )
    running = {pk: account.balance for pk, account in accounts.items()}
    rows = []
    for item, txn in zip(items, created, strict=True):
        for leg in item.postings:
            pk = leg.ledger_account.pk
            running[pk] += leg.amount.amount
            rows.append(
                Posting(
                    transaction_id=txn.pk,
                    ledger_account_id=pk,
                    amount=leg.amount.amount,
                    currency=leg.amount.currency,
                    balance_after=running[pk],
                    created_at=now,
                )
            )
    Posting.objects.bulk_create(rows)
    changed = {pk: value for pk, value in running.items() if value != accounts[pk].balance}
    _balances_write(changed)
    return [txn.pk for txn in created]


def _balances_write(balances: Mapping[int, Decimal]) -> None:
    if not balances:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE ledger_ledgeraccount AS a SET balance = v.balance "
                "FROM unnest(%s::bigint[], %s::numeric[]) AS v(id, balance) WHERE a.id = v.id",
                [list(balances), list(balances.values())],
            )
        return
    LedgerAccount.objects.bulk_update(
        [LedgerAccount(pk=pk, balance=balance) for pk, balance in balances.items()], ["balance"]
    )


def business_funds_accounts(*, currencies: Mapping[int, str]) -> dict[int, LedgerAccount]:
    """Each customer account's business funds in the given currency (its billing currency),
    with call credit beside it, made on first use as `customer_ledger_accounts` makes them;
    for many customers in three queries."""
    floors = {
        LedgerKind.BUSINESS_FUNDS: Decimal(0),
        LedgerKind.CALL_CREDIT: -CALL_CREDIT_LIMIT_DEFAULT,
    }

    def existing() -> dict[tuple[int, str, str], LedgerAccount]:
        rows = LedgerAccount.objects.filter(account_id__in=list(currencies), kind__in=floors)
        return {(row.account_id, row.kind, row.currency): row for row in rows}

    found = existing()
    missing = [
        (account_id, kind, currency)
        for account_id, currency in currencies.items()
        for kind in floors
        if (account_id, kind, currency) not in found
    ]
    if missing:
        now = clock.now()
        LedgerAccount.objects.bulk_create(
            [
                LedgerAccount(
                    account_id=account_id,
                    kind=kind,
                    currency=currency,
                    floor=floors[kind],
                    created_at=now,
                )
                for account_id, kind, currency in missing
            ],
            ignore_conflicts=True,  # made at the same moment elsewhere: the unique one wins
        )
        found = existing()
    return {
        account_id: found[(account_id, LedgerKind.BUSINESS_FUNDS, currency)]
        for account_id, currency in currencies.items()
    }
