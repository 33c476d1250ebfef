"""Many workers, one account, at the same moment, on PostgreSQL.

Each worker is a thread with its own database connection; a barrier releases them together.
SQLite serializes every write transaction, so there is nothing to race there.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Min

from billtone.accounts.models import Account
from billtone.core.money import Money
from billtone.ledger.errors import AlreadyReversed, InsufficientFunds
from billtone.ledger.models import LedgerAccount, Posting, Transaction
from billtone.ledger.services import (
    customer_ledger_accounts,
    funds_transfer,
    transaction_reverse,
)
from billtone.ledger.tests.conftest import SYSTEM

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row locks and parallel connections are PostgreSQL's; SQLite runs one writer at a time",
)

WORKERS = 32


def run_together(work, count: int = WORKERS) -> list:
    """Run work(i) in `count` threads released at once; return results or exceptions."""
    barrier = threading.Barrier(count)

    def worker(i: int):
        try:
            barrier.wait(timeout=30)
            return work(i)
        except Exception as error:  # collected and asserted on by the test
            return error
        finally:
            connection.close()  # this thread's own connection

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(worker, range(count)))


def spend(ledger_account, revenue, amount: str, key: str):
    return funds_transfer(
        source=ledger_account,
        destination=revenue,
        amount=Money(amount, "EUR"),
        kind="checkout",
        memo="Basket",
        idempotency_key=key,
        actor=SYSTEM,
    )


@pytest.fixture
def funded(transactional_db, ledger, revenue, deposit):
    deposit(ledger.business_funds, "20.00")
    return ledger.business_funds


def test_parallel_spends_never_overdraw_business_funds(funded, revenue):
    results = run_together(lambda i: spend(funded, revenue, "0.75", key=f"spend-{i}"))

    succeeded = [r for r in results if isinstance(r, Transaction)]
    refused = [r for r in results if isinstance(r, InsufficientFunds)]
    assert len(succeeded) == 26  # 26 x 0.75 = 19.50 of 20.00
    assert len(refused) == WORKERS - 26, [r for r in results if isinstance(r, Exception)]
    account = LedgerAccount.objects.get(pk=funded.pk)
    assert account.balance == Decimal("0.50")
    postings = Posting.objects.filter(ledger_account=funded)
    assert sum(p.amount for p in postings) == Decimal("0.50")
    assert postings.aggregate(lowest=Min("balance_after"))["lowest"] >= 0
    assert LedgerAccount.objects.get(pk=revenue.pk).balance == Decimal("19.50")


def test_the_same_key_from_parallel_workers_posts_once(funded, revenue):
    results = run_together(lambda i: spend(funded, revenue, "5.00", key="one-checkout"))

    assert all(isinstance(r, Transaction) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert Transaction.objects.filter(idempotency_key="one-checkout").count() == 1
    assert LedgerAccount.objects.get(pk=funded.pk).balance == Decimal("15.00")


def test_opposite_transfers_between_two_accounts_do_not_deadlock(funded, ledger, deposit):
    deposit(ledger.call_credit, "20.00")

    def move(i: int):
        a, b = (ledger.business_funds, ledger.call_credit)
        source, destination = (a, b) if i % 2 else (b, a)
        return funds_transfer(
            source=source,
            destination=destination,
            amount=Money("1.00", "EUR"),
            kind="top_up",
            memo="Back and forth",
            idempotency_key=f"move-{i}",
            actor=SYSTEM,
        )

    results = run_together(move)
    assert all(isinstance(r, Transaction) for r in results), results
    assert LedgerAccount.objects.get(pk=ledger.business_funds.pk).balance == Decimal("20.00")
    assert LedgerAccount.objects.get(pk=ledger.call_credit.pk).balance == Decimal("20.00")


def test_a_transaction_is_reversed_once_under_parallel_requests(funded, revenue):
    purchase = spend(funded, revenue, "8.00", key="to-reverse")
    results = run_together(
        lambda i: transaction_reverse(transaction=purchase, actor=SYSTEM, idempotency_key=f"r{i}"),
        count=16,
    )
    reversals = [r for r in results if isinstance(r, Transaction)]
    assert len(reversals) == 1
    assert all(isinstance(r, AlreadyReversed) for r in results if r not in reversals), results
    assert LedgerAccount.objects.get(pk=funded.pk).balance == Decimal("20.00")


def test_a_customer_s_accounts_made_by_parallel_first_postings_exist_once(
    transactional_db, make_account
):
    account = make_account()

    def first_use(i: int):
        fresh = Account.objects.select_related("billing_profile").get(pk=account.pk)
        made = customer_ledger_accounts(account=fresh)
        return made.business_funds.pk, made.call_credit.pk

    results = run_together(first_use, count=16)
    assert len(set(results)) == 1, results  # every worker got the same two, none an error
    assert LedgerAccount.objects.filter(account=account).count() == 2
