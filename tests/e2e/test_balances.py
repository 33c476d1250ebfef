"""Business funds and call credit balances and their statements, in a real browser: each line
described for a person, on a phone and a desktop, with no gateway id on the page."""

import pytest
from playwright.sync_api import expect

from billtone.core import clock
from billtone.core.money import Money
from billtone.core.services import Actor
from billtone.ledger.services import (
    customer_ledger_accounts,
    funds_transfer,
    operator_ledger_account,
)
from billtone.payments.services import card_add, card_charge, payment_refund

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_owner_sees_balances_and_statements(page, login, shot, account):
    ledger = customer_ledger_accounts(account=account)
    bank = operator_ledger_account(kind="bank_clearing", currency="EUR")
    actor = Actor.system("test")
    funds_transfer(
        source=bank,
        destination=ledger.business_funds,
        amount=Money("250.00", "EUR"),
        kind="bank_transfer",
        memo="Bank transfer RF18 5390 0754 7034",
        idempotency_key="e2e-deposit",
        actor=actor,
        external_reference="BANK-2026-000123",
        statement_reference="RF18539007547034",
    )
    funds_transfer(
        source=ledger.business_funds,
        destination=ledger.call_credit,
        amount=Money("40.00", "EUR"),
        kind="call_credit_topup",
        memo="Call credit top-up",
        idempotency_key="e2e-topup",
        actor=actor,
    )

    login(page, account.memberships.get(role="owner").user.email)
    expect(page.locator("#balance-business_funds .amount")).to_have_text("€210.00")
    expect(page.locator("#balance-call_credit .amount")).to_have_text("€40.00")
    shot("overview-with-balances")

    page.get_by_role("link", name="Balances").click()
    rows = page.locator("#statement-lines tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Bank transfer RF18 5390 0754 7034")
    expect(rows.nth(0)).to_contain_text("€250.00")
    expect(rows.nth(1)).to_contain_text("-€40.00")
    expect(rows.nth(1).locator("td").last).to_have_text("€210.00")
    shot("business-funds-statement")

    page.locator(".tabs").get_by_role("link", name="Call credit").click()
    expect(page.locator("#statement-lines tbody tr")).to_have_count(1)
    expect(page.locator("#statement-lines")).to_contain_text("Call credit top-up")
    shot("call-credit-statement")

    page.fill("#id_date_from", "2020-02-01")
    page.fill("#id_date_to", "2020-01-01")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("alert")).to_contain_text("The start date is after the end date.")
    shot("statement-bad-period")


NO_WIDER_THAN_THE_VIEWPORT = "() => document.documentElement.scrollWidth"


def test_card_lines_read_for_a_person_on_a_phone_and_a_desktop(page, login, shot, account):
    actor = Actor.system("test")
    card = card_add(
        account=account,
        number="4242424242424242",
        exp_month=11,
        exp_year=clock.now().year + 3,
        cvc="737",
        holder_name="Ada Lovelace",
        actor=actor,
    )
    paid = card_charge(
        account=account,
        card=card,
        amount=Money("3000.00", "EUR"),
        purpose="business_funds",
        on_session=True,
        idempotency_key="e2e-card-top-up",
        actor=actor,
    )
    payment_refund(
        account=account,
        payment=paid,
        amount=Money("500.00", "EUR"),
        idempotency_key="e2e-card-refund",
        actor=actor,
    )

    login(page, account.memberships.get(role="owner").user.email)
    for device, viewport in {"phone": (390, 844), "desktop": (1280, 800)}.items():
        page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
        page.goto("/billing/balances/")
        rows = page.locator("#statement-lines tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.nth(0).locator("td").nth(1)).to_have_text("Card payment, Visa •••• 4242")
        expect(rows.nth(1).locator("td").nth(1)).to_have_text("Top-up refunded to Visa •••• 4242")
        day = rows.nth(0).locator("td.date .day")
        line_height = day.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)")
        assert day.bounding_box()["height"] < 1.5 * line_height, "the date wraps"
        assert page.evaluate(NO_WIDER_THAN_THE_VIEWPORT) <= viewport[0]
        html = page.content()
        assert not [found for found in ("sandbox_", "ch_", "pi_", "seti_") if found in html]
        shot(f"statement-card-lines-{device}")
