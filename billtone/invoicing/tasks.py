from celery import shared_task

from billtone.invoicing.services import pdfs


@shared_task(ignore_result=True)
def invoice_pdf_render_task(invoice_id: int) -> None:
    pdfs.invoice_pdf_render(invoice_id=invoice_id)


@shared_task(ignore_result=True)
def invoice_pdfs_sweep() -> None:
    """Periodic: render the PDFs whose task was lost (broker down at issue, worker killed)."""
    for invoice_id in pdfs.invoice_pdfs_due():
        pdfs.invoice_pdf_render(invoice_id=invoice_id)
