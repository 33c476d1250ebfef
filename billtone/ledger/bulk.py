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

import contextlib
import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, connection, transaction

from billtone.core import clock
from billtone.core.errors import ValidationFailed
from billtone.core.services import Actor
from billtone.ledger import floors, hooks
from billtone.ledger.errors import IdempotencyKeyReused
from billtone.ledger.models import LedgerAccount, LedgerKind, Posting, Transaction
from billtone.ledger.services import (
    Leg,
    ledger_accounts_lock,
    transaction_clean,
    transaction_fingerprint,
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
    statement_reference: str = ""


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
    session = BulkSession(actor=actor)
    try:
        with transaction.atomic():
            with session.batch() as post:
                results = post(transactions)
            session.close()
        return results
    except IntegrityError:
        batch = session.checked
        assert batch is not None
        # A key was posted by someone else since the lookup: post one at a time as
        # transaction_post does, replaying theirs.
        posted = dict(batch.posted)
        with transaction.atomic():
            for n in batch.new:
                item = batch.items[n]
                before = Transaction.objects.filter(idempotency_key=item.idempotency_key)
                replayed = before.exists()
                txn = transaction_post(
                    kind=item.kind,
                    memo=item.memo,
                    postings=item.postings,
                    idempotency_key=item.idempotency_key,
                    actor=actor,
                    external_reference=item.external_reference,
                    statement_reference=item.statement_reference,
                )
                posted[item.idempotency_key] = BulkPosted(txn.pk, created=not replayed)
        return dataclasses.replace(batch, posted=posted).results()


class BulkSession:
    """Posts batch after batch inside one database transaction (a bank statement import).

    Each ledger account is locked when a batch first touches it and stays locked to the
    end; its balance is carried here from batch to batch and the cached balances are
    written once, by `close()`, before the transaction commits. (Writing them after every
    batch makes PostgreSQL keep a new version of the same rows each time, which every later
    look-up of those rows in the transaction walks: docs/benchmarks.md.) Postings get their
    `balance_after` exactly as `transaction_post` would have given them one by one.

        session = BulkSession(actor=actor)
        with transaction.atomic():            # the caller's savepoint for the batch
            with session.batch() as post:
                results = post(transactions)
        ...
        session.close()                         # in the same database transaction

    What a batch carried forward is kept only when its `with session.batch()` block ends
    without an exception: roll the caller's savepoint back on an exception, and the session
    forgets that batch (and the locks it took, which the rollback released). On an
    IntegrityError (a key posted elsewhere since the look-up) nothing is replayed here: the
    caller rolls the batch back and posts it again.
    """

    def __init__(self, *, actor: Actor, keys_new: bool = False) -> None:
        """`keys_new`: the caller knows that none of its keys was posted before (a statement
        import's keys name bank entries it has just found new), so they are not looked up
        for replays; a key posted meanwhile still fails the batch, on the unique key."""
        self.actor = actor
        self.keys_new = keys_new
        self.balances: dict[int, Decimal] = {}  # locked accounts: balance so far
        self.floors: dict[int, Decimal | None] = {}
        self.start: dict[int, Decimal] = {}  # locked accounts: balance when locked
        self.checked: CheckedBatch | None = None  # the last batch, once checked
        self.closed = False

    @staticmethod
    def check(transactions: Sequence[BulkTransaction]) -> CheckedBatch:
        """Check a batch before it is posted, without the database (any thread may do it):
        every transaction cleaned as `transaction_post` cleans it, fingerprinted, a key
        given twice with other content refused. `post` takes the result."""
        return CheckedBatch.of(transactions)

    @contextlib.contextmanager
    def batch(
        self,
    ) -> Iterator[Callable[[Sequence[BulkTransaction] | CheckedBatch], list[BulkPosted]]]:
        if self.closed:
            raise RuntimeError("This posting session is closed.")
        balances, floors, start = dict(self.balances), dict(self.floors), dict(self.start)

        def post(transactions: Sequence[BulkTransaction] | CheckedBatch) -> list[BulkPosted]:
            return self._post(transactions, balances, floors, start)

        yield post
        self.balances, self.floors, self.start = balances, floors, start

    def lock(self, *, ids: Iterable[int]) -> dict[int, tuple[Decimal, Decimal | None]]:
        """Lock these ledger accounts now, in id order, inside the caller's transaction, and
        return each one's (balance, floor) as the session carries it: a caller that must see
        the balances before it decides what to post (call charges paid down to a floor) locks
        once, and the batches posted after find them locked."""
        if not connection.in_atomic_block:
            raise RuntimeError("Lock a session's accounts inside a database transaction.")
        wanted = set(ids)
        missing = wanted - self.balances.keys()
        if missing:
            postgres = connection.vendor == "postgresql"
            locked, locked_floors = (_lock_postgres if postgres else _lock_portable)(ids=missing)
            if len(locked) != len(missing):
                raise ValidationFailed({"postings": ["A ledger account of this batch is gone."]})
            self.balances.update(locked)
            self.start.update(locked)
            self.floors.update(locked_floors)
        return {pk: (self.balances[pk], self.floors[pk]) for pk in wanted}

    def close(self) -> None:
        """Write the cached balances of the accounts whose balance moved."""
        self.closed = True
        changed = {pk: b for pk, b in self.balances.items() if b != self.start[pk]}
        if not changed:
            return
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    _BALANCES_SQL,
                    [",".join(map(str, changed)), ",".join(map(str, changed.values()))],
                )
        else:
            LedgerAccount.objects.bulk_update(
                [LedgerAccount(pk=pk, balance=balance) for pk, balance in changed.items()],
                ["balance"],
            )

    def _post(self, transactions, balances, floors, start) -> list[BulkPosted]:
        if not connection.in_atomic_block:
            raise RuntimeError("Post a session's batches inside a database transaction.")
        batch = transactions if isinstance(transactions, CheckedBatch) else self.check(transactions)
        if not self.keys_new:
            batch = batch.looked_up()
        self.checked = batch
        if not batch.new:
            return batch.results()
        items = [batch.items[n] for n in batch.new]
        wanted = {leg.ledger_account.pk for item in items for leg in item.postings}
        missing = wanted - balances.keys()
        if missing:
            postgres = connection.vendor == "postgresql"
            locked, locked_floors = (_lock_postgres if postgres else _lock_portable)(ids=missing)
            if len(locked) != len(missing):
                raise ValidationFailed({"postings": ["A ledger account of this batch is gone."]})
            balances.update(locked)
            start.update(locked)
            floors.update(locked_floors)
        rows = _legs(items=items, balances=balances, account_floors=floors)
        now = clock.now()  # taken under the locks: statement order is posting order
        label = self.actor.label[:200]
        ids = (_insert_postgres if connection.vendor == "postgresql" else _insert_portable)(
            transactions=[
                (
                    item.kind,
                    item.memo.strip(),
                    item.external_reference or "",
                    label,
                    item.idempotency_key,
                    batch.fingerprints[n],
                    item.statement_reference or "",
                    now,
                )
                for n, item in zip(batch.new, items, strict=True)
            ],
            rows=rows,
            now=now,
        )
        posted = dict(batch.posted)
        for n, pk in zip(batch.new, ids, strict=True):
            posted[batch.items[n].idempotency_key] = BulkPosted(pk, created=True)
        hooks.funds_credited_note(leg for item in items for leg in item.postings)
        return dataclasses.replace(batch, posted=posted).results()


@dataclass(frozen=True)
class CheckedBatch:
    """A batch checked (`BulkSession.check`): items, their fingerprints, the first occurrence
    of each key, the keys posted before (replays, once looked up) and the indexes of the
    items to write."""

    items: list[BulkTransaction]
    fingerprints: list[str]
    first_of: dict[str, int]
    posted: dict[str, BulkPosted]
    new: list[int]

    @classmethod
    def of(cls, transactions: Sequence[BulkTransaction]) -> CheckedBatch:
        items = list(transactions)
        fingerprints: list[str] = []
        for n, item in enumerate(items):
            legs = list(item.postings)
            try:
                transaction_clean(
                    kind=item.kind,
                    memo=item.memo,
                    legs=legs,
                    idempotency_key=item.idempotency_key,
                    external_reference=item.external_reference,
                    statement_reference=item.statement_reference,
                )
            except ValidationFailed as error:
                error.detail = (
                    f"Transaction {n + 1} ({item.idempotency_key!r}) of the batch: " + error.detail
                )
                raise
            fingerprints.append(
                transaction_fingerprint(
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
        return cls(items, fingerprints, first_of, {}, list(first_of.values()))

    def looked_up(self) -> CheckedBatch:
        """The batch with the keys posted before found: those replay (same content) or are
        refused (IdempotencyKeyReused)."""
        posted: dict[str, BulkPosted] = {}
        for key, pk, fingerprint in _posted_before(list(self.first_of)):
            if fingerprint != self.fingerprints[self.first_of[key]]:
                raise IdempotencyKeyReused(key)
            posted[key] = BulkPosted(pk, created=False)
        new = [n for key, n in self.first_of.items() if key not in posted]
        return CheckedBatch(self.items, self.fingerprints, self.first_of, posted, new)

    def results(self) -> list[BulkPosted]:
        return [
            self.posted[item.idempotency_key]
            if self.first_of[item.idempotency_key] == n
            else BulkPosted(self.posted[item.idempotency_key].transaction_id, created=False)
            for n, item in enumerate(self.items)
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


def _legs(*, items, balances, account_floors) -> list[list[tuple[int, Decimal, str, Decimal]]]:
    """Each item's postings as (account, amount, currency, balance after), in order; each
    item's floors checked in turn with floors.py, as every path checks them. Moves
    `balances` forward."""
    rows: list[list[tuple[int, Decimal, str, Decimal]]] = []
    for item in items:
        net = floors.net_changes(
            (leg.ledger_account.pk, leg.amount.amount) for leg in item.postings
        )
        short = floors.first_short(net=net, balances=balances, floors=account_floors)
        if short is not None:
            raise floors.insufficient_funds(
                ledger_account_id=short, balance=balances[short], debit=-net[short]
            )
        legs = []
        for leg in item.postings:  # balance_after leg by leg, as transaction_post does
            pk = leg.ledger_account.pk
            balances[pk] += leg.amount.amount
            legs.append((pk, leg.amount.amount, leg.amount.currency, balances[pk]))
        rows.append(legs)
    return rows


def _lock_portable(*, ids: set[int]):
    accounts = ledger_accounts_lock(ids=ids)
    return (
        {pk: account.balance for pk, account in accounts.items()},
        {pk: account.floor for pk, account in accounts.items()},
    )


def _insert_portable(*, transactions, rows, now) -> list[int]:
    created = Transaction.objects.bulk_create(
        [
            Transaction(
                kind=kind,
                memo=memo,
                external_reference=external_reference,
                created_by=created_by,
                idempotency_key=key,
                fingerprint=fingerprint,
                statement_reference=statement_reference,
                created_at=created_at,
            )
            for (
                kind,
                memo,
                external_reference,
                created_by,
                key,
                fingerprint,
                statement_reference,
                created_at,
            ) in transactions
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
    return [txn.pk for txn in created]


# PostgreSQL: lock in one statement, take the transactions' ids from their sequence, COPY the
# transactions and postings in; the session writes the balances in one statement. The unique
# key, the constraints and the balance trigger (migration 0005) check these rows exactly as
# they check transaction_post's. The trigger runs once per statement: all postings of a batch
# go in one COPY, so no transaction's postings are split across two.

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


def _insert_postgres(*, transactions, rows, now) -> list[int]:
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.execute(_IDS_SQL, [len(transactions)])
        ids = [pk for (pk,) in cursor.fetchall()]
        raw = cursor.cursor
        with raw.copy(
            "COPY ledger_transaction (id, kind, memo, external_reference, created_by, "
            "idempotency_key, fingerprint, statement_reference, created_at) FROM STDIN"
        ) as copy:
            stamp = now.isoformat()  # as text: psycopg's datetime dumper costs more
            for pk, values in zip(ids, transactions, strict=True):
                assert values[-1] is now
                copy.write_row((pk, *values[:-1], stamp))
        with raw.copy(
            "COPY ledger_posting (transaction_id, ledger_account_id, amount, currency, "
            "balance_after, created_at) FROM STDIN"
        ) as copy:
            for pk, legs in zip(ids, rows, strict=True):
                for account_id, amount, currency, after in legs:
                    copy.write_row((pk, account_id, amount, currency, after, stamp))
    return ids


def business_funds_accounts(*, currencies: Mapping[int, str]) -> dict[int, LedgerAccount]:
    """Each customer account's business funds in the given currency (its billing currency),
    made on first use with call credit beside it, as `customer_ledger_accounts` makes them;
    for many customers in a few queries."""

    def business_funds(account_ids) -> dict[int, LedgerAccount]:
        rows = LedgerAccount.objects.filter(
            account_id__in=account_ids, kind=LedgerKind.BUSINESS_FUNDS
        )
        return {row.account_id: row for row in rows if row.currency == currencies[row.account_id]}

    if connection.vendor == "postgresql":
        return _business_funds_postgres(currencies=currencies)
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
                for kind, floor in floors.DEFAULT_FLOORS.items()
            ],
            ignore_conflicts=True,  # made at the same moment elsewhere: the unique one wins
        )
        found.update(business_funds(list(new)))
    return found


# Made where missing (a customer's two accounts, as customer_ledger_accounts makes them; one
# made at the same moment elsewhere wins), then read back: two statements for any number.
_FUNDS_MAKE_SQL = """
INSERT INTO ledger_ledgeraccount (account_id, kind, currency, floor, balance, created_at)
SELECT c.account_id, k.kind, c.currency, k.floor, 0, %s
FROM unnest(string_to_array(%s, ',')::bigint[], string_to_array(%s, ',')) AS c(account_id, currency)
CROSS JOIN unnest(string_to_array(%s, ','), string_to_array(%s, ',')::numeric[]) AS k(kind, floor)
WHERE NOT EXISTS (
    SELECT 1 FROM ledger_ledgeraccount a
    WHERE a.account_id = c.account_id AND a.kind = k.kind AND a.currency = c.currency
)
ON CONFLICT DO NOTHING
"""
_FUNDS_READ_SQL = """
SELECT a.id, a.account_id, a.currency, a.floor, a.balance, a.created_at
FROM ledger_ledgeraccount a
JOIN unnest(string_to_array(%s, ',')::bigint[], string_to_array(%s, ',')) AS c(account_id, currency)
    ON a.account_id = c.account_id AND a.currency = c.currency
WHERE a.kind = 'business_funds'
"""


def _business_funds_postgres(*, currencies) -> dict[int, LedgerAccount]:
    ids, codes = ",".join(map(str, currencies)), ",".join(currencies.values())
    assert all(len(code) == 3 and code.isalpha() for code in currencies.values())
    with connection.cursor() as cursor:
        cursor.execute(
            _FUNDS_MAKE_SQL,
            [
                clock.now(),
                ids,
                codes,
                ",".join(floors.DEFAULT_FLOORS),
                ",".join(map(str, floors.DEFAULT_FLOORS.values())),
            ],
        )
        cursor.execute(_FUNDS_READ_SQL, [ids, codes])
        rows = cursor.fetchall()
    kind = LedgerKind.BUSINESS_FUNDS
    return {
        account_id: LedgerAccount(
            id=pk,
            account_id=account_id,
            kind=kind,
            currency=currency,
            floor=floor,
            balance=balance,
            created_at=created_at,
        )
        for pk, account_id, currency, floor, balance, created_at in rows
    }
