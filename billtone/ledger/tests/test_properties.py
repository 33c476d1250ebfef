"""Property tests: random sequences of ledger operations keep the books right.

A state machine posts credits, debits, transfers, invoices with tax, reversals, replays,
reused keys and unbalanced transactions across customers in EUR, JPY and KWD, predicts each
outcome from a model of the balances, and after every step checks the invariants against
the database: each transaction sums to zero per currency; each cached balance equals the
sum of its postings (and the last posting's balance_after); all balances of a currency sum
to zero; no balance is below its floor.
"""

from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from billtone.accounts.services import account_create
from billtone.core.errors import ValidationFailed
from billtone.core.money import Money, minor_units
from billtone.ledger.errors import AlreadyReversed, IdempotencyKeyReused, InsufficientFunds
from billtone.ledger.models import LedgerAccount, Posting, Transaction
from billtone.ledger.services import (
    Leg,
    call_credit_limit_set,
    customer_ledger_accounts,
    operator_ledger_account,
    transaction_post,
    transaction_reverse,
)
from billtone.ledger.tests.conftest import SYSTEM

CURRENCIES = ("EUR", "JPY", "KWD")
CUSTOMERS_PER_CURRENCY = 2


def amounts(currency: str, *, most: int, rating: bool = False):
    places = 4 if rating else minor_units(currency)
    unit = Decimal(1).scaleb(-places)
    return st.integers(min_value=1, max_value=most).map(lambda n: n * unit)


# (currency, a credit, a debit about ten times smaller, a rated call with 4 places)
any_amount = st.sampled_from(CURRENCIES).flatmap(
    lambda c: st.tuples(
        st.just(c),
        amounts(c, most=50_000),
        amounts(c, most=5_000),
        amounts(c, most=50_000, rating=True),
    )
)


class Books:
    """Customers and operator accounts made once per test; each example starts at zero."""

    def __init__(self):
        self.customers = defaultdict(list)  # currency -> [(account, CustomerLedger)]
        self.operator = {}
        for currency in CURRENCIES:
            for n in range(CUSTOMERS_PER_CURRENCY):
                account = account_create(
                    name=f"{currency} customer {n}",
                    owner_email=f"owner{n}@{currency.lower()}.example",
                    owner_password=None,
                    currency=currency,
                )
                self.customers[currency].append(
                    (account, customer_ledger_accounts(account=account))
                )
            for kind in ("bank_clearing", "revenue_calls", "revenue_subscriptions", "tax_payable"):
                self.operator[kind, currency] = operator_ledger_account(
                    kind=kind, currency=currency
                )


class LedgerMachine(RuleBasedStateMachine):
    books: Books

    def __init__(self):
        super().__init__()
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.balance: dict[int, Decimal] = defaultdict(Decimal)
        self.floor: dict[int, Decimal | None] = {}
        for rows in self.books.customers.values():
            for _, ledger in rows:
                self.floor[ledger.business_funds.pk] = Decimal(0)
                self.floor[ledger.call_credit.pk] = Decimal(0)
        self.posted: list[tuple[Transaction, list[Leg], str]] = []  # (txn, legs, kind)
        self.reversed: dict[int, str] = {}  # original pk -> key of its reversal
        self.keys = 0

    def teardown(self):
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    def key(self) -> str:
        self.keys += 1
        return f"k{self.keys}"

    def customer(self, currency: str, index: int):
        return self.books.customers[currency][index % CUSTOMERS_PER_CURRENCY]

    def affordable(self, legs: list[Leg]) -> bool:
        net: dict[int, Decimal] = defaultdict(Decimal)
        for leg in legs:
            net[leg.ledger_account.pk] += leg.amount.amount
        return all(
            change >= 0 or self.floor.get(pk) is None or self.balance[pk] + change >= self.floor[pk]
            for pk, change in net.items()
        )

    def post(self, kind: str, legs: list[Leg]) -> None:
        key = self.key()
        expected = self.affordable(legs)
        try:
            txn = transaction_post(
                kind=kind, memo=kind, postings=legs, idempotency_key=key, actor=SYSTEM
            )
        except InsufficientFunds:
            assert not expected, "refused although affordable"
            event(f"{kind}: refused below a floor")
            return
        assert expected, "posted although it crosses a floor"
        event(f"{kind}: posted")
        for leg in legs:
            self.balance[leg.ledger_account.pk] += leg.amount.amount
        self.posted.append((txn, legs, kind))

    @initialize(units=st.lists(st.integers(0, 20_000), min_size=12, max_size=12))
    def opening_deposits(self, units):
        """Start most examples with money on the customers' accounts, so debits can succeed."""
        targets = [
            target
            for currency in CURRENCIES
            for _, ledger in self.books.customers[currency]
            for target in (ledger.business_funds, ledger.call_credit)
        ]
        for target, n in zip(targets, units, strict=True):
            if n:
                amount = n * Decimal(1).scaleb(-minor_units(target.currency))
                bank = self.books.operator["bank_clearing", target.currency]
                self.post(
                    "bank_transfer",
                    [
                        Leg(bank, Money(-amount, target.currency)),
                        Leg(target, Money(amount, target.currency)),
                    ],
                )

    @rule(data=any_amount, index=st.integers(0, 9), to_call_credit=st.booleans())
    def deposit(self, data, index, to_call_credit):
        currency, amount, _, _ = data
        _, ledger = self.customer(currency, index)
        target = ledger.call_credit if to_call_credit else ledger.business_funds
        self.post(
            "bank_transfer",
            [
                Leg(self.books.operator["bank_clearing", currency], Money(-amount, currency)),
                Leg(target, Money(amount, currency)),
            ],
        )

    @rule(data=any_amount, index=st.integers(0, 9))
    def rate_a_call(self, data, index):
        currency, _, _, rated = data
        _, ledger = self.customer(currency, index)
        self.post(
            "call",
            [
                Leg(ledger.call_credit, Money(-rated, currency)),
                Leg(self.books.operator["revenue_calls", currency], Money(rated, currency)),
            ],
        )

    @rule(data=any_amount, index=st.integers(0, 9), tax_percent=st.sampled_from([0, 7, 19, 20]))
    def invoice_with_tax(self, data, index, tax_percent):
        currency, _, net, _ = data
        _, ledger = self.customer(currency, index)
        tax = Money(net * tax_percent / 100, currency).rounded().amount
        legs = [
            Leg(ledger.business_funds, Money(-(net + tax), currency)),
            Leg(self.books.operator["revenue_subscriptions", currency], Money(net, currency)),
        ]
        if tax:
            legs.append(Leg(self.books.operator["tax_payable", currency], Money(tax, currency)))
        self.post("checkout", legs)

    @rule(data=any_amount, payer=st.integers(0, 9), payee=st.integers(0, 9))
    def transfer(self, data, payer, payee):
        currency, _, amount, _ = data
        _, a = self.customer(currency, payer)
        _, b = self.customer(currency, payee)
        # one customer tops up its call credit; two move business funds between them
        destination = b.call_credit if a is b else b.business_funds
        self.post(
            "top_up",
            [
                Leg(a.business_funds, Money(-amount, currency)),
                Leg(destination, Money(amount, currency)),
            ],
        )

    @rule(pick=st.integers(0, 10_000), fresh_key=st.booleans())
    def reverse(self, pick, fresh_key):
        if not self.posted:
            return
        original, legs, kind = self.posted[pick % len(self.posted)]
        opposite = [Leg(leg.ledger_account, -leg.amount) for leg in legs]
        key = self.key() if fresh_key else ""
        used_key = key or f"reversal-of:{original.pk}"
        first_key = self.reversed.get(original.pk)
        try:
            reversal = transaction_reverse(transaction=original, actor=SYSTEM, idempotency_key=key)
        except AlreadyReversed:
            assert kind == "reversal" or first_key not in (None, used_key)
            event("reversal: refused, already reversed or a reversal")
            return
        except InsufficientFunds:
            assert first_key is None and not self.affordable(opposite)
            event("reversal: refused below a floor")
            return
        assert kind != "reversal"
        assert reversal.reverses_id == original.pk
        if first_key is not None:  # the same key again: the first reversal is replayed
            assert first_key == used_key == reversal.idempotency_key
            event("reversal: replayed")
            return
        event("reversal: posted")
        assert self.affordable(opposite)
        self.reversed[original.pk] = used_key
        for leg in opposite:
            self.balance[leg.ledger_account.pk] += leg.amount.amount
        self.posted.append((reversal, opposite, "reversal"))

    @rule(pick=st.integers(0, 10_000))
    def replay(self, pick):
        if not self.posted:
            return
        original, legs, kind = self.posted[pick % len(self.posted)]
        if kind == "reversal":
            return
        again = transaction_post(
            kind=kind,
            memo=kind,
            postings=legs,
            idempotency_key=original.idempotency_key,
            actor=SYSTEM,
        )
        assert again.pk == original.pk

    @rule(pick=st.integers(0, 10_000))
    def reuse_a_key_for_other_content(self, pick):
        if not self.posted:
            return
        original, legs, kind = self.posted[pick % len(self.posted)]
        with pytest.raises(IdempotencyKeyReused):
            transaction_post(
                kind=kind,
                memo="something else",
                postings=legs,
                idempotency_key=original.idempotency_key,
                actor=SYSTEM,
            )

    @rule(data=any_amount, index=st.integers(0, 9))
    def unbalanced_is_refused(self, data, index):
        currency, amount, _, _ = data
        _, ledger = self.customer(currency, index)
        unit = Decimal(1).scaleb(-minor_units(currency))
        with pytest.raises(ValidationFailed):
            transaction_post(
                kind="bank_transfer",
                memo="wrong",
                postings=[
                    Leg(self.books.operator["bank_clearing", currency], Money(-amount, currency)),
                    Leg(ledger.business_funds, Money(amount + unit, currency)),
                ],
                idempotency_key=self.key(),
                actor=SYSTEM,
            )

    @rule(index=st.integers(0, 9), currency=st.sampled_from(CURRENCIES), limit=st.integers(0, 500))
    def set_credit_limit(self, index, currency, limit):
        account, ledger = self.customer(currency, index)
        pk = ledger.call_credit.pk
        try:
            call_credit_limit_set(account=account, limit=Money(limit, currency), actor=SYSTEM)
        except ValidationFailed:
            assert self.balance[pk] < -limit
            return
        assert self.balance[pk] >= -limit
        self.floor[pk] = Decimal(-limit)

    # The invariants add up in Python with Decimal: SQLite would sum the columns as floats.

    @invariant()
    def every_transaction_sums_to_zero_per_currency(self):
        totals: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
        for txn, currency, amount in Posting.objects.values_list(
            "transaction_id", "currency", "amount"
        ):
            totals[txn, currency] += amount
        assert all(total == 0 for total in totals.values()), totals

    @invariant()
    def balances_are_the_sums_of_postings_and_the_model(self):
        sums: dict[int, Decimal] = defaultdict(Decimal)
        last: dict[int, Decimal] = {}
        for posting in Posting.objects.order_by("id"):
            sums[posting.ledger_account_id] += posting.amount
            assert posting.balance_after == sums[posting.ledger_account_id], posting
            last[posting.ledger_account_id] = posting.balance_after
        for account in LedgerAccount.objects.all():
            assert account.balance == sums[account.pk] == last.get(account.pk, 0), account
            assert account.balance == self.balance[account.pk], account
            assert account.floor == self.floor.get(account.pk), account

    @invariant()
    def balances_of_each_currency_sum_to_zero(self):
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for currency, balance in LedgerAccount.objects.values_list("currency", "balance"):
            totals[currency] += balance
        assert all(total == 0 for total in totals.values()), totals

    @invariant()
    def no_balance_is_below_its_floor(self):
        for account in LedgerAccount.objects.exclude(floor=None):
            assert account.balance >= account.floor, account


def test_random_operations_keep_the_books_balanced(db, settings):
    settings.BILLTONE_CURRENCIES = list(CURRENCIES)
    LedgerMachine.books = Books()
    run_state_machine_as_test(
        LedgerMachine,
        settings=hypothesis_settings(
            max_examples=40,
            stateful_step_count=30,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
