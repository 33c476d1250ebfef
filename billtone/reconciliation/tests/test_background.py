"""Without a broker, background work goes through kombu's filesystem transport to a Celery
worker (docs/decisions/0011-background-worker-without-a-broker.md): the import command
prints its summary once the money is committed and the worker sends the emails after."""

import io
import os
import subprocess
import sys
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.db import OperationalError

from billtone.notifications.models import EmailDelivery
from billtone.reconciliation.models import StatementImport
from billtone.reconciliation.tests.importing import Credit, camt053
from config.celery import app


@pytest.fixture
def embedded_app(tmp_path):
    """The Celery app as configured when no broker is set (the settings' own values), its
    queue in tmp_path; the tests' eager mode restored after."""
    queue = tmp_path / "queue"
    before = dict(app.conf)
    app.conf.update(
        task_always_eager=settings.CELERY_TASK_ALWAYS_EAGER,
        broker_url=settings.CELERY_BROKER_URL,
        broker_transport_options={
            **getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}),
            "data_folder_in": str(queue),
            "data_folder_out": str(queue),
            "control_folder": str(queue / "control"),
        },
    )
    (queue / "control").mkdir(parents=True)
    app._pool = None  # connections of another configuration
    app.amqp._producer_pool = None
    yield app
    app.conf.update({k: before[k] for k in ("task_always_eager", "broker_url")})
    app.conf.broker_transport_options = before["broker_transport_options"]
    app._pool = None
    app.amqp._producer_pool = None


def funds_sent() -> int:
    """Funds-received emails sent so far; -1 when the poll met the worker's write: the tests'
    in-memory SQLite shares its cache between threads and answers "table is locked" at once
    (its busy timeout does not apply), which means only "not yet"."""
    try:
        return EmailDelivery.objects.filter(
            key__startswith="funds-received:", status=EmailDelivery.Status.SENT
        ).count()
    except OperationalError as error:
        if "locked" not in str(error):
            raise
        return -1


def test_without_a_broker_the_command_prints_its_summary_before_sending_and_a_worker_sends(
    transactional_db, tmp_path, customer, embedded_app
):
    path = camt053(
        tmp_path,
        Credit("250.00", ref=customer.request.reference),
        Credit("10.00", ref=customer.reference.reference),
        Credit("5.00", ustrd=("no reference",)),
    )
    out = io.StringIO()

    call_command("import-statement", str(path), stdout=out)

    assert "Matched and credited" in out.getvalue()
    record = StatementImport.objects.get()
    assert record.matched == 2
    # Nothing sent (nor even stored) in the command's process: it is all on the queue.
    assert [m for m in mail.outbox if "Funds received" in m.subject] == []
    assert record.funds_emails_queued_at is None
    assert any((tmp_path / "queue").glob("*.msg"))

    with start_worker(embedded_app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
        deadline = time.monotonic() + 30
        while funds_sent() < 2 and time.monotonic() < deadline:
            time.sleep(0.2)

    assert funds_sent() == 2
    assert len([m for m in mail.outbox if "Funds received" in m.subject]) == 2
    record.refresh_from_db()
    assert record.funds_emails_queued_at is not None


def _celery_settings(**env) -> list[str]:
    environment = {k: v for k, v in os.environ.items() if k != "BILLTONE_BROKER_URL"}
    code = (
        "import django; django.setup(); from config.celery import app; "
        "print(app.conf.broker_url, app.conf.task_always_eager, "
        "bool(app.conf.broker_transport_options))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**environment, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.split()


def test_without_a_broker_tasks_go_to_the_filesystem_queue_not_in_process(tmp_path):
    queue = tmp_path / "queue"
    assert _celery_settings(BILLTONE_QUEUE_DIR=str(queue)) == ["filesystem://", "False", "True"]
    assert (queue / "control").is_dir()  # made for the transport


def test_with_a_broker_celery_uses_it():
    assert _celery_settings(BILLTONE_BROKER_URL="redis://127.0.0.1:6379/0") == [
        "redis://127.0.0.1:6379/0",
        "False",
        "False",
    ]
