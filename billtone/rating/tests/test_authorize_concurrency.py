"""Ten authorizations of one account at the same moment on PostgreSQL never promise more
than its credit in total."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection

from billtone.rating.hold_models import CallHold, CallHoldTotal
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
    assert CallHoldTotal.objects.get(account=gb).amount == promised  # decision 0033


@pytest.mark.django_db(transaction=True)
def test_takes_releases_and_purges_at_once_keep_the_totals_in_step(gb, uk_deck):
    """Decision 0033: every writer of an account's holds takes its hold lock (after the
    call credit's, when it takes that), so takes, CDR releases and two purges running at
    once neither deadlock nor leave the total apart from the rows' sum."""
    from datetime import timedelta

    from billtone.rating.services.authorize import call_holds_purge
    from billtone.rating.services.ingest import cdrs_ingest
    from billtone.rating.tests.conftest import ACTOR, call

    credit_add(gb, "50.00")
    start = datetime(2027, 1, 10, 12, tzinfo=UTC)
    leeds = "0113 496 0000"
    with time_machine.travel(start, tick=False):
        for n in range(6):  # 3 h each (the cap) and 5 min of grace: expired by the race
            call_authorize(account_code=str(gb.pk), destination=leeds, call_id=f"old-{n}")
    moment = start + timedelta(hours=4)
    barrier = threading.Barrier(CALLERS)

    def work(n):
        try:
            barrier.wait(timeout=30)
            if n < 4:  # new calls, and again (a repeated authorization replaces its hold)
                for call_id in (f"new-{n}", f"new-{n}", f"old-{n}"):
                    call_authorize(account_code=str(gb.pk), destination=leeds, call_id=call_id)
            elif n < 8:  # the CDRs of an expired call and of one just authorized
                records = [call(f"old-{n - 4}", account=gb, destination=leeds, at=moment)]
                records.append(call(f"new-{n - 4}", account=gb, destination=leeds, at=moment))
                cdrs_ingest(records=records, source="race", actor=ACTOR)
            else:
                call_holds_purge()
        except Exception as error:  # collected and asserted on below
            return error
        finally:
            connection.close()

    with (
        time_machine.travel(moment, tick=False),
        ThreadPoolExecutor(max_workers=CALLERS) as pool,
    ):
        answers = list(pool.map(work, range(CALLERS)))

    assert not [a for a in answers if isinstance(a, Exception)], answers
    rows = sum(CallHold.objects.filter(account=gb).values_list("amount", flat=True))
    assert CallHoldTotal.objects.get(account=gb).amount == rows
