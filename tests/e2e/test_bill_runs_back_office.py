"""Bill runs in the back office as operator staff meet them: "Start a bill run", confirmed,
billing the accounts due; a second start refused while one runs; a run's page following its
counts live (HTMX polling) with its failures linked to their accounts."""

import pytest
from playwright.sync_api import expect

from billtone.billing.models import BillRun
from billtone.billing.tests.conftest import buy, customer_in, fund, shop  # noqa: F401
from billtone.billing.tests.test_services import BOUGHT
from billtone.core import clock
from tests.e2e.conftest import PHONE

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_staff_start_a_bill_run_and_follow_one_live(page, shot, staff, customer_in, shop):  # noqa: F811
    due = []
    for _ in range(2):
        account = customer_in("Europe/Berlin")
        fund(account, "400.00")
        buy(account, shop, at=BOUGHT)  # months ago: due now, with every month since
        due.append(account)

    page.goto("/admin/billing/billrun/")
    page.get_by_role("link", name="Start a bill run").click()
    expect(page.locator("#due-now")).to_have_text("2 accounts have a bill due now.")
    shot("bill-run-confirm")
    page.get_by_role("button", name="Yes, start the bill run").click()
    expect(page.locator(".messagelist")).to_contain_text("started")
    expect(page.locator("#run-status")).to_have_text("Finished")  # tasks run eagerly here
    expect(page.locator("#count-invoiced")).to_have_text("2")
    expect(page.locator("#count-funds")).to_have_text("2")
    shot("bill-run-finished")

    # A run going on (as its workers report): a second start is refused, its page follows it.
    running = BillRun.objects.create(
        at=clock.now(), started_at=clock.now(), updated_at=clock.now(), due=10, invoiced=2, failed=1
    )
    running.failures.create(
        account=due[0], reason="ValueError: no tax rate for XX", created_at=clock.now()
    )
    page.goto("/admin/billing/billrun/start/")
    expect(page.locator("#run-live")).to_contain_text(f"Bill run #{running.pk} is still running")
    page.get_by_role("link", name="follow it").click()
    expect(page.locator("#count-done")).to_have_text("3 of 10")
    expect(page.locator("#run-failures")).to_contain_text("no tax rate for XX")
    shot("bill-run-live")
    BillRun.objects.filter(pk=running.pk).update(
        invoiced=9, failed=1, paid_by_card=9, status="finished", finished_at=clock.now()
    )
    expect(page.locator("#run-status")).to_have_text("Finished", timeout=10_000)
    expect(page.locator("#count-done")).to_have_text("10 of 10")
    page.locator("#run-failures a").first.click()
    expect(page).to_have_url(f"/admin/accounts/account/{due[0].pk}/change/", timeout=5000)
    page.go_back()
    page.set_viewport_size(PHONE)
    shot("bill-run-phone")
