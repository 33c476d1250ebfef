"""Twenty CDR batches of one account at once (PostgreSQL, a connection each): each debits
call credit through the ledger, as the ingestion does, then runs the hook's check; exactly
one top-up is made."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from billtone.invoicing.models import Invoice
from billtone.rating.models import TopUp
from billtone.rating.services import auto_top_up_check
from billtone.rating.tests.topup_fixtures import call_credit_of, credit, eur, fund, spend, turn_on

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locks and parallel connections are PostgreSQL's; SQLite has one writer",
    ),
]
BATCHES = 20


@pytest.mark.django_db(transaction=True)
def test_twenty_batches_at_once_make_exactly_one_top_up(customer):
    fund(customer, "100")
    credit(customer, "10")
    turn_on(customer, value="20", threshold="5")
    barrier = threading.Barrier(BATCHES)

    def batch(_):
        try:
            barrier.wait(timeout=30)
            spend(customer, "0.50")  # 20 × 0.50: from 10 down to 0, below 5 after the 11th
            return auto_top_up_check(account_id=customer.pk)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=BATCHES) as pool:
        made = [top_up for top_up in pool.map(batch, range(BATCHES)) if top_up is not None]

    assert len(made) == 1 and made[0].status == "succeeded"
    assert TopUp.objects.count() == 1
    assert Invoice.objects.filter(source_key=made[0].idempotency_key).count() == 1
    assert call_credit_of(customer) == eur("20")  # 10 − 20 × 0.50 + 20
