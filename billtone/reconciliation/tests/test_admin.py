"""The back office: upload a statement, see its summary, work the review queue."""

import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, TestCase

from billtone.banktransfers.models import BankTransfer
from billtone.core.models import AuditEntry
from billtone.ledger.models import Transaction
from billtone.reconciliation.models import BankEntry, StatementImport, StatementUpload
from billtone.reconciliation.services.funds_emails import funds_received_emails_queue
from billtone.reconciliation.services.imports import statement_import
from billtone.reconciliation.tests.importing import STAFF, Credit, camt053, import_callbacks
from billtone.reconciliation.tests.test_import_formats import csv_text

UPLOAD = "/admin/reconciliation/statementimport/upload/"
QUEUE = "/admin/reconciliation/bankentry/"


pytestmark = pytest.mark.usefixtures("media")


def upload(client, path, *, worker: bool = True, **data):
    """Post the file; with `worker`, the background import (eager in tests) runs after the
    request's commit, as a worker would run it."""
    with path.open("rb") as handle:
        file = SimpleUploadedFile(path.name, handle.read())
    with TestCase.captureOnCommitCallbacks(execute=worker):
        return client.post(UPLOAD, {"file": file, "format": "", **data})


def progress(client, response) -> str:
    """The upload's live part, as the page polls it."""
    return client.get(response["Location"] + "progress/").content.decode()


def test_an_upload_returns_at_once_and_its_page_shows_the_import_live(
    tmp_path, staff, customer, media
):
    path = camt053(
        tmp_path,
        Credit("250.00", ref=customer.request.reference),
        Credit("12.00", ustrd=("no reference",)),
        name="march.xml",
    )

    with TestCase.captureOnCommitCallbacks() as callbacks:
        response = upload(staff, path, worker=False)

    upload_row = StatementUpload.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{UPLOAD}{upload_row.pk}/"
    assert not StatementImport.objects.exists()  # nothing imported in the request
    assert customer.funds == 0 and upload_row.status == "queued"
    page = staff.get(response["Location"]).content.decode()
    assert "Waiting for the worker" in page and "htmx" in page
    assert f'hx-get="{UPLOAD}{upload_row.pk}/progress/"' in page  # polls until finished
    assert len(callbacks) == 1

    with TestCase.captureOnCommitCallbacks(execute=True):
        callbacks[0]()  # the request committed: the worker imports the file

    record = StatementImport.objects.get()
    assert record.imported_by_label == "operator" and record.file_name == "march.xml"
    assert customer.funds == Decimal("250.00")
    live = progress(staff, response)
    assert "1 credited, 1 to review, 0 imported before." in live
    assert f"/admin/reconciliation/statementimport/{record.pk}/change/" in live
    assert "hx-get" not in live  # finished: no more polling
    assert not re.search(r"<script|style=| on\w+=", live)  # CSP: nothing inline
    assert not any(media.rglob("*.xml"))  # the uploaded file is gone once imported
    page = staff.get(f"/admin/reconciliation/statementimport/{record.pk}/change/").content.decode()
    assert "<td id='summary-1'>1</td>" in page  # matched and credited
    assert "250.00 EUR" in page
    assert f"statement_import__id__exact={record.pk}" in page


def test_a_malformed_upload_shows_the_error_and_changes_nothing(tmp_path, staff, customer):
    path = camt053(tmp_path, Credit("250.00", ref=customer.request.reference), name="cut.xml")
    path.write_text(path.read_text()[:300])

    response = upload(staff, path)

    live = progress(staff, response)
    assert "Failed" in live and 'class="errornote"' in live and "cut.xml: line " in live
    assert "hx-get" not in live
    assert not StatementImport.objects.exists() and not Transaction.objects.exists()
    assert StatementUpload.objects.get().status == "failed"


def test_a_failure_other_than_the_file_is_said_and_rolls_back(
    tmp_path, staff, customer, monkeypatch
):
    path = camt053(tmp_path, Credit("250.00", ref=customer.request.reference))

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("billtone.reconciliation.import_run.import_storage.entries_insert", broken)
    response = upload(staff, path)

    live = progress(staff, response)
    assert "The import failed and was rolled back: nothing was imported" in live
    assert "disk full" in live
    assert customer.funds == 0 and not Transaction.objects.exists()


def test_the_import_page_shows_its_emails_progress_live(tmp_path, staff, customer):
    path = camt053(
        tmp_path,
        Credit("250.00", ref=customer.request.reference),
        Credit("10.00", ref=customer.reference.reference),
    )
    with TestCase.captureOnCommitCallbacks() as after_import:
        record = statement_import(source=path, actor=STAFF)
    page_url = f"/admin/reconciliation/statementimport/{record.pk}/change/"
    emails_url = f"/admin/reconciliation/statementimport/{record.pk}/emails/"

    before = staff.get(page_url).content.decode()
    with TestCase.captureOnCommitCallbacks() as sends:
        funds_received_emails_queue(statement_import_id=record.pk)  # the worker stores them
    queued = staff.get(emails_url).content.decode()
    with TestCase.captureOnCommitCallbacks(execute=True):
        for send in sends:
            send()  # the worker sends them
    sent = staff.get(emails_url).content.decode()

    assert len(import_callbacks(after_import)) == 1
    assert "Funds received emails" in before and "Waiting for the worker" in before
    assert f'hx-get="{emails_url}"' in before and "htmx" in before
    assert '<td id="emails-queued">2</td>' in queued and '<td id="emails-sent">0</td>' in queued
    assert "hx-get" in queued
    assert not re.search(r"<script|style=| on\w+=", queued)  # CSP: nothing inline
    assert '<td id="emails-queued">0</td>' in sent and '<td id="emails-sent">2</td>' in sent
    assert '<td id="emails-failed">0</td>' in sent
    assert "hx-get" not in sent  # all sent: the page stops polling


def test_a_csv_upload_without_a_column_map_fails_in_the_import(tmp_path, staff, customer):
    path = tmp_path / "export.csv"
    path.write_text(csv_text(customer.request.reference))

    missing = upload(staff, path)

    assert "needs a column map" in progress(staff, missing)  # found by the import
    assert customer.funds == 0  # the saved maps: test_csv_maps.py


def test_add_leads_to_the_upload_page(staff):
    response = staff.get("/admin/reconciliation/statementimport/add/")
    assert response["Location"] == UPLOAD
    assert staff.get(UPLOAD).status_code == 200


@pytest.fixture
def queue(tmp_path, staff, customer):
    """One credit matched, one in review with a suggestion (the payer's IBAN)."""
    iban = "DE89370400440532013000"
    upload(
        staff,
        camt053(
            tmp_path,
            Credit("10.00", ref=customer.reference.reference, iban=iban, payer="Acme"),
            Credit("240.00", ustrd=("forgot it",), iban=iban, payer="Acme"),
        ),
    )
    return BankEntry.objects.get(status="review")


def test_the_review_queue_lists_entries_to_review_with_their_suggestion(staff, queue, customer):
    page = staff.get(QUEUE).content.decode()
    everything = staff.get(QUEUE + "?status=all").content.decode()

    assert "240.00 EUR" in page and "10.00 EUR" not in page
    assert "forgot it" in page and customer.account.name in page
    assert "The payer&#x27;s IBAN DE89370400440532013000 paid this account before." in page
    assert "240.00 EUR" in everything and "10.00 EUR" in everything


def test_staff_allocate_an_entry_from_the_queue(staff, queue, customer):
    entry_page = staff.get(f"{QUEUE}{queue.pk}/change/").content.decode()
    form_page = staff.get(f"{QUEUE}{queue.pk}/allocate/").content.decode()

    response = staff.post(
        f"{QUEUE}{queue.pk}/allocate/",
        {"account": customer.account.pk, "bank_transfer": customer.request.pk, "note": "ok"},
    )

    assert "allocate-link" in entry_page and "return-link" in entry_page
    assert f'<option value="{customer.account.pk}" selected>' in form_page  # the suggestion
    assert response.status_code == 302 and response["Location"] == QUEUE
    entry = BankEntry.objects.get(pk=queue.pk)
    assert entry.status == "allocated" and entry.decided_by_label == "operator"
    assert customer.funds == Decimal("250.00")
    assert BankTransfer.objects.get(pk=customer.request.pk).status == "received_different_amount"
    assert AuditEntry.objects.filter(action="bank_entry.allocate", actor_label="operator").exists()
    assert "allocate-link" not in staff.get(f"{QUEUE}{queue.pk}/change/").content.decode()


def test_an_account_in_another_currency_is_not_offered(staff, queue, customer, make_account):
    pounds = make_account("Globex Ltd", currency="GBP")

    response = staff.post(f"{QUEUE}{queue.pk}/allocate/", {"account": pounds.pk})

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert BankEntry.objects.get(pk=queue.pk).status == "review"
    assert customer.funds == Decimal("10.00")


def test_a_decided_entry_shows_why_it_cannot_be_allocated_again(staff, queue, customer):
    staff.post(f"{QUEUE}{queue.pk}/return/", {"note": "sent back"})

    response = staff.post(f"{QUEUE}{queue.pk}/allocate/", {"account": customer.account.pk})

    assert BankEntry.objects.get(pk=queue.pk).status == "returned"
    assert "returned already" in response.content.decode()
    assert customer.funds == Decimal("10.00")


def test_staff_without_the_permission_cannot_decide(db, queue, customer):
    user = get_user_model().objects.create_user("viewer", password="pw-viewer", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_bankentry"))
    client = Client()
    client.force_login(user)

    assert client.get(f"{QUEUE}{queue.pk}/change/").status_code == 200
    assert client.post(f"{QUEUE}{queue.pk}/allocate/", {"account": 1}).status_code == 403
    assert client.post(f"{QUEUE}{queue.pk}/return/").status_code == 403
    assert client.get(UPLOAD).status_code == 403
    assert BankEntry.objects.get(pk=queue.pk).status == "review"


def test_customers_never_reach_the_back_office(web, queue):
    assert web.get(QUEUE).status_code == 302
    assert web.post(f"{QUEUE}{queue.pk}/return/").status_code == 302
    assert BankEntry.objects.get(pk=queue.pk).status == "review"


def test_references_and_requests_are_shown_read_only(staff, customer):
    for model in ("accountreference", "banktransfer"):
        listing = staff.get(f"/admin/banktransfers/{model}/")
        assert listing.status_code == 200
        assert staff.get(f"/admin/banktransfers/{model}/add/").status_code == 403
    page = staff.get(f"/admin/banktransfers/banktransfer/{customer.request.pk}/change/")
    assert customer.request.reference in page.content.decode()
