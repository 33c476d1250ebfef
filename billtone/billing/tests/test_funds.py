"""Funds pay what is open: business funds that arrive (a real statement import) pay the
account's open invoices oldest first, whole ones only, the rest staying as funds; on
PostgreSQL two arrivals at once never pay one invoice twice nor go below the floor."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection

from billtone.banktransfers.tests.funding import operator_banks  # noqa: F401
from billtone.billing.services import bill_run
from billtone.billing.tests.conftest import ACTOR, buy, fund
from billtone.billing.tests.test_services import BOUGHT
from billtone.invoicing.models import Invoice
from billtone.ledger.models import LedgerAccount, LedgerKind, Transaction
from billtone.reconciliation.services import statement_import
from billtone.reconciliation.tests.importing import STAFF, Credit, camt053, customer_make

MONTHS = [datetime(2026, month, 1, 0, 30, tzinfo=UTC) for month in (4, 5, 6)]


def three_open_bills(customer_in, shop):
    """An account whose funds the first charge took, with bills for April to June open."""
    account = customer_in("Europe/Berlin")
    fund(account, "15.00")
    buy(account, shop, at=BOUGHT)
    for at in MONTHS:
        with time_machine.travel(at, tick=False):
            bill_run(actor=ACTOR)
    bills = list(Invoice.objects.filter(account=account, status="open").order_by("pk"))
    assert [b.gross for b in bills] == [Decimal("14.28")] * 3
    return account, bills


def _funds(account) -> Decimal:
    return LedgerAccount.objects.get(account=account, kind=LedgerKind.BUSINESS_FUNDS).balance


def test_a_bank_transfer_pays_open_invoices_oldest_first_and_the_rest_stays(
    customer_in,
    shop,
    tmp_path,
    operator_banks,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    account, bills = three_open_bills(customer_in, shop)
    before = _funds(account)
    reference = customer_make(account, "30.00").request.reference
    with django_capture_on_commit_callbacks(execute=True):
        statement_import(source=camt053(tmp_path, Credit("30.00", ref=reference)), actor=STAFF)

    statuses = [Invoice.objects.get(pk=b.pk).status for b in bills]
    assert statuses == ["paid", "paid", "open"]
    assert _funds(account) == before + Decimal("30.00") - 2 * Decimal("14.28")
    payments = Transaction.objects.filter(kind="invoice_payment", memo__contains="INV")
    assert payments.count() == 2


pg_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="parallel connections are PostgreSQL's"
)


@pytest.mark.postgres
@pg_only
@pytest.mark.django_db(transaction=True)
def test_two_arrivals_at_once_pay_each_invoice_once(customer_in, shop):
    account, bills = three_open_bills(customer_in, shop)
    start = _funds(account)
    barrier = threading.Barrier(2)

    def arrive(amount):
        try:
            barrier.wait(timeout=30)
            fund(account, amount)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(arrive, ["15.00", "15.00"]))

    paid = Invoice.objects.filter(pk__in=[b.pk for b in bills], status="paid").count()
    assert paid == int((start + Decimal("30.00")) // Decimal("14.28")) == 2  # not three
    assert _funds(account) == start + Decimal("30.00") - paid * Decimal("14.28")
    assert _funds(account) >= 0
    assert Transaction.objects.filter(kind="invoice_payment").count() == paid
