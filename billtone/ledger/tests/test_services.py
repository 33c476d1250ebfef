from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.db.models import Sum

from billtone.core.errors import ValidationFailed
from billtone.core.models import AuditEntry
from billtone.core.money import Money
from billtone.ledger.errors import AlreadyReversed, IdempotencyKeyReused, InsufficientFunds
from billtone.ledger.models import LedgerAccount, Posting, Transaction
from billtone.ledger.selectors import balance_get
from billtone.ledger.services import (
    Leg,
    call_credit_limit_set,
    customer_ledger_accounts,
    funds_transfer,
    operator_ledger_account,
    transaction_clean,
    transaction_fingerprint,
    transaction_post,
    transaction_reverse,
)
from billtone.ledger.tests.conftest import SYSTEM, new_key


def eur(amount: str) -> Money:
    return Money(amount, "EUR")


def fresh(ledger_account: LedgerAccount) -> Decimal:
    return LedgerAccount.objects.get(pk=ledger_account.pk).balance


def postings_sum(ledger_account: LedgerAccount) -> Decimal:
    return Posting.objects.filter(ledger_account=ledger_account).aggregate(s=Sum("amount"))["s"]


def spend(ledger_account, revenue, amount: str, key: str | None = None) -> Transaction:
    return funds_transfer(
        source=ledger_account,
        destination=revenue,
        amount=Money(amount, ledger_account.currency),
        kind="checkout",
        memo="Basket",
        idempotency_key=key or new_key("spend"),
        actor=SYSTEM,
    )


def test_customer_ledger_accounts_are_made_once_in_the_billing_currency(account):
    first = customer_ledger_accounts(account=account)
    again = customer_ledger_accounts(account=account)
    assert (first.business_funds.pk, first.call_credit.pk) == (
        again.business_funds.pk,
        again.call_credit.pk,
    )
    assert first.business_funds.currency == first.call_credit.currency == "EUR"
    assert first.business_funds.floor == 0 and first.call_credit.floor == 0
    assert first.business_funds.account_id == account.pk
    assert LedgerAccount.objects.filter(account=account).count() == 2


def test_the_first_posting_makes_both_customer_accounts_in_one_insert(
    account, django_assert_num_queries
):
    """Read, one INSERT that skips what exists (no savepoint), read again: a checkout's first
    card payment makes them (decision 0034)."""
    assert account.billing_profile.currency == "EUR"  # loaded with the account, as requests do
    with django_assert_num_queries(3):
        made = customer_ledger_accounts(account=account)
    assert {made.business_funds.kind, made.call_credit.kind} == {"business_funds", "call_credit"}
    assert made.business_funds.floor == 0 and made.call_credit.floor == 0
    with django_assert_num_queries(1):
        again = customer_ledger_accounts(account=account)
    assert again.business_funds.pk == made.business_funds.pk


def test_operator_accounts_have_no_floor_and_no_customer(db):
    bank = operator_ledger_account(kind="bank_clearing", currency="KWD")
    assert bank.floor is None and bank.account_id is None
    assert operator_ledger_account(kind="bank_clearing", currency="KWD").pk == bank.pk
    with pytest.raises(ValidationFailed):
        operator_ledger_account(kind="business_funds", currency="EUR")
    with pytest.raises(ValueError):
        operator_ledger_account(kind="tax_payable", currency="XYZ")


def test_a_deposit_posts_two_sides_and_moves_both_balances(ledger, bank, deposit):
    txn = deposit(ledger.business_funds, "100.00", key="dep-1", memo="Transfer RF18 0000")
    assert txn.kind == "bank_transfer" and txn.created_by == "test"
    assert txn.idempotency_key == "dep-1" and txn.memo == "Transfer RF18 0000"
    rows = {p.ledger_account_id: p for p in txn.postings.all()}
    assert rows[ledger.business_funds.pk].amount == Decimal("100.00")
    assert rows[bank.pk].amount == Decimal("-100.00")
    assert rows[ledger.business_funds.pk].balance_after == Decimal("100.00")
    assert fresh(ledger.business_funds) == Decimal("100.00")
    assert fresh(bank) == Decimal("-100.00")  # the operator holds it: a debit balance
    assert balance_get(ledger_account=LedgerAccount.objects.get(pk=bank.pk)) == eur("-100.00")


def test_a_transaction_with_many_legs_must_balance(ledger, revenue, deposit):
    deposit(ledger.business_funds, "119.00")
    tax = operator_ledger_account(kind="tax_payable", currency="EUR")
    txn = transaction_post(
        kind="checkout",
        memo="Invoice 2026-0001",
        postings=[
            Leg(ledger.business_funds, eur("-119.00")),
            Leg(revenue, eur("100.00")),
            Leg(tax, eur("19.00")),
        ],
        idempotency_key="checkout-1",
        actor=SYSTEM,
        external_reference="INV-2026-0001",
    )
    assert txn.postings.count() == 3
    assert txn.external_reference == "INV-2026-0001"
    assert fresh(ledger.business_funds) == 0
    assert fresh(tax) == Decimal("19.00")


def _assert_nothing_written(accounts, transactions_before):
    assert Transaction.objects.count() == transactions_before
    for ledger_account in accounts:
        assert fresh(ledger_account) == (postings_sum(ledger_account) or 0)


@pytest.mark.parametrize(
    ("legs", "message"),
    [
        (lambda bf, rev: [Leg(bf, eur("-5.00")), Leg(rev, eur("4.99"))], "sum to zero in EUR"),
        (lambda bf, rev: [Leg(bf, eur("-5.00"))], "at least two postings"),
        (lambda bf, rev: [Leg(bf, eur("0")), Leg(rev, eur("0"))], "non-zero"),
        (
            lambda bf, rev: [Leg(bf, eur("-0.00001")), Leg(rev, eur("0.00001"))],
            "more than 4 decimal places",
        ),
        (
            lambda bf, rev: [Leg(bf, Money("-5", "USD")), Leg(rev, Money("5", "USD"))],
            "cannot be posted to a EUR ledger account",
        ),
        (
            lambda bf, rev: [Leg(bf, eur("-1E+17")), Leg(rev, eur("1E+17"))],
            "too large",
        ),
    ],
)
def test_bad_transactions_are_refused_and_write_nothing(ledger, revenue, deposit, legs, message):
    deposit(ledger.business_funds, "50.00")
    before = Transaction.objects.count()
    with pytest.raises(ValidationFailed) as raised:
        transaction_post(
            kind="checkout",
            memo="Basket",
            postings=legs(ledger.business_funds, revenue),
            idempotency_key=new_key(),
            actor=SYSTEM,
        )
    assert any(message in text for text in raised.value.errors["postings"])
    _assert_nothing_written([ledger.business_funds, revenue], before)
    assert fresh(ledger.business_funds) == Decimal("50.00")


@pytest.mark.parametrize(
    ("field", "arguments"),
    [
        ("kind", {"kind": "Top Up"}),
        ("memo", {"memo": "  "}),
        ("idempotency_key", {"idempotency_key": ""}),
        ("external_reference", {"external_reference": "x" * 256}),
    ],
)
def test_bad_fields_are_refused(ledger, revenue, deposit, field, arguments):
    deposit(ledger.business_funds, "5.00")
    values = {"kind": "checkout", "memo": "Basket", "idempotency_key": new_key()} | arguments
    with pytest.raises(ValidationFailed) as raised:
        transaction_post(
            postings=[Leg(ledger.business_funds, eur("-1")), Leg(revenue, eur("1"))],
            actor=SYSTEM,
            **values,
        )
    assert field in raised.value.errors
    assert fresh(ledger.business_funds) == Decimal("5.00")


def test_a_transaction_in_two_currencies_balances_per_currency(db):
    bank_eur = operator_ledger_account(kind="bank_clearing", currency="EUR")
    bank_usd = operator_ledger_account(kind="bank_clearing", currency="USD")
    adj_eur = operator_ledger_account(kind="adjustments", currency="EUR")
    adj_usd = operator_ledger_account(kind="adjustments", currency="USD")
    txn = transaction_post(
        kind="fx_exchange",
        memo="Exchange",
        postings=[
            Leg(bank_eur, eur("-100")),
            Leg(adj_eur, eur("100")),
            Leg(bank_usd, Money("108.20", "USD")),
            Leg(adj_usd, Money("-108.20", "USD")),
        ],
        idempotency_key="fx-1",
        actor=SYSTEM,
    )
    assert txn.postings.count() == 4
    with pytest.raises(ValidationFailed):
        transaction_post(
            kind="fx_exchange",
            memo="Exchange",
            postings=[Leg(bank_eur, eur("-100")), Leg(bank_usd, Money("100", "USD"))],
            idempotency_key="fx-2",
            actor=SYSTEM,
        )


def test_overdrawing_business_funds_is_refused_and_writes_nothing(ledger, revenue, deposit):
    deposit(ledger.business_funds, "30.00")
    spend(ledger.business_funds, revenue, "20.00")
    before = Transaction.objects.count()
    with pytest.raises(InsufficientFunds) as raised:
        spend(ledger.business_funds, revenue, "10.01")
    assert raised.value.status == 409
    assert raised.value.detail == "Business funds hold 10.00 EUR; this needs 10.01 EUR."
    _assert_nothing_written([ledger.business_funds, revenue], before)
    spend(ledger.business_funds, revenue, "10.00")
    assert fresh(ledger.business_funds) == 0


def test_call_credit_may_go_down_to_its_credit_limit(account, ledger):
    calls = operator_ledger_account(kind="revenue_calls", currency="EUR")
    with pytest.raises(InsufficientFunds):
        spend(ledger.call_credit, calls, "0.0001")
    call_credit_limit_set(account=account, limit=eur("10.00"), actor=SYSTEM)
    assert AuditEntry.objects.filter(action="ledger.call_credit_limit_set").count() == 1
    spend(ledger.call_credit, calls, "9.9999")
    with pytest.raises(InsufficientFunds) as raised:
        spend(ledger.call_credit, calls, "0.0002")
    assert "limit of 10.00 EUR" in raised.value.detail
    spend(ledger.call_credit, calls, "0.0001")
    assert fresh(ledger.call_credit) == Decimal("-10.0000")


def test_the_credit_limit_cannot_go_below_what_is_used(account, ledger, deposit):
    calls = operator_ledger_account(kind="revenue_calls", currency="EUR")
    call_credit_limit_set(account=account, limit=eur("20"), actor=SYSTEM)
    spend(ledger.call_credit, calls, "15.25")
    with pytest.raises(ValidationFailed) as raised:
        call_credit_limit_set(account=account, limit=eur("15.24"), actor=SYSTEM)
    assert "15.25 EUR of call credit is in use" in raised.value.errors["limit"][0]
    call_credit_limit_set(account=account, limit=eur("15.25"), actor=SYSTEM)  # no further calls
    with pytest.raises(InsufficientFunds):
        spend(ledger.call_credit, calls, "0.0001")
    deposit(ledger.call_credit, "1.00")
    assert fresh(ledger.call_credit) == Decimal("-14.25")


@pytest.mark.parametrize("limit", [Money("-1", "EUR"), Money("1.001", "EUR"), Money("1", "USD")])
def test_bad_credit_limits_are_refused(account, ledger, limit):
    with pytest.raises(ValidationFailed):
        call_credit_limit_set(account=account, limit=limit, actor=SYSTEM)
    assert LedgerAccount.objects.get(pk=ledger.call_credit.pk).floor == 0


def test_transfer_between_a_customers_accounts(ledger, deposit):
    deposit(ledger.business_funds, "50")
    funds_transfer(
        source=ledger.business_funds,
        destination=ledger.call_credit,
        amount=eur("20"),
        kind="top_up",
        memo="Call credit top-up",
        idempotency_key="top-up-1",
        actor=SYSTEM,
    )
    assert fresh(ledger.business_funds) == Decimal("30")
    assert fresh(ledger.call_credit) == Decimal("20")


@pytest.mark.parametrize("amount", ["0", "-5"])
def test_transfer_needs_a_positive_amount(ledger, bank, amount):
    with pytest.raises(ValidationFailed):
        funds_transfer(
            source=bank,
            destination=ledger.business_funds,
            amount=eur(amount),
            kind="bank_transfer",
            memo="x",
            idempotency_key=new_key(),
            actor=SYSTEM,
        )


def test_transfer_to_the_same_account_is_refused(ledger):
    with pytest.raises(ValidationFailed):
        funds_transfer(
            source=ledger.business_funds,
            destination=ledger.business_funds,
            amount=eur("1"),
            kind="top_up",
            memo="x",
            idempotency_key=new_key(),
            actor=SYSTEM,
        )


def test_transaction_clean_reports_every_problem_at_once(ledger, revenue):
    with pytest.raises(ValidationFailed) as raised:
        transaction_clean(
            kind="Top Up",
            memo=" ",
            legs=[Leg(ledger.business_funds, eur("-5.00"))],
            idempotency_key="",
            external_reference="x" * 256,
        )
    assert set(raised.value.errors) == {
        "kind",
        "memo",
        "idempotency_key",
        "external_reference",
        "postings",
    }
    transaction_clean(
        kind="checkout",
        memo="Basket",
        legs=[Leg(ledger.business_funds, eur("-5.00")), Leg(revenue, eur("5.00"))],
        idempotency_key="k",
        external_reference="",
    )


def test_transaction_fingerprint_is_the_content_whatever_the_order_of_the_legs(ledger, revenue):
    funds = ledger.business_funds
    legs = [Leg(funds, eur("-5.00")), Leg(revenue, eur("5.00"))]

    def fingerprint(**changes) -> str:
        content = {
            "kind": "checkout",
            "memo": "Basket",
            "legs": legs,
            "external_reference": "",
            "reverses_id": None,
        }
        return transaction_fingerprint(**(content | changes))

    assert fingerprint() == fingerprint(legs=legs[::-1])
    assert fingerprint() == fingerprint(legs=[Leg(funds, eur("-5")), Leg(revenue, eur("5.000"))])
    others = [
        fingerprint(kind="refund"),
        fingerprint(memo="Other basket"),
        fingerprint(external_reference="INV-1"),
        fingerprint(reverses_id=1),
        fingerprint(legs=[Leg(funds, eur("-5.01")), Leg(revenue, eur("5.01"))]),
    ]
    assert len({fingerprint(), *others}) == 6


def test_a_replay_returns_the_first_transaction_and_posts_nothing(ledger, revenue, deposit):
    deposit(ledger.business_funds, "10")
    first = spend(ledger.business_funds, revenue, "10", key="pay-1")
    again = spend(ledger.business_funds, revenue, "10", key="pay-1")  # no longer affordable
    assert again.pk == first.pk
    assert Transaction.objects.filter(idempotency_key="pay-1").count() == 1
    assert Posting.objects.filter(transaction=first).count() == 2
    assert fresh(ledger.business_funds) == 0


def test_a_key_reused_for_other_content_is_refused(ledger, revenue, deposit):
    deposit(ledger.business_funds, "10")
    spend(ledger.business_funds, revenue, "4", key="pay-2")
    with pytest.raises(IdempotencyKeyReused) as raised:
        spend(ledger.business_funds, revenue, "5", key="pay-2")
    assert raised.value.status == 422
    assert fresh(ledger.business_funds) == Decimal("6")


def test_a_replay_inside_an_outer_transaction_keeps_it_usable(ledger, revenue, deposit):
    deposit(ledger.business_funds, "10")
    with transaction.atomic():
        first = spend(ledger.business_funds, revenue, "3", key="outer-1")
        assert spend(ledger.business_funds, revenue, "3", key="outer-1").pk == first.pk
        spend(ledger.business_funds, revenue, "2")
    assert fresh(ledger.business_funds) == Decimal("5")


def test_a_reversal_posts_the_opposite_and_links_the_original(ledger, revenue, deposit):
    deposit(ledger.business_funds, "40")
    purchase = spend(ledger.business_funds, revenue, "25")
    reversal = transaction_reverse(transaction=purchase, actor=SYSTEM, memo="Refund: wrong basket")
    assert reversal.reverses_id == purchase.pk and reversal.kind == "reversal"
    assert reversal.memo == "Refund: wrong basket"
    assert sorted(p.amount for p in reversal.postings.all()) == [Decimal("-25"), Decimal("25")]
    assert fresh(ledger.business_funds) == Decimal("40")
    assert fresh(revenue) == 0
    assert Posting.objects.filter(transaction=purchase).count() == 2  # the original stays


def test_a_transaction_is_reversed_once(ledger, revenue, deposit):
    deposit(ledger.business_funds, "40")
    purchase = spend(ledger.business_funds, revenue, "25")
    reversal = transaction_reverse(transaction=purchase, actor=SYSTEM)
    assert transaction_reverse(transaction=purchase, actor=SYSTEM).pk == reversal.pk  # replay
    with pytest.raises(AlreadyReversed):
        transaction_reverse(transaction=purchase, actor=SYSTEM, idempotency_key="another")
    with pytest.raises(AlreadyReversed):
        transaction_reverse(transaction=reversal, actor=SYSTEM)
    assert Transaction.objects.filter(kind="reversal").count() == 1
    assert fresh(ledger.business_funds) == Decimal("40")


def test_reversing_a_deposit_that_was_spent_is_refused(ledger, revenue, deposit):
    received = deposit(ledger.business_funds, "40")
    spend(ledger.business_funds, revenue, "30")
    with pytest.raises(InsufficientFunds):
        transaction_reverse(transaction=received, actor=SYSTEM)
    assert not Transaction.objects.filter(kind="reversal").exists()
    assert fresh(ledger.business_funds) == Decimal("10")


def test_balance_as_of_a_moment(ledger, revenue, deposit):
    with time_machine.travel(datetime(2026, 3, 1, 9, tzinfo=UTC), tick=False):
        deposit(ledger.business_funds, "100")
    with time_machine.travel(datetime(2026, 3, 5, 9, tzinfo=UTC), tick=False):
        spend(ledger.business_funds, revenue, "30")
    account = LedgerAccount.objects.get(pk=ledger.business_funds.pk)
    assert balance_get(ledger_account=account, as_of=datetime(2026, 2, 28, tzinfo=UTC)) == eur("0")
    assert balance_get(ledger_account=account, as_of=datetime(2026, 3, 1, 9, tzinfo=UTC)) == eur(
        "100"
    )
    assert balance_get(ledger_account=account, as_of=datetime(2026, 3, 4, tzinfo=UTC)) == eur("100")
    assert balance_get(ledger_account=account, as_of=datetime(2026, 3, 6, tzinfo=UTC)) == eur("70")
    assert balance_get(ledger_account=account) == eur("70")


def test_the_database_refuses_a_balance_below_its_floor(account, ledger):
    call_credit_limit_set(account=account, limit=eur("5"), actor=SYSTEM)
    for pk, values in [
        (ledger.business_funds.pk, {"balance": Decimal("-0.0001")}),
        (ledger.business_funds.pk, {"floor": Decimal("-1")}),
        (ledger.call_credit.pk, {"balance": Decimal("-5.0001")}),
        (ledger.call_credit.pk, {"floor": Decimal("1")}),
    ]:
        with pytest.raises(IntegrityError), transaction.atomic():
            LedgerAccount.objects.filter(pk=pk).update(**values)
    assert LedgerAccount.objects.get(pk=ledger.call_credit.pk).balance == 0


def test_the_statement_reference_is_kept_apart_from_the_fingerprint_and_reversed_with_it(
    ledger, bank
):
    fields = {
        "source": bank,
        "destination": ledger.business_funds,
        "amount": Money("5.00", "EUR"),
        "kind": "bank_transfer",
        "memo": "Bank transfer RF18 5390 0754 7034",
        "idempotency_key": "with-reference",
        "actor": SYSTEM,
        "external_reference": "BANK-7",
    }
    first = funds_transfer(**fields, statement_reference="RF18539007547034")
    # A key posted before statement references existed replays without one.
    assert funds_transfer(**fields) == first
    assert first.statement_reference == "RF18539007547034"
    assert transaction_reverse(transaction=first, actor=SYSTEM).statement_reference == (
        "RF18539007547034"
    )
    with pytest.raises(ValidationFailed) as caught:
        funds_transfer(**{**fields, "idempotency_key": "long"}, statement_reference="R" * 36)
    assert caught.value.errors == {"statement_reference": ["At most 35 characters."]}


def test_posting_rows_plain_sql_reads_every_column_of_a_ledger_account():
    """posting_ledger_accounts' plain SQL on PostgreSQL names the model's columns."""
    from billtone.ledger import services as ledger_services

    columns = [field.attname for field in LedgerAccount._meta.concrete_fields]
    assert columns == ledger_services._COLUMNS
