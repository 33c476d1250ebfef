"""The invoice as EN 16931 XML (UN/CEFACT Cross Industry Invoice, Factur-X profile EN 16931),
embedded in its PDF so that the customer's accounting software reads it without typing.

Built with lxml in the schema's element order; `facturx.xml_check_xsd` checks it (pdf.py).
Tax categories (docs/decisions/0018-invoices.md): reverse charge "AE" (0 %, exemption reason
and code VATEX-EU-AE, both parties' VAT IDs), a positive rate "S", 0 % for a customer in the EU
"Z", 0 % for one outside it "O" (not subject to EU VAT: EN 16931 then carries no VAT IDs and
no rate, BR-O-2 and BR-O-5).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from lxml import etree

from billtone.accounts.validation import EU_COUNTRIES
from billtone.core.money import minor_units

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
EN16931 = "urn:cen.eu:en16931:2017"
COMMERCIAL_INVOICE = "380"
CREDIT_NOTE = "381"
UNIT_ONE = "C62"  # UN/ECE Recommendation 20: "one"
REVERSE_CHARGE_CODE = "VATEX-EU-AE"
NOT_SUBJECT_CODE = "VATEX-EU-O"


@dataclass(frozen=True)
class Party:
    name: str
    lines: tuple[str, ...]
    postal_code: str
    city: str
    country: str
    vat_id: str
    email: str


@dataclass(frozen=True)
class Line:
    description: str
    quantity: int
    unit_price: Decimal
    net: Decimal
    rate: Decimal
    period_start: date | None
    period_end: date | None


@dataclass(frozen=True)
class TaxGroup:
    rate: Decimal
    taxable: Decimal
    tax: Decimal


@dataclass(frozen=True)
class Document:
    """What the XML says, read from an issued invoice (pdf.invoice_document)."""

    number: str
    issue_date: date
    currency: str
    seller: Party
    buyer: Party
    lines: Sequence[Line]
    taxes: Sequence[TaxGroup]
    net: Decimal
    tax: Decimal
    gross: Decimal
    reverse_charge: bool
    tax_mention: str
    paid: bool = True
    type_code: str = COMMERCIAL_INVOICE
    terms: str = "Paid at checkout."
    # A credit note's invoice (EN 16931 BG-3, preceding invoice reference): number and date.
    preceding_number: str = ""
    preceding_date: date | None = None


def tax_category(*, rate: Decimal, reverse_charge: bool, buyer_country: str) -> str:
    if reverse_charge:
        return "AE"
    if rate > 0:
        return "S"
    return "Z" if buyer_country in EU_COUNTRIES else "O"


def _amount(value: Decimal, currency: str) -> str:
    places = minor_units(currency)
    return format(value.quantize(Decimal(1).scaleb(-places)), "f")


def _rate(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")), "f")


class _Builder:
    def __init__(self, doc: Document):
        self.doc = doc
        self.category = {
            group.rate: tax_category(
                rate=group.rate,
                reverse_charge=doc.reverse_charge,
                buyer_country=doc.buyer.country,
            )
            for group in doc.taxes
        }
        self.not_subject = "O" in self.category.values()

    def el(self, parent, tag: str, text: str | None = None, **attrs):
        prefix, name = tag.split(":")
        node = etree.SubElement(parent, f"{{{NS[prefix]}}}{name}", **attrs)
        if text is not None:
            node.text = text
        return node

    def date(self, parent, tag: str, value: date) -> None:
        holder = self.el(parent, tag)
        self.el(holder, "udt:DateTimeString", value.strftime("%Y%m%d"), format="102")

    def money(self, parent, tag: str, value: Decimal, with_currency: bool = False) -> None:
        attrs = {"currencyID": self.doc.currency} if with_currency else {}
        self.el(parent, tag, _amount(value, self.doc.currency), **attrs)

    def build(self) -> bytes:
        root = etree.Element(f"{{{NS['rsm']}}}CrossIndustryInvoice", nsmap=NS)
        context = self.el(root, "rsm:ExchangedDocumentContext")
        self.el(
            self.el(context, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID", EN16931
        )
        header = self.el(root, "rsm:ExchangedDocument")
        self.el(header, "ram:ID", self.doc.number)
        self.el(header, "ram:TypeCode", self.doc.type_code)
        self.date(header, "ram:IssueDateTime", self.doc.issue_date)
        if self.doc.tax_mention:
            self.el(self.el(header, "ram:IncludedNote"), "ram:Content", self.doc.tax_mention)
        trade = self.el(root, "rsm:SupplyChainTradeTransaction")
        for position, line in enumerate(self.doc.lines, start=1):
            self.line(trade, position, line)
        agreement = self.el(trade, "ram:ApplicableHeaderTradeAgreement")
        self.party(agreement, "ram:SellerTradeParty", self.doc.seller)
        self.party(agreement, "ram:BuyerTradeParty", self.doc.buyer)
        delivery = self.el(trade, "ram:ApplicableHeaderTradeDelivery")
        self.date(
            self.el(delivery, "ram:ActualDeliverySupplyChainEvent"),
            "ram:OccurrenceDateTime",
            self.doc.issue_date,
        )
        self.settlement(trade)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)

    def party(self, parent, tag: str, party: Party) -> None:
        node = self.el(parent, tag)
        self.el(node, "ram:Name", party.name)
        if party.country:  # the schema's address needs one; the PDF shows it without
            self.address(node, party)
        if party.email:
            uri = self.el(node, "ram:URIUniversalCommunication")
            self.el(uri, "ram:URIID", party.email, schemeID="EM")
        if party.vat_id and not self.not_subject:
            registration = self.el(node, "ram:SpecifiedTaxRegistration")
            self.el(registration, "ram:ID", party.vat_id, schemeID="VA")

    def address(self, node, party: Party) -> None:
        address = self.el(node, "ram:PostalTradeAddress")
        if party.postal_code:
            self.el(address, "ram:PostcodeCode", party.postal_code)
        for name, text in zip(("ram:LineOne", "ram:LineTwo"), party.lines, strict=False):
            self.el(address, name, text)
        if party.city:
            self.el(address, "ram:CityName", party.city)
        self.el(address, "ram:CountryID", party.country)

    def line(self, trade, position: int, line: Line) -> None:
        item = self.el(trade, "ram:IncludedSupplyChainTradeLineItem")
        self.el(self.el(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", str(position))
        self.el(self.el(item, "ram:SpecifiedTradeProduct"), "ram:Name", line.description)
        agreement = self.el(item, "ram:SpecifiedLineTradeAgreement")
        price = self.el(agreement, "ram:NetPriceProductTradePrice")
        self.el(price, "ram:ChargeAmount", format(line.unit_price.normalize(), "f"))
        delivery = self.el(item, "ram:SpecifiedLineTradeDelivery")
        self.el(delivery, "ram:BilledQuantity", str(line.quantity), unitCode=UNIT_ONE)
        settlement = self.el(item, "ram:SpecifiedLineTradeSettlement")
        tax = self.el(settlement, "ram:ApplicableTradeTax")
        self.el(tax, "ram:TypeCode", "VAT")
        category = self.category[line.rate]
        self.el(tax, "ram:CategoryCode", category)
        if category != "O":
            self.el(tax, "ram:RateApplicablePercent", _rate(line.rate))
        if line.period_start and line.period_end:
            period = self.el(settlement, "ram:BillingSpecifiedPeriod")
            self.date(period, "ram:StartDateTime", line.period_start)
            self.date(period, "ram:EndDateTime", line.period_end)
        summation = self.el(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation")
        self.money(summation, "ram:LineTotalAmount", line.net)

    def settlement(self, trade) -> None:
        doc = self.doc
        settlement = self.el(trade, "ram:ApplicableHeaderTradeSettlement")
        self.el(settlement, "ram:InvoiceCurrencyCode", doc.currency)
        for group in doc.taxes:
            category = self.category[group.rate]
            tax = self.el(settlement, "ram:ApplicableTradeTax")
            self.money(tax, "ram:CalculatedAmount", group.tax)
            self.el(tax, "ram:TypeCode", "VAT")
            if category in ("AE", "O"):
                self.el(tax, "ram:ExemptionReason", doc.tax_mention or "Reverse charge")
            self.money(tax, "ram:BasisAmount", group.taxable)
            self.el(tax, "ram:CategoryCode", category)
            if category in ("AE", "O"):
                code = REVERSE_CHARGE_CODE if category == "AE" else NOT_SUBJECT_CODE
                self.el(tax, "ram:ExemptionReasonCode", code)
            if category != "O":
                self.el(tax, "ram:RateApplicablePercent", _rate(group.rate))
        if doc.paid:
            terms = self.el(settlement, "ram:SpecifiedTradePaymentTerms")
            self.el(terms, "ram:Description", doc.terms)
        summation = self.el(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
        self.money(
            summation, "ram:LineTotalAmount", sum((line.net for line in doc.lines), Decimal(0))
        )
        self.money(summation, "ram:TaxBasisTotalAmount", doc.net)
        self.money(summation, "ram:TaxTotalAmount", doc.tax, with_currency=True)
        self.money(summation, "ram:GrandTotalAmount", doc.gross)
        self.money(summation, "ram:TotalPrepaidAmount", doc.gross if doc.paid else Decimal(0))
        self.money(summation, "ram:DuePayableAmount", Decimal(0) if doc.paid else doc.gross)
        if doc.preceding_number:
            preceding = self.el(settlement, "ram:InvoiceReferencedDocument")
            self.el(preceding, "ram:IssuerAssignedID", doc.preceding_number)
            if doc.preceding_date:
                issued = self.el(preceding, "ram:FormattedIssueDateTime")
                self.el(
                    issued,
                    "qdt:DateTimeString",
                    doc.preceding_date.strftime("%Y%m%d"),
                    format="102",
                )


def invoice_xml(document: Document) -> bytes:
    """The CII XML of `document`, UTF-8 with its declaration."""
    return _Builder(document).build()
