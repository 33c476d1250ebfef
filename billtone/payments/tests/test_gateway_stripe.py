"""The Stripe gateway against localstripe, a Stripe API emulator run locally: no network.

What every gateway does is in test_gateway_behaviour.py, run against this one too; here is
what Stripe alone does: customers and PaymentIntents as Stripe keeps them, the
Idempotency-Key header, answers lost on the way back, server errors. localstripe does not
honour Idempotency-Key, so these tests show apart that (a) the gateway's own look-up never
makes a second PaymentIntent for a key, and (b) every mutating request carries Stripe's
Idempotency-Key header (recorded by the HTTP client).
"""

import json
import logging
import re
import socket
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import stripe

from billtone.core import clock
from billtone.core.errors import Conflict
from billtone.payments.gateways.base import (
    CardDeclined,
    ChargeStatus,
    GatewayUnavailable,
    RefundStatus,
)
from billtone.payments.gateways.stripe import META_IDEMPOTENCY_KEY, StripeGateway
from billtone.payments.tests.gateway_calls import AMOUNT, CVC, charge, save
from billtone.payments.tests.stripe_emulator import API_KEY, RecordingClient, free_port

DECLINED_WHEN_CHARGED = "4000000000000341"
THREE_D_SECURE = "4000002500003155"


@pytest.fixture
def client():
    return RecordingClient()


@pytest.fixture
def gateway(localstripe, client):
    return StripeGateway(
        api_key=API_KEY, api_base=localstripe, http_client=client, max_network_retries=0
    )


@pytest.fixture
def api(localstripe):
    """A plain Stripe client on the emulator, to look at what the gateway left there."""
    return stripe.StripeClient(API_KEY, base_addresses={"api": localstripe})


def intents_of(api, customer):
    return list(
        api.v1.payment_intents.list(params={"customer": customer, "limit": 100}).auto_paging_iter()
    )


def charges_of(api, customer):
    return list(api.v1.charges.list(params={"customer": customer, "limit": 100}))


# Saving cards -------------------------------------------------------------------------------


def test_a_card_is_saved_as_a_payment_method_of_a_customer(gateway, api):
    card = save(gateway)

    customer, payment_method = card.token.split(":")
    assert card.gateway_customer == customer
    assert (card.brand, card.last4) == ("visa", "4242")
    assert (card.exp_month, card.exp_year) == (11, clock.now().year + 3)
    stored = api.v1.payment_methods.retrieve(payment_method)
    assert stored.customer == customer
    assert stored.billing_details.name == "Ada Lovelace"
    assert api.v1.customers.retrieve(customer).metadata.billtone_customer_ref == "account-1"


@pytest.mark.parametrize("number", ["4000000000000002", "4000000000009995", "4000000000000119"])
def test_a_card_the_gateway_declines_is_not_saved(gateway, number):
    with pytest.raises(CardDeclined) as caught:
        save(gateway, number)

    assert caught.value.failure_code == "card_declined"
    assert caught.value.errors == {
        "number": ["Your card was declined. Use another card or contact your bank."]
    }


def test_an_unreachable_gateway_saves_nothing_and_says_so(localstripe):
    unreachable = StripeGateway(
        api_key=API_KEY, api_base=f"http://127.0.0.1:{free_port()}", max_network_retries=0
    )

    with pytest.raises(GatewayUnavailable) as caught:
        save(unreachable)

    assert caught.value.status == 503


# Charging -----------------------------------------------------------------------------------


@pytest.mark.parametrize("on_session", [True, False], ids=["on-session", "off-session"])
def test_a_charge_is_a_payment_intent_of_the_card_with_our_metadata(gateway, api, on_session):
    card = save(gateway)

    result = charge(gateway, card.token, on_session=on_session, key="payment-off")

    intent = api.v1.payment_intents.retrieve(result.gateway_reference)
    assert (intent.amount, intent.currency) == (2550, "eur")
    assert intent.customer == card.gateway_customer
    assert intent.payment_method == card.token.split(":")[1]
    assert intent.description == "Call credit top-up"
    assert intent.metadata.to_dict() == {
        "billtone_payment": "17",
        "billtone_idempotency_key": "payment-off",
        "billtone_on_session": "true" if on_session else "false",
    }


def test_amounts_are_sent_in_the_currencys_minor_units(gateway, api):
    card = save(gateway)

    yen = charge(gateway, card.token, amount=Decimal("500"), currency="JPY", key="yen")
    dinar = charge(gateway, card.token, amount=Decimal("1.234"), currency="KWD", key="dinar")

    assert api.v1.payment_intents.retrieve(yen.gateway_reference).amount == 500
    assert api.v1.payment_intents.retrieve(dinar.gateway_reference).amount == 1234


def test_a_declined_charge_is_a_failed_charge_of_its_payment_intent(gateway, api):
    card = save(gateway, DECLINED_WHEN_CHARGED)

    result = charge(gateway, card.token, key="payment-declined")

    assert result.message == "Your card was declined. Use another card or contact your bank."
    assert charges_of(api, card.gateway_customer)[0].status == "failed"
    found = gateway.charge_find(
        token=card.token,
        amount=AMOUNT,
        currency="EUR",
        on_session=False,
        idempotency_key="payment-declined",
    )
    assert found.gateway_reference == intents_of(api, card.gateway_customer)[0].id


def test_a_retried_charge_with_the_same_key_makes_one_payment_intent(gateway, api):
    card = save(gateway)

    charge(gateway, card.token, key="payment-retry")
    charge(gateway, card.token, key="payment-retry")
    charge(gateway, card.token, key="payment-other")

    assert len(intents_of(api, card.gateway_customer)) == 2
    assert len(charges_of(api, card.gateway_customer)) == 2


def test_every_mutating_request_carries_an_idempotency_key(gateway, client):
    card = save(gateway)
    paid = charge(gateway, card.token, key="payment-header")
    gateway.charge_refund(
        reference=paid.gateway_reference,
        amount=Decimal("1.00"),
        currency="EUR",
        idempotency_key="refund-header",
    )

    posts = [(url, headers) for method, url, headers in client.recorded if method == "POST"]
    assert [url.rsplit("/v1/", 1)[1].split("/")[0] for url, _ in posts] == [
        "customers",
        "payment_methods",
        "payment_methods",
        "payment_intents",
        "refunds",
    ]
    assert all(headers.get("Idempotency-Key") for _, headers in posts)
    assert len({headers["Idempotency-Key"] for _, headers in posts}) == len(posts)
    keys = {url.rsplit("/v1/", 1)[1]: headers["Idempotency-Key"] for url, headers in posts}
    assert keys["payment_intents"] == "payment-header"
    assert keys["refunds"] == "refund-header"


def test_a_charge_whose_answer_was_lost_is_found_and_not_made_again(localstripe, api):
    losing = StripeGateway(
        api_key=API_KEY,
        api_base=localstripe,
        http_client=RecordingClient(lose_answer_to="/v1/payment_intents"),
        max_network_retries=0,
    )
    card = save(losing)

    lost = charge(losing, card.token, key="payment-lost")
    assert lost.status == ChargeStatus.ERRORED
    assert lost.gateway_reference == ""
    assert "do not know yet" in lost.message

    gateway = StripeGateway(api_key=API_KEY, api_base=localstripe, max_network_retries=0)
    found = gateway.charge_find(
        token=card.token,
        amount=AMOUNT,
        currency="EUR",
        on_session=False,
        idempotency_key="payment-lost",
    )
    retried = charge(gateway, card.token, key="payment-lost")

    assert found.status == ChargeStatus.SUCCEEDED
    assert retried == found
    assert [intent.id for intent in intents_of(api, card.gateway_customer)] == [
        found.gateway_reference
    ]


def test_charge_find_answers_none_for_a_key_never_used(gateway):
    card = save(gateway)

    assert (
        gateway.charge_find(
            token=card.token,
            amount=AMOUNT,
            currency="EUR",
            on_session=False,
            idempotency_key="never-used",
        )
        is None
    )


def test_a_key_reused_for_another_amount_is_a_conflict(gateway, api):
    card = save(gateway)
    charge(gateway, card.token, key="payment-reused")

    with pytest.raises(Conflict):
        charge(gateway, card.token, key="payment-reused", amount=Decimal("99.00"))
    assert len(intents_of(api, card.gateway_customer)) == 1


def test_3d_secure_confirmed_before_the_customer_authenticates_still_requires_action(gateway):
    card = save(gateway, THREE_D_SECURE)

    pending = charge(gateway, card.token, on_session=True, key="payment-3ds")

    assert pending.client_secret.startswith(pending.gateway_reference)
    assert gateway.charge_confirm(reference=pending.gateway_reference).status == (
        ChargeStatus.REQUIRES_ACTION
    )


def test_a_token_stripe_never_issued_is_refused_without_a_request(gateway, client):
    result = charge(gateway, "sandbox_card_succeeds_0123", key="payment-token")

    assert result.failure_code == "resource_missing"
    assert client.recorded == []


# Unknown outcomes ---------------------------------------------------------------------------


class FailingStripe(BaseHTTPRequestHandler):
    """Lists nothing; answers every POST with a 500 or by hanging up."""

    hang_up = False

    def do_GET(self):
        self._answer(200, {"object": "list", "data": [], "has_more": False, "url": "/v1/x"})

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.hang_up:
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._answer(500, {"error": {"type": "api_error", "message": "Something went wrong."}})

    def _answer(self, status, body):
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("hang_up", [False, True], ids=["http-500", "connection-dropped"])
def test_a_5xx_or_a_dropped_connection_is_an_unknown_outcome(hang_up):
    handler = type("Handler", (FailingStripe,), {"hang_up": hang_up})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        gateway = StripeGateway(
            api_key=API_KEY,
            api_base=f"http://127.0.0.1:{server.server_port}",
            max_network_retries=0,
        )
        result = charge(gateway, "cus_A:pm_B", key="payment-unknown")
        refund = gateway.charge_refund(
            reference="pi_A", amount=AMOUNT, currency="EUR", idempotency_key="refund-unknown"
        )
    finally:
        server.shutdown()
        server.server_close()

    assert result.status == ChargeStatus.ERRORED
    assert result.failure_code == "gateway_error"
    assert refund.status == RefundStatus.ERRORED


# Refunds ------------------------------------------------------------------------------------


def test_a_refund_asked_twice_with_one_key_is_one_stripe_refund(gateway, api):
    card = save(gateway)
    paid = charge(gateway, card.token, key="payment-refund")

    for _ in range(2):
        refund = gateway.charge_refund(
            reference=paid.gateway_reference,
            amount=Decimal("10.00"),
            currency="EUR",
            idempotency_key="refund-1",
        )

    refunds = list(api.v1.refunds.list(params={"payment_intent": paid.gateway_reference}))
    assert [(r.id, r.amount, r.metadata[META_IDEMPOTENCY_KEY]) for r in refunds] == [
        (refund.gateway_reference, 1000, "refund-1")
    ]
    assert (
        gateway.refund_find(
            reference=paid.gateway_reference,
            amount=Decimal("10.00"),
            currency="EUR",
            idempotency_key="refund-2",
        )
        is None
    )


# Card data in logs --------------------------------------------------------------------------


def test_the_stripe_package_logs_request_bodies_with_the_card_masked(gateway, caplog):
    caplog.set_level(logging.DEBUG)

    with pytest.raises(CardDeclined):
        save(gateway, "4000000000000002")

    assert "Post details" in caplog.text
    assert re.search(r"card(\[|%5B)number(\]|%5D)=\[redacted\]", caplog.text)
    assert re.search(r"card(\[|%5B)cvc(\]|%5D)=\[redacted\]", caplog.text)
    assert "4000000000000002" not in caplog.text
    assert not re.search(rf"(?<![0-9A-Za-z]){CVC}(?![0-9A-Za-z])", caplog.text)


def test_a_detached_card_leaves_its_customer(gateway, api):
    """Stripe refuses to charge a detached card; localstripe does not check that, so the
    test asserts what localstripe keeps: the card no longer belongs to the customer."""
    card = save(gateway)
    customer, payment_method = card.token.split(":")

    gateway.card_detach(token=card.token)

    assert api.v1.payment_methods.retrieve(payment_method).customer is None
    assert api.v1.customers.retrieve(customer).id == customer  # the account's customer stays
