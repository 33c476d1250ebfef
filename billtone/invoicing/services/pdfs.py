"""The invoice's PDF, rendered after the issuing transaction has committed (a task; the
periodic sweep for one whose task was lost; the email's renderer when it is sent first)."""

from __future__ import annotations

import logging
from datetime import timedelta

from billtone.core import clock
from billtone.invoicing.models import Invoice
from billtone.invoicing.pdf import invoice_pdf

logger = logging.getLogger(__name__)

SWEEP_AFTER = timedelta(minutes=5)
SWEEP_BATCH = 200


def invoice_pdf_render(*, invoice_id: int) -> Invoice:
    """Render and store the PDF unless it is ready. Safe to run twice at once: the first to
    store it wins and both return it. A failure is stored (pdf_status failed, pdf_error) and
    tried again by the next call."""
    invoice = Invoice.objects.prefetch_related("lines", "taxes").get(pk=invoice_id)
    if invoice.pdf_status == Invoice.PdfStatus.READY:
        return invoice
    not_ready = Invoice.objects.filter(pk=invoice_id).exclude(pdf_status=Invoice.PdfStatus.READY)
    try:
        content = invoice_pdf(invoice)
    except Exception as error:  # a bug or a missing library: shown in the back office
        logger.exception("The PDF of invoice %s could not be rendered", invoice.number)
        not_ready.update(
            pdf_status=Invoice.PdfStatus.FAILED, pdf_error=f"{type(error).__name__}: {error}"[:2000]
        )
    else:
        not_ready.update(
            pdf=content,
            pdf_status=Invoice.PdfStatus.READY,
            pdf_error="",
            pdf_rendered_at=clock.now(),
        )
    return Invoice.objects.get(pk=invoice_id)


def invoice_pdfs_due() -> list[int]:
    """Invoices still without a PDF some minutes after issue (their task was lost)."""
    return list(
        Invoice.objects.filter(
            pdf_status=Invoice.PdfStatus.PENDING, issued_at__lt=clock.now() - SWEEP_AFTER
        )
        .order_by("sequence_number")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
