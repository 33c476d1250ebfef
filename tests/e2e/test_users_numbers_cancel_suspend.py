"""Issue 18 on the Users & Numbers page, for the demo's Acme: the owner cancels Lena Fischer
(bought at checkout, on the National plan) and the checkout's number; the confirm page says
when each ends (the end of the period already billed, as a registered listener answers in
place of billing), and the page then shows it. Then the account is suspended: the banner
says why and links the Invoices page, and each item shows Suspended. At 1280 and 390 px,
nothing scrolls sideways; screenshots in test-artifacts/."""

import calendar

import pytest
from playwright.sync_api import expect

from billtone.accounts.models import Account
from billtone.core.services import Actor
from billtone.demo.services import DEMO_PASSWORD, demo_create
from billtone.telephony import hooks
from billtone.telephony.models import PhoneNumber, PhoneUser
from billtone.telephony.selectors import account_today
from billtone.telephony.services import account_suspend

from .test_layout_widths import WIDER_THAN_VIEWPORT, WIDTHS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def billing_ends_month_end():
    """Billing's place in the registry: the service ends on the last day of this month."""

    def ends_on(*, account, item, today):
        return today.replace(day=calendar.monthrange(today.year, today.month)[1])

    hooks.cancellation_register(
        hooks.CancellationListener(
            name="e2e-billing", service_ends_on=ends_on, cancelled=lambda **told: None
        )
    )
    yield
    hooks.cancellation_unregister("e2e-billing")


def _fits(page) -> None:
    assert page.evaluate(WIDER_THAN_VIEWPORT) == [], f"{page.url} scrolls sideways"


def test_cancel_a_user_and_a_number_then_the_suspended_banner(
    page, login, shot, billing_ends_month_end
):
    demo_create()
    acme = Account.objects.get(name="Acme Telecom GmbH")
    lena = PhoneUser.objects.get(account=acme, extension="11")
    number = PhoneNumber.objects.filter(account=acme, status="assigned").first()
    today = account_today(account=acme)
    month_end = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    ends = f"{month_end.day} {month_end:%b %Y}"
    login(page, "owner@acme.example", DEMO_PASSWORD)

    for device in ("desktop", "phone"):
        page.set_viewport_size(WIDTHS[device])
        page.goto("/billing/users-numbers/")
        if device == "desktop":
            row = page.locator(f"#user-{lena.pk}")
            row.get_by_role("link", name="Cancel").click()
            expect(page.locator("h1")).to_have_text("Cancel user")
            expect(page.locator("#cancel-item")).to_contain_text("Lena Fischer (extension 11)")
        else:
            row = page.locator(f"#number-{number.pk}")
            row.get_by_role("link", name="Cancel").click()
            expect(page.locator("h1")).to_have_text("Cancel number")
        expect(page.locator("#ends-on")).to_have_text(
            f"It ends on {ends}, the end of the period already billed. Until then it works as "
            "it does now; nothing more is billed for it."
        )
        _fits(page)
        shot(f"confirm-{device}")
        page.click("#confirm-cancel")
        expect(page.locator(".message.success")).to_contain_text(
            f"is cancelled: its service ends on {ends}."
        )
        expect(row).to_contain_text(f"Cancelled: ends on {ends}")
        expect(row.get_by_role("link", name="Cancel")).to_have_count(0)
        _fits(page)
        shot(f"cancelled-{device}")

    lena.refresh_from_db()
    number.refresh_from_db()
    assert (lena.status, lena.cancels_on) == ("active", month_end)
    assert (number.status, number.cancels_on) == ("assigned", month_end)

    account_suspend(account=acme, reason="Invoice unpaid", actor=Actor.system("e2e"))
    for device in ("desktop", "phone"):
        page.set_viewport_size(WIDTHS[device])
        page.goto("/billing/users-numbers/")
        banner = page.locator("#suspended-banner")
        expect(banner).to_contain_text(
            "Your service is suspended because an invoice is unpaid — pay it on the Invoices page"
        )
        expect(banner.get_by_role("link", name="Invoices page")).to_have_attribute(
            "href", "/billing/invoices/"
        )
        expect(page.locator(f"#user-{lena.pk} .badge")).to_have_text("Suspended")
        expect(page.locator(f"#number-{number.pk} .badge")).to_have_text("Suspended")
        expect(page.locator("#phone-users .badge-pending_payment")).to_have_text("Awaiting payment")
        _fits(page)
        shot(f"suspended-{device}")
    page.locator("#suspended-banner").get_by_role("link", name="Invoices page").click()
    expect(page.locator("h1")).to_have_text("Invoices")
