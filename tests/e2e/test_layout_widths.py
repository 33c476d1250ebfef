"""Every Billing panel page on a phone (390 px) and a desktop (1280 px): no page scrolls
sideways, and on a phone the side menu opens from its toggle.

The pages are found by following the panel's own links from the overview, as the demo
owner (demo data covers every feature) plus a card top-up, so a page added later with a link
in the panel is checked without editing this list. Screenshots of both widths are saved.
"""

from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from billtone.accounts.models import Account
from billtone.core.money import Money
from billtone.core.services import Actor
from billtone.demo.services import DEMO_PASSWORD, demo_create
from billtone.payments.selectors import card_list
from billtone.payments.services import card_charge

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDTHS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
NOT_PANEL = ("/admin", "/api/", "/static/", "/logout", "/login")
MAX_PAGES = 40

WIDER_THAN_VIEWPORT = """() => {
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= width) return [];
  return [...document.querySelectorAll("body *")]
    .filter(e => e.getBoundingClientRect().right > width + 1)
    .slice(0, 5)
    .map(e => e.tagName.toLowerCase() + (e.className ? "." + e.className : "")
              + " right=" + Math.round(e.getBoundingClientRect().right));
}"""


def _panel_links(page) -> list[str]:
    # A download (an invoice's PDF) is a file, not a page.
    hrefs = page.eval_on_selector_all("a[href]:not([download])", "links => links.map(a => a.href)")
    paths = []
    for href in hrefs:
        url = urlparse(href)
        if url.path.startswith("/") and not url.path.startswith(NOT_PANEL):
            paths.append(url.path + (f"?{url.query}" if url.query else ""))
    return paths


def _check_width(page, shot, name: str) -> None:
    overflowing = page.evaluate(WIDER_THAN_VIEWPORT)
    assert overflowing == [], f"{page.url} scrolls sideways; wider elements: {overflowing}"
    shot(name)


def _owner_with_a_payment() -> str:
    demo_create()
    acme = Account.objects.get(name="Acme Telecom GmbH")
    card_charge(
        account=acme,
        card=card_list(account=acme).first(),
        amount=Money("25.00", "EUR"),
        purpose="call_credit",
        on_session=True,
        idempotency_key="layout-top-up",
        actor=Actor.system("test"),
    )
    return "owner@acme.example"


def test_no_panel_page_scrolls_sideways_on_a_phone_or_a_desktop(page, login, shot):
    login(page, _owner_with_a_payment(), DEMO_PASSWORD)
    seen, queue = [], ["/"]
    while queue and len(seen) < MAX_PAGES:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.append(path)
        for device, viewport in WIDTHS.items():
            page.set_viewport_size(viewport)
            page.goto(path)
            _check_width(page, shot, f"{device}{path.replace('/', '-').rstrip('-')}")
        queue.extend(link for link in _panel_links(page) if link not in seen)
    # The crawl reached every kind of panel page the demo has.
    for expected in ("/billing/profile/", "/billing/balances/", "/billing/api-tokens/"):
        assert any(p.startswith(expected) for p in seen), (expected, seen)
    assert any("/bank-transfers/" in p for p in seen), seen
    assert any("/payments/" in p for p in seen), seen


def test_on_a_phone_the_side_menu_opens_from_its_toggle(page, login, shot):
    login(page, _owner_with_a_payment(), DEMO_PASSWORD)
    page.set_viewport_size(WIDTHS["phone"])
    page.goto("/")
    menu = page.get_by_role("navigation", name="Billing")
    expect(menu).to_be_hidden()
    shot("phone-menu-closed")
    page.get_by_text("Billing menu").click()
    expect(menu).to_be_visible()
    shot("phone-menu-open")
    menu.get_by_role("link", name="Balances").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Balances")
    _check_width(page, shot, "phone-balances-from-menu")


@pytest.mark.parametrize("device", WIDTHS)
def test_login_and_not_allowed_pages_fit_both_widths(page, login, shot, device):
    page.set_viewport_size(WIDTHS[device])
    page.goto("/login/")
    _check_width(page, shot, f"{device}-login")
    demo_create()
    login(page, "member@acme.example", DEMO_PASSWORD)
    page.goto("/")
    _check_width(page, shot, f"{device}-member-not-allowed")
