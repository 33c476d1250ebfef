"""Property-based tests of the whole API against its own OpenAPI schema (schemathesis).

Every operation in /api/v1/openapi.json gets generated requests, in-process through the WSGI
app and inside pytest-django's test database, with a valid token of the right kind. Each
response must not be a 5xx, must have a status code, content type, headers and body that the
schema declares.
"""

import hypothesis
import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from schemathesis.config import SchemathesisConfig

from billtone.accounts.services import api_token_create, operator_token_create
from config.wsgi import application

from .objects import ACTOR

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
        "checks": {
            # A schema-valid body may still break a business rule (an unknown currency or time
            # zone, a bad tax id): that is a 422 by design, not a bug.
            "positive_data_acceptance": {"enabled": False},
        },
    }
)
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application, config=CONFIG)


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


@pytest.fixture
def tokens(db, test_connection_kept, owner, django_user_model):
    staff = django_user_model.objects.create_user("schemathesis-ops", is_staff=True)
    customer = api_token_create(membership=owner, name="schemathesis", actor=ACTOR)
    operator = operator_token_create(user=staff, name="schemathesis")
    return {
        "CustomerTokenAuth": f"Bearer {customer.secret}",
        "OperatorTokenAuth": f"Bearer {operator.secret}",
    }


@schema.parametrize()
@hypothesis.settings(
    suppress_health_check=[
        hypothesis.HealthCheck.function_scoped_fixture,
        hypothesis.HealthCheck.too_slow,
        hypothesis.HealthCheck.filter_too_much,
    ],
)
def test_api_conforms_to_its_schema(case, tokens):
    schemes = [name for item in case.operation.definition.raw.get("security", []) for name in item]
    headers = {"Authorization": tokens[schemes[0]]} if schemes else {}
    case.call_and_validate(headers=headers)
