"""The "funds received" emails of an import are stored after it commits, once, by one task;
the periodic sweep stores those whose task was lost."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail

from billtone.core import clock
from billtone.notifications.models import EmailDelivery
from billtone.reconciliation import tasks
from billtone.reconciliation.emails import funds_received_key, funds_received_queued
from billtone.reconciliation.models import BankEntry, StatementImport
from billtone.reconciliation.services import funds_emails as funds_emails_queue
from billtone.reconciliation.services.funds_emails import (
    funds_received_emails_queue,
    funds_received_emails_queue_due,
)
from billtone.reconciliation.services.imports import statement_import
from billtone.reconciliation.tests.importing import STAFF, Credit, camt053, import_callbacks

FUNDS = "funds-received:"


def funds_emails():
    return EmailDelivery.objects.filter(key__startswith=FUNDS)


def test_after_commit_one_task_stores_and_sends_the_emails(
    tmp_path, customer, django_capture_on_commit_callbacks
):
    path = camt053(
        tmp_path,
        Credit("250.00", ref=customer.request.reference, payer="Acme"),
        Credit("10.00", ref=customer.reference.reference),
        Credit("5.00", ustrd=("no reference",)),
    )

    with django_capture_on_commit_callbacks() as captured:
        result = statement_import(source=path, actor=STAFF)
    callbacks = import_callbacks(captured)
    assert len(callbacks) == 1  # one task for the import, not one a batch
    assert funds_emails().count() == 0  # nothing stored in the import's transaction

    with django_capture_on_commit_callbacks(execute=True):
        callbacks[0]()  # the import committed

    record = StatementImport.objects.get()
    assert record.funds_emails_queued_at is not None
    matched = BankEntry.objects.filter(status=BankEntry.Status.MATCHED)
    assert sorted(d.key for d in funds_emails()) == sorted(
        funds_received_key(e.identity) for e in matched
    )
    assert {d.status for d in funds_emails()} == {EmailDelivery.Status.SENT}
    assert len([m for m in mail.outbox if "Funds received" in m.subject]) == result.matched == 2


def test_queuing_again_stores_nothing_more(tmp_path, customer):
    result = statement_import(
        source=camt053(tmp_path, Credit("250.00", ref=customer.request.reference)), actor=STAFF
    )

    first = funds_received_emails_queue(statement_import_id=result.pk)
    again = funds_received_emails_queue(statement_import_id=result.pk)

    assert len(first) == 1 and again == []
    assert funds_emails().count() == 1


def test_an_email_stored_already_under_the_key_is_kept(tmp_path, customer):
    result = statement_import(
        source=camt053(
            tmp_path,
            Credit("250.00", ref=customer.request.reference),
            Credit("10.00", ref=customer.reference.reference),
        ),
        actor=STAFF,
    )
    first, second = BankEntry.objects.filter(status=BankEntry.Status.MATCHED).order_by("pk")
    now = clock.now()
    kept = EmailDelivery.objects.create(
        key=funds_received_key(first.identity),
        account=customer.account,
        template="funds_received",
        context=funds_received_queued(first.identity),
        created_at=now,
        next_attempt_at=now,
    )

    stored = funds_received_emails_queue(statement_import_id=result.pk)

    assert stored == [EmailDelivery.objects.get(key=funds_received_key(second.identity)).pk]
    assert funds_emails().count() == 2 and kept.pk not in stored


def test_an_import_that_matched_nothing_has_nothing_to_queue(
    tmp_path, customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        result = statement_import(
            source=camt053(tmp_path, Credit("5.00", ustrd=("no reference",))), actor=STAFF
        )

    assert callbacks == []
    assert result.funds_emails_queued_at == result.finished_at
    assert funds_emails_queue.funds_received_emails_queue_due(grace=timedelta(0)) == 0


def test_the_sweep_queues_an_import_whose_task_was_lost(tmp_path, customer, monkeypatch):
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.funds_received_emails_queue, "delay", broker_down)
    path = camt053(tmp_path, Credit("250.00", ref=customer.request.reference))
    result = statement_import(source=path, actor=STAFF)
    funds_emails_queue.funds_received_emails_schedule(statement_import_id=result.pk)  # logged

    assert funds_emails().count() == 0
    assert funds_received_emails_queue_due() == 0  # within the grace: left to its own task

    with time_machine.travel(clock.now() + timedelta(minutes=6)):
        assert funds_received_emails_queue_due() == 1
        assert funds_received_emails_queue_due() == 0

    assert funds_emails().count() == 1
    assert StatementImport.objects.get(pk=result.pk).funds_emails_queued_at is not None


def test_a_failed_import_queues_nothing(tmp_path, customer):
    record = StatementImport.objects.create(
        file_name="x.xml",
        sha256="0" * 64,
        format="camt053",
        imported_by_label="test",
        status=StatementImport.Status.FAILED,
        started_at=clock.now(),
        finished_at=clock.now() - timedelta(hours=1),
    )

    assert funds_received_emails_queue(statement_import_id=record.pk) == []
    assert funds_received_emails_queue_due() == 0
    assert StatementImport.objects.get(pk=record.pk).funds_emails_queued_at is None


@pytest.mark.parametrize("chunk", [2, 1_000])
def test_the_emails_are_sent_by_tasks_of_a_chunk_each(
    tmp_path, customer, monkeypatch, django_capture_on_commit_callbacks, chunk
):
    sent = []
    monkeypatch.setattr(funds_emails_queue, "SEND_CHUNK", chunk)
    monkeypatch.setattr(tasks.funds_received_emails_send, "delay", sent.append)
    credits = [Credit(f"{n}.00", ref=customer.reference.reference) for n in range(1, 6)]
    result = statement_import(source=camt053(tmp_path, *credits), actor=STAFF)

    with django_capture_on_commit_callbacks(execute=True):
        stored = funds_received_emails_queue(statement_import_id=result.pk)

    assert len(stored) == 5
    assert [len(ids) for ids in sent] == ([2, 2, 1] if chunk == 2 else [5])
    assert [pk for ids in sent for pk in ids] == stored
