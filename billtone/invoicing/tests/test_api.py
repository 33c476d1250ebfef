"""GET /api/v1/invoices, /invoices/{id}, /invoices/{id}/pdf: the account's only."""

from billtone.invoicing.models import Invoice
from billtone.invoicing.tests.conftest import issue, line, standard


def test_list_is_the_account_s_newest_first(customer, api, other_api):
    first, second = issue(customer), issue(customer)
    body = api.get("/api/v1/invoices").json()
    assert body["count"] == 2
    assert [item["number"] for item in body["items"]] == [second.number, first.number]
    item = body["items"][0]
    assert item["gross"] == "14.28" and item["net"] == "12.00" and item["tax"] == "2.28"
    assert item["currency"] == "EUR" and item["pdf_status"] == "pending"
    assert item["pdf_url"] == f"/api/v1/invoices/{second.pk}/pdf"
    assert other_api.get("/api/v1/invoices").json()["count"] == 0


def test_one_invoice_with_parties_lines_and_taxes(customer, api):
    invoice = issue(customer, lines=[line(price="12.00", quantity=2)], tax=standard("19"))
    body = api.get(f"/api/v1/invoices/{invoice.pk}").json()
    assert body["number"] == "INV-000001"
    assert body["supplier"]["vat_id"] == "NL123456782B01"
    assert body["customer"] == {
        "name": "Acme Telecom GmbH",
        "address": ["Friedrichstraße 10", "10117 Berlin"],
        "country": "DE",
        "vat_id": "DE136695976",
    }
    assert body["lines"] == [
        {
            "description": "National plan",
            "kind": "plan",
            "billing": "monthly",
            "quantity": 2,
            "unit_price": "12",
            "net": "24.00",
            "tax_rate": "19.00",
            "period_start": "2026-12-05",
            "period_end": "2026-12-31",
        }
    ]
    assert body["taxes"] == [{"rate": "19.00", "taxable": "24.00", "tax": "4.56"}]


def test_another_account_s_invoice_is_not_found(customer, other_api):
    invoice = issue(customer)
    Invoice.objects.filter(pk=invoice.pk).update(pdf=b"%PDF-1.7 x", pdf_status="ready")
    for path in (f"/api/v1/invoices/{invoice.pk}", f"/api/v1/invoices/{invoice.pk}/pdf"):
        response = other_api.get(path)
        assert response.status_code == 404
        assert response["Content-Type"] == "application/problem+json"


def test_the_pdf_downloads_once_ready(customer, api):
    invoice = issue(customer)
    waiting = api.get(f"/api/v1/invoices/{invoice.pk}/pdf")
    assert waiting.status_code == 409
    assert waiting.json()["type"].endswith("/invoice-pdf-not-ready")
    Invoice.objects.filter(pk=invoice.pk).update(pdf=b"%PDF-1.7 x", pdf_status="ready")
    response = api.get(f"/api/v1/invoices/{invoice.pk}/pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="INV-000001.pdf"'
    assert response.content == b"%PDF-1.7 x"
