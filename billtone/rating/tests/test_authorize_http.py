"""The production server's lean path for GET /api/v1/authorize (config/wsgi.py) answers as
the Ninja route does: the WSGI callable gunicorn runs is called with built environs, and
each answer compared with Django's (middleware, Ninja) for the same request."""

import json
import logging
import time
from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import RequestFactory
from pydantic import ValidationError

from billtone.accounts.models import ApiToken
from billtone.accounts.services import api_token_create, operator_token_create
from billtone.rating import authorize_http
from billtone.rating.cdr_schemas import AuthorizeQuery
from billtone.rating.hold_models import CallHold
from billtone.rating.tests.conftest import ACTOR, credit_add, holds_clear
from billtone.telephony.models import AccountSuspension
from config.wsgi import application, django_application
from conftest import owner_of

pytestmark = pytest.mark.django_db
NOW = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)
LONDON = "020 7946 0958"


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def _connection_kept():
    """As Django's test client does: the request signals must not close the test's
    connection (and with it its transaction)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _no_trusted_tokens():
    authorize_http._trusted.clear()


@pytest.fixture
def operator_secret(db):
    staff = get_user_model().objects.create_user("ops", password="x", is_staff=True)
    return operator_token_create(user=staff, name="ops").secret


def call(app, query, authorization=None, method="get", **extra):
    """(status, headers, body bytes) from the WSGI callable `app`."""
    if authorization is not None:
        extra["HTTP_AUTHORIZATION"] = authorization
    environ = getattr(RequestFactory(), method)("/api/v1/authorize", query, **extra).environ
    started = {}

    def start_response(status, headers, exc_info=None):
        started["status"], started["headers"] = status, headers

    body = b"".join(app(environ, start_response))
    return started["status"], dict(started["headers"]), body


def both(query, authorization=None, **extra):
    """The lean path's answer and Django's, holds taken by the first removed before the
    second so that both see the same credit."""
    lean = call(application, query, authorization, **extra)
    holds_clear()
    django = call(django_application, query, authorization, **extra)
    holds_clear()
    return lean, django


def test_the_lean_path_answers_every_case_as_the_ninja_route(gb, uk_deck, operator_secret):
    credit_add(gb, "1.00")
    bearer = f"Bearer {operator_secret}"
    issued = api_token_create(membership=owner_of(gb), name="customer", actor=ACTOR)
    customer = f"Bearer {issued.secret}"
    cases = [
        ({"account": gb.pk, "destination": LONDON, "call_id": "x1"}, bearer),
        ({"account": gb.pk, "destination": LONDON, "user": "22"}, bearer),
        ({"account": gb.pk, "destination": "999"}, bearer),
        ({"account": gb.pk, "destination": "*97"}, bearer),
        ({"account": gb.pk, "destination": "+81 3 1234 5678"}, bearer),
        ({"account": f" {gb.pk} ", "destination": LONDON}, bearer),
        ({"account": "999999", "destination": LONDON}, bearer),
        ({"account": "not a number", "destination": LONDON}, bearer),
        ({"account": gb.pk}, bearer),
        ({"account": gb.pk, "destination": LONDON, "user": "1" * 81}, bearer),
        ({}, bearer),
        ({"account": gb.pk, "destination": LONDON}, None),
        ({"account": gb.pk, "destination": LONDON}, f"Bearer {operator_secret}x"),
        ({"account": gb.pk, "destination": LONDON}, f"Basic {operator_secret}"),
        ({"account": gb.pk, "destination": LONDON}, "Bearer"),
        ({"account": gb.pk, "destination": LONDON}, customer),
        ({}, f"Bearer {operator_secret}x"),  # the token is checked before the query
    ]
    statuses = []
    for query, authorization in cases:
        lean, django = both(query, authorization)
        assert lean[0] == django[0], (query, authorization, lean, django)
        assert json.loads(lean[2]) == json.loads(django[2]), (query, lean, django)
        assert lean[1] == django[1], (query, lean[1], django[1])
        statuses.append(int(lean[0][:3]))
    assert statuses == [200] * 6 + [404, 404, 422, 422, 422, 401, 401, 401, 401, 403, 401]


def test_a_repeated_parameter_counts_by_its_last_value_as_in_django(gb, uk_deck, operator_secret):
    credit_add(gb, "1.00")
    query = f"account={gb.pk}&destination=*97&destination={LONDON.replace(' ', '+')}"
    lean, django = both({}, f"Bearer {operator_secret}", QUERY_STRING=query)
    assert json.loads(lean[2]) == json.loads(django[2])
    assert json.loads(lean[2])["destination"] == "+442079460958"


def test_the_lean_path_holds_credit_as_the_service_does(gb, uk_deck, operator_secret):
    credit_add(gb, "1.00")
    status, _, body = call(
        application, {"account": gb.pk, "destination": LONDON}, f"Bearer {operator_secret}"
    )
    assert status == "200 OK"
    assert json.loads(body)["held"] == "1.0000"
    assert CallHold.objects.get(account=gb).amount == 1
    again = json.loads(
        call(application, {"account": gb.pk, "destination": LONDON}, f"Bearer {operator_secret}")[2]
    )
    assert (again["allowed"], again["reason"]) == (False, "no_credit")
    AccountSuspension.objects.create(account=gb, suspended_at=NOW, reason="unpaid")
    suspended = json.loads(
        call(application, {"account": gb.pk, "destination": LONDON}, f"Bearer {operator_secret}")[2]
    )
    assert suspended["reason"] == "suspended"


def test_other_methods_and_paths_go_to_django(gb, operator_secret):
    status, headers, body = call(
        application,
        {"account": gb.pk, "destination": LONDON},
        f"Bearer {operator_secret}",
        method="post",
    )
    assert status.startswith("405")
    assert headers["Content-Type"] == "application/problem+json"
    environ = RequestFactory().get("/api/v1/authorize/").environ
    assert not authorize_http.takes(environ)


def test_an_unexpected_error_is_a_logged_500_problem(
    gb, uk_deck, operator_secret, monkeypatch, caplog
):
    def broken(**kw):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(authorize_http, "call_authorize", broken)
    with caplog.at_level(logging.ERROR, logger="billtone.api"):
        status, headers, body = call(
            application, {"account": gb.pk, "destination": LONDON}, f"Bearer {operator_secret}"
        )
    assert status == "500 Internal Server Error"
    assert headers["Content-Type"] == "application/problem+json"
    assert json.loads(body)["type"].endswith("/internal-error")
    assert "the database went away" in caplog.text


def test_a_revoked_operator_token_is_refused_within_the_trust_window(
    gb, uk_deck, operator_secret, monkeypatch
):
    credit_add(gb, "1.00")
    query = {"account": gb.pk, "destination": "*97"}
    assert call(application, query, f"Bearer {operator_secret}")[0] == "200 OK"
    ApiToken.objects.update(revoked_at=NOW)
    # Trusted for TOKEN_TRUST_SECONDS after its last lookup, then looked up and refused.
    assert call(application, query, f"Bearer {operator_secret}")[0] == "200 OK"
    later = time.monotonic() + authorize_http.TOKEN_TRUST_SECONDS + 0.1
    monkeypatch.setattr(authorize_http.time, "monotonic", lambda: later)
    status, headers, _ = call(application, query, f"Bearer {operator_secret}")
    assert (status, headers["WWW-Authenticate"]) == ("401 Unauthorized", "Bearer")


@pytest.mark.parametrize(
    "values",
    [
        {"account": "1", "destination": "020"},
        {"account": "1", "destination": "020", "user": "", "call_id": "c" * 255},
        {"account": "a" * 80, "destination": "d" * 255, "user": "u" * 80},
        {"account": "a" * 81, "destination": "020"},
        {"account": "1", "destination": "020", "call_id": "c" * 256},
        {"destination": "020"},
        {"account": "1", "user": "22"},
        {},
    ],
)
def test_the_plain_query_is_the_schemas_or_none(values):
    try:
        expected = AuthorizeQuery.model_validate(values).model_dump()
    except ValidationError:
        expected = None
    plain = authorize_http._plain_query(dict(values))
    assert (plain.model_dump() if plain else None) == expected


def test_a_query_of_too_many_fields_is_refused_as_django_refuses_it(gb, operator_secret):
    """Django's DATA_UPLOAD_MAX_NUMBER_FIELDS (1,000) counts a query string's fields too:
    never a 500."""
    query = f"account={gb.pk}&destination=01&" + "&".join(f"x{n}=1" for n in range(1001))
    lean, django = both({}, f"Bearer {operator_secret}", QUERY_STRING=query)
    assert lean[0] == django[0] == "400 Bad Request"
    assert json.loads(lean[2]) == json.loads(django[2])
    assert json.loads(lean[2])["type"].endswith("/request-refused")
