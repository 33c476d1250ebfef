"""Collecting a chunk in bulk (issue 18): one read decides which bills need no payment (paid
before, no way to pay) and which business funds cover; those are paid in one transaction;
only card payments go one by one through bill_collect."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine

import billtone.billing.services.run as run_module
from billtone.billing.models import BillCollection
from billtone.billing.services import bill_run
from billtone.billing.services.collect import Foreseen, collection_way, collections_foreseen
from billtone.billing.services.issue import bills_issue
from billtone.billing.tests.conftest import ACTOR, buy, card_on, fund
from billtone.catalog.models import OperatorProfile
from billtone.catalog.selectors import operator_profile_get
from billtone.core.money import Money
from billtone.invoicing.models import Invoice
from billtone.invoicing.services import invoice_pay_from_funds, invoices_pay_from_funds
from billtone.ledger.models import Transaction
from billtone.ledger.selectors import books_check, business_funds_free
from billtone.ledger.services import customer_ledger_accounts, funds_transfer
from billtone.payments.models import Payment

BOUGHT = datetime(2026, 3, 10, 12, tzinfo=UTC)
APRIL = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)  # after midnight 1 April in Berlin
DUE = Decimal("14.28")


def ledger_check() -> None:
    """Every transaction balanced, every balance equal to its postings."""
    assert books_check().ok, books_check()


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
    assert {i: (c.outcome, c.reason[:14]) for i, c in foreseen.settled.items()} == {
        four["none"]: ("unpaid", "Business funds"),
        four["paid"]: ("paid_before", ""),
    }
    assert foreseen.from_funds == [four["funds"]]
    OperatorProfile.objects.update(bills_from_funds=False)
    foreseen = collections_foreseen(list(four.values()))
    assert foreseen.settled.keys() == {four["funds"], four["none"], four["paid"]}
    assert foreseen.from_funds == []
    assert collections_foreseen([]) == Foreseen(settled={}, from_funds=[])


def test_a_run_pays_by_card_one_by_one_only_and_counts_as_before(customer_in, shop, monkeypatch):
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
    # Only the card payment went one by one: the funds paid in one transaction for the chunk.
    assert one_by_one == [BillCollection.objects.get(outcome="paid_by_card").invoice_id]
    assert Payment.objects.filter(account=accounts["none"]).count() == payments_before


def spend_all_but(account, kept: Decimal) -> None:
    """Business funds spent elsewhere (moved to call credit) down to `kept`."""
    books = customer_ledger_accounts(account=account)
    free = business_funds_free(account_ids=[account.pk])[account.pk]
    funds_transfer(
        source=books.business_funds,
        destination=books.call_credit,
        amount=Money(free - kept, "EUR"),
        kind="test",
        memo="Spent elsewhere",
        idempotency_key=f"spent:{account.pk}:{free}",
        actor=ACTOR,
    )


def test_funds_pay_each_accounts_oldest_bills_they_cover_and_no_more(customer_in, shop):
    account = customer_in("Europe/Berlin")
    fund(account, "100.00")
    buy(account, shop, at=BOUGHT)
    spend_all_but(account, Decimal("20.00"))
    with time_machine.travel(APRIL, tick=False):
        first = bills_issue(account_ids=[account.pk], at=APRIL, run=None, actor=ACTOR).issued
    may = datetime(2026, 4, 30, 23, 30, tzinfo=UTC)
    with time_machine.travel(may, tick=False):
        second = bills_issue(account_ids=[account.pk], at=may, run=None, actor=ACTOR).issued
    ids = [*first, *second]
    free = business_funds_free(account_ids=[account.pk])[account.pk]
    due = [Invoice.objects.get(pk=pk).gross for pk in ids]
    assert due[0] <= free < due[0] + due[1]  # the funds cover the April bill, not both
    assert collections_foreseen(ids).from_funds == first


def test_a_chunks_funds_payments_are_one_transaction_in_a_fixed_number_of_statements(
    customer_in, shop, django_assert_max_num_queries
):
    accounts = [customer_in("Europe/Berlin") for _ in range(4)]
    for account in accounts:
        fund(account, "100.00")
        buy(account, shop, at=BOUGHT)
    with time_machine.travel(APRIL, tick=False):
        issued = bills_issue(
            account_ids=[a.pk for a in accounts], at=APRIL, run=None, actor=ACTOR
        ).issued
    before = {a.pk: business_funds_free(account_ids=[a.pk])[a.pk] for a in accounts}
    operator_profile_get()
    with django_assert_max_num_queries(16):  # the same for 4 bills as for 400
        paid = invoices_pay_from_funds(invoice_ids=issued, actor=ACTOR)
    assert sorted(paid) == sorted(issued)
    for invoice in Invoice.objects.filter(pk__in=issued):
        assert invoice.status == Invoice.Status.PAID and invoice.paid_at is not None
        txn = Transaction.objects.get(idempotency_key=f"invoice-pay:{invoice.pk}")
        assert sum(p.amount for p in txn.postings.all()) == 0
        funds_now = business_funds_free(account_ids=[invoice.account_id])[invoice.account_id]
        assert funds_now == before[invoice.account_id] - invoice.gross
    assert invoices_pay_from_funds(invoice_ids=issued, actor=ACTOR) == []  # paid: left out
    ledger_check()


def test_funds_spent_since_the_read_pay_nothing_in_bulk_and_the_run_pays_one_by_one(
    customer_in, shop, monkeypatch
):
    rich, spent = customer_in("Europe/Berlin"), customer_in("Europe/Berlin")
    for account in (rich, spent):
        fund(account, "100.00")
        buy(account, shop, at=BOUGHT)
    with time_machine.travel(APRIL, tick=False):
        issued = bills_issue(
            account_ids=[rich.pk, spent.pk], at=APRIL, run=None, actor=ACTOR
        ).issued
    assert sorted(collections_foreseen(issued).from_funds) == sorted(issued)
    bulk, collect, one_by_one = run_module.invoices_pay_from_funds, run_module.bill_collect, []

    def spent_after_the_read(*, invoice_ids, actor):
        spend_all_but(spent, Decimal(0))
        paid = bulk(invoice_ids=invoice_ids, actor=actor)
        assert paid == []  # all or nothing
        assert not Invoice.objects.filter(pk__in=issued, status=Invoice.Status.PAID).exists()
        assert not Transaction.objects.filter(idempotency_key__startswith="invoice-pay:").exists()
        return paid

    monkeypatch.setattr(run_module, "invoices_pay_from_funds", spent_after_the_read)
    monkeypatch.setattr(
        run_module, "bill_collect", lambda **kw: one_by_one.append(kw) or collect(**kw)
    )
    counts = run_module.bill_chunk(
        account_ids=[rich.pk, spent.pk], at=APRIL, run_id=None, actor=ACTOR
    )
    assert (counts.paid_from_funds, counts.left_unpaid) == (1, 1)
    assert len(one_by_one) == 2
    assert Invoice.objects.get(account=rich, pk__in=issued).status == Invoice.Status.PAID
    ledger_check()
