import pytest

from billtone.banktransfers.tests.funding import operator_banks_save
from billtone.reconciliation.tests.importing import Customer, customer_make


@pytest.fixture
def customer(account) -> Customer:
    """The account with the operator's bank accounts, its permanent reference and a request
    of 250.00 awaiting funds (statement import tests)."""
    operator_banks_save()
    return customer_make(account)
