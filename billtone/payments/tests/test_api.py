"""/api/v1/payment-methods and /api/v1/payments."""

from decimal import Decimal

import pytest

from billtone.core import clock
from billtone.ledger.models import Transaction
from billtone.ledger.services import customer_ledger_accounts
from billtone.payments.gateways.sandbox import SandboxGateway
from billtone.payments.models import Payment, SavedCard

from .conftest import ACTOR, CARD_OUTCOMES, INSUFFICIENT, THREE_D_SECURE, add_card, cvc_for


def card_body(number="4242424242424242", **changes):
    body = {
        "number": number,
        "exp_month": 11,
        "exp_year": clock.now().year + 3,
        "cvc": cvc_for(number),
        "holder_name": "Ada Lovelace",
    }
    body.update(changes)
    return body


def add(api, number="4242424242424242", **changes):
    response = api.post("/api/v1/payment-methods", card_body(number, **changes))
    assert response.status_code == 201, response.content
    return response.json()


def pay(api, card_id, amount="25.00", purpose="business_funds", **headers):
    return api.post(
        "/api/v1/payments",
        {"card_id": card_id, "amount": amount, "purpose": purpose},
        **headers,
    )


def assert_problem(response, status, slug):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == f"https://billtone.dev/problems/{slug}"
    assert problem["status"] == status
    return problem


def test_add_list_default_and_remove_cards(api, account):
    first = add(api)
    second = add(api, "5555 5555 5555 4444")

    assert first["is_default"] and not second["is_default"]
    assert second["brand"] == "mastercard" and second["last4"] == "4444"
    assert second["brand_display"] == "Mastercard"
    assert {"number", "cvc", "gateway_token"}.isdisjoint(second)
    listed = api.get("/api/v1/payment-methods").json()
    assert [c["id"] for c in listed["items"]] == [first["id"], second["id"]]
    assert listed["count"] == 2

    response = api.post(f"/api/v1/payment-methods/{second['id']}/default")
    assert response.status_code == 200 and response.json()["is_default"]
    assert not api.get(f"/api/v1/payment-methods/{first['id']}").json()["is_default"]

    response = api.delete(f"/api/v1/payment-methods/{first['id']}")
    assert response.status_code == 200 and response.json()["removed_at"]
    assert [c["id"] for c in api.get("/api/v1/payment-methods").json()["items"]] == [second["id"]]
    assert_problem(api.get(f"/api/v1/payment-methods/{first['id']}"), 404, "not-found")


def test_a_bad_card_is_a_422_naming_each_field(api):
    response = api.post(
        "/api/v1/payment-methods",
        card_body("4242424242424241", exp_month=1, exp_year=2001, cvc="1", holder_name=" "),
    )

    problem = assert_problem(response, 422, "validation-error")
    assert set(problem["errors"]) == {"number", "exp", "cvc", "holder_name"}
    assert "4242424242424241" not in response.content.decode()
    assert not SavedCard.objects.exists()


def test_a_card_the_gateway_refuses_is_a_402_with_its_failure_code(api):
    response = api.post("/api/v1/payment-methods", card_body("4111111111111111"))

    problem = assert_problem(response, 402, "card-declined")
    assert problem["failure_code"] == "test_mode_live_card"
    assert list(problem["errors"]) == ["number"]
    assert "4111111111111111" not in response.content.decode()


def test_a_card_saved_already_is_a_409_naming_the_saved_card(api, account):
    first = api.post("/api/v1/payment-methods", card_body()).json()

    response = api.post("/api/v1/payment-methods", card_body("4242 4242 4242 4242"))

    problem = assert_problem(response, 409, "card-already-saved")
    assert problem["card_id"] == first["id"]
    assert problem["errors"] == {"number": [problem["detail"]]}
    assert problem["detail"].startswith("This card is already saved: Visa •••• 4242 (11/")
    assert "4242424242424242" not in response.content.decode()
    assert api.get("/api/v1/payment-methods").json()["count"] == 1
    api.delete(f"/api/v1/payment-methods/{first['id']}")
    assert api.post("/api/v1/payment-methods", card_body()).status_code == 201  # removed


def test_removing_the_card_automatic_payments_use_is_a_409(api):
    card = add(api)
    response = api.put("/api/v1/automatic-payments", {"enabled": True})
    assert response.json() == {"enabled": True, "default_card_id": card["id"]}

    problem = assert_problem(
        api.delete(f"/api/v1/payment-methods/{card['id']}"), 409, "card-in-use"
    )
    assert "Automatic payments use this card" in problem["detail"]

    assert api.put("/api/v1/automatic-payments", {"enabled": False}).json()["enabled"] is False
    assert api.delete(f"/api/v1/payment-methods/{card['id']}").status_code == 200
    response = api.put("/api/v1/automatic-payments", {"enabled": True})
    assert assert_problem(response, 422, "validation-error")["errors"] == {
        "enabled": ["Add a card and make it your default card first."]
    }


@pytest.mark.parametrize(("number", "on_session", "off_session", "code"), CARD_OUTCOMES)
def test_each_test_card_through_the_api(api, account, number, on_session, off_session, code):
    card = add(api, number)

    response = pay(api, card["id"], "25.00")

    if on_session == "failed":
        problem = assert_problem(response, 402, "card-declined")
        assert problem["failure_code"] == code
        assert problem["detail"] == Payment.objects.get(pk=problem["payment_id"]).failure_message
        assert api.get(f"/api/v1/payments/{problem['payment_id']}").json()["status"] == "failed"
        return
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == on_session
    assert (body["amount"], body["currency"], body["purpose"]) == ("25.00", "EUR", "business_funds")
    assert body["card"] == {"id": card["id"], "brand": card["brand"], "last4": number[-4:]}
    if on_session == "succeeded":
        assert body["ledger_transaction_id"] and body["next_action"] is None
        assert customer_ledger_accounts(account=account).business_funds.balance == Decimal(25)
    else:
        assert body["next_action"] == "authenticate" and body["ledger_transaction_id"] is None
        confirmed = api.post(f"/api/v1/payments/{body['id']}/confirm")
        assert confirmed.status_code == 200 and confirmed.json()["status"] == "succeeded"


def test_the_idempotency_key_is_passed_down_so_a_payment_is_made_once(api, account, monkeypatch):
    calls = []
    real = SandboxGateway.card_charge
    monkeypatch.setattr(
        SandboxGateway,
        "card_charge",
        lambda self, **kw: calls.append(kw["idempotency_key"]) or real(self, **kw),
    )
    card = add(api)

    first = pay(api, card["id"], HTTP_IDEMPOTENCY_KEY="top-up-42")
    second = pay(api, card["id"], HTTP_IDEMPOTENCY_KEY="top-up-42")
    from billtone.core.models import IdempotencyKey

    IdempotencyKey.objects.all().delete()  # after the middleware forgot the key: the payment's
    third = pay(api, card["id"], HTTP_IDEMPOTENCY_KEY="top-up-42")

    assert first.status_code == second.status_code == third.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert first.json()["id"] == second.json()["id"] == third.json()["id"]
    payment = Payment.objects.get()
    assert payment.idempotency_key == f"api:{account.pk}:charge:top-up-42"
    assert calls == [payment.idempotency_key]
    assert Transaction.objects.count() == 1


def test_without_a_key_every_request_is_a_new_payment(api):
    card = add(api)

    assert pay(api, card["id"]).json()["id"] != pay(api, card["id"]).json()["id"]


def test_bad_payment_requests(api, other_api):
    card = add(api)
    theirs = add(other_api)

    problem = assert_problem(pay(api, theirs["id"]), 422, "validation-error")
    assert problem["errors"] == {"card_id": ["No such card in this account."]}
    assert list(assert_problem(pay(api, card["id"], "0"), 422, "validation-error")["errors"]) == [
        "amount"
    ]
    assert list(assert_problem(pay(api, card["id"], "1.001"), 422, "validation-error")["errors"])
    assert_problem(pay(api, card["id"], purpose="invoice"), 422, "validation-error")
    assert not Payment.objects.exists()


def test_payments_list_get_and_scoping(api, other_api, account):
    card = add(api)
    made = pay(api, card["id"], "10.00").json()
    declined = pay(api, add(api, INSUFFICIENT)["id"], "11.00").json()

    listed = api.get("/api/v1/payments").json()
    assert [p["id"] for p in listed["items"]] == [declined["payment_id"], made["id"]]
    assert api.get(f"/api/v1/payments/{made['id']}").json()["refunded_amount"] == "0.00"
    assert_problem(other_api.get(f"/api/v1/payments/{made['id']}"), 404, "not-found")
    assert_problem(other_api.post(f"/api/v1/payments/{made['id']}/refunds", {}), 404, "not-found")
    assert_problem(other_api.post(f"/api/v1/payments/{made['id']}/confirm"), 404, "not-found")
    assert other_api.get("/api/v1/payments").json()["count"] == 0


def test_refunds_through_the_api(api, account):
    card = add(api)
    made = pay(api, card["id"], "30.00").json()

    response = api.post(f"/api/v1/payments/{made['id']}/refunds", {"amount": "10.00"})
    assert response.status_code == 201, response.content
    refund = response.json()
    assert (refund["kind"], refund["status"], refund["amount"]) == ("refund", "succeeded", "10.00")
    assert refund["refund_of"] == made["id"]
    assert api.get(f"/api/v1/payments/{made['id']}").json()["refunded_amount"] == "10.00"

    ledger = customer_ledger_accounts(account=account)
    from billtone.core.money import Money
    from billtone.ledger.services import funds_transfer

    funds_transfer(
        source=ledger.business_funds,
        destination=ledger.call_credit,
        amount=Money("15.00", "EUR"),
        kind="call_credit_topup",
        memo="Spent",
        idempotency_key="spent",
        actor=ACTOR,
    )
    problem = assert_problem(
        api.post(f"/api/v1/payments/{made['id']}/refunds", {}), 409, "insufficient-funds"
    )
    assert "Business funds hold 5.00 EUR" in problem["detail"]


def test_a_refund_the_gateway_refuses_is_a_409_with_its_code(api, monkeypatch):
    from billtone.payments.gateways.base import RefundResult, RefundStatus

    card = add(api)
    made = pay(api, card["id"], "30.00").json()
    monkeypatch.setattr(
        SandboxGateway,
        "charge_refund",
        lambda self, **kw: RefundResult(
            RefundStatus.FAILED, "", kw["amount"], kw["currency"], "expired_or_canceled_card", ""
        ),
    )

    problem = assert_problem(
        api.post(f"/api/v1/payments/{made['id']}/refunds", {}), 409, "refund-failed"
    )

    assert problem["failure_code"] == "expired_or_canceled_card"
    assert Payment.objects.get(pk=problem["payment_id"]).status == "failed"


def test_confirming_a_settled_payment_answers_its_outcome_and_a_refund_is_a_409(api, account):
    card = add_card(account, THREE_D_SECURE)
    made = pay(api, card.pk).json()
    api.post(f"/api/v1/payments/{made['id']}/confirm")
    assert api.post(f"/api/v1/payments/{made['id']}/confirm").json()["status"] == "succeeded"
    declined = pay(api, add(api, INSUFFICIENT)["id"]).json()
    response = api.post(f"/api/v1/payments/{declined['payment_id']}/confirm")
    assert assert_problem(response, 402, "card-declined")["failure_code"] == "insufficient_funds"
    refund = api.post(f"/api/v1/payments/{made['id']}/refunds", {}).json()
    assert_problem(
        api.post(f"/api/v1/payments/{refund['id']}/confirm"), 409, "payment-state-conflict"
    )
