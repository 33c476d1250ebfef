"""The Billing panel's Users & Numbers page with an active user, one awaiting payment, an
assigned number and a held one: badges readable, nothing scrolls sideways, phone and desktop."""

import pytest
from django.db import transaction
from playwright.sync_api import expect

from billtone.accounts.models import Account
from billtone.catalog.models import Product
from billtone.core import clock
from billtone.core.services import Actor
from billtone.demo.services import DEMO_PASSWORD, demo_create
from billtone.telephony.selectors import numbers_available
from billtone.telephony.services import items_activate, number_hold, phone_user_create

from .test_layout_widths import WIDER_THAN_VIEWPORT, WIDTHS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _acme_with_items() -> None:
    demo_create()
    acme = Account.objects.get(name="Acme Telecom GmbH")
    actor = Actor.system("test")
    pending = phone_user_create(
        account=acme,
        name="Anna Schmidt",
        email="anna.schmidt@acme.example",
        extension="201",
        plan=Product.objects.get(code="national"),
        actor=actor,
    )
    assigned, held = numbers_available(country="DE", number_type="geographic", limit=2)
    number_hold(account=acme, number_id=assigned.pk)
    number_hold(account=acme, number_id=held.pk)
    with transaction.atomic():  # as checkout would, once paid
        items_activate(account=acme, user_ids=[], number_ids=[assigned.pk], at=clock.now())
    assert pending.status == "pending_payment"


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
        expect(page.locator("#phone-users .badge-active")).to_have_text("Active")
        expect(page.locator("#phone-users .badge-pending_payment")).to_have_text("Awaiting payment")
        expect(page.locator("#phone-numbers .badge-assigned")).to_have_text("Active")
        expect(page.locator("#phone-numbers .badge-held")).to_contain_text("Held until")
        assert page.evaluate(WIDER_THAN_VIEWPORT) == []
        shot(f"users-numbers-{device}")
