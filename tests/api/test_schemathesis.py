"""Property-based tests of the whole API against its own OpenAPI schema (schemathesis).

Every operation in /api/v1/openapi.json, every method (DELETE too), gets generated requests,
in-process through the WSGI app and inside pytest-django's test database, with every one of
schemathesis' checks: no 5xx; the status code, content type, headers and body the schema
declares; schema-violating requests refused; schema-valid ones accepted (see ACCEPTED);
missing headers, unsupported methods and requests without credentials refused.

Each operation runs in an account of its own, and the ids in an example's path and body are
real objects of that account (a card, a payment, a transfer; a new token or card for each
DELETE, so that what one example revokes or removes is never the next one's). So the generated
amounts, dates and pages reach the code that parses them instead of stopping at a 404 for an id
that does not exist. Each valid Idempotency-Key is made unique, so that a key schemathesis
draws twice never replays another example's request.

Checks that do nothing here, and why: `object_level_authorization` needs several identities
configured in schemathesis (tests/api/test_route_scoping.py walks every route with another
account's token instead); `use_after_free` and `ensure_resource_availability` follow
links between operations, which only the stateful phase uses; `max_response_time` needs a
limit, and speed is measured in bench/, not in tests.
"""

import itertools
import uuid

import hypothesis
import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from schemathesis.config import SchemathesisConfig

from billtone.accounts.models import Membership
from billtone.accounts.services import account_create, api_token_create, operator_token_create
from billtone.banktransfers.services import bank_transfer_create
from billtone.banktransfers.tests.funding import operator_banks_save
from billtone.core.money import Money
from billtone.payments.models import SavedCard
from billtone.payments.services import card_add, card_charge
from config.wsgi import application

from .objects import ACTOR

ACCEPTED_DEFAULT = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
# Where a schema-valid request can still break a rule that the schema cannot state, and is
# then a 422 problem by design (402: a card the sandbox declines).
ACCEPTED = {
    ("PUT", "/api/v1/billing-profile"): "a currency, time zone or tax id that is not enabled",
    ("POST", "/api/v1/api-tokens"): "a name that is only spaces",
    ("GET", "/api/v1/api-tokens"): "a page past the last",
    ("GET", "/api/v1/audit-log"): "a page past the last",
    ("GET", "/api/v1/ledger/{kind}/statement"): "from after to, over 366 days, past the last page",
    ("POST", "/api/v1/bank-transfers"): "an amount outside the operator's limits or minor unit",
    ("GET", "/api/v1/bank-transfers"): "a page past the last",
    ("GET", "/api/v1/payment-methods"): "a page past the last",
    ("POST", "/api/v1/payment-methods"): "a number that fails Luhn, an expiry in the past",
    ("PUT", "/api/v1/automatic-payments"): "turning them on with no default card",
    ("POST", "/api/v1/payments"): "an amount outside the limits, zero, too many decimals",
    ("GET", "/api/v1/payments"): "a page past the last",
    ("POST", "/api/v1/payments/{payment_id}/refunds"): "more than is left, too many decimals",
    ("GET", "/api/v1/operator/accounts"): "a page past the last",
    ("POST", "/api/v1/basket/lines"): "a product not sold in the currency, a user's bad email",
    ("PATCH", "/api/v1/basket/lines/{line_id}"): "more than is in stock",
    ("POST", "/api/v1/checkout"): "a new card that fails Luhn, a saved card of another account",
}

CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20240601,
        "generation": {
            "max-examples": 30,
            "deterministic": True,
            # The token is sent by the test; unknown query parameters are ignored, as is usual.
            "with-security-parameters": False,
            "allow-extra-parameters": False,
        },
        "operations": [
            {
                "include-method": method,
                "include-path": path,
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": [*ACCEPTED_DEFAULT, "402", "422"]
                    }
                },
            }
            for method, path in ACCEPTED
        ],
    }
)
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application, config=CONFIG)
_worlds = itertools.count(1)


@pytest.fixture
def test_connection_kept():
    """Keep the test's database connection across requests, as Django's test client does.

    The WSGI handler closes connections at the start and end of each request, and a connection
    inside the test's transaction counts as unusable: on PostgreSQL that would close the
    connection that holds the test data.
    """
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


class World:
    """The account an operation's examples run in, its token, and objects for the ids in their
    paths and bodies: one of each kind, shared (reads, a default card, refunds that may drain
    the payment: what is refused still passes the parsing), or a new one for each DELETE."""

    def __init__(self, staff):
        n = next(_worlds)
        account = account_create(
            name=f"Schemathesis {n}",
            owner_email=f"owner{n}@schemathesis.example",
            owner_password=None,
            currency="EUR",
            timezone="Europe/Berlin",
        )
        self.owner = account.memberships.select_related("user", "account").get(
            role=Membership.Role.OWNER
        )
        self.account = account
        self.staff = staff
        self._headers: dict[str, str] = {}
        self._made: dict[str, int] = {}

    def authorization(self, scheme: str) -> str:
        if scheme not in self._headers:
            if scheme == "OperatorTokenAuth":
                issued = operator_token_create(user=self.staff, name="schemathesis")
            else:
                issued = api_token_create(membership=self.owner, name="schemathesis", actor=ACTOR)
            self._headers[scheme] = f"Bearer {issued.secret}"
        return self._headers[scheme]

    def card(self) -> int:
        return card_add(
            account=self.account,
            number="4242424242424242",
            exp_month=12,
            exp_year=2040,
            cvc="123",
            holder_name="Schemathesis",
            actor=ACTOR,
        ).pk

    def payment(self) -> int:
        return card_charge(
            account=self.account,
            card=SavedCard.objects.get(pk=self.card()),
            amount=Money("80.00", "EUR"),
            purpose="business_funds",
            on_session=True,
            idempotency_key=f"schemathesis-{uuid.uuid4().hex}",
            actor=ACTOR,
        ).pk

    def transfer(self) -> int:
        operator_banks_save()
        return bank_transfer_create(account=self.account, amount="250", actor=ACTOR).pk

    def token(self) -> int:
        """Not the token the requests send: a DELETE may revoke this one."""
        return api_token_create(membership=self.owner, name="spendable", actor=ACTOR).token.pk

    def object_id(self, name: str, *, fresh: bool) -> int | None:
        factory = {
            "card_id": self.card,
            "payment_id": self.payment,
            "transfer_id": self.transfer,
            "token_id": self.token,
            "account_id": lambda: self.account.pk,
        }.get(name)
        if factory is None:
            return None
        if fresh:
            return factory()
        if name not in self._made:
            self._made[name] = factory()
        return self._made[name]


@pytest.fixture
def world(db, test_connection_kept, django_user_model):
    staff = django_user_model.objects.create_user("schemathesis-ops", is_staff=True)
    return World(staff)


def _is_valid_key(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 255 and bool(value.strip())


@schema.parametrize()
@hypothesis.settings(
    suppress_health_check=[
        hypothesis.HealthCheck.function_scoped_fixture,
        hypothesis.HealthCheck.too_slow,
        hypothesis.HealthCheck.filter_too_much,
    ],
)
def test_api_conforms_to_its_schema(case, world):
    fresh = case.method.upper() == "DELETE"
    for name, value in (case.path_parameters or {}).items():
        if isinstance(value, int) and not isinstance(value, bool):
            made = world.object_id(name, fresh=fresh)
            if made is not None:
                case.path_parameters[name] = made
    card_id = case.body.get("card_id") if isinstance(case.body, dict) else None
    if isinstance(card_id, int) and not isinstance(card_id, bool):
        case.body["card_id"] = world.object_id("card_id", fresh=False)
    # A key schemathesis draws twice would replay or refuse the other example's request; a
    # key that breaks the header's schema stays, to be refused.
    if case.headers and _is_valid_key(case.headers.get("Idempotency-Key")):
        case.headers["Idempotency-Key"] = uuid.uuid4().hex
    schemes = [name for item in case.operation.definition.raw.get("security", []) for name in item]
    headers = {"Authorization": world.authorization(schemes[0])} if schemes else {}
    case.call_and_validate(headers=headers)
