import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.test import Client

from billtone.banktransfers.models import BankTransfer
from billtone.banktransfers.references import reference_format
from billtone.banktransfers.selectors import PROCESSING_NOTE
from billtone.banktransfers.services import bank_transfer_create
from billtone.banktransfers.tests.funding import operator_banks  # noqa: F401
from billtone.core.money import NOT_AN_AMOUNT
from billtone.core.services import Actor
from conftest import owner_of

pytestmark = pytest.mark.usefixtures("operator_banks")
METHODS = "/billing/payment-methods/"
ADD = "/billing/payment-methods/bank-transfer/"


def detail_url(request: BankTransfer) -> str:
    return f"/billing/payment-methods/bank-transfers/{request.pk}/"


def make_request(account, amount: str = "250") -> BankTransfer:
    return bank_transfer_create(account=account, amount=amount, actor=Actor.system("test"))


def web_for(account) -> Client:
    client = Client()
    client.force_login(owner_of(account).user)
    return client


def test_payment_methods_shows_the_business_account_with_an_empty_list(web, account):
    html = web.get(METHODS).content.decode()

    assert "Business account" in html and 'id="business-funds-balance">€0.00<' in html
    reference = account.bank_reference.reference
    assert reference_format(reference) in html
    assert f'href="{ADD}"' in html and "Add Bank Transfer" in html
    assert "No bank transfers yet." in html
    assert f'href="{METHODS}" aria-current="page">Payment methods<' in html


def test_the_list_shows_amount_reference_local_date_and_status(web, account, other_account):
    with time_machine.travel(datetime(2026, 1, 15, 23, 30, tzinfo=UTC), tick=False):
        request = make_request(account, "1250")
    theirs = make_request(other_account, "75")
    received = make_request(account, "100")
    from billtone.banktransfers.services import bank_transfer_receive

    bank_transfer_receive(
        bank_transfer_id=received.pk, amount=Decimal("90"), received_at=received.created_at
    )

    html = web.get(METHODS).content.decode()
    row = html[html.index(f'id="transfer-{request.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "€1,250.00" in row and reference_format(request.reference) in row
    assert "2026-01-16 00:30" in row  # Europe/Berlin, the account's time zone
    assert "Awaiting funds" in row and detail_url(request) in row
    assert "Received a different amount: €90.00" in html
    assert reference_format(theirs.reference) not in html and "No bank transfers yet." not in html


def test_the_list_pages_with_htmx(web, account):
    made = [make_request(account, str(10 + n)) for n in range(21)]
    html = web.get(METHODS, {"page": 2}, HTTP_HX_REQUEST="true").content.decode()
    assert html.startswith('<div id="pending-transfers">')
    assert f'id="transfer-{made[0].pk}"' in html and f'id="transfer-{made[1].pk}"' not in html
    assert "Page 2 of 2" in html


def test_the_add_page_offers_the_presets_and_another_amount(web):
    html = web.get(ADD).content.decode()
    for value, label in [("50.00", "€50.00"), ("250.00", "€250.00"), ("1000.00", "€1,000.00")]:
        assert f'value="{value}"' in html and label in html
    assert 'value="other"' in html and 'name="custom_amount"' in html
    assert "From €10.00 to €50,000.00." in html


def test_choosing_a_preset_and_next_shows_the_instructions(web, account):
    response = web.post(ADD, {"amount_choice": "250.00", "idempotency_key": "k1"})

    request = BankTransfer.objects.get(account=account)
    assert response.status_code == 302 and response["Location"] == detail_url(request)
    assert request.amount == Decimal("250.00") and request.created_by == owner_of(account).user

    html = web.get(detail_url(request)).content.decode()
    assert "Bank Transfer Instructions" in html
    assert reference_format(request.reference) in html and "€250.00" in html
    for text in (
        "Billtone Telecom B.V.",
        "NL91 ABNA 0417 1643 00",
        "ABNANL2A",
        "ABN AMRO Bank N.V.",
    ):
        assert text in html
    assert PROCESSING_NOTE in html
    assert 'src="data:image/svg+xml' in html and 'id="print-instructions"' in html
    assert f'href="{METHODS}#pending-transfers"' in html


def test_another_amount_with_htmx_redirects_the_client(web, account):
    response = web.post(
        ADD, {"amount_choice": "other", "custom_amount": "1234.50"}, HTTP_HX_REQUEST="true"
    )
    request = BankTransfer.objects.get(account=account)
    assert response["HX-Redirect"] == detail_url(request)
    assert request.amount == Decimal("1234.50")


def test_a_gbp_account_gets_no_qr_code(other_account):
    client = web_for(other_account)
    client.post(ADD, {"amount_choice": "other", "custom_amount": "80"})
    request = BankTransfer.objects.get(account=other_account)
    html = client.get(detail_url(request)).content.decode()
    assert "£80.00" in html and "GB33 BUKB 2020 1555 5555 55" in html
    assert "data:image/svg+xml" not in html


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"amount_choice": "other", "custom_amount": "abc"},
            "custom_amount",
            "Enter the amount as a number, such as 1,234.50 or 50.",
        ),
        ({"amount_choice": "other", "custom_amount": ""}, "custom_amount", NOT_AN_AMOUNT),
        (
            {"amount_choice": "other", "custom_amount": "12.345"},
            "custom_amount",
            "EUR amounts have at most 2 decimal places.",
        ),
        (
            {"custom_amount": "5"},
            "custom_amount",
            "Enter an amount from €10.00 to €50,000.00.",
        ),
        (
            {"amount_choice": "other", "custom_amount": "60000"},
            "custom_amount",
            "Enter an amount from €10.00 to €50,000.00.",
        ),
        ({}, "amount_choice", "Choose an amount, or enter another amount."),
        ({"amount_choice": "9999999"}, "amount_choice", "Enter an amount from"),
    ],
)
def test_bad_amounts_show_inline_errors_and_create_nothing(web, data, field, message):
    response = web.post(ADD, data, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and html.startswith('<form id="bank-transfer-form"')
    error = html[html.index(f'id="error-{field}">') :]
    assert error[len(f'id="error-{field}">') :].startswith(message)
    assert not BankTransfer.objects.exists()
    if data.get("custom_amount"):
        assert f'value="{data["custom_amount"]}"' in html  # kept, to be corrected


def test_a_double_submit_makes_one_request(web, account):
    first = web.post(ADD, {"amount_choice": "100.00", "idempotency_key": "form-1"})
    again = web.post(ADD, {"amount_choice": "100.00", "idempotency_key": "form-1"})
    assert first["Location"] == again["Location"]
    assert BankTransfer.objects.filter(account=account).count() == 1


def test_another_accounts_instructions_are_404(web, other_account):
    theirs = make_request(other_account)
    response = web.get(detail_url(theirs))
    assert response.status_code == 404
    assert theirs.reference not in response.content.decode()


def test_an_account_in_a_currency_without_a_bank_account_is_told_so(make_account):
    usd = make_account("Initech Inc", currency="USD", timezone="America/New_York")
    client = web_for(usd)
    message = "Bank transfer is not available in USD"
    html = client.get(METHODS).content.decode()
    assert message in html and "Add Bank Transfer</a>" not in html
    html = client.post(ADD, {"amount_choice": "100.00"}).content.decode()
    assert message in html and not BankTransfer.objects.exists()
    assert message in client.get("/").content.decode()


def test_the_overview_has_a_payment_methods_card(web, account):
    make_request(account)
    html = web.get("/").content.decode()
    card = html[html.index('id="payment-methods-card"') :]
    assert "1 awaiting funds" in card and f'href="{ADD}"' in card


def test_member_without_billing_rights_gets_403(member, account):
    request = make_request(account)
    client = Client()
    client.force_login(member.user)
    for path in (METHODS, ADD, detail_url(request)):
        assert client.get(path).status_code == 403
    assert client.post(ADD, {"amount_choice": "100.00"}).status_code == 403
    assert BankTransfer.objects.count() == 1


def test_anonymous_is_sent_to_login(client):
    response = client.get(METHODS)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize("typed", ["123,45", "123.45"])
def test_a_german_account_types_another_amount_either_way(web, german, typed):
    response = web.post(ADD, {"amount_choice": "other", "custom_amount": typed})

    request = BankTransfer.objects.get(account=german)
    assert request.amount == Decimal("123.45")
    assert "123,45" in web.get(response["Location"]).content.decode()


@pytest.mark.parametrize("typed", ["12,345", "1.234,567"])
def test_a_german_account_gets_one_message_for_too_many_decimals(web, german, typed):
    html = web.post(
        ADD, {"amount_choice": "other", "custom_amount": typed}, HTTP_HX_REQUEST="true"
    ).content.decode()

    assert html.count('class="field-error"') == 1
    assert 'id="error-custom_amount">EUR amounts have at most 2 decimal places.' in html
    assert not BankTransfer.objects.exists()


def test_an_amount_in_the_link_is_filled_in_as_another_amount(web):
    html = web.get(ADD, {"amount": "44.78"}).content.decode()

    assert re.search(r'value="other"[^>]*checked', html)
    assert 'name="custom_amount" id="id_custom_amount"\n             value="44.78"' in html


def test_an_amount_in_the_link_that_is_a_preset_chooses_it(web):
    html = web.get(ADD, {"amount": "250"}).content.decode()

    assert re.search(r'value="250.00"[^>]*checked', html)
    assert not re.search(r'value="other"[^>]*checked', html)


def test_a_german_account_gets_the_linked_amount_as_it_types_it(web, german):
    html = web.get(ADD, {"amount": "44.78"}).content.decode()

    assert 'value="44,78"' in html


@pytest.mark.parametrize("amount", ["5", "60000", "44.789", "1e3", "abc", "-20"])
def test_an_amount_the_form_would_refuse_is_not_filled_in(web, amount):
    html = web.get(ADD, {"amount": amount}).content.decode()

    assert "checked" not in html and 'class="field-error"' not in html
    assert 'id="id_custom_amount"\n             value=""' in html
