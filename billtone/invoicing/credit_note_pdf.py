"""A credit note as a PDF: the invoice's layout (pdf.py) titled "Credit note", naming the
invoice it corrects, its lines labelled as credited; the EN 16931 XML embedded is a
Factur-X credit note (type code 381) whose InvoiceReferencedDocument (BT-25, BT-26) is the
invoice. Amounts are positive, as EN 16931 writes a credit note: the type code says that
they go back."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import facturx
from babel.dates import format_date
from django.template.loader import render_to_string

from billtone.core.money import Money
from billtone.invoicing import cii
from billtone.invoicing.models import CreditNote
from billtone.invoicing.pdf import (
    InvoiceXmlInvalid,
    ShownLine,
    ShownTax,
    _rate,
    invoice_document,
)
from billtone.invoicing.pdf import invoice_locale as _locale

SETTLED = {
    "business_funds": "Credited to your business funds.",
    "card": "Refunded to the card that paid the invoice.",
    "invoice_due": "Taken off what the invoice owes.",
}


def credit_note_document(note: CreditNote) -> cii.Document:
    invoice = note.invoice
    return invoice_document(
        note,
        type_code=cii.CREDIT_NOTE,
        terms=SETTLED[note.refund_to],
        preceding_number=invoice.number,
        preceding_date=invoice.issue_date,
    )


def credit_note_xml(note: CreditNote) -> bytes:
    xml = cii.invoice_xml(credit_note_document(note))
    if not facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931"):
        raise InvoiceXmlInvalid(f"{note.number}: the XML fails the Factur-X schema.")
    return xml


def credit_note_context(note: CreditNote) -> dict:
    locale = _locale(note)

    def money(amount: Decimal) -> str:
        return Money(amount, note.currency).format(locale)

    def day(value: date | None) -> str:
        return format_date(value, format="medium", locale=locale) if value else ""

    lines = [
        ShownLine(
            description=line.description,
            period=f"{day(line.period_start)} – {day(line.period_end)}"
            if line.period_start
            else "",
            quantity=line.quantity,
            unit_price=money(line.unit_price),
            rate=_rate(line.tax_rate),
            net=money(line.net),
        )
        for line in note.lines.all()
    ]
    taxes = [
        ShownTax(rate=_rate(tax.rate), taxable=money(tax.taxable), tax=money(tax.tax))
        for tax in note.taxes.all()
    ]
    return {
        "note": note,
        "invoice": note.invoice,
        "operator": note.operator,
        "customer": note.customer,
        "issue_date": day(note.issue_date),
        "invoice_date": day(note.invoice.issue_date),
        "lines": lines,
        "taxes": taxes,
        "net": money(note.net),
        "tax": money(note.tax),
        "gross": money(note.gross),
        "settled": SETTLED[note.refund_to],
    }


def credit_note_html(note: CreditNote) -> str:
    return render_to_string("invoicing/credit_note_pdf.html", credit_note_context(note))


def credit_note_pdf(note: CreditNote) -> bytes:
    """The PDF/A-3 with the XML embedded as factur-x.xml."""
    from weasyprint import HTML  # imported when a PDF is made: it loads pango

    xml = credit_note_xml(note)
    pdf = HTML(string=credit_note_html(note)).write_pdf(pdf_variant="pdf/a-3b")
    operator = note.operator.get("legal_name", "")
    return facturx.generate_from_binary(
        pdf,
        xml,
        flavor="factur-x",
        level="en16931",
        check_xsd=True,
        pdf_metadata={
            "author": operator,
            "keywords": "Factur-X, credit note",
            "title": f"{operator}: credit note {note.number}",
            "subject": f"Credit note {note.number} for invoice {note.invoice.number}",
        },
        lang="en",
    )
