"""The same card saved by several requests at the same moment, on PostgreSQL: one is kept.

Each request is a thread with its own database connection; a barrier releases them together.
SQLite runs one writer at a time, so there is nothing to race there.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from billtone.payments.errors import CardAlreadySaved
from billtone.payments.models import SavedCard

from .conftest import add_card

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row locks and parallel connections are PostgreSQL's; SQLite runs one writer at a time",
)
REQUESTS = 8


@pytest.mark.django_db(transaction=True)
def test_the_same_card_saved_at_once_is_kept_once(account):
    barrier = threading.Barrier(REQUESTS)

    def save(_):
        try:
            barrier.wait(timeout=30)
            return add_card(account)
        except Exception as error:  # collected and asserted on below
            return error
        finally:
            connection.close()  # this thread's own connection

    with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
        results = list(pool.map(save, range(REQUESTS)))

    saved = [r for r in results if isinstance(r, SavedCard)]
    refused = [r for r in results if isinstance(r, CardAlreadySaved)]
    assert (len(saved), len(refused)) == (1, REQUESTS - 1), results
    assert {r.card_id for r in refused} == {saved[0].pk}
    assert SavedCard.objects.filter(account=account, removed_at__isnull=True).count() == 1
