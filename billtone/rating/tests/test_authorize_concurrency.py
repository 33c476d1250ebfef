"""Ten authorizations of one account at the same moment on PostgreSQL never promise more
than its credit in total."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection

from billtone.rating.hold_models import CallHold
from billtone.rating.services.authorize import call_authorize
from billtone.rating.tests.conftest import credit_add

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locks and parallel connections are PostgreSQL's; SQLite has one writer",
    ),
]
CALLERS = 10


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_authorizations_never_promise_more_than_the_credit(gb, uk_deck):
    credit_add(gb, "10.00")
    barrier = threading.Barrier(CALLERS)

    def ask(n):
        try:
            barrier.wait(timeout=30)
            return call_authorize(
                account_code=str(gb.pk), destination="0113 496 0000", call_id=f"race-{n}"
            )
        except Exception as error:  # collected and asserted on below
            return error
        finally:
            connection.close()

    moment = datetime(2027, 1, 10, 12, tzinfo=UTC)
    with (
        time_machine.travel(moment, tick=False),
        ThreadPoolExecutor(max_workers=CALLERS) as pool,
    ):
        answers = list(pool.map(ask, range(CALLERS)))

    assert not [a for a in answers if isinstance(a, Exception)], answers
    promised = sum((a.held for a in answers), Decimal(0))
    # At 0.02 a minute: two calls of 3 hours (the cap, 3.60 each), one of the 2.80 left.
    assert promised == Decimal("10.00")
    assert sorted(a.max_seconds for a in answers if a.allowed) == [8400, 10800, 10800]
    assert sum(CallHold.objects.values_list("amount", flat=True)) == promised
