"""Accounts that bought a user on the National plan and a number through the real basket
checkout with business funds, at a frozen moment; the shop is the basket tests' (operator in
the Netherlands, cut-off day 19, National 12.00 EUR / 10.00 GBP a month, a number 3.00 EUR)."""

import itertools
from datetime import datetime

import pytest
import time_machine

from billtone.accounts.models import Account, BillingProfile
from billtone.basket import services as basket
from billtone.basket.tests.conftest import ACTOR, Shop, fund, shop  # noqa: F401
from billtone.catalog.models import TaxRate
from billtone.payments.services import auto_payments_set, card_add

_keys = itertools.count(1)
_extensions = itertools.count(300)
SUCCEEDS = "4242424242424242"
DECLINES = "4000000000000002"


def buy(account: Account, sold: Shop, *, at: datetime, number: int | None = None) -> None:
    """At `at`: a user on the National plan (and the inventory's `number`), paid with funds."""
    with time_machine.travel(at, tick=False):
        basket.basket_user_add(
            account=account,
            name=f"User {next(_extensions)}",
            email="user@customer.example",
            extension=str(next(_extensions)),
            plan_id=sold.national.pk,
            actor=ACTOR,
        )
        if number is not None:
            basket.basket_number_add(
                account=account, number_id=sold.numbers[number].pk, actor=ACTOR
            )
        basket.checkout_with_funds(
            account=account, idempotency_key=f"buy-{next(_keys)}", actor=ACTOR
        )


def card_on(account: Account, number: str = SUCCEEDS) -> None:
    """A default card with automatic payments on."""
    card_add(
        account=account,
        number=number,
        exp_month=11,
        exp_year=2035,
        cvc="737",
        holder_name="Ada Lovelace",
        actor=ACTOR,
    )
    auto_payments_set(account=account, enabled=True, actor=ACTOR)


@pytest.fixture
def customer_in(make_account, shop):  # noqa: F811
    """make(zone, country="DE", currency="EUR") -> an account in that zone, billed there."""
    TaxRate.objects.get_or_create(country="GB", defaults={"rate": "20.00"})

    def make(zone: str, *, country: str = "DE", currency: str = "EUR") -> Account:
        account = make_account(currency=currency, timezone=zone)
        BillingProfile.objects.filter(account=account).update(country=country)
        return Account.objects.select_related("billing_profile").get(pk=account.pk)

    return make
