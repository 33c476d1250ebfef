"""An account's service suspended (an invoice unpaid after its last reminder: billing's
dunning calls this) and reactivated (the invoice paid): its active users and assigned numbers
become `suspended` and come back, the PBX told (`account.suspended`, `account.reactivated`).

Both take the account's AccountSuspension row first (made on first use), then its users and
its numbers, each in id order, so a suspension and a reactivation of one account run one after
the other, and a checkout activating users meanwhile (items_activate locks them too) either
finishes before, its users then suspended with the rest, or sees the suspension and refuses.
"""

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from billtone.accounts.models import Account
from billtone.core import clock
from billtone.core.errors import ValidationFailed
from billtone.core.services import Actor, audit_record
from billtone.telephony import events
from billtone.telephony.models import (
    AccountSuspension,
    PhoneNumber,
    PhoneNumberStatus,
    PhoneUser,
    PhoneUserStatus,
)
from billtone.telephony.services.shared import event_queue

REASON_MAX = 200


@dataclass(frozen=True)
class SuspensionChange:
    """What a suspension or reactivation did; `changed` False: the account was in that state
    already, and nothing was written or sent."""

    suspension: AccountSuspension
    changed: bool
    users: list[PhoneUser]
    numbers: list[PhoneNumber]


def suspension_lock(*, account: Account) -> AccountSuspension:
    """The account's suspension row, made on first use, locked."""
    row = AccountSuspension.objects.select_for_update().filter(account=account).first()
    if row is not None:
        return row
    try:
        with transaction.atomic():
            AccountSuspension.objects.create(account=account)
    except IntegrityError:
        pass  # made at the same moment by another transaction
    return AccountSuspension.objects.select_for_update().get(account=account)


def _items_lock(*, account: Account) -> tuple[list[PhoneUser], list[PhoneNumber]]:
    """Every user of the account not cancelled (pending ones too: a checkout activating one
    is waited for) and every number it has or holds, locked in id order."""
    users = PhoneUser.objects.select_for_update().select_related("plan")
    users = users.filter(account=account).exclude(status=PhoneUserStatus.CANCELLED)
    numbers = PhoneNumber.objects.select_for_update().filter(account=account)
    return list(users.order_by("pk")), list(numbers.order_by("pk"))


def _move(items: list, *, model, before: str, after: str) -> list:
    moved = [item for item in items if item.status == before]
    model.objects.filter(pk__in=[item.pk for item in moved]).update(status=after)
    for item in moved:
        item.status = after
    return moved


def _unchanged(row: AccountSuspension) -> SuspensionChange:
    return SuspensionChange(suspension=row, changed=False, users=[], numbers=[])


@transaction.atomic
def account_suspend(*, account: Account, reason: str, actor: Actor) -> SuspensionChange:
    """Suspend the account's service: active users and assigned numbers become suspended
    (pending and cancelled ones are left alone), `account.suspended` is queued with the
    reason and those items, audited. Suspending a suspended account changes nothing."""
    reason = " ".join(reason.split())
    if not reason or len(reason) > REASON_MAX:
        raise ValidationFailed({"reason": [f"Give the reason, at most {REASON_MAX} characters."]})
    row = suspension_lock(account=account)
    if row.suspended_at is not None:
        return _unchanged(row)
    users, numbers = _items_lock(account=account)
    users = _move(
        users, model=PhoneUser, before=PhoneUserStatus.ACTIVE, after=PhoneUserStatus.SUSPENDED
    )
    numbers = _move(
        numbers,
        model=PhoneNumber,
        before=PhoneNumberStatus.ASSIGNED,
        after=PhoneNumberStatus.SUSPENDED,
    )
    now = clock.now()
    row.suspended_at, row.reason = now, reason
    row.save(update_fields=["suspended_at", "reason"])
    audit_record(
        actor=actor,
        action="account.suspend",
        obj=row,
        changes={
            "suspended": [False, True],
            "reason": [None, reason],
            "users": [None, [user.pk for user in users]],
            "numbers": [None, [number.pk for number in numbers]],
        },
        account_id=account.pk,
    )
    event_queue(
        events.account_event(
            event_type=events.ACCOUNT_SUSPENDED,
            account_id=account.pk,
            at=now,
            reason=reason,
            users=users,
            numbers=numbers,
        )
    )
    return SuspensionChange(suspension=row, changed=True, users=users, numbers=numbers)


@transaction.atomic
def account_reactivate(*, account: Account, actor: Actor) -> SuspensionChange:
    """Give the account its service back: suspended users active, suspended numbers
    assigned, `account.reactivated` queued with them, audited. Reactivating an account that
    is not suspended changes nothing."""
    row = suspension_lock(account=account)
    if row.suspended_at is None:
        return _unchanged(row)
    users, numbers = _items_lock(account=account)
    users = _move(
        users, model=PhoneUser, before=PhoneUserStatus.SUSPENDED, after=PhoneUserStatus.ACTIVE
    )
    numbers = _move(
        numbers,
        model=PhoneNumber,
        before=PhoneNumberStatus.SUSPENDED,
        after=PhoneNumberStatus.ASSIGNED,
    )
    now = clock.now()
    row.suspended_at, row.reactivated_at = None, now
    row.save(update_fields=["suspended_at", "reactivated_at"])
    audit_record(
        actor=actor,
        action="account.reactivate",
        obj=row,
        changes={
            "suspended": [True, False],
            "users": [None, [user.pk for user in users]],
            "numbers": [None, [number.pk for number in numbers]],
        },
        account_id=account.pk,
    )
    event_queue(
        events.account_event(
            event_type=events.ACCOUNT_REACTIVATED,
            account_id=account.pk,
            at=now,
            users=users,
            numbers=numbers,
        )
    )
    return SuspensionChange(suspension=row, changed=True, users=users, numbers=numbers)
