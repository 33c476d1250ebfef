from celery import shared_task

from billtone.billing.services import bill_run
from billtone.core.services import Actor
from billtone.invoicing.services import invoice_documents_send

SCHEDULER = Actor.system("bill run (scheduled)")


@shared_task(ignore_result=True)
def bill_run_task() -> None:
    """Periodic: bill every account whose bill moment has come (a run with nothing due
    finishes at once). Two at once are safe: each bill is issued once."""
    bill_run(actor=SCHEDULER)


@shared_task(ignore_result=True)
def bill_documents_send_task(invoice_ids: list[int]) -> None:
    """One chunk's PDFs and emails, after its bills were issued and collected."""
    invoice_documents_send(invoice_ids=invoice_ids)
