"""The back office shows invoices read-only, with lines, taxes and the PDF."""

from billtone.invoicing.models import Invoice
from billtone.invoicing.tests.conftest import issue


def test_invoice_pages_are_read_only_with_lines_taxes_and_pdf(customer, admin_client):
    invoice = issue(customer)
    Invoice.objects.filter(pk=invoice.pk).update(pdf=b"%PDF-1.7 x", pdf_status="ready")
    listing = admin_client.get("/admin/invoicing/invoice/").content.decode()
    assert invoice.number in listing
    page = admin_client.get(f"/admin/invoicing/invoice/{invoice.pk}/change/").content.decode()
    assert "National plan" in page and "19.00" in page
    assert f'href="/admin/invoicing/invoice/{invoice.pk}/pdf/"' in page
    assert 'name="_save"' not in page
    pdf = admin_client.get(f"/admin/invoicing/invoice/{invoice.pk}/pdf/")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content == b"%PDF-1.7 x"
    assert admin_client.get("/admin/invoicing/invoice/add/").status_code == 403
