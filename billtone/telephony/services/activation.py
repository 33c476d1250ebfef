"""Checkout's allocation: the basket's users and numbers become the account's, inside the
checkout's own transaction, so that payment, ledger, invoice and allocation stand or fall
together."""

from collections.abc import Iterable
from datetime import datetime

from django.db import connection, transaction

from billtone.accounts.models import Account
from billtone.telephony import events
from billtone.telephony.errors import AccountSuspended, HoldLapsed, ItemsChanged
from billtone.telephony.models import PhoneNumber, PhoneNumberStatus, PhoneUser, PhoneUserStatus
from billtone.telephony.numbers import e164_display
from billtone.telephony.selectors import account_is_suspended
from billtone.telephony.services.shared import event_queue, numbers_lock, users_lock


def _users_check(*, wanted: list[int], locked: dict[int, PhoneUser]) -> None:
    for user_id in wanted:
        user = locked.get(user_id)
        if user is None:
            raise ItemsChanged(f"Phone user #{user_id} is no longer in this account.")
        if user.status != PhoneUserStatus.PENDING_PAYMENT:
            state = "active already" if user.status == PhoneUserStatus.ACTIVE else "cancelled"
            raise ItemsChanged(f"Phone user {user} is {state}: remove it from the basket.")


def _numbers_check(
    *, account: Account, wanted: list[int], locked: dict[int, PhoneNumber], at: datetime
) -> None:
    for number_id in wanted:
        number = locked.get(number_id)
        if number is None:
            raise ItemsChanged(f"Number #{number_id} is no longer in the inventory.")
        shown = e164_display(number.e164)
        if number.account_id == account.pk and number.status == PhoneNumberStatus.ASSIGNED:
            raise ItemsChanged(f"The number {shown} is yours already: remove it from the basket.")
        if (
            number.account_id != account.pk
            or number.status != PhoneNumberStatus.HELD
            or number.held_until < at
        ):
            raise HoldLapsed(
                f"The hold on {shown} has lapsed and it is no longer reserved for you: "
                "remove it from the basket and choose a number again."
            )


def items_activate(
    *, account: Account, user_ids: Iterable[int], number_ids: Iterable[int], at: datetime
) -> None:
    """Make the users active and the numbers the account's, as of `at`. Runs inside the
    caller's transaction (checkout's); locks the users, then the numbers, each in id order.
    Every user must be waiting for payment in this account, every number held for it until
    `at` or later; otherwise HoldLapsed or ItemsChanged names the first item that is not,
    and nothing is changed. A suspended account activates nothing (AccountSuspended). The
    PBX is told (`items.allocated`) after the caller commits."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("items_activate runs inside the checkout's transaction.")
    user_ids, number_ids = sorted(set(user_ids)), sorted(set(number_ids))
    users = users_lock(account=account, ids=user_ids)
    numbers = numbers_lock(ids=number_ids)
    _users_check(wanted=user_ids, locked=users)
    _numbers_check(account=account, wanted=number_ids, locked=numbers, at=at)
    if not user_ids and not number_ids:
        return
    # The suspension is read after the items are locked: a suspension that locked them first
    # has committed by now and is seen; one that comes later waits for these rows and
    # suspends them. With users, the activation's UPDATE reads it (one statement fewer per
    # checkout: decision 0021) and activates none when the account is suspended.
    if user_ids:  # plain SQL: every card checkout runs it (decision 0021)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE telephony_phoneuser SET status = %s, activated_at = %s "  # noqa: S608 (placeholders only)
                f"WHERE id IN ({', '.join(['%s'] * len(user_ids))}) AND NOT EXISTS ("
                "SELECT 1 FROM telephony_accountsuspension "
                "WHERE account_id = %s AND suspended_at IS NOT NULL)",
                [
                    PhoneUserStatus.ACTIVE.value,
                    connection.ops.adapt_datetimefield_value(at),
                    *user_ids,
                    account.pk,
                ],
            )
            suspended = cursor.rowcount != len(user_ids)  # each is locked and pending
    else:
        suspended = account_is_suspended(account)
    if suspended:
        raise AccountSuspended(
            "Your service is suspended because an invoice is unpaid: pay it on the Invoices "
            "page, then check out your users and numbers."
        )
    if number_ids:
        PhoneNumber.objects.filter(pk__in=number_ids).update(
            status=PhoneNumberStatus.ASSIGNED, held_until=None, assigned_at=at
        )
    for user in users.values():
        user.status, user.activated_at = PhoneUserStatus.ACTIVE, at
    for number in numbers.values():
        number.status, number.held_until, number.assigned_at = (
            PhoneNumberStatus.ASSIGNED,
            None,
            at,
        )
    event_queue(
        events.items_event(
            event_type=events.ITEMS_ALLOCATED,
            account_id=account.pk,
            at=at,
            users=list(users.values()),
            numbers=list(numbers.values()),
        )
    )
