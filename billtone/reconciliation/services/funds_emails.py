"""The "funds received" emails of a statement import, stored once the import has committed.

An import of 100,000 credits would otherwise store 90,000 email rows inside its own
transaction, on the critical path of the import (docs/benchmarks.md). Instead the import
record says which emails are still to be queued (`funds_emails_queued_at` empty) and, after
commit, one task stores them from the import's matched entries in one statement and sends
them. The record is the outbox: a task lost between the commit and its run (the process
killed, the broker down) is made good by the periodic sweep. Each email's key
(`funds-received:<entry identity>`) is unique, so however often this runs, each credited
entry has one email (docs/decisions/0007-funds-received-emails-queued-after-the-import.md).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Concat, JSONObject

from billtone.core import clock
from billtone.notifications.services import email_queue_bulk
from billtone.reconciliation.emails import CONTEXT_FIELD, KEY_PREFIX, TEMPLATE
from billtone.reconciliation.models import BankEntry, StatementImport

logger = logging.getLogger(__name__)

SEND_CHUNK = 1_000  # emails a send task
SWEEP_GRACE = timedelta(minutes=5)  # leave a just-committed import to its own task


def funds_received_emails_queue(*, statement_import_id: int) -> list[int]:
    """Store the "funds received" email of every matched entry of a committed import, mark
    the import's emails queued, and schedule their sending after commit; returns the ids of
    the emails stored. Safe to run twice, and at the same time: the import's record is
    locked, and an import whose emails are queued already (or one not done) stores none."""
    with transaction.atomic():
        record = (
            StatementImport.objects.select_for_update()
            .filter(
                pk=statement_import_id,
                status=StatementImport.Status.DONE,
                funds_emails_queued_at__isnull=True,
            )
            .first()
        )
        if record is None:
            return []
        matched = BankEntry.objects.filter(
            statement_import_id=record.pk, status=BankEntry.Status.MATCHED
        ).order_by("pk")
        ids = email_queue_bulk(
            template=TEMPLATE,
            emails=matched.values(
                "account_id",
                key=Concat(Value(KEY_PREFIX), "identity"),
                context=JSONObject(**{CONTEXT_FIELD: "identity"}),
            ),
        )
        record.funds_emails_queued_at = clock.now()
        record.save(update_fields=["funds_emails_queued_at"])
        if ids:
            transaction.on_commit(lambda: _send_schedule(ids))
    return ids


def funds_received_emails_queue_due(*, grace: timedelta = SWEEP_GRACE) -> int:
    """Periodic: queue the emails of imports that finished more than `grace` ago and whose
    emails are still to be queued (their task was lost); returns how many imports."""
    due = StatementImport.objects.filter(
        status=StatementImport.Status.DONE,
        funds_emails_queued_at__isnull=True,
        finished_at__lte=clock.now() - grace,
    ).order_by("pk")
    count = 0
    for pk in due.values_list("pk", flat=True):
        funds_received_emails_queue(statement_import_id=pk)
        count += 1
    return count


def funds_received_emails_schedule(*, statement_import_id: int) -> None:
    """After an import commits: the task that queues and sends its emails. When the broker
    cannot be reached, the periodic sweep queues them later."""
    from billtone.reconciliation.tasks import funds_received_emails_queue as task

    try:
        task.delay(statement_import_id)
    except Exception:
        logger.warning(
            "Could not schedule the funds-received emails of import %s", statement_import_id
        )


def _send_schedule(delivery_ids: list[int]) -> None:
    from billtone.reconciliation.tasks import funds_received_emails_send

    for start in range(0, len(delivery_ids), SEND_CHUNK):
        chunk = delivery_ids[start : start + SEND_CHUNK]
        try:
            funds_received_emails_send.delay(chunk)
        except Exception:  # broker down: the periodic email retry task sends them
            logger.warning("Could not schedule %s funds-received emails", len(chunk))
