from datetime import datetime, timedelta

import pytest

from billtone.banktransfers.models import AccountReference, BankTransfer
from billtone.banktransfers.references import reference_format, reference_is_valid
from billtone.banktransfers.selectors import PROCESSING_NOTE
from billtone.banktransfers.tests.funding import operator_banks  # noqa: F401
from billtone.notifications.models import EmailDelivery
from conftest import api_client_for, owner_of

pytestmark = pytest.mark.usefixtures("operator_banks")
URL = "/api/v1/bank-transfers"


def problem(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["type"].endswith(f"/{slug}")
    return body


def test_post_answers_201_with_the_instructions(api, account):
    response = api.post(URL, {"amount": "250"})

    assert response.status_code == 201, response.content
    body = response.json()
    assert reference_is_valid(body["reference"])
    assert body["reference_display"] == reference_format(body["reference"])
    assert (body["amount"], body["currency"], body["amount_display"]) == (
        "250.00",
        "EUR",
        "€250.00",
    )
    assert body["status"] == "awaiting_funds" and body["status_display"] == "Awaiting funds"
    assert body["bank"] == {
        "account_holder": "Billtone Telecom B.V.",
        "iban": "NL91ABNA0417164300",
        "bic": "ABNANL2A",
        "bank_name": "ABN AMRO Bank N.V.",
        "bank_address": "Gustav Mahlerlaan 10, 1082 PP Amsterdam, Netherlands",
    }
    assert body["note"] == PROCESSING_NOTE
    assert body["qr_code"].startswith("data:image/svg+xml")
    created = datetime.fromisoformat(body["created_at"])
    assert datetime.fromisoformat(body["expires_at"]) - created == timedelta(days=14)
    assert "API token" in body["created_by"]

    request = BankTransfer.objects.get(pk=body["id"])
    assert (request.account_id, request.reference) == (account.pk, body["reference"])
    assert EmailDelivery.objects.filter(key=f"bank-transfer-instructions:{request.pk}").exists()


def test_a_number_amount_is_accepted_too(api):
    response = api.post(URL, {"amount": 99.5})
    assert response.status_code == 201, response.content
    assert response.json()["amount"] == "99.50"


def test_gbp_gets_the_gbp_bank_and_no_epc_qr_code(other_api):
    body = other_api.post(URL, {"amount": "100"}).json()
    assert (body["currency"], body["amount_display"]) == ("GBP", "£100.00")
    assert body["bank"]["iban"] == "GB33BUKB20201555555555"
    assert body["qr_code"] is None


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"amount": "5"}, "amount", "Enter an amount from €10.00 to €50,000.00."),
        ({"amount": "50000.01"}, "amount", "Enter an amount from €10.00 to €50,000.00."),
        ({"amount": "12.345"}, "amount", "EUR amounts have at most 2 decimal places."),
        ({"amount": 12.345}, "amount", "EUR amounts have at most 2 decimal places."),
        ({"amount": "twelve"}, "amount", None),
        ({"amount": "NaN"}, "amount", None),
        ({}, "amount", None),
    ],
)
def test_bad_amounts_are_422_problems_and_create_nothing(api, payload, field, message):
    body = problem(api.post(URL, payload), 422, "validation-error")
    assert list(body["errors"]) == [field]
    if message:
        assert body["errors"][field] == [message]
    assert not BankTransfer.objects.exists() and not EmailDelivery.objects.exists()


def test_no_bank_account_in_the_currency_is_a_422_problem(make_account):
    usd = make_account("Initech Inc", currency="USD", timezone="America/New_York")
    client = api_client_for(owner_of(usd))
    body = problem(client.post(URL, {"amount": "100"}), 422, "bank-transfer-unavailable")
    assert "Bank transfer is not available in USD" in body["detail"]
    assert not BankTransfer.objects.exists()
    reference = client.get(f"{URL}/reference").json()
    assert reference["currency"] == "USD" and reference["bank"] is None


def test_an_idempotency_key_replays_the_first_answer(api):
    first = api.post(URL, {"amount": "250"}, HTTP_IDEMPOTENCY_KEY="checkout-1")
    again = api.post(URL, {"amount": "250"}, HTTP_IDEMPOTENCY_KEY="checkout-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert BankTransfer.objects.get().idempotency_key == "checkout-1"

    other = api.post(URL, {"amount": "500"}, HTTP_IDEMPOTENCY_KEY="checkout-1")
    problem(other, 422, "idempotency-key-reused")
    assert BankTransfer.objects.count() == 1


def test_list_is_paginated_newest_first_and_scoped(api, other_api):
    made = [api.post(URL, {"amount": str(amount)}).json()["id"] for amount in (50, 100, 250)]
    other_api.post(URL, {"amount": "75"})

    page = api.get(URL, {"page_size": 2}).json()
    assert (page["count"], page["has_next"]) == (3, True)
    assert [item["id"] for item in page["items"]] == [made[2], made[1]]
    assert page["items"][0]["amount"] == "250.00" and "qr_code" not in page["items"][0]
    rest = api.get(URL, {"page_size": 2, "page": 2}).json()
    assert [item["id"] for item in rest["items"]] == [made[0]]
    assert [item["amount"] for item in other_api.get(URL).json()["items"]] == ["75.00"]


def test_get_one_and_404_for_another_accounts(api, other_api):
    created = api.post(URL, {"amount": "250"}).json()

    mine = api.get(f"{URL}/{created['id']}")
    assert mine.status_code == 200 and mine.json() == created
    body = problem(other_api.get(f"{URL}/{created['id']}"), 404, "not-found")
    assert created["reference"] not in str(body)
    problem(api.get(f"{URL}/999999"), 404, "not-found")


def test_the_permanent_reference_is_stable_and_per_account(api, other_api, account):
    first = api.get(f"{URL}/reference").json()
    assert api.get(f"{URL}/reference").json() == first
    assert reference_is_valid(first["reference"])
    assert first["reference_display"] == reference_format(first["reference"])
    assert first["currency"] == "EUR" and first["bank"]["bic"] == "ABNANL2A"
    assert AccountReference.objects.get(account=account).reference == first["reference"]
    assert other_api.get(f"{URL}/reference").json()["reference"] != first["reference"]


def test_member_without_billing_rights_gets_403(member):
    client = api_client_for(member)
    problem(client.post(URL, {"amount": "250"}), 403, "forbidden")
    problem(client.get(URL), 403, "forbidden")
    assert not BankTransfer.objects.exists()


def test_no_token_is_401(client):
    problem(client.get(URL), 401, "unauthenticated")
    problem(
        client.post(URL, {"amount": "250"}, content_type="application/json"), 401, "unauthenticated"
    )
