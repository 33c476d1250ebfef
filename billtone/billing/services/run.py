"""Bill runs (docs/decisions/0020): the accounts due, in chunks; each chunk issued in one
transaction and then collected, its PDFs and emails sent by one background task.

`bill_chunk` is the unit another process can run (a Celery task per chunk on a broker): it
takes account ids and returns counts, and is safe to run twice — the second run finds the
bills issued and only collects those still open, with the same payment keys.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime

from django.db.models import F

from billtone.billing.models import BillRun
from billtone.billing.selectors import accounts_due
from billtone.billing.services.collect import bill_collect
from billtone.billing.services.issue import bills_issue
from billtone.core import clock
from billtone.core.services import Actor

logger = logging.getLogger(__name__)

CHUNK_SIZE = 500
Progress = Callable[[int, int, "ChunkCounts"], None]  # accounts done, due, counts so far


@dataclass
class ChunkCounts:
    invoiced: int = 0
    skipped: int = 0
    failed: int = 0
    paid_from_funds: int = 0
    paid_by_card: int = 0
    left_unpaid: int = 0

    def add(self, other: ChunkCounts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


_OUTCOME_COUNTER = {
    "paid_from_funds": "paid_from_funds",
    "paid_by_card": "paid_by_card",
    "unpaid": "left_unpaid",
}


def bill_chunk(
    *, account_ids: Sequence[int], at: datetime, run_id: int | None, actor: Actor
) -> ChunkCounts:
    """Bill and collect one chunk of accounts; adds its counts to the run's."""
    run = BillRun.objects.filter(pk=run_id).first() if run_id else None
    issued = bills_issue(account_ids=account_ids, at=at, run=run, actor=actor)
    counts = ChunkCounts(invoiced=len(issued.issued), skipped=issued.skipped, failed=issued.failed)
    for invoice_id in [*issued.issued, *issued.open_before]:
        try:
            outcome = bill_collect(invoice_id=invoice_id, actor=actor).outcome
        except Exception:  # a gateway or a bug: the invoice stays open for dunning
            logger.exception("Collecting invoice %s failed", invoice_id)
            outcome = "unpaid"
        counter = _OUTCOME_COUNTER.get(outcome)
        if counter:
            setattr(counts, counter, getattr(counts, counter) + 1)
    if issued.issued:
        _documents_schedule(issued.issued)
    if run is not None:
        BillRun.objects.filter(pk=run.pk).update(
            **{f.name: F(f.name) + getattr(counts, f.name) for f in fields(counts)}
        )
    return counts


def _documents_schedule(invoice_ids: list[int]) -> None:
    """After collection, so the email says whether the bill was paid; a schedule lost here
    is made good by invoicing's PDF sweep and notifications' email retry."""
    from billtone.billing.tasks import bill_documents_send_task

    try:
        bill_documents_send_task.delay(invoice_ids)
    except Exception:
        logger.warning("Could not schedule the documents of %s bills", len(invoice_ids))


def bill_run(
    *,
    actor: Actor,
    at: datetime | None = None,
    chunk_size: int = CHUNK_SIZE,
    progress: Progress | None = None,
) -> BillRun:
    """Bill every account due at `at` (now), chunk by chunk, in this process. Returns the
    run with its counts; a run that breaks is stored failed with the error."""
    at = at or clock.now()
    run = BillRun.objects.create(at=at, started_at=clock.now(), started_by=actor.label[:200])
    totals = ChunkCounts()
    try:
        due = accounts_due(at=at)
        BillRun.objects.filter(pk=run.pk).update(due=len(due))
        if progress:
            progress(0, len(due), totals)
        for start in range(0, len(due), chunk_size):
            chunk = due[start : start + chunk_size]
            totals.add(bill_chunk(account_ids=chunk, at=at, run_id=run.pk, actor=actor))
            if progress:
                progress(start + len(chunk), len(due), totals)
    except Exception as error:
        logger.exception("Bill run %s failed", run.pk)
        BillRun.objects.filter(pk=run.pk).update(
            status=BillRun.Status.FAILED,
            finished_at=clock.now(),
            error=f"{type(error).__name__}: {error}"[:4000],
        )
    else:
        BillRun.objects.filter(pk=run.pk).update(
            status=BillRun.Status.FINISHED, finished_at=clock.now()
        )
    run.refresh_from_db()
    return run
