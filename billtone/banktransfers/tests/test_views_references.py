"""Payment methods says which of the two references to quote when."""

import pytest

from billtone.banktransfers.tests.funding import operator_banks  # noqa: F401

pytestmark = pytest.mark.usefixtures("operator_banks")
METHODS = "/billing/payment-methods/"
ADD = "/billing/payment-methods/bank-transfer/"


def _sentence(html: str, element_id: str) -> str:
    start = html.index(f'id="{element_id}">') + len(element_id) + 6
    return " ".join(html[start : html.index("</", start)].split())


def test_the_account_reference_and_each_transfers_reference_are_explained(web, account):
    html = web.get(METHODS).content.decode()
    assert _sentence(html, "account-reference-use").startswith(
        "Your reference never changes: quote it on any transfer of any amount"
    )
    assert 'id="transfer-reference-use"' not in html  # no transfers yet: nothing to explain

    assert web.post(ADD, {"amount_choice": "100.00"}).status_code == 302
    html = web.get(METHODS).content.decode()
    assert _sentence(html, "transfer-reference-use") == (
        "Each bank transfer you add has its own reference: quote it to pay that transfer,"
        " and it is marked received when the money arrives."
    )
