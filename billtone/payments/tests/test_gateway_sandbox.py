"""The sandbox gateway answers like the public test cards, with nothing stored.

What every gateway does is in test_gateway_behaviour.py, run against this one too; here is
what the sandbox alone does: each test card's documented outcome, refusing any other
number, and answering alike in every process because it keeps no state.
"""

import logging
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from billtone.core import clock
from billtone.core.errors import NotFound, ValidationFailed
from billtone.payments.gateways import get_gateway
from billtone.payments.gateways.base import CardDeclined, ChargeStatus, RefundStatus
from billtone.payments.gateways.sandbox import SandboxGateway
from billtone.payments.gateways.stripe import StripeGateway
from billtone.payments.tests.gateway_calls import AMOUNT, CVC, charge, save

# number, brand, outcome on session, outcome off session, failure code
TEST_CARDS = [
    ("4242424242424242", "visa", ChargeStatus.SUCCEEDED, ChargeStatus.SUCCEEDED, ""),
    ("5555555555554444", "mastercard", ChargeStatus.SUCCEEDED, ChargeStatus.SUCCEEDED, ""),
    ("378282246310005", "amex", ChargeStatus.SUCCEEDED, ChargeStatus.SUCCEEDED, ""),
    ("4000056655665556", "visa", ChargeStatus.SUCCEEDED, ChargeStatus.SUCCEEDED, ""),
    ("5200828282828210", "mastercard", ChargeStatus.SUCCEEDED, ChargeStatus.SUCCEEDED, ""),
    ("4000000000000002", "visa", ChargeStatus.FAILED, ChargeStatus.FAILED, "generic_decline"),
    ("4000000000000341", "visa", ChargeStatus.FAILED, ChargeStatus.FAILED, "generic_decline"),
    ("4000000000009995", "visa", ChargeStatus.FAILED, ChargeStatus.FAILED, "insufficient_funds"),
    ("4000000000000069", "visa", ChargeStatus.FAILED, ChargeStatus.FAILED, "expired_card"),
    ("4000000000000127", "visa", ChargeStatus.FAILED, ChargeStatus.FAILED, "incorrect_cvc"),
    ("4000000000000119", "visa", ChargeStatus.FAILED, ChargeStatus.FAILED, "processing_error"),
]
THREE_D_SECURE = "4000002500003155"
ALL_NUMBERS = [card[0] for card in TEST_CARDS] + [THREE_D_SECURE]


def assert_no_card_data(text: str, numbers: list[str], cvcs: list[str]) -> None:
    """No full number (also grouped in fours) and no CVC standing alone (a CVC's digits may
    occur inside a random hexadecimal id; standing alone they would be the CVC)."""
    for number in numbers:
        assert number not in text
        assert " ".join(number[i : i + 4] for i in range(0, len(number), 4)) not in text
    for cvc in cvcs:
        assert not re.search(rf"(?<![0-9A-Za-z]){cvc}(?![0-9A-Za-z])", text)


@pytest.fixture
def gateway():
    return SandboxGateway()


@pytest.mark.parametrize(("number", "brand", "on_session", "off_session", "code"), TEST_CARDS)
def test_each_test_card_is_saved_then_charged_as_documented(
    gateway, number, brand, on_session, off_session, code
):
    card = save(gateway, number)

    assert card.brand == brand
    assert card.last4 == number[-4:]
    assert (card.exp_month, card.exp_year) == (11, clock.now().year + 3)
    assert card.holder == "Ada Lovelace"
    assert number not in card.token

    for session, expected in ((True, on_session), (False, off_session)):
        result = charge(gateway, card.token, on_session=session, key=f"k-{session}")
        assert result.status == expected
        assert result.failure_code == code
        assert (result.amount, result.currency) == (AMOUNT, "EUR")
        assert result.gateway_reference.startswith("sandbox_ch_")
        assert result.message
        assert result.client_secret == ""


def test_a_declined_charge_explains_itself(gateway):
    insufficient = save(gateway, "4000000000009995")
    expired = save(gateway, "4000000000000069")

    assert charge(gateway, insufficient.token).message == "Your card has insufficient funds."
    assert charge(gateway, expired.token).message == "Your card has expired."


def test_a_3d_secure_charge_declined_off_session_stays_declined_when_confirmed(gateway):
    card = save(gateway, THREE_D_SECURE)

    result = charge(gateway, card.token, on_session=False)

    assert gateway.charge_confirm(reference=result.gateway_reference).status == ChargeStatus.FAILED


def test_a_number_that_is_not_a_test_card_is_refused(gateway):
    with pytest.raises(CardDeclined) as caught:
        save(gateway, "4111111111111111")

    assert caught.value.failure_code == "test_mode_live_card"
    assert list(caught.value.errors) == ["number"]
    assert "4111111111111111" not in str(caught.value.errors)


def test_the_customer_is_derived_from_the_account_unless_given(gateway):
    first = save(gateway, "4242424242424242")
    second = save(gateway, "4242424242424242")
    kept = save(gateway, "4242424242424242", gateway_customer="sandbox_cus_given")

    assert first.gateway_customer == second.gateway_customer
    assert kept.gateway_customer == "sandbox_cus_given"


def test_a_fresh_gateway_in_another_process_finds_the_charge_by_key():
    card = save(SandboxGateway(), "4000000000009995")
    made = charge(SandboxGateway(), card.token, key="payment-9")

    found = SandboxGateway().charge_find(
        token=card.token,
        amount=AMOUNT,
        currency="EUR",
        on_session=False,
        idempotency_key="payment-9",
    )

    assert found == made
    assert found.failure_code == "insufficient_funds"


def test_charge_find_answers_none_for_a_token_it_never_issued(gateway):
    assert (
        gateway.charge_find(
            token="nonsense", amount=AMOUNT, currency="EUR", on_session=False, idempotency_key="k"
        )
        is None
    )


def test_an_unknown_reference_is_not_found(gateway):
    with pytest.raises(NotFound):
        gateway.charge_confirm(reference="pi_123")
    with pytest.raises(NotFound):
        gateway.charge_refund(
            reference="sandbox_ch_x.nope.on.1.EUR",
            amount=AMOUNT,
            currency="EUR",
            idempotency_key="r",
        )


def test_a_refund_beyond_the_charge_or_of_a_declined_charge_fails(gateway):
    paid = charge(gateway, save(gateway, "4242424242424242").token)
    declined = charge(gateway, save(gateway, "4000000000000002").token, key="payment-2")

    too_much = gateway.charge_refund(
        reference=paid.gateway_reference,
        amount=Decimal("25.51"),
        currency="EUR",
        idempotency_key="refund-2",
    )
    nothing_to_refund = gateway.charge_refund(
        reference=declined.gateway_reference,
        amount=Decimal("1.00"),
        currency="EUR",
        idempotency_key="refund-3",
    )

    assert (too_much.status, too_much.failure_code) == (RefundStatus.FAILED, "amount_too_large")
    assert nothing_to_refund.status == RefundStatus.FAILED
    assert nothing_to_refund.failure_code == "charge_not_refundable"
    assert (
        gateway.refund_find(
            reference=declined.gateway_reference,
            amount=Decimal("1.00"),
            currency="EUR",
            idempotency_key="refund-3",
        )
        is None
    )
    with pytest.raises(ValidationFailed):
        gateway.charge_refund(
            reference=paid.gateway_reference,
            amount=Decimal("1.00"),
            currency="GBP",
            idempotency_key="refund-4",
        )


def test_no_test_card_nor_a_refused_live_card_reaches_the_logs(gateway, caplog):
    caplog.set_level(logging.DEBUG)

    for n, number in enumerate(ALL_NUMBERS):
        card = save(gateway, number)
        for session in (True, False):
            result = charge(gateway, card.token, on_session=session, key=f"log-{n}-{session}")
            if result.status == ChargeStatus.REQUIRES_ACTION:
                gateway.charge_confirm(reference=result.gateway_reference)
    with pytest.raises(CardDeclined):
        save(gateway, "4111111111111111")

    assert "Sandbox saved a visa card ending 4242" in caplog.text
    assert_no_card_data(caplog.text, [*ALL_NUMBERS, "4111111111111111"], [CVC, "1234"])


def test_the_setting_selects_the_gateway(settings):
    settings.BILLTONE_PAYMENT_GATEWAY = "sandbox"
    assert isinstance(get_gateway(), SandboxGateway)

    settings.BILLTONE_PAYMENT_GATEWAY = "stripe"
    settings.STRIPE_API_KEY = "sk_test_123"
    assert isinstance(get_gateway(), StripeGateway)
    assert get_gateway().name == "stripe"

    settings.STRIPE_API_KEY = ""
    with pytest.raises(ImproperlyConfigured):
        get_gateway()

    settings.BILLTONE_PAYMENT_GATEWAY = "paypal"
    with pytest.raises(ImproperlyConfigured):
        get_gateway()
