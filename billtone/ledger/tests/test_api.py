from datetime import UTC, datetime

import time_machine

from billtone.core.money import Money
from billtone.ledger.services import call_credit_limit_set, customer_ledger_accounts, funds_transfer
from billtone.ledger.tests.conftest import SYSTEM, new_key
from conftest import api_client_for


def top_up(ledger, amount: str):
    funds_transfer(
        source=ledger.business_funds,
        destination=ledger.call_credit,
        amount=Money(amount, "EUR"),
        kind="top_up",
        memo="Call credit top-up",
        idempotency_key=new_key("top-up"),
        actor=SYSTEM,
    )


def test_balances_of_the_callers_account(api, account, ledger, deposit):
    deposit(ledger.business_funds, "80.00")
    top_up(ledger, "12.5")
    call_credit_limit_set(account=account, limit=Money("5", "EUR"), actor=SYSTEM)
    body = api.get("/api/v1/balances").json()
    assert body["currency"] == "EUR"
    assert body["business_funds"] == {
        "kind": "business_funds",
        "label": "Business funds",
        "balance": {"amount": "67.50", "currency": "EUR"},
        "credit_limit": {"amount": "0.00", "currency": "EUR"},
        "available": {"amount": "67.50", "currency": "EUR"},
        "formatted": "€67.50",
    }
    assert body["call_credit"]["balance"] == {"amount": "12.50", "currency": "EUR"}
    assert body["call_credit"]["available"] == {"amount": "17.50", "currency": "EUR"}


def test_balances_are_zero_before_first_use_and_in_each_accounts_currency(api, other_api):
    assert api.get("/api/v1/balances").json()["business_funds"]["balance"]["amount"] == "0.00"
    other = other_api.get("/api/v1/balances").json()
    assert other["currency"] == "GBP"
    assert other["call_credit"]["balance"] == {"amount": "0.00", "currency": "GBP"}


def test_balances_need_a_token_with_billing_rights(client, member):
    assert client.get("/api/v1/balances").status_code == 401
    response = api_client_for(member).get("/api/v1/balances")
    assert response.status_code == 403
    assert response.json()["type"].endswith("/forbidden")


def test_statement_through_the_api(api, ledger, deposit):
    with time_machine.travel(datetime(2026, 5, 31, 22, 15, tzinfo=UTC), tick=False):
        deposit(ledger.business_funds, "100", memo="Transfer RF18 5390")  # 1 June in Berlin
    with time_machine.travel(datetime(2026, 6, 3, 8, tzinfo=UTC), tick=False):
        top_up(ledger, "25")
    response = api.get(
        "/api/v1/ledger/business_funds/statement", {"from": "2026-06-01", "to": "2026-06-30"}
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["from"], body["to"], body["timezone"]) == (
        "2026-06-01",
        "2026-06-30",
        "Europe/Berlin",
    )
    assert (body["opening_balance"], body["closing_balance"]) == ("0.00", "75.00")
    assert body["count"] == 2 and body["has_next"] is False
    first, second = body["items"]
    assert first["date"] == "2026-06-01T00:15:00+02:00"
    assert (first["description"], first["amount"], first["running_balance"]) == (
        "Transfer RF18 5390",
        "100.00",
        "100.00",
    )
    assert (second["kind"], second["amount"], second["running_balance"]) == (
        "top_up",
        "-25.00",
        "75.00",
    )
    credit = api.get(
        "/api/v1/ledger/call_credit/statement", {"from": "2026-06-01", "to": "2026-06-30"}
    ).json()
    assert [item["amount"] for item in credit["items"]] == ["25.00"]


def test_statement_is_paginated(api, ledger, deposit):
    for _ in range(3):
        deposit(ledger.business_funds, "1")
    body = api.get("/api/v1/ledger/business_funds/statement", {"page_size": 2}).json()
    assert body["count"] == 3 and body["has_next"] is True and len(body["items"]) == 2
    body = api.get("/api/v1/ledger/business_funds/statement", {"page_size": 2, "page": 2}).json()
    assert [item["running_balance"] for item in body["items"]] == ["3.00"]


def test_bad_statement_requests_are_422_problems(api):
    response = api.get("/api/v1/ledger/bank_clearing/statement")
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    response = api.get(
        "/api/v1/ledger/call_credit/statement", {"from": "2026-02-02", "to": "2026-02-01"}
    )
    assert response.status_code == 422
    assert response.json()["errors"] == {"from": ["The start date is after the end date."]}
    response = api.get("/api/v1/ledger/call_credit/statement", {"from": "2026-13-01"})
    assert response.status_code == 422
    assert response.json()["type"].endswith("/validation-error")
    response = api.get("/api/v1/ledger/call_credit/statement", {"page_size": 500})
    assert response.status_code == 422


def test_another_accounts_postings_never_show(api, other_account, deposit, ledger):
    other = customer_ledger_accounts(account=other_account)
    deposit(other.business_funds, "999")
    body = api.get("/api/v1/ledger/business_funds/statement").json()
    assert body["items"] == [] and body["currency"] == "EUR"
    assert api.get("/api/v1/balances").json()["business_funds"]["balance"]["amount"] == "0.00"
