"""Business funds and call credit balances and their statements, in a real browser."""

import pytest
from playwright.sync_api import expect

from billtone.core.money import Money
from billtone.core.services import Actor
from billtone.ledger.services import (
    customer_ledger_accounts,
    funds_transfer,
    operator_ledger_account,
)

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
