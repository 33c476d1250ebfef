"""Fixtures for the bank transfer tests: the operator's bank accounts, as in the demo."""

import pytest

from billtone.banktransfers.services import BankAccountInput, bank_account_save
from billtone.core.services import Actor

EUR_BANK = BankAccountInput(
    currency="EUR",
    account_holder="Billtone Telecom B.V.",
    iban="NL91 ABNA 0417 1643 00",
    bic="ABNANL2A",
    bank_name="ABN AMRO Bank N.V.",
    bank_address="Gustav Mahlerlaan 10, 1082 PP Amsterdam, Netherlands",
)
GBP_BANK = BankAccountInput(
    currency="GBP",
    account_holder="Billtone Telecom Ltd",
    iban="GB33BUKB20201555555555",
    bic="BUKBGB22",
    bank_name="Barclays Bank UK PLC",
    bank_address="1 Churchill Place, London E14 5HP, United Kingdom",
)


def operator_banks_save() -> dict:
    """The operator banks in EUR and GBP, not in USD."""
    operator = Actor.system("test")
    return {
        data.currency: bank_account_save(data=data, actor=operator) for data in (EUR_BANK, GBP_BANK)
    }


@pytest.fixture
def operator_banks(db):
    return operator_banks_save()
