"""An account's billing currency cannot change while a card payment in it is on its way."""

import pytest

from billtone.accounts import money_checks
from billtone.accounts.models import BillingProfile
from billtone.accounts.tests.profiles import currency_change
from billtone.core.errors import ValidationFailed
from billtone.payments.selectors import payments_unsettled
from billtone.payments.tests.conftest import THREE_D_SECURE, add_card, charge


def test_payments_register_their_check():
    assert payments_unsettled in money_checks.registered()


def test_currency_change_refused_while_a_card_payment_is_unsettled(transactional_db, account):
    payment = charge(account, add_card(account, THREE_D_SECURE), "20.00")
    assert payment.status == "requires_action"

    with pytest.raises(ValidationFailed) as raised:
        currency_change(account, "GBP")

    assert "already has money recorded in EUR" in raised.value.errors["currency"][0]
    assert BillingProfile.objects.get(account=account).currency == "EUR"
