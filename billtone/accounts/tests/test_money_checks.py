"""The currency-change check asks what the apps registered (accounts.money_checks)."""

import pytest

from billtone.accounts import money_checks
from billtone.accounts.models import BillingProfile
from billtone.accounts.tests.profiles import currency_change
from billtone.core.errors import ValidationFailed


@pytest.fixture
def checks(monkeypatch):
    """Only the checks a test registers."""
    monkeypatch.setattr(money_checks, "_checks", [])
    return money_checks


def test_a_currency_change_is_refused_when_a_registered_check_finds_money(account, checks):
    asked = []

    def holds_money(*, account, currency):
        asked.append((account.pk, currency))
        return True

    checks.register(holds_money)

    with pytest.raises(ValidationFailed) as raised:
        currency_change(account, "USD")

    assert asked == [(account.pk, "EUR")]
    assert raised.value.errors["currency"] == [
        "The currency cannot change: this account already has money recorded in EUR. "
        "Ask the operator to open a new account for USD."
    ]
    assert BillingProfile.objects.get(account=account).currency == "EUR"


def test_a_currency_change_is_allowed_when_no_check_finds_money(account, checks):
    checks.register(lambda *, account, currency: False)

    assert currency_change(account, "USD").currency == "USD"


def test_a_check_registered_twice_is_asked_once(checks):
    def check(*, account, currency):
        return False

    checks.register(check)
    checks.register(check)

    assert checks.registered() == (check,)
