"""A credit note's PDF and email, after its transaction has committed: the PDF rendered by a
task (the periodic sweep for a lost one; the email's renderer when it is sent first), the
email stored unrendered in the issuing transaction (key "credit-note:<id>") and rendered,
with the PDF attached, when it is sent (as invoices' are: emails.py, pdfs.py)."""

from __future__ import annotations

import logging

from django.conf import settings

from billtone.core import clock
from billtone.core.money import Money
from billtone.invoicing.credit_note_pdf import SETTLED, credit_note_pdf
from billtone.invoicing.models import CreditNote
from billtone.invoicing.pdf import invoice_locale
from billtone.invoicing.services.pdfs import SWEEP_AFTER, SWEEP_BATCH
from billtone.notifications.models import EmailDelivery
from billtone.notifications.renderers import (
    Attachment,
    EmailGone,
    RenderedEmail,
    email_templates_render,
)
from billtone.notifications.services import billing_email_queue_unrendered

logger = logging.getLogger(__name__)

TEMPLATE = "invoicing.credit_note_issued"
KEY_PREFIX = "credit-note:"


class CreditNotePdfNotReady(RuntimeError):
    """The PDF could not be made for this attempt; the email is tried again later."""


def credit_note_pdf_render(*, credit_note_id: int) -> CreditNote:
    """Render and store the PDF unless it is ready; safe to run twice (the first stores it)."""
    note = (
        CreditNote.objects.select_related("invoice")
        .prefetch_related("lines", "taxes")
        .get(pk=credit_note_id)
    )
    if note.pdf_status == CreditNote.PdfStatus.READY:
        return note
    not_ready = CreditNote.objects.filter(pk=credit_note_id).exclude(
        pdf_status=CreditNote.PdfStatus.READY
    )
    try:
        content = credit_note_pdf(note)
    except Exception as error:  # a bug or a missing library: shown in the back office
        logger.exception("The PDF of credit note %s could not be rendered", note.number)
        not_ready.update(
            pdf_status=CreditNote.PdfStatus.FAILED,
            pdf_error=f"{type(error).__name__}: {error}"[:2000],
        )
    else:
        not_ready.update(
            pdf=content,
            pdf_status=CreditNote.PdfStatus.READY,
            pdf_error="",
            pdf_rendered_at=clock.now(),
        )
    return CreditNote.objects.get(pk=credit_note_id)


def credit_note_pdfs_due() -> list[int]:
    return list(
        CreditNote.objects.filter(
            pdf_status=CreditNote.PdfStatus.PENDING, issued_at__lt=clock.now() - SWEEP_AFTER
        )
        .order_by("sequence_number")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )


def credit_note_email_queue(*, note: CreditNote) -> EmailDelivery:
    return billing_email_queue_unrendered(
        account=note.account,
        key=f"{KEY_PREFIX}{note.pk}",
        template=TEMPLATE,
        context={"credit_note_id": note.pk},
    )


def credit_note_email_render(context: dict[str, object]) -> RenderedEmail:
    note_id = context.get("credit_note_id")
    if not isinstance(note_id, int) or not CreditNote.objects.filter(pk=note_id).exists():
        raise EmailGone(f"No credit note {note_id!r}.")
    note = credit_note_pdf_render(credit_note_id=note_id)
    if note.pdf_status != CreditNote.PdfStatus.READY:
        raise CreditNotePdfNotReady(f"The PDF of {note.number} is not ready: {note.pdf_error}")
    email = email_templates_render(
        "credit_note_issued",
        {
            "company_name": note.customer.get("company_name", ""),
            "number": note.number,
            "invoice_number": note.invoice.number,
            "issue_date": note.issue_date.isoformat(),
            "gross": Money(note.gross, note.currency).format(invoice_locale(note)),
            "settled": SETTLED[note.refund_to],
            "operator_name": note.operator.get("legal_name") or settings.BILLTONE_OPERATOR_NAME,
        },
    )
    return RenderedEmail(
        subject=email.subject,
        body_text=email.body_text,
        body_html=email.body_html,
        attachments=(Attachment(note.pdf_filename, bytes(note.pdf), "application/pdf"),),
    )
