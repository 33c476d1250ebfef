"""Credit notes on the customer's Invoices page and API (the account's only), and the back
office's "Credit" form (inline errors, nothing done; audited)."""

from decimal import Decimal

from django.test import Client

from billtone.core.models import AuditEntry
from billtone.invoicing.models import CreditNote, Invoice
from billtone.invoicing.tests.conftest import issue, line
from billtone.invoicing.tests.test_credit_notes import credit
from conftest import owner_of


def ready(note) -> CreditNote:
    CreditNote.objects.filter(pk=note.pk).update(pdf=b"%PDF-1.7 cn", pdf_status="ready")
    return CreditNote.objects.get(pk=note.pk)


def test_the_invoices_page_shows_what_was_credited_and_the_credit_notes(customer, web):
    invoice = issue(customer, lines=[line(price="12.00", quantity=2)])
    note = ready(credit(invoice, lines=[(1, 1)], reason="One user too many"))
    page = web.get("/billing/invoices/").content.decode()
    assert "Credited 14,28\xa0€" in page
    assert (
        "Credit notes" in page
        and f"for {invoice.number} · One user too many · Business funds" in page
    )
    assert f'href="/billing/invoices/credit-notes/{note.pk}/pdf/"' in page
    download = web.get(f"/billing/invoices/credit-notes/{note.pk}/pdf/")
    assert download["Content-Type"] == "application/pdf" and download.content == b"%PDF-1.7 cn"


def test_another_account_s_credit_note_is_not_found(customer, other_account, other_api):
    note = ready(credit(issue(customer)))
    client = Client()
    client.force_login(owner_of(other_account).user)
    assert client.get(f"/billing/invoices/credit-notes/{note.pk}/pdf/").status_code == 404
    assert note.number not in client.get("/billing/invoices/").content.decode()
    assert other_api.get(f"/api/v1/credit-notes/{note.pk}/pdf").status_code == 404
    assert other_api.get("/api/v1/credit-notes").json()["count"] == 0


def test_the_api_lists_credit_notes_and_what_each_invoice_had_credited(customer, api):
    invoice = issue(customer, lines=[line(price="12.00", quantity=2)])
    note = credit(invoice, lines=[(1, "5.00")], reason="Goodwill")
    item = api.get("/api/v1/invoices").json()["items"][0]
    assert item["credited"] == "5.95"
    body = api.get("/api/v1/credit-notes").json()
    assert body["count"] == 1
    assert body["items"][0] | {"issued_at": None, "issue_date": None} == {
        "id": note.pk,
        "number": "CN-000001",
        "invoice_id": invoice.pk,
        "invoice_number": invoice.number,
        "issued_at": None,
        "issue_date": None,
        "currency": "EUR",
        "net": "5.00",
        "tax": "0.95",
        "gross": "5.95",
        "reason": "Goodwill",
        "refund_to": "business_funds",
        "refund_status": "",
        "pdf_status": "pending",
        "pdf_url": f"/api/v1/credit-notes/{note.pk}/pdf",
    }
    assert api.get(f"/api/v1/credit-notes/{note.pk}/pdf").status_code == 409
    ready(note)
    assert api.get(f"/api/v1/credit-notes/{note.pk}/pdf").content == b"%PDF-1.7 cn"


def _form(admin_client, invoice):
    page = admin_client.get(f"/admin/invoicing/invoice/{invoice.pk}/credit/")
    assert page.status_code == 200
    return page.context["form"]["idempotency_key"].value()


def test_staff_credit_part_of_an_invoice_in_the_back_office(customer, admin_client):
    invoice = issue(customer, lines=[line(price="12.00", quantity=2)])
    change = admin_client.get(f"/admin/invoicing/invoice/{invoice.pk}/change/").content.decode()
    assert f'href="/admin/invoicing/invoice/{invoice.pk}/credit/"' in change
    key = _form(admin_client, invoice)
    form = {
        "scope": "lines",
        "quantity_1": "",
        "amount_1": "30.00",
        "reason": "Price error",
        "refund_to": "business_funds",
        "idempotency_key": key,
    }
    refused = admin_client.post(f"/admin/invoicing/invoice/{invoice.pk}/credit/", form)
    assert refused.status_code == 200
    assert "at most 24.00 EUR is left to credit" in refused.content.decode()
    assert not CreditNote.objects.exists()
    form["amount_1"] = "10.00"
    done = admin_client.post(f"/admin/invoicing/invoice/{invoice.pk}/credit/", form)
    assert done.status_code == 302
    note = CreditNote.objects.get()
    assert (note.net, note.gross, note.reason) == (Decimal("10"), Decimal("11.90"), "Price error")
    assert Invoice.objects.get(pk=invoice.pk).credited == Decimal("11.90")
    entry = AuditEntry.objects.get(action="credit_note.issue")
    assert entry.object_id == str(note.pk) and entry.actor_label == "admin"
    again = admin_client.post(f"/admin/invoicing/invoice/{invoice.pk}/credit/", form)
    assert again.status_code == 302 and CreditNote.objects.count() == 1  # a double submit
    page = admin_client.get(f"/admin/invoicing/creditnote/{note.pk}/change/").content.decode()
    assert note.number in page and invoice.number in page


def test_the_back_office_form_offers_only_the_destinations_the_invoice_allows(
    customer, admin_client
):
    invoice = issue(customer)
    page = admin_client.get(f"/admin/invoicing/invoice/{invoice.pk}/credit/").content.decode()
    assert 'value="business_funds"' in page and 'value="invoice_due"' not in page
    key = _form(admin_client, invoice)
    refused = admin_client.post(
        f"/admin/invoicing/invoice/{invoice.pk}/credit/",
        {"scope": "full", "reason": "x", "refund_to": "card", "idempotency_key": key},
    )
    assert "not paid by a card payment" in refused.content.decode()
    assert not CreditNote.objects.exists()
