"""Twenty issuers at once on PostgreSQL, each in its own transaction, some rolled back after
taking their number: the numbers left are 1..N, no gap, no duplicate."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction

from billtone.invoicing.models import Invoice, InvoiceSequence
from billtone.invoicing.services import invoice_issue
from billtone.invoicing.tests.conftest import SYSTEM, line, paid, standard
from billtone.invoicing.totals import invoice_totals

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locks and parallel connections are PostgreSQL's; SQLite has one writer",
    ),
]

ISSUERS = 20


class Failed(Exception):
    """What went wrong after the number was taken (allocation, a lapsed hold...)."""


def run_together(work, count: int) -> list:
    barrier = threading.Barrier(count)

    def worker(i: int):
        try:
            barrier.wait(timeout=30)
            return work(i)
        except Exception as error:  # collected and asserted on by the test
            return error
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(worker, range(count)))


def test_concurrent_issuers_leave_no_gap_and_no_duplicate(transactional_db, customer):
    tax = standard("19")
    totals = invoice_totals(lines=[line()], tax=tax, currency="EUR")
    # The payments are committed first, so that the issuers race for the number alone.
    posted = [paid(customer, totals, key=f"checkout:{i}") for i in range(ISSUERS)]

    def issue(i: int, fail: bool):
        with transaction.atomic():
            invoice = invoice_issue(
                account=customer,
                totals=totals,
                tax=tax,
                ledger_transaction=posted[i],
                source_key=f"checkout:{i}",
                actor=SYSTEM,
            )
            if fail:
                raise Failed(invoice.number)
        return invoice.number

    failing = {i for i in range(ISSUERS) if i % 4 == 1}
    results = run_together(lambda i: issue(i, i in failing), ISSUERS)

    assert [type(r) for i, r in enumerate(results) if i in failing] == [Failed] * len(failing)
    issued = [r for i, r in enumerate(results) if i not in failing]
    assert all(isinstance(r, str) for r in issued), issued
    survivors = ISSUERS - len(failing)
    numbers = sorted(Invoice.objects.values_list("sequence_number", flat=True))
    assert numbers == list(range(1, survivors + 1))
    assert sorted(issued) == [f"INV-{n:06d}" for n in numbers]
    assert InvoiceSequence.objects.get(name="invoice").next_number == survivors + 1

    # The failed ones retried, again all at once: they take the next numbers, no gap either.
    again = run_together(lambda j: issue(sorted(failing)[j], False), len(failing))
    assert all(isinstance(r, str) for r in again), again
    numbers = sorted(Invoice.objects.values_list("sequence_number", flat=True))
    assert numbers == list(range(1, ISSUERS + 1))
