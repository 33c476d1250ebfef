"""Issue 18 §5 in a real browser: an unpaid monthly bill shows "Pay" on the Invoices page; its
Pay page offers business funds only when they cover it, and a new card that asks for 3-D
Secure pays it after the bank's step. At 1280 and 390 px; screenshots in test-artifacts/."""

import pytest
import time_machine
from playwright.sync_api import expect

from billtone.billing.services import bill_run
from billtone.billing.tests.conftest import ACTOR, buy, customer_in, fund, shop  # noqa: F401
from billtone.billing.tests.test_services import APRIL, BOUGHT
from billtone.invoicing.models import Invoice
from conftest import owner_of
from tests.e2e.test_layout_widths import WIDER_THAN_VIEWPORT, WIDTHS

pytestmark = pytest.mark.e2e


def test_an_open_bill_is_paid_by_card_with_3d_secure(page, login, shot, customer_in, shop):  # noqa: F811
    account = customer_in("Europe/Berlin")
    fund(account, "15.00")
    buy(account, shop, at=BOUGHT)
    with time_machine.travel(APRIL, tick=False):
        bill_run(actor=ACTOR)
    invoice = Invoice.objects.get(account=account, source_key__startswith="bill:")
    assert invoice.status == "open"
    login(page, owner_of(account).user.get_username())

    for device, viewport in WIDTHS.items():
        page.set_viewport_size(viewport)
        page.goto("/billing/invoices/")
        expect(page.get_by_label(f"Pay {invoice.number}")).to_be_visible()
        assert page.evaluate(WIDER_THAN_VIEWPORT) == []
        shot(f"{device}-invoices-with-pay")
        page.get_by_label(f"Pay {invoice.number}").click()
        expect(page.locator("#pay-headline")).to_contain_text(f"Pay invoice {invoice.number}")
        expect(page.locator("#method-funds")).to_be_disabled()
        assert page.evaluate(WIDER_THAN_VIEWPORT) == []
        shot(f"{device}-pay-page")

    page.set_viewport_size(WIDTHS["phone"])
    page.locator("#method-new_card").check()
    page.get_by_label("Card number").fill("4000 0025 0000 3155")
    page.get_by_label("Expiry (MM/YY)").fill("11/35")
    page.get_by_label("Security code (CVC)").fill("737")
    page.get_by_label("Name on card").fill("Ada Lovelace")
    page.locator("#pay").click()
    expect(page.locator("#authenticate-step")).to_be_visible()
    assert page.evaluate(WIDER_THAN_VIEWPORT) == []
    shot("phone-3d-secure")
    page.locator("#authenticate").click()
    expect(page.locator("#pay-headline")).to_contain_text("is paid")
    shot("phone-paid")
    assert Invoice.objects.get(pk=invoice.pk).status == "paid"
    page.goto("/billing/invoices/")
    expect(page.get_by_label(f"Pay {invoice.number}")).to_have_count(0)
