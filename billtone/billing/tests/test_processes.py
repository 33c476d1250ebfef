"""The bill run as processes run it (issue 18's "done when"; docs/decisions/0023): killed
part-way (SIGKILL, not an exception) and run again; and fanned out to a real Celery worker
process on the local Redis (and RabbitMQ when it runs). PostgreSQL only: the processes share
the test database."""

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from django.db import connection

from billtone.billing.models import BillRun
from billtone.billing.tests.processes import (
    APRIL,
    ROOT,
    assert_billed_exactly_once,
    bills,
    billtone_command,
    due_accounts,
    process_env,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ACCOUNTS = 15


@pytest.fixture(autouse=True)
def _postgres(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("another process cannot see SQLite's in-memory test database")


def test_a_bill_run_killed_part_way_and_run_again_bills_every_account_once(
    customer_in, shop, tmp_path
):
    due = due_accounts(customer_in, shop, ACCOUNTS)
    env = process_env(tmp_path, BILLTONE_BILL_RUN_FAN_OUT="0")
    script = [sys.executable, str(ROOT / "billtone/billing/tests/slow_bill_run.py")]
    process = subprocess.Popen(
        [*script, APRIL.isoformat(), "0.4"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while bills().count() < 4 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, process.stderr.read().decode()[-2000:]
    killed_with = bills().count()
    assert 0 < killed_with < ACCOUNTS  # part-way: some invoices committed, not all
    assert BillRun.objects.get().status == "running"  # its process died with it

    again = subprocess.run(
        billtone_command("bill-run", "--at", APRIL.isoformat(), "--chunk-size", "2"),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr[-2000:]
    assert "Invoiced" in again.stdout
    second = BillRun.objects.order_by("pk").last()
    assert second.status == "finished"
    # Due: the accounts not billed, and those whose bill the killed run had not collected.
    assert second.invoiced == ACCOUNTS - killed_with <= second.due
    assert_billed_exactly_once(due)


BROKERS = {
    # scripts/test.sh starts a throwaway Redis when none answers; RabbitMQ is used if it runs.
    "redis": os.environ.get("BILLTONE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
    "rabbitmq": os.environ.get("BILLTONE_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//"),
}


@pytest.fixture(params=sorted(BROKERS))
def celery_worker_process(request, tmp_path):
    """A Celery worker process on the local Redis or RabbitMQ, on a queue of its own."""
    from kombu import Connection

    url = BROKERS[request.param]
    try:
        with Connection(url, connect_timeout=2) as broker:
            broker.ensure_connection(max_retries=1)
    except Exception as error:
        pytest.skip(f"no {request.param} on {url}: {error}")
    queue = f"billtone-test-{uuid.uuid4().hex[:8]}"
    env = process_env(tmp_path, BILLTONE_BROKER_URL=url, BILLTONE_CELERY_QUEUE=queue)
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "threads",
            "--concurrency",
            "2",
            "--loglevel",
            "WARNING",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "worker.log", "w"),  # noqa: SIM115 (closed with the process)
    )
    yield env
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
    with Connection(url) as broker:  # the test's queue, not left behind on the broker
        broker.default_channel.queue_delete(queue)


def test_a_bill_run_through_a_celery_worker_bills_every_account_once(
    customer_in, shop, celery_worker_process
):
    due = due_accounts(customer_in, shop, ACCOUNTS)
    done = subprocess.run(
        billtone_command("bill-run", "--at", APRIL.isoformat(), "--chunk-size", "2"),
        env=celery_worker_process,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "workers" in done.stdout and "Invoiced" in done.stdout
    run = BillRun.objects.get()
    assert (run.status, run.fanned_out, run.chunks, run.chunks_done) == ("finished", True, 8, 8)
    assert (run.due, run.invoiced, run.paid_from_funds, run.paid_by_card, run.left_unpaid) == (
        ACCOUNTS,
        ACCOUNTS,
        5,
        5,
        5,
    )
    assert_billed_exactly_once(due)
