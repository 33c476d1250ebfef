"""ledger.hooks: listeners hear, after commit, whose business funds were credited."""

import pytest
from django.db import transaction

from billtone.core.money import Money
from billtone.ledger import hooks
from billtone.ledger.bulk import BulkTransaction, transactions_post_bulk
from billtone.ledger.services import Leg, operator_ledger_account, transaction_post
from billtone.ledger.tests.conftest import SYSTEM, new_key


@pytest.fixture
def heard():
    calls: list[frozenset[int]] = []
    hooks.funds_credited_register(calls.append)
    yield calls
    hooks.funds_credited_unregister(calls.append)


def test_a_credit_to_business_funds_is_told_after_commit(
    ledger, account, deposit, heard, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        deposit(ledger.business_funds, "25.00")
        assert heard == []  # not before the commit
    assert len(callbacks) == 1
    assert heard == [frozenset({account.pk})]


def test_debits_call_credit_and_rollbacks_are_not_told(
    ledger, bank, deposit, heard, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        deposit(ledger.call_credit, "10.00")  # call credit, not business funds
    assert heard == []
    with django_capture_on_commit_callbacks(execute=True):
        deposit(ledger.business_funds, "30.00")
    heard.clear()
    with django_capture_on_commit_callbacks(execute=True):
        transaction_post(  # business funds debited: nothing arrived
            kind="adjustment",
            memo="Back to the bank",
            postings=[
                Leg(ledger.business_funds, Money("-5.00", "EUR")),
                Leg(bank, Money("5.00", "EUR")),
            ],
            idempotency_key=new_key(),
            actor=SYSTEM,
        )
    assert heard == []
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        deposit(ledger.business_funds, "7.00")
        transaction.set_rollback(True)
    assert callbacks == [] and heard == []


def test_a_replay_is_not_told_twice(
    ledger, account, deposit, heard, django_capture_on_commit_callbacks
):
    with_key = new_key()
    with django_capture_on_commit_callbacks(execute=True):
        deposit(ledger.business_funds, "12.00", key=with_key)
        deposit(ledger.business_funds, "12.00", key=with_key)  # the same key: the first one
    assert heard == [frozenset({account.pk})]


def test_a_bulk_batch_tells_each_account_once(
    db, ledger, account, heard, django_capture_on_commit_callbacks
):
    bank = operator_ledger_account(kind="bank_clearing", currency="EUR")
    batch = [
        BulkTransaction(
            kind="bank_transfer",
            memo="Bank transfer",
            postings=[
                Leg(ledger.business_funds, Money(amount, "EUR")),
                Leg(bank, Money(f"-{amount}", "EUR")),
            ],
            idempotency_key=new_key("bulk"),
        )
        for amount in ("1.00", "2.00")
    ]
    with django_capture_on_commit_callbacks(execute=True):
        transactions_post_bulk(transactions=batch, actor=SYSTEM)
    assert heard == [frozenset({account.pk})]
