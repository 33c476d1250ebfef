"""Bill runs (docs/decisions/0020, 0023): the accounts due, in chunks; each chunk issued in
one transaction and then collected, its PDFs and emails sent by one background task.

`bill_chunk` is the unit another process can run (a Celery task per chunk on a broker): it
takes account ids and returns counts, and is safe to run twice — the second run finds the
bills issued and only collects those still open, with the same payment keys. A chunk adds
its counts to the run once (its `BillChunk` row is marked by its first report), and the
chunk that reports last finishes the run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F

from billtone.billing.models import BillChunk, BillCollection, BillRun
from billtone.billing.selectors import accounts_due, bill_run_live, bills_uncollected
from billtone.billing.services.collect import Foreseen, bill_collect, collections_foreseen
from billtone.billing.services.issue import bills_issue
from billtone.core import clock
from billtone.core.errors import ApplicationError
from billtone.core.services import Actor
from billtone.invoicing.services import invoices_pay_from_funds

logger = logging.getLogger(__name__)

CHUNK_SIZE = 500
# A running run with no chunk reported for this long was abandoned (its process killed):
# it no longer keeps the back office or the scheduler from starting another.
STALE_AFTER = timedelta(minutes=30)
Progress = Callable[[int, int, "ChunkCounts"], None]  # accounts done, due, counts so far


class BillRunRunning(ApplicationError):
    def __init__(self, run: BillRun):
        super().__init__(
            detail=f"Bill run #{run.pk} is still running; wait for it to finish.",
            slug="bill-run-running",
            title="A bill run is running",
            status=409,
        )
        self.run = run


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
    *,
    account_ids: Sequence[int],
    at: datetime,
    run_id: int | None,
    actor: Actor,
    number: int | None = None,
) -> ChunkCounts:
    """Bill and collect one chunk of accounts (collection after the chunk's invoices are
    committed); report its counts to the run (chunk `number`, once)."""
    run = BillRun.objects.filter(pk=run_id).first() if run_id else None
    issued = bills_issue(account_ids=account_ids, at=at, run=run, actor=actor)
    counts = ChunkCounts(invoiced=len(issued.issued), skipped=issued.skipped, failed=issued.failed)
    # Also the bills an earlier run issued and died before collecting.
    left = bills_uncollected(account_ids=account_ids).values_list("pk", flat=True)
    to_collect = list(dict.fromkeys([*issued.issued, *issued.open_before, *left]))
    # One read for the whole chunk, the bills funds cover paid in one transaction; only
    # card payments (and funds spent since the read) go one by one.
    foreseen = collections_foreseen(to_collect)
    paid = _paid_from_funds(foreseen.from_funds, actor)
    collected = []
    for invoice_id in to_collect:
        outcome = _outcome(invoice_id, foreseen, paid, actor)
        counter = _OUTCOME_COUNTER.get(outcome)
        if counter:
            setattr(counts, counter, getattr(counts, counter) + 1)
        collected.append(
            BillCollection(invoice_id=invoice_id, outcome=outcome, collected_at=clock.now())
        )
    # Recorded before (a chunk run again): the first record stays, as get_or_create kept it.
    BillCollection.objects.bulk_create(collected, ignore_conflicts=True)
    if issued.issued:
        _documents_schedule(issued.issued)
    if run is not None:
        _chunk_report(run.pk, number, counts)
    return counts


def _paid_from_funds(invoice_ids: list[int], actor: Actor) -> set[int]:
    try:
        return set(invoices_pay_from_funds(invoice_ids=invoice_ids, actor=actor))
    except Exception:  # the database, or a bug: each bill is tried again one by one
        logger.exception("Paying %s bills from funds at once failed", len(invoice_ids))
        return set()


def _outcome(invoice_id: int, foreseen: Foreseen, paid: set[int], actor: Actor) -> str:
    if invoice_id in foreseen.settled:
        return foreseen.settled[invoice_id].outcome
    if invoice_id in paid:
        return "paid_from_funds"
    try:
        return bill_collect(invoice_id=invoice_id, actor=actor).outcome
    except Exception:  # a gateway or a bug: the invoice stays open for dunning
        logger.exception("Collecting invoice %s failed", invoice_id)
        return "unpaid"


def _chunk_report(run_id: int, number: int | None, counts: ChunkCounts) -> None:
    """Add the chunk's counts to the run, once, and finish the run if it was the last.
    The run's row is updated first (F() sums): that UPDATE locks it, so the last two chunks
    reporting at once are serialised and exactly one of them sees every chunk done."""
    now = clock.now()
    with transaction.atomic():
        if number is not None:
            first = BillChunk.objects.filter(
                run_id=run_id, number=number, finished_at__isnull=True
            ).update(finished_at=now)
            if not first:
                return  # reported before: a redelivered or retried chunk
        BillRun.objects.filter(pk=run_id).update(
            chunks_done=F("chunks_done") + 1,
            updated_at=now,
            **{f.name: F(f.name) + getattr(counts, f.name) for f in fields(counts)},
        )
        if number is not None:
            BillRun.objects.filter(
                pk=run_id, status=BillRun.Status.RUNNING, chunks_done__gte=F("chunks")
            ).update(status=BillRun.Status.FINISHED, finished_at=now)


def _documents_schedule(invoice_ids: list[int]) -> None:
    """After collection, so the email says whether the bill was paid; a schedule lost here
    is made good by invoicing's PDF sweep and notifications' email retry."""
    from billtone.billing.tasks import bill_documents_send_task

    try:
        bill_documents_send_task.delay(invoice_ids)
    except Exception:
        logger.warning("Could not schedule the documents of %s bills", len(invoice_ids))


def broker_configured() -> bool:
    """A real broker (RabbitMQ, Redis) is set: chunks go to Celery workers. Without one
    (the filesystem queue of decision 0011) the run bills in its own process."""
    return bool(getattr(settings, "BILLTONE_BILL_RUN_FAN_OUT", False))


def bill_run_start(*, actor: Actor, at: datetime | None = None) -> BillRun:
    """The back office's start: the run's row now, its chunks billed by a background task
    (fanned out to workers on a broker); refused while another run is live."""
    from billtone.billing.tasks import bill_run_execute_task

    with transaction.atomic():
        _start_lock()
        live = bill_run_live(stale_after=STALE_AFTER)
        if live is not None:
            raise BillRunRunning(live)
        run = bill_run_create(actor=actor, at=at)
        transaction.on_commit(lambda: bill_run_execute_task.delay(run_id=run.pk))
    return run


START_LOCK = 0x6269_6C6C  # "bill": the advisory lock key of bill_run_start


def _start_lock() -> None:
    """One start at a time: two clicks at once wait here, and the second sees the first run.
    PostgreSQL: a transaction-scoped advisory lock; SQLite: its transactions are IMMEDIATE
    (settings), so they are serialised already."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [START_LOCK])


def bill_run_create(*, actor: Actor, at: datetime | None = None) -> BillRun:
    """A new run's row; runs abandoned meanwhile (no progress for STALE_AFTER: their process
    killed) are marked failed, so that their pages stop saying "running"."""
    now = clock.now()
    BillRun.objects.filter(status=BillRun.Status.RUNNING, updated_at__lt=now - STALE_AFTER).update(
        status=BillRun.Status.FAILED,
        finished_at=now,
        error="Abandoned: no progress for 30 minutes (its process stopped). Later runs bill "
        "and collect what it left; nothing is billed twice.",
    )
    return BillRun.objects.create(
        at=at or now, started_at=now, updated_at=now, started_by=actor.label[:200]
    )


def bill_run(
    *,
    actor: Actor,
    at: datetime | None = None,
    chunk_size: int = CHUNK_SIZE,
    progress: Progress | None = None,
    fan_out: bool | None = None,
) -> BillRun:
    """Bill every account due at `at` (now), in chunks; see `bill_run_execute`."""
    run = bill_run_create(actor=actor, at=at)
    return bill_run_execute(
        run=run, actor=actor, chunk_size=chunk_size, progress=progress, fan_out=fan_out
    )


def bill_run_execute(
    *,
    run: BillRun,
    actor: Actor,
    chunk_size: int = CHUNK_SIZE,
    progress: Progress | None = None,
    fan_out: bool | None = None,
) -> BillRun:
    """With a broker (`fan_out` None: when one is configured) each chunk is a Celery task
    and this returns once they are sent, the run still running; the last chunk to report
    finishes it. Otherwise the chunks run here, one after the other, and the run returned
    is finished. A run that breaks is stored failed with the error."""
    fan_out = broker_configured() if fan_out is None else fan_out
    at = run.at
    try:
        # With the accounts whose bill an earlier run issued but died before collecting.
        uncollected = bills_uncollected().values_list("account_id", flat=True)
        due = sorted({*accounts_due(at=at), *uncollected})
        chunks = [due[start : start + chunk_size] for start in range(0, len(due), chunk_size)]
        with transaction.atomic():
            BillChunk.objects.bulk_create(
                BillChunk(run=run, number=n, accounts=len(chunk)) for n, chunk in enumerate(chunks)
            )
            BillRun.objects.filter(pk=run.pk).update(
                due=len(due), chunks=len(chunks), fanned_out=fan_out and bool(chunks)
            )
            if chunks and fan_out:
                _chunks_send(run, chunks, at, actor)  # once committed
        if not chunks:
            BillRun.objects.filter(pk=run.pk).update(
                status=BillRun.Status.FINISHED, finished_at=clock.now()
            )
        elif not fan_out:
            _chunks_here(run, chunks, at, actor, progress)
    except Exception as error:
        logger.exception("Bill run %s failed", run.pk)
        BillRun.objects.filter(pk=run.pk).update(
            status=BillRun.Status.FAILED,
            finished_at=clock.now(),
            error=f"{type(error).__name__}: {error}"[:4000],
        )
    run.refresh_from_db()
    return run


def _chunks_here(run, chunks, at, actor, progress: Progress | None) -> None:
    due = sum(len(chunk) for chunk in chunks)
    totals, done = ChunkCounts(), 0
    if progress:
        progress(0, due, totals)
    for number, chunk in enumerate(chunks):
        totals.add(bill_chunk(account_ids=chunk, at=at, run_id=run.pk, actor=actor, number=number))
        done += len(chunk)
        if progress:
            progress(done, due, totals)


def _chunks_send(run, chunks, at, actor) -> None:
    """One task per chunk, sent once the run's rows are committed (the worker reads them)."""
    from billtone.billing.tasks import bill_chunk_task

    def send() -> None:
        for number, chunk in enumerate(chunks):
            bill_chunk_task.delay(
                account_ids=list(chunk),
                at=at.isoformat(),
                run_id=run.pk,
                number=number,
                actor_label=actor.label,
                actor_user_id=actor.user_id,
            )

    transaction.on_commit(send)
