"""Reads of invoices, always scoped to the account (another account's: NotFound)."""

from __future__ import annotations

from django.db.models import QuerySet

from billtone.accounts.models import Account
from billtone.core.errors import Conflict, NotFound
from billtone.invoicing.models import CreditNote, Invoice

LIST_FIELDS = (
    "id",
    "number",
    "sequence_number",
    "account_id",
    "issued_at",
    "issue_date",
    "currency",
    "net",
    "tax",
    "gross",
    "reverse_charge",
    "status",
    "credited",
    "pdf_status",
)
CREDIT_NOTE_FIELDS = (
    "id",
    "number",
    "sequence_number",
    "account_id",
    "invoice_id",
    "invoice__number",
    "issued_at",
    "issue_date",
    "currency",
    "net",
    "tax",
    "gross",
    "reason",
    "refund_to",
    "refund_status",
    "pdf_status",
)


def invoice_list(*, account: Account) -> QuerySet[Invoice]:
    """The account's invoices, newest first, without their PDFs' bytes."""
    return Invoice.objects.filter(account=account).only(*LIST_FIELDS).order_by("-sequence_number")


def invoice_get(*, account: Account, invoice_id: int) -> Invoice:
    """One of the account's invoices with its lines and taxes; NotFound for another's."""
    invoice = (
        Invoice.objects.filter(account=account, pk=invoice_id)
        .defer("pdf")
        .prefetch_related("lines", "taxes")
        .first()
    )
    if invoice is None:
        raise NotFound("No such invoice in this account.")
    return invoice


def invoice_pdf_get(*, account: Account, invoice_id: int) -> tuple[str, bytes]:
    """(file name, bytes) of the account's invoice's PDF; NotFound for another's invoice,
    Conflict (409, invoice-pdf-not-ready) while it is being made."""
    row = (
        Invoice.objects.filter(account=account, pk=invoice_id)
        .values("number", "pdf", "pdf_status")
        .first()
    )
    if row is None:
        raise NotFound("No such invoice in this account.")
    if row["pdf_status"] != Invoice.PdfStatus.READY:
        raise Conflict(
            f"The PDF of {row['number']} is being prepared; try again in a minute.",
            slug="invoice-pdf-not-ready",
            title="The PDF is not ready",
        )
    return f"{row['number']}.pdf", bytes(row["pdf"])


def credit_note_list(*, account: Account) -> QuerySet[CreditNote]:
    """The account's credit notes, newest first, without their PDFs' bytes."""
    return (
        CreditNote.objects.filter(account=account)
        .select_related("invoice")
        .only(*CREDIT_NOTE_FIELDS)
        .order_by("-sequence_number")
    )


def credit_notes_by_invoice(*, account: Account, invoice_ids) -> dict[int, list[CreditNote]]:
    """The account's credit notes of these invoices, oldest first, by invoice id."""
    found: dict[int, list[CreditNote]] = {}
    for note in (
        credit_note_list(account=account)
        .filter(invoice_id__in=list(invoice_ids))
        .order_by("sequence_number")
    ):
        found.setdefault(note.invoice_id, []).append(note)
    return found


def credit_note_pdf_get(*, account: Account, credit_note_id: int) -> tuple[str, bytes]:
    """(file name, bytes) of the account's credit note's PDF; NotFound for another's,
    Conflict (409, credit-note-pdf-not-ready) while it is being made."""
    row = (
        CreditNote.objects.filter(account=account, pk=credit_note_id)
        .values("number", "pdf", "pdf_status")
        .first()
    )
    if row is None:
        raise NotFound("No such credit note in this account.")
    if row["pdf_status"] != CreditNote.PdfStatus.READY:
        raise Conflict(
            f"The PDF of {row['number']} is being prepared; try again in a minute.",
            slug="credit-note-pdf-not-ready",
            title="The PDF is not ready",
        )
    return f"{row['number']}.pdf", bytes(row["pdf"])


def invoices_open(*, account: Account) -> QuerySet[Invoice]:
    """The account's open (unpaid) invoices, oldest first, without their PDFs' bytes."""
    return (
        Invoice.objects.filter(account=account, status=Invoice.Status.OPEN)
        .defer("pdf")
        .order_by("sequence_number")
    )
