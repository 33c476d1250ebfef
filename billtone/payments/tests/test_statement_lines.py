"""What a customer's statement says about card money: a line for a person, and never the
gateway's ids (those stay in the back office)."""

import pytest

from billtone.ledger.selectors import customer_statement_get
from billtone.payments.gateways.base import RefundResult, RefundStatus
from billtone.payments.gateways.sandbox import SandboxGateway

from .conftest import charge
from .test_refund_services import refund

GATEWAY_IDS = ("sandbox_", "ch_", "pi_", "seti_", "re_", "cus_")


def lines(account, kind: str = "business_funds") -> list[tuple[str, str, str]]:
    statement = customer_statement_get(account=account, kind=kind)
    return [(line.kind, line.description, line.reference) for line in statement.lines]


def test_a_card_top_up_and_its_refund_are_described_for_a_person(account, card):
    paid = charge(account, card, "50.00")
    refund(account, paid, "20.00")

    assert lines(account) == [
        ("card_payment", "Card payment, Visa •••• 4242", ""),
        ("card_refund", "Top-up refunded to Visa •••• 4242", ""),
    ]
    assert paid.ledger_transaction.external_reference == paid.gateway_reference  # back office


def test_a_call_credit_top_up_by_card_reads_the_same(account, card):
    charge(account, card, "30.00", purpose="call_credit")

    assert lines(account, "call_credit") == [("card_payment", "Card payment, Visa •••• 4242", "")]


def test_a_refund_the_gateway_refuses_is_described_as_returned(account, card, monkeypatch):
    def refused(self, *, reference, amount, currency, idempotency_key):
        return RefundResult(RefundStatus.FAILED, "", amount, currency, "charge_disputed", "No.")

    paid = charge(account, card, "50.00")
    monkeypatch.setattr(SandboxGateway, "charge_refund", refused)
    refund(account, paid)

    assert [description for _, description, _ in lines(account)] == [
        "Card payment, Visa •••• 4242",
        "Top-up refunded to Visa •••• 4242",
        "Refund to Visa •••• 4242 failed, amount returned",
    ]


@pytest.mark.parametrize("kind", ["business_funds", "call_credit"])
def test_no_gateway_id_on_the_statement_page_or_in_the_api(account, card, web, api, kind):
    paid = charge(account, card, "50.00", purpose=kind)
    refund(account, paid, "10.00")
    assert paid.gateway_reference.startswith("sandbox_ch_")

    page = web.get(f"/billing/balances/{kind}/").content.decode()
    answer = api.get(f"/api/v1/ledger/{kind}/statement")

    assert "Card payment, Visa •••• 4242" in page and "Top-up refunded" in page
    assert answer.status_code == 200 and len(answer.json()["items"]) == 2
    for text in (page, answer.content.decode()):
        assert not [found for found in GATEWAY_IDS if found in text]


def test_the_back_office_keeps_the_gateways_ids(account, card, admin_client):
    paid = charge(account, card, "50.00")

    page = admin_client.get(f"/admin/ledger/transaction/{paid.ledger_transaction_id}/change/")

    assert page.status_code == 200
    assert paid.gateway_reference in page.content.decode()
