"""The PDF: what EU VAT law asks of an invoice, and the Factur-X XML inside it, equal to it."""

import io
from decimal import Decimal

import facturx
import pytest
from lxml import etree
from pypdf import PdfReader

from billtone.invoicing.cii import NS
from billtone.invoicing.services import invoice_pdf_render
from billtone.invoicing.tests.conftest import issue, line, reverse_charge, standard


def rendered(invoice):
    invoice = invoice_pdf_render(invoice_id=invoice.pk)
    assert invoice.pdf_status == "ready", invoice.pdf_error
    return bytes(invoice.pdf)


def text_of(pdf: bytes) -> str:
    return " ".join(
        " ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages
    )


def xml_of(pdf: bytes) -> etree._Element:
    filename, xml = facturx.get_xml_from_pdf(pdf, check_xsd=False)
    assert filename == "factur-x.xml"
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    return etree.fromstring(xml)


def amounts(root, path: str) -> list[Decimal]:
    return [Decimal(x) for x in root.xpath(path + "/text()", namespaces=NS)]


@pytest.fixture
def mixed(customer):
    """Two rates (19 % and a line at 7 %), a monthly period and a one-off line."""
    return issue(
        customer,
        lines=[
            line(description="National plan", price="12.00", quantity=2),
            line(
                description="Yealink T54W desk phone", price="99.99", period=None, kind="store_item"
            ),
            line(
                description="Printed manual",
                price="10.05",
                period=None,
                kind="store_item",
                tax_rate=Decimal("7"),
            ),
        ],
        tax=standard("19"),
    )


def test_the_embedded_xml_passes_the_schema_and_equals_the_invoice(mixed):
    root = xml_of(rendered(mixed))
    summary = "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:"
    assert amounts(root, summary + "LineTotalAmount") == [mixed.net]
    assert amounts(root, summary + "TaxBasisTotalAmount") == [mixed.net]
    assert amounts(root, summary + "TaxTotalAmount") == [mixed.tax]
    assert amounts(root, summary + "GrandTotalAmount") == [mixed.gross]
    per_rate = [
        tuple(
            Decimal(tax.findtext(f"ram:{name}", namespaces=NS))
            for name in ("RateApplicablePercent", "BasisAmount", "CalculatedAmount")
        )
        for tax in root.xpath(
            "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax", namespaces=NS
        )
    ]
    assert per_rate == [(t.rate, t.taxable, t.tax) for t in mixed.taxes.all()]
    assert per_rate == [
        (Decimal("7"), Decimal("10.05"), Decimal("0.70")),
        (Decimal("19"), Decimal("123.99"), Decimal("23.56")),
    ]
    assert root.xpath("//rsm:ExchangedDocument/ram:ID/text()", namespaces=NS) == [mixed.number]
    assert amounts(root, "//ram:IncludedSupplyChainTradeLineItem//ram:LineTotalAmount") == [
        line.net for line in mixed.lines.all()
    ]


def test_the_pdf_says_what_eu_vat_law_requires(mixed):
    text = text_of(rendered(mixed))
    for expected in [
        "Invoice INV-000001",
        "Date of issue",
        "Billtone Telecom B.V.",
        "Keizersgracht 100",
        "1015 CJ Amsterdam",
        "VAT ID: NL123456782B01",
        "Acme Telecom GmbH",
        "Friedrichstraße 10",
        "10117 Berlin",
        "Germany",
        "National plan",
        "Period:",
        "Yealink T54W desk phone",
        "Printed manual",
        "Taxable amount at 19 %",
        "VAT at 19 %",
        "Taxable amount at 7 %",
        "VAT at 7 %",
        "Total net",
        "Total VAT",
        "Total",
    ]:
        assert expected in text, expected
    issue_date = mixed.issue_date
    assert f"{issue_date.day} {issue_date.strftime('%b')} {issue_date.year}" in text
    for amount in ("123,99", "23,56", "10,05", "0,70", "134,04", "24,26", "158,30"):  # en_DE
        assert amount in text, amount


def test_a_reverse_charge_invoice_says_so_with_the_customer_s_vat_id(customer):
    invoice = issue(customer, lines=[line(price="20.00")], tax=reverse_charge())
    pdf = rendered(invoice)
    text = text_of(pdf)
    assert "Reverse charge" in text and "Article 196" in text
    assert "DE136695976" in text
    root = xml_of(pdf)
    assert set(root.xpath("//ram:CategoryCode/text()", namespaces=NS)) == {"AE"}
    assert root.xpath("//ram:ExemptionReasonCode/text()", namespaces=NS) == ["VATEX-EU-AE"]
    assert root.xpath("//ram:ExemptionReason/text()", namespaces=NS)[0].startswith("Reverse charge")
    buyer_vat = "//ram:BuyerTradeParty/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']/text()"
    assert root.xpath(buyer_vat, namespaces=NS) == ["DE136695976"]
    assert amounts(root, "//ram:TaxTotalAmount") == [Decimal("0")]


def test_yen_invoices_are_written_in_whole_yen(make_account, operator, settings):
    settings.BILLTONE_CURRENCIES = ["EUR", "USD", "GBP", "JPY"]
    from billtone.invoicing.pdf import invoice_xml
    from billtone.invoicing.tests.conftest import customer_profile_set

    account = customer_profile_set(make_account("Nippon KK", currency="JPY"))
    invoice = issue(account, lines=[line(price="1005", currency="JPY", quantity=3)])
    root = etree.fromstring(invoice_xml(invoice))
    summary = "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:"
    assert root.xpath(summary + "GrandTotalAmount/text()", namespaces=NS) == ["3588"]
    assert root.xpath(summary + "TaxTotalAmount/text()", namespaces=NS) == ["573"]  # 572.85
