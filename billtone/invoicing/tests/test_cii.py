"""The EN 16931 XML on its own: the Factur-X schema takes it, whatever the tax category."""

from datetime import date
from decimal import Decimal

import facturx
import pytest
from lxml import etree

from billtone.invoicing import cii

SELLER = cii.Party(
    "Billtone Telecom B.V.",
    ("Keizersgracht 100",),
    "1015 CJ",
    "Amsterdam",
    "NL",
    "NL123456782B01",
    "billing@operator.example",
)


def document(*, rate: str, reverse_charge: bool, buyer_country: str, currency: str = "EUR"):
    rate = Decimal(rate)
    buyer = cii.Party("Customer", ("Street 1",), "12345", "City", buyer_country, "DE136695976", "")
    lines = [
        cii.Line(
            "National plan",
            2,
            Decimal("12.00"),
            Decimal("24.00"),
            rate,
            date(2026, 12, 5),
            date(2026, 12, 31),
        ),
        cii.Line("Desk phone", 1, Decimal("99.5"), Decimal("99.50"), rate, None, None),
    ]
    taxable = Decimal("123.50")
    tax = (taxable * rate / 100).quantize(Decimal("0.01"))
    return cii.Document(
        number="INV-000007",
        issue_date=date(2026, 12, 5),
        currency=currency,
        seller=SELLER,
        buyer=buyer,
        lines=lines,
        taxes=[cii.TaxGroup(rate, taxable, tax)],
        net=taxable,
        tax=tax,
        gross=taxable + tax,
        reverse_charge=reverse_charge,
        tax_mention="Reverse charge" if reverse_charge else ("VAT not charged" if not tax else ""),
    )


def texts(xml: bytes, path: str) -> list[str]:
    return [str(text) for text in etree.fromstring(xml).xpath(path, namespaces=cii.NS)]


@pytest.mark.parametrize(
    ("rate", "reverse", "country", "category"),
    [
        ("21", False, "NL", "S"),
        ("0", True, "DE", "AE"),
        ("0", False, "FR", "Z"),
        ("0", False, "US", "O"),
    ],
)
def test_each_tax_category_passes_the_factur_x_schema(rate, reverse, country, category):
    xml = cii.invoice_xml(document(rate=rate, reverse_charge=reverse, buyer_country=country))
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    assert facturx.get_level(etree.fromstring(xml)) == "en16931"
    assert set(texts(xml, "//ram:CategoryCode/text()")) == {category}


def test_not_subject_to_vat_carries_no_vat_ids_and_no_rate():
    """EN 16931 BR-O-2 and BR-O-5: category O names no VAT ID and no rate."""
    xml = cii.invoice_xml(document(rate="0", reverse_charge=False, buyer_country="US"))
    assert texts(xml, "//ram:SpecifiedTaxRegistration/ram:ID/text()") == []
    assert texts(xml, "//ram:RateApplicablePercent/text()") == []
    assert texts(xml, "//ram:ExemptionReasonCode/text()") == ["VATEX-EU-O"]


def test_amounts_and_dates_are_written_as_the_schema_says():
    xml = cii.invoice_xml(document(rate="21", reverse_charge=False, buyer_country="NL"))
    assert texts(xml, "//ram:GrandTotalAmount/text()") == ["149.44"]
    assert texts(xml, "//ram:IssueDateTime/udt:DateTimeString/text()") == ["20261205"]
    assert texts(xml, "//ram:BillingSpecifiedPeriod/ram:EndDateTime/udt:DateTimeString/text()") == [
        "20261231"
    ]
