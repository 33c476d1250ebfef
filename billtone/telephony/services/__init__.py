"""Writes of the telephony app, split by sub-domain; import them from here."""

from billtone.telephony.services.activation import items_activate
from billtone.telephony.services.cancellation import cancellations_finish, item_cancel
from billtone.telephony.services.numbers import (
    holds_lapse,
    number_cancel,
    number_hold,
    number_hold_extend,
    number_release,
    numbers_import,
)
from billtone.telephony.services.plan_change import phone_user_plan_change, plan_changes_finish
from billtone.telephony.services.suspension import account_reactivate, account_suspend
from billtone.telephony.services.users import (
    phone_user_cancel,
    phone_user_create,
    phone_user_discard,
)

__all__ = [
    "account_reactivate",
    "account_suspend",
    "cancellations_finish",
    "item_cancel",
    "holds_lapse",
    "items_activate",
    "number_cancel",
    "number_hold",
    "number_hold_extend",
    "number_release",
    "numbers_import",
    "phone_user_cancel",
    "phone_user_create",
    "phone_user_discard",
    "phone_user_plan_change",
    "plan_changes_finish",
]
