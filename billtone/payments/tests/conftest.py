import itertools

import pytest

from billtone.core import clock
from billtone.core.money import Money
from billtone.core.services import Actor
from billtone.payments import services
from billtone.payments.gateways.sandbox import TEST_CARDS

ACTOR = Actor.system("test")
SUCCEEDS = "4242424242424242"
THREE_D_SECURE = "4000002500003155"
INSUFFICIENT = "4000000000009995"
# (number, charge outcome on session, off session, failure code): what the sandbox documents.
CARD_OUTCOMES = [
    ("4242424242424242", "succeeded", "succeeded", ""),
    ("5555555555554444", "succeeded", "succeeded", ""),
    ("378282246310005", "succeeded", "succeeded", ""),
    ("4000056655665556", "succeeded", "succeeded", ""),
    ("5200828282828210", "succeeded", "succeeded", ""),
    ("4000000000000002", "failed", "failed", "generic_decline"),
    ("4000000000000341", "failed", "failed", "generic_decline"),
    ("4000000000009995", "failed", "failed", "insufficient_funds"),
    ("4000000000000069", "failed", "failed", "expired_card"),
    ("4000000000000127", "failed", "failed", "incorrect_cvc"),
    ("4000000000000119", "failed", "failed", "processing_error"),
    ("4000002500003155", "requires_action", "failed", "authentication_required"),
]
assert {number for number, *_ in CARD_OUTCOMES} == set(TEST_CARDS)

_keys = itertools.count(1)


def new_key(prefix: str = "test") -> str:
    return f"{prefix}-{next(_keys)}"


def cvc_for(number: str) -> str:
    return "1234" if number.startswith("37") else "737"


def add_card(account, number: str = SUCCEEDS, **changes):
    fields = {
        "number": number,
        "exp_month": 11,
        "exp_year": clock.now().year + 3,
        "cvc": cvc_for(number),
        "holder_name": "Ada Lovelace",
        "actor": ACTOR,
    }
    fields.update(changes)
    return services.card_add(account=account, **fields)


def charge(account, card, amount: str | Money = "25.00", **changes):
    if not isinstance(amount, Money):
        amount = Money(amount, account.billing_profile.currency)
    fields = {
        "amount": amount,
        "purpose": "business_funds",
        "on_session": True,
        "idempotency_key": new_key("charge"),
        "actor": ACTOR,
    }
    fields.update(changes)
    return services.card_charge(account=account, card=card, **fields)


@pytest.fixture
def card(account):
    return add_card(account)


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory):
    """The Stripe API emulator, one for the test session (each test makes its own
    customers, so tests do not see each other's cards and charges)."""
    from billtone.payments.tests.stripe_emulator import localstripe_running

    try:
        with localstripe_running(tmp_path_factory.mktemp("localstripe") / "server.log") as base:
            yield base
    except RuntimeError as error:
        pytest.fail(str(error))
