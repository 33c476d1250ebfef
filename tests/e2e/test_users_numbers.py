"""The Billing panel's Users & Numbers page with an active user, one awaiting payment, an
assigned number and a held one: badges readable, nothing scrolls sideways, phone and desktop."""

import pytest
from playwright.sync_api import expect

from billtone.accounts.models import Account
from billtone.demo.services import DEMO_PASSWORD, demo_create
from billtone.telephony.models import PhoneNumber, PhoneUser
from billtone.telephony.selectors import numbers_available
from billtone.telephony.services import number_hold

from .test_layout_widths import WIDER_THAN_VIEWPORT, WIDTHS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _acme_with_items() -> None:
    """The demo's Acme (demo/basket.py): active users (Reception, and the one its checkout
    paid for), one awaiting payment in its basket, the checkout's assigned number; plus a
    number held."""
    demo_create()
    acme = Account.objects.get(name="Acme Telecom GmbH")
    (held,) = numbers_available(country="DE", number_type="geographic", limit=1)
    number_hold(account=acme, number_id=held.pk)
    assert {u.status for u in PhoneUser.objects.filter(account=acme)} == {
        "active",
        "pending_payment",
    }
    assert PhoneNumber.objects.filter(account=acme, status="assigned").exists()


def test_users_and_numbers_show_their_status_on_a_phone_and_a_desktop(page, login, shot):
    _acme_with_items()
    login(page, "owner@acme.example", DEMO_PASSWORD)
    for device, viewport in WIDTHS.items():
        page.set_viewport_size(viewport)
        page.goto("/")
        if device == "phone":
            page.click("label.nav-toggle-label")
        page.click("nav.sidenav >> text=Users & Numbers")
        expect(page.locator("h1")).to_have_text("Users & Numbers")
        expect(page.locator("#phone-users .badge-active").first).to_have_text("Active")
        expect(page.locator("#phone-users .badge-pending_payment")).to_have_text("Awaiting payment")
        expect(page.locator("#phone-numbers .badge-assigned")).to_have_text("Active")
        expect(page.locator("#phone-numbers .badge-held")).to_contain_text("Held until")
        assert page.evaluate(WIDER_THAN_VIEWPORT) == []
        shot(f"users-numbers-{device}")
