"""An issued invoice as a PDF: HTML from a Django template, laid out by WeasyPrint as PDF/A-3,
with its EN 16931 XML embedded by the `factur-x` package (Factur-X, profile EN 16931).

Everything here reads the invoice as it was issued (its snapshots of both parties, its lines
and taxes); nothing reads the billing profile or the operator's profile of today.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import facturx
from babel.dates import format_date
from django.conf import settings
from django.template.loader import render_to_string

from billtone.core.money import Money, locale_for
from billtone.invoicing import cii
from billtone.invoicing.models import Invoice


class InvoiceXmlInvalid(RuntimeError):
    """The XML failed the Factur-X schema check: a bug, never shipped in a PDF."""


def invoice_locale(invoice: Invoice) -> str:
    return locale_for(language=settings.LANGUAGE_CODE, country=invoice.customer.get("country", ""))


def _party(snapshot: dict, *, name_key: str, vat_key: str, email_key: str) -> cii.Party:
    lines = tuple(
        text for text in (snapshot.get("address_line1"), snapshot.get("address_line2")) if text
    )
    return cii.Party(
        name=snapshot.get(name_key, ""),
        lines=lines,
        postal_code=snapshot.get("postal_code", ""),
        city=snapshot.get("city", ""),
        country=snapshot.get("country", ""),
        vat_id=snapshot.get(vat_key, ""),
        email=snapshot.get(email_key, ""),
    )


def invoice_document(invoice: Invoice, **more) -> cii.Document:
    """What the invoice says, as the XML builder takes it. A credit note has the same fields
    and passes what only it has (`type_code`, the invoice it corrects) in `more`."""
    operator = dict(invoice.operator)
    operator.setdefault("address_line1", operator.get("street", ""))
    return cii.Document(
        number=invoice.number,
        issue_date=invoice.issue_date,
        currency=invoice.currency,
        seller=_party(operator, name_key="legal_name", vat_key="vat_id", email_key="email"),
        buyer=_party(
            invoice.customer, name_key="company_name", vat_key="tax_id", email_key="billing_email"
        ),
        lines=[
            cii.Line(
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                net=line.net,
                rate=line.tax_rate,
                period_start=line.period_start,
                period_end=line.period_end,
            )
            for line in invoice.lines.all()
        ],
        taxes=[
            cii.TaxGroup(rate=tax.rate, taxable=tax.taxable, tax=tax.tax)
            for tax in invoice.taxes.all()
        ],
        net=invoice.net,
        tax=invoice.tax,
        gross=invoice.gross,
        reverse_charge=invoice.reverse_charge,
        tax_mention=invoice.tax_mention,
        **more,
    )


def invoice_xml(invoice: Invoice) -> bytes:
    """The invoice's CII XML, checked against the Factur-X EN 16931 schema."""
    xml = cii.invoice_xml(invoice_document(invoice))
    if not facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931"):
        raise InvoiceXmlInvalid(f"{invoice.number}: the XML fails the Factur-X schema.")
    return xml


@dataclass(frozen=True)
class ShownLine:
    description: str
    period: str
    quantity: int
    unit_price: str
    rate: str
    net: str


@dataclass(frozen=True)
class ShownTax:
    rate: str
    taxable: str
    tax: str


def _rate(rate: Decimal) -> str:
    return f"{rate.normalize():f} %"


def invoice_context(invoice: Invoice) -> dict:
    """What the template prints: amounts with Babel in the customer's locale, dates (already
    the account's local dates) written out."""
    locale = invoice_locale(invoice)

    def money(amount: Decimal) -> str:
        return Money(amount, invoice.currency).format(locale)

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
        for line in invoice.lines.all()
    ]
    taxes = [
        ShownTax(rate=_rate(tax.rate), taxable=money(tax.taxable), tax=money(tax.tax))
        for tax in invoice.taxes.all()
    ]
    return {
        "invoice": invoice,
        "operator": invoice.operator,
        "customer": invoice.customer,
        "issue_date": day(invoice.issue_date),
        "supply_date": day(invoice.issue_date),
        "lines": lines,
        "taxes": taxes,
        "net": money(invoice.net),
        "tax": money(invoice.tax),
        "gross": money(invoice.gross),
        "paid": money(invoice.gross),
        "due": money(Decimal(0)),
    }


def invoice_html(invoice: Invoice) -> str:
    return render_to_string("invoicing/invoice_pdf.html", invoice_context(invoice))


def invoice_pdf(invoice: Invoice) -> bytes:
    """The PDF/A-3 with the XML embedded as factur-x.xml."""
    from weasyprint import HTML  # imported when a PDF is made: it loads pango

    xml = invoice_xml(invoice)
    pdf = HTML(string=invoice_html(invoice)).write_pdf(pdf_variant="pdf/a-3b")
    operator = invoice.operator.get("legal_name", "")
    return facturx.generate_from_binary(
        pdf,
        xml,
        flavor="factur-x",
        level="en16931",
        check_xsd=True,
        pdf_metadata={
            "author": operator,
            "keywords": "Factur-X, invoice",
            "title": f"{operator}: invoice {invoice.number}",
            "subject": f"Invoice {invoice.number} of {invoice.issue_date.isoformat()}",
        },
        lang="en",
    )
