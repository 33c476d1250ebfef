import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from billtone.banktransfers.tests.funding import operator_banks_save
from billtone.reconciliation.tests.importing import Customer, customer_make


@pytest.fixture
def customer(account) -> Customer:
    """The account with the operator's bank accounts, its permanent reference and a request
    of 250.00 awaiting funds (statement import tests)."""
    operator_banks_save()
    return customer_make(account)


@pytest.fixture
def media(settings, tmp_path):
    """Uploaded statements stored under the test's own folder."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def staff(db):
    """A back-office client logged in as a superuser."""
    user = get_user_model().objects.create_superuser("operator", "op@example.com", "pw-operator")
    client = Client()
    client.force_login(user)
    return client
