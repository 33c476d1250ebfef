"""The Billing panel's Invoices page and its downloads."""

from django.test import Client

from billtone.invoicing.models import Invoice
from billtone.invoicing.tests.conftest import issue
from conftest import owner_of


def test_empty_state(customer, web):
    response = web.get("/billing/invoices/")
    assert response.status_code == 200
    assert "No invoices yet" in response.content.decode()


def test_list_with_totals_and_downloads(customer, web):
    pending, ready = issue(customer), issue(customer)
    Invoice.objects.filter(pk=ready.pk).update(pdf=b"%PDF-1.7 x", pdf_status="ready")
    page = web.get("/billing/invoices/").content.decode()
    assert page.index(ready.number) < page.index(pending.number)  # newest first
    assert "14,28\xa0€" in page  # en_DE, as the customer's other amounts
    assert f'href="/billing/invoices/{ready.pk}/pdf/"' in page
    assert f'href="/billing/invoices/{pending.pk}/pdf/"' not in page
    assert "Preparing" in page and 'hx-trigger="every 3s"' in page
    assert 'aria-current="page">Invoices<' in page
    download = web.get(f"/billing/invoices/{ready.pk}/pdf/")
    assert download["Content-Type"] == "application/pdf"
    assert download.content == b"%PDF-1.7 x"


def test_a_pdf_being_made_sends_back_to_the_list(customer, web):
    invoice = issue(customer)
    response = web.get(f"/billing/invoices/{invoice.pk}/pdf/", follow=True)
    assert "is being prepared" in response.content.decode()


def test_another_account_s_invoice_is_not_found(customer, other_account):
    invoice = issue(customer)
    Invoice.objects.filter(pk=invoice.pk).update(pdf=b"%PDF-1.7 x", pdf_status="ready")
    client = Client()
    client.force_login(owner_of(other_account).user)
    assert client.get(f"/billing/invoices/{invoice.pk}/pdf/").status_code == 404
    assert invoice.number not in client.get("/billing/invoices/").content.decode()


def test_members_without_billing_rights_are_refused(customer, member):
    client = Client()
    client.force_login(member.user)
    assert client.get("/billing/invoices/").status_code == 403
