"""Add business funds by bank transfer (Figure 10.5), the customer's side, in a real browser."""

import re

import pytest
from playwright.sync_api import expect

from billtone.banktransfers.models import BankTransfer
from billtone.banktransfers.references import reference_format, reference_is_valid
from billtone.banktransfers.tests.funding import operator_banks_save
from billtone.notifications.models import EmailDelivery

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def owner_email(account) -> str:
    return account.memberships.get(role="owner").user.email


def test_owner_adds_funds_by_bank_transfer(page, login, shot, account):
    operator_banks_save()
    assert login(page, owner_email(account)).status == 302
    expect(page.locator("#payment-methods-card")).to_contain_text("none awaiting funds")
    shot("overview")

    page.get_by_role("navigation", name="Billing").get_by_role(
        "link", name="Payment methods"
    ).click()
    expect(page).to_have_url("/billing/payment-methods/")
    business = page.locator("#business-account")
    expect(business.get_by_role("heading", name="Business account")).to_be_visible()
    expect(page.locator("#business-funds-balance")).to_have_text("€0.00")
    permanent = account.bank_reference.reference
    expect(page.locator("#account-reference")).to_have_text(reference_format(permanent))
    expect(page.locator("#no-transfers")).to_have_text("No bank transfers yet.")
    shot("payment-methods-empty")

    page.get_by_role("link", name="Add Bank Transfer").click()
    expect(page).to_have_url("/billing/payment-methods/bank-transfer/")
    expect(page.get_by_role("heading", name="Add Bank Transfer")).to_be_visible()
    shot("add-bank-transfer")

    # A mistake first: too many decimals for EUR, shown beside the amount.
    page.locator("#id_custom_amount").fill("99.999")
    expect(page.get_by_label("Other amount", exact=True)).to_be_checked()
    page.get_by_role("button", name="Next").click()
    expect(page.locator("#error-custom_amount")).to_have_text(
        "EUR amounts have at most 2 decimal places."
    )
    expect(page.locator("#id_custom_amount")).to_have_value("99.999")
    shot("add-bank-transfer-error")
    assert not BankTransfer.objects.exists()

    page.get_by_label("€250.00").check()
    page.get_by_role("button", name="Next").click()

    expect(page).to_have_url(re.compile(r"/billing/payment-methods/bank-transfers/\d+/$"))
    expect(page.get_by_role("heading", name="Bank Transfer Instructions")).to_be_visible()
    request = BankTransfer.objects.get(account=account)
    assert reference_is_valid(request.reference) and request.reference != permanent
    expect(page.locator("#transfer-reference")).to_have_text(reference_format(request.reference))
    expect(page.locator("#transfer-amount")).to_have_text("€250.00")
    expect(page.locator("#bank-account-holder")).to_have_text("Billtone Telecom B.V.")
    expect(page.locator("#bank-iban")).to_have_text("NL91 ABNA 0417 1643 00")
    expect(page.locator("#bank-bic")).to_have_text("ABNANL2A")
    expect(page.locator("#bank-name")).to_have_text("ABN AMRO Bank N.V.")
    expect(page.locator("#transfer-note")).to_contain_text(
        "Bank transfers usually take 2-3 business days to process."
    )
    qr = page.locator("#epc-qr img")
    expect(qr).to_be_visible()
    assert qr.get_attribute("src").startswith("data:image/svg+xml")
    assert qr.evaluate("img => img.naturalWidth") > 0  # the browser decoded the SVG
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    shot("instructions")

    page.emulate_media(media="print")
    expect(page.locator("nav.sidenav")).to_be_hidden()
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    expect(page.locator("#transfer-reference")).to_be_visible()
    shot("instructions-print")
    page.emulate_media(media="screen")

    assert EmailDelivery.objects.filter(
        key=f"bank-transfer-instructions:{request.pk}",
        to_email=account.billing_profile.billing_email,
    ).exists()

    page.get_by_role("link", name="Back to bank transfers").click()
    expect(page).to_have_url("/billing/payment-methods/#pending-transfers")
    row = page.locator(f"#transfer-{request.pk}")
    expect(row).to_contain_text("€250.00")
    expect(row).to_contain_text(reference_format(request.reference))
    expect(row).to_contain_text("Awaiting funds")
    expect(page.locator("#no-transfers")).to_have_count(0)
    shot("pending-transfers")

    page.goto("/")
    expect(page.locator("#payment-methods-card")).to_contain_text("1 awaiting funds")
    shot("overview-awaiting")


def test_no_bank_transfer_in_a_currency_without_an_operator_account(
    page, login, shot, make_account
):
    operator_banks_save()
    usd = make_account("Initech Inc", currency="USD", timezone="America/New_York")
    login(page, owner_email(usd))
    page.goto("/billing/payment-methods/")
    expect(page.locator("#bank-transfer-unavailable")).to_contain_text(
        "Bank transfer is not available in USD"
    )
    expect(page.get_by_role("link", name="Add Bank Transfer")).to_have_count(0)
    shot("payment-methods-usd")
