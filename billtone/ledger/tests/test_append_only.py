from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from billtone.ledger.models import AppendOnlyError, Posting, Transaction

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the database triggers are PostgreSQL's"
)


@pytest.fixture
def posted(ledger, deposit):
    txn = deposit(ledger.business_funds, "10")
    return txn, txn.postings.order_by("pk").first()


def test_a_stored_posting_cannot_be_saved_again_or_deleted(posted):
    txn, posting = posted
    posting.amount = Decimal("99")
    with pytest.raises(AppendOnlyError):
        posting.save()
    with pytest.raises(AppendOnlyError):
        posting.delete()
    with pytest.raises(AppendOnlyError):
        txn.save()
    with pytest.raises(AppendOnlyError):
        txn.delete()
    assert Posting.objects.get(pk=posting.pk).amount != Decimal("99")


def test_querysets_refuse_bulk_updates_and_deletes(posted):
    txn, posting = posted
    with pytest.raises(AppendOnlyError):
        Posting.objects.filter(pk=posting.pk).update(amount=Decimal("1"))
    with pytest.raises(AppendOnlyError):
        Posting.objects.filter(pk=posting.pk).delete()
    with pytest.raises(AppendOnlyError):
        Transaction.objects.update(memo="edited")
    with pytest.raises(AppendOnlyError):
        Transaction.objects.all().delete()
    assert Posting.objects.filter(transaction=txn).count() == 2


@postgres_only
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE ledger_posting SET amount = amount + 1 WHERE id = %s",
        "DELETE FROM ledger_posting WHERE id = %s",
        "UPDATE ledger_transaction SET memo = 'edited' WHERE id = (SELECT transaction_id "
        "FROM ledger_posting WHERE id = %s)",
        "DELETE FROM ledger_transaction WHERE id = (SELECT transaction_id "
        "FROM ledger_posting WHERE id = %s)",
    ],
)
def test_postgres_refuses_updates_and_deletes_behind_the_code(posted, sql):
    _, posting = posted
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, [posting.pk])
    assert Posting.objects.get(pk=posting.pk).amount == posting.amount


@postgres_only
def test_postgres_refuses_a_posting_that_unbalances_a_stored_transaction(posted, ledger):
    txn, posting = posted
    with pytest.raises(DatabaseError, match="does not sum to zero"), transaction.atomic():
        Posting.objects.bulk_create(
            [
                Posting(
                    transaction=txn,
                    ledger_account=ledger.business_funds,
                    amount=Decimal("1"),
                    currency="EUR",
                    balance_after=Decimal("11"),
                    created_at=posting.created_at,
                )
            ]
        )
    assert Posting.objects.filter(transaction=txn).count() == 2


@postgres_only
def test_postgres_refuses_a_posting_in_another_currency(posted, ledger):
    txn, posting = posted
    with pytest.raises(DatabaseError, match="currency"), transaction.atomic():
        Posting.objects.bulk_create(
            [
                Posting(
                    transaction=txn,
                    ledger_account=ledger.business_funds,
                    amount=amount,
                    currency="USD",
                    balance_after=Decimal("0"),
                    created_at=posting.created_at,
                )
                for amount in (Decimal("1"), Decimal("-1"))
            ]
        )
