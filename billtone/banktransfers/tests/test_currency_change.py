"""An account's billing currency cannot change while a bank transfer in it is awaited."""

import pytest

from billtone.accounts import money_checks
from billtone.accounts.models import BillingProfile
from billtone.accounts.tests.profiles import currency_change
from billtone.banktransfers.selectors import bank_transfers_awaiting
from billtone.banktransfers.services import bank_transfer_create
from billtone.banktransfers.tests.funding import operator_banks_save
from billtone.core.errors import ValidationFailed
from billtone.core.services import Actor


def test_bank_transfers_register_their_check():
    assert bank_transfers_awaiting in money_checks.registered()


def test_currency_change_refused_while_a_bank_transfer_is_awaited(account):
    operator_banks_save()
    bank_transfer_create(account=account, amount="100.00", actor=Actor(label="t"))

    with pytest.raises(ValidationFailed) as raised:
        currency_change(account, "GBP")

    assert "already has money recorded in EUR" in raised.value.errors["currency"][0]
    assert BillingProfile.objects.get(account=account).currency == "EUR"
