"""Issue 18 §6 in a real browser: operator staff credit part of the demo invoice in the back
office (a refusal first, shown on the form), then the customer sees the credit note on the
Invoices page, what the invoice had credited, and downloads the credit note's PDF (its
Factur-X XML a credit note, type 381, of the invoice). At 1280 and 390 px. Screenshots, the
PDF and its first page as PNG in test-artifacts/."""

import facturx
import pypdfium2
import pytest
from playwright.sync_api import expect

from billtone.basket.models import Checkout
from billtone.demo.services import DEMO_PASSWORD, demo_create
from billtone.invoicing.models import CreditNote, Invoice
from tests.e2e.test_layout_widths import WIDER_THAN_VIEWPORT, WIDTHS

pytestmark = pytest.mark.e2e


def test_staff_credit_part_of_the_demo_invoice_and_the_customer_downloads_it(
    page, login, shot, artifacts
):
    demo_create()
    # the demo checkout's invoice (the demo's auto top-up has one of its own)
    invoice = Invoice.objects.get(
        pk=Checkout.objects.get(account__name="Acme Telecom GmbH").invoice_id
    )
    first = invoice.lines.order_by("position").first()

    page.goto("/admin/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/")
    page.goto(f"/admin/invoicing/invoice/{invoice.pk}/change/")
    page.locator("#credit-invoice").click()
    page.get_by_label("Chosen lines").check()
    page.get_by_label("Net amount of line 1").fill(f"{first.net + 1:.2f}")  # too much
    page.get_by_label("Reason").fill("Plan started a week late")
    page.get_by_label("Money goes to").select_option("business_funds")
    page.get_by_role("button", name="Issue the credit note").click()
    expect(page.locator("#credit-errors")).to_contain_text("is left to credit")
    shot("back-office-refused")
    assert not CreditNote.objects.exists()
    page.get_by_label("Net amount of line 1").fill("3.00")
    page.get_by_role("button", name="Issue the credit note").click()
    expect(page.locator(".messagelist")).to_contain_text("CN-000001 issued")
    shot("back-office-credited")
    note = CreditNote.objects.get()
    assert note.invoice_id == invoice.pk and str(note.net) == "3.0000"

    page.context.clear_cookies()  # staff out, the customer in
    login(page, "owner@acme.example", DEMO_PASSWORD)
    for device, viewport in WIDTHS.items():
        page.set_viewport_size(viewport)
        page.goto("/billing/invoices/")
        expect(page.locator("#invoices")).to_contain_text("Credited")
        expect(page.locator("table.credit-notes tbody tr")).to_have_count(1)
        expect(page.locator("table.credit-notes")).to_contain_text(note.number)
        expect(page.locator("table.credit-notes")).to_contain_text(invoice.number)
        assert page.evaluate(WIDER_THAN_VIEWPORT) == []
        shot(f"{device}-invoices-with-credit-note")

    download_link = page.get_by_label(f"Download {note.number} (PDF)")
    expect(download_link).to_be_visible(timeout=10_000)
    with page.expect_download() as download:
        download_link.click()
    path = artifacts / download.value.suggested_filename
    download.value.save_as(path)
    assert path.name == f"{note.number}.pdf"
    pypdfium2.PdfDocument(path)[0].render(scale=1.5).to_pil().save(
        artifacts / "credit-note-page-1.png"
    )
    filename, xml = facturx.get_xml_from_pdf(path.read_bytes(), check_xsd=True)
    assert filename == "factur-x.xml" and b"<ram:TypeCode>381</ram:TypeCode>" in xml
    assert f"<ram:IssuerAssignedID>{invoice.number}</ram:IssuerAssignedID>".encode() in xml
