"""The saved cards on the Payment methods page, Add card, Remove, Top up, Authenticate."""

import re
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.utils.html import escape

from billtone.core import clock
from billtone.core.money import Money
from billtone.ledger.services import customer_ledger_accounts
from billtone.payments import services
from billtone.payments.models import Payment, SavedCard

from .conftest import ACTOR, CARD_OUTCOMES, INSUFFICIENT, THREE_D_SECURE, add_card, cvc_for

METHODS = "/billing/payment-methods/"
ADD = "/billing/payment-methods/cards/add/"
TOP_UP = "/billing/payment-methods/top-up/"


def card_form(number="4242424242424242", **changes):
    year = clock.now().year + 3
    form = {
        "number": number,
        "expiry": f"11/{year % 100:02d}",
        "cvc": cvc_for(number),
        "holder_name": "Ada Lovelace",
    }
    form.update(changes)
    return form


def inputs(html: str) -> dict[str, str]:
    """name -> value of every <input> in the page (no value attribute: '')."""
    found = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name:
            found[name[1]] = value[1] if value else ""
    return found


def test_payment_methods_page_shows_the_empty_state(web, account):
    html = web.get(METHODS).content.decode()

    assert "Credit and debit cards" in html
    assert "No cards saved yet." in html
    assert 'id="business-account"' in html  # the other section of the same page
    assert 'id="top-up-by-card"' not in html


def test_add_a_card_then_it_is_listed_with_its_details(web, account):
    response = web.post(ADD, card_form())

    assert response.status_code == 302 and response["Location"] == METHODS
    html = web.get(METHODS).content.decode()
    card = SavedCard.objects.get()
    assert "Visa ending 4242 added." in html
    row = re.search(rf'<li class="saved-card" id="card-{card.pk}">.*?</li>', html, re.S)[0]
    assert "Visa •••• 4242" in row and "Ada Lovelace" in row
    assert f"Expires 11/{clock.now().year + 3}" in row
    assert "Default" in row
    assert "4242424242424242" not in html


def test_a_card_with_errors_is_shown_again_without_number_and_cvc(web, account):
    response = web.post(
        ADD, card_form("4242424242424241", expiry="13/20", cvc="99", holder_name="Ada Lovelace")
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "The card was not saved." in html
    assert "This card number is not valid." in html
    assert "Enter the expiry date as month and year." in html
    assert "Enter the 3 or 4 digit security code." in html
    values = inputs(html)
    assert values["number"] == "" and values["cvc"] == ""
    assert values["expiry"] == "13/20" and values["holder_name"] == "Ada Lovelace"
    assert "4242424242424241" not in html
    assert not SavedCard.objects.exists()


def test_an_expired_card_is_refused_inline(web, account):
    response = web.post(ADD, card_form(expiry="01/20"), HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.startswith('<form id="card-form"')  # HTMX: the form alone
    assert re.search(r'id="error-expiry">This card has expired\.<', html)
    assert inputs(html)["number"] == ""


@pytest.mark.parametrize("number", [number for number, *_ in CARD_OUTCOMES])
def test_each_test_card_can_be_added_on_the_page(web, account, number):
    response = web.post(ADD, card_form(number), HTTP_HX_REQUEST="true")

    assert response.status_code == 200 and response["HX-Redirect"] == METHODS
    assert SavedCard.objects.get().last4 == number[-4:]


def test_a_card_the_gateway_refuses_is_an_inline_error(web, account):
    html = web.post(ADD, card_form("4111111111111111")).content.decode()

    assert re.search(r'id="error-number">This is a test system: use a test card', html)
    assert inputs(html)["number"] == "" and "4111111111111111" not in html


def test_a_card_saved_already_is_an_inline_error(web, account):
    assert web.post(ADD, card_form()).status_code == 302

    html = web.post(ADD, card_form()).content.decode()

    assert re.search(r'id="error-number">This card is already saved: Visa •••• 4242 \(11/', html)
    assert inputs(html)["number"] == "" and "4242424242424242" not in html
    assert SavedCard.objects.filter(account=account).count() == 1


def test_set_default_with_htmx_returns_the_section(web, account):
    first = add_card(account)
    second = add_card(account, "5555555555554444")

    response = web.post(
        f"/billing/payment-methods/cards/{second.pk}/default/", HTTP_HX_REQUEST="true"
    )

    html = response.content.decode()
    assert html.startswith('<section class="card" id="saved-cards"')
    assert "Mastercard ending 4444 is now your default card." in html
    second.refresh_from_db()
    first.refresh_from_db()
    assert second.is_default and not first.is_default
    assert html.index(f'id="card-{second.pk}"') < html.index(f'id="card-{first.pk}"')


def test_remove_asks_first_then_removes(web, account):
    card = add_card(account)
    url = f"/billing/payment-methods/cards/{card.pk}/remove/"

    confirm = web.get(url).content.decode()
    assert "Remove <strong>Visa •••• 4242</strong>" in confirm and 'id="confirm-remove"' in confirm
    card.refresh_from_db()
    assert card.removed_at is None

    response = web.post(url)
    assert response.status_code == 302 and response["Location"] == METHODS
    assert "Visa ending 4242 removed." in web.get(METHODS).content.decode()
    card.refresh_from_db()
    assert card.removed_at is not None


def test_removing_the_card_automatic_payments_use_explains_why_not(web, account):
    card = add_card(account)
    services.auto_payments_set(account=account, enabled=True, actor=ACTOR)
    url = f"/billing/payment-methods/cards/{card.pk}/remove/"

    confirm = web.get(url).content.decode()
    assert "Automatic payments use this card" in confirm and 'id="confirm-remove"' not in confirm
    response = web.post(url, follow=True)

    assert "Automatic payments use this card" in response.content.decode()
    card.refresh_from_db()
    assert card.removed_at is None


def test_automatic_payments_toggle(web, account):
    add_card(account)
    html = web.post(
        "/billing/payment-methods/automatic-payments/", {"enabled": "on"}, HTTP_HX_REQUEST="true"
    ).content.decode()

    assert "Automatic payments now use your default card." in html
    assert "charged to your default card" in html and "badge auto" in html


def test_expires_soon_and_expired_badges(web, account):
    with time_machine.travel("2026-03-10 12:00Z", tick=False):
        soon = add_card(account, exp_month=4, exp_year=2026)
        later = add_card(account, "5555555555554444", exp_month=4, exp_year=2027)
        gone = add_card(account, "378282246310005", exp_month=3, exp_year=2026)
    with time_machine.travel("2026-04-02 12:00Z", tick=False):
        html = web.get(METHODS).content.decode()

    rows = {
        card.pk: re.search(rf'id="card-{card.pk}">.*?</li>', html, re.S)[0]
        for card in (soon, later, gone)
    }
    assert "Expires soon" in rows[soon.pk] and "Expired" not in rows[soon.pk]
    assert "Expires soon" not in rows[later.pk] and "Expired" not in rows[later.pk]
    assert "Expired" in rows[gone.pk] and "Make default" not in rows[gone.pk]


@pytest.mark.parametrize(("number", "on_session", "off_session", "code"), CARD_OUTCOMES)
def test_each_test_card_tops_up_on_the_page(web, account, number, on_session, off_session, code):
    card = add_card(account, number)
    form = web.get(TOP_UP).content.decode()
    key = inputs(form)["idempotency_key"]

    response = web.post(
        TOP_UP,
        {"amount": "50", "card_id": card.pk, "purpose": "call_credit", "idempotency_key": key},
    )

    payment = Payment.objects.get()
    balance = customer_ledger_accounts(account=account).call_credit
    if on_session == "failed":
        html = response.content.decode()
        assert response.status_code == 200
        assert escape(payment.failure_message) in html and 'id="top-up-error"' in html
        assert inputs(html)["idempotency_key"] != key  # the next try is a new payment
        assert balance.balance == 0
        return
    assert response["Location"] == f"/billing/payment-methods/payments/{payment.pk}/"
    page = web.get(response["Location"]).content.decode()
    if on_session == "succeeded":
        assert "€50.00 added to your call credit." in page
        assert balance.balance == Decimal("50.00")
    else:
        assert 'id="authenticate-step"' in page and balance.balance == 0
        authenticated = web.post(
            f"/billing/payment-methods/payments/{payment.pk}/authenticate/", follow=True
        )
        assert "€50.00 added to your call credit." in authenticated.content.decode()
        balance.refresh_from_db()
        assert balance.balance == Decimal("50.00")


def test_a_double_submitted_top_up_is_one_payment(web, account, card):
    form = {"amount": "20.00", "card_id": card.pk, "purpose": "business_funds"}
    form["idempotency_key"] = inputs(web.get(TOP_UP).content.decode())["idempotency_key"]

    first = web.post(TOP_UP, form)
    second = web.post(TOP_UP, form)

    assert first["Location"] == second["Location"]
    assert Payment.objects.count() == 1
    assert customer_ledger_accounts(account=account).business_funds.balance == Decimal("20.00")


def test_top_up_errors_are_inline(web, account, card, other_account):
    theirs = add_card(other_account)
    html = web.post(
        TOP_UP, {"amount": "lots", "card_id": theirs.pk, "purpose": "business_funds"}
    ).content.decode()
    assert "Enter the amount as a number, such as 1,234.50 or 50." in html

    html = web.post(
        TOP_UP, {"amount": "10.00", "card_id": theirs.pk, "purpose": "business_funds"}
    ).content.decode()
    assert "Choose one of your cards." in html
    html = web.post(
        TOP_UP, {"amount": "0.001", "card_id": card.pk, "purpose": "business_funds"}
    ).content.decode()
    assert "EUR amounts have at most 2 decimal places." in html
    assert not Payment.objects.exists()


def test_another_accounts_cards_and_payments_are_404(web, other_account):
    theirs = add_card(other_account)
    payment = services.card_charge(
        account=other_account,
        card=theirs,
        amount=Money("5", "GBP"),
        purpose="business_funds",
        on_session=True,
        idempotency_key="theirs",
        actor=ACTOR,
    )
    assert web.get(f"/billing/payment-methods/cards/{theirs.pk}/remove/").status_code == 404
    assert web.post(f"/billing/payment-methods/cards/{theirs.pk}/remove/").status_code == 404
    assert web.get(f"/billing/payment-methods/payments/{payment.pk}/").status_code == 404
    response = web.post(f"/billing/payment-methods/payments/{payment.pk}/authenticate/")
    assert response.status_code == 404
    response = web.post(f"/billing/payment-methods/cards/{theirs.pk}/default/", follow=True)
    assert "No such card in this account." in response.content.decode()
    theirs.refresh_from_db()
    assert theirs.removed_at is None


def test_member_without_billing_rights_is_refused(member):
    client = Client()
    client.force_login(member.user)
    for url in (METHODS, ADD, TOP_UP):
        assert client.get(url).status_code == 403
    assert client.post(ADD, card_form()).status_code == 403
    assert not SavedCard.objects.exists()


def test_overview_shows_the_default_card(web, account):
    assert "none saved" in web.get("/").content.decode()
    add_card(account)
    add_card(account, INSUFFICIENT)
    add_card(account, THREE_D_SECURE)

    html = web.get("/").content.decode()

    assert re.search(r'id="cards-summary">Visa •••• 4242 \(default\), 2 more<', html)


def test_back_office_lists_cards_and_payments_read_only(account, card, admin_client):
    services.card_charge(
        account=account,
        card=card,
        amount=Money("5.00", "EUR"),
        purpose="business_funds",
        on_session=True,
        idempotency_key="admin-view",
        actor=ACTOR,
    )
    for model in ("savedcard", "payment", "autopaymentsetting"):
        response = admin_client.get(f"/admin/payments/{model}/")
        assert response.status_code == 200
    html = admin_client.get("/admin/payments/payment/").content.decode()
    assert "succeeded" in html and "sandbox_ch_" in html
    assert admin_client.get("/admin/payments/payment/add/").status_code == 403


@pytest.mark.parametrize("typed", ["123,45", "123.45"])
def test_a_german_account_tops_up_an_amount_typed_either_way(web, german, card, typed):
    web.post(TOP_UP, {"amount": typed, "card_id": card.pk, "purpose": "business_funds"})

    assert Payment.objects.get().amount == Decimal("123.45")
    assert customer_ledger_accounts(account=german).business_funds.balance == Decimal("123.45")


@pytest.mark.parametrize("typed", ["12,345", "1.234,567"])
def test_a_german_top_up_with_too_many_decimals_gets_one_message(web, german, card, typed):
    html = web.post(
        TOP_UP, {"amount": typed, "card_id": card.pk, "purpose": "business_funds"}
    ).content.decode()

    assert html.count("EUR amounts have at most 2 decimal places.") == 1
    assert not Payment.objects.exists()
