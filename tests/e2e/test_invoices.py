"""The Invoices page on a phone and a desktop: the list, and a PDF that downloads with its
Factur-X XML inside. Screenshots, the PDF and its first page as PNG in test-artifacts/."""

import facturx
import pypdfium2
import pytest
from playwright.sync_api import expect

from billtone.invoicing.models import Invoice
from billtone.invoicing.tests.conftest import (
    customer_profile_set,
    issue,
    line,
    operator_profile_set,
    reverse_charge,
)
from tests.e2e.test_layout_widths import WIDER_THAN_VIEWPORT, WIDTHS

pytestmark = pytest.mark.e2e


def test_invoices_list_and_pdf_download(page, login, shot, make_account, artifacts):
    operator_profile_set()
    account = customer_profile_set(make_account("Acme Telecom GmbH"))
    login(page, account.billing_profile.billing_email)
    page.goto("/billing/invoices/")
    expect(page.locator("#invoices")).to_contain_text("No invoices yet")
    shot("empty")

    first = issue(account, lines=[line(price="12.00", quantity=3)])
    second = issue(
        account,
        lines=[line(description="Desk phone", price="149.00", period=None, kind="store_item")],
        tax=reverse_charge(),
    )
    # Tasks run at once in tests, so both PDFs are made by now: show the moment before.
    Invoice.objects.filter(pk=second.pk).update(pdf_status="pending")
    for device, viewport in WIDTHS.items():
        page.set_viewport_size(viewport)
        page.goto("/billing/invoices/")
        rows = page.locator("#invoices tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.nth(0)).to_contain_text(second.number)
        expect(rows.nth(0)).to_contain_text("Preparing")
        expect(rows.nth(1)).to_contain_text(first.number)
        assert page.evaluate(WIDER_THAN_VIEWPORT) == []
        shot(f"{device}-list")

    Invoice.objects.filter(pk=second.pk).update(pdf_status="ready")  # the list polls
    expect(page.get_by_label(f"Download {second.number} (PDF)")).to_be_visible(timeout=10_000)
    with page.expect_download() as download:
        page.get_by_label(f"Download {second.number} (PDF)").click()
    path = artifacts / download.value.suggested_filename
    download.value.save_as(path)
    assert path.name == f"{second.number}.pdf"
    pypdfium2.PdfDocument(path)[0].render(scale=1.5).to_pil().save(artifacts / "invoice-page-1.png")
    filename, xml = facturx.get_xml_from_pdf(path.read_bytes(), check_xsd=True)
    assert filename == "factur-x.xml" and b"<ram:CategoryCode>AE</ram:CategoryCode>" in xml
