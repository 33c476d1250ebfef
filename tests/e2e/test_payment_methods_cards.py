"""Saved cards on the Payment methods page (Figure 10.4), in a real browser: add a card, make
another the default, fail to add an expired one, remove one, and top up with a card that asks
for 3-D Secure."""

import re

import pytest
from playwright.sync_api import expect

from billtone.core import clock
from billtone.ledger.services import customer_ledger_accounts
from billtone.payments.models import SavedCard

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def owner_email(account) -> str:
    return account.memberships.get(role="owner").user.email


def add_card(page, number: str, expiry: str, cvc: str, name: str = "Ada Lovelace"):
    page.get_by_role("link", name="Add card").click()
    expect(page.get_by_role("heading", name="Add a credit or debit card")).to_be_visible()
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiry (MM/YY)").fill(expiry)
    page.get_by_label("Security code (CVC)").fill(cvc)
    page.get_by_label("Name on card").fill(name)
    page.get_by_role("button", name="Save card").click()


def test_owner_manages_saved_cards(page, login, shot, account):
    expiry = f"11/{(clock.now().year + 3) % 100:02d}"
    assert login(page, owner_email(account)).status == 302
    expect(page.locator("#cards-summary")).to_have_text("none saved")

    page.get_by_role("navigation", name="Billing").get_by_role(
        "link", name="Payment methods"
    ).click()
    cards = page.locator("#saved-cards")
    expect(cards.get_by_role("heading", name="Credit and debit cards")).to_be_visible()
    expect(page.locator("#no-cards")).to_contain_text("No cards saved yet.")
    expect(page.locator("#business-account")).to_be_visible()  # the same page
    shot("payment-methods-no-cards")

    add_card(page, "4242 4242 4242 4242", expiry, "123")
    expect(page).to_have_url("/billing/payment-methods/")
    expect(page.locator("#messages")).to_contain_text("Visa ending 4242 added.")
    visa = SavedCard.objects.get(last4="4242")
    visa_row = page.locator(f"#card-{visa.pk}")
    expect(visa_row).to_contain_text("Visa •••• 4242")
    expect(visa_row).to_contain_text(f"Expires {expiry[:3]}{clock.now().year + 3} · Ada Lovelace")
    expect(visa_row.locator(".badge.default")).to_have_text("Default")
    shot("first-card-added")

    add_card(page, "5555555555554444", expiry, "456", name="Grace Hopper")
    expect(page.locator("#messages")).to_contain_text("Mastercard ending 4444 added.")
    mastercard = SavedCard.objects.get(last4="4444")
    mastercard_row = page.locator(f"#card-{mastercard.pk}")
    expect(mastercard_row).to_contain_text("Mastercard •••• 4444")
    expect(mastercard_row.locator(".badge.default")).to_have_count(0)
    shot("second-card-added")

    # The same card again (same number, same expiry): not saved a second time, and told.
    add_card(page, "4242 4242 4242 4242", expiry, "123")
    expect(page.locator("#error-number")).to_have_text(
        f"This card is already saved: Visa •••• 4242 ({expiry[:3]}{clock.now().year + 3})."
    )
    expect(page.locator("#card-form-error")).to_have_text(
        "The card was not saved. Pay with the saved card from Payment methods, or add another card."
    )
    expect(page.get_by_label("Card number")).to_have_value("")
    shot("card-already-saved")
    assert SavedCard.objects.filter(last4="4242").count() == 1
    page.get_by_role("link", name="Cancel").click()

    mastercard_row.get_by_role(
        "button", name="Make Mastercard ending 4444 the default card"
    ).click()
    expect(page.locator("#cards-notice")).to_have_text(
        "Mastercard ending 4444 is now your default card."
    )
    expect(page.locator(f"#card-{mastercard.pk} .badge.default")).to_have_text("Default")
    expect(page.locator(f"#card-{visa.pk} .badge.default")).to_have_count(0)
    expect(page.locator(".saved-card").first).to_have_id(f"card-{mastercard.pk}")
    shot("default-changed")

    # An expired card: refused beside its field; number and CVC are not shown again.
    add_card(page, "378282246310005", "01/20", "7890")
    expect(page.locator("#error-expiry")).to_have_text("This card has expired.")
    expect(page.locator("#card-form-error")).to_contain_text("The card was not saved.")
    expect(page.get_by_label("Card number")).to_have_value("")
    expect(page.get_by_label("Security code (CVC)")).to_have_value("")
    expect(page.get_by_label("Expiry (MM/YY)")).to_have_value("01/20")
    expect(page.get_by_label("Name on card")).to_have_value("Ada Lovelace")
    assert "378282246310005" not in page.content()
    shot("expired-card-refused")
    assert SavedCard.objects.count() == 2

    page.get_by_role("link", name="Cancel").click()
    page.locator(f"#card-{visa.pk}").get_by_role("link", name="Remove Visa ending 4242").click()
    expect(page.locator("#remove-card")).to_contain_text("Remove Visa •••• 4242")
    shot("remove-card-confirm")
    page.get_by_role("button", name="Remove card").click()
    expect(page).to_have_url("/billing/payment-methods/")
    expect(page.locator("#messages")).to_contain_text("Visa ending 4242 removed.")
    expect(page.locator(".saved-card")).to_have_count(1)
    expect(page.locator(f"#card-{visa.pk}")).to_have_count(0)
    shot("card-removed")
    visa.refresh_from_db()
    assert visa.removed_at is not None

    # Automatic payments use the default card: it cannot be removed then.
    page.get_by_role("button", name="Use my default card").click()
    expect(page.locator("#cards-notice")).to_have_text(
        "Automatic payments now use your default card."
    )
    page.locator(f"#card-{mastercard.pk}").get_by_role("link", name="Remove").click()
    expect(page.locator("#card-in-use")).to_contain_text("Automatic payments use this card")
    expect(page.get_by_role("button", name="Remove card")).to_have_count(0)
    shot("default-card-in-use")


def test_top_up_with_a_card_that_asks_for_3d_secure(page, login, shot, account):
    expiry = f"11/{(clock.now().year + 3) % 100:02d}"
    login(page, owner_email(account))
    page.goto("/billing/payment-methods/")
    add_card(page, "4000 0025 0000 3155", expiry, "321")
    expect(page.locator("#messages")).to_contain_text("Visa ending 3155 added.")
    page.get_by_role("link", name="Top up by card").click()
    expect(page.get_by_role("heading", name="Top up by card")).to_be_visible()

    page.get_by_label("Amount (EUR)").fill("50")
    page.get_by_label("Business funds top-up").check()
    shot("top-up-form")
    page.get_by_role("button", name="Pay now").click()

    expect(page).to_have_url(re.compile(r"/billing/payment-methods/payments/\d+/$"))
    expect(page.locator("#payment-status")).to_have_text("Waiting for authentication")
    expect(page.locator("#authenticate-step")).to_contain_text("Your bank asks you to confirm")
    shot("authenticate-step")
    page.get_by_role("button", name="Authenticate").click()

    expect(page.locator("#messages")).to_contain_text("€50.00 added to your business funds.")
    expect(page.locator("#payment-status")).to_have_text("Succeeded")
    shot("top-up-succeeded")
    assert customer_ledger_accounts(account=account).business_funds.balance == 50
