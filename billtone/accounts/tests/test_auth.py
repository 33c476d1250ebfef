"""Bearer-token authentication: what an API read costs in SQL, and who it lets in."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billtone.accounts.models import ApiToken, Membership
from billtone.accounts.selectors import api_token_from_secret, token_membership
from billtone.accounts.services import (
    account_create,
    api_token_create,
    api_token_touch,
    operator_token_create,
)
from billtone.core.services import Actor
from conftest import ApiClient

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _statements(client: ApiClient, path: str) -> list[str]:
    """The SQL statements one GET runs, each cut to its verb and first table."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, response.content
    shapes = []
    for query in captured.captured_queries:
        sql = query["sql"]
        verb = sql.split(None, 1)[0].upper()
        table = sql.split(" FROM " if verb == "SELECT" else verb, 1)[1].split()[0].strip('"`')
        shapes.append(f"{verb} {table}")
    return shapes


@pytest.fixture
def token_api(owner):
    issued = api_token_create(membership=owner, name="reads", actor=Actor.system("test"))
    return issued.token, ApiClient(issued.secret)


@pytest.mark.parametrize(
    ("path", "reads"),
    [
        ("/api/v1/balances", ["SELECT ledger_ledgeraccount"]),
        ("/api/v1/billing-profile", []),  # the profile came with the token
    ],
)
def test_a_read_finds_token_and_membership_in_one_query_and_records_use_once_a_minute(
    token_api, path, reads
):
    token, api = token_api
    auth = ["SELECT accounts_apitoken"]
    with time_machine.travel(START, tick=False) as traveller:
        assert _statements(api, path) == [*auth, "UPDATE accounts_apitoken", *reads]
        traveller.shift(timedelta(seconds=30))
        assert _statements(api, path) == [*auth, *reads]  # within a minute: no write
        traveller.shift(timedelta(seconds=29))
        assert _statements(api, path) == [*auth, *reads]
        traveller.shift(timedelta(seconds=2))  # 61 s after the recorded use
        assert _statements(api, path) == [*auth, "UPDATE accounts_apitoken", *reads]
    token.refresh_from_db()
    assert token.last_used_at == START + timedelta(seconds=61)


def _fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


@pytest.mark.parametrize("kind", ["owner", "left the account", "operator"])
def test_the_token_query_loads_what_the_orm_loads(django_user_model, owner, kind):
    """The hand-written lookup (core/rows.py) against select_related: every field of the five
    rows, converted as the ORM converts them (datetimes, booleans on SQLite), and the missing
    relations of an operator token and of a user who left."""
    if kind == "operator":
        staff = django_user_model.objects.create_user("ops", password="x", is_staff=True)
        issued = operator_token_create(user=staff, name="ops")
    else:
        issued = api_token_create(membership=owner, name="reads", actor=Actor.system("test"))
        api_token_touch(token=issued.token)
    if kind == "left the account":
        Membership.objects.filter(pk=owner.pk).delete()

    loaded = api_token_from_secret(issued.secret)
    expected = ApiToken.objects.select_related("user", "account__billing_profile").get(
        pk=issued.token.pk
    )
    assert _fields(loaded) == _fields(expected)
    assert _fields(loaded.user) == _fields(expected.user)
    if kind == "operator":
        assert loaded.account is None
    else:
        assert _fields(loaded.account) == _fields(expected.account)
        assert _fields(loaded.account.billing_profile) == _fields(expected.account.billing_profile)
    if kind == "owner":
        assert _fields(loaded.user.membership) == _fields(Membership.objects.get(pk=owner.pk))
        assert token_membership(loaded).account is loaded.account
    else:
        assert token_membership(loaded) is None


def test_operator_token_records_its_use_once_a_minute(django_user_model, account):
    staff = django_user_model.objects.create_user("ops", password="x", is_staff=True)
    issued = operator_token_create(user=staff, name="ops")
    operator = ApiClient(issued.secret)
    path = f"/api/v1/operator/accounts/{account.pk}"
    with time_machine.travel(START, tick=False) as traveller:
        assert "UPDATE accounts_apitoken" in _statements(operator, path)
        traveller.shift(timedelta(seconds=59))
        assert "UPDATE accounts_apitoken" not in _statements(operator, path)
    assert ApiToken.objects.get(pk=issued.token.pk).last_used_at == START


def test_two_workers_holding_the_same_stale_token_record_its_use_once(token_api):
    """The conditional UPDATE: a second worker that loaded the token before the first wrote
    it writes nothing."""
    token, _ = token_api
    first = ApiToken.objects.get(pk=token.pk)
    second = ApiToken.objects.get(pk=token.pk)
    with time_machine.travel(START, tick=False) as traveller:
        api_token_touch(token=first)
        traveller.shift(timedelta(seconds=1))
        with CaptureQueriesContext(connection) as captured:
            api_token_touch(token=second)
    assert len(captured) == 1  # the UPDATE ran, but matched no row
    assert ApiToken.objects.get(pk=token.pk).last_used_at == START


def test_token_of_a_member_who_left_or_moved_to_another_account_is_refused(
    token_api, owner, django_user_model
):
    _, api = token_api
    assert api.get("/api/v1/balances").status_code == 200
    user = owner.user
    Membership.objects.filter(pk=owner.pk).delete()
    assert api.get("/api/v1/balances").status_code == 401
    elsewhere = account_create(
        name="Initech", owner_email="boss@initech.example", owner_password=None, currency="USD"
    )
    Membership.objects.create(
        account=elsewhere, user=user, role=Membership.Role.OWNER, created_at=START
    )
    assert api.get("/api/v1/balances").status_code == 401
    assert api.get("/api/v1/billing-profile").status_code == 401
