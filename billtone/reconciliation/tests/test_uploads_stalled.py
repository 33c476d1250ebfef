"""An upload whose worker stopped in the middle (killed, restarted) does not stay "Importing"
for ever: the periodic sweep marks it failed once its worker gave no sign of life for
STALLED_AFTER, and its page says so and stops polling."""

from datetime import timedelta

from django.test import TestCase

from billtone.core import clock
from billtone.reconciliation.models import StatementImport, StatementUpload
from billtone.reconciliation.services import statement_upload_import, statement_uploads_stalled_fail
from billtone.reconciliation.services.uploads import STALLED_AFTER
from billtone.reconciliation.tests.importing import Credit, camt053
from billtone.reconciliation.tests.test_admin import progress, upload


def running_since(pk: int, minutes: float, *, heartbeat: bool = True) -> None:
    """The upload as a worker left it that claimed it `minutes` ago and then stopped."""
    then = clock.now() - timedelta(minutes=minutes)
    StatementUpload.objects.filter(pk=pk).update(
        status=StatementUpload.Status.RUNNING,
        started_at=then,
        heartbeat_at=then if heartbeat else None,
    )


def test_an_upload_whose_worker_stopped_is_failed_by_the_sweep(tmp_path, staff, customer, media):
    path = camt053(tmp_path, Credit("250.00", ref=customer.request.reference), name="may.xml")
    with TestCase.captureOnCommitCallbacks():  # the worker never runs it to its end
        response = upload(staff, path, worker=False)
    row = StatementUpload.objects.get()
    running_since(row.pk, STALLED_AFTER.total_seconds() / 60 + 1)
    assert "hx-get" in progress(staff, response)  # "Importing", polling

    assert statement_uploads_stalled_fail() == 1

    row.refresh_from_db()
    assert row.status == "failed" and row.finished_at is not None
    assert "nothing was imported" in row.message and "Upload the file again" in row.message
    live = progress(staff, response)
    assert "Upload the file again." in live and "hx-get" not in live  # said, no more polling
    assert not any(media.rglob("*.xml"))  # its file is gone
    # The broker redelivers the dead worker's task: it leaves the failed upload alone.
    assert statement_upload_import(upload_id=row.pk) is None
    assert not StatementImport.objects.exists() and customer.funds == 0
    assert statement_uploads_stalled_fail() == 0  # once


def test_the_sweep_leaves_live_queued_and_finished_uploads_alone(tmp_path, staff, customer):
    minutes = STALLED_AFTER.total_seconds() / 60
    for name in ("live.xml", "queued.xml", "old.xml"):
        path = camt053(tmp_path, Credit("1.00", ustrd=("no reference",)), name=name)
        with TestCase.captureOnCommitCallbacks():
            upload(staff, path, worker=False)
    live, queued, old = StatementUpload.objects.order_by("pk")
    running_since(live.pk, minutes - 1)  # heard from within the limit
    running_since(old.pk, minutes + 5, heartbeat=False)  # claimed before heartbeats existed
    StatementUpload.objects.filter(pk=queued.pk).update(created_at=clock.now() - STALLED_AFTER * 2)

    assert statement_uploads_stalled_fail() == 1

    statuses = dict(StatementUpload.objects.values_list("file_name", "status"))
    assert statuses == {"live.xml": "running", "queued.xml": "queued", "old.xml": "failed"}
