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
    ledger_accounts_lock,
    transaction_post,
)


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
    # False: the key was posted before and this is its replay. (In the one-by-one fallback,
    # a key posted by another process in the same instant can still read as created.)
    created: bool


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
    for key, pk, fingerprint in _posted_before(list(first_of)):
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
                    item = items[n]
                    before = Transaction.objects.filter(idempotency_key=item.idempotency_key)
                    replayed = before.exists()
                    txn = transaction_post(
                        kind=item.kind,
                        memo=item.memo,
                        postings=item.postings,
                        idempotency_key=item.idempotency_key,
                        actor=actor,
                        external_reference=item.external_reference,
                    )
                    posted[item.idempotency_key] = BulkPosted(txn.pk, created=not replayed)
    return [
        posted[item.idempotency_key]
        if first_of[item.idempotency_key] == n
        else BulkPosted(posted[item.idempotency_key].transaction_id, created=False)
        for n, item in enumerate(items)
    ]


def _posted_before(keys: list[str]) -> list[tuple[str, int, str]]:
    """(key, transaction id, fingerprint) of the keys posted already."""
    if connection.vendor == "postgresql" and not any(_US in key for key in keys):
        # One text parameter split by PostgreSQL: no plan for 2,000 constants, and no
        # element-by-element adaptation of a list by psycopg.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT idempotency_key, id, fingerprint FROM ledger_transaction "
                "WHERE idempotency_key = ANY(string_to_array(%s, chr(31)))",
                [_US.join(keys)],
            )
            return cursor.fetchall()
    return list(
        Transaction.objects.filter(idempotency_key__in=keys).values_list(
            "idempotency_key", "pk", "fingerprint"
        )
    )


def _write(*, items: list[BulkTransaction], fingerprints: list[str], actor: Actor) -> list[int]:
    postgres = connection.vendor == "postgresql"
    wanted = {leg.ledger_account.pk for item in items for leg in item.postings}
    balances, floors = (_lock_postgres if postgres else _lock_portable)(ids=wanted)
    if len(balances) != len(wanted):
        raise ValidationFailed({"postings": ["A ledger account of this batch is gone."]})

    start = dict(balances)
    rows: list[list[tuple[int, Decimal, str, Decimal]]] = []
    for item in items:
        net: dict[int, Decimal] = defaultdict(Decimal)
        for leg in item.postings:
            net[leg.ledger_account.pk] += leg.amount.amount
        for pk, change in net.items():
            if change < 0 and floors[pk] is not None and balances[pk] + change < floors[pk]:
                account = LedgerAccount.objects.select_related("account").get(pk=pk)
                raise InsufficientFunds(
                    label=account.get_kind_display() if account.is_customer else str(account),
                    balance=Money(balances[pk], account.currency),
                    debit=Money(-change, account.currency),
                    floor=Money(account.floor, account.currency),
                )
        legs = []
        for leg in item.postings:  # balance_after leg by leg, as transaction_post does
            pk = leg.ledger_account.pk
            balances[pk] += leg.amount.amount
            legs.append((pk, leg.amount.amount, leg.amount.currency, balances[pk]))
        rows.append(legs)

    now = clock.now()  # taken under the locks: statement order is posting order
    label = actor.label[:200]
    transactions = [
        (
            item.kind,
            item.memo.strip(),
            item.external_reference or "",
            label,
            item.idempotency_key,
            fingerprint,
            now,
        )
        for item, fingerprint in zip(items, fingerprints, strict=True)
    ]
    changed = {pk: balance for pk, balance in balances.items() if balance != start[pk]}
    insert = _insert_postgres if postgres else _insert_portable
    return insert(transactions=transactions, rows=rows, balances=changed, now=now)


def _lock_portable(*, ids: set[int]):
    accounts = ledger_accounts_lock(ids=ids)
    return (
        {pk: account.balance for pk, account in accounts.items()},
        {pk: account.floor for pk, account in accounts.items()},
    )


def _insert_portable(*, transactions, rows, balances, now) -> list[int]:
    created = Transaction.objects.bulk_create(
        [
            Transaction(
                kind=kind,
                memo=memo,
                external_reference=external_reference,
                created_by=created_by,
                idempotency_key=key,
                fingerprint=fingerprint,
                created_at=created_at,
            )
            for kind, memo, external_reference, created_by, key, fingerprint, created_at in (
                transactions
            )
        ]
    )
    Posting.objects.bulk_create(
        [
            Posting(
                transaction_id=txn.pk,
                ledger_account_id=pk,
                amount=amount,
                currency=currency,
                balance_after=after,
                created_at=now,
            )
            for txn, legs in zip(created, rows, strict=True)
            for pk, amount, currency, after in legs
        ]
    )
    LedgerAccount.objects.bulk_update(
        [LedgerAccount(pk=pk, balance=balance) for pk, balance in balances.items()], ["balance"]
    )
    return [txn.pk for txn in created]


# PostgreSQL: lock in one statement, take the transactions' ids from their sequence, COPY the
# transactions and postings in, and write the balances in one statement. The unique key, the
# constraints and the deferred balance trigger (migration 0002) check these rows exactly as
# they check transaction_post's.

_LOCK_SQL = """
SELECT id, balance, floor FROM ledger_ledgeraccount
WHERE id = ANY(string_to_array(%s, ',')::bigint[]) ORDER BY id FOR UPDATE
"""
_IDS_SQL = (
    "SELECT nextval(pg_get_serial_sequence('ledger_transaction', 'id')) FROM generate_series(1, %s)"
)
_BALANCES_SQL = """
UPDATE ledger_ledgeraccount AS a SET balance = v.balance
FROM unnest(string_to_array(%s, ',')::bigint[], string_to_array(%s, ',')::numeric[])
    AS v(id, balance)
WHERE a.id = v.id
"""
_US = "\x1f"  # unit separator


def _lock_postgres(*, ids: set[int]):
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_SQL, [",".join(map(str, sorted(ids)))])
        found = cursor.fetchall()
    return {pk: balance for pk, balance, _ in found}, {pk: floor for pk, _, floor in found}


def _insert_postgres(*, transactions, rows, balances, now) -> list[int]:
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.execute(_IDS_SQL, [len(transactions)])
        ids = [pk for (pk,) in cursor.fetchall()]
        raw = cursor.cursor
        with raw.copy(
            "COPY ledger_transaction (id, kind, memo, external_reference, created_by, "
            "idempotency_key, fingerprint, created_at) FROM STDIN"
        ) as copy:
            for pk, values in zip(ids, transactions, strict=True):
                copy.write_row((pk, *values))
        with raw.copy(
            "COPY ledger_posting (transaction_id, ledger_account_id, amount, currency, "
            "balance_after, created_at) FROM STDIN"
        ) as copy:
            for pk, legs in zip(ids, rows, strict=True):
                for account_id, amount, currency, after in legs:
                    copy.write_row((pk, account_id, amount, currency, after, now))
        if balances:
            cursor.execute(
                _BALANCES_SQL,
                [",".join(map(str, balances)), ",".join(map(str, balances.values()))],
            )
    return ids


def business_funds_accounts(*, currencies: Mapping[int, str]) -> dict[int, LedgerAccount]:
    """Each customer account's business funds in the given currency (its billing currency),
    made on first use with call credit beside it, as `customer_ledger_accounts` makes them;
    for many customers in a few queries."""
    floors = {
        LedgerKind.BUSINESS_FUNDS: Decimal(0),
        LedgerKind.CALL_CREDIT: -CALL_CREDIT_LIMIT_DEFAULT,
    }

    def business_funds(account_ids) -> dict[int, LedgerAccount]:
        rows = LedgerAccount.objects.filter(
            account_id__in=account_ids, kind=LedgerKind.BUSINESS_FUNDS
        )
        return {row.account_id: row for row in rows if row.currency == currencies[row.account_id]}

    found = business_funds(list(currencies))
    new = {account_id: c for account_id, c in currencies.items() if account_id not in found}
    if new:
        now = clock.now()
        LedgerAccount.objects.bulk_create(
            [
                LedgerAccount(
                    account_id=account_id,
                    kind=kind,
                    currency=currency,
                    floor=floor,
                    created_at=now,
                )
                for account_id, currency in new.items()
                for kind, floor in floors.items()
            ],
            ignore_conflicts=True,  # made at the same moment elsewhere: the unique one wins
        )
        found.update(business_funds(list(new)))
    return found
