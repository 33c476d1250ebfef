"""ledger.bulk posts a batch with the invariants and results of transaction_post, one by one.

The same operations go through both paths on the same ledger accounts (one of the two rolled
back), and the stored rows must agree: amounts, balance_after in order, cached balances,
fingerprints. Then replays, reused keys, floors, malformed transactions, the fallback when a
key is taken between the look-up and the insert, and (PostgreSQL) parallel batches.
"""

import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from billtone.core.errors import ValidationFailed
from billtone.core.money import Money
from billtone.ledger import bulk
from billtone.ledger.bulk import (
    BulkSession,
    BulkTransaction,
    business_funds_accounts,
    transactions_post_bulk,
)
from billtone.ledger.errors import IdempotencyKeyReused, InsufficientFunds
from billtone.ledger.models import LedgerAccount, Posting, Transaction
from billtone.ledger.services import (
    Leg,
    call_credit_limit_set,
    customer_ledger_accounts,
    operator_ledger_account,
    transaction_post,
)
from billtone.ledger.tests.conftest import SYSTEM

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="parallel connections and row locks: PostgreSQL"
)


class Undo(Exception):
    pass


def constraints_checked() -> None:
    """Run PostgreSQL's deferred checks (the foreign keys) now, not at commit."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def transfer(source, destination, amount: str, key: str, memo: str = "Bank transfer"):
    money = Money(Decimal(amount), source.currency)
    return BulkTransaction(
        kind="bank_transfer",
        memo=memo,
        postings=[Leg(source, -money), Leg(destination, money)],
        idempotency_key=key,
        external_reference=f"ext-{key}",
    )


def stored(keys: list[str]) -> list[tuple]:
    """What the database holds for these keys, without ids: comparable across both paths."""
    rows = []
    for key in keys:
        txn = Transaction.objects.get(idempotency_key=key)
        postings = [
            (
                p.ledger_account_id,
                p.amount,
                p.currency,
                p.balance_after,
                p.created_at == txn.created_at,
            )
            for p in txn.postings.order_by("id")
        ]
        rows.append(
            (txn.kind, txn.memo, txn.external_reference, txn.created_by, txn.fingerprint, postings)
        )
    return rows


def balances(accounts) -> dict[int, Decimal]:
    return {a.pk: LedgerAccount.objects.get(pk=a.pk).balance for a in accounts}


def books_right(accounts) -> None:
    constraints_checked()
    for account in accounts:
        row = LedgerAccount.objects.get(pk=account.pk)
        postings = list(Posting.objects.filter(ledger_account=row).order_by("created_at", "id"))
        assert row.balance == sum((p.amount for p in postings), Decimal(0))
        running = Decimal(0)
        for p in postings:
            running += p.amount
            assert p.balance_after == running
        if row.floor is not None:
            assert row.balance >= row.floor
    for txn in Transaction.objects.all():
        sums = defaultdict(Decimal)
        for p in txn.postings.all():
            sums[p.currency] += p.amount
        assert all(total == 0 for total in sums.values())


@pytest.fixture
def books(account, make_account):
    bank = operator_ledger_account(kind="bank_clearing", currency="EUR")
    revenue = operator_ledger_account(kind="revenue_one_off", currency="EUR")
    funds = [customer_ledger_accounts(account=a).business_funds for a in (account, make_account())]
    return bank, revenue, funds


def one_by_one(items):
    return [
        transaction_post(
            kind=i.kind,
            memo=i.memo,
            postings=i.postings,
            idempotency_key=i.idempotency_key,
            actor=SYSTEM,
            external_reference=i.external_reference,
        ).pk
        for i in items
    ]


def both_paths(items, accounts):
    """(rows, balances) after transaction_post one by one, then after the bulk path, each
    from the same starting point."""
    keys = [i.idempotency_key for i in items]
    results = []
    for post in (
        one_by_one,
        lambda batch: transactions_post_bulk(transactions=batch, actor=SYSTEM),
    ):
        try:
            with transaction.atomic():
                post(items)
                books_right(accounts)
                results.append((stored(keys), balances(accounts)))
                raise Undo
        except Undo:
            pass
    return results


# Amounts in cents; a customer spends only what it holds at that point of the sequence.
operations = st.lists(
    st.tuples(st.integers(0, 1), st.booleans(), st.integers(1, 50_000)), min_size=1, max_size=25
)


@given(ops=operations)
@hypothesis_settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_a_batch_stores_what_one_by_one_posting_stores(books, ops):
    bank, revenue, funds = books
    held = [Decimal(0), Decimal(0)]
    items = []
    for n, (who, spend, cents) in enumerate(ops):
        amount = Decimal(cents) / 100
        if spend and held[who] >= amount:
            items.append(transfer(funds[who], revenue, str(amount), f"op-{n}", memo="Basket"))
            held[who] -= amount
        else:
            items.append(transfer(bank, funds[who], str(amount), f"op-{n}"))
            held[who] += amount

    single, batch = both_paths(items, [bank, revenue, *funds])

    assert batch == single


def test_a_transaction_with_more_legs_on_one_account_keeps_their_order(books):
    bank, revenue, (funds, _) = books
    eur = "EUR"
    item = BulkTransaction(
        kind="adjustment",
        memo="Two legs on one account",
        postings=[
            Leg(bank, Money("-30.00", eur)),
            Leg(funds, Money("50.00", eur)),
            Leg(funds, Money("-20.00", eur)),
        ],
        idempotency_key="legs",
    )

    single, batch = both_paths([item], [bank, funds])

    assert batch == single
    (row,) = batch[0]
    assert [p[3] for p in row[5]] == [Decimal("-30.00"), Decimal("50.00"), Decimal("30.00")]


def test_posting_the_batch_again_replays_it_and_writes_nothing(books):
    bank, revenue, (funds, other) = books
    items = [transfer(bank, funds, "10.00", "a"), transfer(bank, other, "5.00", "b")]
    first = transactions_post_bulk(transactions=items, actor=SYSTEM)
    counts = (Transaction.objects.count(), Posting.objects.count())

    again = transactions_post_bulk(transactions=items, actor=SYSTEM)

    assert [p.created for p in first] == [True, True]
    assert [p.created for p in again] == [False, False]
    assert [p.transaction_id for p in again] == [p.transaction_id for p in first]
    assert (Transaction.objects.count(), Posting.objects.count()) == counts
    assert balances([funds, other]) == {funds.pk: Decimal("10.00"), other.pk: Decimal("5.00")}


def test_a_key_posted_one_by_one_is_replayed_in_a_batch(books):
    bank, revenue, (funds, _) = books
    single = transaction_post(
        kind="bank_transfer",
        memo="Bank transfer",
        postings=transfer(bank, funds, "10.00", "k").postings,
        idempotency_key="k",
        actor=SYSTEM,
        external_reference="ext-k",
    )

    (posted, new) = transactions_post_bulk(
        transactions=[transfer(bank, funds, "10.00", "k"), transfer(bank, funds, "1.00", "n")],
        actor=SYSTEM,
    )

    assert (posted.transaction_id, posted.created) == (single.pk, False)
    assert new.created and balances([funds]) == {funds.pk: Decimal("11.00")}
    books_right([bank, funds])


def test_a_key_reused_with_other_content_refuses_the_whole_batch(books):
    bank, revenue, (funds, other) = books
    transactions_post_bulk(transactions=[transfer(bank, funds, "10.00", "k")], actor=SYSTEM)

    with pytest.raises(IdempotencyKeyReused):
        transactions_post_bulk(
            transactions=[
                transfer(bank, other, "3.00", "fresh"),
                transfer(bank, other, "10.00", "k"),
            ],
            actor=SYSTEM,
        )
    with pytest.raises(IdempotencyKeyReused):
        transactions_post_bulk(
            transactions=[
                transfer(bank, other, "3.00", "twice"),
                transfer(bank, other, "4.00", "twice"),
            ],
            actor=SYSTEM,
        )

    assert not Transaction.objects.filter(idempotency_key__in=["fresh", "twice"]).exists()
    assert balances([other]) == {other.pk: 0}


def test_the_same_key_twice_in_a_batch_posts_once(books):
    bank, revenue, (funds, _) = books
    item = transfer(bank, funds, "10.00", "dup")

    first, second = transactions_post_bulk(transactions=[item, item], actor=SYSTEM)

    assert first.transaction_id == second.transaction_id
    assert (first.created, second.created) == (True, False)
    assert balances([funds]) == {funds.pk: Decimal("10.00")}


def test_floors_are_checked_in_the_batch_order(books):
    bank, revenue, (funds, other) = books
    credit = transfer(bank, funds, "10.00", "in")
    spend = transfer(funds, revenue, "10.00", "out", memo="Basket")

    with pytest.raises(InsufficientFunds):
        transactions_post_bulk(transactions=[spend, credit], actor=SYSTEM)
    assert not Transaction.objects.exists() and balances([funds]) == {funds.pk: 0}

    transactions_post_bulk(transactions=[credit, spend], actor=SYSTEM)
    assert balances([funds, revenue]) == {funds.pk: 0, revenue.pk: Decimal("10.00")}
    books_right([bank, revenue, funds])


def outcome(post, item: BulkTransaction, accounts) -> tuple:
    """What posting `item` through `post` did, undone afterwards: its refusal (type and
    message) or None, what was stored under its key, the balances."""
    try:
        with transaction.atomic():
            try:
                post([item])
                refusal = None
            except (InsufficientFunds, ValidationFailed) as refused:
                refusal = (type(refused), refused.detail)
            done = Transaction.objects.filter(idempotency_key=item.idempotency_key).exists()
            result = (refusal, stored([item.idempotency_key]) if done else [], balances(accounts))
            raise Undo
    except Undo:
        return result


def single_and_bulk(item: BulkTransaction, accounts) -> tuple[tuple, tuple]:
    return (
        outcome(one_by_one, item, accounts),
        outcome(
            lambda batch: transactions_post_bulk(transactions=batch, actor=SYSTEM), item, accounts
        ),
    )


@pytest.fixture
def spender(account, books, deposit):
    """A customer with 30.00 EUR of business funds and a call credit limit of 5.00 EUR."""
    ledger = customer_ledger_accounts(account=account)
    deposit(ledger.business_funds, "30.00")
    call_credit_limit_set(account=account, limit=Money("5.00", "EUR"), actor=SYSTEM)
    return ledger


@pytest.mark.parametrize(
    ("source", "amount", "refused"),
    [
        ("business_funds", "30.00", None),
        ("business_funds", "30.01", "Business funds hold 30.00 EUR; this needs 30.01 EUR."),
        ("call_credit", "5.00", None),
        (
            "call_credit",
            "5.0001",
            "Call credit hold 0.00 EUR with a limit of 5.00 EUR; this needs 5.0001 EUR.",
        ),
    ],
)
def test_single_and_bulk_paths_keep_and_explain_the_same_floors(
    books, spender, source, amount, refused
):
    bank, revenue, _ = books
    ledger_account = getattr(spender, source)
    item = transfer(ledger_account, revenue, amount, "spend", memo="Basket")

    single, batch = single_and_bulk(item, [ledger_account, revenue])

    assert single == batch
    refusal, rows, _ = single
    if refused is None:
        assert refusal is None and len(rows) == 1
    else:
        assert refusal == (InsufficientFunds, refused) and rows == []


def test_single_and_bulk_paths_check_the_net_change_of_an_account(books, spender):
    """A debit leg and a larger credit leg on one account: its net is a credit, allowed
    whatever the order of the legs; the first account short, in id order, is the one named."""
    bank, revenue, _ = books
    funds, credit = spender.business_funds, spender.call_credit
    eur = "EUR"
    allowed = BulkTransaction(
        kind="adjustment",
        memo="Debit first, credit after",
        postings=[
            Leg(funds, Money("-40.00", eur)),
            Leg(funds, Money("50.00", eur)),
            Leg(bank, Money("-10.00", eur)),
        ],
        idempotency_key="net",
    )
    both_short = BulkTransaction(
        kind="adjustment",
        memo="Two accounts short",
        postings=[
            Leg(credit, Money("-6.00", eur)),
            Leg(funds, Money("-31.00", eur)),
            Leg(revenue, Money("37.00", eur)),
        ],
        idempotency_key="short",
    )

    (single, batch) = single_and_bulk(allowed, [funds, bank])
    assert single == batch and single[0] is None
    assert [posting[3] for posting in single[1][0][5]] == [
        Decimal("-10.00"),
        Decimal("40.00"),
        Decimal("-40.00"),
    ]
    (single, batch) = single_and_bulk(both_short, [funds, credit, revenue])
    assert single == batch
    first = min(funds, credit, key=lambda a: a.pk).get_kind_display()
    assert single[0][0] is InsufficientFunds and single[0][1].startswith(first)


@pytest.mark.parametrize(
    "broken",
    [
        lambda bank, funds: BulkTransaction(
            "bank_transfer",
            "Unbalanced",
            [Leg(bank, Money("-10.00", "EUR")), Leg(funds, Money("9.00", "EUR"))],
            "unbalanced",
        ),
        lambda bank, funds: BulkTransaction(
            "Bad Kind", "x", transfer(bank, funds, "1.00", "k").postings, "bad-kind"
        ),
        lambda bank, funds: BulkTransaction(
            "bank_transfer",
            "One leg",
            [Leg(funds, Money("1.00", "EUR"))],
            "one-leg",
        ),
    ],
)
def test_a_malformed_transaction_refuses_the_whole_batch(books, broken):
    bank, revenue, (funds, _) = books

    with pytest.raises(ValidationFailed) as refused:
        transactions_post_bulk(
            transactions=[transfer(bank, funds, "5.00", "good"), broken(bank, funds)],
            actor=SYSTEM,
        )

    assert "Transaction 2" in refused.value.detail
    assert not Transaction.objects.exists() and balances([funds]) == {funds.pk: 0}


def test_a_key_taken_after_the_look_up_falls_back_to_one_by_one(books, monkeypatch):
    """The unique key is the final guard: the batch is rolled back and posted one by one,
    replaying what was posted meanwhile."""
    bank, revenue, (funds, other) = books
    taken = transactions_post_bulk(
        transactions=[transfer(bank, funds, "7.00", "taken")], actor=SYSTEM
    )
    monkeypatch.setattr(bulk, "_posted_before", lambda keys: [])  # the look-up sees nothing

    results = transactions_post_bulk(
        transactions=[transfer(bank, other, "3.00", "new"), transfer(bank, funds, "7.00", "taken")],
        actor=SYSTEM,
    )

    assert [r.created for r in results] == [True, False]
    assert results[1].transaction_id == taken[0].transaction_id
    assert balances([funds, other]) == {funds.pk: Decimal("7.00"), other.pk: Decimal("3.00")}
    assert Transaction.objects.count() == 2
    books_right([bank, funds, other])


def test_business_funds_are_made_once_like_customer_ledger_accounts(account, make_account):
    first, second = account, make_account()
    existing = customer_ledger_accounts(account=first).business_funds

    made = business_funds_accounts(currencies={first.pk: "EUR", second.pk: "EUR"})
    again = business_funds_accounts(currencies={first.pk: "EUR", second.pk: "EUR"})

    assert made[first.pk].pk == existing.pk
    assert {a.pk for a in made.values()} == {a.pk for a in again.values()}
    expected = customer_ledger_accounts(account=second)
    assert made[second.pk].pk == expected.business_funds.pk
    assert (expected.business_funds.floor, expected.call_credit.floor) == (0, 0)
    assert LedgerAccount.objects.filter(account=second).count() == 2


@postgres_only
def test_parallel_batches_with_the_same_keys_post_each_once(transactional_db, make_account):
    bank = operator_ledger_account(kind="bank_clearing", currency="EUR")
    funds = [customer_ledger_accounts(account=make_account()).business_funds for _ in range(20)]
    items = [transfer(bank, funds[n % 20], f"{n + 1}.00", f"par-{n}") for n in range(200)]
    workers = 4
    barrier = threading.Barrier(workers)

    def work(i: int):
        try:
            barrier.wait(timeout=30)
            chunk = items[i * 25 :] + items[: i * 25]  # overlapping, in other orders
            return transactions_post_bulk(transactions=chunk, actor=SYSTEM)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(work, range(workers)))

    assert Transaction.objects.count() == 200
    created = sum(r.created for result in results for r in result)
    assert created == 200  # each key created by exactly one of the batches
    expected = defaultdict(Decimal)
    for n in range(200):
        expected[funds[n % 20].pk] += n + 1
    assert balances(funds) == dict(expected)
    books_right([bank, *funds])


def test_a_session_posts_batches_as_one_by_one_and_writes_balances_at_close(books):
    bank, _, (funds, other) = books
    session = BulkSession(actor=SYSTEM)
    first = [transfer(bank, funds, "10.00", "s-1"), transfer(bank, other, "3.00", "s-2")]
    second = [transfer(bank, funds, "5.00", "s-3")]

    with transaction.atomic():
        with session.batch() as post:
            posted = post(first)
        with session.batch() as post:
            posted += post(second)
        # Postings carry their balance after; the cached balances wait for close().
        assert balances([bank, funds, other]) == {bank.pk: 0, funds.pk: 0, other.pk: 0}
        session.close()

    assert [p.created for p in posted] == [True, True, True]
    assert balances([bank, funds, other]) == {
        bank.pk: Decimal("-18.00"),
        funds.pk: Decimal("15.00"),
        other.pk: Decimal("3.00"),
    }
    afters = Posting.objects.filter(ledger_account=funds).order_by("id")
    assert [p.balance_after for p in afters] == [Decimal("10.00"), Decimal("15.00")]
    books_right([bank, funds, other])
    with pytest.raises(RuntimeError, match="closed"), session.batch():
        pass


def test_a_session_forgets_a_batch_whose_savepoint_rolled_back(books):
    bank, _, (funds, other) = books
    session = BulkSession(actor=SYSTEM)

    with transaction.atomic():
        with session.batch() as post:
            post([transfer(bank, funds, "10.00", "f-1")])
        with pytest.raises(Undo), transaction.atomic(), session.batch() as post:
            post([transfer(bank, funds, "99.00", "f-2"), transfer(bank, other, "1.00", "f-3")])
            raise Undo  # e.g. storing the batch's bank entries failed
        with session.batch() as post:
            post([transfer(bank, other, "2.00", "f-4")])
        session.close()

    assert not Transaction.objects.filter(idempotency_key__in=["f-2", "f-3"]).exists()
    assert balances([bank, funds, other]) == {
        bank.pk: Decimal("-12.00"),
        funds.pk: Decimal("10.00"),
        other.pk: Decimal("2.00"),
    }
    books_right([bank, funds, other])


def test_a_session_batch_outside_a_transaction_is_refused(transactional_db):
    bank = operator_ledger_account(kind="bank_clearing", currency="EUR")
    revenue = operator_ledger_account(kind="revenue_one_off", currency="EUR")
    session = BulkSession(actor=SYSTEM)
    with (
        pytest.raises(RuntimeError, match="inside a database transaction"),
        session.batch() as post,
    ):
        post([transfer(revenue, bank, "1.00", "out-1")])
    assert not Transaction.objects.exists()


def test_business_funds_for_many_customers_are_made_with_call_credit_beside(make_account):
    accounts = [make_account() for _ in range(30)]
    made_before = customer_ledger_accounts(account=accounts[0]).business_funds

    made = business_funds_accounts(currencies={a.pk: "EUR" for a in accounts})

    assert set(made) == {a.pk for a in accounts} and made[accounts[0].pk].pk == made_before.pk
    for a in accounts:
        both = customer_ledger_accounts(account=a)  # finds, does not make
        assert made[a.pk].pk == both.business_funds.pk
        assert (made[a.pk].kind, made[a.pk].currency, made[a.pk].floor) == (
            "business_funds",
            "EUR",
            0,
        )
        assert made[a.pk].balance == 0 and both.call_credit.floor is not None
    assert LedgerAccount.objects.filter(account__in=accounts).count() == 60


def test_a_session_for_new_keys_does_not_replay_a_key_posted_before(books):
    bank, _, (funds, _) = books
    transactions_post_bulk(transactions=[transfer(bank, funds, "10.00", "n-1")], actor=SYSTEM)
    session = BulkSession(actor=SYSTEM, keys_new=True)

    with pytest.raises(IntegrityError), transaction.atomic(), session.batch() as post:
        post([transfer(bank, funds, "10.00", "n-1")])  # the unique key refuses it
        constraints_checked()

    assert Transaction.objects.filter(idempotency_key="n-1").count() == 1
    assert balances([funds]) == {funds.pk: Decimal("10.00")}
