"""Writes of the payments app, split by sub-domain; import them from here."""

from billtone.payments.services.cards import (
    auto_payments_set,
    card_add,
    card_remove,
    card_set_default,
    payment_settings_lock,
)
from billtone.payments.services.charges import (
    automatic_payment_charge,
    card_charge,
    charge_confirm,
    charge_outcome_record,
)
from billtone.payments.services.notices import card_expiry_notify_due
from billtone.payments.services.recovery import payment_recover
from billtone.payments.services.refunds import (
    payment_refund,
    refund_outcome_record,
    refund_recover,
)
from billtone.payments.services.shared import purpose_ledger_account

__all__ = [
    "auto_payments_set",
    "automatic_payment_charge",
    "card_add",
    "card_charge",
    "card_expiry_notify_due",
    "card_remove",
    "card_set_default",
    "charge_confirm",
    "charge_outcome_record",
    "payment_recover",
    "payment_refund",
    "payment_settings_lock",
    "purpose_ledger_account",
    "refund_outcome_record",
    "refund_recover",
]
