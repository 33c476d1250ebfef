import re

import pytest
from django.test import Client

from billtone.ledger.models import LedgerAccount


@pytest.fixture
def operator(django_user_model):
    user = django_user_model.objects.create_superuser("ops", "ops@operator.example", "x")
    client = Client()
    client.force_login(user)
    return client


def test_operator_sees_any_ledger_account_with_its_postings(operator, ledger, bank, deposit):
    deposit(ledger.business_funds, "42.00", memo="Transfer RF18 0042")
    listing = operator.get("/admin/ledger/ledgeraccount/")
    assert listing.status_code == 200
    assert "Acme Telecom GmbH" in listing.content.decode()

    page = operator.get(f"/admin/ledger/ledgeraccount/{ledger.business_funds.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Transfer RF18 0042" in html and "42.0000" in html
    assert re.search(r"<td>\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC</td>", html)  # zone named
    assert 'name="_save"' not in html  # read-only: no save button

    postings = operator.get(
        f"/admin/ledger/posting/?ledger_account__id__exact={ledger.business_funds.pk}"
    )
    assert postings.status_code == 200
    assert "1 posting" in postings.content.decode()

    bank_page = operator.get(f"/admin/ledger/ledgeraccount/{bank.pk}/change/")
    assert "-42.0000" in bank_page.content.decode()


def test_operator_sees_a_transaction_with_its_postings(operator, ledger, deposit):
    txn = deposit(ledger.business_funds, "7.00", memo="Transfer RF18 0007")
    page = operator.get(f"/admin/ledger/transaction/{txn.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Transfer RF18 0007" in html and "-7.0000" in html


def test_the_back_office_cannot_add_change_or_delete(operator, ledger, deposit):
    txn = deposit(ledger.business_funds, "7.00")
    assert operator.get("/admin/ledger/transaction/add/").status_code == 403
    assert operator.get("/admin/ledger/ledgeraccount/add/").status_code == 403
    assert operator.get(f"/admin/ledger/transaction/{txn.pk}/delete/").status_code == 403
    response = operator.post(
        f"/admin/ledger/ledgeraccount/{ledger.business_funds.pk}/change/", {"balance": "1000"}
    )
    assert response.status_code == 403
    assert LedgerAccount.objects.get(pk=ledger.business_funds.pk).balance == 7
