"""Collecting a chunk in bulk (issue 18): one read decides which bills need no payment (paid
before, no way to pay); only the payable ones go one by one through bill_collect."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine

import billtone.billing.services.run as run_module
from billtone.billing.models import BillCollection
from billtone.billing.services import bill_run
from billtone.billing.services.collect import collection_way, collections_foreseen
from billtone.billing.services.issue import bills_issue
from billtone.billing.tests.conftest import ACTOR, buy, card_on, fund
from billtone.catalog.models import OperatorProfile
from billtone.catalog.selectors import operator_profile_get
from billtone.invoicing.services import invoice_pay_from_funds
from billtone.payments.models import Payment

BOUGHT = datetime(2026, 3, 10, 12, tzinfo=UTC)
APRIL = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)  # after midnight 1 April in Berlin
DUE = Decimal("14.28")


@pytest.mark.parametrize(
    ("paid", "funds_free", "bills_from_funds", "card", "way"),
    [
        (False, Decimal("14.28"), True, False, "funds"),  # exactly covers
        (False, Decimal("100"), True, True, "funds"),  # funds before the card
        (False, Decimal("14.27"), True, True, "card"),
        (False, None, True, True, "card"),  # no business funds yet
        (False, Decimal("14.27"), True, False, "unpaid"),
        (False, Decimal("100"), False, True, "card"),  # policy off: never funds
        (False, Decimal("100"), False, False, "unpaid"),
        (True, Decimal("0"), True, False, "paid_before"),
    ],
)
def test_the_way_an_invoice_is_collected(paid, funds_free, bills_from_funds, card, way):
    assert (
        collection_way(
            paid=paid,
            amount_due=DUE,
            funds_free=funds_free,
            bills_from_funds=bills_from_funds,
            card_on=card,
        )
        == way
    )


@pytest.fixture
def four(customer_in, shop):
    """Issued April bills (not collected): funds cover, a card pays, nothing pays, paid."""
    accounts = {name: customer_in("Europe/Berlin") for name in ("funds", "card", "none", "paid")}
    for name, account in accounts.items():
        fund(account, "100.00" if name in ("funds", "paid") else "15.00")
        buy(account, shop, at=BOUGHT)
    card_on(accounts["card"])
    with time_machine.travel(APRIL, tick=False):
        issued = bills_issue(
            account_ids=[a.pk for a in accounts.values()], at=APRIL, run=None, actor=ACTOR
        ).issued
    bills = dict(zip(accounts, sorted(issued), strict=True))  # issued in account order
    invoice_pay_from_funds(invoice_id=bills["paid"], actor=ACTOR)
    return bills


def test_one_read_foresees_the_bills_needing_no_payment(four, django_assert_num_queries):
    operator_profile_get()  # made on first use: not part of the count
    with django_assert_num_queries(5):
        foreseen = collections_foreseen(list(four.values()))
    assert {i: (c.outcome, c.reason[:14]) for i, c in foreseen.items()} == {
        four["none"]: ("unpaid", "Business funds"),
        four["paid"]: ("paid_before", ""),
    }
    OperatorProfile.objects.update(bills_from_funds=False)
    foreseen = collections_foreseen(list(four.values()))
    assert foreseen.keys() == {four["funds"], four["none"], four["paid"]}
    assert collections_foreseen([]) == {}


def test_a_run_pays_one_by_one_only_what_it_can_and_counts_as_before(
    customer_in, shop, monkeypatch
):
    accounts = {name: customer_in("Europe/Berlin") for name in ("funds", "card", "none")}
    for name, account in accounts.items():
        fund(account, "100.00" if name == "funds" else "15.00")
        buy(account, shop, at=BOUGHT)
    card_on(accounts["card"])
    one_by_one = []

    def spy(**kwargs):
        one_by_one.append(kwargs["invoice_id"])
        return collect(**kwargs)

    collect = run_module.bill_collect
    monkeypatch.setattr(run_module, "bill_collect", spy)
    payments_before = Payment.objects.filter(account=accounts["none"]).count()
    with time_machine.travel(APRIL, tick=False):
        run = bill_run(actor=ACTOR)
    assert (run.invoiced, run.paid_from_funds, run.paid_by_card, run.left_unpaid) == (3, 1, 1, 1)
    unpaid = BillCollection.objects.get(outcome="unpaid")
    assert unpaid.invoice.account_id == accounts["none"].pk
    assert unpaid.invoice_id not in one_by_one and len(one_by_one) == 2
    assert Payment.objects.filter(account=accounts["none"]).count() == payments_before
