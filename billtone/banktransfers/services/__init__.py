"""Writes of the banktransfers app (the customer's side of bank transfers); import them from
here.

- bank_accounts: the operator's bank accounts, one per currency.
- funding_requests: a customer's funding request (an amount, its own reference, an expiry),
  the account's permanent reference, expiry, and receiving the money that arrived for one.
"""

from billtone.banktransfers.services.bank_accounts import (
    BankAccountInput,
    BankTransferUnavailable,
    bank_account_clean,
    bank_account_save,
    operator_bank_account_for,
)
from billtone.banktransfers.services.funding_requests import (
    AmountLimits,
    account_reference_get_or_create,
    funding_amount_clean,
    funding_amount_limits,
    funding_request_create,
    funding_request_expire_due,
    funding_request_receive,
)

__all__ = [
    "AmountLimits",
    "BankAccountInput",
    "BankTransferUnavailable",
    "account_reference_get_or_create",
    "bank_account_clean",
    "bank_account_save",
    "funding_amount_clean",
    "funding_amount_limits",
    "funding_request_create",
    "funding_request_expire_due",
    "funding_request_receive",
    "operator_bank_account_for",
]
