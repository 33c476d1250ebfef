import logging

from celery import shared_task
from django.utils.dateparse import parse_datetime

from billtone.billing.models import BillRun
from billtone.billing.selectors import bill_run_live
from billtone.billing.services import bill_chunk, bill_run
from billtone.billing.services.funds_hold import held_filter
from billtone.billing.services.run import STALE_AFTER, bill_run_execute
from billtone.core.services import Actor
from billtone.invoicing.services import invoice_documents_send

logger = logging.getLogger(__name__)

SCHEDULER = Actor.system("bill run (scheduled)")


@shared_task(ignore_result=True)
def bill_run_task() -> None:
    """Periodic: bill every account whose bill moment has come (a run with nothing due
    finishes at once). A run still going is left to finish: this one skips. Two at once
    would still be safe (each bill is issued once), only wasteful."""
    live = bill_run_live(stale_after=STALE_AFTER)
    if live is not None:
        logger.info("Bill run #%s is still running; the scheduled run skips", live.pk)
        return
    bill_run(actor=SCHEDULER)


@shared_task(ignore_result=True)
def bill_run_execute_task(run_id: int) -> None:
    """A run started in the back office: its chunks billed here or sent to the workers."""
    run = BillRun.objects.get(pk=run_id)
    bill_run_execute(run=run, actor=Actor.system(run.started_by))


# acks_late + reject_on_worker_lost (settings): a chunk whose worker dies is delivered again;
# an exception is retried. Running a chunk again bills and counts nothing twice.
@shared_task(
    ignore_result=True,
    autoretry_for=(Exception,),
    retry_backoff=5,
    max_retries=5,
)
def bill_chunk_task(
    *,
    account_ids: list[int],
    at: str,
    run_id: int,
    number: int,
    actor_label: str,
    actor_user_id: int | None = None,
) -> None:
    """One chunk of a fanned-out bill run (`at` as ISO 8601, the actor as its label)."""
    bill_chunk(
        account_ids=account_ids,
        at=parse_datetime(at),
        run_id=run_id,
        actor=Actor(label=actor_label, user_id=actor_user_id),
        number=number,
    )


@shared_task(ignore_result=True)
def bill_documents_send_task(invoice_ids: list[int]) -> None:
    """One chunk's PDFs and emails, after its bills were issued and collected."""
    invoice_documents_send(invoice_ids=invoice_ids)


@shared_task(ignore_result=True)
def open_invoices_pay_task(account_id: int) -> None:
    """Business funds arrived: pay the account's open invoices from them, oldest first."""
    from billtone.billing.services.funds import open_invoices_pay

    open_invoices_pay(account_id=account_id)


def funds_credited_listener(account_ids: frozenset[int]) -> None:
    """ledger.hooks listener, after commit: one task per account that has an open invoice
    (a statement import crediting 90,000 accounts queues only those; an account held by a
    payer is told when the payer releases it: services/funds_hold.py)."""
    from billtone.invoicing.models import Invoice

    ids = sorted(held_filter(account_ids))
    owing: set[int] = set()
    for start in range(0, len(ids), 5_000):  # SQLite's cap on query parameters
        found = Invoice.objects.filter(
            account_id__in=ids[start : start + 5_000], status=Invoice.Status.OPEN
        )
        owing.update(found.values_list("account_id", flat=True).distinct())
    for account_id in sorted(owing):
        try:
            open_invoices_pay_task.delay(account_id)
        except Exception:  # broker down: the bills' next dunning try uses the funds
            logger.warning("Could not schedule paying account %s's open invoices", account_id)


@shared_task(ignore_result=True)
def dunning_run_task() -> None:
    """Periodic: the dunning tries that are due, then reactivations of accounts that paid.
    Two at once are safe: a try charges once (its payment key) and is recorded once."""
    from billtone.billing.services.dunning import dunning_run

    dunning_run()
