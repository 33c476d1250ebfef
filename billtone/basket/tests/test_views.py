"""The basket's pages: badge, lines, -/+, bin, empty state, checkout and its outcomes."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from billtone.banktransfers.models import OperatorBankAccount
from billtone.banktransfers.tests.funding import operator_banks  # noqa: F401
from billtone.basket import selectors, services
from billtone.basket.models import BasketLine, Checkout
from billtone.core import clock
from billtone.core.money import Money
from billtone.payments.tests.conftest import THREE_D_SECURE, add_card
from billtone.telephony.models import PhoneUser

from .conftest import ACTOR, fill, fund

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_the_badge_shows_the_basket_value_on_every_panel_page(customer, shop, web):
    assert 'id="basket-badge"' in web.get(reverse("web:overview")).content.decode()
    fill(customer, shop)
    gross = selectors.basket_quote_get(account=customer).gross

    page = web.get(reverse("web:overview")).content.decode()

    assert gross.format("en_DE") in re.search(r'id="basket-badge-value">([^<]+)<', page)[0]
    assert reverse("basket:credit_add") in page  # "Buy" beside the call-credit balance


def test_the_basket_page_shows_each_line_and_the_totals(customer, shop, web):
    fill(customer, shop)

    page = web.get(reverse("basket:basket")).content.decode()

    assert "National plan: Ada Lovelace (extension 201)" in page
    assert "Monthly · first charge" in page and "One-off" in page
    for part in ("basket-net", "basket-tax", "basket-gross", "basket-cancel", "checkout"):
        assert f'id="{part}"' in page


def test_plus_and_minus_change_the_quantity_and_below_one_is_refused(customer, shop, web):
    fill(customer, shop, packs=1)
    line = BasketLine.objects.get(kind="credit_pack")
    url = reverse("basket:line_quantity", args=[line.pk])

    more = web.post(url, {"step": "1"}, **HTMX)
    assert f'id="quantity-{line.pk}">2<' in more.content.decode()
    gross = selectors.basket_quote_get(account=customer).gross.format("en_DE")
    assert re.search(r'id="basket-badge" [^>]*hx-swap-oob="true"', more.content.decode())
    assert f'id="basket-badge-value">{gross}<' in more.content.decode()  # the badge follows
    web.post(url, {"step": "-1"}, **HTMX)
    refused = web.post(url, {"step": "-1"}, **HTMX)

    assert "at least 1" in refused.content.decode()
    assert BasketLine.objects.get(pk=line.pk).quantity == 1


def test_the_bin_removes_a_product_and_the_empty_state_follows(customer, shop, web):
    fill(customer, shop)

    for product in (shop.national, shop.nl_number, shop.pack10, shop.phone):
        page = web.post(reverse("basket:product_remove", args=[product.pk]), **HTMX)

    assert 'id="basket-empty"' in page.content.decode()
    assert not BasketLine.objects.exists()
    assert PhoneUser.objects.get(extension="201").status == "cancelled"


def test_another_accounts_line_is_404(customer, other_account, shop, web):
    services.basket_number_add(account=other_account, number_id=shop.numbers[1].pk, actor=ACTOR)
    theirs = BasketLine.objects.get(basket__account=other_account)

    changed = web.post(reverse("basket:line_quantity", args=[theirs.pk]), {"quantity": "2"})
    binned = web.post(reverse("basket:product_remove", args=[shop.nl_number.pk]))

    assert (changed.status_code, binned.status_code) == (404, 404)
    assert BasketLine.objects.filter(pk=theirs.pk).exists()


def test_adding_a_user_with_a_paid_plan_puts_it_in_the_basket(customer, shop, web):
    page = web.post(
        reverse("basket:user_add"),
        {
            "name": "Ada",
            "email": "ada@acme.example",
            "extension": "201",
            "plan_id": shop.national.pk,
        },
    )

    assert page.status_code == 302 and page.url == reverse("basket:basket")
    assert BasketLine.objects.get().phone_user.name == "Ada"


def test_adding_a_user_shows_errors_inline(customer, shop, web):
    page = web.post(
        reverse("basket:user_add"), {"name": "", "extension": "x", "plan_id": shop.national.pk}
    )

    assert page.status_code == 200
    assert 'id="error-name"' in page.content.decode()
    assert not BasketLine.objects.exists()


def test_a_number_is_picked_from_the_inventory(customer, shop, web):
    listing = web.get(reverse("basket:number_add"), {"country": "NL", "type": "geographic"})
    assert (
        '<span class="e164" data-e164="+31201234567">+31 20 123 4567<' in listing.content.decode()
    )

    web.post(reverse("basket:number_add"), {"number_id": shop.numbers[0].pk})

    assert BasketLine.objects.get().phone_number_id == shop.numbers[0].pk


def test_manual_topup_quick_add_puts_the_value_in_the_basket(customer, shop, web):
    page = web.get(reverse("basket:credit_add")).content.decode()
    assert 'id="quick-10.00"' in page and 'id="quick-20.00"' in page

    web.post(reverse("basket:credit_add"), {"product_id": shop.pack20.pk, "quantity": "1"})

    assert BasketLine.objects.get().product_id == shop.pack20.pk


def test_checkout_with_funds_shows_the_invoice(customer, shop, web):
    fill(customer, shop)
    fund(customer, "500.00")
    form = web.get(reverse("basket:checkout")).content.decode()
    hidden = dict(re.findall(r'name="(idempotency_key|shown_quote)" value="([^"]*)"', form))

    paid = web.post(reverse("basket:checkout"), {"method": "funds", **hidden}, follow=True)

    checkout = Checkout.objects.get()
    assert checkout.status == "completed"
    assert checkout.invoice.number in paid.content.decode()
    headline = f"Paid {checkout.gross_money.format('en_DE')} · invoice {checkout.invoice.number}"
    assert f'id="checkout-headline">{headline}</h1>' in paid.content.decode()
    assert "call credit is on your balance and store items are ordered." in paid.content.decode()
    assert reverse("invoicing:invoice-pdf", args=[checkout.invoice.pk]) in paid.content.decode()


@pytest.mark.usefixtures("operator_banks")
def test_a_shortfall_is_said_once_and_links_add_bank_transfer_for_it(customer, shop, web):
    fill(customer, shop)
    fund(customer, "10.00")

    page = web.post(reverse("basket:checkout"), {"method": "funds"}).content.decode()

    shortfall = selectors.basket_quote_get(account=customer).gross - Money("10.00", "EUR")
    assert page.count("short of the total") == 1 and 'id="checkout-error"' not in page
    assert f"Your business funds are {shortfall.format('en_DE')} short of the total." in page
    assert re.search(r'id="method-funds" disabled', page)  # no active Pay with funds
    assert re.search(r'id="method-new_card" checked', page)  # a card instead
    link = f"{reverse('banktransfers:bank-transfer-add')}?amount={shortfall.plain()}"
    assert f'href="{link}" id="add-bank-transfer"' in page
    assert not Checkout.objects.exists()


def test_a_shortfall_known_before_paying_preselects_the_saved_card(customer, shop, web):
    fill(customer, shop)
    card = add_card(customer)

    page = web.get(reverse("basket:checkout")).content.decode()

    assert 'id="shortfall"' in page and re.search(r'id="method-funds" disabled', page)
    assert re.search(r'id="method-saved_card" checked', page)
    assert f'<option value="{card.pk}"' in page


def test_without_an_operator_bank_in_the_currency_it_says_pay_by_card(customer, shop, web):
    OperatorBankAccount.objects.all().delete()
    fill(customer, shop)

    page = web.get(reverse("basket:checkout")).content.decode()

    assert "short of the total" in page and "Pay by card instead." in page
    assert 'id="add-bank-transfer"' not in page


def test_three_d_secure_through_the_pages(customer, shop, web):
    fill(customer, shop)
    card = add_card(customer, THREE_D_SECURE)

    waiting = web.post(
        reverse("basket:checkout"), {"method": "saved_card", "card_id": card.pk}, follow=True
    )
    assert 'id="authenticate"' in waiting.content.decode()
    checkout = Checkout.objects.get()

    done = web.post(reverse("basket:checkout_authenticate", args=[checkout.pk]), follow=True)

    assert 'id="invoice-number"' in done.content.decode()
    assert Checkout.objects.get().status == "completed"


def test_a_lapsed_hold_is_shown_on_its_line_and_checkout_is_not_offered(customer, shop, web):
    fill(customer, shop)

    with time_machine.travel(clock.now() + timedelta(hours=2)):
        basket = web.get(reverse("basket:basket")).content.decode()
        checkout = web.get(reverse("basket:checkout")).content.decode()

    assert "The hold on +31201234567 lapsed" in basket and 'id="checkout"' not in basket
    assert 'id="checkout-problems"' in checkout and 'id="pay"' not in checkout


def test_a_monthly_line_spells_out_its_first_charge_and_setup_fee(customer, shop, web):
    fill(customer, shop)
    view = selectors.basket_quote_get(account=customer)
    number = next(item for item in view.lines if item.line.kind == "number")
    first = number.total - number.setup
    maths = f"{first.format('en_DE')} first charge + {number.setup.format('en_DE')} setup"

    basket = web.get(reverse("basket:basket")).content.decode()
    checkout = web.get(reverse("basket:checkout")).content.decode()

    assert re.search(rf'id="maths-{number.pk}">{re.escape(maths)}<', basket)
    start, end = number.period_start, number.period_end
    period = f"{start.day} {start:%b} – {end.day} {end:%b %Y}"
    setup = number.setup.format("en_DE")
    assert f"{first.format('en_DE')} first charge for {period} + {setup} setup" in checkout
    assert f"First charge for {period}<" in checkout  # the plan: no setup fee


def test_numbers_are_shown_formatted_in_the_basket_and_checkout(customer, shop, web):
    fill(customer, shop)

    basket = web.get(reverse("basket:basket")).content.decode()
    checkout = web.get(reverse("basket:checkout")).content.decode()

    assert "Nl Geographic: +31 20 123 4567" in basket and "+31201234567" not in basket
    assert "Nl Geographic: +31 20 123 4567" in checkout


def test_the_bin_says_what_it_removed(customer, shop, web):
    fill(customer, shop)

    plan = web.post(reverse("basket:product_remove", args=[shop.national.pk]), **HTMX)
    number = web.post(reverse("basket:product_remove", args=[shop.nl_number.pk]), **HTMX)

    assert (
        'id="basket-notice">National plan: Ada Lovelace (extension 201) removed from the basket.<'
        in plan.content.decode()
    )
    assert "Nl Geographic: +31 20 123 4567 removed from the basket." in number.content.decode()


def test_the_paid_page_mentions_store_items_only_when_some_were_bought(customer, shop, web):
    fill(customer, shop)
    services.basket_product_remove(account=customer, product_id=shop.phone.pk, actor=ACTOR)
    fund(customer, "500.00")
    form = web.get(reverse("basket:checkout")).content.decode()
    hidden = dict(re.findall(r'name="(idempotency_key|shown_quote)" value="([^"]*)"', form))

    paid = web.post(reverse("basket:checkout"), {"method": "funds", **hidden}, follow=True)

    message = re.search(r'id="checkout-message">([^<]+)<', paid.content.decode())[1]
    assert message == (
        "Paid. Your users and numbers are active and call credit is on your balance."
    )
