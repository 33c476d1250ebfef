"""An account's billing currency cannot change once the ledger holds its money in it."""

import pytest

from billtone.accounts import money_checks
from billtone.accounts.models import BillingProfile
from billtone.accounts.tests.profiles import currency_change
from billtone.core.errors import ValidationFailed
from billtone.core.money import Money
from billtone.ledger.selectors import customer_has_postings
from billtone.ledger.services import customer_ledger_accounts, funds_transfer
from billtone.ledger.tests.conftest import SYSTEM


def test_the_ledger_registers_its_check():
    assert customer_has_postings in money_checks.registered()


def test_currency_change_refused_once_money_is_recorded(account, bank):
    funds_transfer(
        source=bank,
        destination=customer_ledger_accounts(account=account).business_funds,
        amount=Money("25.00", "EUR"),
        kind="bank_transfer",
        memo="Bank transfer",
        idempotency_key="deposit-1",
        actor=SYSTEM,
    )

    with pytest.raises(ValidationFailed) as raised:
        currency_change(account, "USD")

    assert "already has money recorded in EUR" in raised.value.errors["currency"][0]
    assert BillingProfile.objects.get(account=account).currency == "EUR"


def test_currency_change_allowed_while_the_ledger_is_empty(account):
    customer_ledger_accounts(account=account)  # opened, nothing posted

    assert currency_change(account, "USD").currency == "USD"
    account.refresh_from_db()
    assert customer_ledger_accounts(account=account).business_funds.currency == "USD"
