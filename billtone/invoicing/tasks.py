from celery import shared_task

from billtone.invoicing.services import credit_note_documents, credit_note_refunds, pdfs


@shared_task(ignore_result=True)
def invoice_pdf_render_task(invoice_id: int) -> None:
    pdfs.invoice_pdf_render(invoice_id=invoice_id)


@shared_task(ignore_result=True)
def invoice_pdfs_sweep() -> None:
    """Periodic: render the PDFs whose task was lost (broker down at issue, worker killed),
    credit notes' too, and settle credit notes' card refunds left pending."""
    for invoice_id in pdfs.invoice_pdfs_due():
        pdfs.invoice_pdf_render(invoice_id=invoice_id)
    for note_id in credit_note_documents.credit_note_pdfs_due():
        credit_note_documents.credit_note_pdf_render(credit_note_id=note_id)
    for note_id in credit_note_refunds.credit_note_refunds_due():
        credit_note_refunds.credit_note_refund(credit_note_id=note_id)


@shared_task(ignore_result=True)
def credit_note_pdf_render_task(credit_note_id: int) -> None:
    credit_note_documents.credit_note_pdf_render(credit_note_id=credit_note_id)


@shared_task(ignore_result=True)
def credit_note_refund_task(credit_note_id: int) -> None:
    credit_note_refunds.credit_note_refund(credit_note_id=credit_note_id)
