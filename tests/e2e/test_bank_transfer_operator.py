"""Add business funds by bank transfer, both halves in a real browser: the customer asks for a
transfer, operator staff upload the bank statement that carries its reference in the back
office, and the customer sees the money on the business account."""

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from billtone.banktransfers.models import BankTransfer
from billtone.banktransfers.references import reference_format
from billtone.banktransfers.tests.funding import operator_banks_save
from billtone.reconciliation.models import BankEntry
from billtone.reconciliation.tests.importing import Credit, camt053

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

STAFF_PASSWORD = "operator-password-1"


def owner_email(account) -> str:
    return account.memberships.get(role="owner").user.email


def test_an_uploaded_statement_turns_the_pending_transfer_into_business_funds(
    page, login, shot, account, tmp_path
):
    operator_banks_save()
    get_user_model().objects.create_superuser("operator", "staff@billtone.example", STAFF_PASSWORD)

    # The customer asks for 250.00 and is told the reference.
    assert login(page, owner_email(account)).status == 302
    page.goto("/billing/payment-methods/")
    page.get_by_role("link", name="Add Bank Transfer").click()
    page.get_by_label("€250.00").check()
    page.get_by_role("button", name="Next").click()
    expect(page).to_have_url(re.compile(r"/billing/payment-methods/bank-transfers/\d+/$"))
    shown = page.locator("#transfer-reference").inner_text()
    request = BankTransfer.objects.get(account=account)
    assert shown == reference_format(request.reference)
    shot("customer-instructions")
    page.get_by_role("link", name="Back to bank transfers").click()
    expect(page.locator(f"#transfer-{request.pk}")).to_contain_text("Awaiting funds")
    expect(page.locator("#business-funds-balance")).to_have_text("€0.00")
    shot("customer-pending")

    # Days later the bank statement holds the payment, the reference typed in lower case and
    # cut over two lines, and a second payment from the same bank account without reference.
    statement = camt053(
        tmp_path,
        Credit("250.00", ustrd=(f"top-up {shown[:9].lower()}", f"{shown[9:]} thanks")),
        Credit("80.00", ustrd=("monthly fee",)),
        name="camt053-2025-03-14.xml",
    )
    page.context.clear_cookies()
    page.goto("/admin/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#site-name")).to_be_visible()
    page.goto("/admin/reconciliation/statementimport/")
    page.get_by_role("link", name=re.compile("Add statement import", re.I)).click()
    expect(page).to_have_url("/admin/reconciliation/statementimport/upload/")
    page.set_input_files("#id_file", str(statement))
    shot("operator-upload")
    page.get_by_role("button", name="Import").click()

    # The upload returns at once; its page follows the worker's import (in-process here).
    expect(page).to_have_url(re.compile(r"/admin/reconciliation/statementimport/upload/\d+/$"))
    expect(page.locator("#upload-status")).to_have_text("Imported")
    expect(page.locator("#upload-result")).to_contain_text(
        "1 credited, 1 to review, 0 imported before."
    )
    shot("operator-upload-done")
    page.get_by_role("link", name="See the import and its emails").click()
    expect(page.locator("#emails-sent")).to_have_text("1")  # the funds received email
    expect(page.locator("#summary-1")).to_have_text("1")  # matched and credited
    expect(page.locator("#summary-2")).to_have_text("250.00 EUR")
    expect(page.locator("#summary-3")).to_have_text("1")  # to review
    shot("operator-summary")

    # The payment without reference waits for staff, with the account its IBAN paid before.
    page.locator("#review-link").click()
    queue = page.locator("#result_list")
    expect(queue).to_contain_text("80.00 EUR")
    expect(queue).to_contain_text("monthly fee")
    expect(queue).to_contain_text(account.name)  # the suggestion
    expect(queue).not_to_contain_text("250.00 EUR")
    shot("operator-review-queue")
    queue.locator("tbody a").first.click()
    page.locator("#allocate-link").click()
    expect(page.locator("#entry-suggestion")).to_contain_text("paid this account before")
    expect(page.locator("#id_account option:checked")).to_have_text(account.name)
    page.fill("#id_note", "Same IBAN as the top-up; confirmed by phone.")
    shot("operator-allocate")
    page.get_by_role("button", name="Credit the business funds").click()
    expect(page.locator(".messagelist")).to_contain_text(
        f"80.00 EUR from Acme Telecom GmbH credited to {account.name}'s business funds."
    )
    assert BankEntry.objects.get(amount=80).status == "allocated"

    # The customer sees the money and the request received.
    page.context.clear_cookies()
    assert login(page, owner_email(account)).status == 302
    page.goto("/billing/payment-methods/")
    expect(page.locator("#business-funds-balance")).to_have_text("€330.00")
    expect(page.locator(f"#transfer-{request.pk}")).to_contain_text("Received")
    shot("customer-received")
    assert BankTransfer.objects.get(pk=request.pk).status == "received"
