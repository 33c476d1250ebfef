"""Imports running at the same moment on PostgreSQL never credit an entry twice.

Each import is a thread with its own database connection, released together by a barrier,
in small batches so that their transactions interleave. SQLite runs one writer at a time:
there is nothing to race there.
"""

import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum

from billtone.banktransfers.tests.funding import operator_banks_save
from billtone.ledger.models import LedgerAccount, Posting, Transaction
from billtone.notifications.models import EmailDelivery
from billtone.reconciliation import import_storage, tasks
from billtone.reconciliation.models import BankEntry, StatementImport
from billtone.reconciliation.services.funds_emails import funds_received_emails_queue
from billtone.reconciliation.services.imports import statement_import
from billtone.reconciliation.statements import StatementFormatError
from billtone.reconciliation.tests.importing import STAFF, Credit, camt053, customer_make
from billtone.reconciliation.tests.test_import_formats import generator

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="parallel connections and row locks are PostgreSQL's; SQLite has one writer",
)


def together(work, count: int) -> list:
    barrier = threading.Barrier(count)

    def run(i: int):
        try:
            barrier.wait(timeout=30)
            return work(i)
        except Exception as error:  # asserted on by the test
            return error
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


@pytest.fixture
def customers(transactional_db, make_account):
    operator_banks_save()
    return [customer_make(make_account(f"Customer {n}")) for n in range(12)]


def books_right() -> None:
    for account in LedgerAccount.objects.all():
        total = Posting.objects.filter(ledger_account=account).aggregate(s=Sum("amount"))["s"]
        assert account.balance == (total or 0)
    assert sum(a.balance for a in LedgerAccount.objects.all()) == 0


def test_two_imports_of_the_same_file_at_once_credit_each_entry_once(tmp_path, customers):
    references = [c.reference.reference for c in customers] + [
        c.request.reference for c in customers
    ]
    generated = generator().write_camt053(
        tmp_path / "statement.xml", entries=240, references=references, seed=3
    )

    results = together(
        lambda i: statement_import(source=generated.path, actor=STAFF, batch_size=20), 2
    )

    assert all(isinstance(r, StatementImport) for r in results), results
    assert sum(r.matched for r in results) == generated.with_reference
    assert sum(r.matched + r.to_review for r in results) == 240
    assert sum(r.duplicates_skipped for r in results) == 240
    assert BankEntry.objects.count() == 240
    assert Transaction.objects.count() == generated.with_reference
    assert EmailDelivery.objects.filter(key__startswith="funds-received:").count() == (
        generated.with_reference
    )
    expected = defaultdict(Decimal)
    for entry in BankEntry.objects.filter(status="matched"):
        expected[entry.account_id] += entry.amount
    for c in customers:
        assert c.funds == expected[c.account.pk]
    books_right()


def test_overlapping_statements_imported_at_once_credit_the_overlap_once(tmp_path, customers):
    credits = [
        Credit(f"{n + 1}.00", ref=customers[n % 12].reference.reference, bank_ref=f"B-{n}")
        for n in range(90)
    ]
    first = camt053(tmp_path, *credits[:60], name="first.xml")
    second = camt053(tmp_path, *credits[30:], name="second.xml", statement_id="STMT-2")

    results = together(
        lambda i: statement_import(source=(first, second)[i], actor=STAFF, batch_size=7), 2
    )

    assert all(isinstance(r, StatementImport) for r in results), results
    assert sum(r.matched for r in results) == 90
    assert sum(r.duplicates_skipped for r in results) == 30
    assert Transaction.objects.count() == 90 and BankEntry.objects.count() == 90
    assert sum(c.funds for c in customers) == sum(Decimal(n + 1) for n in range(90))
    books_right()


def test_batches_are_written_by_a_writer_thread_and_its_failure_rolls_the_import_back(
    tmp_path, customers, monkeypatch
):
    writers, calls = set(), []
    insert = import_storage.entries_insert

    def entries_insert(rows):
        writers.add(threading.current_thread().name)
        calls.append(len(rows))
        if len(calls) == 3:
            raise RuntimeError("disk full")
        insert(rows)

    monkeypatch.setattr(import_storage, "entries_insert", entries_insert)
    credits = [
        Credit(f"{n + 1}.00", ref=customers[n % 12].reference.reference, bank_ref=f"W-{n}")
        for n in range(50)
    ]

    with pytest.raises(RuntimeError, match="disk full"):
        statement_import(source=camt053(tmp_path, *credits), actor=STAFF, batch_size=10)

    assert len(writers) == 1 and threading.current_thread().name not in writers
    record = StatementImport.objects.get()
    assert record.status == StatementImport.Status.FAILED
    assert "disk full" in record.error and "rolled back" in record.error
    assert (record.matched, BankEntry.objects.count(), Transaction.objects.count()) == (0, 0, 0)
    assert not EmailDelivery.objects.filter(key__startswith="funds-received:").exists()
    assert sum(c.funds for c in customers) == 0
    books_right()

    monkeypatch.setattr(import_storage, "entries_insert", insert)
    again = statement_import(
        source=camt053(tmp_path, *credits, name="again.xml"), actor=STAFF, batch_size=10
    )
    assert (again.matched, again.duplicates_skipped) == (50, 0)
    assert Transaction.objects.count() == 50
    assert sum(c.funds for c in customers) == sum(Decimal(n + 1) for n in range(50))
    books_right()


def test_a_file_malformed_after_some_batches_were_written_changes_nothing(tmp_path, customers):
    credits = [
        Credit(f"{n + 1}.00", ref=customers[n % 12].reference.reference, bank_ref=f"M-{n}")
        for n in range(40)
    ]
    whole = camt053(tmp_path, *credits).read_text()
    cut = tmp_path / "cut.xml"
    cut.write_text(whole[: whole.rindex("</Ntry>")])  # the last entry never closes
    seen = []

    with pytest.raises(StatementFormatError, match="cut.xml"):
        statement_import(
            source=cut,
            actor=STAFF,
            batch_size=5,
            progress=lambda stage, done, total: seen.append((stage, done)),
        )

    assert ("import", 35) in seen  # batches were written before the end was read
    assert not StatementImport.objects.exists() and not BankEntry.objects.exists()
    assert not Transaction.objects.exists()
    assert not EmailDelivery.objects.filter(key__startswith="funds-received:").exists()
    assert sum(c.funds for c in customers) == 0
    books_right()


def test_an_import_s_emails_queued_from_four_workers_at_once_are_stored_once(
    tmp_path, customers, monkeypatch
):
    monkeypatch.setattr(tasks.funds_received_emails_queue, "delay", lambda pk: None)  # lost
    monkeypatch.setattr(tasks.funds_received_emails_send, "delay", lambda ids: None)
    references = [c.reference.reference for c in customers]
    generated = generator().write_camt053(
        tmp_path / "statement.xml", entries=60, references=references, seed=5
    )
    record = statement_import(source=generated.path, actor=STAFF)
    assert not EmailDelivery.objects.filter(key__startswith="funds-received:").exists()

    results = together(lambda i: funds_received_emails_queue(statement_import_id=record.pk), 4)

    assert sorted(len(r) for r in results) == [0, 0, 0, generated.with_reference], results
    assert EmailDelivery.objects.filter(key__startswith="funds-received:").count() == (
        generated.with_reference
    )
