"""Fixtures shared by every app's tests."""

import itertools

import pytest
from django.test import Client
from hypothesis import settings as hypothesis_settings

from billtone.accounts.models import BillingProfile, Membership
from billtone.accounts.services import account_create, api_token_create, member_add
from billtone.core.services import Actor
from config.celery import app as celery_app

# Tests run tasks in-process, right when they are scheduled; the tests of the background
# worker (billtone/banktransfers/tests/test_background.py) start a real one.
celery_app.conf.task_always_eager = True

_counter = itertools.count(1)

# Property tests check results, not timings: on a shared two-core machine a single example may
# take longer than Hypothesis's default 200 ms deadline, which failed healthy tests as "flaky".
hypothesis_settings.register_profile("billtone", deadline=None)
hypothesis_settings.load_profile("billtone")


@pytest.fixture
def make_account(db):
    def make(name: str | None = None, currency: str = "EUR", timezone: str = "Europe/Berlin"):
        n = next(_counter)
        return account_create(
            name=name or f"Customer {n}",
            owner_email=f"owner{n}@customer{n}.example",
            owner_password="correct horse battery",
            currency=currency,
            timezone=timezone,
        )

    return make


@pytest.fixture
def account(make_account):
    return make_account("Acme Telecom GmbH")


@pytest.fixture
def german(account):
    """The account billed in Germany (locale en_DE): amounts are read as Germans write them."""
    BillingProfile.objects.filter(account=account).update(country="DE")
    return account


@pytest.fixture
def other_account(make_account):
    return make_account("Globex Ltd", currency="GBP", timezone="Europe/London")


def owner_of(account) -> Membership:
    return account.memberships.select_related("user", "account").get(role=Membership.Role.OWNER)


@pytest.fixture
def owner(account):
    return owner_of(account)


@pytest.fixture
def member(account):
    n = next(_counter)
    return member_add(
        account=account,
        email=f"member{n}@acme.example",
        password="correct horse battery",
        role=Membership.Role.MEMBER,
        actor=Actor.system("test"),
    )


class ApiClient(Client):
    """A test client that sends a bearer token and JSON bodies."""

    def __init__(self, secret: str, **kwargs):
        super().__init__(HTTP_AUTHORIZATION=f"Bearer {secret}", **kwargs)

    def get(self, path, data=None, **extra):
        return super().get(path, data, **extra)

    def post(self, path, data=None, content_type="application/json", **extra):
        return super().post(path, data, content_type=content_type, **extra)

    def put(self, path, data=None, content_type="application/json", **extra):
        return super().put(path, data, content_type=content_type, **extra)


def api_client_for(membership: Membership) -> ApiClient:
    issued = api_token_create(membership=membership, name="test", actor=Actor.system("test"))
    return ApiClient(issued.secret)


@pytest.fixture
def api(owner):
    return api_client_for(owner)


@pytest.fixture
def other_api(other_account):
    return api_client_for(owner_of(other_account))


@pytest.fixture
def web(owner):
    client = Client()
    client.force_login(owner.user)
    return client
