"""Bill runs in chunks: fanned out (Celery tasks, here run eagerly), each chunk counted once
however often it runs, the last one finishing the run; one run at a time from the back office
and the scheduler; the back office's Bill runs pages."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from billtone.billing.models import BillChunk, BillCollection, BillRun
from billtone.billing.services import BillRunRunning, bill_chunk, bill_run, bill_run_start
from billtone.billing.tasks import bill_run_task
from billtone.billing.tests.conftest import ACTOR, buy, fund
from billtone.billing.tests.test_services import APRIL, BOUGHT
from billtone.core import clock
from billtone.invoicing.models import Invoice


@pytest.fixture
def due(customer_in, shop):
    accounts = []
    for _ in range(3):
        account = customer_in("Europe/Berlin")
        fund(account, "100.00")
        buy(account, shop, at=BOUGHT)
        accounts.append(account)
    return accounts


@pytest.fixture
def fan_out(settings, django_capture_on_commit_callbacks):
    """Chunks sent as tasks (run eagerly), once the test's transaction would commit."""
    settings.BILLTONE_BILL_RUN_FAN_OUT = True
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def staff(db):
    user = get_user_model().objects.create_superuser("operator", "op@example.com", "pw-operator")
    client = Client()
    client.force_login(user)
    return client


def test_a_fanned_out_run_sends_a_task_per_chunk_and_the_last_finishes_it(due, fan_out):
    with time_machine.travel(APRIL, tick=False), fan_out():
        run = bill_run(actor=ACTOR, chunk_size=2)
    run.refresh_from_db()
    assert (run.fanned_out, run.chunks, run.chunks_done, run.status) == (True, 2, 2, "finished")
    assert (run.due, run.invoiced, run.paid_from_funds, run.accounts_done) == (3, 3, 3, 3)
    assert not BillChunk.objects.filter(finished_at__isnull=True).exists()
    assert BillCollection.objects.count() == 3


def test_a_chunk_run_twice_counts_once(due):
    with time_machine.travel(APRIL, tick=False):
        run = bill_run(actor=ACTOR, chunk_size=2)
        ids = [a.pk for a in due[:2]]
        bill_chunk(account_ids=ids, at=APRIL, run_id=run.pk, actor=ACTOR, number=0)
    run.refresh_from_db()
    assert (run.chunks_done, run.invoiced, run.skipped) == (2, 3, 0)


def test_a_run_collects_a_bill_an_earlier_run_issued_and_died_before_collecting(due, monkeypatch):
    with time_machine.travel(APRIL, tick=False):
        bill_run(actor=ACTOR)
    invoice = Invoice.objects.filter(source_key__startswith="bill:").first()
    Invoice.objects.filter(pk=invoice.pk).update(status="open")  # as if never collected
    BillCollection.objects.filter(invoice=invoice).delete()
    monkeypatch.setattr(
        "billtone.billing.services.run.bill_collect",
        lambda **kw: type("C", (), {"outcome": "paid_from_funds"})(),
    )
    with time_machine.travel(APRIL, tick=False):
        again = bill_run(actor=ACTOR)
    assert (again.due, again.invoiced, again.skipped, again.paid_from_funds) == (1, 0, 1, 1)
    assert BillCollection.objects.filter(invoice=invoice).exists()


def test_one_run_at_a_time_from_the_back_office_and_the_scheduler(due):
    live = BillRun.objects.create(at=APRIL, started_at=clock.now(), updated_at=clock.now())
    with pytest.raises(BillRunRunning) as refused:
        bill_run_start(actor=ACTOR)
    assert f"#{live.pk} is still running" in refused.value.detail
    with time_machine.travel(APRIL, tick=False):
        bill_run_task.delay()
    assert BillRun.objects.count() == 1  # the scheduled run skipped
    # A run with no progress for long was abandoned (its process killed): not in the way.
    BillRun.objects.filter(pk=live.pk).update(updated_at=clock.now() - timedelta(hours=1))
    bill_run_task.delay()
    assert BillRun.objects.count() == 2
    live.refresh_from_db()
    assert live.status == "failed" and live.error.startswith("Abandoned")


def test_the_back_office_starts_a_run_and_shows_its_progress(due, staff, fan_out):
    changelist = staff.get(reverse("admin:billing_billrun_changelist"))
    assert b"Start a bill run" in changelist.content
    with time_machine.travel(APRIL, tick=True):
        confirm = staff.get(reverse("admin:billing_billrun_start"))
        assert "3 accounts have a bill due now" in confirm.content.decode()
        with fan_out():
            started = staff.post(reverse("admin:billing_billrun_start"))
    run = BillRun.objects.get()
    assert started.url == reverse("admin:billing_billrun_change", args=[run.pk])
    page = staff.get(started.url, follow=True).content.decode()
    assert f"Bill run #{run.pk} started." in page and 'id="count-invoiced">3<' in page
    progress = staff.get(reverse("admin:billing_billrun_progress", args=[run.pk]))
    assert "Finished" in progress.content.decode() and "hx-get" not in progress.content.decode()


def test_the_back_office_refuses_a_second_run_and_links_failures(due, staff):
    running = BillRun.objects.create(at=APRIL, started_at=clock.now(), updated_at=clock.now())
    running.failures.create(
        account=due[0], period=APRIL.date(), reason="No tax rate for XX", created_at=clock.now()
    )
    page = staff.get(reverse("admin:billing_billrun_start")).content.decode()
    assert "is still running" in page and "start-confirm" not in page
    refused = staff.post(reverse("admin:billing_billrun_start"), follow=True)
    assert "is still running; wait for it to finish" in refused.content.decode()
    assert BillRun.objects.count() == 1
    progress = staff.get(reverse("admin:billing_billrun_progress", args=[running.pk]))
    body = progress.content.decode()
    assert "hx-get" in body and "No tax rate for XX" in body
    assert reverse("admin:accounts_account_change", args=[due[0].pk]) in body
