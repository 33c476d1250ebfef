"""subscription_start: what checkout records for each monthly item."""

from datetime import date

import pytest
from django.db import transaction

from billtone.catalog.models import Product
from billtone.core.errors import ValidationFailed
from billtone.core.money import Money
from billtone.invoicing.errors import SubscriptionExists
from billtone.invoicing.models import Subscription
from billtone.invoicing.services import subscription_start
from billtone.invoicing.tests.conftest import issue


@pytest.fixture
def plan(db):
    return Product.objects.create(
        code="national-test", name="National", kind="plan", billing="monthly", included_minutes=1000
    )


def start(account, plan, invoice, **changes):
    fields = {
        "account": account,
        "product": plan,
        "item_kind": "phone_user",
        "item_id": 7,
        "description": "National plan: Ada (201)",
        "unit_price": Money("12.00", "EUR"),
        "started_on": date(2026, 12, 25),
        "paid_through": date(2027, 1, 31),
        "invoice": invoice,
        **changes,
    }
    with transaction.atomic():
        return subscription_start(**fields)


def test_a_subscription_records_what_was_paid_through_when(customer, plan):
    invoice = issue(customer)
    subscription = start(customer, plan, invoice)
    assert subscription.status == "active"
    assert (subscription.unit_price, subscription.currency) == (12, "EUR")
    assert subscription.paid_through == date(2027, 1, 31)
    assert subscription.invoice == invoice


def test_one_active_subscription_per_item(customer, plan):
    invoice = issue(customer)
    start(customer, plan, invoice)
    with pytest.raises(SubscriptionExists), transaction.atomic():  # the caller rolls back
        start(customer, plan, invoice)
    start(customer, plan, invoice, item_kind="phone_number")  # another kind of item: its own
    assert Subscription.objects.count() == 2


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"paid_through": date(2026, 12, 24)}, "paid_through"),
        ({"unit_price": Money("12.005", "EUR")}, "unit_price"),
        ({"unit_price": Money("12.00", "GBP")}, "invoice"),
        ({"item_kind": "store_item"}, "item_kind"),
    ],
)
def test_inconsistent_subscriptions_are_refused(customer, plan, changes, field):
    invoice = issue(customer)
    with pytest.raises(ValidationFailed) as refused:
        start(customer, plan, invoice, **changes)
    assert field in refused.value.errors
    assert not Subscription.objects.exists()
