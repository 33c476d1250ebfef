import itertools

import pytest

from billtone.core.money import Money
from billtone.core.services import Actor
from billtone.ledger.services import (
    customer_ledger_accounts,
    funds_transfer,
    operator_ledger_account,
)

SYSTEM = Actor.system("test")
_keys = itertools.count(1)


def new_key(prefix: str = "key") -> str:
    return f"{prefix}-{next(_keys)}"


@pytest.fixture
def ledger(account):
    return customer_ledger_accounts(account=account)


@pytest.fixture
def bank(db):
    return operator_ledger_account(kind="bank_clearing", currency="EUR")


@pytest.fixture
def revenue(db):
    return operator_ledger_account(kind="revenue_subscriptions", currency="EUR")


@pytest.fixture
def deposit(bank):
    def make(destination, amount: str, key: str | None = None, memo: str = "Bank transfer"):
        return funds_transfer(
            source=operator_ledger_account(kind="bank_clearing", currency=destination.currency),
            destination=destination,
            amount=Money(amount, destination.currency),
            kind="bank_transfer",
            memo=memo,
            idempotency_key=key or new_key("deposit"),
            actor=SYSTEM,
        )

    return make
