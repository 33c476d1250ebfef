"""Issue 18 §1 on the Users & Numbers page, for the demo's Acme under the default plan-change
policy (the next period): the owner changes Lena Fischer (bought at checkout on the National
plan) to International; the plan list shows the paid plans with their monthly price, the
confirm page says from when (the day after the period already billed, as billing answers),
the page then shows the change scheduled, and Next Bill charges International from that
day. At 1280 and 390 px, nothing scrolls sideways; screenshots in test-artifacts/."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from billtone.accounts.models import Account
from billtone.demo.services import DEMO_PASSWORD, demo_create
from billtone.invoicing.models import Subscription
from billtone.telephony.models import PhoneUser

from .test_layout_widths import WIDER_THAN_VIEWPORT, WIDTHS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _fits(page) -> None:
    assert page.evaluate(WIDER_THAN_VIEWPORT) == [], f"{page.url} scrolls sideways"


def test_change_a_users_plan_from_the_next_period(page, login, shot):
    demo_create()
    acme = Account.objects.get(name="Acme Telecom GmbH")
    lena = PhoneUser.objects.get(account=acme, extension="11")
    assert lena.plan.code == "national"
    paid_through = Subscription.objects.get(
        account=acme, item_kind="phone_user", item_id=lena.pk, status="active"
    ).paid_through
    starts_on = paid_through + timedelta(days=1)
    shown_date = f"{starts_on.day} {starts_on:%b %Y}"
    login(page, "owner@acme.example", DEMO_PASSWORD)

    page.goto("/billing/users-numbers/")
    row = page.locator(f"#user-{lena.pk}")
    row.get_by_role("link", name="Change plan").click()
    expect(page.locator("h1")).to_have_text("Change plan")
    choose = page.locator("#plan-choose")
    expect(choose).to_contain_text("Lena Fischer (extension 11) is on the National plan.")
    expect(choose.locator(".plan-option")).not_to_contain_text(["National"])
    international = choose.locator(".plan-option", has_text="International")
    expect(international).to_contain_text(re.compile(r"20[.,]00.*a month"))
    expect(page.locator("#payg-hint")).to_contain_text(
        "Pay As You Go users: add a new user on a paid plan."
    )
    for device in ("desktop", "phone"):
        page.set_viewport_size(WIDTHS[device])
        _fits(page)
        shot(f"plan-choose-{device}")
    page.set_viewport_size(WIDTHS["desktop"])
    international.click()
    page.click("#plan-next")

    takes_effect = page.locator("#takes-effect")
    expect(takes_effect).to_contain_text(f"It takes effect from {shown_date}")
    expect(page.locator("#plan-confirm")).to_contain_text(
        "Move Lena Fischer (extension 11) from National to International"
    )
    for device in ("desktop", "phone"):
        page.set_viewport_size(WIDTHS[device])
        _fits(page)
        shot(f"plan-confirm-{device}")
    page.set_viewport_size(WIDTHS["desktop"])
    page.click("#confirm-plan-change")

    expect(page.locator(".message.success")).to_contain_text(
        f"Lena Fischer (extension 11) moves to the International plan on {shown_date}."
    )
    expect(row).to_contain_text(f"Moves to International on {shown_date}")
    expect(row.get_by_role("link", name="Change plan")).to_have_count(0)
    for device in ("desktop", "phone"):
        page.set_viewport_size(WIDTHS[device])
        _fits(page)
        shot(f"users-numbers-scheduled-{device}")
    page.set_viewport_size(WIDTHS["desktop"])

    page.goto("/billing/next-bill/")
    line = page.locator("tr.bill-line", has_text="International plan: Lena Fischer").first
    expect(line).to_contain_text(shown_date)
    national = page.locator("tr.bill-line", has_text=re.compile(r"\bNational plan: Lena"))
    expect(national).to_have_count(0)
    for device in ("desktop", "phone"):
        page.set_viewport_size(WIDTHS[device])
        _fits(page)
        shot(f"next-bill-after-change-{device}")
