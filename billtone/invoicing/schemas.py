from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from ninja import Field, Schema

from billtone.core.money import Money

PdfStatus = Literal["pending", "ready", "failed"]


def _plain(amount: Decimal, currency: str) -> str:
    return Money(amount, currency).rounded().plain()


class InvoiceOut(Schema):
    """An invoice in a list."""

    id: int
    number: str = Field(description="in one gap-free series: INV-000042")
    issued_at: datetime
    issue_date: date = Field(description="the date of issue in the account's time zone")
    currency: str = Field(description="ISO 4217")
    net: str = Field(description="decimal string, to the currency's minor unit")
    tax: str
    gross: str
    reverse_charge: bool
    credited: str = Field(
        description="what its credit notes gave back (gross), decimal string; 0 when none"
    )
    pdf_status: PdfStatus = Field(
        description="the PDF is made just after issue: pending, then ready"
    )
    pdf_url: str = Field(description="GET it once pdf_status is ready")

    @staticmethod
    def resolve_net(obj) -> str:
        return _plain(obj.net, obj.currency)

    @staticmethod
    def resolve_credited(obj) -> str:
        return _plain(obj.credited, obj.currency)

    @staticmethod
    def resolve_tax(obj) -> str:
        return _plain(obj.tax, obj.currency)

    @staticmethod
    def resolve_gross(obj) -> str:
        return _plain(obj.gross, obj.currency)

    @staticmethod
    def resolve_pdf_url(obj) -> str:
        return f"/api/v1/invoices/{obj.pk}/pdf"


class InvoiceLineOut(Schema):
    description: str
    kind: str
    billing: Literal["one_off", "monthly"]
    quantity: int
    unit_price: str = Field(description="net, decimal string")
    net: str
    tax_rate: str = Field(description="percent, e.g. 21.00")
    period_start: date | None
    period_end: date | None = Field(description="inclusive")


class InvoiceTaxOut(Schema):
    rate: str = Field(description="percent, e.g. 21.00")
    taxable: str
    tax: str


class PartyOut(Schema):
    name: str
    address: list[str]
    country: str
    vat_id: str


class InvoiceDetailOut(InvoiceOut):
    tax_mention: str
    supplier: PartyOut
    customer: PartyOut
    lines: list[InvoiceLineOut]
    taxes: list[InvoiceTaxOut]

    @staticmethod
    def resolve_supplier(obj) -> dict:
        op = obj.operator
        return {
            "name": op.get("legal_name", ""),
            "address": [x for x in (op.get("street"), _city(op)) if x],
            "country": op.get("country", ""),
            "vat_id": op.get("vat_id", ""),
        }

    @staticmethod
    def resolve_customer(obj) -> dict:
        c = obj.customer
        lines = (c.get("address_line1"), c.get("address_line2"), _city(c))
        return {
            "name": c.get("company_name", ""),
            "address": [x for x in lines if x],
            "country": c.get("country", ""),
            "vat_id": c.get("tax_id", ""),
        }

    @staticmethod
    def resolve_lines(obj) -> list[dict]:
        return [
            {
                "description": line.description,
                "kind": line.kind,
                "billing": line.billing,
                "quantity": line.quantity,
                "unit_price": format(line.unit_price.normalize(), "f"),
                "net": _plain(line.net, obj.currency),
                "tax_rate": format(line.tax_rate, "f"),
                "period_start": line.period_start,
                "period_end": line.period_end,
            }
            for line in obj.lines.all()
        ]

    @staticmethod
    def resolve_taxes(obj) -> list[dict]:
        return [
            {
                "rate": format(tax.rate, "f"),
                "taxable": _plain(tax.taxable, obj.currency),
                "tax": _plain(tax.tax, obj.currency),
            }
            for tax in obj.taxes.all()
        ]


def _city(snapshot: dict) -> str:
    return " ".join(x for x in (snapshot.get("postal_code"), snapshot.get("city")) if x)


class CreditNoteOut(Schema):
    """A credit note: part or all of an invoice given back."""

    id: int
    number: str = Field(description="in its own gap-free series: CN-000042")
    invoice_id: int
    invoice_number: str = Field(description="the invoice it corrects")
    issued_at: datetime
    issue_date: date = Field(description="the date of issue in the account's time zone")
    currency: str
    net: str = Field(description="credited, decimal string (positive)")
    tax: str
    gross: str
    reason: str
    refund_to: Literal["business_funds", "card", "invoice_due"] = Field(
        description="where the money went: business funds, the card that paid the invoice, "
        "or off what the invoice still owed"
    )
    refund_status: Literal["", "pending", "succeeded", "failed"] = Field(
        description="a card refund's outcome (a failed one stays on business funds)"
    )
    pdf_status: PdfStatus
    pdf_url: str

    @staticmethod
    def resolve_invoice_number(obj) -> str:
        return obj.invoice.number

    @staticmethod
    def resolve_net(obj) -> str:
        return _plain(obj.net, obj.currency)

    @staticmethod
    def resolve_tax(obj) -> str:
        return _plain(obj.tax, obj.currency)

    @staticmethod
    def resolve_gross(obj) -> str:
        return _plain(obj.gross, obj.currency)

    @staticmethod
    def resolve_pdf_url(obj) -> str:
        return f"/api/v1/credit-notes/{obj.pk}/pdf"
