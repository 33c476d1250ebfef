"""Issue 17's basket and checkout in a real browser, as a customer billed in Germany (19 %
VAT) buys from the demo catalog: a user on the National plan and a number go into the basket,
the header's badge shows its value, call credit is changed with - and +, a desk phone is
removed with the bin, Cancel leaves the basket as it was, and a new sandbox card pays. Users
and numbers become active, the call credit lands, one invoice carries the totals the basket
showed and its PDF downloads (first page as PNG). Then a checkout with business funds that do
not cover the total shows the shortfall once, offers a card instead of those funds, and links
Add Bank Transfer with the missing amount filled in. Basket and checkout
are also taken at 390 px. Screenshots, the PDF and its PNG in test-artifacts/."""

import re

import pypdfium2
import pytest
from playwright.sync_api import expect

from billtone.accounts.models import Account, BillingProfile
from billtone.banktransfers.tests.funding import operator_banks_save
from billtone.catalog.periods import first_charge, first_periods
from billtone.catalog.selectors import operator_profile_get
from billtone.catalog.tax import tax_amount
from billtone.core import clock
from billtone.core.money import Money
from billtone.core.services import Actor
from billtone.demo.catalog import demo_catalog
from billtone.demo.telephony import demo_numbers
from billtone.invoicing.models import Invoice
from billtone.ledger.selectors import account_locale
from billtone.ledger.services import customer_ledger_accounts
from billtone.telephony.models import PhoneNumber, PhoneUser
from tests.e2e.conftest import PHONE, VIEWPORT
from tests.e2e.test_layout_widths import WIDER_THAN_VIEWPORT

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

VAT = 19  # the customer is billed in Germany, the operator is Dutch: German VAT
EUR = "EUR"


def _expected(account, *, credit: int) -> dict[str, Money]:
    """What the basket must show, worked out from the demo catalog's prices and the policy:
    National (12.00 a month) and a Dutch geographic number (2.50 a month + 5.00 setup) for
    their first periods, `credit` euros of call credit; VAT on the sum, rounded once."""
    periods = first_periods(
        bought_at=clock.now(),
        timezone=account.billing_profile.timezone,
        cut_off_day=operator_profile_get().cut_off_day,
    )
    plan = first_charge(monthly=Money("12.00", EUR), periods=periods)
    number = first_charge(monthly=Money("2.50", EUR), periods=periods) + Money("5.00", EUR)
    net = plan + number + Money(credit, EUR)
    tax = tax_amount(net, VAT)
    return {"plan": plan, "number": number, "net": net, "tax": tax, "gross": net + tax}


def _fits(page) -> None:
    assert page.evaluate(WIDER_THAN_VIEWPORT) == [], f"{page.url} scrolls sideways at 390 px"


def test_basket_to_paid_invoice_then_a_shortfall(page, login, shot, german, artifacts):
    BillingProfile.objects.filter(account=german).update(
        address_line1="Friedrichstraße 100", city="Berlin", postal_code="10117"
    )
    account = Account.objects.get(pk=german.pk)  # its billing profile as set above
    demo_catalog(Actor.system("test"))
    demo_numbers(Actor.system("test"))
    operator_banks_save()  # so that Add Bank Transfer leads somewhere in EUR
    locale = account_locale(account=account)

    def shown(amount: Money) -> str:
        return amount.format(locale)

    login(page, account.memberships.get(role="owner").user.email)
    badge = page.locator("#basket-badge")
    expect(badge).to_contain_text("empty")

    # A user on the National plan, from the Users & Numbers page.
    page.get_by_role("navigation", name="Billing").get_by_role(
        "link", name="Users & Numbers"
    ).click()
    page.locator("#add-user").click()
    page.get_by_label("Name").fill("Grace Hopper")
    page.get_by_label("Email").fill("grace@acme.example")
    page.get_by_label("Extension").fill("201")
    page.get_by_role("radio", name=re.compile(r"^National ")).check()
    shot("user-add")
    page.locator("#user-add").click()
    expect(page).to_have_url("/billing/basket/")
    user = PhoneUser.objects.get(account=account, extension="201")
    assert user.status == "pending_payment"

    # A Dutch geographic number, picked from the inventory: held for this account.
    page.get_by_role("link", name="Add number").click()
    page.get_by_label("Country").select_option("NL")
    page.get_by_label("Type").select_option("geographic")
    rows = page.locator("#numbers .number-row")
    expect(rows.first).to_contain_text("+31 20 555 010")  # formatted as on Users & Numbers
    expect(page.locator("#numbers")).not_to_contain_text("+49")
    expect(page.locator("#numbers")).not_to_contain_text("mobile number")  # the type applied
    shot("number-add")
    number = PhoneNumber.objects.get(e164=rows.first.locator(".e164").get_attribute("data-e164"))
    rows.first.get_by_role("button", name="Add to basket").click()
    expect(page).to_have_url("/billing/basket/")
    number.refresh_from_db()
    assert (number.status, number.account_id) == ("held", account.pk)

    two_items = _expected(account, credit=0)
    expect(page.locator("#basket-gross")).to_have_text(shown(two_items["gross"]))
    expect(badge).to_contain_text(shown(two_items["gross"]))  # the badge shows the value
    expect(page.locator("#basket-net")).to_have_text(shown(two_items["net"]))
    expect(page.locator("#basket-tax")).to_have_text(shown(two_items["tax"]))
    expect(page.locator(f"#line-{user.basket_line.pk}")).to_contain_text("Grace Hopper")
    number_line = page.locator(f"#line-{number.basket_lines.get().pk}")
    expect(number_line).to_contain_text("+31 20 555 010")  # formatted as on Users & Numbers
    number_first = two_items["number"] - Money("5.00", EUR)  # the line's sum, spelled out
    expect(number_line.locator(".line-maths")).to_have_text(
        f"{shown(number_first)} first charge + {shown(Money('5.00', EUR))} setup"
    )
    shot("basket-user-and-number")

    # Call credit (Manual Topup's quick add) to use - and +; a desk phone to use the bin.
    page.get_by_role("link", name="Add call credit").click()
    page.locator("#quick-add").get_by_role("button", name=shown(Money("10.00", EUR))).click()
    page.get_by_role("link", name="Store").click()
    page.locator(".offer", has_text="Yealink T54W").get_by_role(
        "button", name="Add to basket"
    ).click()
    expect(page).to_have_url("/billing/basket/")
    credit_line = page.locator(".basket-line", has_text="Call credit 10")
    credit_quantity = credit_line.locator(".qty-value")
    credit_line.get_by_role("button", name="One more").click()
    expect(credit_quantity).to_have_text("2")
    credit_line.get_by_role("button", name="One more").click()
    expect(credit_quantity).to_have_text("3")
    credit_line.get_by_role("button", name="One less").click()
    expect(credit_quantity).to_have_text("2")
    shot("basket-four-products")
    page.get_by_role("button", name="Remove Yealink T54W desk phone from the basket").click()
    expect(page.locator(".basket-line", has_text="Yealink")).to_have_count(0)
    expect(page.locator("#basket-notice")).to_have_text(
        "Yealink T54W desk phone removed from the basket."
    )
    expect(page.locator("#messages")).to_be_empty()  # no stale "… added to the basket"

    expected = _expected(account, credit=20)
    totals = {key: page.locator(f"#basket-{key}") for key in ("net", "tax", "gross")}
    for key, locator in totals.items():
        expect(locator).to_have_text(shown(expected[key]))
    expect(badge).to_contain_text(shown(expected["gross"]))  # followed the -/+ and the bin
    expect(page.locator(".basket-line")).to_have_count(3)
    shot("basket-after-changes")
    page.set_viewport_size(PHONE)
    _fits(page)
    shot("phone-basket")
    page.set_viewport_size(VIEWPORT)

    # Cancel closes the basket unchanged.
    page.locator("#basket-cancel").click()
    expect(page).not_to_have_url("/billing/basket/")
    expect(badge).to_contain_text(shown(expected["gross"]))
    badge.click()
    expect(page.locator(".basket-line")).to_have_count(3)
    expect(credit_quantity).to_have_text("2")

    # Pay with a new sandbox card.
    page.locator("#checkout").click()
    expect(page.locator("#checkout-gross")).to_have_text(shown(expected["gross"]))
    page.set_viewport_size(PHONE)
    _fits(page)
    shot("phone-checkout")
    page.set_viewport_size(VIEWPORT)
    page.locator("#method-new_card").check()
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry (MM/YY)").fill(f"11/{(clock.now().year + 3) % 100:02d}")
    page.get_by_label("Security code (CVC)").fill("123")
    page.get_by_label("Name on card").fill("Ada Lovelace")
    shot("checkout-new-card")
    page.locator("#pay").click()
    expect(page.locator("#checkout-status")).to_have_text("Completed")
    expect(page.locator("#checkout-total")).to_have_text(shown(expected["gross"]))
    invoice = Invoice.objects.get(account=account)
    expect(page.locator("#invoice-number")).to_have_text(invoice.number)
    expect(page.locator("#checkout-headline")).to_have_text(
        f"Paid {shown(expected['gross'])} · invoice {invoice.number}"
    )
    expect(page.locator("#checkout-message")).not_to_contain_text("store items")  # none bought
    expect(badge).to_contain_text("empty")
    shot("checkout-paid")

    user.refresh_from_db()
    number.refresh_from_db()
    assert user.status == "active"
    assert (number.status, number.account_id) == ("assigned", account.pk)
    assert (invoice.net, invoice.tax, invoice.gross) == tuple(
        expected[key].amount for key in ("net", "tax", "gross")
    )
    ledger = customer_ledger_accounts(account=account)
    assert ledger.call_credit.balance == 20
    assert ledger.business_funds.balance == 0  # the card's money went on the basket

    page.get_by_role("navigation", name="Billing").get_by_role(
        "link", name="Users & Numbers"
    ).click()
    expect(page.locator(f"#user-{user.pk}")).to_contain_text("Active")
    expect(page.locator(f"#number-{number.pk}")).to_contain_text("Active")
    shot("users-and-numbers-active")

    page.goto("/billing/invoices/")
    rows = page.locator("#invoices tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(invoice.number)
    expect(rows.first).to_contain_text(shown(expected["gross"]))
    shot("invoices")
    with page.expect_download() as download:
        page.get_by_label(f"Download {invoice.number} (PDF)").click()
    pdf = artifacts / download.value.suggested_filename
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    pypdfium2.PdfDocument(pdf)[0].render(scale=1.5).to_pil().save(artifacts / "invoice-page-1.png")

    # Business funds (now zero) do not cover a desk phone: the shortfall and where to add more.
    page.get_by_role("link", name="Basket").first.click()
    page.get_by_role("link", name="Store").click()
    page.locator(".offer", has_text="Yealink T54W").get_by_role(
        "button", name="Add to basket"
    ).click()
    page.locator("#checkout").click()
    phone_gross = Money("199.00", EUR) + tax_amount(Money("199.00", EUR), VAT)
    expect(page.locator("#shortfall")).to_contain_text(
        f"Your business funds are {shown(phone_gross)} short of the total."
    )
    expect(page.get_by_text("short of the total")).to_have_count(1)  # said once
    expect(page.locator("#method-funds")).to_be_disabled()  # no Pay with funds that are short
    expect(page.locator("#method-new_card")).to_be_checked()  # a card is offered instead
    link = page.locator("#shortfall").get_by_role("link", name="Add Bank Transfer")
    expect(link).to_be_visible()
    shot("checkout-shortfall")
    page.set_viewport_size(PHONE)
    _fits(page)
    shot("phone-checkout-shortfall")
    link.click()
    expect(page.get_by_role("heading", name="Add Bank Transfer")).to_be_visible()
    expect(page.locator("#id_custom_amount")).to_be_editable()
    expect(page.locator("#id_custom_amount")).to_have_value(shown(phone_gross).split("\xa0")[0])
    shot("add-bank-transfer")
    assert Invoice.objects.filter(account=account).count() == 1  # the refusal issued none
