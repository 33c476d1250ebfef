"""PostgreSQL's balance trigger (migration 0005), written to behind the code's back.

Once per INSERT or COPY into ledger_posting: every new posting is in its ledger account's
currency, and every transaction the statement touched sums to zero per currency over all its
postings. So a transaction's postings go in in one statement. These tests insert rows with raw
SQL (cached balances are not kept in step: only the trigger is under test here).
"""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from billtone.core import clock
from billtone.ledger import storage
from billtone.ledger.models import LedgerAccount, Posting, Transaction
from billtone.ledger.services import operator_ledger_account

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the database triggers are PostgreSQL's"
)

INSERT_TRANSACTIONS = """
INSERT INTO ledger_transaction (kind, memo, external_reference, created_by, idempotency_key,
    fingerprint, created_at)
SELECT 'adjustment', 'raw', '', 'test', %s || n, '-', now() FROM generate_series(1, %s) AS n
RETURNING id
"""
COPY_POSTINGS = (
    "COPY ledger_posting (transaction_id, ledger_account_id, amount, currency, balance_after, "
    "created_at) FROM STDIN"
)


def new_transactions(count: int, prefix: str = "raw-") -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(INSERT_TRANSACTIONS, [prefix, count])
        return sorted(pk for (pk,) in cursor.fetchall())


def insert(*postings) -> None:
    """One INSERT statement of (transaction id, ledger account, amount) rows."""
    values = ", ".join(["(%s, %s, %s, %s, 0, now())"] * len(postings))
    params = [
        value
        for txn, account, amount in postings
        for value in (txn, account.pk, Decimal(amount), account.currency)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledger_posting (transaction_id, ledger_account_id, amount, currency, "
            f"balance_after, created_at) VALUES {values}",
            params,
        )


def copy(rows) -> None:
    """One COPY of (transaction id, ledger account, amount) rows, as ledger.bulk does."""
    now = clock.now()
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(COPY_POSTINGS) as stream,
    ):
        for txn, account, amount in rows:
            stream.write_row((txn, account.pk, Decimal(amount), account.currency, 0, now))


def refused(excinfo) -> str:
    """The trigger's message, after checking it raised integrity_constraint_violation."""
    assert excinfo.value.__cause__.sqlstate == "23000"
    return str(excinfo.value)


@pytest.fixture
def usd(db):
    return (
        operator_ledger_account(kind="bank_clearing", currency="USD"),
        operator_ledger_account(kind="revenue_one_off", currency="USD"),
    )


@postgres_only
def test_a_balanced_insert_passes(bank, revenue, usd):
    (txn,) = new_transactions(1)
    usd_bank, usd_revenue = usd

    insert(
        (txn, bank, "-10.00"),
        (txn, revenue, "7.50"),
        (txn, revenue, "2.50"),
        (txn, usd_bank, "-3.00"),
        (txn, usd_revenue, "3.00"),
    )

    assert Posting.objects.filter(transaction_id=txn).count() == 5


@postgres_only
def test_an_unbalanced_insert_is_refused(bank, revenue):
    (txn,) = new_transactions(1)

    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        insert((txn, bank, "-10.00"), (txn, revenue, "9.99"))

    assert f"transaction {txn} does not sum to zero per currency" in refused(excinfo)
    assert not Posting.objects.filter(transaction_id=txn).exists()


@postgres_only
def test_amounts_that_cancel_across_currencies_do_not_balance(bank, usd):
    (txn,) = new_transactions(1)
    usd_bank, _ = usd

    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        insert((txn, bank, "-10.00"), (txn, usd_bank, "10.00"))

    assert "does not sum to zero per currency" in refused(excinfo)
    assert not Posting.objects.filter(transaction_id=txn).exists()


@postgres_only
def test_a_posting_in_another_currency_than_its_account_is_refused(bank, revenue):
    (txn,) = new_transactions(1)

    with pytest.raises(IntegrityError) as excinfo, transaction.atomic(), connection.cursor() as c:
        c.execute(
            "INSERT INTO ledger_posting (transaction_id, ledger_account_id, amount, currency, "
            "balance_after, created_at) VALUES (%s, %s, -5, 'USD', 0, now()), "
            "(%s, %s, 5, 'USD', 0, now())",
            [txn, bank.pk, txn, revenue.pk],
        )

    message = refused(excinfo)
    assert "not in its ledger account's currency" in message
    assert "EUR" in message and "USD" in message
    assert not Posting.objects.filter(transaction_id=txn).exists()


@postgres_only
def test_a_transaction_split_over_two_inserts_is_refused_at_the_first(bank, revenue):
    (txn,) = new_transactions(1)
    inserted = []

    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        insert((txn, bank, "-10.00"))
        inserted.append("first")
        insert((txn, revenue, "10.00"))  # would balance it: too late, not deferred

    assert inserted == []
    assert "does not sum to zero" in refused(excinfo)
    assert not Posting.objects.filter(transaction_id=txn).exists()


@postgres_only
def test_a_copy_of_many_balanced_transactions_passes(bank, revenue):
    ids = new_transactions(1000)
    rows = []
    for n, txn in enumerate(ids):
        cents = Decimal(n + 1) / 100
        rows += [(txn, bank, -cents), (txn, revenue, cents)]
    rows += [(ids[0], bank, "-1.00"), (ids[0], revenue, "1.00")]  # more legs on one

    copy(rows)

    assert Posting.objects.filter(transaction_id__in=ids).count() == 2002


@postgres_only
def test_a_copy_with_one_unbalanced_transaction_among_many_is_refused(bank, revenue):
    ids = new_transactions(1000)
    wrong = ids[637]
    rows = []
    for txn in ids:
        rows += [(txn, bank, "-5.00"), (txn, revenue, "4.99" if txn == wrong else "5.00")]

    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        copy(rows)

    assert f"transaction {wrong} does not sum to zero per currency" in refused(excinfo)
    assert not Posting.objects.filter(transaction_id__in=ids).exists()


@postgres_only
def test_ledger_post_is_checked_when_it_inserts_the_postings(bank, revenue):
    """ledger_post() (migration 0008) inserts the postings in its last statement: the trigger
    fires at that statement's end and sees them."""
    arguments = ["adjustment", "raw", "", "test", "ledger-post-raw", "-", None, clock.now(), ""]

    with (
        pytest.raises(IntegrityError) as excinfo,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            storage.POST_SQL,
            [
                *arguments,
                [bank.pk, revenue.pk],
                [Decimal("-3"), Decimal("2")],
                ["EUR", "EUR"],
                [bank.pk, revenue.pk],
                [Decimal("-3"), Decimal("2")],
            ],
        )

    assert "does not sum to zero per currency" in refused(excinfo)
    assert not Transaction.objects.filter(idempotency_key="ledger-post-raw").exists()
    assert LedgerAccount.objects.get(pk=bank.pk).balance == 0


def test_the_orm_path_inserts_all_legs_of_a_transaction_in_one_statement(bank, revenue):
    """storage.post_portable (the reference, SQLite's path) with many legs: one INSERT, so on
    PostgreSQL the balance trigger sees the whole transaction."""
    now = clock.now()
    txn = Transaction(
        kind="adjustment",
        memo="Many legs",
        created_by="test",
        idempotency_key="many-legs",
        fingerprint="-",
        created_at=now,
    )
    rows = [(revenue.pk, Decimal(n), "EUR") for n in range(1, 40)]
    rows.append((bank.pk, -sum(amount for _, amount, _ in rows), "EUR"))

    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        assert storage.post_portable(txn=txn, rows=rows) is None

    inserts = [q for q in queries if q["sql"].startswith('INSERT INTO "ledger_posting"')]
    assert len(inserts) == 1
    assert txn.postings.count() == 40
    assert LedgerAccount.objects.get(pk=bank.pk).balance == Decimal(-780)
