"""Writes of the banktransfers app (the customer's side of bank transfers); import them from
here.

- bank_accounts: the operator's bank accounts, one per currency.
- bank_transfers: a customer's bank transfer (an amount, its own reference, an expiry),
  the account's permanent reference, expiry, and receiving the money that arrived for one.
- bulk: the same for a statement import's thousands: the references a batch quotes, and
  receiving many bank transfers at once by the same rule.
"""

from billtone.banktransfers.services.bank_accounts import (
    BankAccountInput,
    BankTransferUnavailable,
    bank_account_clean,
    bank_account_save,
    operator_bank_account_for,
)
from billtone.banktransfers.services.bank_transfers import (
    BankTransferLimits,
    account_reference_get_or_create,
    bank_transfer_amount_clean,
    bank_transfer_amount_limits,
    bank_transfer_arrival,
    bank_transfer_create,
    bank_transfer_expire_due,
    bank_transfer_receive,
    bank_transfers_lock,
)
from billtone.banktransfers.services.bulk import bank_transfers_receive_many, references_find

__all__ = [
    "BankTransferLimits",
    "BankAccountInput",
    "BankTransferUnavailable",
    "account_reference_get_or_create",
    "bank_account_clean",
    "bank_account_save",
    "bank_transfer_amount_clean",
    "bank_transfer_amount_limits",
    "bank_transfer_create",
    "bank_transfer_expire_due",
    "bank_transfer_receive",
    "bank_transfer_arrival",
    "bank_transfers_lock",
    "bank_transfers_receive_many",
    "references_find",
    "operator_bank_account_for",
]
