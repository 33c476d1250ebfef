"""What every gateway does alike, run against each: the sandbox, and Stripe through
localstripe (a Stripe API emulator run locally: no network).

What one gateway alone does stays beside it: the sandbox's table of test cards and its
statelessness (test_gateway_sandbox.py); Stripe's customers and PaymentIntents, its
Idempotency-Key header (localstripe ignores it), lost answers and server errors
(test_gateway_stripe.py).
"""

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
import requests

from billtone.core import clock
from billtone.core.errors import ValidationFailed
from billtone.payments.errors import CardAlreadySaved
from billtone.payments.gateways.base import ChargeResult, ChargeStatus, RefundStatus
from billtone.payments.gateways.sandbox import SandboxGateway
from billtone.payments.gateways.stripe import StripeGateway
from billtone.payments.models import SavedCard
from billtone.payments.tests.conftest import add_card
from billtone.payments.tests.gateway_calls import AMOUNT, CVC, VISA, charge, refund, save
from billtone.payments.tests.stripe_emulator import API_KEY, RecordingClient

MASTERCARD = "5555555555554444"
DECLINED_WHEN_CHARGED = "4000000000000341"  # saved, then declined (Stripe's and the sandbox's)
THREE_D_SECURE = "4000002500003155"


@dataclass(frozen=True)
class Behaviour:
    """Where the gateways differ in what they answer, not in what they do."""

    charge_prefix: str
    refund_prefix: str
    declined_code: str  # the failure code of DECLINED_WHEN_CHARGED
    foreign_token: str  # a token the other gateway issued
    logged: str  # a pattern the log shows once cards were saved and charged
    detached: str  # a pattern the log shows once a card was detached
    authenticate: Callable[[ChargeResult], None]  # the customer passes 3-D Secure


def _sandbox(request) -> tuple[SandboxGateway, Behaviour]:
    # charge_confirm plays the customer who passes the challenge: nothing to do before it.
    return SandboxGateway(), Behaviour(
        charge_prefix="sandbox_ch_",
        refund_prefix="sandbox_re_",
        declined_code="generic_decline",
        foreign_token="cus_x:pm_y",
        logged=r"Sandbox saved a visa card ending 4242",
        detached=r"Sandbox detached card sandbox_card_succeeds_",
        authenticate=lambda pending: None,
    )


def _stripe(request) -> tuple[StripeGateway, Behaviour]:
    base = request.getfixturevalue("localstripe")

    def authenticate(pending: ChargeResult) -> None:
        # What localstripe's Stripe.js stand-in posts when the customer passes the challenge.
        answer = requests.post(
            f"{base}/v1/payment_intents/{pending.gateway_reference}/_authenticate",
            data={"client_secret": pending.client_secret, "success": "true"},
            headers={"Authorization": f"Bearer {API_KEY}"},
            timeout=10,
        )
        assert answer.status_code == 200

    gateway = StripeGateway(
        api_key=API_KEY, api_base=base, http_client=RecordingClient(), max_network_retries=0
    )
    return gateway, Behaviour(
        charge_prefix="pi_",
        refund_prefix="re_",
        declined_code="card_declined",
        foreign_token="sandbox_card_succeeds_0123",
        # The stripe package logs request bodies, the card's fields masked.
        logged=r"card(\[|%5B)number(\]|%5D)=\[redacted\]",
        detached=r"Stripe detached card pm_",
        authenticate=authenticate,
    )


@pytest.fixture(params=[_sandbox, _stripe], ids=["sandbox", "stripe"])
def gateway_and_behaviour(request):
    return request.param(request)


@pytest.fixture
def gateway(gateway_and_behaviour):
    return gateway_and_behaviour[0]


@pytest.fixture
def behaviour(gateway_and_behaviour):
    return gateway_and_behaviour[1]


def refund_find(gateway, reference, *, key, amount=Decimal("10.00")):
    return gateway.refund_find(
        reference=reference, amount=amount, currency="EUR", idempotency_key=key
    )


def assert_no_card_data(text: str, numbers: list[str], cvcs: list[str]) -> None:
    """No full number (also grouped in fours) and no CVC standing alone (a CVC's digits may
    occur inside a random hexadecimal id; standing alone they would be the CVC)."""
    for number in numbers:
        assert number not in text
        assert " ".join(number[i : i + 4] for i in range(0, len(number), 4)) not in text
    for cvc in cvcs:
        assert not re.search(rf"(?<![0-9A-Za-z]){cvc}(?![0-9A-Za-z])", text)


# Saving cards -------------------------------------------------------------------------------


def test_a_card_is_saved_as_a_token_that_does_not_hold_its_number(gateway):
    card = save(gateway)

    assert (card.brand, card.last4) == ("visa", "4242")
    assert (card.exp_month, card.exp_year) == (11, clock.now().year + 3)
    assert card.holder == "Ada Lovelace"
    assert card.token and card.gateway_customer
    assert VISA not in card.token


def test_an_accounts_cards_share_its_customer_and_each_save_is_a_new_token(gateway):
    first = save(gateway)
    second = save(gateway, MASTERCARD, gateway_customer=first.gateway_customer)
    other_account = save(gateway, customer_ref="account-2")

    assert second.gateway_customer == first.gateway_customer
    assert second.token != first.token
    assert second.last4 == "4444"
    assert other_account.gateway_customer != first.gateway_customer


def test_the_same_number_has_the_same_fingerprint_whatever_its_expiry(gateway):
    first = save(gateway)
    again = save(gateway, exp_month=3, holder_name="A. Lovelace")
    other = save(gateway, MASTERCARD)

    assert first.fingerprint and first.fingerprint == again.fingerprint
    assert other.fingerprint and other.fingerprint != first.fingerprint
    assert VISA not in first.fingerprint and "4242" not in first.fingerprint


def test_a_card_is_detached_once_or_twice_without_error(gateway):
    card = save(gateway)

    gateway.card_detach(token=card.token)
    gateway.card_detach(token=card.token)  # already gone: nothing to do


def test_an_invalid_card_is_refused_before_the_gateway(gateway):
    with pytest.raises(ValidationFailed) as caught:
        save(gateway, "4242424242424241", exp_month=1, exp_year=2001, cvc="1", holder_name="")

    assert set(caught.value.errors) == {"number", "exp", "cvc", "holder_name"}


# Charging -----------------------------------------------------------------------------------


@pytest.mark.parametrize("on_session", [True, False], ids=["on-session", "off-session"])
def test_a_charge_succeeds(gateway, behaviour, on_session):
    card = save(gateway)

    result = charge(gateway, card.token, on_session=on_session)

    assert result.status == ChargeStatus.SUCCEEDED
    assert (result.amount, result.currency) == (AMOUNT, "EUR")
    assert result.gateway_reference.startswith(behaviour.charge_prefix)
    assert result.failure_code == ""
    assert result.message


def test_a_card_declined_when_charged_fails_with_its_reason_and_is_found_so(gateway, behaviour):
    card = save(gateway, DECLINED_WHEN_CHARGED)

    result = charge(gateway, card.token, key="payment-declined")
    found = gateway.charge_find(
        token=card.token,
        amount=AMOUNT,
        currency="EUR",
        on_session=False,
        idempotency_key="payment-declined",
    )

    assert result.status == ChargeStatus.FAILED
    assert result.failure_code == behaviour.declined_code
    assert result.message
    assert (found.status, found.failure_code) == (ChargeStatus.FAILED, behaviour.declined_code)
    assert found.gateway_reference.startswith(behaviour.charge_prefix)


def test_the_same_idempotency_key_is_the_same_charge(gateway):
    card = save(gateway)

    first = charge(gateway, card.token, key="payment-7")
    again = charge(gateway, card.token, key="payment-7")
    other = charge(gateway, card.token, key="payment-8")

    assert again == first
    assert other.gateway_reference != first.gateway_reference


def test_3d_secure_on_session_requires_action_then_confirms(gateway, behaviour):
    card = save(gateway, THREE_D_SECURE)

    pending = charge(gateway, card.token, on_session=True, key="payment-3ds")
    assert pending.status == ChargeStatus.REQUIRES_ACTION
    assert pending.client_secret
    assert pending.failure_code == ""

    behaviour.authenticate(pending)
    confirmed = gateway.charge_confirm(reference=pending.gateway_reference)

    assert confirmed.status == ChargeStatus.SUCCEEDED
    assert confirmed.gateway_reference == pending.gateway_reference
    assert (confirmed.amount, confirmed.currency) == (AMOUNT, "EUR")


def test_3d_secure_off_session_fails_authentication_required(gateway):
    card = save(gateway, THREE_D_SECURE)

    result = charge(gateway, card.token, on_session=False, key="payment-3ds-off")

    assert result.status == ChargeStatus.FAILED
    assert result.failure_code == "authentication_required"
    assert result.client_secret == ""


def test_a_token_of_another_gateway_charges_nothing(gateway, behaviour):
    result = charge(gateway, behaviour.foreign_token, key="payment-token")

    assert (result.status, result.failure_code) == (ChargeStatus.FAILED, "resource_missing")
    assert result.gateway_reference == ""


def test_amounts_follow_the_currencys_minor_unit(gateway):
    card = save(gateway)

    yen = charge(gateway, card.token, amount=Decimal("500"), currency="JPY", key="yen")
    dinar = charge(gateway, card.token, amount=Decimal("1.234"), currency="KWD", key="dinar")

    assert (yen.status, yen.amount, yen.currency) == (ChargeStatus.SUCCEEDED, 500, "JPY")
    assert (dinar.status, dinar.amount, dinar.currency) == (
        ChargeStatus.SUCCEEDED,
        Decimal("1.234"),
        "KWD",
    )
    with pytest.raises(ValidationFailed):
        charge(gateway, card.token, amount=Decimal("5.5"), currency="JPY", key="yen-2")


# Refunds ------------------------------------------------------------------------------------


def test_a_charge_is_refunded_in_part_once_per_key(gateway, behaviour):
    paid = charge(gateway, save(gateway).token, key="payment-refund")

    made = refund(gateway, paid.gateway_reference, key="refund-1")
    again = refund(gateway, paid.gateway_reference, key="refund-1")
    found = refund_find(gateway, paid.gateway_reference, key="refund-1")

    assert made.status == RefundStatus.SUCCEEDED
    assert made.gateway_reference.startswith(behaviour.refund_prefix)
    assert (made.amount, made.currency) == (Decimal("10.00"), "EUR")
    assert again == made == found


def test_a_declined_charge_cannot_be_refunded(gateway):
    card = save(gateway, DECLINED_WHEN_CHARGED)
    declined = charge(gateway, card.token, key="payment-no-refund")

    refused = refund(gateway, declined.gateway_reference, key="refund-declined", amount=AMOUNT)

    assert refused.status == RefundStatus.FAILED
    assert refused.failure_code
    assert refused.gateway_reference == ""


# Card data in logs --------------------------------------------------------------------------


def test_card_numbers_and_cvcs_never_reach_the_logs(gateway, behaviour, caplog):
    caplog.set_level(logging.DEBUG)
    numbers = [VISA, MASTERCARD, DECLINED_WHEN_CHARGED, THREE_D_SECURE]

    for n, number in enumerate(numbers):
        card = save(gateway, number)
        for on_session in (True, False):
            result = charge(gateway, card.token, on_session=on_session, key=f"log-{n}-{on_session}")
            if result.status == ChargeStatus.REQUIRES_ACTION:
                gateway.charge_confirm(reference=result.gateway_reference)

    assert re.search(behaviour.logged, caplog.text)  # the log did record the cards' work
    assert_no_card_data(caplog.text, numbers, [CVC])


# Through the service: a card is saved once per account ----------------------------------


@pytest.fixture
def gateway_in_use(gateway, settings, request):
    """card_add on this test's gateway (BILLTONE_PAYMENT_GATEWAY)."""
    settings.BILLTONE_PAYMENT_GATEWAY = gateway.name
    if gateway.name == "stripe":
        settings.STRIPE_API_KEY = API_KEY
        settings.STRIPE_API_BASE = request.getfixturevalue("localstripe")
    return gateway


def test_a_card_saved_already_is_refused_and_detached_at_the_gateway(
    gateway_in_use, behaviour, account, other_account, caplog
):
    caplog.set_level(logging.INFO)
    first = add_card(account)

    with pytest.raises(CardAlreadySaved) as caught:
        add_card(account, exp_month=3, holder_name="A. Lovelace")

    expiry = f"11/{first.exp_year}"
    assert caught.value.detail == (
        f"This card is already saved: Visa •••• 4242 ({expiry}). To give it its new expiry "
        "date, remove the saved card, then add it again."
    )
    assert (caught.value.status, caught.value.card_id) == (409, first.pk)
    assert caught.value.errors == {"number": [caught.value.detail]}
    assert list(SavedCard.objects.filter(account=account)) == [first]
    assert re.search(behaviour.detached, caplog.text)
    # Another card, and the same card in another account, are saved.
    assert add_card(account, MASTERCARD).fingerprint != first.fingerprint
    assert add_card(other_account).fingerprint == first.fingerprint
