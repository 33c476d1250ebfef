"""Two accounts asking for the same number at the same moment, on PostgreSQL: one gets it.

Each request is a thread with its own database connection; a barrier releases them together.
SQLite runs one writer at a time, so there is nothing to race there.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from billtone.catalog.selectors import operator_profile_get
from billtone.telephony.errors import NumberUnavailable
from billtone.telephony.models import PhoneNumber
from billtone.telephony.services import number_hold

from .conftest import numbers_add

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="parallel connections are PostgreSQL's; SQLite runs one writer at a time",
    ),
]
ACCOUNTS = 2
ROUNDS = 5


@pytest.mark.django_db(transaction=True)
def test_two_accounts_racing_for_one_number_one_gets_it(make_account, nl_geographic):
    operator_profile_get()  # the settings row exists before the race
    accounts = [make_account() for _ in range(ACCOUNTS)]
    numbers = numbers_add(*(f"+3120123456{n}" for n in range(ROUNDS)))
    for number in numbers:
        barrier = threading.Barrier(ACCOUNTS)

        def hold(account, number_id=number.pk, barrier=barrier):
            try:
                barrier.wait(timeout=30)
                return number_hold(account=account, number_id=number_id)
            except Exception as error:  # collected and asserted on below
                return error
            finally:
                connection.close()  # this thread's own connection

        with ThreadPoolExecutor(max_workers=ACCOUNTS) as pool:
            results = list(pool.map(hold, accounts))

        won = [r for r in results if isinstance(r, PhoneNumber)]
        lost = [r for r in results if isinstance(r, NumberUnavailable)]
        assert (len(won), len(lost)) == (1, ACCOUNTS - 1), results
        number.refresh_from_db()
        assert (number.status, number.account_id) == ("held", won[0].account_id)
