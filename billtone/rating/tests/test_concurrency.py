"""The same CDR batch sent several times at the same moment on PostgreSQL charges once."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from billtone.ledger.models import Transaction
from billtone.rating.cdr_models import Cdr
from billtone.rating.services.ingest import IngestSummary, cdrs_ingest
from billtone.rating.tests.conftest import ACTOR, call, call_credit, credit_add

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locks and parallel connections are PostgreSQL's; SQLite has one writer",
    ),
]
SENDERS = 4


@pytest.mark.django_db(transaction=True)
def test_the_same_batch_sent_concurrently_charges_once(gb, uk_deck):
    credit_add(gb, "100.00")
    start = datetime(2027, 1, 10, tzinfo=UTC)
    records = [call(f"c{n}", account=gb, at=start + timedelta(minutes=n)) for n in range(40)]
    barrier = threading.Barrier(SENDERS)

    def send(_):
        try:
            barrier.wait(timeout=30)
            return cdrs_ingest(records=records, source="race", actor=ACTOR)
        except Exception as error:  # collected and asserted on below
            return error
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=SENDERS) as pool:
        results = list(pool.map(send, range(SENDERS)))

    assert all(isinstance(r, IngestSummary) for r in results), results
    assert sum(r.rated for r in results) == 40
    assert sum(r.duplicates for r in results) == 40 * (SENDERS - 1)
    assert Cdr.objects.count() == 40
    assert Transaction.objects.filter(kind="call_charges").count() == 1
    assert call_credit(gb) == Decimal("100.00") - 40 * Decimal("0.0100") - 40 * Decimal("0.0500")
