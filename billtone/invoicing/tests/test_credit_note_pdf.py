"""The credit note's PDF: "Credit note", its number, the invoice it corrects, the lines
credited; the Factur-X XML inside (type 381, the invoice referenced) passes the schema and its
totals are the PDF's."""

from decimal import Decimal

import pytest

from billtone.invoicing.cii import NS
from billtone.invoicing.services import credit_note_pdf_render
from billtone.invoicing.tests.conftest import reverse_charge
from billtone.invoicing.tests.credit_helpers import open_invoice
from billtone.invoicing.tests.test_credit_notes import credit
from billtone.invoicing.tests.test_credit_notes import mixed as mixed  # noqa: F401 (fixture)
from billtone.invoicing.tests.test_pdf import amounts, text_of, xml_of


def rendered(note) -> bytes:
    note = credit_note_pdf_render(credit_note_id=note.pk)
    assert note.pdf_status == "ready", note.pdf_error
    return bytes(note.pdf)


def test_the_xml_is_a_credit_note_of_the_invoice_and_equals_the_pdf(mixed):  # noqa: F811
    note = credit(mixed, lines=[(1, 1), (3, "3.33")], reason="Plan charged twice")
    pdf = rendered(note)
    root = xml_of(pdf)  # checked against the Factur-X EN 16931 XSD
    assert root.xpath("//rsm:ExchangedDocument/ram:TypeCode/text()", namespaces=NS) == ["381"]
    assert root.xpath("//rsm:ExchangedDocument/ram:ID/text()", namespaces=NS) == [note.number]
    referenced = "//ram:InvoiceReferencedDocument/"
    assert root.xpath(referenced + "ram:IssuerAssignedID/text()", namespaces=NS) == [mixed.number]
    assert root.xpath(
        referenced + "ram:FormattedIssueDateTime/qdt:DateTimeString/text()", namespaces=NS
    ) == [mixed.issue_date.strftime("%Y%m%d")]
    summary = "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:"
    assert amounts(root, summary + "TaxBasisTotalAmount") == [Decimal("15.33")]
    assert amounts(root, summary + "TaxTotalAmount") == [Decimal("2.51")]  # 2.28 + 0.23
    assert amounts(root, summary + "GrandTotalAmount") == [Decimal("17.84")]
    text = text_of(pdf)
    for expected in [
        f"Credit note {note.number}",
        f"Corrects invoice {mixed.number}",
        "Reason: Plan charged twice",
        "Credited: National plan",
        "Credited: Manual",
        "Total net credited 15,33",  # en_DE, as the PDF prints them
        "Total VAT credited 2,51",
        "Total credited 17,84",
        "Credited to your business funds.",
    ]:
        assert expected in text, expected


@pytest.mark.parametrize("tax", [reverse_charge()])
def test_a_reverse_charge_credit_note_of_an_open_invoice(customer, tax):
    invoice = open_invoice(customer, tax=tax)
    note = credit(invoice, refund_to="invoice_due")
    pdf = rendered(note)
    root = xml_of(pdf)
    assert set(root.xpath("//ram:CategoryCode/text()", namespaces=NS)) == {"AE"}
    assert amounts(root, "//ram:TaxTotalAmount") == [Decimal("0")]
    assert "Taken off what the invoice owes." in text_of(pdf)
