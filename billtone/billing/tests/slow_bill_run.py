"""`billtone bill-run` as the tests start it in a process of its own (test_processes.py):
at the frozen moment argv[1], each collection slowed by argv[2] seconds so that the test can
kill it part-way: after some chunks' invoices are committed, before all are."""

import sys
import time
from datetime import datetime

import django

django.setup()

import time_machine  # noqa: E402
from django.core.management import call_command  # noqa: E402

import billtone.billing.services.run as run  # noqa: E402

at, pause = sys.argv[1], float(sys.argv[2])
collect = run.bill_collect


def slow_collect(**kwargs):
    time.sleep(pause)
    return collect(**kwargs)


run.bill_collect = slow_collect
with time_machine.travel(datetime.fromisoformat(at), tick=True):
    call_command("bill-run", "--at", at, "--chunk-size", "2")
