"""Two bill runs at the same moment on the same accounts (PostgreSQL, a connection each):
every bill is issued once, and the invoice numbers stay gap-free."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import time_machine
from django.db import connection

from billtone.billing.models import BillRun
from billtone.billing.services import bill_run
from billtone.billing.tests.conftest import ACTOR, buy, fund
from billtone.billing.tests.test_services import APRIL, BOUGHT
from billtone.invoicing.models import Invoice, InvoiceSequence

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locks and parallel connections are PostgreSQL's; SQLite has one writer",
    ),
]
ACCOUNTS = 6


@pytest.mark.django_db(transaction=True)
def test_two_bill_runs_at_once_issue_each_bill_once(customer_in, shop, monkeypatch):
    monkeypatch.setattr("billtone.billing.services.run._documents_schedule", lambda ids: None)
    accounts = []
    for _ in range(ACCOUNTS):
        account = customer_in("Europe/Berlin")
        fund(account, "100.00")
        buy(account, shop, at=BOUGHT)
        accounts.append(account)
    checkouts = Invoice.objects.count()
    barrier = threading.Barrier(2)

    def run(chunk_size):
        try:
            barrier.wait(timeout=30)
            with time_machine.travel(APRIL, tick=False):
                return bill_run(actor=ACTOR, chunk_size=chunk_size)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(run, [4, 3]))

    assert all(r.status == BillRun.Status.FINISHED and r.failed == 0 for r in runs), runs
    assert sum(r.invoiced for r in runs) == ACCOUNTS
    bills = Invoice.objects.filter(source_key__startswith="bill:")
    assert sorted(bills.values_list("account_id", flat=True)) == sorted(a.pk for a in accounts)
    numbers = sorted(Invoice.objects.values_list("sequence_number", flat=True))
    assert numbers == list(range(1, checkouts + ACCOUNTS + 1))
    assert InvoiceSequence.objects.get().next_number == checkouts + ACCOUNTS + 1
    assert all(b.status == "paid" for b in bills)


@pytest.mark.django_db(transaction=True)
def test_two_back_office_starts_at_once_start_one_run(monkeypatch):
    from billtone.billing.services import BillRunRunning, bill_run_start

    # The run stays running (its task not run): the second start must see it.
    monkeypatch.setattr("billtone.billing.tasks.bill_run_execute_task.delay", lambda **kw: None)
    barrier = threading.Barrier(2)

    def start(_):
        try:
            barrier.wait(timeout=30)
            return bill_run_start(actor=ACTOR).pk
        except BillRunRunning as refused:
            return refused
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(start, [0, 1]))

    assert BillRun.objects.count() == 1
    assert sorted(type(r).__name__ for r in results) == ["BillRunRunning", "int"]
